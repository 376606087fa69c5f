// Shared helpers for the ring and capture tests (a _test file so it is not part of the API).
import { RecordType, SampleType } from "../abi/mod.ts";
import type { SampleFields } from "./sample_writer.ts";

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A self-checking record: type 0x4cf0, body words derived from seq; size multiple of 8. */
export function patternRecord(seq: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x4cf0, true);
  v.setUint16(6, size, true);
  for (let p = 8; p + 4 <= size; p += 4) v.setUint32(p, (seq * 2654435761 + p) >>> 0, true);
  if (size >= 12) v.setUint32(8, seq, true);
  return b;
}

/** Check a pattern record; returns its seq or -1 if torn. */
export function checkPattern(v: DataView, off: number, size: number): number {
  if (v.getUint32(off, true) !== 0x4cf0 || v.getUint16(off + 6, true) !== size) return -1;
  if (size < 12) return 0;
  const seq = v.getUint32(off + 8, true);
  for (let p = 12; p + 4 <= size; p += 4) {
    if (v.getUint32(off + p, true) !== ((seq * 2654435761 + p) >>> 0)) return -1;
  }
  return seq;
}

export const PATTERN_TYPE = 0x4cf0;
export const LOST_TYPE: number = RecordType.LOST;

export const SAMPLE_TYPE = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CPU |
  SampleType.PERIOD | SampleType.CALLCHAIN;
export const FORMAT = {
  sampleType: SAMPLE_TYPE,
  readFormat: 0,
  regsUserCount: 0,
  regsIntrCount: 0,
  branchHwIndex: false,
};

export function chain(depth: number, salt: number): Uint32Array {
  const c = new Uint32Array(depth * 2);
  for (let i = 0; i < depth; i++) {
    c[2 * i] = (0x1000 + salt * 4096 + i * 16) >>> 0;
    c[2 * i + 1] = 0xffffffff;
  }
  return c;
}

export function fields(time: number, cpu: number): SampleFields {
  return {
    misc: 1,
    ipLo: 0x1000,
    ipHi: 0xffffffff,
    pid: 10,
    tid: 11,
    time,
    id: 0,
    cpu,
    period: 1000,
  };
}
