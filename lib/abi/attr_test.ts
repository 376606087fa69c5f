import assert from "node:assert/strict";
import { decodeAttr, defaultAttr, encodeAttr, hasFlag, sampleIdAll } from "./attr.ts";
import { ATTR_SIZES, AttrFlag, SampleType } from "./constants.ts";
import { FormatError } from "./errors.ts";

Deno.test("encodeAttr() and decodeAttr() round-trip every shipped attr size", () => {
  for (const size of ATTR_SIZES) {
    const attr = defaultAttr({
      size,
      type: 1,
      config: 0x1234_5678_9abc_def0n,
      samplePeriod: 4000,
      sampleType: SampleType.IP | SampleType.TID | SampleType.CALLCHAIN,
      readFormat: 0x14,
      flags: 0x61943703,
      wakeupEvents: 1,
      config1: 7n,
      config2: 8n,
      branchSampleType: 3,
      sampleRegsUser: 0xffn,
      sampleStackUser: 8192,
      clockid: -1,
      sampleRegsIntr: 0xf0n,
      auxWatermark: 5,
      sampleMaxStack: 127,
      auxSampleSize: 6,
      sigData: 9n,
      config3: 10n,
    });
    const bytes = encodeAttr(attr);
    assert.equal(bytes.length, size);
    const back = decodeAttr(new DataView(bytes.buffer), 0, size);
    assert.equal(back.size, size);
    assert.equal(back.config, attr.config);
    assert.equal(back.flags, attr.flags);
    // fields beyond the size come back as zero
    assert.equal(back.config3, size >= 136 ? 10n : 0n);
    assert.equal(back.sigData, size >= 128 ? 9n : 0n);
    assert.equal(back.sampleMaxStack, size >= 112 ? 127 : 0);
    assert.equal(back.clockid, size >= 96 ? -1 : 0);
    assert.equal(back.config1, size >= 64 ? 7n : 0n);
    assert.equal(back.config2, size >= 72 ? 8n : 0n);
    assert.equal(back.branchSampleType, size >= 80 ? 3 : 0);
  }
});

Deno.test("decodeAttr() reads the documented offsets", () => {
  const bytes = new Uint8Array(128);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, 1, true);
  dv.setUint32(4, 128, true);
  dv.setUint32(24, 0x127, true);
  dv.setUint32(40, 0x61943703, true);
  dv.setUint16(108, 127, true);
  const attr = decodeAttr(dv, 0, 128);
  assert.equal(attr.sampleType, 0x127);
  assert.ok(hasFlag(attr, AttrFlag.sampleIdAll));
  assert.ok(sampleIdAll(attr));
  assert.ok(hasFlag(attr, AttrFlag.mmap2));
  assert.ok(!hasFlag(attr, AttrFlag.writeBackward));
  assert.equal(attr.sampleMaxStack, 127);
});

Deno.test("decodeAttr() rejects sizes that lie", () => {
  const bytes = new Uint8Array(128);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(4, 136, true);
  assert.throws(() => decodeAttr(dv, 0, 128, 200), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.equal(e.offset, 200);
    assert.match(e.message, /exceeds the 128 bytes/);
    return true;
  });
  dv.setUint32(4, 65, true);
  assert.throws(() => decodeAttr(dv, 0, 128), FormatError);
  assert.throws(() => encodeAttr(defaultAttr({ size: 100 })), RangeError);
});
