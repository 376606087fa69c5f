import assert from "node:assert/strict";
import { MmapPage, readDataHead, RecordType } from "../abi/mod.ts";
import {
  attachRingMemory,
  createRingMemory,
  loadBackwardWritten,
  loadHead,
  loadTail,
  storeTail,
} from "./layout.ts";
import { RingReader, snapshotOverwrite } from "./reader.ts";
import { RingWriter } from "./writer.ts";
import { checkPattern, patternRecord, rng } from "./testutil_test.ts";

Deno.test("control page: perf_event_mmap_page offsets", () => {
  const ring = createRingMemory(8192);
  const w = new RingWriter(ring);
  const r = new RingReader(ring);
  assert.equal(ring.page.getUint32(MmapPage.dataOffset, true), 4096);
  assert.equal(ring.page.getUint32(1040, true), 4096);
  assert.equal(ring.page.getUint32(1048, true), 8192);
  w.write(patternRecord(1, 48));
  assert.equal(ring.page.getUint32(1024, true), 48); // data_head
  assert.equal(readDataHead(ring.page), 48);
  const got: number[] = [];
  r.read((v, off, size) => got.push(checkPattern(v, off, size)));
  assert.deepEqual(got, [1]);
  assert.equal(ring.page.getUint32(1032, true), 48); // data_tail, stored by the reader
  storeTail(ring, 48);
  assert.equal(ring.page.getUint32(1032, true), 48); // data_tail
  assert.equal(ring.buffer.byteLength, 4096 + 8192);
  assert.equal(w.stats.attempted, w.stats.committed + w.stats.dropped);
  assert.equal(w.stats.dropped, 0);
  assert.equal(r.records, w.stats.committed, "written = read + lost");
});

Deno.test("wrap-around at every 8-byte alignment, records intact and accounting exact", () => {
  for (let start = 0; start < 4096; start += 8) {
    const ring = createRingMemory(4096);
    const w = new RingWriter(ring);
    const r = new RingReader(ring);
    // Advance head and tail to `start` with filler records.
    let seq = 0;
    let left = start;
    while (left > 0) {
      const s = Math.min(left, 1024);
      w.write(patternRecord(seq++, s));
      left -= s;
    }
    r.read(() => {});
    const sizes = [8 + 8 * ((start / 8) % 7) + 16, 264, 1032, 40];
    const want: number[] = [];
    for (const s of sizes) {
      assert.ok(w.write(patternRecord(seq, s)));
      want.push(seq++);
    }
    const got: number[] = [];
    r.read((v, off, size) => got.push(checkPattern(v, off, size)));
    assert.deepEqual(got, want, `start ${start}`);
    assert.equal(w.stats.attempted, w.stats.committed + w.stats.dropped);
    assert.equal(w.stats.committed, r.records);
  }
});

type Op = "R" | "C";
/** All well-nested interleavings of n writers (Dyck words of reserve/commit). */
function interleavings(n: number): Op[][] {
  const out: Op[][] = [];
  const go = (seq: Op[], open: number, used: number) => {
    if (used === n && open === 0) return void out.push(seq);
    if (used < n) go([...seq, "R"], open + 1, used + 1);
    if (open > 0) go([...seq, "C"], open - 1, used);
  };
  go([], 0, 0);
  return out;
}

Deno.test("nested reserve/commit: every interleaving of 1-5 writers publishes only at the outermost commit", () => {
  let cases = 0;
  for (let n = 1; n <= 5; n++) {
    for (const seq of interleavings(n)) {
      for (const base of [0, 4096 - 40]) {
        cases++;
        const ring = createRingMemory(4096);
        const w = new RingWriter(ring);
        const r = new RingReader(ring);
        if (base) {
          w.write(patternRecord(999, base));
          r.read(() => {});
        }
        const stack: { h: number; seq: number; size: number }[] = [];
        let next = 0;
        const order: number[] = [];
        for (const op of seq) {
          if (op === "R") {
            const size = 24 + 8 * next;
            const h = w.reserve(size);
            assert.ok(h >= 0);
            order.push(next);
            // write the first half now, the rest at commit time (an NMI interrupts in between)
            stack.push({ h, seq: next++, size });
          } else {
            const top = stack.pop()!;
            const rec = patternRecord(top.seq, top.size);
            const v = w.viewOf(top.h);
            new Uint8Array(v.buffer, v.byteOffset).set(rec, w.offsetOf(top.h));
            const headBefore = loadHead(ring);
            w.commit();
            if (stack.length > 0) {
              assert.equal(loadHead(ring), headBefore, "nested commit published");
            } else assert.equal(loadHead(ring), w.head, "outermost commit did not publish");
          }
        }
        const got: number[] = [];
        r.read((v, off, size) => got.push(checkPattern(v, off, size)));
        assert.deepEqual(got, order, `interleaving ${seq.join("")}`);
        assert.equal(w.stats.attempted, w.stats.committed + w.stats.dropped);
        assert.equal(r.records, w.stats.committed, "written = read + lost");
      }
    }
  }
  assert.equal(cases, 2 * (1 + 2 + 5 + 14 + 42));
});

Deno.test("nested writer inside the publication window is published by the outer loop", () => {
  for (const where of ["head-stored", "nest-cleared"] as const) {
    const ring = createRingMemory(4096);
    let fired = false;
    const w: RingWriter = new RingWriter(ring, {
      onPublishWindow: (at) => {
        if (at === where && !fired) {
          fired = true;
          w.write(patternRecord(2, 32)); // the NMI
        }
      },
    });
    const r = new RingReader(ring);
    w.write(patternRecord(1, 32));
    assert.equal(loadHead(ring), 64, where);
    const got: number[] = [];
    r.read((v, off, size) => got.push(checkPattern(v, off, size)));
    assert.deepEqual(got, [1, 2]);
    if (where === "head-stored") assert.equal(w.stats.publishRetries, 1);
    assert.equal(w.stats.attempted, 2, where);
    assert.equal(w.stats.attempted, w.stats.committed + w.stats.dropped, where);
    assert.equal(r.records, w.stats.committed, `${where}: written = read + lost`);
    assert.equal(w.nest, 0, where);
  }
});

Deno.test("producer/consumer: drops are reported by one LOST record with the exact count", () => {
  const random = rng(7);
  for (let round = 0; round < 20; round++) {
    const ring = createRingMemory(4096);
    const w = new RingWriter(ring, { lostId: 42 });
    const r = new RingReader(ring);
    let read = 0;
    let lost = 0;
    let seq = 0;
    const count = (v: DataView, off: number, size: number) => {
      const type = v.getUint32(off, true);
      if (type === RecordType.LOST) {
        assert.equal(v.getUint32(off + 8, true), 42);
        lost += v.getUint32(off + 16, true);
      } else {
        assert.ok(checkPattern(v, off, size) >= 0);
        read++;
      }
    };
    for (let i = 0; i < 2000; i++) {
      w.write(patternRecord(seq++, 8 * (2 + Math.floor(random() * 30))));
      if (random() < 0.05) r.read(count);
    }
    r.read(count);
    for (let k = 0; k < 3 && !w.flushLost(); k++) r.read(count);
    r.read(count);
    assert.ok(w.stats.dropped > 0);
    assert.equal(w.stats.attempted, read + lost, "written = read + lost");
    assert.equal(lost, w.stats.dropped);
  }
});

Deno.test("overwrite (write_backward): snapshot returns the newest intact records oldest first", () => {
  const ring = createRingMemory(4096, { overwrite: true });
  const w = new RingWriter(ring);
  for (let i = 0; i < 500; i++) w.write(patternRecord(i, 40 + 8 * (i % 5)));
  assert.equal(loadBackwardWritten(ring.pageWords), w.head);
  const snap = snapshotOverwrite(ring);
  const v = new DataView(snap.bytes.buffer);
  const seqs: number[] = [];
  for (let p = 0; p < snap.bytes.length;) {
    const size = v.getUint16(p + 6, true);
    seqs.push(checkPattern(v, p, size));
    p += size;
  }
  assert.equal(seqs.at(-1), 499);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1);
  assert.ok(snap.bytes.length > 4096 - 80 && snap.bytes.length <= 4096);
  // Accounting: overwrite mode never drops; every record written is in the
  // snapshot or was overwritten by newer ones (exactly those older than seqs[0]).
  assert.equal(snap.records, seqs.length);
  assert.equal(w.stats.dropped, 0);
  assert.equal(w.stats.attempted, w.stats.committed);
  const overwritten = seqs[0];
  assert.equal(w.stats.attempted, snap.records + overwritten, "written = read + overwritten");
  let olderBytes = 0;
  for (let i = 0; i < overwritten; i++) olderBytes += 40 + 8 * (i % 5);
  assert.equal(olderBytes + snap.bytes.length, w.head, "overwritten bytes = head - snapshot");
});

Deno.test("overwrite reader never returns a torn record under randomized schedules", () => {
  let taken = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const random = rng(seed);
    const ring = createRingMemory(4096, { overwrite: true });
    const w = new RingWriter(ring);
    let seq = 0;
    const burst = () => {
      const n = Math.floor(random() * 4);
      for (let i = 0; i < n; i++) {
        const size = 16 + 8 * Math.floor(random() * 60);
        if (random() < 0.3 && w.nest < 6) {
          // a reservation left half-written while the reader runs (an interrupted writer)
          const h = w.reserve(size);
          const half = patternRecord(seq++, size).subarray(0, size / 2);
          new Uint8Array(w.viewOf(h).buffer, w.viewOf(h).byteOffset).set(half, w.offsetOf(h));
          pending.push({ h, rec: patternRecord(seq - 1, size) });
        } else {
          w.write(patternRecord(seq++, size));
        }
      }
    };
    const pending: { h: number; rec: Uint8Array }[] = [];
    for (let i = 0; i < 200; i++) w.write(patternRecord(seq++, 16 + 8 * Math.floor(random() * 60)));
    const snap = snapshotOverwrite(ring, {
      onStep: () => {
        if (random() < 0.5) burst();
      },
    });
    const v = new DataView(snap.bytes.buffer);
    const seqs: number[] = [];
    for (let p = 0; p < snap.bytes.length;) {
      const size = v.getUint16(p + 6, true);
      const s = checkPattern(v, p, size);
      assert.ok(s >= 0, `seed ${seed}: torn record at ${p}`);
      seqs.push(s);
      p += size;
    }
    // Accounting: the snapshot holds exactly the newest records published
    // when it started (the 200 written before it), oldest first; the rest of
    // those 200 were overwritten or could not be proven intact.
    assert.equal(snap.records, seqs.length);
    taken += seqs.length;
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => 200 - seqs.length + i));
    while (pending.length) {
      const { h, rec } = pending.pop()!;
      new Uint8Array(w.viewOf(h).buffer, w.viewOf(h).byteOffset).set(rec, w.offsetOf(h));
      w.commit();
    }
    assert.equal(w.nest, 0);
    assert.equal(w.stats.attempted, seq, `seed ${seed}: every record written was attempted`);
    assert.equal(w.stats.dropped, 0, `seed ${seed}: overwrite mode never drops`);
    assert.equal(w.stats.attempted, w.stats.committed + w.stats.dropped);
    const last = snapshotOverwrite(ring);
    const lastSeqs: number[] = [];
    const lv = new DataView(last.bytes.buffer);
    for (let p = 0; p < last.bytes.length; p += lv.getUint16(p + 6, true)) {
      lastSeqs.push(checkPattern(lv, p, lv.getUint16(p + 6, true)));
    }
    assert.ok(last.records > 0, `seed ${seed}: final snapshot`);
    assert.ok(lastSeqs.every((s) => s >= 0 && s < seq), `seed ${seed}: final snapshot records`);
    assert.equal(new Set(lastSeqs).size, lastSeqs.length, `seed ${seed}: no record twice`);
  }
  assert.ok(taken > 200 * 3, `only ${taken} records in 200 snapshots`);
});

Deno.test("SharedArrayBuffer ring read by a real Worker: written = read + lost", async () => {
  const ring = createRingMemory(16384, { shared: true });
  const w = new RingWriter(ring, { lostId: 1 });
  const worker = new Worker(new URL("./worker_fixture_test.ts", import.meta.url).href, {
    type: "module",
  });
  const done = new Promise<{ read: number; lost: number; bad: number }>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
  });
  worker.postMessage(ring.buffer);
  const total = 200_000;
  for (let i = 0; i < total; i++) w.write(patternRecord(i, 16 + 8 * (i % 13)));
  // end marker (type 0x4cf1) once room returns, after reporting pending drops
  const end = new Uint8Array(16);
  new DataView(end.buffer).setUint32(0, 0x4cf1, true);
  new DataView(end.buffer).setUint16(6, 16, true);
  const deadline = Date.now() + 10_000;
  while (!w.flushLost() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  while (w.head - loadTail(ring) > 16384 - 64 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.ok(w.write(end));
  const res = await done;
  worker.terminate();
  assert.equal(res.bad, 0);
  assert.equal(w.stats.attempted - 1, res.read + res.lost, "written = read + lost");
  assert.equal(res.lost, w.stats.dropped);
  assert.ok(attachRingMemory(ring.buffer).dataSize === 16384);
});
