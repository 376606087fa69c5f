/**
 * `PERF_RECORD_SAMPLE` bodies for every `sample_type` bit, in the order the
 * kernel writes them (`perf_output_sample`) and perf parses them
 * (`evsel__parse_sample`): IDENTIFIER, IP, TID, TIME, ADDR, ID, STREAM_ID, CPU,
 * PERIOD, READ, CALLCHAIN, RAW, BRANCH_STACK, REGS_USER, STACK_USER, WEIGHT,
 * DATA_SRC, TRANSACTION, REGS_INTR, PHYS_ADDR, CGROUP, DATA_PAGE_SIZE,
 * CODE_PAGE_SIZE, AUX.
 *
 * @module
 */

import type { PerfEventAttr } from "./attr.ts";
import { BRANCH_HW_INDEX, HEADER_SIZE, ReadFormat, RecordType, SampleType } from "./constants.ts";
import { FormatError } from "./errors.ts";
import { align8 } from "./header.ts";
import { SampleLayout } from "./layout.ts";
import { getU64, setU64 } from "./u64.ts";

/** What a sample decoder needs to know about its event. */
export interface SampleFormat {
  /** `sample_type` bits. */
  sampleType: number;
  /** `read_format` bits. */
  readFormat: number;
  /** Number of registers in `sample_regs_user` (popcount). */
  regsUserCount: number;
  /** Number of registers in `sample_regs_intr` (popcount). */
  regsIntrCount: number;
  /** Whether branch stacks carry `hw_idx` (`PERF_SAMPLE_BRANCH_HW_INDEX`). */
  branchHwIndex: boolean;
}

function popcount64(mask: bigint): number {
  let n = 0;
  let m = BigInt.asUintN(64, mask);
  while (m !== 0n) {
    m &= m - 1n;
    n++;
  }
  return n;
}

/**
 * Derive the {@linkcode SampleFormat} of an attr.
 *
 * @param attr The event's attr.
 * @returns The format.
 */
export function sampleFormatOf(attr: PerfEventAttr): SampleFormat {
  return {
    sampleType: attr.sampleType,
    readFormat: attr.readFormat,
    regsUserCount: popcount64(attr.sampleRegsUser),
    regsIntrCount: popcount64(attr.sampleRegsIntr),
    branchHwIndex: (attr.branchSampleType & BRANCH_HW_INDEX) !== 0,
  };
}

/** One counter value of a READ group or single read. */
export interface ReadValue {
  /** Counter value. */
  value: number;
  /** Event id, when `PERF_FORMAT_ID`. */
  id?: number;
  /** Lost count, when `PERF_FORMAT_LOST`. */
  lost?: number;
}

/** `PERF_SAMPLE_READ` contents. */
export interface ReadValues {
  /** `total_time_enabled`, when requested. */
  timeEnabled?: number;
  /** `total_time_running`, when requested. */
  timeRunning?: number;
  /** One entry, or one per group member with `PERF_FORMAT_GROUP`. */
  values: ReadValue[];
}

/** A decoded sample. Absent fields (bit not in `sample_type`) are undefined. */
export interface Sample {
  /** `IDENTIFIER` id (first field). */
  identifier?: number;
  /** `IP`. */
  ip?: bigint;
  /** `TID`: process id. */
  pid?: number;
  /** `TID`: thread id. */
  tid?: number;
  /** `TIME` in nanoseconds (exact below 2^53). */
  time?: number;
  /** `ADDR`. */
  addr?: bigint;
  /** `ID`. */
  id?: number;
  /** `STREAM_ID`. */
  streamId?: number;
  /** `CPU`. */
  cpu?: number;
  /** The reserved u32 after `cpu`. */
  cpuRes?: number;
  /** `PERIOD`. */
  period?: number;
  /** `READ`. */
  read?: ReadValues;
  /** `CALLCHAIN` entries, leaf first, with PERF_CONTEXT_* markers. */
  callchain?: BigUint64Array;
  /** `RAW` payload (without the u32 size and padding). */
  raw?: Uint8Array;
  /** `BRANCH_STACK`: `hw_idx` (when recorded) and {from, to, flags} triples. */
  branchStack?: { hwIdx?: bigint; entries: BigUint64Array };
  /** `REGS_USER`: abi and registers (empty when abi is 0). */
  regsUser?: { abi: number; regs: BigUint64Array };
  /** `STACK_USER`: copied stack bytes and `dyn_size`. */
  stackUser?: { data: Uint8Array; dynSize: number };
  /** `WEIGHT` or `WEIGHT_STRUCT` (raw u64). */
  weight?: bigint;
  /** `DATA_SRC`. */
  dataSrc?: bigint;
  /** `TRANSACTION`. */
  transaction?: bigint;
  /** `REGS_INTR`. */
  regsIntr?: { abi: number; regs: BigUint64Array };
  /** `PHYS_ADDR`. */
  physAddr?: bigint;
  /** `CGROUP`. */
  cgroup?: bigint;
  /** `DATA_PAGE_SIZE`. */
  dataPageSize?: bigint;
  /** `CODE_PAGE_SIZE`. */
  codePageSize?: bigint;
  /** `AUX` payload. */
  aux?: Uint8Array;
}

function copyU64s(view: DataView, offset: number, count: number): BigUint64Array {
  const out = new BigUint64Array(count);
  new Uint8Array(out.buffer).set(new Uint8Array(view.buffer, view.byteOffset + offset, count * 8));
  return out;
}

function copyBytes(view: DataView, offset: number, count: number): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + offset, count).slice();
}

/**
 * Decode the body of a `PERF_RECORD_SAMPLE`.
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the record header in the view.
 * @param format The event's sample format.
 * @param fileOffset Offset of the record in its file, for error messages.
 * @returns The sample.
 * @throws {FormatError} When a field would run past the record's size.
 *
 * @example Decode what {@linkcode encodeSample} wrote
 * ```ts
 * import { decodeSample, encodeSample, SampleType } from "./mod.ts";
 * const format = { sampleType: SampleType.IP | SampleType.TID, readFormat: 0,
 *   regsUserCount: 0, regsIntrCount: 0, branchHwIndex: false };
 * const rec = encodeSample({ ip: 0x401000n, pid: 7, tid: 8 }, format);
 * console.log(decodeSample(new DataView(rec.buffer), 0, format).tid); // 8
 * ```
 */
export function decodeSample(
  view: DataView,
  offset: number,
  format: SampleFormat,
  fileOffset = offset,
): Sample {
  const size = view.getUint16(offset + 6, true);
  const end = offset + size;
  const t = format.sampleType;
  let p = offset + HEADER_SIZE;
  const need = (n: number, what: string) => {
    if (p + n > end) {
      throw new FormatError(
        `Cannot decode sample: ${what} runs past the ${size}-byte record`,
        fileOffset + (p - offset),
      );
    }
  };
  const s: Sample = {};
  if (t & SampleType.IDENTIFIER) {
    need(8, "identifier");
    s.identifier = getU64(view, p);
    p += 8;
  }
  if (t & SampleType.IP) {
    need(8, "ip");
    s.ip = view.getBigUint64(p, true);
    p += 8;
  }
  if (t & SampleType.TID) {
    need(8, "pid/tid");
    s.pid = view.getInt32(p, true);
    s.tid = view.getInt32(p + 4, true);
    p += 8;
  }
  if (t & SampleType.TIME) {
    need(8, "time");
    s.time = getU64(view, p);
    p += 8;
  }
  if (t & SampleType.ADDR) {
    need(8, "addr");
    s.addr = view.getBigUint64(p, true);
    p += 8;
  }
  if (t & SampleType.ID) {
    need(8, "id");
    s.id = getU64(view, p);
    p += 8;
  }
  if (t & SampleType.STREAM_ID) {
    need(8, "stream_id");
    s.streamId = getU64(view, p);
    p += 8;
  }
  if (t & SampleType.CPU) {
    need(8, "cpu");
    s.cpu = view.getUint32(p, true);
    s.cpuRes = view.getUint32(p + 4, true);
    p += 8;
  }
  if (t & SampleType.PERIOD) {
    need(8, "period");
    s.period = getU64(view, p);
    p += 8;
  }
  if (t & SampleType.READ) {
    const rf = format.readFormat;
    const read: ReadValues = { values: [] };
    const perValue = 1 + (rf & ReadFormat.ID ? 1 : 0) + (rf & ReadFormat.LOST ? 1 : 0);
    let nr = 1;
    if (rf & ReadFormat.GROUP) {
      need(8, "read nr");
      nr = getU64(view, p);
      p += 8;
    }
    const head = rf & ReadFormat.GROUP ? 0 : 1; // non-group: value comes first
    if (head) {
      need(8, "read value");
      read.values.push({ value: getU64(view, p) });
      p += 8;
    }
    if (rf & ReadFormat.TOTAL_TIME_ENABLED) {
      need(8, "read time_enabled");
      read.timeEnabled = getU64(view, p);
      p += 8;
    }
    if (rf & ReadFormat.TOTAL_TIME_RUNNING) {
      need(8, "read time_running");
      read.timeRunning = getU64(view, p);
      p += 8;
    }
    if (head) {
      const v = read.values[0]!;
      if (rf & ReadFormat.ID) {
        need(8, "read id");
        v.id = getU64(view, p);
        p += 8;
      }
      if (rf & ReadFormat.LOST) {
        need(8, "read lost");
        v.lost = getU64(view, p);
        p += 8;
      }
    } else {
      need(nr * perValue * 8, `read group of ${nr}`);
      for (let i = 0; i < nr; i++) {
        const v: ReadValue = { value: getU64(view, p) };
        p += 8;
        if (rf & ReadFormat.ID) v.id = getU64(view, (p += 8) - 8);
        if (rf & ReadFormat.LOST) v.lost = getU64(view, (p += 8) - 8);
        read.values.push(v);
      }
    }
    s.read = read;
  }
  if (t & SampleType.CALLCHAIN) {
    need(8, "callchain nr");
    const nr = getU64(view, p);
    p += 8;
    need(nr * 8, `callchain of ${nr} entries`);
    s.callchain = copyU64s(view, p, nr);
    p += nr * 8;
  }
  if (t & SampleType.RAW) {
    need(4, "raw size");
    const rawSize = view.getUint32(p, true);
    need(4 + rawSize, `raw data of ${rawSize} bytes`);
    s.raw = copyBytes(view, p + 4, rawSize);
    p += align8(4 + rawSize);
  }
  if (t & SampleType.BRANCH_STACK) {
    need(8, "branch nr");
    const nr = getU64(view, p);
    p += 8;
    const bs: { hwIdx?: bigint; entries: BigUint64Array } = { entries: new BigUint64Array(0) };
    if (format.branchHwIndex) {
      need(8, "branch hw_idx");
      bs.hwIdx = view.getBigUint64(p, true);
      p += 8;
    }
    need(nr * 24, `branch stack of ${nr} entries`);
    bs.entries = copyU64s(view, p, nr * 3);
    p += nr * 24;
    s.branchStack = bs;
  }
  const regs = (count: number, what: string) => {
    need(8, `${what} abi`);
    const abi = getU64(view, p);
    p += 8;
    const n = abi === 0 ? 0 : count;
    need(n * 8, `${what} of ${n} registers`);
    const r = copyU64s(view, p, n);
    p += n * 8;
    return { abi, regs: r };
  };
  if (t & SampleType.REGS_USER) s.regsUser = regs(format.regsUserCount, "regs_user");
  if (t & SampleType.STACK_USER) {
    need(8, "stack_user size");
    const n = getU64(view, p);
    p += 8;
    need(n, `stack_user of ${n} bytes`);
    const data = copyBytes(view, p, n);
    p += n;
    let dynSize = 0;
    if (n !== 0) {
      need(8, "stack_user dyn_size");
      dynSize = getU64(view, p);
      p += 8;
    }
    s.stackUser = { data, dynSize };
  }
  const big = (what: string): bigint => {
    need(8, what);
    const v = view.getBigUint64(p, true);
    p += 8;
    return v;
  };
  if (t & (SampleType.WEIGHT | SampleType.WEIGHT_STRUCT)) s.weight = big("weight");
  if (t & SampleType.DATA_SRC) s.dataSrc = big("data_src");
  if (t & SampleType.TRANSACTION) s.transaction = big("transaction");
  if (t & SampleType.REGS_INTR) s.regsIntr = regs(format.regsIntrCount, "regs_intr");
  if (t & SampleType.PHYS_ADDR) s.physAddr = big("phys_addr");
  if (t & SampleType.CGROUP) s.cgroup = big("cgroup");
  if (t & SampleType.DATA_PAGE_SIZE) s.dataPageSize = big("data_page_size");
  if (t & SampleType.CODE_PAGE_SIZE) s.codePageSize = big("code_page_size");
  if (t & SampleType.AUX) {
    need(8, "aux size");
    const n = getU64(view, p);
    p += 8;
    need(n, `aux data of ${n} bytes`);
    s.aux = copyBytes(view, p, n);
    p += n;
  }
  return s;
}

/** u64 entries per callchain arena of {@linkcode SampleDecoder} (16 KiB). */
const ARENA_ENTRIES = 2048;
/** Callchains longer than this get their own array instead of arena space. */
const ARENA_MAX_CHAIN = ARENA_ENTRIES >> 2;

let arena = new ArrayBuffer(ARENA_ENTRIES * 8);
let arenaWords = new Uint32Array(arena);
let arenaUsed = 0;

/** Copy `count` u64s at `offset` of `view` into arena space (a fresh array for long ones). */
function arenaU64s(view: DataView, offset: number, count: number): BigUint64Array {
  if (count > ARENA_MAX_CHAIN) return copyU64s(view, offset, count);
  if (arenaUsed + count > ARENA_ENTRIES) {
    arena = new ArrayBuffer(ARENA_ENTRIES * 8);
    arenaWords = new Uint32Array(arena);
    arenaUsed = 0;
  }
  const words = arenaWords;
  const base = arenaUsed * 2;
  for (let i = 0, n = count * 2; i < n; i++) words[base + i] = view.getUint32(offset + 4 * i, true);
  const out = new BigUint64Array(arena, arenaUsed * 8, count);
  arenaUsed += count;
  return out;
}

/** sample_type bits {@linkcode SampleDecoder} decodes itself (all others go to {@linkcode decodeSample}). */
const SIMPLE_SAMPLE_BITS = SampleType.IDENTIFIER | SampleType.IP | SampleType.TID |
  SampleType.TIME | SampleType.ADDR | SampleType.ID | SampleType.STREAM_ID | SampleType.CPU |
  SampleType.PERIOD | SampleType.READ | SampleType.CALLCHAIN;

/**
 * A {@linkcode decodeSample} specialised for one sample format, for hot
 * loops. Formats made only of fixed fields, a non-group READ and a
 * callchain (what `perf record -g` writes) are decoded without closures,
 * with the field offsets precomputed; any other format is handed to
 * {@linkcode decodeSample}.
 *
 * Unlike {@linkcode decodeSample}, short callchains are not separate
 * buffers: each is a view of its own, never reused, range of a shared
 * 16 KiB arena (so use `byteOffset` and `length`, not the whole `buffer`).
 *
 * @example
 * ```ts
 * import { encodeSample, SampleDecoder, SampleType } from "./mod.ts";
 * const format = { sampleType: SampleType.IP | SampleType.CALLCHAIN, readFormat: 0,
 *   regsUserCount: 0, regsIntrCount: 0, branchHwIndex: false };
 * const rec = encodeSample({ ip: 1n, callchain: BigUint64Array.of(1n, 2n) }, format);
 * const dec = new SampleDecoder(format);
 * const view = new DataView(rec.buffer);
 * console.log(dec.fits(view, 0), dec.decode(view, 0).callchain?.length); // true 2
 * ```
 */
export class SampleDecoder {
  /** The format decoded. */
  readonly format: SampleFormat;
  /** Whether this decoder handles the format itself (else it calls {@linkcode decodeSample}). */
  readonly simple: boolean;
  /** Offset from the record start of the callchain `nr` (or of the end of the fixed fields). */
  readonly #fixedEnd: number;
  readonly #t: number;
  readonly #rf: number;

  /**
   * Create a decoder.
   *
   * @param format The event's sample format.
   */
  constructor(format: SampleFormat) {
    this.format = format;
    const t = format.sampleType;
    const rf = format.readFormat;
    this.#t = t;
    this.#rf = rf;
    this.simple = (t & ~SIMPLE_SAMPLE_BITS) === 0 &&
      (!(t & SampleType.READ) || !(rf & ReadFormat.GROUP));
    this.#fixedEnd = SampleLayout.of(format).fixedEnd;
  }

  /**
   * Whether {@linkcode SampleDecoder.decode} succeeds on a record, checked
   * without decoding: for a simple format, false exactly when
   * {@linkcode decodeSample} would throw. Always false for other formats.
   *
   * @param view The view holding the record (all of its `size` bytes).
   * @param offset Offset of the record header.
   * @returns Whether the record is well formed.
   */
  fits(view: DataView, offset: number): boolean {
    if (!this.simple) return false;
    const size = view.getUint16(offset + 6, true);
    const p = this.#fixedEnd;
    if (p > size) return false;
    if (!(this.#t & SampleType.CALLCHAIN)) return true;
    if (p + 8 > size) return false;
    if (view.getUint32(offset + p + 4, true) !== 0) return false;
    return p + 8 + view.getUint32(offset + p, true) * 8 <= size;
  }

  /**
   * Decode a sample, as {@linkcode decodeSample} does.
   *
   * @param view The view holding the record.
   * @param offset Offset of the record header.
   * @param fileOffset Offset of the record in its file, for error messages.
   * @returns The sample.
   * @throws {FormatError} When a field would run past the record's size.
   */
  decode(view: DataView, offset: number, fileOffset: number = offset): Sample {
    if (!this.fits(view, offset)) return decodeSample(view, offset, this.format, fileOffset);
    const t = this.#t;
    let p = offset + HEADER_SIZE;
    const s: Sample = {};
    if (t & SampleType.IDENTIFIER) {
      s.identifier = getU64(view, p);
      p += 8;
    }
    if (t & SampleType.IP) {
      s.ip = view.getBigUint64(p, true);
      p += 8;
    }
    if (t & SampleType.TID) {
      s.pid = view.getInt32(p, true);
      s.tid = view.getInt32(p + 4, true);
      p += 8;
    }
    if (t & SampleType.TIME) {
      s.time = getU64(view, p);
      p += 8;
    }
    if (t & SampleType.ADDR) {
      s.addr = view.getBigUint64(p, true);
      p += 8;
    }
    if (t & SampleType.ID) {
      s.id = getU64(view, p);
      p += 8;
    }
    if (t & SampleType.STREAM_ID) {
      s.streamId = getU64(view, p);
      p += 8;
    }
    if (t & SampleType.CPU) {
      s.cpu = view.getUint32(p, true);
      s.cpuRes = view.getUint32(p + 4, true);
      p += 8;
    }
    if (t & SampleType.PERIOD) {
      s.period = getU64(view, p);
      p += 8;
    }
    if (t & SampleType.READ) {
      const rf = this.#rf;
      const v: ReadValue = { value: getU64(view, p) };
      const read: ReadValues = { values: [v] };
      p += 8;
      if (rf & ReadFormat.TOTAL_TIME_ENABLED) {
        read.timeEnabled = getU64(view, p);
        p += 8;
      }
      if (rf & ReadFormat.TOTAL_TIME_RUNNING) {
        read.timeRunning = getU64(view, p);
        p += 8;
      }
      if (rf & ReadFormat.ID) {
        v.id = getU64(view, p);
        p += 8;
      }
      if (rf & ReadFormat.LOST) {
        v.lost = getU64(view, p);
        p += 8;
      }
      s.read = read;
    }
    if (t & SampleType.CALLCHAIN) {
      s.callchain = arenaU64s(view, p + 8, view.getUint32(p, true)); // fits(): nr < 2^32
    }
    return s;
  }
}

/** Growable little-endian byte writer used by the encoders. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  /** Bytes written so far. */
  length = 0;

  /**
   * Create an empty writer.
   *
   * @param capacity Initial capacity in bytes.
   */
  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #reserve(n: number): number {
    const at = this.length;
    if (at + n > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, at + n));
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.length += n;
    return at;
  }

  /** Append a u16. @param v The value. */
  u16(v: number): void {
    const at = this.#reserve(2);
    this.#view.setUint16(at, v, true);
  }
  /** Append a u32. @param v The value. */
  u32(v: number): void {
    const at = this.#reserve(4);
    this.#view.setUint32(at, v >>> 0, true);
  }
  /** Append an s32. @param v The value. */
  i32(v: number): void {
    const at = this.#reserve(4);
    this.#view.setInt32(at, v, true);
  }
  /** Append a u64 given as a number. @param v The value. */
  u64(v: number): void {
    const at = this.#reserve(8);
    setU64(this.#view, at, v);
  }
  /** Append a u64 given as a bigint. @param v The value. */
  big(v: bigint): void {
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, BigInt.asUintN(64, v), true);
  }
  /** Append raw bytes. @param b The bytes. */
  bytes(b: Uint8Array): void {
    const at = this.#reserve(b.length);
    this.#buf.set(b, at);
  }
  /** Append zero bytes up to the next multiple of 8. */
  pad8(): void {
    const n = align8(this.length) - this.length;
    if (n) {
      const at = this.#reserve(n);
      this.#buf.fill(0, at, this.length);
    }
  }
  /** Append a NUL-terminated string padded with zeros to a multiple of 8. @param s The string. */
  cstring8(s: string): void {
    this.bytes(new TextEncoder().encode(s));
    const n = align8(this.length + 1) - this.length;
    const at = this.#reserve(n);
    this.#buf.fill(0, at, this.length);
  }
  /** Overwrite a u16 at an absolute position. @param at Position. @param v Value. */
  patchU16(at: number, v: number): void {
    this.#view.setUint16(at, v, true);
  }
  /** The bytes written (a copy). @returns The bytes. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

/**
 * Encode a `PERF_RECORD_SAMPLE` record (header included).
 *
 * @param s The sample; every field its `sample_type` asks for must be present
 *   (missing numeric fields encode as 0).
 * @param format The event's sample format.
 * @param misc The header `misc` bits (cpumode), default `PERF_RECORD_MISC_USER`.
 * @returns The record bytes.
 * @throws {RangeError} When the record exceeds 65535 bytes.
 */
export function encodeSample(s: Sample, format: SampleFormat, misc = 2): Uint8Array {
  const w = new ByteWriter(64 + (s.callchain?.length ?? 0) * 8);
  const t = format.sampleType;
  w.u32(RecordType.SAMPLE);
  w.u16(misc);
  w.u16(0);
  if (t & SampleType.IDENTIFIER) w.u64(s.identifier ?? 0);
  if (t & SampleType.IP) w.big(s.ip ?? 0n);
  if (t & SampleType.TID) {
    w.i32(s.pid ?? 0);
    w.i32(s.tid ?? 0);
  }
  if (t & SampleType.TIME) w.u64(s.time ?? 0);
  if (t & SampleType.ADDR) w.big(s.addr ?? 0n);
  if (t & SampleType.ID) w.u64(s.id ?? 0);
  if (t & SampleType.STREAM_ID) w.u64(s.streamId ?? 0);
  if (t & SampleType.CPU) {
    w.u32(s.cpu ?? 0);
    w.u32(s.cpuRes ?? 0);
  }
  if (t & SampleType.PERIOD) w.u64(s.period ?? 0);
  if (t & SampleType.READ) {
    const rf = format.readFormat;
    const values = s.read?.values ?? [{ value: 0 }];
    if (rf & ReadFormat.GROUP) w.u64(values.length);
    else w.u64(values[0]?.value ?? 0);
    if (rf & ReadFormat.TOTAL_TIME_ENABLED) w.u64(s.read?.timeEnabled ?? 0);
    if (rf & ReadFormat.TOTAL_TIME_RUNNING) w.u64(s.read?.timeRunning ?? 0);
    const rest = rf & ReadFormat.GROUP ? values : values.slice(0, 1);
    for (const v of rest) {
      if (rf & ReadFormat.GROUP) w.u64(v.value);
      if (rf & ReadFormat.ID) w.u64(v.id ?? 0);
      if (rf & ReadFormat.LOST) w.u64(v.lost ?? 0);
    }
  }
  if (t & SampleType.CALLCHAIN) {
    const cc = s.callchain ?? new BigUint64Array(0);
    w.u64(cc.length);
    w.bytes(new Uint8Array(cc.buffer, cc.byteOffset, cc.byteLength));
  }
  if (t & SampleType.RAW) {
    const raw = s.raw ?? new Uint8Array(0);
    w.u32(raw.length);
    w.bytes(raw);
    w.pad8();
  }
  if (t & SampleType.BRANCH_STACK) {
    const e = s.branchStack?.entries ?? new BigUint64Array(0);
    w.u64(e.length / 3);
    if (format.branchHwIndex) w.big(s.branchStack?.hwIdx ?? 0n);
    w.bytes(new Uint8Array(e.buffer, e.byteOffset, e.byteLength));
  }
  const regs = (r: { abi: number; regs: BigUint64Array } | undefined) => {
    w.u64(r?.abi ?? 0);
    if (r && r.abi !== 0) {
      w.bytes(new Uint8Array(r.regs.buffer, r.regs.byteOffset, r.regs.byteLength));
    }
  };
  if (t & SampleType.REGS_USER) regs(s.regsUser);
  if (t & SampleType.STACK_USER) {
    const data = s.stackUser?.data ?? new Uint8Array(0);
    w.u64(data.length);
    w.bytes(data);
    if (data.length !== 0) w.u64(s.stackUser?.dynSize ?? 0);
  }
  if (t & (SampleType.WEIGHT | SampleType.WEIGHT_STRUCT)) w.big(s.weight ?? 0n);
  if (t & SampleType.DATA_SRC) w.big(s.dataSrc ?? 0n);
  if (t & SampleType.TRANSACTION) w.big(s.transaction ?? 0n);
  if (t & SampleType.REGS_INTR) regs(s.regsIntr);
  if (t & SampleType.PHYS_ADDR) w.big(s.physAddr ?? 0n);
  if (t & SampleType.CGROUP) w.big(s.cgroup ?? 0n);
  if (t & SampleType.DATA_PAGE_SIZE) w.big(s.dataPageSize ?? 0n);
  if (t & SampleType.CODE_PAGE_SIZE) w.big(s.codePageSize ?? 0n);
  if (t & SampleType.AUX) {
    const aux = s.aux ?? new Uint8Array(0);
    w.u64(aux.length);
    w.bytes(aux);
  }
  w.pad8();
  if (w.length > 0xffff) {
    throw new RangeError(`Cannot encode sample: record of ${w.length} bytes exceeds 65535`);
  }
  w.patchU16(6, w.length);
  return w.finish();
}
