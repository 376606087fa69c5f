import assert from "node:assert/strict";
import { ReadFormat, RecordType, SampleType } from "./constants.ts";
import { SampleLayout, writeSampleId } from "./layout.ts";
import { decodeSampleId, encodeSampleId } from "./records.ts";
import { ByteWriter, decodeSample, encodeSample, type SampleFormat } from "./sample.ts";

const ALL_FIXED = SampleType.IDENTIFIER | SampleType.IP | SampleType.TID | SampleType.TIME |
  SampleType.ADDR | SampleType.ID | SampleType.STREAM_ID | SampleType.CPU | SampleType.PERIOD;

function format(sampleType: number, readFormat = 0): SampleFormat {
  return { sampleType, readFormat, regsUserCount: 0, regsIntrCount: 0, branchHwIndex: false };
}

Deno.test("SampleLayout: every fixed field where encodeSample puts it, for every subset", () => {
  const bits = [
    SampleType.IDENTIFIER,
    SampleType.IP,
    SampleType.TID,
    SampleType.TIME,
    SampleType.ADDR,
    SampleType.ID,
    SampleType.STREAM_ID,
    SampleType.CPU,
    SampleType.PERIOD,
  ];
  for (let mask = 0; mask < 1 << bits.length; mask++) {
    let t = SampleType.CALLCHAIN;
    bits.forEach((b, i) => {
      if (mask & (1 << i)) t |= b;
    });
    const f = format(t);
    const rec = encodeSample({
      identifier: 11,
      ip: 0x1234n,
      pid: 5,
      tid: 6,
      time: 77,
      addr: 0x88n,
      id: 99,
      streamId: 100,
      cpu: 3,
      period: 4000,
      callchain: BigUint64Array.of(1n, 2n, 3n),
    }, f);
    const v = new DataView(rec.buffer);
    const l = SampleLayout.of(f);
    const check = (at: number, want: bigint | number | undefined) => {
      if (want === undefined) assert.equal(at, -1);
      else assert.equal(v.getBigUint64(at, true), BigInt(want));
    };
    const s = decodeSample(v, 0, f);
    check(l.identifier, s.identifier);
    check(l.ip, s.ip);
    check(l.time, s.time);
    check(l.addr, s.addr);
    check(l.id, s.id);
    check(l.streamId, s.streamId);
    check(l.period, s.period);
    if (s.tid === undefined) assert.equal(l.tid, -1);
    else assert.equal(v.getInt32(l.tid + 4, true), 6);
    if (s.cpu === undefined) assert.equal(l.cpu, -1);
    else assert.equal(v.getUint32(l.cpu, true), 3);
    assert.equal(l.callchain, l.fixedEnd);
    assert.equal(v.getUint32(l.callchainAt(v, 0), true), 3);
    assert.equal(l.recordTime(v, 0, rec.length, true), s.time ?? -1);
    // perf's id_pos: the word of the id in the body
    if (l.idPos >= 0) {
      assert.equal(v.getUint32(8 + 8 * l.idPos, true), t & SampleType.IDENTIFIER ? 11 : 99);
    } else assert.equal(t & (SampleType.IDENTIFIER | SampleType.ID), 0);
  }
});

Deno.test("SampleLayout: a group READ moves the callchain per record", () => {
  const rf = ReadFormat.GROUP | ReadFormat.ID | ReadFormat.TOTAL_TIME_ENABLED;
  const f = format(SampleType.IP | SampleType.READ | SampleType.CALLCHAIN, rf);
  const l = SampleLayout.of(f);
  assert.equal(l.readSize, -1);
  assert.equal(l.callchain, -1);
  for (const n of [1, 2, 5]) {
    const values = Array.from({ length: n }, (_, i) => ({ value: i, id: 100 + i }));
    const rec = encodeSample({
      ip: 1n,
      read: { timeEnabled: 9, values },
      callchain: BigUint64Array.of(7n, 8n),
    }, f);
    const v = new DataView(rec.buffer);
    assert.equal(l.readSizeAt(v, 0), 8 + 8 + n * 16);
    const cc = l.callchainAt(v, 0);
    assert.equal(v.getUint32(cc, true), 2);
    assert.equal(v.getBigUint64(cc + 8, true), 7n);
  }
  const fixed = SampleLayout.of(format(SampleType.READ | SampleType.CALLCHAIN, ReadFormat.ID));
  assert.equal(fixed.readSize, 16);
  assert.equal(fixed.callchain, 24);
});

Deno.test("SampleLayout: trailer offsets, is_pos, recordTime and writeSampleId agree with encodeSampleId", () => {
  for (let mask = 0; mask < 64; mask++) {
    const order = [
      SampleType.TID,
      SampleType.TIME,
      SampleType.ID,
      SampleType.STREAM_ID,
      SampleType.CPU,
      SampleType.IDENTIFIER,
    ];
    let t = 0;
    order.forEach((b, i) => {
      if (mask & (1 << i)) t |= b;
    });
    const l = SampleLayout.ofType(t);
    const w = new ByteWriter();
    w.u32(RecordType.COMM);
    w.u16(0);
    w.u16(0);
    w.u64(0); // a body word
    const fields = { pid: 3, tid: 4, time: 5000, id: 42, cpu: 2 };
    encodeSampleId(w, { ...fields, streamId: 42, identifier: 42 }, t);
    w.patchU16(6, w.length);
    const rec = w.finish();
    assert.equal(rec.length, 16 + l.trailer.size);
    const v = new DataView(rec.buffer);
    const direct = new Uint8Array(rec.length);
    direct.set(rec.subarray(0, 16));
    writeSampleId(new DataView(direct.buffer), 16, l, fields);
    assert.deepEqual(direct, rec);
    assert.deepEqual(decodeSampleId(v, rec.length, t).time, t & SampleType.TIME ? 5000 : undefined);
    assert.equal(l.recordTime(v, 0, rec.length, true), t & SampleType.TIME ? 5000 : -1);
    assert.equal(l.recordTime(v, 0, rec.length, false), -1);
    if (l.isPos >= 0) assert.equal(v.getUint32(rec.length - 8 * l.isPos, true), 42);
    else assert.equal(t & (SampleType.ID | SampleType.IDENTIFIER), 0);
  }
});

Deno.test("SampleLayout.of: one instance per distinct format", () => {
  assert.equal(SampleLayout.of(format(ALL_FIXED)), SampleLayout.ofType(ALL_FIXED));
  assert.notEqual(SampleLayout.ofType(ALL_FIXED), SampleLayout.ofType(SampleType.IP));
});
