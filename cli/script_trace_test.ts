/**
 * Live tests of `script -F trace` (and its combinations) on a tracepoint
 * recording made now with perf 6.1: stdout, perf's "not valid ... Ignoring."
 * warnings on stderr, and the refusal of a typed `sw:trace`.
 */
import assert from "node:assert/strict";
import { buildBurn, perfCanRecord, runPerf } from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

/** A `sched:sched_switch` + `cpu-clock:u` recording of burn, or undefined when perf cannot trace. */
async function recordTracepoints(dir: string): Promise<string | undefined> {
  const burn = await buildBurn(dir);
  const data = `${dir}/tp.data`;
  const r = await runPerf([
    "record",
    "-q",
    "-N",
    "-e",
    "sched:sched_switch",
    "-e",
    "cpu-clock:u",
    "-o",
    data,
    "--",
    burn,
    "100",
  ]);
  return r.code === 0 ? data : undefined;
}

/** perf's "not valid for" warnings, the lines callring must print the same. */
function notValidLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.includes(" not valid for "));
}

Deno.test({
  name: "script -F trace, comm,tid,trace, +trace: stdout and warnings as live perf script",
  ignore: !(await perfCanRecord()),
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordTracepoints(dir);
    if (data === undefined) {
      await t.step({ name: "skipped: perf cannot record tracepoints here", ignore: true, fn() {} });
      return;
    }
    for (const fields of ["trace", "comm,tid,trace", "+trace", "-trace", "trace:trace,cpu"]) {
      const perf = await runPerf(["script", "-i", data, "-F", fields]);
      const ours = await runCli("script", ["-i", data, "-F", fields]);
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, `-F ${fields}`);
      assert.deepEqual(notValidLines(ours.stderr), notValidLines(perf.stderr), `-F ${fields}`);
      if (fields === "trace") {
        assert.match(ours.stdout, /^prev_comm=/m);
        assert.equal(notValidLines(ours.stderr).length, 7);
      }
    }
    // a typed request for a type that has no trace: perf's usage error (exit 129)
    const perf = await runPerf(["script", "-i", data, "-F", "sw:trace"]);
    const ours = await runCli("script", ["-i", data, "-F", "sw:trace"]);
    assert.equal(perf.code, 129);
    assert.equal(ours.code, 2, ours.stderr);
    const why = "'trace' not valid for software events.";
    assert.ok(perf.stderr.startsWith(why + "\n"), perf.stderr);
    assert.ok(ours.stderr.includes(why), ours.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
