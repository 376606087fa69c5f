/**
 * Live tests against perf 6.1: `script -C/--cpu` lists (perf_cpu_map__new's
 * syntax, its refusals and the CPU bound of the file's NRCPUS), and the
 * `swapper` name of pid 0's FORK children in `--show-task-events`.
 */
import assert from "node:assert/strict";
import { perfCanRecord, runPerf } from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

const PREFIX = "callring script: error: ";

/** A system-wide `cpu-clock` recording (`-a`: FORK and COMM records of every task), or undefined. */
async function recordSystemWide(dir: string, pipe = false): Promise<string | undefined> {
  const data = `${dir}/sw${pipe ? "-pipe" : ""}.data`;
  const r = await new Deno.Command("perf", {
    args: ["record", "-q", "-N", "-a", "-e", "cpu-clock", "-o", pipe ? "-" : data, "--"]
      .concat(["sleep", "0.1"]),
    env: { PERF_PAGER: "cat", LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (r.code !== 0) return undefined;
  if (pipe) await Deno.writeFile(data, r.stdout);
  return data;
}

Deno.test({
  name: "script -C: lists, refusals and the NRCPUS bound as live perf script (file and pipe)",
  ignore: !(await perfCanRecord()),
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordSystemWide(dir);
    const pipe = await recordSystemWide(dir, true);
    if (data === undefined || pipe === undefined) {
      await t.step({ name: "skipped: perf record -a fails here", ignore: true, fn() {} });
      return;
    }
    const nr = Number(
      /# nrcpus avail : (\d+)/.exec(
        (await runPerf(["script", "-i", data, "--header-only"])).stdout,
      )?.[1],
    );
    assert.ok(nr > 0);
    const lists = [
      "0",
      `0-${nr - 1}`,
      "0x0",
      "0,,1",
      "",
      String(nr),
      `${nr + 3},${nr}`,
      "5000",
      "3000,4000",
      `0-3000`,
      "1,1",
      "abc",
      " 1",
      "1-",
      "2-1",
      "+1",
    ];
    for (const cpu of lists) {
      const perf = await runPerf(["script", "-i", data, "-C", cpu]);
      const ours = await runCli("script", ["-i", data, "-C", cpu]);
      assert.equal(ours.stdout, perf.stdout, `-C '${cpu}'`);
      if (perf.code === 0) {
        assert.equal(ours.code, 0, `-C '${cpu}': ${ours.stderr}`);
        continue;
      }
      assert.equal(perf.code, 255, `-C '${cpu}'`);
      assert.notEqual(ours.code, 0, `-C '${cpu}'`);
      // perf's lines, in order, in callring's one error line
      const why = perf.stderr.trim().split("\n").join(" ");
      if (why === "Invalid cpu_list") {
        assert.equal(ours.code, 2);
        assert.equal(ours.stderr, `${PREFIX}--cpu "${cpu}": Invalid cpu_list\n`, `-C '${cpu}'`);
      } else {
        assert.match(why, /Requested CPU \d+ too large/);
        assert.equal(ours.stderr, PREFIX + why + "\n", `-C '${cpu}'`);
      }
    }
    // pipe mode: perf checks -C before it has read NRCPUS, so it refuses every CPU
    const perf = await runPerf(["script", "-i", pipe, "-C", "0"]);
    const ours = await runCli("script", ["-i", pipe, "-C", "0"]);
    assert.equal(perf.code, 255);
    assert.equal(perf.stderr, "Requested CPU 0 too large. Consider raising MAX_NR_CPUS\n");
    assert.equal(ours.stderr, PREFIX + perf.stderr);
    assert.equal(ours.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "script --show-task-events: FORK children of pid 0 are swapper's, as live perf script",
  ignore: !(await perfCanRecord()),
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordSystemWide(dir);
    if (data === undefined) {
      await t.step({ name: "skipped: perf record -a fails here", ignore: true, fn() {} });
      return;
    }
    // the records only: the samples' kernel symbols are this machine's
    const records = (s: string) => s.split("\n").filter((l) => l.includes("PERF_RECORD_"));
    const perf = await runPerf(["script", "-i", data, "--show-task-events"]);
    const ours = await runCli("script", ["-i", data, "--show-task-events"]);
    assert.equal(perf.code, 0, perf.stderr);
    assert.equal(ours.code, 0, ours.stderr);
    assert.deepEqual(records(ours.stdout), records(perf.stdout));
    assert.ok(
      records(perf.stdout).some((l) => /^\s+swapper\s+0 .*PERF_RECORD_FORK\(1:1\):\(0:0\)/.test(l)),
      "perf names pid 1's parent swapper",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
