// report -i on `perf script` text (told by content, not by name) against report on the perf.data
// the text was printed from: the same folded stacks and the same self report for every fixture,
// for perf's default output and the -F ...,sym,dso,symoff variant, and for a live recording.
import assert from "node:assert/strict";
import {
  fixture,
  fixtureEnv,
  perfCanRecord,
  perfFixtureArgs,
  recordBurn,
  runPerf,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

/** `cli/report.ts`; a committed fixture only with the fixtures' own symbols (testdata/symbols). */
async function report(args: string[]): Promise<string> {
  const onFixture = args.some((a) => a.startsWith(fixture("")) && a.endsWith(".data"));
  const out = onFixture
    ? await runCli("report", [...args, "-q", ...perfFixtureArgs()], undefined, fixtureEnv())
    : await runCli("report", [...args, "-q"]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

/** The report without the `# callring:` lines that name the input. */
const body = (text: string) =>
  text.split("\n").filter((l) => !l.startsWith("# callring")).join("\n");

for (const name of ["fp", "sys", "nocpu", "pipe", "dwarf"]) {
  Deno.test(`report on ${name}'s perf script text equals report on ${name}.data`, async () => {
    const data = fixture(`${name}.data`);
    const folded = await report(["-i", data, "--folded"]);
    const self = body(await report(["-i", data, "--stdio", "--no-children", "--sort", "sym"]));
    assert.ok(folded.length > 0);
    for (const variant of ["script-default", "script-sym"]) {
      // A name that says nothing: detection is by content.
      const copy = await Deno.makeTempFile({ suffix: ".data" });
      try {
        await Deno.copyFile(fixture(`${name}.${variant}.txt`), copy);
        assert.equal(await report(["-i", copy, "--folded"]), folded, variant);
        assert.equal(
          body(await report(["-i", copy, "--stdio", "--no-children", "--sort", "sym"])),
          self,
          variant,
        );
      } finally {
        await Deno.remove(copy);
      }
    }
  });
}

Deno.test("report on text that is no perf script output: one line naming the line", async () => {
  const file = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(file, "burn 1/1 [000] 1.0: 1 cpu-clock: \n\tffff x\n\ngarbage line\n");
    const out = await runCli("report", ["-i", file, "--folded"]);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /line 4: not a perf script sample line/);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test({
  name: "report on live perf script text (default and -F with callchains) equals the perf.data",
  ignore: !(await perfCanRecord()),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordBurn(dir, ["-g", "--sample-cpu", "-F", "2000"], 150);
    const folded = await report(["-i", data, "--folded"]);
    for (const fields of [[], ["-F", "comm,pid,tid,cpu,time,period,event,ip,sym,dso"]]) {
      const r = await runPerf(["script", "-i", data, ...fields]);
      assert.equal(r.code, 0, r.stderr);
      const text = `${dir}/out.txt`;
      await Deno.writeTextFile(text, r.stdout);
      assert.equal(await report(["-i", text, "--folded"]), folded, fields.join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
