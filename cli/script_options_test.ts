import assert from "node:assert/strict";
import {
  fixture,
  fixtureEnv,
  perfAvailable,
  perfFixtureArgs,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

Deno.test({
  name: "script --inline / --no-inline equal live perf script byte for byte (dwarf.data, fp.data)",
  ignore: !(await perfAvailable()),
}, async () => {
  for (const name of ["dwarf", "fp"]) {
    for (const opt of [["--no-inline"], ["--inline"]]) {
      const args = ["-i", fixture(`${name}.data`), ...opt];
      const perf = await runPerfFixture(["script", ...args]);
      const ours = await runCli("script", [...args, ...perfFixtureArgs()], undefined, fixtureEnv());
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, `${name} ${opt.join(" ")}`);
      if (name === "dwarf") {
        assert.equal(ours.stdout.includes("(inlined)"), opt[0] === "--inline", "inline frames");
      }
    }
  }
});
