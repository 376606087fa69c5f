import assert from "node:assert/strict";
import fc from "fast-check";
import { RecordType } from "../abi/mod.ts";
import { decodeSubbufFields, SUBBUF_HEADER_SIZE, SubbufPadding } from "../abi/extensions.ts";
import { createRingMemory } from "./layout.ts";
import { RingReader } from "./reader.ts";
import { searchSubbufs, SubbufOversizeError, SubbufWalker, validSubbufAt } from "./subbuf.ts";
import { RingWriter } from "./writer.ts";

function record(size: number, seq: number): Uint8Array {
  const r = new Uint8Array(size);
  const v = new DataView(r.buffer);
  v.setUint32(0, RecordType.SAMPLE, true);
  v.setUint16(6, size, true);
  if (size >= 16) v.setUint32(8, seq, true);
  return r;
}

/** Walk a drained sub-buffer stream as a reader does; returns the data records' seqs. */
function walk(bytes: Uint8Array, base: number, sb: number): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const walker = new SubbufWalker();
  const seqs: number[] = [];
  for (let p = 0; p < bytes.length;) {
    const skip = walker.paddingAt(base + p);
    if (skip) {
      p += skip;
      continue;
    }
    const type = v.getUint32(p, true);
    const size = v.getUint16(p + 6, true);
    assert.ok(size >= 8 && size % 8 === 0, `record size ${size} at ${base + p}`);
    // no record crosses a sub-buffer boundary
    assert.ok(((base + p) % sb) + size <= sb, `record at ${base + p} crosses a boundary`);
    if ((base + p) % sb === 0) {
      assert.equal(
        type,
        RecordType.CALLRING_SUBBUF,
        `sub-buffer at ${base + p} opens with its header`,
      );
      assert.ok(validSubbufAt(v, p, base + p));
    }
    walker.see(v, p, base + p);
    if (type === RecordType.SAMPLE) seqs.push(v.getUint32(p + 8, true));
    p += size;
  }
  return seqs;
}

for (const padding of ["nop", "header"] as const) {
  Deno.test(`sub-buffer ring (${padding} padding): records start after a header, never cross, all arrive`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2, max: 120 }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(256, 512, 1024),
        fc.integer({ min: 1, max: 40 }),
        (sizes, sb, drainEvery) => {
          const ring = createRingMemory(4096);
          const w = new RingWriter(ring, { subbufSize: sb, subbufPadding: padding });
          const r = new RingReader(ring);
          const got: number[] = [];
          let written = 0;
          const drain = () =>
            (padding === "header" ? r.drainClosed.bind(r) : r.drain.bind(r))((b, pos) =>
              got.push(...walk(b.slice(), pos, sb))
            );
          sizes.forEach((words, i) => {
            const size = Math.min(words * 8, sb - SUBBUF_HEADER_SIZE - 64);
            if (w.write(record(size, i), i)) written++;
            if (i % drainEvery === 0) drain();
          });
          while (!w.closeSubbuf()) drain();
          drain();
          if (w.pendingLost > 0) {
            assert.ok(w.flushLost());
            w.closeSubbuf();
            drain();
          }
          assert.equal(got.length, written);
          assert.deepEqual(got, [...got].sort((a, b) => a - b));
          assert.equal(w.stats.attempted, written + w.stats.dropped);
        },
      ),
      { numRuns: 60 },
    );
  });
}

Deno.test("sub-buffer ring: an event larger than a sub-buffer is refused explicitly", () => {
  const ring = createRingMemory(8192);
  const w = new RingWriter(ring, { subbufSize: 1024 });
  assert.throws(() => w.reserve(1024 - SUBBUF_HEADER_SIZE + 8), SubbufOversizeError);
  assert.equal(w.nest, 0);
  assert.equal(w.stats.attempted, 0);
  // the largest that fits is accepted
  assert.ok(w.write(record(1024 - SUBBUF_HEADER_SIZE, 1)));
});

Deno.test("sub-buffer ring: header padding writes used, records and the end time at close", () => {
  const ring = createRingMemory(8192);
  const w = new RingWriter(ring, { subbufSize: 1024, subbufPadding: "header", cpu: 3 });
  for (let i = 0; i < 5; i++) w.write(record(200, i), 100 + i);
  // 48 + 4 * 200 = 848; the fifth record opens sub-buffer 1
  const h0 = decodeSubbufFields(ring.dataView, 0);
  assert.equal(h0.padding, SubbufPadding.HEADER);
  assert.deepEqual(
    [h0.used, h0.records, h0.startTime, h0.endTime, h0.cpu],
    [848, 4, 100, 103, 3],
  );
  assert.ok(validSubbufAt(ring.dataView, 0, 0));
  assert.equal(w.closedPosition, 1024);
  const h1 = decodeSubbufFields(ring.dataView, 1024);
  assert.equal(h1.used, 0); // still open
  assert.ok(w.closeSubbuf(200));
  assert.equal(decodeSubbufFields(ring.dataView, 1024).used, 248);
  assert.equal(w.stats.paddingBytes, 1024 - 848 + 1024 - 248);
});

Deno.test("sub-buffer ring: NOP padding tiles the stream with CALLRING_PAD records", () => {
  const ring = createRingMemory(8192);
  const w = new RingWriter(ring, { subbufSize: 1024 });
  for (let i = 0; i < 5; i++) w.write(record(200, i), i);
  const v = ring.dataView;
  assert.equal(v.getUint32(848, true), RecordType.CALLRING_PAD);
  assert.equal(v.getUint16(854, true), 1024 - 848);
  assert.equal(v.getUint32(1024, true), RecordType.CALLRING_SUBBUF);
});

Deno.test("searchSubbufs: binary search by start time reads only headers", () => {
  const ring = createRingMemory(1 << 16);
  const w = new RingWriter(ring, { subbufSize: 1024 });
  for (let i = 0; i < 250; i++) w.write(record(200, i), i * 10);
  // sub-buffer k holds records 4k..4k+3 (times 40k..40k+30)
  for (const t of [0, 5, 39, 40, 400, 1234, 99999]) {
    const { hit, bytesRead } = searchSubbufs(ring.dataView, 0, 1024, t);
    const expect = Math.min(Math.floor(t / 40), 62);
    assert.equal(hit?.index, expect, `time ${t}`);
    assert.ok(bytesRead <= 48 * 8, `${bytesRead} header bytes read`);
  }
});

Deno.test("sub-buffer writer options are validated", () => {
  const ring = createRingMemory(4096);
  assert.throws(() => new RingWriter(ring, { subbufSize: 3000 }), RangeError);
  assert.throws(() => new RingWriter(ring, { subbufSize: 4096 }), RangeError);
  assert.throws(() => new RingWriter(ring, { subbufSize: 512, syncDistance: 1024 }), RangeError);
  const ow = createRingMemory(4096, { overwrite: true });
  assert.throws(() => new RingWriter(ow, { subbufSize: 512 }), RangeError);
});
