import assert from "node:assert/strict";
import { defaultAttr } from "./attr.ts";
import { ReadFormat, RecordType, SampleType } from "./constants.ts";
import { FormatError } from "./errors.ts";
import { decodeSample, encodeSample, type Sample, sampleFormatOf } from "./sample.ts";

const ALL_BITS = Object.values(SampleType).reduce((a, b) => a | b, 0) & ~SampleType.WEIGHT;

function fullSample(): Sample {
  return {
    identifier: 99,
    ip: 0xffffffff81001234n,
    pid: 100,
    tid: 101,
    time: 123_456_789_012_345,
    addr: 0x7fff0000n,
    id: 99,
    streamId: 98,
    cpu: 3,
    cpuRes: 0,
    period: 250000,
    read: {
      timeEnabled: 10,
      timeRunning: 9,
      values: [{ value: 5, id: 99, lost: 1 }, { value: 6, id: 100, lost: 0 }],
    },
    callchain: BigUint64Array.of(
      0xffffffffffffff80n,
      0xffffffff81001234n,
      0xfffffffffffffe00n,
      0x401000n,
    ),
    raw: Uint8Array.of(1, 2, 3, 4, 5),
    branchStack: { hwIdx: 7n, entries: BigUint64Array.of(1n, 2n, 3n, 4n, 5n, 6n) },
    regsUser: { abi: 2, regs: BigUint64Array.of(11n, 12n, 13n) },
    stackUser: { data: Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2), dynSize: 8 },
    weight: 42n,
    dataSrc: 43n,
    transaction: 44n,
    regsIntr: { abi: 2, regs: BigUint64Array.of(21n, 22n) },
    physAddr: 45n,
    cgroup: 46n,
    dataPageSize: 4096n,
    codePageSize: 4096n,
    aux: Uint8Array.of(0xaa, 0xbb),
  };
}

Deno.test("encodeSample() and decodeSample() round-trip every sample_type bit together", () => {
  const attr = defaultAttr({
    sampleType: ALL_BITS,
    readFormat: ReadFormat.GROUP | ReadFormat.ID | ReadFormat.LOST | ReadFormat.TOTAL_TIME_ENABLED |
      ReadFormat.TOTAL_TIME_RUNNING,
    sampleRegsUser: 0b111n,
    sampleRegsIntr: 0b11n,
    branchSampleType: 1 << 17,
  });
  const format = sampleFormatOf(attr);
  assert.equal(format.regsUserCount, 3);
  assert.equal(format.branchHwIndex, true);
  const s = fullSample();
  const bytes = encodeSample(s, format);
  const dv = new DataView(bytes.buffer);
  assert.equal(dv.getUint32(0, true), RecordType.SAMPLE);
  assert.equal(dv.getUint16(6, true), bytes.length);
  assert.equal(bytes.length % 8, 0);
  assert.deepEqual(decodeSample(dv, 0, format), s);
});

Deno.test("encodeSample() lays out the fields in the kernel's order", () => {
  const format = sampleFormatOf(defaultAttr({
    sampleType: SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CALLCHAIN |
      SampleType.PERIOD | SampleType.CPU,
  }));
  const bytes = encodeSample({
    ip: 0x401000n,
    pid: 7,
    tid: 8,
    time: 5_000_000_000,
    cpu: 1,
    period: 1000,
    callchain: BigUint64Array.of(0xfffffffffffffe00n, 0x401000n),
  }, format);
  const dv = new DataView(bytes.buffer);
  // header, ip, pid/tid, time, cpu, period, nr, ips: perf-format.md §1.5
  assert.equal(bytes.length, 8 + 8 + 8 + 8 + 8 + 8 + 8 + 16);
  assert.equal(dv.getUint32(8, true), 0x401000);
  assert.equal(dv.getInt32(16, true), 7);
  assert.equal(dv.getInt32(20, true), 8);
  assert.equal(dv.getUint32(24, true), 5_000_000_000 % 2 ** 32);
  assert.equal(dv.getUint32(28, true), 1);
  assert.equal(dv.getUint32(32, true), 1);
  assert.equal(dv.getUint32(40, true), 1000);
  assert.equal(dv.getUint32(48, true), 2);
  assert.equal(dv.getUint32(56, true), 0xfffffe00);
  assert.equal(dv.getUint32(60, true), 0xffffffff);
});

Deno.test("decodeSample() at a non-zero offset and a non-group read", () => {
  const format = sampleFormatOf(defaultAttr({
    sampleType: SampleType.TID | SampleType.READ,
    readFormat: ReadFormat.ID | ReadFormat.TOTAL_TIME_RUNNING,
  }));
  const rec = encodeSample({
    pid: 1,
    tid: 2,
    read: { timeRunning: 3, values: [{ value: 4, id: 5 }] },
  }, format);
  const buf = new Uint8Array(rec.length + 16);
  buf.set(rec, 16);
  const s = decodeSample(new DataView(buf.buffer), 16, format);
  assert.deepEqual(s.read, { timeRunning: 3, values: [{ value: 4, id: 5 }] });
});

Deno.test("decodeSample() names the offset when a callchain runs past the record", () => {
  const format = sampleFormatOf(defaultAttr({ sampleType: SampleType.IP | SampleType.CALLCHAIN }));
  const rec = encodeSample({ ip: 1n, callchain: BigUint64Array.of(1n, 2n) }, format);
  const dv = new DataView(rec.buffer);
  dv.setUint32(16, 1000, true); // nr lies
  assert.throws(() => decodeSample(dv, 0, format, 4096), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.equal(e.offset, 4096 + 24);
    assert.match(e.message, /callchain of 1000 entries runs past the 40-byte record/);
    return true;
  });
});

Deno.test("ByteWriter grows without losing bytes at any write", async (t) => {
  const { ByteWriter } = await import("./sample.ts");
  for (const cap of [1, 3, 8, 9]) {
    await t.step(`initial capacity ${cap}`, () => {
      const w = new ByteWriter(cap);
      w.u16(0x0102);
      w.cstring8("abcdefghij");
      w.pad8();
      w.u64(2 ** 40 + 3);
      w.big(0xffffffff81000000n);
      w.bytes(Uint8Array.of(9, 9));
      w.pad8();
      const out = w.finish();
      const dv = new DataView(out.buffer);
      assert.equal(out.length, 40);
      assert.equal(dv.getUint16(0, true), 0x0102);
      assert.equal(new TextDecoder().decode(out.subarray(2, 12)), "abcdefghij");
      assert.equal(out[12], 0);
      assert.equal(dv.getBigUint64(16, true), 2n ** 40n + 3n);
      assert.equal(dv.getBigUint64(24, true), 0xffffffff81000000n);
      assert.deepEqual([...out.subarray(32)], [9, 9, 0, 0, 0, 0, 0, 0]);
    });
  }
});
