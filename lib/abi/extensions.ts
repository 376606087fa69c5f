/**
 * callring extension records (type range 0x4c00-0x4cff, never written to a
 * perf.data): the continuation **fragment** (`CALLRING_FRAGMENT`, 0x4c00),
 * the **sync point** (`CALLRING_SYNC`, 0x4c01), the simulator's
 * **symbol** (`CALLRING_SYMBOL`, 0x4c02), the sub-buffer header, padding and compact fragment
 * (0x4c03-0x4c05) and a flight recorder's **overwritten count** (`CALLRING_OVERWRITTEN`,
 * 0x4c06). Layout codecs only; CRC
 * computation and validation live in `lib/ring/sync.ts`.
 *
 * Fragment record (`32 + 8 * count` bytes):
 *
 * | off | size | field |
 * |---|---|---|
 * | 0 | 8 | `perf_event_header` {type 0x4c00, misc 0, size} |
 * | 8 | 8 | event id = `cpu << 48 \| seq` (seq >= 1, per CPU) |
 * | 16 | 4 | index (1..n; index 0 is the head sample itself) |
 * | 20 | 4 | flags: bit 0 FIRST (index 1), bit 1 LAST |
 * | 24 | 4 | total callchain entries of the whole event (head + all fragments) |
 * | 28 | 4 | count of entries in this fragment |
 * | 32 | 8 * count | callchain entries (u64) |
 *
 * The head of a fragmented event is an ordinary `PERF_RECORD_SAMPLE` whose
 * callchain holds the first chunk of entries and whose `cpu.res` u32 (the
 * reserved half of `PERF_SAMPLE_CPU`, always 0 from the kernel and ignored by
 * perf) holds `seq`; its event id is then `cpu << 48 | res`. A perf-ABI reader
 * that ignores fragments sees a valid sample with a truncated callchain.
 *
 * Sync record (64 bytes):
 *
 * | off | size | field |
 * |---|---|---|
 * | 0 | 8 | `perf_event_header` {type 0x4c01, misc 0, size 64} |
 * | 8 | 16 | magic {@linkcode SYNC_MAGIC} |
 * | 24 | 8 | sequence number (0, 1, 2, ... per stream) |
 * | 32 | 8 | time (ns, the time of the record that follows) |
 * | 40 | 8 | own stream offset (the ring's free-running position of this record) |
 * | 48 | 8 | stream offset of the previous sync (= own offset for seq 0) |
 * | 56 | 4 | cpu |
 * | 60 | 4 | CRC-32 of bytes 0..59 |
 *
 * @module
 */

import { RecordType } from "./constants.ts";
import { FormatError } from "./errors.ts";
import { getU64, getU64Big, setU64, setU64Big } from "./u64.ts";

/** Bytes before the entries of a fragment record. */
export const FRAGMENT_HEADER_SIZE = 32;
/** Most entries one fragment record can hold (`size` is a u16). */
export const FRAGMENT_MAX_ENTRIES: number = Math.floor((0xfff8 - FRAGMENT_HEADER_SIZE) / 8);
/** Flags of a fragment record. */
export const FragmentFlag = { FIRST: 1, LAST: 2 } as const;

/** Size of a sync record. */
export const SYNC_RECORD_SIZE = 64;
/** Offset of the CRC-32 inside a sync record; the CRC covers the bytes before it. */
export const SYNC_CRC_OFFSET = 60;
/** The 16-byte sync cookie ("callring\xc1\xfcsync\x00\x01" style: ASCII + high bytes). */
export const SYNC_MAGIC: Uint8Array = Uint8Array.of(
  0x63,
  0x61,
  0x6c,
  0x6c,
  0x72,
  0x69,
  0x6e,
  0x67, // "callring"
  0xc1,
  0xfc,
  0x73,
  0x79,
  0x6e,
  0x63,
  0x9e,
  0x01, // 0xc1 0xfc "sync" 0x9e 0x01
);
/** The magic as four little-endian u32 words, for fast comparison. */
export const SYNC_MAGIC_WORDS: Uint32Array = new Uint32Array(SYNC_MAGIC.slice().buffer);

const TWO_32 = 2 ** 32;

/**
 * The in-memory key of a fragmented event, `cpu * 2^32 + seq`: exact as a
 * number, unlike the wire form `cpu << 48 | seq` (which exceeds 2^53 for cpu >= 32).
 *
 * @param cpu CPU number (< 65536).
 * @param seq Per-CPU sequence number (1 .. 2^32-1: it also travels in the head sample's `cpu.res`).
 * @returns The key.
 *
 * @example
 * ```ts
 * import { fragmentEventKey } from "./extensions.ts";
 * console.log(fragmentEventKey(1, 5)); // 4294967301
 * ```
 */
export function fragmentEventKey(cpu: number, seq: number): number {
  return cpu * TWO_32 + seq;
}

/** A decoded fragment record; `entries` views the source bytes (copy to keep). */
export interface Fragment {
  /** CPU half of the event id. */
  cpu: number;
  /** Sequence half of the event id. */
  seq: number;
  /** {@linkcode fragmentEventKey} of (cpu, seq). */
  eventKey: number;
  /** Fragment index (1..n). */
  index: number;
  /** {@linkcode FragmentFlag} bits. */
  flags: number;
  /** Total entries of the whole callchain. */
  total: number;
  /** Entries in this fragment. */
  count: number;
  /** Byte offset of the first entry in the view. */
  entriesOffset: number;
}

/**
 * Write a fragment record header; the caller writes `count` u64 entries after it.
 *
 * @param view Destination.
 * @param offset Byte offset of the record.
 * @param cpu CPU half of the event id (< 65536).
 * @param seq Sequence half of the event id (< 2^32).
 * @param index Fragment index (1..n).
 * @param flags {@linkcode FragmentFlag} bits.
 * @param total Total entries of the event.
 * @param count Entries in this fragment.
 * @returns The record size (`32 + 8 * count`).
 * @throws {RangeError} When `count` exceeds {@linkcode FRAGMENT_MAX_ENTRIES}.
 */
export function encodeFragmentHeader(
  view: DataView,
  offset: number,
  cpu: number,
  seq: number,
  index: number,
  flags: number,
  total: number,
  count: number,
): number {
  if (count > FRAGMENT_MAX_ENTRIES) {
    throw new RangeError(
      `Cannot encode fragment: ${count} entries exceed the ${FRAGMENT_MAX_ENTRIES} a record holds`,
    );
  }
  const size = FRAGMENT_HEADER_SIZE + count * 8;
  view.setUint32(offset, RecordType.CALLRING_FRAGMENT, true);
  view.setUint16(offset + 4, 0, true);
  view.setUint16(offset + 6, size, true);
  view.setUint32(offset + 8, seq >>> 0, true);
  view.setUint32(offset + 12, (cpu << 16) >>> 0, true);
  view.setUint32(offset + 16, index, true);
  view.setUint32(offset + 20, flags, true);
  view.setUint32(offset + 24, total, true);
  view.setUint32(offset + 28, count, true);
  return size;
}

/**
 * Decode a fragment record.
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the record header.
 * @param fileOffset Offset used in error messages.
 * @returns The fragment (entries stay in `view`).
 * @throws {FormatError} When the type is wrong or `count` disagrees with `size`.
 */
export function decodeFragment(view: DataView, offset: number, fileOffset = offset): Fragment {
  const type = view.getUint32(offset, true);
  const size = view.getUint16(offset + 6, true);
  if (type !== RecordType.CALLRING_FRAGMENT) {
    throw new FormatError(
      `Cannot decode fragment: record type is 0x${type.toString(16)}`,
      fileOffset,
    );
  }
  if (size < FRAGMENT_HEADER_SIZE) {
    throw new FormatError(`Cannot decode fragment: size ${size} is below 32`, fileOffset);
  }
  const count = view.getUint32(offset + 28, true);
  if (FRAGMENT_HEADER_SIZE + count * 8 !== size) {
    throw new FormatError(
      `Cannot decode fragment: ${count} entries do not fill the ${size}-byte record`,
      fileOffset,
    );
  }
  const hi = view.getUint32(offset + 12, true);
  if (hi & 0xffff) {
    throw new FormatError(`Cannot decode fragment: event id bits 32-47 are not zero`, fileOffset);
  }
  const cpu = hi >>> 16;
  const seq = view.getUint32(offset + 8, true);
  return {
    cpu,
    seq,
    eventKey: fragmentEventKey(cpu, seq),
    index: view.getUint32(offset + 16, true),
    flags: view.getUint32(offset + 20, true),
    total: view.getUint32(offset + 24, true),
    count,
    entriesOffset: offset + FRAGMENT_HEADER_SIZE,
  };
}

/** A decoded sync record. */
export interface SyncPoint {
  /** Sequence number in its stream. */
  seq: number;
  /** Time in ns. */
  time: number;
  /** The record's own stream offset. */
  streamOffset: number;
  /** Stream offset of the previous sync point (own offset for the first). */
  prevOffset: number;
  /** CPU of the stream. */
  cpu: number;
  /** The stored CRC-32 of bytes 0..59. */
  crc: number;
}

/**
 * Write a sync record without its CRC (bytes 60..63 are zeroed); the caller
 * computes the CRC over bytes 0..59 and stores it at {@linkcode SYNC_CRC_OFFSET}.
 *
 * @param view Destination.
 * @param offset Byte offset of the record.
 * @param sync The fields (`crc` is ignored).
 */
export function encodeSyncFields(
  view: DataView,
  offset: number,
  sync: Omit<SyncPoint, "crc">,
): void {
  view.setUint32(offset, RecordType.CALLRING_SYNC, true);
  view.setUint16(offset + 4, 0, true);
  view.setUint16(offset + 6, SYNC_RECORD_SIZE, true);
  for (let i = 0; i < 4; i++) view.setUint32(offset + 8 + i * 4, SYNC_MAGIC_WORDS[i], true);
  setU64(view, offset + 24, sync.seq);
  setU64(view, offset + 32, sync.time);
  setU64(view, offset + 40, sync.streamOffset);
  setU64(view, offset + 48, sync.prevOffset);
  view.setUint32(offset + 56, sync.cpu, true);
  view.setUint32(offset + SYNC_CRC_OFFSET, 0, true);
}

/**
 * Decode the fields of a sync record (no validation beyond the layout).
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the record header.
 * @returns The fields.
 */
export function decodeSyncFields(view: DataView, offset: number): SyncPoint {
  return {
    seq: getU64(view, offset + 24),
    time: getU64(view, offset + 32),
    streamOffset: getU64(view, offset + 40),
    prevOffset: getU64(view, offset + 48),
    cpu: view.getUint32(offset + 56, true),
    crc: view.getUint32(offset + SYNC_CRC_OFFSET, true),
  };
}

/**
 * Whether the 16 bytes at `offset + 8` are {@linkcode SYNC_MAGIC} and the header says SYNC/64.
 *
 * @param view The view.
 * @param offset Candidate record offset.
 * @returns True when header and magic match (CRC not checked).
 */
export function hasSyncShape(view: DataView, offset: number): boolean {
  return view.getUint32(offset, true) === RecordType.CALLRING_SYNC &&
    view.getUint16(offset + 6, true) === SYNC_RECORD_SIZE &&
    view.getUint32(offset + 8, true) === SYNC_MAGIC_WORDS[0] &&
    view.getUint32(offset + 12, true) === SYNC_MAGIC_WORDS[1] &&
    view.getUint32(offset + 16, true) === SYNC_MAGIC_WORDS[2] &&
    view.getUint32(offset + 20, true) === SYNC_MAGIC_WORDS[3];
}

/** Bytes before the name of a symbol record. */
export const SYMBOL_HEADER_SIZE = 32;

/** Flag bits of a symbol record. */
export const SymbolFlag = {
  /** The range is kernel text (`PERF_RECORD_MISC_KERNEL` addresses). */
  KERNEL: 1,
} as const;

/**
 * One symbol of a simulated machine, as carried by a `CALLRING_SYMBOL`
 * record (type 0x4c02): simulated captures name their own code, the way
 * perf.data relies on MMAP records and files on disk.
 *
 * | off | size | field |
 * |---|---|---|
 * | 0 | 8 | `perf_event_header` {type 0x4c02, misc 0, size} |
 * | 8 | 8 | start address |
 * | 16 | 8 | end address (exclusive) |
 * | 24 | 4 | flags (bit 0 KERNEL) |
 * | 28 | 2 | name length in bytes (UTF-8) |
 * | 30 | 2 | dso length in bytes (UTF-8) |
 * | 32 | ... | name, then dso, zero-padded to 8 bytes |
 */
export interface SymbolRecord {
  /** First address. */
  start: bigint;
  /** One past the last address. */
  end: bigint;
  /** Kernel text? */
  kernel: boolean;
  /** Function name. */
  name: string;
  /** Object name (`[kernel.kallsyms]`, `app`, `libc.so.6`). */
  dso: string;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * Encode a `CALLRING_SYMBOL` record.
 *
 * @param s The symbol.
 * @returns The record bytes (header included, 8-aligned).
 * @throws {RangeError} When the name or dso is longer than 65535 bytes or the record exceeds 65528.
 * @example
 * ```ts
 * import { decodeSymbolRecord, encodeSymbolRecord } from "./extensions.ts";
 * const bytes = encodeSymbolRecord({ start: 0x400000n, end: 0x400100n, kernel: false, name: "main", dso: "app" });
 * console.log(decodeSymbolRecord(new DataView(bytes.buffer), 0).name); // "main"
 * ```
 */
export function encodeSymbolRecord(s: SymbolRecord): Uint8Array {
  const name = utf8.encode(s.name);
  const dso = utf8.encode(s.dso);
  const size = (SYMBOL_HEADER_SIZE + name.length + dso.length + 7) & ~7;
  if (name.length > 0xffff || dso.length > 0xffff || size > 0xfff8) {
    throw new RangeError(`Cannot encode symbol "${s.name.slice(0, 40)}": record too large`);
  }
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, RecordType.CALLRING_SYMBOL, true);
  v.setUint16(6, size, true);
  setU64Big(v, 8, s.start);
  setU64Big(v, 16, s.end);
  v.setUint32(24, s.kernel ? SymbolFlag.KERNEL : 0, true);
  v.setUint16(28, name.length, true);
  v.setUint16(30, dso.length, true);
  out.set(name, SYMBOL_HEADER_SIZE);
  out.set(dso, SYMBOL_HEADER_SIZE + name.length);
  return out;
}

/**
 * Decode a `CALLRING_SYMBOL` record.
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the record header.
 * @param fileOffset Offset to name in errors (default `offset`).
 * @returns The symbol.
 * @throws {FormatError} When the type is wrong or the lengths overrun the record.
 */
export function decodeSymbolRecord(
  view: DataView,
  offset: number,
  fileOffset = offset,
): SymbolRecord {
  const type = view.getUint32(offset, true);
  const size = view.getUint16(offset + 6, true);
  if (type !== RecordType.CALLRING_SYMBOL || size < SYMBOL_HEADER_SIZE) {
    throw new FormatError(
      `Not a symbol record: type 0x${type.toString(16)} size ${size}`,
      fileOffset,
    );
  }
  const nameLen = view.getUint16(offset + 28, true);
  const dsoLen = view.getUint16(offset + 30, true);
  if (SYMBOL_HEADER_SIZE + nameLen + dsoLen > size || offset + size > view.byteLength) {
    throw new FormatError(
      `Symbol record lengths overrun the record: name ${nameLen} + dso ${dsoLen} in ${size} bytes`,
      fileOffset,
    );
  }
  const base = view.byteOffset + offset + SYMBOL_HEADER_SIZE;
  const bytes = new Uint8Array(view.buffer, base, nameLen + dsoLen);
  return {
    start: getU64Big(view, offset + 8),
    end: getU64Big(view, offset + 16),
    kernel: (view.getUint32(offset + 24, true) & SymbolFlag.KERNEL) !== 0,
    name: fromUtf8.decode(bytes.subarray(0, nameLen)),
    dso: fromUtf8.decode(bytes.subarray(nameLen)),
  };
}

/**
 * Bytes before the entries of a compact fragment record (`CALLRING_FRAGMENT_COMPACT`, 0x4c05):
 * the perf header and one u64 cookie, Peter's "a header (u64), a cookie (u64) and the entry
 * (u64)" (seed L9262-9265).
 *
 * | off | size | field |
 * |---|---|---|
 * | 0 | 8 | `perf_event_header` {type 0x4c05, misc = {@linkcode FragmentFlag} bits, size} |
 * | 8 | 4 | seq (the head sample's `cpu.res`) |
 * | 12 | 2 | index (1..65535) |
 * | 14 | 2 | cpu |
 * | 16 | 8 * count | callchain entries; count = (size - 16) / 8 |
 *
 * It carries no total: the event is complete when the LAST piece and every index before it
 * arrived.
 */
export const COMPACT_FRAGMENT_HEADER_SIZE = 16;
/** Most entries one compact fragment holds (`size` is a u16). */
export const COMPACT_FRAGMENT_MAX_ENTRIES: number = Math.floor(
  (0xfff8 - COMPACT_FRAGMENT_HEADER_SIZE) / 8,
);

/**
 * Decode a full (0x4c00) or compact (0x4c05) fragment record; a compact one reports `total` 0
 * (unknown until the LAST piece).
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the record header.
 * @param fileOffset Offset used in error messages.
 * @returns The fragment (entries stay in `view`).
 * @throws {FormatError} When the type is neither fragment type or the sizes disagree.
 *
 * @example
 * ```ts
 * import { decodeAnyFragment } from "./extensions.ts";
 * const v = new DataView(new ArrayBuffer(24));
 * v.setUint32(0, 0x4c05, true); v.setUint16(4, 2, true); v.setUint16(6, 24, true);
 * v.setUint32(8, 7, true); v.setUint16(12, 1, true); v.setUint16(14, 3, true);
 * console.log(decodeAnyFragment(v, 0).count); // 1
 * ```
 */
export function decodeAnyFragment(view: DataView, offset: number, fileOffset = offset): Fragment {
  const type = view.getUint32(offset, true);
  if (type !== RecordType.CALLRING_FRAGMENT_COMPACT) {
    return decodeFragment(view, offset, fileOffset);
  }
  const size = view.getUint16(offset + 6, true);
  if (size < COMPACT_FRAGMENT_HEADER_SIZE + 8) {
    throw new FormatError(`Cannot decode compact fragment: size ${size} is below 24`, fileOffset);
  }
  const seq = view.getUint32(offset + 8, true);
  const cpu = view.getUint16(offset + 14, true);
  return {
    cpu,
    seq,
    eventKey: fragmentEventKey(cpu, seq),
    index: view.getUint16(offset + 12, true),
    flags: view.getUint16(offset + 4, true),
    total: 0,
    count: (size - COMPACT_FRAGMENT_HEADER_SIZE) / 8,
    entriesOffset: offset + COMPACT_FRAGMENT_HEADER_SIZE,
  };
}

/**
 * Size of the sub-buffer header record (`CALLRING_SUBBUF`, 0x4c03) that opens every
 * sub-buffer of a sub-buffer ring (Mathieu's framing, seed L7758-7766: "records written after
 * a synchronization point start at the beginning of a page").
 *
 * | off | size | field |
 * |---|---|---|
 * | 0 | 8 | `perf_event_header` {type 0x4c03, misc = {@linkcode SubbufPadding}, size 48} |
 * | 8 | 8 | own stream offset (a multiple of the sub-buffer size) |
 * | 16 | 8 | time of the sub-buffer's first record |
 * | 24 | 8 | time of its last record (header padding: written at close; NOP padding: 0) |
 * | 32 | 4 | sub-buffer size in bytes |
 * | 36 | 4 | used bytes from the sub-buffer start (header padding: written at close; NOP: 0) |
 * | 40 | 4 | records in the sub-buffer after the header (header padding, at close; NOP: 0) |
 * | 44 | 2 | cpu |
 * | 46 | 2 | CRC-16 (low half of CRC-32) of bytes 0..45, recomputed at close |
 */
export const SUBBUF_HEADER_SIZE = 48;

/** How the end of a sub-buffer is padded (the header's `misc`). */
export const SubbufPadding = {
  /** A `CALLRING_PAD` record fills the rest (Ingo, seed L8142). */
  NOP: 0,
  /** The header's `used` says where the records end (Mathieu, seed L8326-8330). */
  HEADER: 1,
} as const;

/** A decoded sub-buffer header. */
export interface SubbufHeader {
  /** {@linkcode SubbufPadding} value. */
  padding: number;
  /** Own stream offset. */
  streamOffset: number;
  /** Time of the first record. */
  startTime: number;
  /** Time of the last record (0 when not closed / NOP style). */
  endTime: number;
  /** Sub-buffer size. */
  size: number;
  /** Used bytes from the sub-buffer start (0 when not closed / NOP style). */
  used: number;
  /** Records after the header (0 when not closed / NOP style). */
  records: number;
  /** CPU. */
  cpu: number;
}

/**
 * Write a sub-buffer header record without its check (bytes 46..47 zero); the caller stores
 * the low 16 bits of the CRC-32 of bytes 0..45 there (`lib/ring/subbuf.ts` does).
 *
 * @param view Destination.
 * @param offset Byte offset of the record.
 * @param h The fields.
 */
export function encodeSubbufFields(view: DataView, offset: number, h: SubbufHeader): void {
  view.setUint32(offset, RecordType.CALLRING_SUBBUF, true);
  view.setUint16(offset + 4, h.padding, true);
  view.setUint16(offset + 6, SUBBUF_HEADER_SIZE, true);
  setU64(view, offset + 8, h.streamOffset);
  setU64(view, offset + 16, h.startTime);
  setU64(view, offset + 24, h.endTime);
  view.setUint32(offset + 32, h.size, true);
  view.setUint32(offset + 36, h.used, true);
  view.setUint32(offset + 40, h.records, true);
  view.setUint16(offset + 44, h.cpu, true);
  view.setUint16(offset + 46, 0, true);
}

/**
 * Decode the fields of a sub-buffer header (layout only; `lib/ring/subbuf.ts` validates).
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the record header.
 * @returns The fields.
 */
export function decodeSubbufFields(view: DataView, offset: number): SubbufHeader {
  return {
    padding: view.getUint16(offset + 4, true),
    streamOffset: getU64(view, offset + 8),
    startTime: getU64(view, offset + 16),
    endTime: getU64(view, offset + 24),
    size: view.getUint32(offset + 32, true),
    used: view.getUint32(offset + 36, true),
    records: view.getUint32(offset + 40, true),
    cpu: view.getUint16(offset + 44, true),
  };
}

/**
 * Size of the overwritten-count record (`CALLRING_OVERWRITTEN`, 0x4c06): what a flight recorder
 * lost, carried in the capture so a reader can report it (a `write_backward` ring cannot say which
 * of its bytes it overwrote; the recorder counts it at each snapshot).
 *
 * | off | size | field |
 * |---|---|---|
 * | 0 | 8 | `perf_event_header` {type 0x4c06, misc 0, size 32} |
 * | 8 | 8 | time of the snapshot (ns) |
 * | 16 | 4 | cpu whose ring it counts |
 * | 20 | 4 | overwrite design (the capture header's code: 1 backward, 2 tail-push, 3 spare sub-buffer, 4 swivel) |
 * | 24 | 8 | records of that CPU's ring overwritten before a snapshot took them, from the start up to this snapshot |
 *
 * Counts are cumulative: the last record of a CPU read is its total up to that snapshot.
 */
export const OVERWRITTEN_RECORD_SIZE = 32;

/** The fields of a `CALLRING_OVERWRITTEN` record. */
export interface OverwrittenRecord {
  /** Time of the snapshot (ns). */
  time: number;
  /** CPU whose ring it counts. */
  cpu: number;
  /** Overwrite design code. */
  design: number;
  /** Records overwritten so far (cumulative). */
  overwritten: number;
}

/**
 * Encode a `CALLRING_OVERWRITTEN` record.
 *
 * @param r The fields.
 * @returns The 32 record bytes.
 *
 * @example
 * ```ts
 * import { decodeOverwrittenRecord, encodeOverwrittenRecord } from "./extensions.ts";
 * const b = encodeOverwrittenRecord({ time: 5, cpu: 1, design: 1, overwritten: 42 });
 * console.log(decodeOverwrittenRecord(new DataView(b.buffer), 0).overwritten); // 42
 * ```
 */
export function encodeOverwrittenRecord(r: OverwrittenRecord): Uint8Array {
  const b = new Uint8Array(OVERWRITTEN_RECORD_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, RecordType.CALLRING_OVERWRITTEN, true);
  v.setUint16(6, OVERWRITTEN_RECORD_SIZE, true);
  setU64(v, 8, r.time);
  v.setUint32(16, r.cpu, true);
  v.setUint32(20, r.design, true);
  setU64(v, 24, r.overwritten);
  return b;
}

/**
 * Decode a `CALLRING_OVERWRITTEN` record.
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the record header.
 * @param fileOffset Offset used in error messages.
 * @returns The fields.
 * @throws {FormatError} When the type or size is wrong.
 */
export function decodeOverwrittenRecord(
  view: DataView,
  offset: number,
  fileOffset = offset,
): OverwrittenRecord {
  const type = view.getUint32(offset, true);
  const size = view.getUint16(offset + 6, true);
  if (type !== RecordType.CALLRING_OVERWRITTEN || size !== OVERWRITTEN_RECORD_SIZE) {
    throw new FormatError(
      `Cannot decode overwritten count: type 0x${
        type.toString(16)
      }, size ${size} (want 0x4c06, 32)`,
      fileOffset,
    );
  }
  return {
    time: getU64(view, offset + 8),
    cpu: view.getUint32(offset + 16, true),
    design: view.getUint32(offset + 20, true),
    overwritten: getU64(view, offset + 24),
  };
}
