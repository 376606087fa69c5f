/**
 * Ring writer and reader speed, and the byte overhead of continuation
 * fragments.
 *
 * Usage:
 *   deno run -A bench/ring.ts [--quick] [--records N] [--rounds N]
 *
 * Prints:
 *   - writer ns per record: `SampleWriter.write` of a 16-deep callchain sample
 *     (IP|TID|TIME|CPU|PERIOD|CALLCHAIN, 184 bytes) through `RingWriter`
 *     reserve/commit, on a 4 MiB consume ring drained (`RingReader.drain`, a
 *     no-op sink) every 10 000 records so nothing is dropped (the dropped count
 *     is checked and printed), on an ArrayBuffer ring, a SharedArrayBuffer
 *     ring and an overwrite ring; best and median of the rounds;
 *   - the writer against the seed's anchors (LTTng 83 ns/entry, ftrace 103,
 *     perf 423; measured elsewhere on other machines, so only indicative);
 *   - reader GB/s: `RingReader.drain` over a full 16 MiB ring whose sink reads
 *     every record's header and sums every payload u32, and `RingReader.read`
 *     (one callback per record, header only) for comparison;
 *   - the fragment byte-overhead table for depths 8, 16, 64, 255, 1024
 *     (as printed by lib/ring/sample_writer_test.ts).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SampleType } from "../lib/abi/mod.ts";
import { createRingMemory } from "../lib/ring/layout.ts";
import { RingReader } from "../lib/ring/reader.ts";
import { type SampleFields, SampleWriter } from "../lib/ring/sample_writer.ts";
import { RingWriter } from "../lib/ring/writer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    records: { type: "string" },
    rounds: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("Usage: deno run -A bench/ring.ts [--quick] [--records N] [--rounds N]");
  Deno.exit(0);
}

const RECORDS = Number(values.records ?? (values.quick ? 500_000 : 2_000_000));
const ROUNDS = Number(values.rounds ?? (values.quick ? 5 : 11));
const BATCH = 10_000;
const DEPTH = 16;
const ANCHORS: [string, number][] = [["LTTng", 83], ["ftrace", 103], ["perf", 423]];
const SAMPLE_TYPE = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CPU |
  SampleType.PERIOD | SampleType.CALLCHAIN;

const callchain = new Uint32Array(2 * 1024);
for (let i = 0; i < 1024; i++) {
  callchain[2 * i] = 0x81000000 + i * 64;
  callchain[2 * i + 1] = 0xffffffff;
}
const fields: SampleFields = {
  misc: 1,
  ipLo: 0x81000000,
  ipHi: 0xffffffff,
  pid: 1,
  tid: 1,
  time: 1_000_000,
  id: 0,
  cpu: 0,
  period: 1,
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

interface WriterResult {
  name: string;
  best: number;
  median: number;
  records: number;
  dropped: number;
  bytesPerRecord: number;
}

function benchWriter(name: string, shared: boolean, overwrite: boolean): WriterResult {
  const ring = createRingMemory(1 << 22, { shared, overwrite });
  const writer = new RingWriter(ring);
  const reader = overwrite ? undefined : new RingReader(ring);
  const sw = new SampleWriter(writer, SAMPLE_TYPE);
  const noop = () => {};
  const batches = Math.max(1, Math.round(RECORDS / BATCH));
  const perRecord: number[] = [];
  // Round 0 warms up (JIT tiers); it is not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < BATCH; i++) {
        fields.time += 37;
        sw.write(fields, callchain, DEPTH);
      }
      reader?.drain(noop);
    }
    const ns = (performance.now() - t0) * 1e6 / (batches * BATCH);
    if (round > 0) perRecord.push(ns);
  }
  return {
    name,
    best: Math.min(...perRecord),
    median: median(perRecord),
    records: writer.stats.attempted,
    dropped: writer.stats.dropped,
    bytesPerRecord: sw.sampleSize(DEPTH),
  };
}

const writers = [
  benchWriter("consume, ArrayBuffer", false, false),
  benchWriter("consume, SharedArrayBuffer", true, false),
  benchWriter("overwrite, ArrayBuffer", false, true),
];

console.log(
  `writer: SampleWriter.write, ${DEPTH}-deep callchain sample (${
    writers[0]!.bytesPerRecord
  } B), ${ROUNDS} rounds of ${RECORDS} records`,
);
console.log(
  "ring".padEnd(28),
  "best ns/rec".padStart(12),
  "median".padStart(8),
  "M rec/s".padStart(8),
  "records".padStart(10),
  "dropped".padStart(8),
);
for (const r of writers) {
  console.log(
    r.name.padEnd(28),
    r.best.toFixed(1).padStart(12),
    r.median.toFixed(1).padStart(8),
    (1e3 / r.median).toFixed(1).padStart(8),
    String(r.records).padStart(10),
    String(r.dropped).padStart(8),
  );
}
const main = writers[0]!;
const goal = 80;
console.log(
  `goal <= ${goal} ns/record: ${
    main.median <= goal ? "met" : "NOT met"
  } (consume, ArrayBuffer, median ${main.median.toFixed(1)} ns)`,
);
console.log(
  "anchors (seed; other tracers, other machines, ns per entry; ours / anchor, < 1 = faster):",
);
for (const [name, ns] of ANCHORS) {
  console.log(
    `  vs ${name.padEnd(6)} ${String(ns).padStart(3)} ns: ${
      writers.map((r) => `${r.name} ${(r.median / ns).toFixed(2)}x`).join(", ")
    }`,
  );
}
const dropped = writers.reduce((a, r) => a + r.dropped, 0);
if (dropped !== 0) {
  console.error(`error: ${dropped} records dropped during the writer benchmark`);
  Deno.exitCode = 1;
}

// Reader: fill a 16 MiB ring, then time draining it.
{
  const size = 1 << 24;
  const ring = createRingMemory(size);
  const writer = new RingWriter(ring);
  const sw = new SampleWriter(writer, SAMPLE_TYPE);
  const reader = new RingReader(ring);
  const n = Math.floor((size - 1) / sw.sampleSize(DEPTH));
  let sum = 0;
  let headers = 0;
  // Payload bytes of a record that continues in the next piece (wrap-around).
  let carry = 0;
  const walk = (bytes: Uint8Array) => {
    const u = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    const end = u.length;
    let p = 0;
    if (carry) {
      const stop = Math.min(carry >> 2, end);
      for (; p < stop; p++) sum = (sum + u[p]!) | 0;
      carry -= stop << 2;
    }
    while (p < end) {
      // Records start 8-aligned and the ring splits at its end, so a header is never split.
      const type = u[p]!;
      const words = u[p + 1]! >>> 18; // header.size / 4
      if (words < 2) throw new Error(`impossible record size at word ${p}`);
      headers++;
      sum = (sum + type) | 0;
      const stop = Math.min(p + words, end);
      for (let i = p + 2; i < stop; i++) sum = (sum + u[i]!) | 0;
      carry = (p + words - stop) << 2;
      p += words;
    }
  };
  const drainGBs: number[] = [];
  const readGBs: number[] = [];
  let expectHeaders = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    for (let i = 0; i < n; i++) sw.write(fields, callchain, DEPTH);
    expectHeaders += n;
    const t0 = performance.now();
    const bytes = reader.drain(walk);
    const ms = performance.now() - t0;
    if (round > 0) drainGBs.push(bytes / ms / 1e6);
    for (let i = 0; i < n; i++) sw.write(fields, callchain, DEPTH);
    const t1 = performance.now();
    const before = reader.bytes;
    reader.read((v, off) => {
      sum = (sum + v.getUint32(off + 4, true)) | 0;
    });
    const ms1 = performance.now() - t1;
    if (round > 0) readGBs.push((reader.bytes - before) / ms1 / 1e6);
  }
  if (headers !== expectHeaders || carry !== 0 || writer.stats.dropped !== 0) {
    throw new Error(
      `reader walk saw ${headers} of ${expectHeaders} records (carry ${carry}, dropped ${writer.stats.dropped})`,
    );
  }
  console.log(
    `\nreader: full 16 MiB ring of ${n} ${DEPTH}-deep samples, ${ROUNDS} rounds (sum ${sum >>> 0})`,
  );
  console.log(
    `  drain + walk (every header, every payload u32)  median ${
      median(drainGBs).toFixed(2)
    } GB/s, best ${Math.max(...drainGBs).toFixed(2)} GB/s`,
  );
  console.log(
    `  read (callback per record, header only)        median ${
      median(readGBs).toFixed(2)
    } GB/s, best ${Math.max(...readGBs).toFixed(2)} GB/s`,
  );
}

// Fragment byte overhead, as in lib/ring/sample_writer_test.ts.
function overhead(depth: number, headEntries: number, fragmentEntries: number) {
  const ring = createRingMemory(1 << 20);
  const w = new RingWriter(ring);
  const sw = new SampleWriter(w, SAMPLE_TYPE, { headEntries, fragmentEntries });
  sw.write(fields, callchain, depth);
  return { bytes: w.head, contiguous: sw.sampleSize(depth) };
}
console.log("\nfragment byte overhead of one sample (bytes written to the ring)");
console.log(
  "depth".padStart(5),
  "contiguous B".padStart(13),
  "head128 + 1024-entry frags B".padStart(30),
  "one u64 per fragment B (head8)".padStart(32),
);
for (const depth of [8, 16, 64, 255, 1024]) {
  const chunked = overhead(depth, 128, 1024);
  const single = overhead(depth, Math.min(8, depth), 1);
  console.log(
    String(depth).padStart(5),
    String(chunked.contiguous).padStart(13),
    `${chunked.bytes} (+${((chunked.bytes / chunked.contiguous - 1) * 100).toFixed(1)}%)`
      .padStart(30),
    `${single.bytes} (x${(single.bytes / single.contiguous).toFixed(2)})`.padStart(32),
  );
}
console.log(
  "(one u64 per fragment = Peter's estimate of 3x bloat; each fragment record is a 32 B header + one 8 B entry)",
);
