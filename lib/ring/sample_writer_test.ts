import assert from "node:assert/strict";
import { decodeSample, RecordType } from "../abi/mod.ts";
import { createRingMemory } from "./layout.ts";
import { RingReader } from "./reader.ts";
import { SampleWriter } from "./sample_writer.ts";
import { chain, fields, FORMAT, SAMPLE_TYPE } from "./testutil_test.ts";
import { RingWriter } from "./writer.ts";
import { Defragmenter, type StreamRecord } from "./defrag.ts";

/** Overhead of one event as written: bytes of all its records vs one contiguous sample. */
function overhead(
  depth: number,
  headEntries: number,
  fragmentEntries: number,
): { bytes: number; contiguous: number } {
  const ring = createRingMemory(1 << 20);
  const w = new RingWriter(ring);
  const sw = new SampleWriter(w, SAMPLE_TYPE, { headEntries, fragmentEntries });
  sw.write(fields(1, 0), chain(depth, 1), depth);
  return { bytes: w.head, contiguous: sw.sampleSize(depth) };
}

Deno.test("fragment byte overhead vs one contiguous sample (printed table)", () => {
  const rows: string[] = [
    "depth | contiguous B | head128+1024-entry frags B (+%) | head8+one-entry frags B (x)",
  ];
  for (const depth of [8, 16, 64, 255, 1024]) {
    const chunked = overhead(depth, 128, 1024);
    const single = overhead(depth, Math.min(8, depth), 1);
    if (depth <= 128) assert.equal(chunked.bytes, chunked.contiguous);
    else assert.equal(chunked.bytes, chunked.contiguous + 32 * Math.ceil((depth - 128) / 1024));
    if (depth > 8) assert.equal(single.bytes, single.contiguous + 32 * (depth - 8));
    rows.push(
      `${depth} | ${chunked.contiguous} | ${chunked.bytes} (+${
        ((chunked.bytes / chunked.contiguous - 1) * 100).toFixed(1)
      }%) | ${single.bytes} (x${(single.bytes / single.contiguous).toFixed(2)})`,
    );
  }
  console.log(rows.join("\n"));
});

Deno.test("fragmented samples: head is a valid truncated SAMPLE; fragments on other CPUs reassemble", () => {
  const rings = [0, 1].map(() => createRingMemory(1 << 16));
  const writers = rings.map((r, cpu) => new RingWriter(r, { cpu }));
  const sw = new SampleWriter(writers[0], SAMPLE_TYPE, {
    headEntries: 16,
    fragmentEntries: 50,
    fragmentWriter: (i) => writers[i % 2],
  });
  const depths = [5, 16, 17, 200, 1000];
  for (let i = 0; i < depths.length; i++) {
    sw.write(fields(100 + i, 0), chain(depths[i], i), depths[i]);
    writers[1].write(new Uint8Array([0xf0, 0x4c, 0, 0, 0, 0, 8, 0])); // unrelated record
  }
  const recs: StreamRecord[] = [];
  rings.forEach((ring, cpu) =>
    new RingReader(ring).read((v, off, size, position) =>
      recs.push({
        bytes: new Uint8Array(v.buffer, v.byteOffset + off, size).slice(),
        cpu,
        time: 0,
        position,
      })
    )
  );
  // The first head sample as a plain perf reader sees it: valid, truncated to 16 entries.
  const head = recs.find((r) =>
    new DataView(r.bytes.buffer).getUint32(0, true) === RecordType.SAMPLE &&
    new DataView(r.bytes.buffer).getUint32(48, true) === 16
  )!;
  const s = decodeSample(new DataView(head.bytes.buffer), 0, FORMAT);
  assert.equal(s.callchain!.length, 16);
  // Reassemble with reversed order (fragments before heads).
  const d = new Defragmenter(FORMAT);
  for (const r of recs.reverse()) d.push(r);
  d.finish();
  const out: number[] = [];
  for (let r = d.pop(); r; r = d.pop()) {
    const v = new DataView(r.bytes.buffer);
    if (v.getUint32(0, true) !== RecordType.SAMPLE) continue;
    const smp = decodeSample(v, 0, FORMAT);
    const want = chain(smp.callchain!.length, smp.time! - 100);
    assert.deepEqual(new Uint32Array(smp.callchain!.buffer), want);
    assert.equal(smp.cpuRes, 0);
    out.push(smp.callchain!.length);
  }
  assert.deepEqual(out.sort((a, b) => a - b), [...depths].sort((a, b) => a - b));
  assert.equal(d.stats.completed, 3);
  assert.equal(d.stats.incomplete, 0);
});
