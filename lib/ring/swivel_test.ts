import assert from "node:assert/strict";
import fc from "fast-check";
import { RecordType } from "../abi/mod.ts";
import { SampleWriter } from "./sample_writer.ts";
import { createSwivelRing, SwivelReader, type SwivelTake, SwivelWriter } from "./swivel.ts";
import { chain, fields, SAMPLE_TYPE } from "./testutil_test.ts";

/** A record whose every u32 after the header is its sequence number (a torn copy shows). */
function record(size: number, seq: number): Uint8Array {
  const r = new Uint8Array(size);
  const v = new DataView(r.buffer);
  v.setUint32(0, RecordType.SAMPLE, true);
  v.setUint16(6, size, true);
  for (let p = 8; p < size; p += 4) v.setUint32(p, seq, true);
  return r;
}

/** Sequence numbers of the records of a take (asserts every record is whole). */
function seqs(t: SwivelTake): number[] {
  const v = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out: number[] = [];
  for (let p = 0; p < t.bytes.length;) {
    const size = v.getUint16(p + 6, true);
    const s = v.getUint32(p + 8, true);
    for (let q = p + 8; q < p + size; q += 4) assert.equal(v.getUint32(q, true), s, "torn record");
    out.push(s);
    p += size;
  }
  return out;
}

Deno.test("swivel (property): each record taken once, in order, or counted overwritten; the stream skips exactly the overwritten bytes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 2, max: 200 }), fc.integer({ min: 0, max: 12 })), {
        minLength: 1,
        maxLength: 600,
      }),
      (ops) => {
        const m = createSwivelRing(4096);
        const w = new SwivelWriter(m);
        const r = new SwivelReader(m);
        const got: number[] = [];
        let seq = 0;
        const sizes: number[] = [];
        let bytesWritten = 0;
        let streamEnd = 0;
        let skipped = 0;
        const take = () => {
          const t = r.swivel()!;
          assert.ok(t.position >= streamEnd);
          skipped += t.position - streamEnd;
          streamEnd = t.position + t.bytes.length;
          got.push(...seqs(t));
        };
        for (const [words, action] of ops) {
          const size = words * 8;
          if (action === 0) take();
          if (action === 1) {
            // an interrupted writer: the nested record stays in the outer one's ring
            const h = w.reserve(size);
            const ring = w.activeRing;
            const outer = record(size, seq++);
            w.write(record(16, seq++));
            assert.equal(w.activeRing, ring);
            if (h < w.ring.dataSize) w.ring.data.set(outer, h);
            else new Uint8Array(w.scratchWords.buffer).set(outer, h - w.ring.dataSize);
            w.commit();
            sizes.push(size, 16);
            bytesWritten += size + 16;
          } else {
            w.write(record(size, seq++));
            sizes.push(size);
            bytesWritten += size;
          }
        }
        take();
        take(); // the other ring's last records were taken by the previous swivel already
        assert.equal(new Set(got).size, got.length, "no record taken twice");
        assert.equal(r.records, got.length);
        assert.equal(w.attempted, got.length + r.overwritten, "written = taken + overwritten");
        assert.deepEqual(got, [...got].sort((a, b) => a - b), "oldest first");
        assert.equal(streamEnd, bytesWritten);
        const kept = new Set(got);
        const lostBytes = sizes.reduce((n, sz, i) => n + (kept.has(i) ? 0 : sz), 0);
        assert.equal(skipped, lostBytes, "the stream skips the overwritten bytes");
      },
    ),
    { numRuns: 80 },
  );
});

Deno.test("swivel: the reader cannot retire the ring while the writer holds a reservation", () => {
  const m = createSwivelRing(4096);
  const w = new SwivelWriter(m);
  const r = new SwivelReader(m);
  w.write(record(64, 1));
  const h = w.reserve(32);
  w.ring.data.set(record(32, 9), h);
  assert.equal(r.swivel(5), undefined);
  assert.equal(r.retries, 5);
  w.commit();
  const t = r.swivel(5)!;
  assert.equal(t.ring, 0);
  assert.equal(t.records, 2);
  assert.equal(w.activeRing, 0, "the writer switches at its next reservation");
  w.write(record(64, 2));
  assert.equal(w.activeRing, 1);
  assert.equal(w.switches, 1);
  const u = r.swivel()!;
  assert.equal(u.ring, 1);
  assert.deepEqual(seqs(u), [2]);
  assert.equal(u.position, 96);
});

Deno.test("swivel: SampleWriter samples go into whichever ring is active", () => {
  const m = createSwivelRing(1 << 16);
  const w = new SwivelWriter(m);
  const r = new SwivelReader(m);
  const sw = new SampleWriter(w, SAMPLE_TYPE);
  let n = 0;
  for (let i = 0; i < 1000; i++) {
    sw.write(fields(i, 0), chain(8, i), 8);
    if (i % 97 === 0) n += r.swivel()!.records;
  }
  n += r.swivel()!.records;
  assert.equal(n + r.overwritten, 1000);
  assert.equal(r.overwritten, 0);
});

Deno.test("swivel: a reader in a Worker swivels while the writer keeps writing; written = taken + overwritten", async () => {
  const m = createSwivelRing(1 << 14, { shared: true });
  const w = new SwivelWriter(m);
  const stop = new SharedArrayBuffer(12);
  const flags = new Int32Array(stop);
  const worker = new Worker(new URL("./swivel_worker_fixture_test.ts", import.meta.url).href, {
    type: "module",
  });
  const done = new Promise<
    { seqs: number[]; torn: number; takes: number; overwritten: number }
  >((resolve) => worker.onmessage = (e) => resolve(e.data));
  worker.postMessage({
    rings: [m.rings[0].buffer, m.rings[1].buffer],
    control: m.control.buffer,
    stop,
  });
  while (Atomics.load(flags, 2) === 0) await new Promise((res) => setTimeout(res, 5));
  // write until the reader has swivelled 50 times while the writer ran (bounded)
  let n = 0;
  const t0 = Date.now();
  while (Atomics.load(flags, 1) < 50 && Date.now() - t0 < 20_000) {
    for (let i = 0; i < 1000; i++, n++) w.write(record(8 * (2 + (n % 13)), n));
  }
  const during = Atomics.load(flags, 1);
  Atomics.store(flags, 0, 1);
  const got = await done;
  worker.terminate();
  assert.equal(got.torn, 0, "no torn record: the retired ring has no writer");
  assert.equal(new Set(got.seqs).size, got.seqs.length, "no record taken twice");
  assert.deepEqual(got.seqs, [...got.seqs].sort((a, b) => a - b));
  assert.equal(got.seqs.length + got.overwritten, n);
  assert.equal(got.seqs.length + got.overwritten, w.attempted);
  assert.ok(during >= 50, `${during} swivels while the writer ran`);
});
