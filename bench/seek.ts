/**
 * Generates a >= 1 GiB capture in a temp dir (streamed to disk, bounded
 * memory; 256 MiB with --quick), seeks to a time by searching the chunk
 * headers, prints the bytes the seek read (goal <= 64 KB), then deletes the
 * file.
 *
 *     deno run -A bench/seek.ts [--quick] [--gb 1]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { AttrFlag, defaultAttr, SampleType } from "../lib/abi/mod.ts";
import { captureFileSource, CaptureReader, type CaptureSource } from "../lib/capture/reader.ts";
import { captureFileSink, CaptureWriter } from "../lib/capture/writer.ts";
import { createRingMemory } from "../lib/ring/layout.ts";
import { RingReader } from "../lib/ring/reader.ts";
import { type SampleFields, SampleWriter } from "../lib/ring/sample_writer.ts";
import { RingWriter } from "../lib/ring/writer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { quick: { type: "boolean", default: false }, gb: { type: "string" } },
});
const target = Number(values.gb ?? (values.quick ? "0.25" : "1")) * 2 ** 30;
const CPUS = 4;
const SAMPLE_TYPE = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CPU |
  SampleType.PERIOD | SampleType.CALLCHAIN;
const attr = defaultAttr({
  type: 1,
  sampleType: SAMPLE_TYPE,
  samplePeriod: 1,
  flags: 2 ** AttrFlag.sampleIdAll,
});

const dir = await Deno.makeTempDir({ prefix: "callring-seek-" });
const path = `${dir}/big.capture`;
try {
  const rings = Array.from({ length: CPUS }, () => createRingMemory(1 << 20));
  const writers = rings.map((r, cpu) => new RingWriter(r, { cpu, syncDistance: 4096 }));
  const readers = rings.map((r) => new RingReader(r));
  const sws = writers.map((w) => new SampleWriter(w, SAMPLE_TYPE));
  const cw = await CaptureWriter.create(await captureFileSink(path), {
    events: [{ attr, ids: [] }],
    cpus: CPUS,
    clockid: 1,
    startTime: Date.now() * 1e6,
    syncDistance: 4096,
    maxChunk: 4096,
  });
  const chain = new Uint32Array(2 * 32);
  for (let i = 0; i < 32; i++) [chain[2 * i], chain[2 * i + 1]] = [0x81000000 + 64 * i, 0xffffffff];
  const f: SampleFields = {
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
  let time = 1_000_000;
  const t0 = performance.now();
  while (cw.stats.bytes < target) {
    for (let i = 0; i < 4000; i++) {
      const cpu = i % CPUS;
      f.cpu = cpu;
      f.time = time += 37;
      sws[cpu].write(f, chain, 8 + (i % 25));
    }
    for (let c = 0; c < CPUS; c++) await cw.drainRing(c, readers[c]);
    cw.endRound();
  }
  await cw.close();
  const genSec = (performance.now() - t0) / 1000;
  const size = (await Deno.stat(path)).size;
  console.log(
    `generated ${(size / 2 ** 30).toFixed(2)} GiB in ${genSec.toFixed(1)} s (${
      (size / 2 ** 20 / genSec).toFixed(0)
    } MiB/s), last time ${time}`,
  );

  const reader = await CaptureReader.open(path);
  let failures = 0;
  for (const frac of [0.001, 0.37, 0.5, 0.999]) {
    // off the 37 ns sample grid, so landing "just after" is tested too
    const want = 1_000_000 + Math.floor((time - 1_000_000) * frac) + 5;
    const res = await reader.seekTime(want);
    // Did it land right? Read on from the offset found (a 2 MiB window is plenty) and check
    // that the first record delivered is the first sample at or after the target time.
    const first = await firstRecordTime(path, res.offset, want);
    const expected = 1_000_000 + Math.ceil((want - 1_000_000) / 37) * 37;
    const landed = first === expected;
    const small = res.bytesRead <= 65536;
    if (!landed || !small) failures++;
    console.log(
      `seek t=${want} (${frac * 100}%): ${res.probes} probes, ${res.bytesRead} bytes read (${
        small ? "<=" : ">"
      } 64 KB); first record t=${first} ${
        landed ? "= the first sample at/after t" : `!= ${expected} WRONG`
      }`,
    );
  }
  reader.close();
  if (failures) {
    console.log(`${failures} seek(s) read more than 64 KB or landed wrong`);
    Deno.exitCode = 1;
  }
} finally {
  await Deno.remove(dir, { recursive: true });
  console.log("deleted", "the temporary capture");
}

/**
 * The time of the first record a read from `offset` with `minTime` delivers, reading at most a
 * 2 MiB window of the file (the source ends there).
 */
async function firstRecordTime(file: string, offset: number, minTime: number): Promise<number> {
  const src = await captureFileSource(file);
  const end = offset + (2 << 20);
  const windowed: CaptureSource = {
    readAt: (buf, position) =>
      position >= end
        ? Promise.resolve(0)
        : src.readAt(buf.subarray(0, Math.min(buf.length, end - position)), position),
    size: async () => Math.min(await src.size(), end),
    close: () => src.close(),
  };
  const r = await CaptureReader.open(windowed);
  let first = -1;
  try {
    await r.read((rec) => {
      if (first < 0) first = rec.time;
    }, { from: offset, minTime });
  } finally {
    r.close();
  }
  return first;
}
