import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { ProfileBuilder } from "../analyze/profile.ts";
import { sampleOf } from "../analyze/_test_samples.ts";
import { speedscopeFile } from "./speedscope.ts";
import { loadProfile } from "../analyze/load.ts";
import { perfCanRecord, runPerf } from "../testing/perf_tool.ts";
import { speedscopeReleaseDir } from "./_speedscope_package_test_helper.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

/** Minimal draft-07 validator for the keywords speedscope's schema uses. */
function validate(schema: Schema, root: Schema, value: Json, path = "$"): string[] {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace("#/definitions/", "");
    return validate((root.definitions as Schema)[name] as Schema, root, value, path);
  }
  const errors: string[] = [];
  if (Array.isArray(schema.anyOf)) {
    const ok = schema.anyOf.some((s) => validate(s as Schema, root, value, path).length === 0);
    if (!ok) errors.push(`${path}: matches no anyOf branch`);
    return errors;
  }
  const type = schema.type;
  const isObj = typeof value === "object" && value !== null && !Array.isArray(value);
  if (type === "object" && !isObj) return [`${path}: not an object`];
  if (type === "array" && !Array.isArray(value)) return [`${path}: not an array`];
  if (type === "number" && typeof value !== "number") return [`${path}: not a number`];
  if (type === "string" && typeof value !== "string") return [`${path}: not a string`];
  if ("const" in schema && value !== schema.const) errors.push(`${path}: != ${schema.const}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    errors.push(`${path}: not in enum`);
  }
  if (isObj) {
    const obj = value as { [k: string]: Json };
    for (const r of (schema.required as string[] | undefined) ?? []) {
      if (!(r in obj)) errors.push(`${path}.${r}: missing`);
    }
    const props = (schema.properties ?? {}) as Schema;
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errors.push(...validate(props[k] as Schema, root, v, `${path}.${k}`));
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((v, i) =>
      errors.push(...validate(schema.items as Schema, root, v, `${path}[${i}]`))
    );
  }
  return errors;
}

async function loadSchema(): Promise<Schema | undefined> {
  const dir = await speedscopeReleaseDir();
  if (!dir) return undefined;
  return JSON.parse(await Deno.readTextFile(`${dir}/file-format-schema.json`));
}

function profile() {
  const b = new ProfileBuilder();
  b.add(sampleOf(["main", "a", "k_sys"], 500000, { tid: 11 }));
  b.add(sampleOf(["main", "a"], 500000, { tid: 11 }));
  b.add(sampleOf(["main", "b"], 1000000, { tid: 12 }));
  return b.build();
}

Deno.test("speedscope: shared frames, per-thread sampled profiles, period weights", () => {
  const p = profile();
  const f = speedscopeFile(p);
  eq(f.$schema, "https://www.speedscope.app/file-format-schema.json");
  eq(f.profiles.length, 2);
  eq(f.profiles.map((x) => x.name), ["prog [10/11]", "prog [10/12]"]);
  eq(f.profiles[0].endValue, 1000000);
  const names = f.shared.frames.map((x) => x.name);
  eq(f.profiles[0].samples.map((s) => s.map((i) => names[i]).join(";")).sort(), [
    "main;a",
    "main;a;k_sys [k]",
  ]);
  eq(f.profiles[0].weights, [500000, 500000]);
  const byProc = speedscopeFile(p, { groupBy: "process", weight: "samples" });
  eq(byProc.profiles.length, 1);
  eq(byProc.profiles[0].endValue, 3);
  eq(byProc.profiles[0].unit, "none");
});

Deno.test("speedscope output validates against speedscope's published schema", async (t) => {
  const schema = await loadSchema();
  if (!schema) {
    await t.step({
      name: "schema from npm:speedscope@1.25.0 unavailable",
      ignore: true,
      fn: () => {},
    });
    return;
  }
  const file = JSON.parse(JSON.stringify(speedscopeFile(profile()))) as Json;
  const root = schema;
  const top = ((root.definitions as Schema)["FileFormat.File"]) as Schema;
  eq(validate(top, root, file), []);
  // the validator can fail: a broken file is rejected
  const broken = JSON.parse(JSON.stringify(file));
  broken.profiles[0].type = "bogus";
  delete broken.shared;
  ok(validate(top, root, broken).length >= 2);
});

Deno.test("speedscope: threads are named after exec, not after the comm they were forked with", () => {
  const b = new ProfileBuilder();
  // pid 20 forks, the child 21 runs as `sh` and then execs gzip; the parent stays `sh`
  b.add(sampleOf(["main", "fork"], 1, { pid: 20, tid: 20, comm: "sh" }));
  b.add(sampleOf(["main", "fork"], 1, { pid: 21, tid: 21, comm: "sh" }));
  b.add(sampleOf(["main", "deflate"], 5, { pid: 21, tid: 21, comm: "gzip", cpu: 1 }));
  b.add(sampleOf(["worker"], 2, { pid: 21, tid: 22, comm: "gzip-worker" }));
  const p = b.build();
  eq(speedscopeFile(p).profiles.map((x) => [x.name, x.endValue]), [
    ["gzip [21/21]", 6],
    ["gzip-worker [21/22]", 2],
    ["sh [20/20]", 1],
  ]);
  eq(speedscopeFile(p, { groupBy: "process" }).profiles.map((x) => x.name), [
    "gzip [21]",
    "sh [20]",
  ]);
});

Deno.test({
  name: "speedscope: a live `sh -c 'exec gzip'` recording names the thread gzip",
  ignore: !(await perfCanRecord()),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = `${dir}/exec.data`;
    const r = await runPerf([
      "record",
      "-q",
      "-e",
      "cpu-clock",
      "-F",
      "2000",
      "-o",
      data,
      "--",
      "sh",
      "-c",
      "head -c 8000000 /dev/urandom > in; exec gzip -c in > out.gz",
    ], dir);
    eq(r.code, 0, r.stderr);
    const { profile } = await loadProfile(data);
    const names = speedscopeFile(profile).profiles.map((p) => p.name.split(" ")[0]);
    ok(names.includes("gzip"), names.join(", "));
    // the pid that exec'd gzip has no profile named sh
    const gzip = speedscopeFile(profile).profiles.find((p) => p.name.startsWith("gzip "))!;
    const pid = /\[(\d+)\//.exec(gzip.name)![1];
    ok(!speedscopeFile(profile).profiles.some((p) => p.name.startsWith(`sh [${pid}/`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
