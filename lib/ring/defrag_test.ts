import assert from "node:assert/strict";
import { RecordType } from "../abi/mod.ts";
import { Defragmenter, type StreamRecord } from "./defrag.ts";
import { createRingMemory } from "./layout.ts";
import { RingReader } from "./reader.ts";
import { SampleWriter } from "./sample_writer.ts";
import { RingWriter } from "./writer.ts";
import { chain, fields, FORMAT, rng, SAMPLE_TYPE } from "./testutil_test.ts";

function makeEvents(n: number): StreamRecord[] {
  const ring = createRingMemory(1 << 20);
  const w = new RingWriter(ring, { cpu: 3 });
  const sw = new SampleWriter(w, SAMPLE_TYPE, { headEntries: 4, fragmentEntries: 3 });
  for (let i = 0; i < n; i++) sw.write(fields(i, 3), chain(4 + (i % 10), i), 4 + (i % 10));
  const recs: StreamRecord[] = [];
  new RingReader(ring).read((v, off, size, position) =>
    recs.push({
      bytes: new Uint8Array(v.buffer, v.byteOffset + off, size).slice(),
      cpu: 3,
      time: 0,
      position,
    })
  );
  return recs;
}

function run(recs: StreamRecord[], maxPendingEvents = 4096): { d: Defragmenter; samples: number } {
  const d = new Defragmenter(FORMAT, { maxPendingEvents });
  let samples = 0;
  for (const r of recs) {
    d.push(r);
    for (let x = d.pop(); x; x = d.pop()) samples++;
  }
  d.finish();
  for (let x = d.pop(); x; x = d.pop()) samples++;
  return { d, samples };
}

Deno.test("defragmenter tolerates shuffles, duplicates and missing pieces; incomplete events are counted", () => {
  const clean = makeEvents(200);
  const random = rng(11);
  for (let trial = 0; trial < 30; trial++) {
    const recs = clean.slice();
    for (let i = recs.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [recs[i], recs[j]] = [recs[j], recs[i]];
    }
    const dups = recs.filter(() => random() < 0.1);
    let missing = 0;
    const keep = recs.filter((r) => {
      const frag = new DataView(r.bytes.buffer).getUint32(0, true) === RecordType.CALLRING_FRAGMENT;
      if (frag && random() < 0.05) {
        missing++;
        return false;
      }
      return true;
    }).concat(dups);
    const { d, samples } = run(keep);
    const fragmentedEvents = 200 - 20; // depth-4 events (i % 10 == 0) are not fragmented
    assert.equal(d.stats.completed + d.stats.incomplete, fragmentedEvents);
    assert.ok(missing === 0 || d.stats.incomplete > 0);
    assert.ok(d.stats.incomplete <= missing);
    const plainDups = dups.filter((r) => {
      const v = new DataView(r.bytes.buffer);
      return v.getUint32(0, true) === RecordType.SAMPLE && v.getUint32(36, true) === 0;
    }).length;
    assert.equal(samples, 20 + plainDups + d.stats.completed);
  }
});

Deno.test("defragmenter bounds pending events", () => {
  const recs = makeEvents(100).filter((r) => {
    const v = new DataView(r.bytes.buffer);
    return !(v.getUint32(0, true) === RecordType.CALLRING_FRAGMENT && v.getUint32(20, true) & 2);
  }); // drop every LAST fragment: nothing can complete
  const d = new Defragmenter(FORMAT, { maxPendingEvents: 5 });
  for (const r of recs) {
    d.push(r);
    assert.ok(d.pendingEvents <= 5);
    while (d.pop());
  }
  d.finish();
  assert.equal(d.stats.incomplete, 90);
  assert.equal(d.stats.completed, 0);
});

Deno.test("defragmenter passes malformed records on instead of throwing (fuzz finds)", () => {
  const recs = makeEvents(20);
  // a SAMPLE cut to its header only, and a fragment whose index is beyond its event's pieces
  const short: StreamRecord = { ...recs[0], bytes: recs[0].bytes.slice(0, 8) };
  new DataView(short.bytes.buffer).setUint16(6, 8, true);
  const fragIdx = recs.findIndex((r) =>
    new DataView(r.bytes.buffer).getUint32(0, true) === RecordType.CALLRING_FRAGMENT
  );
  const frag = recs[fragIdx].bytes.slice();
  new DataView(frag.buffer).setUint32(16, 9, true); // index 9
  const mutated = [short, ...recs.slice(1)];
  mutated[fragIdx] = { ...recs[fragIdx], bytes: frag };
  const { d, samples } = run(mutated);
  assert.ok(d.stats.malformed >= 1, "the short sample is counted malformed");
  // every record comes out: the short one as is, the event with the bad index incomplete
  assert.ok(samples >= 19);
  assert.ok(d.stats.incomplete >= 1);
});
