// Ring micro benchmarks: writer time per 16-deep callchain sample (seed anchors:
// LTTng 83 ns/entry, ftrace 103, perf 423; goal <= 80 ns), reader throughput,
// and writer time per callchain depth. Every writer bench drains its ring
// (RingReader.drain, O(1)) after each iteration and throws if a record was
// dropped. Run: deno bench -A lib/ring/ring_bench.ts
// bench/ring.ts prints ns per record, GB/s and the fragment overhead table.
import { SampleType } from "../abi/mod.ts";
import { createRingMemory } from "./layout.ts";
import { RingReader } from "./reader.ts";
import { type SampleFields, SampleWriter } from "./sample_writer.ts";
import { RingWriter } from "./writer.ts";

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
  time: 0,
  id: 0,
  cpu: 0,
  period: 1,
};

const BATCH = 10_000;
const noop = () => {};

/** Throw when a benchmark dropped records (its ring was too small). */
function checkNoDrops(writer: RingWriter, what: string): void {
  if (writer.stats.dropped !== 0) {
    throw new Error(
      `${what}: ${writer.stats.dropped} of ${writer.stats.attempted} records dropped`,
    );
  }
}

for (const mode of ["consume", "overwrite"] as const) {
  const ring = createRingMemory(1 << 22, { overwrite: mode === "overwrite" });
  const writer = new RingWriter(ring);
  const reader = mode === "consume" ? new RingReader(ring) : undefined;
  const sw = new SampleWriter(writer, SAMPLE_TYPE);
  Deno.bench({
    name: `writer: 16-deep callchain sample (${mode}), ${BATCH} records/iter`,
    group: "writer",
    baseline: mode === "consume",
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        fields.time++;
        sw.write(fields, callchain, 16);
      }
      reader?.drain(noop);
      checkNoDrops(writer, mode);
    },
  });
}

{
  const ring = createRingMemory(1 << 24);
  const writer = new RingWriter(ring);
  const sw = new SampleWriter(writer, SAMPLE_TYPE);
  const reader = new RingReader(ring);
  const n = Math.floor(((1 << 24) - 1) / sw.sampleSize(16));
  Deno.bench({
    name: `reader: walk 16 MiB of 16-deep samples (${n} records)`,
    group: "reader",
    fn: (b) => {
      for (let i = 0; i < n; i++) sw.write(fields, callchain, 16);
      let sum = 0;
      b.start();
      reader.read((v, off) => {
        sum += v.getUint32(off + 6, true);
      });
      b.end();
      if (sum === 0) throw new Error("nothing read");
    },
  });
}

for (const depth of [8, 16, 64, 255, 1024]) {
  const SAMPLES = 1000;
  // Room for one iteration's samples (head + fragments): 16 MiB at depth 1024.
  const probe = new SampleWriter(new RingWriter(createRingMemory(1 << 20)), SAMPLE_TYPE);
  const perIter = SAMPLES *
    (probe.sampleSize(depth) + 32 * Math.ceil(Math.max(0, depth - 128) / 1024));
  let size = 1 << 22;
  while (size - 1 < perIter) size *= 2;
  const ring = createRingMemory(size);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  const sw = new SampleWriter(writer, SAMPLE_TYPE, { headEntries: 128, fragmentEntries: 1024 });
  Deno.bench({
    name: `writer: depth ${depth} (fragments past 128 entries), ${SAMPLES} samples/iter, ${
      size >> 20
    } MiB ring`,
    group: "depth",
    fn: () => {
      for (let i = 0; i < SAMPLES; i++) sw.write(fields, callchain, depth);
      reader.drain(noop);
      checkNoDrops(writer, `depth ${depth}`);
    },
  });
}
