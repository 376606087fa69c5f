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

/**
 * Tracepoints whose print fmts need more than C: kernel functions (`%pS`, `%ps`), printk
 * strings behind pointers, array fields, enums left as names, typedef casts,
 * `__builtin_expect`, a `{ 0, NULL }` flag-table sentinel and libtraceevent's own
 * operator tree (`timer:timer_start`'s flags).
 */
const FORMAT_EVENTS = [
  "kmem:kmalloc",
  "kmem:kfree",
  "kmem:mm_page_alloc",
  "timer:timer_start",
  "timer:hrtimer_start",
  "raw_syscalls:sys_enter",
  "rcu:rcu_utilization",
  "filemap:mm_filemap_map_pages",
  "mmap:vm_unmapped_area",
];

Deno.test({
  name: "script prints the payloads of kmem, timer, raw_syscalls, rcu, filemap, mmap as live perf",
  ignore: !(await perfCanRecord()),
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const burn = await buildBurn(dir);
    // events this kernel lacks are left out (perf refuses to record an unknown one)
    const have: string[] = [];
    for (const e of FORMAT_EVENTS) {
      const [sys, name] = e.split(":");
      try {
        await Deno.stat(`/sys/kernel/tracing/events/${sys}/${name}`);
        have.push(e);
      } catch {
        // not on this kernel
      }
    }
    const data = `${dir}/fmt.data`;
    const rec = have.length === 0 ? undefined : await runPerf([
      "record",
      "-q",
      ...have.flatMap((e) => ["-e", e]),
      "-o",
      data,
      "--",
      "sh",
      "-c",
      `${burn} 50; sleep 0.02`,
    ]);
    if (rec === undefined || rec.code !== 0) {
      await t.step({ name: "skipped: perf cannot record these here", ignore: true, fn() {} });
      return;
    }
    const perf = await runPerf(["script", "-i", data]);
    const ours = await runCli("script", ["-i", data]);
    assert.equal(perf.code, 0, perf.stderr);
    assert.equal(ours.code, 0, ours.stderr);
    assert.doesNotMatch(ours.stderr, /not decoded/);
    assert.equal(ours.stdout, perf.stdout);
    assert.match(ours.stdout, /kmem:kmalloc: call_site=\w+\+0x[0-9a-f]+ /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
