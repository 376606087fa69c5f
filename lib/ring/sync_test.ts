import assert from "node:assert/strict";
import fc from "fast-check";
import { RecordType } from "../abi/mod.ts";
import { SYNC_RECORD_SIZE } from "../abi/extensions.ts";
import { createRingMemory } from "./layout.ts";
import { RingReader } from "./reader.ts";
import { findNextSync } from "./sync.ts";
import { RingWriter } from "./writer.ts";
import { patternRecord, rng } from "./testutil_test.ts";

const MAX_EVENT = 1024;

function stream(
  seed: number,
  syncDistance: number,
  n: number,
): { bytes: Uint8Array; starts: number[] } {
  const random = rng(seed);
  const ring = createRingMemory(1 << 16);
  const w = new RingWriter(ring, { cpu: 2, syncDistance });
  const r = new RingReader(ring);
  const parts: Uint8Array[] = [];
  const starts: number[] = [];
  for (let i = 0; i < n; i++) {
    w.write(patternRecord(i, 8 * (2 + Math.floor(random() * (MAX_EVENT / 8 - 2)))), i * 10);
    if (i % 20 === 19) {
      r.read((v, off, size, pos) => {
        starts.push(pos);
        parts.push(new Uint8Array(v.buffer, v.byteOffset + off, size).slice());
      });
    }
  }
  r.read((v, off, size, pos) => {
    starts.push(pos);
    parts.push(new Uint8Array(v.buffer, v.byteOffset + off, size).slice());
  });
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, starts };
}

Deno.test("sync points: sync records start at most sync-distance bytes apart", () => {
  const { bytes, starts } = stream(1, 4096, 2000);
  const v = new DataView(bytes.buffer);
  let last = -1;
  for (const s of starts) {
    if (v.getUint32(s, true) !== RecordType.CALLRING_SYNC) continue;
    if (last >= 0) assert.ok(s - last <= 4096, `gap ${s - last}`);
    last = s;
  }
  assert.ok(last > 0);
});

Deno.test("property: from every byte offset, resync within sync-distance + max-event-size and identical records after", () => {
  for (const distance of [512 + MAX_EVENT, 4096]) {
    const { bytes, starts } = stream(distance, distance, 400);
    const startSet = new Set(starts);
    const bound = distance + MAX_EVENT;
    let checked = 0;
    for (let from = 0; from < bytes.length - bound; from += 1) {
      const res = findNextSync(bytes, from, 0);
      assert.ok(res.offset >= from, `no sync after ${from}`);
      assert.ok(res.scanned <= bound, `scanned ${res.scanned} > ${bound} from ${from}`);
      assert.ok(startSet.has(res.offset), `resync at ${res.offset} is not a record start`);
      checked++;
    }
    assert.ok(checked > 10_000);
  }
});

Deno.test("property (fast-check): payload holding a copied sync record is not accepted at the wrong offset", () => {
  const { bytes } = stream(5, 2048, 300);
  const first = findNextSync(bytes, 0, 0);
  const syncCopy = bytes.slice(first.offset, first.offset + SYNC_RECORD_SIZE);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), (slot) => {
      const forged = bytes.slice();
      const at = first.offset + slot * 8 + SYNC_RECORD_SIZE;
      if (at + SYNC_RECORD_SIZE > forged.length) return true;
      forged.set(syncCopy, at); // same bytes, wrong place
      const res = findNextSync(forged, first.offset + 8, 0);
      return res.offset !== at;
    }),
    { numRuns: 200 },
  );
});
