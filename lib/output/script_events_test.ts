import assert from "node:assert/strict";
import {
  MISC_COMM_EXEC,
  MISC_MMAP_BUILD_ID,
  MISC_MMAP_DATA,
  MISC_SWITCH_OUT,
  MISC_SWITCH_OUT_PREEMPT,
  RecordType,
} from "../abi/mod.ts";
import { showsRecordType, sideBandText } from "./script_events.ts";

Deno.test("sideBandText prints perf_event__fprintf's lines", () => {
  assert.equal(
    sideBandText({
      type: RecordType.COMM,
      misc: MISC_COMM_EXEC,
      size: 0,
      pid: 5,
      tid: 6,
      comm: "a b",
    }),
    "PERF_RECORD_COMM exec: a b:5/6\n",
  );
  assert.equal(
    sideBandText({
      type: RecordType.EXIT,
      misc: 0,
      size: 0,
      pid: 5,
      tid: 6,
      ppid: 1,
      ptid: 2,
      time: 9,
    }),
    "PERF_RECORD_EXIT(5:6):(1:2)\n",
  );
  assert.equal(
    sideBandText({
      type: RecordType.MMAP,
      misc: MISC_MMAP_DATA,
      size: 0,
      pid: -1,
      tid: 0,
      addr: 0xffff0000n,
      len: 0x1000n,
      pgoff: 0n,
      filename: "[kernel.kallsyms]_text",
    }),
    "PERF_RECORD_MMAP -1/0: [0xffff0000(0x1000) @ 0]: r [kernel.kallsyms]_text\n",
  );
  assert.equal(
    sideBandText({
      type: RecordType.MMAP2,
      misc: MISC_MMAP_BUILD_ID,
      size: 0,
      pid: 7,
      tid: 7,
      addr: 0x1000n,
      len: 0x2000n,
      pgoff: 0x10n,
      maj: 0,
      min: 0,
      ino: 0n,
      inoGeneration: 0n,
      buildId: new Uint8Array([0xab, 0x01]),
      prot: 5,
      flags: 1,
      filename: "/lib/x.so",
    }),
    "PERF_RECORD_MMAP2 7/7: [0x1000(0x2000) @ 0x10 <ab01>]: r-xs /lib/x.so\n",
  );
  assert.equal(
    sideBandText({
      type: RecordType.SWITCH_CPU_WIDE,
      misc: MISC_SWITCH_OUT | MISC_SWITCH_OUT_PREEMPT,
      size: 0,
      nextPrevPid: 12,
      nextPrevTid: 13,
    }),
    "PERF_RECORD_SWITCH_CPU_WIDE OUT preempt  next pid/tid:    12/13   \n",
  );
  assert.equal(
    sideBandText({ type: RecordType.SWITCH, misc: 0, size: 0 }),
    "PERF_RECORD_SWITCH IN         \n",
  );
  assert.equal(sideBandText({ type: RecordType.FINISHED_ROUND, misc: 0, size: 0 }), undefined);
});

Deno.test("showsRecordType follows the three options", () => {
  assert.equal(showsRecordType({ task: true }, RecordType.FORK), true);
  assert.equal(showsRecordType({ task: true }, RecordType.MMAP2), false);
  assert.equal(showsRecordType({ mmap: true }, RecordType.MMAP), true);
  assert.equal(showsRecordType({ switches: true }, RecordType.SWITCH_CPU_WIDE), true);
  assert.equal(showsRecordType({}, RecordType.COMM), false);
});
