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
import { CaptureReader } from "../lib/capture/reader.ts";
import { CaptureWriter, fileSink } from "../lib/capture/writer.ts";
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
  const cw = await CaptureWriter.create(await fileSink(path), {
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
  for (const frac of [0.001, 0.37, 0.5, 0.999]) {
    const want = 1_000_000 + Math.floor((time - 1_000_000) * frac);
    const res = await reader.seekTime(want);
    console.log(
      `seek t=${want} (${frac * 100}%): ${res.probes} probes, ${res.bytesRead} bytes read (${
        res.bytesRead <= 65536 ? "<=" : ">"
      } 64 KB)`,
    );
  }
  reader.close();
} finally {
  await Deno.remove(dir, { recursive: true });
  console.log("deleted", "the temporary capture");
}
