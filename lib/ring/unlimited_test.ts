import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeRecord, RecordType } from "../abi/mod.ts";
import { Defragmenter, type StreamRecord } from "./defrag.ts";
import { createRingMemory } from "./layout.ts";
import { RingReader, snapshotOverwrite, TailPushReader } from "./reader.ts";
import { SampleWriter } from "./sample_writer.ts";
import { SubbufWalker } from "./subbuf.ts";
import { chain, fields, FORMAT, SAMPLE_TYPE } from "./testutil_test.ts";
import { UnlimitedWriter } from "./unlimited.ts";
import { RingWriter } from "./writer.ts";

/**
 * Every record of the ring bytes `b` (at stream position `pos`) as stream records; a walker
 * skips the unused ends of header-padded sub-buffers.
 */
function records(b: Uint8Array, pos: number, out: StreamRecord[], walker?: SubbufWalker): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let p = 0; p < b.length;) {
    const skip = walker?.paddingAt(pos + p) ?? 0;
    if (skip > 0) {
      walker!.skipped(Math.min(skip, b.length - p));
      p += skip;
      continue;
    }
    if (v.getUint32(p, true) === RecordType.CALLRING_SUBBUF) walker?.see(v, p, pos + p);
    const size = v.getUint16(p + 6, true);
    assert.ok(size >= 8 && size % 8 === 0 && p + size <= b.length, `record size ${size}`);
    out.push({ bytes: b.slice(p, p + size), cpu: 0, time: 0, position: pos + p });
    p += size;
  }
}

/** Data records (sync, LOST, PAD excluded) and LOST counts. */
function tally(recs: StreamRecord[]): { data: number; lost: number } {
  let data = 0;
  let lost = 0;
  for (const r of recs) {
    const v = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    const t = v.getUint32(0, true);
    if (t === RecordType.LOST) lost += v.getUint32(16, true);
    else if (t !== RecordType.CALLRING_PAD && t !== RecordType.CALLRING_SUBBUF) data++;
  }
  return { data, lost };
}

/** Reassembled samples: callchains as u32 arrays, plus the defragmenter. */
function reassemble(recs: StreamRecord[]) {
  const d = new Defragmenter(FORMAT);
  const out: { time: number; chain: Uint32Array; bytes: Uint8Array }[] = [];
  const take = (r: StreamRecord) => {
    const v = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    if (v.getUint32(0, true) !== RecordType.SAMPLE) return;
    const s = decodeRecord(v, 0, FORMAT, false, 0);
    assert.ok("sample" in s);
    const c = s.sample.callchain!;
    out.push({
      time: s.sample.time!,
      chain: new Uint32Array(c.buffer, c.byteOffset, 2 * c.length).slice(),
      bytes: r.bytes,
    });
  };
  for (const r of recs) {
    d.push(r);
    for (let x = d.pop(); x; x = d.pop()) take(x);
  }
  d.finish();
  for (let x = d.pop(); x; x = d.pop()) take(x);
  return { samples: out, stats: d.stats };
}

/** Drain the ring (its two pieces at a wrap joined) into stream records. */
function drainAll(
  r: RingReader,
  out: StreamRecord[],
  closedOnly = false,
  walker?: SubbufWalker,
): void {
  const parts: { b: Uint8Array; pos: number }[] = [];
  const sink = (b: Uint8Array, pos: number) => void parts.push({ b: b.slice(), pos });
  if (closedOnly) r.drainClosed(sink);
  else r.drain(sink);
  if (parts.length === 0) return;
  const all = new Uint8Array(parts.reduce((n, p) => n + p.b.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p.b, at);
    at += p.b.length;
  }
  records(all, parts[0].pos, out, walker);
}

Deno.test("unlimited: a one-piece event is byte for byte the SampleWriter's sample, its unused end given back", () => {
  const a = createRingMemory(1 << 16);
  const b = createRingMemory(1 << 16);
  const wa = new RingWriter(a);
  const wb = new RingWriter(b);
  const uw = new UnlimitedWriter(wa, SAMPLE_TYPE, { pieceSize: 2048 });
  const sw = new SampleWriter(wb, SAMPLE_TYPE);
  for (let i = 0; i < 50; i++) {
    const depth = 1 + (i * 7) % 40;
    const c = chain(depth, i);
    const f = fields(1000 + i, 0);
    const e = uw.reserveUnlimited(f);
    for (let k = 0; k < depth; k++) uw.assign(e, c[2 * k], c[2 * k + 1]);
    assert.equal(uw.commit(e), sw.sampleSize(depth));
    sw.write(f, c, depth);
  }
  assert.equal(wa.head, wb.head);
  assert.deepEqual(a.data.subarray(0, wa.head), b.data.subarray(0, wb.head));
  assert.equal(uw.stats.contiguous, 50);
  assert.equal(uw.stats.paddingBytes, 0);
  assert.ok(uw.stats.givenBack > 0);
});

Deno.test("unlimited: an event larger than a piece continues in compact fragments and reassembles", () => {
  const ring = createRingMemory(1 << 18);
  const w = new RingWriter(ring);
  const uw = new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize: 512 });
  const c = chain(700, 3);
  const e = uw.reserveUnlimited(fields(5, 0));
  uw.assignWords(e, c, 0, 300);
  for (let k = 300; k < 700; k++) uw.assign(e, c[2 * k], c[2 * k + 1]);
  const size = uw.commit(e);
  const recs: StreamRecord[] = [];
  drainAll(new RingReader(ring), recs);
  assert.equal(size, w.head);
  const types = recs.map((r) => new DataView(r.bytes.buffer).getUint32(0, true));
  assert.equal(types[0], RecordType.SAMPLE);
  assert.ok(types.slice(1).every((t) => t === RecordType.CALLRING_FRAGMENT_COMPACT));
  assert.equal(uw.stats.pieces, types.length - 1);
  const { samples, stats } = reassemble(recs);
  assert.equal(stats.completed, 1);
  assert.equal(samples.length, 1);
  assert.deepEqual(samples[0].chain, c);
});

Deno.test("unlimited: interrupts reserve between the pieces; nested unlimited events; LIFO commits", () => {
  const ring = createRingMemory(1 << 18);
  const w = new RingWriter(ring);
  const uw = new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize: 256 });
  const outer = chain(53, 1);
  const inner = chain(90, 2);
  const e = uw.reserveUnlimited(fields(10, 0));
  uw.assignWords(e, outer, 0, 50);
  // an NMI: a plain sample, then an unlimited event of its own, between our pieces
  new SampleWriter(w, SAMPLE_TYPE).write(fields(11, 0), chain(4, 9), 4);
  const n = uw.reserveUnlimited(fields(12, 0));
  uw.assignWords(n, inner, 0, 90);
  assert.throws(() => uw.commit(e), RangeError);
  uw.commit(n);
  // three more entries: the last piece stays part-empty with the NMI's records after it
  uw.assignWords(e, outer, 50, 3);
  // nothing is published before the outer event commits
  assert.equal(new RingReader(ring).drain(() => {}), 0);
  uw.commit(e);
  const recs: StreamRecord[] = [];
  drainAll(new RingReader(ring), recs);
  const { samples, stats } = reassemble(recs);
  assert.equal(stats.incomplete, 0);
  const byTime = new Map(samples.map((s) => [s.time, s.chain]));
  assert.deepEqual(byTime.get(10), outer);
  assert.deepEqual(byTime.get(12), inner);
  assert.deepEqual(byTime.get(11), chain(4, 9));
  // the nested records followed a piece that could not give its end back: padded
  assert.ok(uw.stats.paddingBytes > 0);
  assert.ok(
    recs.some((r) => new DataView(r.bytes.buffer).getUint32(0, true) === RecordType.CALLRING_PAD),
  );
});

Deno.test("unlimited: space runs out — a dropped head is LOST whole, a dropped piece leaves the event incomplete", () => {
  const ring = createRingMemory(4096);
  const w = new RingWriter(ring);
  const uw = new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize: 1024 });
  const r = new RingReader(ring);
  const recs: StreamRecord[] = [];
  // fill to 3000 bytes: the next head piece (1024) does not fit, though a 16-deep sample would
  const sw = new SampleWriter(w, SAMPLE_TYPE);
  while (w.head + sw.sampleSize(4) < 3100) sw.write(fields(1, 0), chain(4, 1), 4);
  const small = uw.reserveUnlimited(fields(2, 0));
  assert.equal(small.reserved, false);
  uw.assignWords(small, chain(16, 2), 0, 16);
  assert.equal(uw.commit(small), 0);
  assert.equal(uw.stats.dropped, 1);
  assert.equal(uw.stats.droppedWouldFit, 1);
  drainAll(r, recs);
  // now a 400-deep event: the head fits, the ring fills before its last piece
  const e = uw.reserveUnlimited(fields(3, 0));
  assert.ok(e.reserved);
  uw.assignWords(e, chain(400, 3), 0, 400);
  uw.commit(e);
  assert.equal(uw.stats.truncated, 1);
  drainAll(r, recs);
  assert.ok(w.flushLost());
  drainAll(r, recs);
  const t = tally(recs);
  assert.equal(w.stats.attempted, w.stats.committed + w.stats.dropped);
  assert.equal(w.stats.attempted, t.data + t.lost, "written = read + lost");
  assert.equal(t.lost, 2);
  const { stats } = reassemble(recs);
  assert.equal(stats.incomplete, 1);
});

Deno.test("unlimited: on a sub-buffer ring each piece ends where the sub-buffer ends", () => {
  const ring = createRingMemory(1 << 16);
  const w = new RingWriter(ring, { subbufSize: 4096, subbufPadding: "nop" });
  const uw = new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize: 4000 });
  const c = chain(2000, 4);
  const e = uw.reserveUnlimited(fields(1, 0));
  uw.assignWords(e, c, 0, 2000);
  uw.commit(e);
  assert.equal(w.stats.paddingBytes, 0, "no sub-buffer end padded");
  const recs: StreamRecord[] = [];
  drainAll(new RingReader(ring), recs);
  const { samples } = reassemble(recs);
  assert.equal(samples.length, 1);
  assert.deepEqual(samples[0].chain, c);
});

Deno.test("unlimited: the piece size is checked against the ring", () => {
  const w = new RingWriter(createRingMemory(1 << 16, {}), { subbufSize: 1024 });
  assert.throws(() => new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize: 2048 }), RangeError);
  assert.throws(() => new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize: 100 }), RangeError);
  assert.throws(() => new UnlimitedWriter(w, SAMPLE_TYPE & ~0x80), RangeError);
});

Deno.test("unlimited: on an overwrite ring an event larger than the ring is cut, never wrapped over its own open head", () => {
  // found by the property test (backward, piece 256, ring 8192): the pieces of a 1000-entry
  // event wrapped over its open head, whose commit then wrote the size into a later piece
  const ring = createRingMemory(1 << 13, { overwrite: true });
  const w = new RingWriter(ring, {});
  const uw = new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize: 256 });
  const small = chain(10, 1);
  const e1 = uw.reserveUnlimited(fields(1, 0));
  uw.assignWords(e1, small, 0, 10);
  assert.ok(uw.commit(e1) > 0);
  const big = chain(1000, 2);
  const e2 = uw.reserveUnlimited(fields(2, 0));
  uw.assignWords(e2, big, 0, 500);
  const e3 = uw.reserveUnlimited(fields(3, 0)); // an interrupt nested in the big event
  uw.assignWords(e3, small, 0, 10);
  uw.commit(e3);
  uw.assignWords(e2, big, 500, 500);
  uw.commit(e2);
  assert.equal(uw.stats.truncated, 1, "the big event is cut");
  const snap = snapshotOverwrite(ring);
  const recs: StreamRecord[] = [];
  records(snap.bytes, snap.head - snap.bytes.length, recs);
  const { samples, stats } = reassemble(recs);
  for (const smp of samples) {
    assert.ok(smp.time === 3 || smp.time === 1, `only whole events come back (time ${smp.time})`);
  }
  assert.ok(samples.some((smp) => smp.time === 3), "the nested event fitted");
  assert.equal(stats.incomplete >= 1, true, "the cut event is counted incomplete");
  // every piece the ring saw was committed: nothing lapped the open head
  assert.equal(w.stats.attempted, w.stats.committed);
});

type Mode = "consume" | "subbuf-nop" | "subbuf-header" | "backward" | "tail-push";

Deno.test("unlimited (property): written = read + lost + overwritten per ring, every complete event exact", () => {
  fc.assert(
    fc.property(
      fc.constantFrom<Mode>("consume", "subbuf-nop", "subbuf-header", "backward", "tail-push"),
      fc.integer({ min: 1, max: 1 << 30 }),
      fc.constantFrom(64, 256, 1024),
      fc.constantFrom(1 << 13, 1 << 15),
      (mode, seed, piece, size) => {
        let s = seed;
        const rand = (n: number) => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          return s % n;
        };
        const ring = createRingMemory(size, {
          overwrite: mode === "backward",
          tailPush: mode === "tail-push",
        });
        const w = new RingWriter(ring, {
          subbufSize: mode.startsWith("subbuf") ? 2048 : 0,
          subbufPadding: mode === "subbuf-header" ? "header" : "nop",
        });
        const pieceSize = Math.max(piece, 64);
        const uw = new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize });
        const reader = mode === "consume" || mode.startsWith("subbuf")
          ? new RingReader(ring)
          : undefined;
        const tails = mode === "tail-push" ? new TailPushReader(ring) : undefined;
        const recs: StreamRecord[] = [];
        const walker = new SubbufWalker();
        let overwritten = 0;
        let backwardTaken = 0;
        let backwardNext = 0;
        const truth = new Map<number, Uint32Array>();
        const read = () => {
          if (reader) {
            drainAll(reader, recs, mode === "subbuf-header", walker);
          } else if (tails) {
            const snap = tails.snapshot();
            records(snap.bytes, snap.position, recs);
            overwritten += snap.overwritten;
          } else {
            const snap = snapshotOverwrite(ring);
            const start = snap.head - snap.bytes.length;
            const skip = Math.max(0, backwardNext - start);
            const fresh: StreamRecord[] = [];
            records(snap.bytes.subarray(skip), start + skip, fresh);
            backwardTaken += tally(fresh).data;
            recs.push(...fresh);
            backwardNext = snap.head;
          }
        };
        let time = 1;
        const writeEvent = (depth: number, nest: number) => {
          const t = time++;
          const c = chain(depth, t);
          const e = uw.reserveUnlimited(fields(t, 0));
          const cut = rand(depth + 1);
          uw.assignWords(e, c, 0, cut);
          if (nest > 0 && rand(2)) writeEvent(1 + rand(120), nest - 1);
          uw.assignWords(e, c, cut, depth - cut);
          if (uw.commit(e) > 0) truth.set(t, c);
        };
        for (let i = 0; i < 300; i++) {
          writeEvent(1 + rand(rand(8) === 0 ? 900 : 40), 2);
          if (rand(6) === 0) {
            if (mode === "subbuf-header" && rand(2)) w.closeSubbuf();
            read();
          }
        }
        if (mode.startsWith("subbuf")) w.closeSubbuf();
        if (reader) read();
        // drops not yet reported go out in a LOST record now (a tail-push ring drops nested pieces)
        assert.ok(w.flushLost(), `${mode}: LOST flushed`);
        if (mode === "subbuf-header") w.closeSubbuf();
        read();
        const t = tally(recs);
        if (mode === "backward") overwritten = w.stats.committed - backwardTaken;
        assert.equal(w.stats.attempted, t.data + t.lost + overwritten, `${mode}: written`);
        const { samples, stats } = reassemble(recs);
        for (const smp of samples) {
          const c = truth.get(smp.time);
          assert.ok(c, `${mode}: a sample never written (time ${smp.time})`);
          assert.deepEqual(smp.chain, c, `${mode}: event ${smp.time}`);
        }
        // events: reassembled or single + incomplete + dropped/overwritten, never more
        assert.ok(samples.length + stats.incomplete <= uw.stats.events, mode);
        if (mode === "consume" || mode.startsWith("subbuf")) {
          // nothing overwritten: every event is read whole, read incomplete, or dropped
          assert.equal(
            samples.length + stats.incomplete + uw.stats.dropped,
            uw.stats.events,
            `${mode}: events`,
          );
          assert.equal(stats.incomplete, uw.stats.truncated, `${mode}: truncated`);
        }
      },
    ),
    { numRuns: 60 },
  );
});
