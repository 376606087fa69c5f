/**
 * Allocation-free `PERF_RECORD_SAMPLE` writer for callchain samples, written
 * straight into the ring bytes, plus Linus' continuation fragments for large
 * callchains (seed L7932-7980).
 *
 * A callchain deeper than `headEntries` is emitted as a **head sample** (a
 * normal `PERF_RECORD_SAMPLE` carrying the first `headEntries` entries, leaf
 * first) followed by `CALLRING_FRAGMENT` records of up to `fragmentEntries`
 * entries each. The head's `cpu.res` u32 (the reserved half of
 * `PERF_SAMPLE_CPU`) holds the event's per-CPU sequence number, so the event id
 * is `cpu << 48 | res`; fragments carry the same id and their index (1..n).
 * Fragments may go to another CPU's ring (`fragmentWriter`) and interleave with
 * other records, including nested writers' records.
 *
 * @module
 */

import { RecordType, SampleType } from "../abi/mod.ts";
import { FRAGMENT_HEADER_SIZE, FRAGMENT_MAX_ENTRIES, FragmentFlag } from "../abi/extensions.ts";
import { MAX_RECORD_SIZE, RingWriter } from "./writer.ts";

/** `sample_type` bits the fast writer supports (the rest need `encodeSample`). */
export const FAST_SAMPLE_TYPES: number = SampleType.IDENTIFIER | SampleType.IP | SampleType.TID |
  SampleType.TIME | SampleType.ID | SampleType.STREAM_ID | SampleType.CPU | SampleType.PERIOD |
  SampleType.CALLCHAIN;

/** The fields of one sample; reuse one object across calls (no allocation). */
export interface SampleFields {
  /** Header misc (cpumode). */
  misc: number;
  /** IP low 32 bits. */
  ipLo: number;
  /** IP high 32 bits. */
  ipHi: number;
  /** pid. */
  pid: number;
  /** tid. */
  tid: number;
  /** Time (ns). */
  time: number;
  /** Event id (IDENTIFIER / ID / STREAM_ID). */
  id: number;
  /** CPU. */
  cpu: number;
  /** Period. */
  period: number;
}

/** Options of a {@linkcode SampleWriter}. */
export interface SampleWriterOptions {
  /** Entries kept in the head sample before fragmenting (default 128). */
  headEntries?: number;
  /** Entries per fragment record (default 1024, at most {@linkcode FRAGMENT_MAX_ENTRIES}). */
  fragmentEntries?: number;
  /** Where fragment `index` goes (default: the head's writer). */
  fragmentWriter?: (index: number) => RingWriter;
}

/** Counters of a {@linkcode SampleWriter}. */
export interface SampleWriterStats {
  /** Samples offered. */
  samples: number;
  /** Samples written in one record. */
  contiguous: number;
  /** Samples split into head + fragments, all pieces written. */
  fragmented: number;
  /** Fragment records written. */
  fragments: number;
  /** Samples whose head was dropped (nothing written). */
  headDropped: number;
  /** Samples whose head was written but a fragment dropped (incomplete). */
  fragmentDropped: number;
}

/** Writes callchain samples into a ring without allocating. */
export class SampleWriter {
  /** Counters. */
  readonly stats: SampleWriterStats = {
    samples: 0,
    contiguous: 0,
    fragmented: 0,
    fragments: 0,
    headDropped: 0,
    fragmentDropped: 0,
  };
  readonly #w: RingWriter;
  readonly #t: number;
  readonly #fixed: number;
  readonly #cpuWord: number;
  readonly #head: number;
  readonly #frag: number;
  readonly #fragWriter: (index: number) => RingWriter;
  readonly #words = new WeakMap<DataView, Uint32Array>();
  #seq = 0;

  /**
   * Create a sample writer over a ring writer.
   *
   * @param writer The ring writer of the sample's CPU.
   * @param sampleType `sample_type`; must include CALLCHAIN and only {@linkcode FAST_SAMPLE_TYPES}.
   * @param options Fragmentation options.
   * @throws {RangeError} On unsupported sample_type bits or bad chunk sizes.
   */
  constructor(writer: RingWriter, sampleType: number, options: SampleWriterOptions = {}) {
    if ((sampleType & ~FAST_SAMPLE_TYPES) !== 0 || !(sampleType & SampleType.CALLCHAIN)) {
      throw new RangeError(
        `Cannot write samples: sample_type 0x${
          sampleType.toString(16)
        } needs CALLCHAIN and only IDENTIFIER|IP|TID|TIME|ID|STREAM_ID|CPU|PERIOD`,
      );
    }
    this.#w = writer;
    this.#t = sampleType;
    let words = 0;
    for (
      const bit of [
        SampleType.IDENTIFIER,
        SampleType.IP,
        SampleType.TID,
        SampleType.TIME,
        SampleType.ID,
        SampleType.STREAM_ID,
      ]
    ) if (sampleType & bit) words++;
    this.#cpuWord = sampleType & SampleType.CPU ? words : -1;
    if (sampleType & SampleType.CPU) words++;
    if (sampleType & SampleType.PERIOD) words++;
    this.#fixed = 8 + words * 8;
    this.#head = options.headEntries ?? 128;
    this.#frag = options.fragmentEntries ?? 1024;
    const maxHead = (MAX_RECORD_SIZE - this.#fixed - 8) / 8;
    if (
      this.#head < 1 || this.#head > maxHead || this.#frag < 1 || this.#frag > FRAGMENT_MAX_ENTRIES
    ) {
      throw new RangeError(
        `Cannot write samples: headEntries must be in [1, ${maxHead}] and fragmentEntries in [1, ${FRAGMENT_MAX_ENTRIES}]`,
      );
    }
    this.#fragWriter = options.fragmentWriter ?? (() => writer);
  }

  /** Bytes of a contiguous sample with `depth` entries. @param depth Entries. @returns Bytes. */
  sampleSize(depth: number): number {
    return this.#fixed + 8 + depth * 8;
  }

  #lastView: DataView | undefined;
  #lastWords: Uint32Array = new Uint32Array(0);

  #wordsOf(v: DataView): Uint32Array {
    if (v === this.#lastView) return this.#lastWords;
    let u = this.#words.get(v);
    if (!u) {
      u = new Uint32Array(v.buffer, v.byteOffset, v.byteLength >> 2);
      this.#words.set(v, u);
    }
    this.#lastView = v;
    this.#lastWords = u;
    return u;
  }

  /**
   * Write one sample. Callchains deeper than `headEntries` are fragmented
   * (requires CPU in sample_type).
   *
   * @param s The fields (read, not kept).
   * @param callchain Entries as u32 pairs (lo, hi), leaf first.
   * @param depth Number of entries used from `callchain`.
   * @returns True when every record of the sample was written.
   */
  write(s: SampleFields, callchain: Uint32Array, depth: number): boolean {
    this.stats.samples++;
    const fragmented = depth > this.#head;
    if (fragmented && this.#cpuWord < 0) {
      throw new RangeError(`Cannot fragment a ${depth}-entry callchain: sample_type lacks CPU`);
    }
    const headDepth = fragmented ? this.#head : depth;
    const size = this.#fixed + 8 + headDepth * 8;
    const w = this.#w;
    const h = w.reserve(size, s.time);
    if (h < 0) {
      this.stats.headDropped++;
      return false;
    }
    const v = w.viewOf(h);
    const o = w.offsetOf(h);
    const u = this.#wordsOf(v);
    const t = this.#t;
    let seq = 0;
    if (fragmented) {
      seq = this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
    }
    u[o >> 2] = RecordType.SAMPLE;
    v.setUint16(o + 4, s.misc, true);
    v.setUint16(o + 6, size, true);
    let p = (o >> 2) + 2;
    if (t & SampleType.IDENTIFIER) p = putU64(u, p, s.id);
    if (t & SampleType.IP) {
      u[p] = s.ipLo;
      u[p + 1] = s.ipHi;
      p += 2;
    }
    if (t & SampleType.TID) {
      u[p] = s.pid;
      u[p + 1] = s.tid;
      p += 2;
    }
    if (t & SampleType.TIME) p = putU64(u, p, s.time);
    if (t & SampleType.ID) p = putU64(u, p, s.id);
    if (t & SampleType.STREAM_ID) p = putU64(u, p, s.id);
    if (t & SampleType.CPU) {
      u[p] = s.cpu;
      u[p + 1] = seq;
      p += 2;
    }
    if (t & SampleType.PERIOD) p = putU64(u, p, s.period);
    u[p] = headDepth;
    u[p + 1] = 0;
    p += 2;
    const n = headDepth * 2;
    for (let i = 0; i < n; i++) u[p + i] = callchain[i];
    w.commit();
    if (!fragmented) {
      this.stats.contiguous++;
      return true;
    }
    return this.#writeFragments(s, callchain, depth, seq);
  }

  #writeFragments(s: SampleFields, callchain: Uint32Array, depth: number, seq: number): boolean {
    let index = 1;
    for (let from = this.#head; from < depth; index++) {
      const count = Math.min(this.#frag, depth - from);
      const w = this.#fragWriter(index);
      const size = FRAGMENT_HEADER_SIZE + count * 8;
      const h = w.reserve(size, s.time);
      if (h < 0) {
        this.stats.fragmentDropped++;
        return false;
      }
      const v = w.viewOf(h);
      const o = w.offsetOf(h);
      const u = this.#wordsOf(v);
      const last = from + count >= depth;
      const q = o >> 2;
      u[q] = RecordType.CALLRING_FRAGMENT;
      u[q + 1] = size << 16;
      u[q + 2] = seq;
      u[q + 3] = (s.cpu << 16) >>> 0;
      u[q + 4] = index;
      u[q + 5] = (index === 1 ? FragmentFlag.FIRST : 0) | (last ? FragmentFlag.LAST : 0);
      u[q + 6] = depth;
      u[q + 7] = count;
      const base = q + 8;
      const src = from * 2;
      const n = count * 2;
      for (let i = 0; i < n; i++) u[base + i] = callchain[src + i];
      w.commit();
      this.stats.fragments++;
      from += count;
    }
    this.stats.fragmented++;
    return true;
  }
}

function putU64(u: Uint32Array, p: number, value: number): number {
  const hi = Math.floor(value / 0x1_0000_0000);
  u[p] = value - hi * 0x1_0000_0000;
  u[p + 1] = hi;
  return p + 2;
}
