/**
 * Byte order of perf.data from big-endian machines (ppc64, s390x), field by
 * field as perf converts it (`util/session.c`: `perf_event__swap_ops`,
 * `perf_event__all64_swap`, `swap_sample_id_all`, `perf_event__attr_swap`;
 * `util/evsel.c`: `evsel__parse_sample`'s re-swapped u32 pairs and
 * `evsel__bitfield_swap_branch_flags`; `util/header.c`: the header, attrs,
 * feature table and feature sections).
 *
 * A {@linkcode ByteSwapper} swaps in place, either way: `toBig` false turns a
 * big-endian file's bytes into the little-endian layout the rest of the
 * reader decodes (what perf does on reading), `toBig` true turns
 * little-endian bytes into what a big-endian perf would have written (the
 * writer's `bigEndian` option). The conversions are exact inverses; counts
 * and sizes are always read on the little-endian side.
 *
 * As in perf, opaque bytes stay as they are: strings, build-ids, AUX and
 * tracing-data payloads, a tracepoint's RAW payload (in the traced machine's
 * order; the tracing data says which), and the u64 words of a user stack
 * dump. The attr fields perf 6.1 does not swap (`clockid`,
 * `sample_regs_intr`, `sig_data`, `config3`) and MMAP2's `prot` / `flags`
 * are left alone here too, so a file reads the way perf reads it.
 *
 * @module
 */

import { FormatError, ReadFormat, RecordType, SampleLayout, SampleType } from "../abi/mod.ts";
import type { PerfDataEvent } from "./evlist.ts";
import { HeaderFeature } from "./features.ts";

/** `PERF_RECORD_MISC_MMAP_BUILD_ID`. */
const MISC_MMAP_BUILD_ID = 1 << 14;

/** `struct branch_flags` fields (little-endian bit position, width), perf 6.1's order. */
const BRANCH_FLAG_FIELDS: readonly (readonly [number, number])[] = [
  [0, 1],
  [1, 1],
  [2, 1],
  [3, 1],
  [4, 16],
  [20, 4],
  [24, 2],
  [26, 4],
  [30, 3],
  [33, 31],
];

/** Finds the event of a record (in its little-endian form). */
export type EventOf = (
  view: DataView,
  offset: number,
  type: number,
  size: number,
) => PerfDataEvent | undefined;

function revbyte(b: number): number {
  let r = (b >> 4) | ((b & 0xf) << 4);
  r = ((r & 0xcc) >> 2) | ((r & 0x33) << 2);
  return ((r & 0xaa) >> 1) | ((r & 0x55) << 1);
}

/** In-place byte-order conversion of perf.data structures, one direction. */
export class ByteSwapper {
  /** True: little-endian to big-endian (writing); false: big-endian to little-endian (reading). */
  readonly toBig: boolean;

  /**
   * Make a swapper for one direction.
   *
   * @param toBig True when writing a big-endian file, false when reading one.
   */
  constructor(toBig: boolean) {
    this.toBig = toBig;
  }

  /** Swap a u16 in place; its little-endian-side value. */
  u16(v: DataView, p: number): number {
    const x = v.getUint16(p, this.toBig);
    v.setUint16(p, x, !this.toBig);
    return x;
  }

  /** Swap a u32 in place; its little-endian-side value. */
  u32(v: DataView, p: number): number {
    const x = v.getUint32(p, this.toBig);
    v.setUint32(p, x, !this.toBig);
    return x;
  }

  /** Swap a u64 in place; its little-endian-side value (exact below 2^53). */
  u64(v: DataView, p: number): number {
    if (this.toBig) {
      const x = getU64le(v, p);
      swap64(v, p);
      return x;
    }
    swap64(v, p);
    return getU64le(v, p);
  }

  /** Swap every u64 word in `[from, to)` (a partial last word is left). */
  words(v: DataView, from: number, to: number): void {
    for (let p = from; p + 8 <= to; p += 8) swap64(v, p);
  }

  /**
   * Swap a record header in place.
   *
   * @returns The header's type, misc and size (little-endian side).
   */
  header(v: DataView, s: number): { type: number; misc: number; size: number } {
    return { type: this.u32(v, s), misc: this.u16(v, s + 4), size: this.u16(v, s + 6) };
  }

  /**
   * Swap a `perf_event_attr` in place (the fields perf's `perf_event__attr_swap` swaps).
   *
   * @param v The view.
   * @param p Offset of the attr.
   * @param available Bytes it may use.
   */
  attr(v: DataView, p: number, available: number): void {
    if (available < 8) return;
    this.u32(v, p);
    let size = this.u32(v, p + 4);
    if (size === 0) size = 64;
    size = Math.min(size, available);
    const u64 = (o: number) => o + 8 <= size && swap64(v, p + o);
    const u32 = (o: number) => o + 4 <= size && this.u32(v, p + o);
    u64(8);
    u64(16);
    u64(24);
    u64(32);
    if (size >= 48) { for (let i = 40; i < 48; i++) v.setUint8(p + i, revbyte(v.getUint8(p + i))); }
    u32(48);
    u32(52);
    u64(56);
    u64(64);
    u64(72);
    u64(80);
    u32(88);
    u32(104);
    if (size >= 110) this.u16(v, p + 108);
    u32(112);
  }

  /**
   * Swap the body of a record whose header was already swapped (reading) or
   * is still little-endian (writing; swap the header after this).
   *
   * @param v The view.
   * @param s Offset of the record header.
   * @param type Record type.
   * @param misc Header misc.
   * @param size Record size.
   * @param eventOf The record's event (looked up on the little-endian side).
   * @param sampleIdAll Whether non-sample kernel records carry a `sample_id` trailer.
   * @param fileOffset For errors.
   * @returns False when the type is one this module does not know (left as it is).
   * @throws {FormatError} When a count points outside the record.
   */
  body(
    v: DataView,
    s: number,
    type: number,
    misc: number,
    size: number,
    eventOf: EventOf,
    sampleIdAll: boolean,
    fileOffset: number,
  ): boolean {
    const end = s + size;
    const b = s + 8;
    const u32s = (from: number, n: number) => {
      for (let i = 0; i < n; i++) if (from + 4 * i + 4 <= end) this.u32(v, from + 4 * i);
    };
    const u64s = (from: number, n: number) => {
      for (let i = 0; i < n; i++) if (from + 8 * i + 8 <= end) swap64(v, from + 8 * i);
    };
    const trailer = (from: number) => {
      if (sampleIdAll) this.#trailer(v, s, type, size, from, eventOf);
    };
    const afterString = (from: number) => {
      let p = from;
      while (p < end && v.getUint8(p) !== 0) p++;
      return from + ((p - from + 1 + 7) & ~7);
    };
    switch (type) {
      case RecordType.SAMPLE:
        this.#sample(v, s, size, eventOf, fileOffset);
        return true;
      case RecordType.MMAP:
        u32s(b, 2);
        u64s(b + 8, 3);
        trailer(afterString(b + 32));
        return true;
      case RecordType.MMAP2:
        u32s(b, 2);
        u64s(b + 8, 3);
        if (!(misc & MISC_MMAP_BUILD_ID)) {
          u32s(b + 32, 2);
          u64s(b + 40, 2);
        }
        trailer(afterString(b + 64));
        return true;
      case RecordType.COMM:
        u32s(b, 2);
        trailer(afterString(b + 8));
        return true;
      case RecordType.FORK:
      case RecordType.EXIT:
        u32s(b, 4);
        u64s(b + 16, 1);
        trailer(b + 24);
        return true;
      case RecordType.READ:
        u32s(b, 2);
        // Read values, then any trailer: all u64 (perf swaps the whole tail).
        this.#u64Tail(v, s, type, size, b + 8, eventOf, sampleIdAll);
        return true;
      case RecordType.THROTTLE:
      case RecordType.UNTHROTTLE:
      case RecordType.AUX:
        u64s(b, 3);
        trailer(b + 24);
        return true;
      case RecordType.ITRACE_START:
        u32s(b, 2);
        trailer(b + 8);
        return true;
      case RecordType.SWITCH:
        trailer(b);
        return true;
      case RecordType.SWITCH_CPU_WIDE:
        u32s(b, 2);
        trailer(b + 8);
        return true;
      case RecordType.NAMESPACES: {
        u32s(b, 2);
        const nr = b + 16 <= end ? this.u64(v, b + 8) : 0;
        const n = Math.min(nr, Math.max(0, (end - b - 16) >> 4));
        u64s(b + 16, 2 * n);
        trailer(b + 16 + 16 * n);
        return true;
      }
      case RecordType.CGROUP:
        u64s(b, 1);
        trailer(afterString(b + 8));
        return true;
      case RecordType.KSYMBOL:
        u64s(b, 1);
        u32s(b + 8, 1);
        this.u16(v, b + 12);
        this.u16(v, b + 14);
        trailer(afterString(b + 16));
        return true;
      case RecordType.BPF_EVENT:
        this.u16(v, b);
        this.u16(v, b + 2);
        u32s(b + 4, 1);
        trailer(b + 16);
        return true;
      case RecordType.TEXT_POKE: {
        u64s(b, 1);
        const oldLen = this.u16(v, b + 8), newLen = this.u16(v, b + 10);
        trailer(b + 8 + ((4 + oldLen + newLen + 7) & ~7));
        return true;
      }
      case RecordType.LOST:
      case RecordType.LOST_SAMPLES:
      case RecordType.AUX_OUTPUT_HW_ID:
        this.#u64Tail(v, s, type, size, b, eventOf, sampleIdAll);
        return true;
      case RecordType.FINISHED_ROUND:
      case RecordType.FINISHED_INIT:
      case RecordType.COMPRESSED:
        return true;
      case RecordType.ID_INDEX:
      case RecordType.TIME_CONV:
      case RecordType.STAT_ROUND:
        this.words(v, b, end);
        return true;
      case RecordType.HEADER_ATTR: {
        this.attr(v, b, size - 8);
        const attrSize = v.getUint32(b + 4, true) || 64;
        this.words(v, b + attrSize, end);
        return true;
      }
      case RecordType.HEADER_EVENT_TYPE:
        u64s(b, 1);
        return true;
      case RecordType.HEADER_TRACING_DATA:
        u32s(b, 1);
        return true;
      case RecordType.HEADER_FEATURE:
        // Only the feature id; perf 6.1 reads the payload unswapped.
        u64s(b, 1);
        return true;
      case RecordType.AUXTRACE_INFO:
        u32s(b, 1);
        this.words(v, b + 8, end);
        return true;
      case RecordType.AUXTRACE:
        u64s(b, 3);
        u32s(b + 24, 3);
        return true;
      case RecordType.AUXTRACE_ERROR: {
        u32s(b, 5);
        const fmt = this.u32(v, b + 20);
        u64s(b + 24, 1);
        if (fmt) u64s(b + 32, 1);
        if (fmt >= 2) u32s(b + 104, 2);
        return true;
      }
      case RecordType.THREAD_MAP: {
        const nr = b + 8 <= end ? this.u64(v, b) : 0;
        for (let i = 0; i < nr && b + 8 + 24 * i + 8 <= end; i++) swap64(v, b + 8 + 24 * i);
        return true;
      }
      case RecordType.CPU_MAP:
        this.#cpuMap(v, b, end);
        return true;
      case RecordType.STAT_CONFIG: {
        const nr = b + 8 <= end ? this.u64(v, b) : 0;
        u64s(b + 8, 2 * nr);
        return true;
      }
      case RecordType.STAT:
        u64s(b, 1);
        u32s(b + 8, 2);
        u64s(b + 16, 3);
        return true;
      case RecordType.EVENT_UPDATE:
        // type and id; perf 6.1 leaves the payload as it is.
        u64s(b, 2);
        return true;
      case RecordType.COMPRESSED2:
        u64s(b, 1);
        return true;
      default:
        return false;
    }
  }

  /** `perf_record_cpu_map_data` (perf 6.1 layout: u16 type, then CPUS / MASK / RANGE_CPUS). */
  #cpuMap(v: DataView, p: number, end: number): void {
    if (p + 2 > end) return;
    const type = this.u16(v, p);
    if (type === 0 && p + 4 <= end) {
      const nr = this.u16(v, p + 2);
      for (let i = 0; i < nr && p + 6 + 2 * i <= end; i++) this.u16(v, p + 4 + 2 * i);
    } else if (type === 1 && p + 6 <= end) {
      const nr = this.u16(v, p + 2);
      const longSize = this.u16(v, p + 4);
      if (longSize === 4) {
        for (let i = 0; i < nr && p + 10 + 4 * i <= end; i++) this.u32(v, p + 6 + 4 * i);
      } else if (longSize === 8) {
        for (let i = 0; i < nr && p + 18 + 8 * i <= end; i++) swap64(v, p + 10 + 8 * i);
      }
    } else if (type === 2 && p + 8 <= end) {
      this.u16(v, p + 4);
      this.u16(v, p + 6);
    }
  }

  /** A tail of u64 words that ends in a trailer (perf's all64 swap, then the trailer's u32 pairs). */
  #u64Tail(
    v: DataView,
    s: number,
    type: number,
    size: number,
    from: number,
    eventOf: EventOf,
    sampleIdAll: boolean,
  ): void {
    if (!sampleIdAll) {
      this.words(v, from, s + size);
      return;
    }
    this.#trailer(v, s, type, size, from, eventOf);
  }

  /**
   * A `sample_id` trailer (and any u64 words before it from `from`): u64
   * words, with TID and CPU as two u32 each.
   */
  #trailer(
    v: DataView,
    s: number,
    type: number,
    size: number,
    from: number,
    eventOf: EventOf,
  ): void {
    const end = s + size;
    if (!this.toBig) this.words(v, from, end);
    const event = eventOf(v, s, type, size);
    if (event !== undefined) {
      const tr = SampleLayout.of(event.format).trailer;
      const start = end - tr.size;
      if (start >= from) {
        if (tr.tid >= 0) halves(v, start + tr.tid);
        if (tr.cpu >= 0) halves(v, start + tr.cpu);
      }
    }
    if (this.toBig) this.words(v, from, end);
  }

  /** A sample: u64 words (perf's all64 swap), with the fields that are not u64 put right. */
  #sample(v: DataView, s: number, size: number, eventOf: EventOf, fileOffset: number): void {
    const end = s + size;
    if (!this.toBig) this.words(v, s + 8, end);
    const event = eventOf(v, s, RecordType.SAMPLE, size);
    if (event !== undefined) this.#sampleFields(v, s, end, event, fileOffset);
    if (this.toBig) this.words(v, s + 8, end);
  }

  /** The fixups of one sample, on its little-endian side (u64 words already in place when reading). */
  #sampleFields(v: DataView, s: number, end: number, event: PerfDataEvent, fileOffset: number) {
    const f = event.format;
    const t = f.sampleType;
    const layout = SampleLayout.of(f);
    const need = (p: number, n: number, what: string) => {
      if (p + n > end) {
        throw new FormatError(`Sample ${what} runs past the ${end - s}-byte record`, fileOffset);
      }
    };
    if (layout.tid >= 0 && layout.tid + 8 <= end - s) halves(v, s + layout.tid);
    if (layout.cpu >= 0 && layout.cpu + 8 <= end - s) halves(v, s + layout.cpu);
    let p = s + layout.fixedEnd;
    if (t & SampleType.READ && layout.readSize === -1) {
      need(s + layout.read, 8, "read group");
      const nr = getU64le(v, s + layout.read);
      const rf = f.readFormat;
      const per = 8 + (rf & ReadFormat.ID ? 8 : 0) + (rf & ReadFormat.LOST ? 8 : 0);
      p = s + layout.read + 8 + (rf & ReadFormat.TOTAL_TIME_ENABLED ? 8 : 0) +
        (rf & ReadFormat.TOTAL_TIME_RUNNING ? 8 : 0) + nr * per;
    }
    if (t & SampleType.CALLCHAIN) {
      need(p, 8, "callchain");
      p += 8 + 8 * getU64le(v, p);
    }
    if (t & SampleType.RAW) {
      need(p, 8, "raw data");
      // The size is a u32; the payload stays in the recording machine's order.
      let n: number;
      if (this.toBig) {
        n = v.getUint32(p, true);
        v.setUint32(p, n, false);
        this.words(v, p, Math.min(end, p + 4 + n)); // the u64 swap after this restores them
      } else {
        swap64(v, p); // the first raw word back as the file had it
        n = v.getUint32(p, false);
        this.words(v, p + 8, Math.min(end, p + 4 + n));
        v.setUint32(p, n, true);
      }
      p += 4 + n;
    }
    if (t & SampleType.BRANCH_STACK) {
      need(p, 8, "branch stack");
      const nr = getU64le(v, p);
      p += 8 + (f.branchHwIndex ? 8 : 0);
      need(p, 24 * nr, "branch stack");
      for (let i = 0; i < nr; i++) this.#branchFlags(v, p + 24 * i + 16);
      p += 24 * nr;
    }
  }

  /** `struct branch_flags`: each bit-field moved to its mirrored place (perf's bitfield_swap). */
  #branchFlags(v: DataView, p: number): void {
    const x = (BigInt(v.getUint32(p + 4, true)) << 32n) | BigInt(v.getUint32(p, true));
    let out = 0n;
    for (const [le, width] of BRANCH_FLAG_FIELDS) {
      const be = 63 - (le + width - 1);
      const [from, to] = this.toBig ? [le, be] : [be, le];
      out |= ((x >> BigInt(from)) & ((1n << BigInt(width)) - 1n)) << BigInt(to);
    }
    v.setUint32(p, Number(out & 0xffffffffn), true);
    v.setUint32(p + 4, Number(out >> 32n), true);
  }

  /**
   * Swap a feature section in place (the features callring decodes or writes;
   * others are left as they are, as callring does not read them).
   *
   * @param bit The feature bit.
   * @param v The view.
   * @param start Offset of the section.
   * @param size Its size.
   */
  feature(bit: number, v: DataView, start: number, size: number): void {
    const end = start + size;
    const str = (p: number): number => {
      if (p + 4 > end) return end;
      const n = this.u32(v, p);
      return p + 4 + n;
    };
    switch (bit) {
      case HeaderFeature.HOSTNAME:
      case HeaderFeature.OSRELEASE:
      case HeaderFeature.VERSION:
      case HeaderFeature.ARCH:
        str(start);
        break;
      case HeaderFeature.NRCPUS:
        if (start + 8 <= end) {
          this.u32(v, start);
          this.u32(v, start + 4);
        }
        break;
      case HeaderFeature.CMDLINE: {
        if (start + 4 > end) break;
        const nr = this.u32(v, start);
        let p = start + 4;
        for (let i = 0; i < nr && p < end; i++) p = str(p);
        break;
      }
      case HeaderFeature.SAMPLE_TIME:
        this.words(v, start, end);
        break;
      case HeaderFeature.BUILD_ID:
        for (let p = start; p + 12 <= end;) {
          const { size: n } = this.header(v, p);
          this.u32(v, p + 8);
          if (n < 8) break;
          p += n;
        }
        break;
      case HeaderFeature.EVENT_DESC: {
        if (start + 8 > end) break;
        const nr = this.u32(v, start);
        const attrSize = this.u32(v, start + 4);
        let p = start + 8;
        for (let i = 0; i < nr && p + attrSize + 4 <= end; i++) {
          this.attr(v, p, attrSize);
          p += attrSize;
          const nrIds = this.u32(v, p);
          p = str(p + 4);
          for (let j = 0; j < nrIds && p + 8 <= end; j++, p += 8) swap64(v, p);
        }
        break;
      }
      case HeaderFeature.GROUP_DESC: {
        if (start + 4 > end) break;
        const nr = this.u32(v, start);
        let p = start + 4;
        for (let i = 0; i < nr && p < end; i++) {
          p = str(p);
          if (p + 8 > end) break;
          this.u32(v, p);
          this.u32(v, p + 4);
          p += 8;
        }
        break;
      }
    }
  }
}

function swap64(v: DataView, p: number): void {
  const lo = v.getUint32(p, true), hi = v.getUint32(p + 4, true);
  v.setUint32(p, hi, false);
  v.setUint32(p + 4, lo, false);
}

/** Two u32 swapped as one u64 become two u32 each swapped by trading the halves back. */
function halves(v: DataView, p: number): void {
  const a = v.getUint32(p, true), b = v.getUint32(p + 4, true);
  v.setUint32(p, b, true);
  v.setUint32(p + 4, a, true);
}

function getU64le(v: DataView, p: number): number {
  return v.getUint32(p + 4, true) * 0x1_0000_0000 + v.getUint32(p, true);
}
