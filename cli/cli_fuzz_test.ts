// Subprocess smoke fuzz of the command-line tools: mutated perf.data
// fixtures and mutated callring captures (seeded, structure-aware like the
// in-process fuzz tests) through `deno run -A cli/script.ts -i F` and
// `deno run -A cli/report.ts -i F --stdio`. Each run must end within a time
// limit with exit status 0 or 1, and its stderr must be a few plain lines:
// no "Uncaught", no stack trace. (`--kallsyms` names an empty file so that
// each run does not read the host's /proc/kallsyms.)
//
// More files: CALLRING_FUZZ_CASES=20000 deno task fuzz (one file per 200 cases).

import assert from "node:assert/strict";
import { fixture } from "../lib/testing/perf_tool.ts";
import { caseRng, fuzzCases, fuzzSeed } from "../lib/testing/fuzz_runner.ts";
import {
  captureLayouts,
  describeCase,
  type FuzzLayouts,
  mutateStructured,
  perfDataLayouts,
  resealCapture,
} from "../lib/testing/fuzz_layouts.ts";
import { makeCapture } from "../lib/capture/testutil_test.ts";
import { recordSimulation } from "../lib/sim/recorder.ts";
import { getStrategy } from "../lib/sim/strategies/mod.ts";
import { memorySink } from "../lib/capture/testutil_test.ts";

const SEED = fuzzSeed(0xc11);
const ROOT = new URL("../", import.meta.url).pathname;
/** Wall-clock limit of one run (a run takes well under a second). */
const TIMEOUT_MS = 30_000;
/** Most stderr lines a run may print (warnings are one line each, summaries a few). */
const MAX_STDERR_LINES = 12;
const CONCURRENCY = 4;

interface Base {
  name: string;
  bytes: Uint8Array;
  layouts: FuzzLayouts;
  capture: boolean;
}

async function bases(): Promise<Base[]> {
  const out: Base[] = [];
  for (const n of ["fp", "sys", "dwarf", "pipe", "nocpu"]) {
    const bytes = await Deno.readFile(fixture(`${n}.data`));
    out.push({ name: `${n}.data`, bytes, layouts: perfDataLayouts(bytes), capture: false });
  }
  const make = (await makeCapture(200, 21, 1024)).bytes;
  out.push({ name: "make.capture", bytes: make, layouts: captureLayouts(make), capture: true });
  const sink = memorySink();
  await recordSimulation(getStrategy("mainline"), sink, {
    seed: 5,
    durationMs: 3,
    cpus: 2,
    verify: false,
  });
  const sim = sink.bytes();
  out.push({ name: "sim.capture", bytes: sim, layouts: captureLayouts(sim), capture: true });
  return out;
}

interface Run {
  code: number;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

async function run(args: string[]): Promise<Run> {
  const t0 = performance.now();
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const env = Deno.env.toObject();
  delete env.CALLRING_DEBUG;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    env: { ...env, NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal,
  }).output();
  return {
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    ms: performance.now() - t0,
    timedOut: signal.aborted,
  };
}

/** What is wrong with a run, or undefined. */
function problem(r: Run): string | undefined {
  if (r.timedOut) return `no exit within ${TIMEOUT_MS} ms`;
  if (r.code !== 0 && r.code !== 1) return `exit status ${r.code}`;
  if (r.stderr.includes("Uncaught")) return "uncaught exception";
  if (/^ {4}at /m.test(r.stderr)) return "stack trace";
  const lines = r.stderr.split("\n").filter((l) => l.trim()).length;
  if (lines > MAX_STDERR_LINES) return `${lines} stderr lines`;
  return undefined;
}

Deno.test("fuzz: script and report CLIs on mutated files exit 0 or 1 with one-line errors", async () => {
  const all = await bases();
  const files = fuzzCases(30, 200);
  const dir = await Deno.makeTempDir({ prefix: "callring-cli-fuzz-" });
  const kallsyms = `${dir}/kallsyms`;
  await Deno.writeTextFile(kallsyms, "");
  const failures: string[] = [];
  const codes = new Map<string, number>();
  let slowest = 0;
  try {
    const jobs: { path: string; label: string; args: string[] }[] = [];
    for (let i = 0; i < files; i++) {
      const base = all[i % all.length]!;
      const rng = caseRng(SEED, "cli", base.name, i);
      const c = mutateStructured(base.bytes, base.layouts, rng);
      let label = describeCase(c);
      if (base.capture && rng.chance(0.3)) {
        if (c.bytes === base.bytes) c.bytes = c.bytes.slice();
        resealCapture(c.bytes);
        label = `resealed ${label}`;
      }
      const path = `${dir}/case-${i}.${base.capture ? "capture" : "data"}`;
      await Deno.writeFile(path, c.bytes);
      label = `cli ${base.name} #${i} [${label}]`;
      jobs.push({ path, label, args: ["cli/script.ts", "-i", path, "--kallsyms", kallsyms] });
      jobs.push({
        path,
        label,
        args: ["cli/report.ts", "-i", path, "--stdio", "--kallsyms", kallsyms],
      });
    }
    let next = 0;
    const lane = async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        const r = await run(job.args);
        slowest = Math.max(slowest, r.ms);
        const cmd = job.args[0]!.replace("cli/", "").replace(".ts", "");
        const key = `${cmd} exit ${r.code}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        const p = problem(r);
        if (p) {
          failures.push(
            `${job.label} ${cmd}: ${p}\n${r.stderr.split("\n").slice(0, 8).join("\n")}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `cli: ${files} files, ${[...codes].map(([k, v]) => `${k}: ${v}`).join(", ")}; ` +
      `slowest ${slowest.toFixed(0)} ms`,
  );
  assert.deepEqual(failures, []);
});
