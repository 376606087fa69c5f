/**
 * `report --header`, `--header-only` and `-I` against perf 6.1 on fresh
 * recordings (file and pipe mode) and a committed fixture: the header block
 * in place of perf's "To display the perf.data header info" hint, a pipe's
 * features as perf prints them, and `-q` (no header at all).
 */
import assert from "node:assert/strict";
import {
  fixture,
  fixtureEnv,
  perfAvailable,
  perfCanRecord,
  perfFixtureArgs,
  perfReportPart,
  recordBurn,
  runPerf,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

Deno.test({
  name: "report --header / --header-only / -I equal live perf report (file and pipe recordings)",
  ignore: !(await perfCanRecord()),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await recordBurn(dir, [], 50);
    const pipe = await recordBurn(dir, [], 50, true);
    const cases = [
      ["--header-only"],
      ["--header-only", "-I"],
      // (dso keys: the Command column's width is not this test's subject)
      ["--header", "--stdio", "--sort", "dso"],
      ["--header", "-I", "--stdio", "--sort", "dso"],
      ["-I", "--stdio", "--sort", "dso"],
      // -q: no block; a file's report follows, a pipe prints its features (and, but for
      // --header-only, the report)
      ["--header-only", "-q", "--stdio", "--sort", "dso"],
      ["--header", "-q", "--stdio", "--sort", "dso"],
      ["-I", "-q", "--stdio", "--sort", "dso"],
    ];
    for (const path of [file, pipe]) {
      for (const args of cases) {
        const perf = await runPerf(["report", "-i", path, ...args]);
        const ours = await runCli("report", ["-i", path, ...args]);
        assert.equal(perf.code, 0, perf.stderr);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(
          perfReportPart(ours.stdout),
          perfReportPart(perf.stdout),
          `${path} ${args.join(" ")}`,
        );
        if (args[0] === "--header-only" && args.length === 1) {
          assert.match(ours.stdout, /^# ========\n# captured on {4}: /);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "report --header-only and --header equal perf report on the fp.data fixture",
  ignore: !(await perfAvailable()),
}, async () => {
  for (const args of [["--header-only"], ["--header", "--stdio", "--no-children"]]) {
    const all = ["-i", fixture("fp.data"), ...args];
    const perf = await runPerfFixture(["report", ...all]);
    const ours = await runCli("report", [...all, ...perfFixtureArgs()], undefined, fixtureEnv());
    assert.equal(perf.code, 0, perf.stderr);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(perfReportPart(ours.stdout), perfReportPart(perf.stdout), args.join(" "));
  }
});
