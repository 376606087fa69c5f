/**
 * The dependency direction of lib/, checked from the import statements of
 * every product module: a folder imports only itself and folders below it
 * (abi < ring, perfdata < capture < input, sim, live < analyze < output <
 * testing), and nothing in lib/ imports cli/ or bench/. Tests may import
 * helpers from anywhere below them, so only non-test modules are checked.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const LIB = dirname(dirname(fileURLToPath(import.meta.url)));

/** Rank of each lib/ folder: imports go to a strictly lower rank (or the same folder). */
const RANK: Record<string, number> = {
  abi: 0,
  ring: 1,
  perfdata: 1,
  capture: 2,
  input: 3,
  sim: 3,
  live: 3,
  analyze: 4,
  output: 5,
  testing: 6,
};

function* modules(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* modules(p);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield p;
  }
}

/** Relative module specifiers a file imports or re-exports (static and dynamic). */
function imports(text: string): string[] {
  const out: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^"';]*?from\s*["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)|(?:^|\n)\s*import\s*["'](\.[^"']+)["']/g;
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function folderOf(path: string): string {
  return relative(LIB, path).split(/[\\/]/)[0]!;
}

Deno.test("lib/ folders import only themselves and folders below them", () => {
  const wrong: string[] = [];
  let edges = 0;
  for (const file of modules(LIB)) {
    const from = folderOf(file);
    if (!(from in RANK)) {
      wrong.push(`${relative(LIB, file)}: folder lib/${from} has no rank in this test`);
      continue;
    }
    for (const spec of imports(Deno.readTextFileSync(file))) {
      const target = normalize(join(dirname(file), spec));
      const rel = relative(LIB, target);
      if (rel.startsWith("..")) {
        wrong.push(`${relative(LIB, file)} imports ${spec} (outside lib/)`);
        continue;
      }
      const to = folderOf(target);
      edges++;
      if (to === from) continue;
      if (!(to in RANK) || RANK[to]! >= RANK[from]!) {
        wrong.push(`${relative(LIB, file)} (${from}) imports ${spec} (${to})`);
      }
    }
  }
  assert.ok(edges > 100, `only ${edges} imports found: the scan is broken`);
  assert.deepEqual(wrong, []);
});

Deno.test("the import scan sees static, type-only, re-export and dynamic imports", () => {
  const text = `import { a } from "../abi/mod.ts";
import type { B } from "./b.ts";
export * from "../ring/c.ts";
export { d } from "./d.ts";
const e = await import("../output/e.ts");
import "../sim/f.ts";`;
  assert.deepEqual(imports(text), [
    "../abi/mod.ts",
    "./b.ts",
    "../ring/c.ts",
    "./d.ts",
    "../output/e.ts",
    "../sim/f.ts",
  ]);
});
