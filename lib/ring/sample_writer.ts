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
 * With `compactFragments` the fragments are `CALLRING_FRAGMENT_COMPACT` records: a 16-byte
 * header (perf header + one u64 cookie) instead of 32, which is exactly Peter's accounting of a
 * continuation, "a header (u64), a cookie (u64) and the entry (u64)" (seed L9264-9265): one-entry
 * fragments cost 3x the entry, where the 32-byte header costs 5x.
 *
 * The writer works over any {@linkcode RecordWriter}: the stream/sub-buffer {@linkcode RingWriter}
 * and the spare-sub-buffer flight recorder (`spare.ts`).
 *
 * @module
 */

import { RecordType, SampleLayout, SampleType } from "../abi/mod.ts";
import {
  COMPACT_FRAGMENT_HEADER_SIZE,
  FRAGMENT_HEADER_SIZE,
  FRAGMENT_MAX_ENTRIES,
  FragmentFlag,
} from "../abi/extensions.ts";
import { MAX_RECORD_SIZE } from "./writer.ts";

/**
 * What a {@linkcode SampleWriter} writes through: reserve / commit with handles that are u32-word
 * offsets times 4 into `dataWords` (below `ring.dataSize`) or into `scratchWords` (at and above),
 * both read after each `reserve` (they may change between outermost reservations, see
 * `swivel.ts`; `ring.dataSize` may not).
 */
export interface RecordWriter {
  /** Reserve `size` bytes; a handle, or -1 when dropped. */
  reserve(size: number, time?: number): number;
  /** Finish the innermost reservation. */
  commit(): void;
  /** The data area as u32 words. */
  readonly dataWords: Uint32Array;
  /** Scratch words for handles at and above `ring.dataSize`. */
  readonly scratchWords: Uint32Array;
  /** The data area size (handles below it are data offsets). */
  readonly ring: { readonly dataSize: number };
}

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
  fragmentWriter?: (index: number) => RecordWriter;
  /** Write 16-byte-header compact fragments (at most 65535 per event). */
  compactFragments?: boolean;
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
  readonly #w: RecordWriter;
  readonly #compact: boolean;
  readonly #fragHeader: number;
  readonly #fixed: number;
  readonly #cpuWord: number;
  readonly #head: number;
  readonly #frag: number;
  readonly #fragWriter: (index: number) => RecordWriter;
  readonly #size: number;
  readonly #hasIdentifier: boolean;
  readonly #hasIp: boolean;
  readonly #hasTid: boolean;
  readonly #hasTime: boolean;
  readonly #hasId: boolean;
  readonly #hasStreamId: boolean;
  readonly #hasCpu: boolean;
  readonly #hasPeriod: boolean;
  #seq = 0;

  /**
   * Create a sample writer over a ring writer.
   *
   * @param writer The ring writer of the sample's CPU.
   * @param sampleType `sample_type`; must include CALLCHAIN and only {@linkcode FAST_SAMPLE_TYPES}.
   * @param options Fragmentation options.
   * @throws {RangeError} On unsupported sample_type bits or bad chunk sizes.
   */
  constructor(writer: RecordWriter, sampleType: number, options: SampleWriterOptions = {}) {
    if ((sampleType & ~FAST_SAMPLE_TYPES) !== 0 || !(sampleType & SampleType.CALLCHAIN)) {
      throw new RangeError(
        `Cannot write samples: sample_type 0x${
          sampleType.toString(16)
        } needs CALLCHAIN and only IDENTIFIER|IP|TID|TIME|ID|STREAM_ID|CPU|PERIOD`,
      );
    }
    this.#w = writer;
    this.#size = writer.ring.dataSize;
    this.#hasIdentifier = (sampleType & SampleType.IDENTIFIER) !== 0;
    this.#hasIp = (sampleType & SampleType.IP) !== 0;
    this.#hasTid = (sampleType & SampleType.TID) !== 0;
    this.#hasTime = (sampleType & SampleType.TIME) !== 0;
    this.#hasId = (sampleType & SampleType.ID) !== 0;
    this.#hasStreamId = (sampleType & SampleType.STREAM_ID) !== 0;
    this.#hasCpu = (sampleType & SampleType.CPU) !== 0;
    this.#hasPeriod = (sampleType & SampleType.PERIOD) !== 0;
    const layout = SampleLayout.ofType(sampleType);
    this.#cpuWord = layout.cpu >= 0 ? (layout.cpu - 8) / 8 : -1;
    this.#fixed = layout.fixedEnd;
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
    this.#compact = options.compactFragments ?? false;
    this.#fragHeader = this.#compact ? COMPACT_FRAGMENT_HEADER_SIZE : FRAGMENT_HEADER_SIZE;
  }

  /**
   * Bytes written for one sample of `depth` entries (head + fragments, as {@linkcode write}
   * splits it).
   *
   * @param depth Entries.
   * @returns Bytes.
   */
  bytesFor(depth: number): number {
    if (depth <= this.#head) return this.sampleSize(depth);
    const rest = depth - this.#head;
    return this.sampleSize(this.#head) + Math.ceil(rest / this.#frag) * this.#fragHeader +
      rest * 8;
  }

  /** Bytes of a contiguous sample with `depth` entries. @param depth Entries. @returns Bytes. */
  sampleSize(depth: number): number {
    return this.#fixed + 8 + depth * 8;
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
    if (fragmented && this.#compact && Math.ceil((depth - this.#head) / this.#frag) > 0xffff) {
      throw new RangeError(`Cannot fragment a ${depth}-entry callchain: over 65535 fragments`);
    }
    const headDepth = fragmented ? this.#head : depth;
    const size = this.#fixed + 8 + headDepth * 8;
    const w = this.#w;
    const h = w.reserve(size, s.time);
    if (h < 0) {
      this.stats.headDropped++;
      return false;
    }
    // Handles below dataSize are ring offsets; the rest are scratch slots (a wrapping record).
    // The arrays are read after the reservation: a swivelling writer changes them between records.
    let u = w.dataWords;
    let p = h >> 2;
    if (h >= this.#size) {
      u = w.scratchWords;
      p = (h - this.#size) >> 2;
    }
    let seq = 0;
    if (fragmented) {
      seq = this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
    }
    u[p] = RecordType.SAMPLE;
    u[p + 1] = (s.misc & 0xffff) | (size << 16);
    p += 2;
    if (this.#hasIdentifier) p = putU64(u, p, s.id);
    if (this.#hasIp) {
      u[p] = s.ipLo;
      u[p + 1] = s.ipHi;
      p += 2;
    }
    if (this.#hasTid) {
      u[p] = s.pid;
      u[p + 1] = s.tid;
      p += 2;
    }
    if (this.#hasTime) p = putU64(u, p, s.time);
    if (this.#hasId) p = putU64(u, p, s.id);
    if (this.#hasStreamId) p = putU64(u, p, s.id);
    if (this.#hasCpu) {
      u[p] = s.cpu;
      u[p + 1] = seq;
      p += 2;
    }
    if (this.#hasPeriod) p = putU64(u, p, s.period);
    u[p] = headDepth;
    u[p + 1] = 0;
    p += 2;
    const n = headDepth * 2;
    copyWords(u, p, callchain, 0, n);
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
      const size = this.#fragHeader + count * 8;
      const h = w.reserve(size, s.time);
      if (h < 0) {
        this.stats.fragmentDropped++;
        return false;
      }
      const wrapped = h >= w.ring.dataSize;
      const u = wrapped ? w.scratchWords : w.dataWords;
      const q = (wrapped ? h - w.ring.dataSize : h) >> 2;
      const last = from + count >= depth;
      const flags = (index === 1 ? FragmentFlag.FIRST : 0) | (last ? FragmentFlag.LAST : 0);
      let base: number;
      if (this.#compact) {
        u[q] = RecordType.CALLRING_FRAGMENT_COMPACT;
        u[q + 1] = flags | (size << 16);
        u[q + 2] = seq;
        u[q + 3] = (index | (s.cpu << 16)) >>> 0;
        base = q + 4;
      } else {
        u[q] = RecordType.CALLRING_FRAGMENT;
        u[q + 1] = size << 16;
        u[q + 2] = seq;
        u[q + 3] = (s.cpu << 16) >>> 0;
        u[q + 4] = index;
        u[q + 5] = flags;
        u[q + 6] = depth;
        u[q + 7] = count;
        base = q + 8;
      }
      const src = from * 2;
      const n = count * 2;
      copyWords(u, base, callchain, src, n);
      w.commit();
      this.stats.fragments++;
      from += count;
    }
    this.stats.fragmented++;
    return true;
  }
}

/** Below this many u32s a loop beats `set` (which needs a subarray object). */
const COPY_LOOP_MAX = 64;

function copyWords(dst: Uint32Array, at: number, src: Uint32Array, from: number, n: number): void {
  if (n <= COPY_LOOP_MAX) {
    for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
  } else dst.set(src.subarray(from, from + n), at);
}

function putU64(u: Uint32Array, p: number, value: number): number {
  const hi = value >= 0 && value < 0x1_0000_0000 ? 0 : Math.floor(value / 0x1_0000_0000);
  u[p] = value - hi * 0x1_0000_0000;
  u[p + 1] = hi;
  return p + 2;
}
