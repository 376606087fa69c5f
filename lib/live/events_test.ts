import assert from "node:assert/strict";
import { AttrFlag, AttrType, hasFlag, SampleType } from "../abi/mod.ts";
import { liveAttr, parseEvent, UnknownEventError } from "./events.ts";

Deno.test("parseEvent knows perf's software and hardware event names", () => {
  assert.deepEqual(parseEvent("cpu-clock"), { name: "cpu-clock", type: 1, config: 0n });
  assert.deepEqual(parseEvent("task-clock"), { name: "task-clock", type: 1, config: 1n });
  assert.deepEqual(parseEvent("cs"), { name: "context-switches", type: 1, config: 3n });
  assert.deepEqual(parseEvent("cycles"), { name: "cycles", type: AttrType.HARDWARE, config: 0n });
});

Deno.test("parseEvent reads a tracepoint id from tracefs and names a missing one", () => {
  const root = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${root}/events/sched/sched_switch`, { recursive: true });
    Deno.writeTextFileSync(`${root}/events/sched/sched_switch/id`, "316\n");
    assert.deepEqual(parseEvent("sched:sched_switch", [root]), {
      name: "sched:sched_switch",
      type: AttrType.TRACEPOINT,
      config: 316n,
    });
    assert.throws(() => parseEvent("foo:bar", [root]), (e: Error) => {
      assert.ok(e instanceof UnknownEventError);
      assert.match(e.message, /^event syntax error: 'foo:bar': unknown tracepoint/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
    assert.throws(() => parseEvent("blah", [root]), /parser error; Run 'perf list'/);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("liveAttr: frequency or period, callchains, tracking, overwrite, exec", () => {
  const ev = parseEvent("cpu-clock");
  const a = liveAttr({ event: ev, frequency: 999, callchain: true, enableOnExec: true });
  assert.equal(a.samplePeriod, 999);
  assert.ok(hasFlag(a, AttrFlag.freq));
  assert.ok(hasFlag(a, AttrFlag.enableOnExec));
  assert.ok(hasFlag(a, AttrFlag.disabled));
  for (const f of [AttrFlag.mmap2, AttrFlag.comm, AttrFlag.commExec, AttrFlag.task]) {
    assert.ok(hasFlag(a, f));
  }
  assert.ok(hasFlag(a, AttrFlag.sampleIdAll));
  assert.ok(a.sampleType & SampleType.CALLCHAIN);
  assert.ok(!hasFlag(a, AttrFlag.writeBackward));
  const b = liveAttr({ event: ev, period: 100000, overwrite: true, buildId: true });
  assert.equal(b.samplePeriod, 100000);
  assert.ok(!hasFlag(b, AttrFlag.freq));
  assert.ok(hasFlag(b, AttrFlag.writeBackward));
  assert.ok(hasFlag(b, AttrFlag.buildId));
  assert.equal(b.sampleType & SampleType.CALLCHAIN, 0);
  const tp = liveAttr({ event: { name: "x:y", type: AttrType.TRACEPOINT, config: 5n } });
  assert.equal(tp.samplePeriod, 1);
  assert.ok(tp.sampleType & SampleType.RAW);
  assert.ok(!hasFlag(tp, AttrFlag.freq));
});
