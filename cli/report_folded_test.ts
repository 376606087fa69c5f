// report --folded against the real FlameGraph scripts: testdata/X.folded.txt were made by
// Brendan Gregg's stackcollapse-perf.pl from the committed `perf script` output (regen.sh).
import assert from "node:assert/strict";
import { fixture, fixtureEnv, perfFixtureArgs } from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

for (const name of ["fp", "sys", "nocpu", "pipe", "dwarf"]) {
  Deno.test(`report --folded equals stackcollapse-perf.pl on ${name}.data`, async () => {
    // Only the fixtures' own symbols (testdata/symbols), as for perf.
    const out = await runCli(
      "report",
      ["-i", fixture(`${name}.data`), "--folded", "-q", ...perfFixtureArgs()],
      undefined,
      fixtureEnv(),
    );
    assert.equal(out.code, 0, out.stderr);
    const expected = await Deno.readTextFile(fixture(`${name}.folded.txt`));
    assert.ok(expected.length > 0);
    assert.equal(out.stdout, expected);
  });
}
