// Shared helpers for the capture tests.
import { AttrFlag, defaultAttr } from "../abi/mod.ts";
import { createRingMemory } from "../ring/layout.ts";
import { RingReader } from "../ring/reader.ts";
import { SampleWriter } from "../ring/sample_writer.ts";
import { RingWriter } from "../ring/writer.ts";
import { chain, fields, rng, SAMPLE_TYPE } from "../ring/testutil_test.ts";
import { type CaptureSink, CaptureWriter } from "./writer.ts";

export function memorySink(): CaptureSink & { bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    write(b: Uint8Array): Promise<void> {
      parts.push(b.slice());
      return Promise.resolve();
    },
    close(): void {},
    bytes(): Uint8Array {
      const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    },
  };
}

export const ATTR = defaultAttr({
  type: 1,
  sampleType: SAMPLE_TYPE,
  samplePeriod: 1000,
  flags: 2 ** AttrFlag.sampleIdAll,
});

/** A 2-CPU capture with fragmented samples crossing CPUs, drops, and sync records. */
export async function makeCapture(
  samples: number,
  seed = 1,
  maxChunk = 2048,
): Promise<{ bytes: Uint8Array; written: number[] }> {
  const random = rng(seed);
  const rings = [0, 1].map(() => createRingMemory(1 << 14));
  const writers = rings.map((r, cpu) =>
    new RingWriter(r, {
      cpu,
      lostId: 7,
      sampleType: SAMPLE_TYPE,
      sampleIdAll: true,
      syncDistance: 4096,
    })
  );
  const readers = rings.map((r) => new RingReader(r));
  const sws = writers.map((w, cpu) =>
    new SampleWriter(w, SAMPLE_TYPE, {
      headEntries: 16,
      fragmentEntries: 40,
      fragmentWriter: (i) => writers[(cpu + i) % 2],
    })
  );
  const sink = memorySink();
  const cw = await CaptureWriter.create(sink, {
    events: [{ attr: ATTR, ids: [7, 8] }],
    cpus: 2,
    clockid: 1,
    startTime: 0,
    syncDistance: 4096,
    maxChunk,
  });
  let t = 1000;
  for (let i = 0; i < samples; i++) {
    const cpu = random() < 0.5 ? 0 : 1;
    const depth = random() < 0.1 ? 17 + Math.floor(random() * 100) : 1 + Math.floor(random() * 16);
    t += 1 + Math.floor(random() * 50);
    sws[cpu].write(fields(t, cpu), chain(depth, i), depth);
    if (random() < 0.02) {
      for (let c = 0; c < 2; c++) {
        writers[c].flushLost(t);
        await cw.drainRing(c, readers[c]);
      }
      cw.endRound();
    }
  }
  for (let c = 0; c < 2; c++) {
    writers[c].flushLost(t);
    await cw.drainRing(c, readers[c]);
  }
  await cw.close();
  return { bytes: sink.bytes(), written: writers.map((w) => w.stats.attempted) };
}
