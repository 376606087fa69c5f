import assert from "node:assert/strict";
import {
  fixture,
  fixtureEnv,
  perfAvailable,
  perfCanRecord,
  perfFixtureArgs,
  recordBurn,
  runPerf,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

const PERF_RUNS = await perfAvailable();
const PERF_RECORDS = await perfCanRecord();

/** The perf-compatible part of a report: our `# callring:` lines and perf's tip trailer dropped. */
function perfPart(text: string): string {
  let lines = text.split("\n").filter((l) => !l.startsWith("# callring:"));
  const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
  if (tip > 0) lines = lines.slice(0, tip - 1);
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
}

/**
 * Options compared with live perf report 6.1 on a fresh `perf record -e
 * cpu-clock -g` of the burn workload (and on the committed fixtures).
 */
const CASES: string[][] = [
  // --max-stack: perf cuts each callchain when resolving it, from the root in caller order
  ["--max-stack", "3"],
  ["--max-stack", "3", "--no-children"],
  ["--max-stack", "2", "-G"],
  ["--max-stack", "4", "-G", "--no-children"],
  ["--max-stack", "2", "-g", "callee"],
  ["--max-stack", "1", "--no-children", "--sort", "sym"],
  ["-G", "--no-children"],
  ["-G"],
];

/** Compare each case with perf on `data`; returns the arguments that differ. */
async function mismatches(
  data: string,
  cases: string[][],
  onFixture: boolean,
): Promise<string[]> {
  const out: string[] = [];
  for (const args of cases) {
    const all = ["-i", data, "--stdio", ...args];
    const [perf, ours] = await Promise.all([
      onFixture ? runPerfFixture(["report", ...all]) : runPerf(["report", ...all]),
      onFixture
        ? runCli("report", [...all, ...perfFixtureArgs()], undefined, fixtureEnv())
        : runCli("report", all),
    ]);
    if (perf.code !== ours.code) {
      out.push(`${args.join(" ")}: exit ${ours.code}, perf ${perf.code}: ${ours.stderr}`);
    } else if (perfPart(ours.stdout) !== perfPart(perf.stdout)) out.push(args.join(" "));
  }
  return out;
}

Deno.test({
  name: "report --max-stack, -G equal live perf report 6.1 on a fresh perf record -g",
  ignore: !PERF_RECORDS,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordBurn(dir, ["-g"], 150);
    assert.deepEqual(await mismatches(data, CASES, false), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "report --max-stack, -G equal live perf report 6.1 on the fixtures (kernel chains)",
  ignore: !PERF_RUNS,
}, async () => {
  for (const name of ["fp.data", "sys.data"]) {
    assert.deepEqual(await mismatches(fixture(name), CASES, true), [], name);
  }
});
