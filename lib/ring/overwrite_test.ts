import assert from "node:assert/strict";
import fc from "fast-check";
import { RecordType } from "../abi/mod.ts";
import { SUBBUF_HEADER_SIZE } from "../abi/extensions.ts";
import { createRingMemory } from "./layout.ts";
import { snapshotOverwrite, TailPushReader } from "./reader.ts";
import { createSpareRing, SpareSubbufReader, SpareSubbufWriter } from "./spare.ts";
import { SubbufOversizeError } from "./subbuf.ts";
import { RingWriter } from "./writer.ts";

/** A record whose every u32 after the header is its sequence number (a torn copy shows). */
function record(size: number, seq: number): Uint8Array {
  const r = new Uint8Array(size);
  const v = new DataView(r.buffer);
  v.setUint32(0, RecordType.SAMPLE, true);
  v.setUint16(6, size, true);
  for (let p = 8; p < size; p += 4) v.setUint32(p, seq, true);
  return r;
}

/** Sequence numbers of intact records in back-to-back bytes (asserts every record is whole). */
function seqs(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let p = 0; p < bytes.length;) {
    const type = v.getUint32(p, true);
    const size = v.getUint16(p + 6, true);
    assert.ok(size >= 8, `record size ${size}`);
    if (type === RecordType.SAMPLE) {
      const s = v.getUint32(p + 8, true);
      for (let q = p + 8; q < p + size; q += 4) {
        assert.equal(v.getUint32(q, true), s, "torn record");
      }
      out.push(s);
    }
    p += size;
  }
  return out;
}

Deno.test("tail-push overwrite: snapshots while the writer runs read each record once; written = read + overwritten", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 0, max: 6 })), {
        minLength: 1,
        maxLength: 400,
      }),
      fc.integer({ min: 0, max: 5 }),
      (ops, during) => {
        const ring = createRingMemory(4096, { tailPush: true });
        const w = new RingWriter(ring);
        const r = new TailPushReader(ring);
        const got: number[] = [];
        let seq = 0;
        for (const [words, snaps] of ops) {
          w.write(record(words * 8, seq++));
          if (snaps === 0) {
            // the writer keeps running during the copy
            const snap = r.snapshot(() => {
              for (let i = 0; i < during * 20; i++) w.write(record(words * 8, seq++));
            });
            got.push(...seqs(snap.bytes));
          }
        }
        got.push(...seqs(r.snapshot().bytes));
        assert.equal(w.stats.dropped, 0);
        assert.equal(new Set(got).size, got.length, "no record read twice");
        assert.deepEqual(got, [...got].sort((a, b) => a - b));
        assert.equal(r.records, got.length);
        assert.equal(w.stats.attempted, r.records + r.overwritten);
        assert.equal(seq, w.stats.attempted);
      },
    ),
    { numRuns: 80 },
  );
});

Deno.test("tail-push overwrite: the tail never passes an open outer reservation", () => {
  const ring = createRingMemory(4096, { tailPush: true });
  const w = new RingWriter(ring);
  const h = w.reserve(2048);
  ring.data.set(record(2048, 1), h);
  // nested: 2040 more bytes cannot fit without pushing the open reservation out
  assert.equal(w.reserve(2048), -1);
  w.commit();
  assert.equal(w.stats.dropped, 1);
});

Deno.test("backward overwrite: repeated snapshots while running, kept parts never overlap", () => {
  const ring = createRingMemory(4096, { overwrite: true });
  const w = new RingWriter(ring);
  let next = 0;
  const got: number[] = [];
  let seq = 0;
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < 7 + (round % 5) * 30; i++) w.write(record(64 + (i % 3) * 8, seq++));
    const snap = snapshotOverwrite(ring);
    const start = snap.head - snap.bytes.length;
    got.push(...seqs(snap.bytes.subarray(Math.max(0, next - start))));
    next = snap.head;
  }
  assert.equal(new Set(got).size, got.length);
  assert.deepEqual(got, [...got].sort((a, b) => a - b));
  assert.ok(got.length < seq && got.length > 0);
});

Deno.test("spare sub-buffer recorder: exchange while the writer runs; written = taken + overwritten", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 2, max: 60 }), fc.integer({ min: 0, max: 9 })), {
        minLength: 1,
        maxLength: 400,
      }),
      fc.integer({ min: 2, max: 6 }),
      fc.boolean(),
      (ops, subbufs, newest) => {
        const m = createSpareRing(subbufs, 1024);
        const w = new SpareSubbufWriter(m, 0);
        const r = new SpareSubbufReader(m);
        const got: number[] = [];
        let seq = 0;
        const take = () => {
          const t = newest ? r.takeNewest() : r.takeOldest();
          if (t) got.push(...seqs(t.bytes.subarray(SUBBUF_HEADER_SIZE)));
        };
        for (const [words, action] of ops) {
          w.write(record(words * 8, seq++));
          if (action === 0) take();
          if (action === 1) {
            for (const t of r.snapshot()) got.push(...seqs(t.bytes.subarray(48)));
          }
        }
        w.flush();
        for (const t of r.snapshot()) got.push(...seqs(t.bytes.subarray(48)));
        assert.equal(new Set(got).size, got.length, "no record taken twice");
        assert.equal(r.records, got.length);
        assert.equal(w.stats.attempted, got.length + w.stats.overwritten);
      },
    ),
    { numRuns: 80 },
  );
});

Deno.test("spare sub-buffer recorder: the reader cannot take the slot the writer is in", () => {
  const m = createSpareRing(2, 512);
  const w = new SpareSubbufWriter(m, 0);
  const r = new SpareSubbufReader(m);
  w.write(record(64, 1));
  assert.equal(r.takeOldest(), undefined); // slot 0 is open (BUSY)
  // fill slot 0 so the next record opens slot 1: slot 0 is closed and free to take
  for (let i = 0; i < 7; i++) w.write(record(64, 2 + i));
  const t = r.takeOldest();
  assert.ok(t);
  assert.equal(t.position, 0);
  assert.equal(t.records, 7);
  // the writer wraps into slot 0 again and gets the reader's old spare, not the taken buffer
  for (let i = 0; i < 13; i++) w.write(record(64, 10 + i));
  assert.equal(w.stats.overwritten, 0);
  // one more re-enters slot 1, whose 7 records the reader never took
  w.write(record(64, 30));
  assert.equal(w.stats.overwritten, 7);
  assert.throws(() => w.reserve(512), SubbufOversizeError);
});
