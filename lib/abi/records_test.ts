import assert from "node:assert/strict";
import { MISC_MMAP_BUILD_ID, RecordType, SampleType } from "./constants.ts";
import { FormatError } from "./errors.ts";
import {
  decodeRecord,
  encodeRecord,
  type PerfRecord,
  sampleIdSize,
  sampleIdWordIndex,
  trailerIdWordIndexFromEnd,
} from "./records.ts";
import type { SampleFormat } from "./sample.ts";

const TRAILER = SampleType.TID | SampleType.TIME | SampleType.ID | SampleType.CPU |
  SampleType.IDENTIFIER;
const format: SampleFormat = {
  sampleType: TRAILER | SampleType.IP,
  readFormat: 0,
  regsUserCount: 0,
  regsIntrCount: 0,
  branchHwIndex: false,
};
const sampleId = { pid: 5, tid: 6, time: 7_000_000_123, id: 42, cpu: 1, identifier: 42 };

const records: PerfRecord[] = [
  {
    type: RecordType.MMAP,
    misc: 2,
    size: 0,
    pid: 5,
    tid: 5,
    addr: 0x400000n,
    len: 0x1000n,
    pgoff: 0n,
    filename: "/bin/true",
    sampleId,
  },
  {
    type: RecordType.MMAP2,
    misc: 2,
    size: 0,
    pid: 5,
    tid: 5,
    addr: 0x7f0000000000n,
    len: 0x2000n,
    pgoff: 0x1000n,
    maj: 8,
    min: 1,
    ino: 1234n,
    inoGeneration: 1n,
    prot: 5,
    flags: 2,
    filename: "/lib/libc.so.6",
    sampleId,
  },
  {
    type: RecordType.MMAP2,
    misc: 2 | MISC_MMAP_BUILD_ID,
    size: 0,
    pid: 5,
    tid: 5,
    addr: 0x1000n,
    len: 0x1000n,
    pgoff: 0n,
    maj: 0,
    min: 0,
    ino: 0n,
    inoGeneration: 0n,
    buildId: Uint8Array.from({ length: 20 }, (_, i) => i),
    prot: 5,
    flags: 2,
    filename: "x",
    sampleId,
  },
  { type: RecordType.COMM, misc: 0, size: 0, pid: 5, tid: 6, comm: "burn", sampleId },
  { type: RecordType.FORK, misc: 0, size: 0, pid: 5, ppid: 4, tid: 6, ptid: 4, time: 99, sampleId },
  {
    type: RecordType.EXIT,
    misc: 0,
    size: 0,
    pid: 5,
    ppid: 4,
    tid: 6,
    ptid: 4,
    time: 100,
    sampleId,
  },
  { type: RecordType.LOST, misc: 0, size: 0, id: 42, lost: 17, sampleId },
  { type: RecordType.LOST_SAMPLES, misc: 0, size: 0, lost: 3, sampleId },
  { type: RecordType.THROTTLE, misc: 0, size: 0, time: 1, id: 42, streamId: 42, sampleId },
  { type: RecordType.UNTHROTTLE, misc: 0, size: 0, time: 2, id: 42, streamId: 42, sampleId },
  { type: RecordType.SWITCH, misc: 1 << 13, size: 0, sampleId },
  { type: RecordType.SWITCH_CPU_WIDE, misc: 0, size: 0, nextPrevPid: 9, nextPrevTid: 10, sampleId },
];

Deno.test("encodeRecord() and decodeRecord() round-trip every kernel record type with a trailer", () => {
  for (const rec of records) {
    const bytes = encodeRecord(rec, format.sampleType);
    assert.equal(bytes.length % 8, 0, `type ${rec.type} is 8-aligned`);
    const back = decodeRecord(new DataView(bytes.buffer), 0, format, true);
    assert.deepEqual(back, { ...rec, size: bytes.length }, `type ${rec.type}`);
  }
});

Deno.test("encodeRecord() pads strings then appends the trailer, as the kernel does", () => {
  const bytes = encodeRecord(records[3]!, format.sampleType);
  // header 8 + pid/tid 8 + "burn\0" padded to 8 + trailer 40
  assert.equal(bytes.length, 8 + 8 + 8 + sampleIdSize(format.sampleType));
  assert.equal(new TextDecoder().decode(bytes.subarray(16, 20)), "burn");
});

Deno.test("decodeRecord() keeps unknown types raw and FINISHED_ROUND has no trailer", () => {
  const raw = Uint8Array.of(0x34, 0x12, 0, 0, 0, 0, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8);
  const rec = decodeRecord(new DataView(raw.buffer), 0, format, true);
  assert.equal(rec.type, 0x1234);
  assert.ok("raw" in rec && rec.raw.length === 16);
  const fr = encodeRecord({ type: RecordType.FINISHED_ROUND, misc: 0, size: 0 }, format.sampleType);
  assert.equal(fr.length, 8);
  assert.equal(
    decodeRecord(new DataView(fr.buffer), 0, format, true).type,
    RecordType.FINISHED_ROUND,
  );
});

Deno.test("decodeRecord() rejects a record shorter than its type needs", () => {
  const bytes = encodeRecord(records[6]!, 0);
  new DataView(bytes.buffer).setUint16(6, 16, true);
  assert.throws(
    () => decodeRecord(new DataView(bytes.buffer), 0, format, false, 777),
    (e: unknown) => {
      assert.ok(e instanceof FormatError);
      assert.equal(e.offset, 777);
      return true;
    },
  );
});

Deno.test("id positions match perf's id_pos and is_pos", () => {
  assert.equal(sampleIdWordIndex(SampleType.IDENTIFIER | SampleType.IP), 0);
  assert.equal(
    sampleIdWordIndex(SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.ID),
    3,
  );
  assert.equal(sampleIdWordIndex(SampleType.IP), -1);
  assert.equal(trailerIdWordIndexFromEnd(SampleType.IDENTIFIER), 1);
  assert.equal(trailerIdWordIndexFromEnd(SampleType.ID | SampleType.CPU | SampleType.STREAM_ID), 3);
  assert.equal(trailerIdWordIndexFromEnd(SampleType.TID), -1);
});
