/**
 * Live tests of `script -F srcline` against perf 6.1: a `g++ -O2 -g` program
 * with an always-inline function, recorded now without callchains, with
 * frame pointers (`-g`) and with `--call-graph dwarf` (inline nodes carry
 * their own source lines), printed with `--inline` / `--no-inline` / `-G`.
 */
import assert from "node:assert/strict";
import {
  fixture,
  fixtureEnv,
  perfAvailable,
  perfCanRecord,
  perfFixtureArgs,
  runPerf,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

const PROGRAM = `#include <cstdlib>
static volatile unsigned long sink;
static inline __attribute__((always_inline)) unsigned long mix(unsigned long x, int n) {
  for (int i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}
__attribute__((noinline)) unsigned long outer(unsigned long x) {
  x = mix(x, 20000);
  sink = x;
  return x + 1;
}
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 3000;
  unsigned long x = 88172645463325252ul;
  for (long i = 0; i < n; i++) x = outer(x);
  sink = x;
  return 0;
}
`;

function haveGxx(): boolean {
  try {
    return new Deno.Command("g++", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "script -F srcline (+srcline, --inline, --no-inline, -G) equals live perf script",
  ignore: !(await perfCanRecord()) || !haveGxx(),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/w.cpp`, PROGRAM);
    const cc = await new Deno.Command("g++", {
      args: ["-O2", "-g", "-fno-omit-frame-pointer", "-o", `${dir}/w`, `${dir}/w.cpp`],
      stderr: "piped",
    }).output();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    const recordings: Record<string, string[]> = {
      plain: [],
      fp: ["-g"],
      dwarf: ["--call-graph", "dwarf"],
    };
    for (const [name, extra] of Object.entries(recordings)) {
      const data = `${dir}/${name}.data`;
      const rec = await runPerf(
        ["record", "-q", "-N", "-e", "cpu-clock:u", "-o", data, ...extra, "--", `${dir}/w`],
        dir,
      );
      assert.equal(rec.code, 0, rec.stderr);
      const cases = [
        ["-F", "ip,sym,srcline"],
        ["-F", "comm,tid,ip,sym,symoff,dso,srcline"],
        ["-F", "+srcline"],
        ["-F", "+srcline", "-G"],
        ["-F", "ip,sym,srcline", "--no-inline"],
        ["-F", "ip,sym,dso,srcline", "--inline"],
      ];
      for (const args of cases) {
        const perf = await runPerf(["script", "-i", data, ...args]);
        const ours = await runCli("script", ["-i", data, ...args]);
        assert.equal(perf.code, 0, perf.stderr);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(ours.stdout, perf.stdout, `${name}: ${args.join(" ")}`);
        if (args[1] === "ip,sym,srcline") assert.match(ours.stdout, /\n {2}w\.cpp:\d+/);
      }
      if (name === "dwarf") {
        const inl = await runCli("script", ["-i", data, "-F", "ip,sym,srcline"]);
        assert.match(inl.stdout, /\n {2}w\.cpp:\d+ \(inlined\)/, "an inline node's own line");
      }
      // perf refuses srcline without ip (exit 255)
      const perf = await runPerf(["script", "-i", data, "-F", "comm,srcline"]);
      const ours = await runCli("script", ["-i", data, "-F", "comm,srcline"]);
      assert.equal(perf.code, 255);
      assert.notEqual(ours.code, 0);
      const why = perf.stderr.trim().split("\n").join(" ");
      assert.ok(why.startsWith("Display of source line number requested"), perf.stderr);
      assert.ok(ours.stderr.includes(why), ours.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "script -F srcline equals perf script on the fixtures (fp, dwarf, pipe) with their own symbols",
  ignore: !(await perfAvailable()),
}, async () => {
  for (const name of ["fp", "dwarf", "pipe"]) {
    for (const fields of ["ip,sym,srcline", "+srcline"]) {
      const args = ["-i", fixture(`${name}.data`), "-F", fields];
      const perf = await runPerfFixture(["script", ...args]);
      const ours = await runCli("script", [...args, ...perfFixtureArgs()], undefined, fixtureEnv());
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, `${name} -F ${fields}`);
      if (name === "dwarf") assert.match(ours.stdout, /\n {2}[\w-]+\.c:\d+\n/, "source lines");
    }
  }
});
