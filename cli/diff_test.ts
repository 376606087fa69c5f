import assert from "node:assert/strict";
import {
  fixture,
  fixtureEnv,
  haveGcc,
  perfAvailable,
  perfCanRecord,
  perfFixtureArgs,
  runPerf,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";
import { parseCompute } from "./diff.ts";

const PERF_RUNS = await perfAvailable();

Deno.test({
  name:
    "diff equals live perf diff byte for byte (pairs of fixtures, -c, --sort, a file with itself)",
  ignore: !PERF_RUNS,
}, async () => {
  const mismatches: string[] = [];
  const pairs = [["fp", "sys"], ["sys", "fp"], ["sys", "nocpu"], ["dwarf", "fp"], ["fp", "fp"]];
  const options = [[], ["-c", "delta"], ["-c", "ratio"], ["-c", "wdiff:2,1"], ["--sort", "dso"], [
    "--sort",
    "sym",
  ]];
  for (const [a, b] of pairs) {
    for (const opt of options) {
      const args = [...opt, fixture(`${a}.data`), fixture(`${b}.data`)];
      const [perf, ours] = await Promise.all([
        runPerfFixture(["diff", ...args]),
        runCli("diff", [...perfFixtureArgs(), ...args], undefined, fixtureEnv()),
      ]);
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      if (ours.stdout !== perf.stdout) mismatches.push(`${a} ${b} ${opt.join(" ")}`);
    }
  }
  assert.deepEqual(mismatches, []);
});

Deno.test({
  name: "diff of two recordings of a stripped binary pairs its unresolved frames as perf diff does",
  ignore: !(await perfCanRecord()) || !haveGcc(),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const id = crypto.randomUUID().replaceAll("-", "");
      const cc = await new Deno.Command("gcc", {
        args: ["-O1", "-fno-omit-frame-pointer", "-pthread", `-Wl,--build-id=0x${id}`, "-s"]
          .concat(["-o", `${dir}/stripped`, fixture("src/burn.c")]),
      }).output();
      assert.equal(cc.code, 0);
      for (const [name, ms] of [["a", "200"], ["b", "300"]]) {
        const rec = await runPerf(
          ["record", "-q", "-e", "cpu-clock", "-g", "-o", `${dir}/${name}.data`, "--"]
            .concat([`${dir}/stripped`, ms]),
          dir,
        );
        assert.equal(rec.code, 0, rec.stderr);
      }
      const args = [`${dir}/a.data`, `${dir}/b.data`];
      const perf = await runPerf(["diff", ...args]);
      assert.equal(perf.code, 0, perf.stderr);
      assert.match(perf.stdout, /stripped +\[\.\] 0x0000/, "unresolved frames of the binary");
      const ours = await runCli("diff", args);
      assert.equal(ours.code, 0, ours.stderr);
      // perf names a merged row by the address of the entry it created first; which sample
      // that is depends on the order samples are delivered in, so the address is masked here
      // (rows, percents, deltas and order are compared byte for byte).
      const mask = (t: string) => t.replace(/\[\.\] 0x[0-9a-f]{16}/g, "[.] 0x<addr>");
      assert.equal(mask(ours.stdout), mask(perf.stdout));
      // one row per unresolved address: none appears twice
      const rows = ours.stdout.split("\n").filter((l) => /\[\.\] 0x/.test(l));
      const keys = rows.map((l) => l.slice(22));
      assert.equal(new Set(keys).size, keys.length);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("diff: usage errors are one line, exit 2; a missing input is named, exit 1", async () => {
  const bad = await runCli("diff", ["-c", "sideways", fixture("fp.data"), fixture("sys.data")]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    "callring diff: error: -c sideways: want delta, delta-abs, ratio or wdiff:W1,W2\n",
  );
  const dir = await Deno.makeTempDir();
  try {
    const missing = await runCli("diff", [], dir);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      "callring diff: error: perf.data.old: No such file or directory\n",
    );
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("parseCompute: perf diff's -c forms", () => {
  assert.deepEqual(parseCompute("delta"), { compute: "delta" });
  assert.deepEqual(parseCompute("wdiff:2,-1"), { compute: "wdiff", weights: [2, -1] });
  assert.match(parseCompute("wdiff") as string, /want wdiff:W1,W2/);
});

Deno.test({
  name: "diff --flamegraph is refused as perf diff 6.1 refuses it (report --diff draws one)",
  ignore: !PERF_RUNS,
}, async () => {
  const perf = await runPerf(["diff", "--flamegraph", "x.html"]);
  assert.match(perf.stderr, /unknown option `flamegraph'/);
  const ours = await runCli("diff", ["--flamegraph", "x.html", fixture("fp.data")]);
  assert.equal(ours.code, 2);
  assert.equal(ours.stderr, "callring diff: error: unknown option '--flamegraph'\n");
  const help = await runCli("diff", ["--help"]);
  assert.equal(help.code, 0);
  assert.doesNotMatch(help.stdout, /flamegraph/);
});
