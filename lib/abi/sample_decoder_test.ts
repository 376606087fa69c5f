import assert from "node:assert/strict";
import {
  decodeSample,
  encodeSample,
  ReadFormat,
  type Sample,
  SampleDecoder,
  type SampleFormat,
  SampleType,
} from "./mod.ts";

const SIMPLE_BITS = [
  SampleType.IDENTIFIER,
  SampleType.IP,
  SampleType.TID,
  SampleType.TIME,
  SampleType.ADDR,
  SampleType.ID,
  SampleType.STREAM_ID,
  SampleType.CPU,
  SampleType.PERIOD,
  SampleType.READ,
  SampleType.CALLCHAIN,
];

function format(sampleType: number, readFormat = 0): SampleFormat {
  return { sampleType, readFormat, regsUserCount: 0, regsIntrCount: 0, branchHwIndex: false };
}

function sampleFor(i: number): Sample {
  return {
    identifier: 11 + i,
    ip: 0xffffffff81000000n + BigInt(i),
    pid: 100 + i,
    tid: -1 - i,
    time: 2 ** 40 + i,
    addr: 0x7fff_0000_1234n,
    id: 5,
    streamId: 6,
    cpu: i % 3,
    cpuRes: 0,
    period: 50000,
    read: { timeEnabled: 1, timeRunning: 2, values: [{ value: 77, id: 8, lost: 0 }] },
    callchain: BigUint64Array.from({ length: i % 9 }, (_, k) => 0xfffffffffffffe00n + BigInt(k)),
  };
}

/** The fields decodeSample would fill for a sample_type (the encoder writes them all). */
function expected(s: Sample, t: number, rf: number): Sample {
  const view = new DataView(encodeSample(s, format(t, rf)).buffer);
  return decodeSample(view, 0, format(t, rf));
}

Deno.test("SampleDecoder decodes every combination of the simple fields like decodeSample", () => {
  const readFormats = [
    0,
    ReadFormat.ID,
    ReadFormat.TOTAL_TIME_ENABLED | ReadFormat.TOTAL_TIME_RUNNING | ReadFormat.ID |
    ReadFormat.LOST,
  ];
  for (let mask = 0; mask < 1 << SIMPLE_BITS.length; mask += 7) {
    const t = SIMPLE_BITS.reduce((acc, bit, k) => (mask & (1 << k) ? acc | bit : acc), 0);
    for (const rf of readFormats) {
      const f = format(t, rf);
      const dec = new SampleDecoder(f);
      assert.ok(dec.simple);
      const s = sampleFor(mask % 13);
      const bytes = encodeSample(s, f);
      // At an odd offset in a bigger buffer too.
      const big = new Uint8Array(bytes.length + 13);
      big.set(bytes, 5);
      for (
        const [view, at] of [[new DataView(bytes.buffer), 0], [
          new DataView(big.buffer),
          5,
        ]] as const
      ) {
        assert.ok(dec.fits(view, at));
        assert.deepEqual(dec.decode(view, at), expected(s, t, rf), `type ${t} read ${rf}`);
      }
    }
  }
});

Deno.test("SampleDecoder.fits() is false exactly when decodeSample throws", () => {
  const f = format(
    SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CALLCHAIN | SampleType.PERIOD,
  );
  const dec = new SampleDecoder(f);
  const bytes = encodeSample(sampleFor(5), f);
  for (let size = 8; size <= bytes.length; size += 8) {
    for (const nr of [0, 1, 4, 5, 6, 1000, 2 ** 32, 2 ** 40]) {
      const b = bytes.slice(0, size);
      const view = new DataView(b.buffer);
      view.setUint16(6, size, true);
      if (size >= 48) {
        view.setUint32(40, nr % 2 ** 32, true);
        view.setUint32(44, Math.floor(nr / 2 ** 32), true);
      }
      let threw = false;
      try {
        decodeSample(view, 0, f);
      } catch {
        threw = true;
      }
      assert.equal(dec.fits(view, 0), !threw, `size ${size} nr ${nr}`);
      if (threw) assert.throws(() => dec.decode(view, 0, 4096), /runs past/);
    }
  }
});

Deno.test("SampleDecoder hands other formats to decodeSample", () => {
  const f = format(SampleType.IP | SampleType.RAW);
  const dec = new SampleDecoder(f);
  assert.equal(dec.simple, false);
  const s: Sample = { ip: 9n, raw: Uint8Array.of(1, 2, 3) };
  const view = new DataView(encodeSample(s, f).buffer);
  assert.equal(dec.fits(view, 0), false);
  assert.deepEqual(dec.decode(view, 0), decodeSample(view, 0, f));
  const group = new SampleDecoder(format(SampleType.READ, ReadFormat.GROUP));
  assert.equal(group.simple, false);
});

Deno.test("SampleDecoder callchains are independent of each other and of the input bytes", () => {
  const f = format(SampleType.CALLCHAIN);
  const dec = new SampleDecoder(f);
  const chains: BigUint64Array[] = [];
  const bytes = new Uint8Array(encodeSample({ callchain: BigUint64Array.of(1n, 2n, 3n) }, f));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 5000; i++) {
    view.setUint32(16, i, true); // first entry = i
    chains.push(dec.decode(view, 0).callchain!);
  }
  bytes.fill(0xff);
  chains.forEach((c, i) => assert.deepEqual([...c], [BigInt(i), 2n, 3n]));
  // A long chain gets its own array.
  const long = BigUint64Array.from({ length: 2000 }, (_, k) => BigInt(k));
  const lv = new DataView(encodeSample({ callchain: long }, f).buffer);
  const got = dec.decode(lv, 0).callchain!;
  assert.deepEqual(got, long);
  assert.equal(got.byteOffset, 0);
  assert.equal(got.buffer.byteLength, long.byteLength);
});
