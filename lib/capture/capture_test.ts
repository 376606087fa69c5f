import assert from "node:assert/strict";
import fc from "fast-check";
import { RecordType } from "../abi/mod.ts";
import { rng } from "../ring/testutil_test.ts";
import { makeCapture } from "./testutil_test.ts";
import { CHUNK_HEADER_SIZE, findNextChunk } from "./format.ts";
import { CaptureReader, memorySource, type ReadSummary } from "./reader.ts";

async function readAll(
  bytes: Uint8Array,
  opts = {},
): Promise<{ recs: Uint8Array[]; sum: ReadSummary }> {
  const r = await CaptureReader.open(memorySource(bytes));
  const recs: Uint8Array[] = [];
  const sum = await r.read((rec) => recs.push(rec.bytes), opts);
  r.close();
  return { recs, sum };
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("capture round trip: merged in time order, defragmented, written = read + lost per CPU", async () => {
  const { bytes, written } = await makeCapture(3000);
  const { recs, sum } = await readAll(bytes);
  assert.equal(sum.warnings.length, 0, JSON.stringify(sum.warnings));
  assert.ok(sum.defragmented > 100);
  assert.equal(sum.incompleteEvents, 0);
  let last = 0;
  let samples = 0;
  for (const b of recs) {
    const v = new DataView(b.buffer);
    const type = v.getUint32(0, true);
    assert.notEqual(type, RecordType.CALLRING_FRAGMENT);
    assert.notEqual(type, RecordType.CALLRING_SYNC);
    if (type === RecordType.SAMPLE) {
      const t = v.getUint32(24, true);
      assert.ok(t >= last, "time order");
      last = t;
      assert.equal(v.getUint32(36, true), 0, "cpu.res cleared");
      samples++;
    }
  }
  // Record-level accounting per CPU: every record a ring writer attempted was
  // read from its stream or counted by a LOST record.
  for (const [cpu, st] of sum.cpus) {
    assert.equal(written[cpu], st.streamRecords + st.lost, `cpu ${cpu}: written = read + lost`);
  }
  assert.ok(samples > 2500);
});

Deno.test("capture cut off at every byte is readable up to the cut", async () => {
  const { bytes } = await makeCapture(40, 3, 512);
  const { recs: clean } = await readAll(bytes);
  const cleanHex = clean.map(hex);
  const header = new DataView(bytes.buffer).getUint32(12, true);
  for (let cut = header; cut <= bytes.length; cut += 1) {
    const { recs } = await readAll(bytes.subarray(0, cut));
    // Every record read from a prefix is a record of the clean read (order may differ only by fragments).
    const set = new Set(cleanHex);
    for (const r of recs) assert.ok(set.has(hex(r)), `cut ${cut}: unknown record`);
    if (cut === bytes.length) assert.equal(recs.length, clean.length);
  }
});

Deno.test("bit flips: damaged ranges are reported and every record outside them is recovered", async () => {
  const { bytes } = await makeCapture(2000, 4, 1024);
  const { recs: clean } = await readAll(bytes);
  const random = rng(99);
  for (let trial = 0; trial < 20; trial++) {
    const damaged = bytes.slice();
    const flips: number[] = [];
    const header = new DataView(bytes.buffer).getUint32(12, true);
    for (let k = 0; k < 1 + Math.floor(random() * 5); k++) {
      const at = header + Math.floor(random() * (bytes.length - header));
      damaged[at] ^= 1 << Math.floor(random() * 8);
      flips.push(at);
    }
    const { recs, sum } = await readAll(damaged);
    for (const f of flips) {
      assert.ok(sum.warnings.some((w) => w.start <= f && f < w.end), `flip at ${f} not reported`);
    }
    // Records of chunks untouched by flips are all recovered.
    const got = new Set(recs.map(hex));
    let p = header;
    const dv = new DataView(bytes.buffer);
    while (p < bytes.length) {
      const len = dv.getUint32(p + 12, true);
      const end = p + CHUNK_HEADER_SIZE + len;
      if (!flips.some((f) => f >= p && f < end)) {
        for (let q = p + CHUNK_HEADER_SIZE; q < end;) {
          const size = dv.getUint16(q + 6, true);
          const type = dv.getUint32(q, true);
          const rec = bytes.subarray(q, q + size);
          const plainSample = type === RecordType.SAMPLE && dv.getUint32(q + 36, true) === 0;
          if (plainSample || type === RecordType.LOST) {
            assert.ok(got.has(hex(rec)), `record at ${q} lost`);
          }
          q += size;
        }
      }
      p = end;
    }
    assert.ok(recs.length <= clean.length + 0);
  }
});

Deno.test("property: from any byte offset the next chunk header is found within maxChunk + 2 headers, records after match", async () => {
  const { bytes } = await makeCapture(4000, 5, 1024);
  const header = new DataView(bytes.buffer).getUint32(12, true);
  const chunkStarts: number[] = [];
  for (let p = header; p < bytes.length;) {
    chunkStarts.push(p);
    p += CHUNK_HEADER_SIZE + new DataView(bytes.buffer).getUint32(p + 12, true);
  }
  const maxRecord = 8 + 5 * 8 + 8 + 16 * 8 + 32 + 40 * 8; // largest sample/fragment here
  const bound = 1024 + maxRecord + 2 * CHUNK_HEADER_SIZE;
  const reader = await CaptureReader.open(memorySource(bytes));
  const cleanSet = new Set<string>();
  await reader.read((x) => cleanSet.add(hex(x.bytes)), { keepExtensions: true });
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: header, max: chunkStarts.at(-2)! }), async (from) => {
      const f = findNextChunk(bytes, from, 0);
      const expected = chunkStarts.find((s) => s >= from)!;
      if (f.offset !== expected || f.offset + CHUNK_HEADER_SIZE - from > bound) return false;
      // Records after the resync point decode identically to a clean read from that chunk.
      const a: string[] = [];
      await reader.read((x) => a.push(hex(x.bytes)), { from: f.offset, keepExtensions: true });
      return a.length > 0 && a.every((h) => cleanSet.has(h));
    }),
    { numRuns: 100 },
  );
  reader.close();
  // Exhaustive over 10,000+ offsets for the bound alone.
  let n = 0;
  for (let from = header; from < chunkStarts.at(-1)!; from++, n++) {
    const f = findNextChunk(bytes, from, 0);
    assert.ok(f.offset >= 0 && f.offset + CHUNK_HEADER_SIZE - from <= bound);
  }
  assert.ok(n >= 10_000, `only ${n} offsets`);
});

Deno.test("seek: binary search over chunk headers lands before the first record at the target time", async () => {
  const { bytes } = await makeCapture(4000, 6, 1024);
  const r = await CaptureReader.open(memorySource(bytes));
  const times: number[] = [];
  await r.read((x) => {
    if (new DataView(x.bytes.buffer).getUint32(0, true) === RecordType.SAMPLE) times.push(x.time);
  });
  for (const target of [times[0], times[500], times[2000], times.at(-1)!]) {
    const s = await r.seekTime(target);
    const after: number[] = [];
    await r.read((x) => {
      if (new DataView(x.bytes.buffer).getUint32(0, true) === RecordType.SAMPLE) after.push(x.time);
    }, { from: s.offset, minTime: target });
    assert.deepEqual(after, times.filter((t) => t >= target), `target ${target}`);
    assert.ok(s.bytesRead < bytes.length / 2 || bytes.length < 200_000);
  }
  r.close();
});
