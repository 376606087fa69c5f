import assert from "node:assert/strict";
import {
  fixture,
  fixtureSymbolOptions,
  perfAvailable,
  perfCanRecord,
  recordBurn,
  runPerf,
  runPerfFixture,
} from "../testing/perf_tool.ts";
import { runPerfScript, type RunScriptOptions } from "./script_run.ts";
import { ScriptFieldError } from "./perf_script.ts";

const PERF_RUNS = await perfAvailable();
const PERF_RECORDS = await perfCanRecord();
const IP_FIELDS = "comm,pid,tid,cpu,time,period,event,ip";
const SYM_FIELDS = IP_FIELDS + ",sym,dso,symoff";
/** Fixtures are symbolized (and unwound) from their own symbols only (testdata/symbols). */
const FIX = fixtureSymbolOptions();

async function script(path: string, options: Omit<RunScriptOptions, "write">): Promise<string> {
  const parts: string[] = [];
  await runPerfScript(path, { ...options, write: (s) => parts.push(s) });
  return parts.join("");
}

const FIXTURES: [name: string, fields: string][] = [
  ["fp", IP_FIELDS],
  ["sys", IP_FIELDS],
  ["pipe", IP_FIELDS],
  ["dwarf", IP_FIELDS],
  ["nocpu", "comm,pid,tid,time,period,event,ip"],
];

for (const [name, fields] of FIXTURES) {
  Deno.test(`runPerfScript() equals the committed perf script output for ${name}.data`, async () => {
    const expected = await Deno.readTextFile(fixture(`${name}.script.txt`));
    const actual = await script(fixture(`${name}.data`), { ...FIX, fields });
    assert.equal(actual, expected);
  });
  Deno.test(`runPerfScript() equals it with 7-byte chunks for ${name}.data`, async () => {
    const expected = await Deno.readTextFile(fixture(`${name}.script.txt`));
    const actual = await script(fixture(`${name}.data`), {
      ...FIX,
      fields,
      read: { chunkSize: 7 },
    });
    assert.equal(actual, expected);
  });
}

Deno.test("runPerfScript() rejects cpu on a file without PERF_SAMPLE_CPU with perf's message", async () => {
  const expected = (await Deno.readTextFile(fixture("nocpu.script-cpu.stderr.txt"))).trim();
  await assert.rejects(
    () => script(fixture("nocpu.data"), { ...FIX, fields: IP_FIELDS }),
    (e: unknown) => {
      assert.ok(e instanceof ScriptFieldError);
      assert.equal(e.message, expected);
      assert.equal(
        e.exitCode,
        Number((Deno.readTextFileSync(fixture("nocpu.script-cpu.exit.txt"))).trim()),
      );
      return true;
    },
  );
});

Deno.test({
  name: "runPerfScript() matches live perf script with symbols on every fixture",
  ignore: !PERF_RUNS,
}, async (t) => {
  for (const [name, fields] of FIXTURES) {
    for (const f of [fields + ",sym,dso,symoff", undefined]) {
      await t.step(`${name}.data -F ${f ?? "(default)"}`, async () => {
        const args = ["script", "-i", fixture(`${name}.data`)];
        if (f) args.push("-F", f);
        const perf = await runPerfFixture(args);
        assert.equal(perf.code, 0, perf.stderr);
        assert.equal(await script(fixture(`${name}.data`), { ...FIX, fields: f }), perf.stdout);
      });
    }
  }
});

Deno.test({
  name: "runPerfScript() matches perf script on a workload recorded now",
  ignore: !PERF_RECORDS,
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, string[], boolean][] = [
      ["per-task -g", ["-g", "--sample-cpu", "-F", "997"], false],
      ["pipe mode -g", ["-g", "--sample-cpu", "-F", "997"], true],
      ["system-wide -a -g", ["-a", "-g", "--sample-cpu", "-F", "499"], false],
    ];
    for (const [label, extra, pipe] of cases) {
      const data = await recordBurn(dir, extra, 120, pipe);
      for (const fields of [IP_FIELDS, SYM_FIELDS]) {
        await t.step(`${label} -F ${fields}`, async () => {
          const perf = await runPerf(["script", "-i", data, "-F", fields]);
          assert.equal(perf.code, 0, perf.stderr);
          const ours = await script(data, { fields });
          assert.ok(ours.length > 0, "the recording has samples");
          assert.equal(ours, perf.stdout);
        });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPerfScript() prints dwarf.data unexpanded with inline: false or without addr2line", async () => {
  // perf --no-inline (or no addr2line) prints the inlined frame's address without the suffix.
  const expected = (await Deno.readTextFile(fixture("dwarf.script.txt"))).replaceAll(
    " (inlined)",
    "",
  );
  assert.notEqual(expected, await Deno.readTextFile(fixture("dwarf.script.txt")));
  const path = fixture("dwarf.data");
  assert.equal(await script(path, { ...FIX, fields: IP_FIELDS, inline: false }), expected);
  assert.equal(
    await script(path, { ...FIX, fields: IP_FIELDS, addr2line: "/nonexistent/addr2line" }),
    expected,
  );
});

Deno.test("runPerfScript() starts addr2line only for DWARF-unwound inputs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const marker = `${dir}/started`;
    const wrapper = `${dir}/addr2line`;
    await Deno.writeTextFile(wrapper, `#!/bin/sh\necho "$@" >> '${marker}'\nexec addr2line "$@"\n`);
    await Deno.chmod(wrapper, 0o755);
    const started = async () => {
      try {
        return (await Deno.readTextFile(marker)).trim().split("\n").length;
      } catch {
        return 0;
      }
    };
    for (const name of ["fp", "sys", "pipe"]) {
      await script(fixture(`${name}.data`), { ...FIX, fields: SYM_FIELDS, addr2line: wrapper });
      assert.equal(await started(), 0, `${name}.data started addr2line`);
    }
    const expected = await Deno.readTextFile(fixture("dwarf.script-sym.txt"));
    assert.equal(
      await script(fixture("dwarf.data"), { ...FIX, fields: SYM_FIELDS, addr2line: wrapper }),
      expected,
    );
    // One process per DSO with line tables (burn and libc), asked with perf's arguments.
    const runs = (await Deno.readTextFile(marker)).trim().split("\n");
    assert.equal(runs.length, 2, runs.join("\n"));
    for (const args of runs) assert.match(args, /^-e \S+ -i -f$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "runPerfScript() with inline: false matches live perf script --no-inline on dwarf.data",
  ignore: !PERF_RUNS,
}, async () => {
  for (const f of [IP_FIELDS, SYM_FIELDS]) {
    const perf = await runPerfFixture([
      "script",
      "--no-inline",
      "-i",
      fixture("dwarf.data"),
      "-F",
      f,
    ]);
    assert.equal(perf.code, 0, perf.stderr);
    assert.equal(
      await script(fixture("dwarf.data"), { ...FIX, fields: f, inline: false }),
      perf.stdout,
    );
  }
});

/** A workload whose hot loop is two levels of always_inline functions. */
const INLINE_SOURCE = `#include <stdlib.h>
static volatile unsigned long sink;
static inline __attribute__((always_inline)) unsigned long mix(unsigned long x) {
  for (int i = 0; i < 64; i++) { x ^= x >> 13; x *= 0xff51afd7ed558ccdUL; x ^= x << 7; }
  return x;
}
static inline __attribute__((always_inline)) unsigned long outer(unsigned long x) {
  return mix(x ^ 0x9e3779b97f4a7c15UL) + 1;
}
__attribute__((noipa)) unsigned long spin(unsigned long n) {
  unsigned long acc = 0;
  for (unsigned long i = 0; i < n; i++) acc += outer(i);
  return acc;
}
int main(int argc, char **argv) {
  unsigned long rounds = argc > 1 ? strtoul(argv[1], 0, 10) : 100;
  for (unsigned long r = 0; r < rounds; r++) sink = spin(20000);
  return 0;
}
`;

async function buildInlineWorkload(dir: string): Promise<string | undefined> {
  await Deno.writeTextFile(`${dir}/inl.c`, INLINE_SOURCE);
  try {
    const r = await new Deno.Command("gcc", {
      args: ["-O2", "-g", "-o", `${dir}/inl`, `${dir}/inl.c`],
      stderr: "piped",
    }).output();
    return r.code === 0 ? `${dir}/inl` : undefined;
  } catch {
    return undefined;
  }
}

Deno.test({
  name: "runPerfScript() matches perf script on a DWARF recording of inlined code made now",
  ignore: !PERF_RECORDS,
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    // Not burn: its clock_gettime calls land samples in [vdso], which our unwinder cannot
    // unwind through yet (perf can). This workload calls nothing in its hot loop.
    const inl = await buildInlineWorkload(dir);
    if (inl === undefined) return; // no gcc
    const data = `${dir}/inl.data`;
    const rec = await runPerf([
      "record",
      "-q",
      "-e",
      "cpu-clock",
      "--call-graph",
      "dwarf,4096",
      "--sample-cpu",
      "-F",
      "997",
      "-o",
      data,
      "--",
      inl,
      "150",
    ], dir);
    assert.equal(rec.code, 0, rec.stderr);
    for (const fields of [IP_FIELDS, SYM_FIELDS, undefined]) {
      await t.step(`-F ${fields ?? "(default)"}`, async () => {
        const args = ["script", "-i", data];
        if (fields) args.push("-F", fields);
        const perf = await runPerf(args);
        assert.equal(perf.code, 0, perf.stderr);
        const ours = await script(data, { fields });
        assert.equal(ours, perf.stdout);
        if (fields !== IP_FIELDS) {
          assert.match(
            ours,
            / mix\+0x[0-9a-f]+ \(inlined\)\n.* outer\+0x[0-9a-f]+ \(inlined\)\n.* spin\+/,
          );
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
