/**
 * Damage accounting of the capture reader: which bytes were lost per CPU
 * ({@linkcode DamageLedger}) and how many records they held
 * ({@linkcode DamageCounter}), exact where intact chunk and record headers
 * tell, a labelled estimate otherwise (`FORMAT.md`, "Reading" 5).
 *
 * @module
 */

import {
  decodeSample,
  getU64,
  HEADER_SIZE,
  RecordType,
  type SampleFormat,
  SampleLayout,
  SampleType,
} from "../abi/mod.ts";
import {
  decodeFragment,
  hasSyncShape,
  SYMBOL_HEADER_SIZE,
  SYNC_MAGIC_WORDS,
  SYNC_RECORD_SIZE,
} from "../abi/extensions.ts";
import {
  type CaptureHeader,
  CHUNK_FLAG_GAP,
  CHUNK_FLAG_OOB,
  CHUNK_HEADER_SIZE,
  CHUNK_MAGIC,
  MAX_CHUNK_PAYLOAD,
} from "./format.ts";
import type { CaptureCpuStats, CaptureReadSummary } from "./reader.ts";

/** Bits in which a damaged chunk header's magic and own offset may differ to be trusted. */
export const MAX_HEADER_FLIPS = 2;
/** `sample_type` bits whose fields follow the callchain in a sample. */
const AFTER_CALLCHAIN = SampleType.RAW | SampleType.BRANCH_STACK | SampleType.REGS_USER |
  SampleType.STACK_USER | SampleType.WEIGHT | SampleType.DATA_SRC | SampleType.TRANSACTION |
  SampleType.REGS_INTR | SampleType.PHYS_ADDR | SampleType.AUX | SampleType.CGROUP |
  SampleType.DATA_PAGE_SIZE | SampleType.CODE_PAGE_SIZE | SampleType.WEIGHT_STRUCT;

/** Whether the sync magic follows the record header at `at`. */
export function syncMagicAt(v: DataView, at: number): boolean {
  for (let i = 0; i < 4; i++) {
    if (v.getUint32(at + 8 + 4 * i, true) !== SYNC_MAGIC_WORDS[i]) return false;
  }
  return true;
}

export function popcount8(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

export function popcount32(x: number): number {
  let n = 0;
  for (x >>>= 0; x; x = (x & (x - 1)) >>> 0) n++;
  return n;
}

/**
 * Framing records a ring writer adds around the data records (sync points, LOST, sub-buffer
 * headers and NOP padding), and the recorder's overwritten counts: never counted as stream
 * records.
 */
export function framing(type: number): boolean {
  return type === RecordType.CALLRING_SYNC || type === RecordType.LOST ||
    type === RecordType.CALLRING_SUBBUF || type === RecordType.CALLRING_PAD ||
    type === RecordType.CALLRING_OVERWRITTEN;
}

/** Fewest records counted around damage for their mean size to estimate the damaged part. */
const MIN_LOCAL_RECORDS = 8;

/** A record type perf or callring writes (kernel, perf user or callring extension records). */
function plausibleType(type: number): boolean {
  return (type > 0 && type < 128) || (type >= 0x4c00 && type <= 0x4cff);
}

/**
 * Chains of valid record headers that end exactly at `len` (offsets
 * relative to `off`, 8-aligned): `count[q / 8]` is the number of records
 * (sync and LOST excluded) on the chain from `q`, or -1 when no valid chain
 * starts there.
 */
function tailChains(bytes: Uint8Array, off: number, len: number): Int32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = new Int32Array((len >> 3) + 1).fill(-1);
  count[len >> 3] = 0;
  for (let q = len - HEADER_SIZE; q >= 0; q -= 8) {
    const type = v.getUint32(off + q, true);
    const size = v.getUint16(off + q + 6, true);
    if (size < HEADER_SIZE || size % 8 || q + size > len || !plausibleType(type)) continue;
    const rest = count[(q + size) >> 3]!;
    if (rest < 0) continue;
    count[q >> 3] = rest + (framing(type) ? 0 : 1);
  }
  return count;
}

/** A chunk found inside skipped bytes, its header trusted only for accounting. */
export interface DamagedChunk {
  cpu: number;
  position: number;
  length: number;
  /** Its header has the GAP flag: the CPU stream restarts there (overwrite snapshot). */
  gap: boolean;
  /** Its header has the OOB flag: not part of the CPU's stream. */
  oob: boolean;
  /** Records counted in its payload. */
  records: RecordCount | undefined;
}

/** Records counted by walking damaged bytes. */
export interface RecordCount {
  /** Records, sync and LOST excluded. */
  n: number;
  /** Whether every record's fields agree with its size (else the count is only likely). */
  consistent: boolean;
}

/**
 * Accounting of what damage lost, per CPU stream. Chunks lost behind a
 * damaged header are attributed when their CPU's stream resumes (the
 * position jump names the lost stream bytes exactly) or, at the end, when
 * they continue where their CPU's stream stopped.
 */
export class DamageLedger {
  readonly #cpuStats: (cpu: number) => CaptureCpuStats;
  #pending: DamagedChunk[] = [];
  /** Payload bytes of skipped ranges that could not be split into chunks (one header each excluded). */
  #opaque = 0;
  /** Jump bytes no parsed chunk explained (they came from opaque ranges or bogus chunks). */
  #residual = 0;
  /** Per CPU: bytes and records of walks whose framing tiled but was not consistent. */
  readonly #tiled = new Map<number, { bytes: number; records: number }>();

  constructor(cpuStats: (cpu: number) => CaptureCpuStats) {
    this.#cpuStats = cpuStats;
  }

  /** Stream bytes of `cpu` lost, with the records counted in them (undefined: not countable). */
  lost(cpu: number, bytes: number, records: RecordCount | undefined): void {
    if (bytes <= 0) return;
    const cs = this.#cpuStats(cpu);
    cs.damagedStreamBytes += bytes;
    if (records?.consistent) {
      cs.damagedRecords += records.n;
      return;
    }
    cs.uncountedBytes += bytes;
    if (records) {
      const t = this.#tiled.get(cpu) ?? { bytes: 0, records: 0 };
      t.bytes += bytes;
      t.records += records.n;
      this.#tiled.set(cpu, t);
    }
  }

  /** A skipped range split into the chunks it held. */
  skipped(chunks: DamagedChunk[]): void {
    this.#pending.push(...chunks);
  }

  /** A skipped range whose chunks could not be told apart. */
  opaque(bytes: number): void {
    this.#opaque += Math.max(0, bytes - CHUNK_HEADER_SIZE);
  }

  /** The stream of `cpu` resumes at `to` after `from`: the bytes between were lost. */
  jump(cpu: number, from: number, to: number): void {
    let at = from;
    let covered = 0;
    let span = to - from;
    for (const d of this.#take((d) => d.cpu === cpu && d.position >= from)) {
      if (d.position >= at && d.position + d.length <= to) {
        // A lost GAP chunk restarted the stream: the bytes it skips were overwritten, not damaged.
        if (d.gap) span -= d.position - at;
        this.lost(cpu, d.length, d.records);
        covered += d.length;
        at = d.position + d.length;
      } else this.#pending.push(d);
    }
    this.lost(cpu, span - covered, undefined);
    this.#residual += span - covered;
  }

  /**
   * The first intact chunk of `cpu` starts at `to`: chunks lost just before
   * it count when they end exactly there, one after the other.
   */
  start(cpu: number, to: number): void {
    let at = to;
    for (const d of this.#take((d) => d.cpu === cpu && d.position < to).reverse()) {
      if (d.position + d.length === at) {
        this.lost(cpu, d.length, d.records);
        at = d.position;
      } else this.#pending.push(d);
    }
  }

  /** The stream of `cpu` restarts (GAP): its chunks lost before are taken as their headers say. */
  gap(cpu: number): void {
    for (const d of this.#take((d) => d.cpu === cpu)) this.lost(cpu, d.length, d.records);
  }

  /** Attribute what is left and fill in the estimates. */
  finish(expected: Map<number, number>, cpus: number, sum: CaptureReadSummary): void {
    let bogus = 0;
    for (let cpu = 0; cpu < cpus; cpu++) {
      let at = expected.get(cpu);
      for (const d of this.#take((d) => d.cpu === cpu)) {
        if (at === undefined || d.position === at || d.gap) {
          this.lost(cpu, d.length, d.records);
          at = d.position + d.length;
        } else bogus += d.length;
      }
    }
    const unattributed = Math.max(0, this.#opaque + bogus - this.#residual);
    let records = 0;
    let bytes = 0;
    for (const cs of sum.cpus.values()) {
      records += cs.streamRecords;
      bytes += cs.bytes;
    }
    const mean = bytes > 0 ? records / bytes : 0;
    for (const [cpu, cs] of sum.cpus) {
      const tiled = this.#tiled.get(cpu) ?? { bytes: 0, records: 0 };
      cs.damagedEstimate = tiled.records + Math.round(
        (cs.uncountedBytes - tiled.bytes) *
          (cs.streamRecords > 0 ? cs.streamRecords / cs.bytes : mean),
      );
      sum.damagedStreamBytes += cs.damagedStreamBytes;
      sum.damagedRecords += cs.damagedRecords;
      sum.uncountedBytes += cs.uncountedBytes;
      sum.damagedEstimate += cs.damagedEstimate;
    }
    sum.unattributedBytes = unattributed;
    sum.uncountedBytes += unattributed;
    // bytes that can hold a record estimate at least one, even when the read's mean record is
    // larger than they are (64 skipped bytes under 140-byte records rounded to none)
    const guess = Math.round(unattributed * mean);
    sum.damagedEstimate += unattributed >= 64 && mean > 0 ? Math.max(1, guess) : guess;
  }

  /** Remove and return the pending chunks matching `pred`, in stream order. */
  #take(pred: (d: DamagedChunk) => boolean): DamagedChunk[] {
    const hit = this.#pending.filter(pred).sort((a, b) => a.position - b.position);
    if (hit.length) this.#pending = this.#pending.filter((d) => !pred(d));
    return hit;
  }
}

/**
 * Counts what damage cost: splits damaged bytes into the chunks whose
 * headers are still plausible, and counts the records inside damaged bytes
 * when their headers tile them and every record's fields agree with its size
 * (see {@linkcode CaptureCpuStats}).
 */
export class DamageCounter {
  readonly #header: CaptureHeader;
  readonly #format: SampleFormat;
  readonly #sampleIdAll: boolean;
  readonly #ids: Set<number>;

  /**
   * Create a counter for one capture.
   *
   * @param header The capture header.
   * @param format The events' sample format.
   * @param sampleIdAll Whether non-sample records carry the trailer.
   */
  constructor(header: CaptureHeader, format: SampleFormat, sampleIdAll: boolean) {
    this.#header = header;
    this.#format = format;
    this.#sampleIdAll = sampleIdAll;
    this.#ids = new Set(header.events.flatMap((e) => e.ids));
  }

  /**
   * Split skipped file bytes into the chunks they held, trusting chunk
   * headers that failed validation only as far as their fields agree: the
   * magic and own file offset may differ from the expected ones by at most
   * {@linkcode MAX_HEADER_FLIPS} bits, the CPU must exist, and the declared
   * lengths must tile the bytes exactly. When only the first header is
   * plausible and the lengths do not tile (a damaged length), or the bytes
   * hold exactly one chunk by the first header's length and its CPU exists
   * (a damaged magic or own offset), the bytes are taken as that one chunk.
   */
  damagedChunks(bytes: Uint8Array, fileOffset: number): DamagedChunk[] | undefined {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const plausible = (q: number): boolean => {
      if (q + CHUNK_HEADER_SIZE > bytes.length) return false;
      let flips = 0;
      for (let i = 0; i < 8; i++) flips += popcount8(bytes[q + i] ^ CHUNK_MAGIC[i]);
      const own = fileOffset + q;
      flips += popcount32(v.getUint32(q + 16, true) ^ (own >>> 0));
      flips += popcount32(v.getUint32(q + 20, true) ^ Math.floor(own / 2 ** 32));
      return flips <= MAX_HEADER_FLIPS && v.getUint32(q + 8, true) < this.#header.cpus;
    };
    const chunk = (q: number, length: number): DamagedChunk => ({
      cpu: v.getUint32(q + 8, true),
      position: getU64(v, q + 24),
      length,
      gap: (v.getUint16(q + 38, true) & CHUNK_FLAG_GAP) !== 0,
      oob: (v.getUint16(q + 38, true) & CHUNK_FLAG_OOB) !== 0,
      records: this.countRecords(bytes, q + CHUNK_HEADER_SIZE, length),
    });
    const chunks: DamagedChunk[] = [];
    for (let q = 0; q < bytes.length;) {
      const length = plausible(q) ? v.getUint32(q + 12, true) : -1;
      if (
        length < 0 || length % 8 || length > MAX_CHUNK_PAYLOAD ||
        q + CHUNK_HEADER_SIZE + length > bytes.length
      ) {
        const rest = bytes.length - CHUNK_HEADER_SIZE;
        // One chunk whose magic or own offset took the damage: its CPU and length still fit.
        const framed = rest >= 0 && v.getUint32(8, true) < this.#header.cpus &&
          v.getUint32(12, true) === rest;
        return (plausible(0) || framed) && rest <= MAX_CHUNK_PAYLOAD ? [chunk(0, rest)] : undefined;
      }
      chunks.push(chunk(q, length));
      q += CHUNK_HEADER_SIZE + length;
    }
    return chunks;
  }

  /**
   * Count the records (sync and LOST excluded) in damaged stream bytes by
   * walking their headers. When a damaged record header breaks the walk,
   * the records before the damage and those on a chain of valid headers
   * that ends exactly at the end of the bytes are counted, and the gap
   * between them is estimated at the mean of those records; that is an
   * estimate (`consistent` false), made only from
   * {@linkcode MIN_LOCAL_RECORDS} records or more (else the bytes are left
   * to the CPU's mean).
   *
   * @returns The count, or undefined when the record sizes do not tile the bytes.
   */
  countRecords(bytes: Uint8Array, off: number, len: number): RecordCount | undefined {
    const head = this.walkRecords(bytes, off, len);
    const tiled = head.walked === len;
    if (tiled && head.consistent) return { n: head.n, consistent: true };
    // The head chain is right up to the damaged record (the first one whose
    // size disagrees with its fields, or the walk's end), then may follow
    // its damaged size: split it there or before, where head and tail
    // together count the most.
    const tail = tailChains(bytes, off, len);
    const next = new Int32Array(tail.length).fill(len);
    for (let i = tail.length - 2; i >= 0; i--) next[i] = tail[i]! >= 0 ? i * 8 : next[i + 1]!;
    let best = { counted: -1, start: 0, end: len };
    const marks = head.firstBad >= 0 ? head.marks.slice(0, head.firstBad + 1) : head.marks;
    for (const m of marks) {
      const q = next[(m.at >> 3) + 1]!;
      const counted = m.n + tail[q >> 3]!;
      if (counted > best.counted) best = { counted, start: m.at, end: q };
    }
    if (best.counted < MIN_LOCAL_RECORDS) {
      return tiled ? { n: head.n, consistent: false } : undefined;
    }
    const rate = best.counted / (best.start + len - best.end);
    const gap = Math.max(1, Math.round((best.end - best.start) * rate));
    return { n: best.counted + gap, consistent: false };
  }

  /** Walk record headers from the start of damaged bytes as far as they tile. */
  walkRecords(
    bytes: Uint8Array,
    off: number,
    len: number,
  ): {
    n: number;
    consistent: boolean;
    walked: number;
    marks: { at: number; n: number }[];
    firstBad: number;
  } {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lostSize = 24 + (this.#sampleIdAll ? SampleLayout.of(this.#format).trailer.size : 0);
    let n = 0;
    let consistent = true;
    let p = 0;
    const marks: { at: number; n: number }[] = [];
    let firstBad = -1;
    for (; p < len;) {
      if (!consistent && firstBad < 0) firstBad = marks.length - 1;
      marks.push({ at: p, n });
      if (p + HEADER_SIZE > len) break;
      const at = off + p;
      const type = v.getUint32(at, true);
      const size = v.getUint16(at + 6, true);
      if (size < HEADER_SIZE || size % 8 || p + size > len) break;
      if (type === RecordType.CALLRING_SYNC) {
        // The sync's own CRC may be what is damaged; its magic tells it from a flipped type.
        if (!hasSyncShape(v, at)) consistent = false;
      } else if (type === RecordType.LOST) {
        if (size !== lostSize || !this.lostIdAt(v, at)) consistent = false;
      } else if (type === RecordType.CALLRING_SUBBUF || type === RecordType.CALLRING_PAD) {
        if (type === RecordType.CALLRING_SUBBUF && size !== 48) consistent = false;
      } else {
        // A sync or LOST record whose type took a flip would be counted wrongly.
        const nearSync = popcount32(type ^ RecordType.CALLRING_SYNC) === 1 &&
          size === SYNC_RECORD_SIZE && syncMagicAt(v, at);
        const nearLost = popcount32(type ^ RecordType.LOST) === 1 && size === lostSize &&
          this.lostIdAt(v, at);
        if (nearSync || nearLost) consistent = false;
        if (type === RecordType.SAMPLE && !this.sampleFits(bytes, at, size)) consistent = false;
        if (!this.sizeFits(v, at, type, size)) consistent = false;
        if (type === RecordType.CALLRING_FRAGMENT) {
          try {
            decodeFragment(v, at);
          } catch {
            consistent = false;
          }
        }
        n++;
      }
      p += size;
    }
    if (!consistent && firstBad < 0) firstBad = marks.length - 1;
    return { n, consistent, walked: p, marks, firstBad };
  }

  /**
   * Whether a symbol, COMM, FORK or EXIT record has the size its own fields
   * imply (the side-band a recorder writes); other types are not checked here.
   */
  sizeFits(v: DataView, at: number, type: number, size: number): boolean {
    const trailer = this.#sampleIdAll ? SampleLayout.of(this.#format).trailer.size : 0;
    switch (type) {
      case RecordType.CALLRING_SYMBOL:
        return size === SYMBOL_HEADER_SIZE +
            ((v.getUint16(at + 28, true) + v.getUint16(at + 30, true) + 7) & ~7);
      case RecordType.FORK:
      case RecordType.EXIT:
        return size === HEADER_SIZE + 24 + trailer;
      case RecordType.COMM: {
        const start = at + HEADER_SIZE + 8;
        const end = at + size - trailer;
        let nul = start;
        while (nul < end && v.getUint8(nul) !== 0) nul++;
        return nul < end && size === HEADER_SIZE + 8 + ((nul - start + 8) & ~7) + trailer;
      }
    }
    return true;
  }

  /** Whether the u64 after the record header is an event id of the capture (any, without ids). */
  lostIdAt(v: DataView, at: number): boolean {
    return this.#ids.size === 0 || this.#ids.has(getU64(v, at + 8));
  }

  /** Whether a sample record's fields fill exactly its size (at least fit when fields follow the callchain). */
  sampleFits(bytes: Uint8Array, at: number, size: number): boolean {
    const rec = new DataView(bytes.buffer, bytes.byteOffset + at, size);
    try {
      decodeSample(rec, 0, this.#format);
      if (!(this.#format.sampleType & SampleType.CALLCHAIN)) return true;
      const cc = SampleLayout.of(this.#format).callchainAt(rec, 0);
      const end = cc + 8 + getU64(rec, cc) * 8;
      return (this.#format.sampleType & AFTER_CALLCHAIN) ? end <= size : end === size;
    } catch {
      return false;
    }
  }
}
