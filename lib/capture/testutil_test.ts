// Shared helpers for the capture tests.
import { AttrFlag, defaultAttr, RecordType } from "../abi/mod.ts";
import {
  decodeFragment,
  encodeSymbolRecord,
  fragmentEventKey,
  type SymbolRecord,
} from "../abi/extensions.ts";
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

/** Extra content of a {@linkcode makeCapture} capture. */
export interface CaptureExtras {
  /** `CALLRING_SYMBOL` records written into CPU 0's ring before the samples. */
  symbols?: SymbolRecord[];
}

/** A 2-CPU capture with fragmented samples crossing CPUs, drops, and sync records. */
export async function makeCapture(
  samples: number,
  seed = 1,
  maxChunk = 2048,
  extras: CaptureExtras = {},
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
  for (const sym of extras.symbols ?? []) writers[0].write(encodeSymbolRecord(sym), t);
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

/** One record of a capture, located by a direct walk of the file (no reader). */
export interface RawRecord {
  /** Record type. */
  type: number;
  /** CPU stream. */
  cpu: number;
  /** Stream position. */
  position: number;
  /** Fragmented event key of a head sample or fragment (fragmentEventKey), else -1. */
  key: number;
  /** LOST count of a LOST record, else 0. */
  lost: number;
}

/** One chunk of a capture, walked directly. */
export interface RawChunk {
  /** File offset of the chunk header. */
  fileOffset: number;
  /** One past the last payload byte. */
  end: number;
  /** CPU. */
  cpu: number;
  /** Stream position of the payload. */
  position: number;
  /** Payload length. */
  length: number;
  /** Records of the payload. */
  records: RawRecord[];
  /** Records a reader counts in `streamRecords` (sync and LOST excluded). */
  streamRecords: number;
  /** Sum of LOST counts. */
  lost: number;
}

/**
 * Walk an undamaged capture chunk by chunk (sample layout of SAMPLE_TYPE:
 * cpu at 32, cpu.res at 36).
 */
export function rawChunks(bytes: Uint8Array): RawChunk[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawChunk[] = [];
  for (let p = v.getUint32(12, true); p < bytes.length;) {
    const cpu = v.getUint32(p + 8, true);
    const length = v.getUint32(p + 12, true);
    const position = v.getUint32(p + 24, true) + v.getUint32(p + 28, true) * 2 ** 32;
    const chunk: RawChunk = {
      fileOffset: p,
      end: p + 64 + length,
      cpu,
      position,
      length,
      records: [],
      streamRecords: 0,
      lost: 0,
    };
    for (let q = p + 64; q < chunk.end;) {
      const type = v.getUint32(q, true);
      const size = v.getUint16(q + 6, true);
      let key = -1;
      let lost = 0;
      if (type === RecordType.SAMPLE && v.getUint32(q + 36, true) !== 0) {
        key = fragmentEventKey(v.getUint32(q + 32, true), v.getUint32(q + 36, true));
      } else if (type === RecordType.CALLRING_FRAGMENT) {
        key = decodeFragment(v, q).eventKey;
      } else if (type === RecordType.LOST) {
        lost = v.getUint32(q + 16, true) + v.getUint32(q + 20, true) * 2 ** 32;
      }
      if (type !== RecordType.CALLRING_SYNC && type !== RecordType.LOST) chunk.streamRecords++;
      chunk.lost += lost;
      chunk.records.push({ type, cpu, position: position + (q - p - 64), key, lost });
      q += size;
    }
    out.push(chunk);
    p = chunk.end;
  }
  return out;
}

/** Per-CPU sums of `streamRecords` and `lost` over chunks. */
export function streamTotals(chunks: RawChunk[]): Map<number, { records: number; lost: number }> {
  const m = new Map<number, { records: number; lost: number }>();
  for (const c of chunks) {
    const t = m.get(c.cpu) ?? { records: 0, lost: 0 };
    t.records += c.streamRecords;
    t.lost += c.lost;
    m.set(c.cpu, t);
  }
  return m;
}
