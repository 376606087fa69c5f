/**
 * Non-sample perf records (`MMAP`, `MMAP2`, `COMM`, `FORK`, `EXIT`, `LOST`,
 * `LOST_SAMPLES`, `THROTTLE`, `UNTHROTTLE`, `FINISHED_ROUND`, `SWITCH`,
 * `SWITCH_CPU_WIDE`) with their `sample_id` trailer, and a decoder that
 * dispatches on the record type.
 *
 * @module
 */

import { HEADER_SIZE, MISC_MMAP_BUILD_ID, RecordType, SampleType } from "./constants.ts";
import { FormatError } from "./errors.ts";
import { ByteWriter, decodeSample, type Sample, type SampleFormat } from "./sample.ts";
import { SampleLayout } from "./layout.ts";
import { getU64 } from "./u64.ts";

/** The `sample_id` trailer of non-sample records when `sample_id_all` is set. */
export interface SampleId {
  /** `TID`: pid. */
  pid?: number;
  /** `TID`: tid. */
  tid?: number;
  /** `TIME`. */
  time?: number;
  /** `ID`. */
  id?: number;
  /** `STREAM_ID`. */
  streamId?: number;
  /** `CPU`. */
  cpu?: number;
  /** `IDENTIFIER`. */
  identifier?: number;
}

/**
 * Byte size of the `sample_id` trailer for a sample_type.
 *
 * @param sampleType The event's sample_type.
 * @returns The size ({@linkcode SampleLayout.trailer}).
 */
export function sampleIdSize(sampleType: number): number {
  return SampleLayout.ofType(sampleType).trailer.size;
}

/**
 * Decode the `sample_id` trailer that ends a non-sample record.
 *
 * @param view The view holding the record.
 * @param end Offset just past the record.
 * @param sampleType The event's sample_type.
 * @returns The trailer fields.
 */
export function decodeSampleId(view: DataView, end: number, sampleType: number): SampleId {
  let p = end - sampleIdSize(sampleType);
  const id: SampleId = {};
  if (sampleType & SampleType.TID) {
    id.pid = view.getInt32(p, true);
    id.tid = view.getInt32(p + 4, true);
    p += 8;
  }
  if (sampleType & SampleType.TIME) id.time = getU64(view, (p += 8) - 8);
  if (sampleType & SampleType.ID) id.id = getU64(view, (p += 8) - 8);
  if (sampleType & SampleType.STREAM_ID) id.streamId = getU64(view, (p += 8) - 8);
  if (sampleType & SampleType.CPU) id.cpu = view.getUint32((p += 8) - 8, true);
  if (sampleType & SampleType.IDENTIFIER) id.identifier = getU64(view, p);
  return id;
}

/**
 * Append a `sample_id` trailer.
 *
 * @param w The writer.
 * @param id The fields (missing ones are written as 0).
 * @param sampleType The event's sample_type.
 */
export function encodeSampleId(w: ByteWriter, id: SampleId, sampleType: number): void {
  if (sampleType & SampleType.TID) {
    w.i32(id.pid ?? 0);
    w.i32(id.tid ?? 0);
  }
  if (sampleType & SampleType.TIME) w.u64(id.time ?? 0);
  if (sampleType & SampleType.ID) w.u64(id.id ?? 0);
  if (sampleType & SampleType.STREAM_ID) w.u64(id.streamId ?? 0);
  if (sampleType & SampleType.CPU) {
    w.u32(id.cpu ?? 0);
    w.u32(0);
  }
  if (sampleType & SampleType.IDENTIFIER) w.u64(id.identifier ?? 0);
}

/**
 * Position of the event id inside a SAMPLE body, in u64 words from the first
 * body word, or -1 when the sample carries no id (perf's `id_pos`).
 *
 * @param sampleType The sample_type.
 * @returns The word index or -1 ({@linkcode SampleLayout.idPos}).
 */
export function sampleIdWordIndex(sampleType: number): number {
  return SampleLayout.ofType(sampleType).idPos;
}

/**
 * Position of the event id in a non-sample record's trailer, in u64 words back
 * from the end of the record (1 = last word), or -1 (perf's `is_pos`).
 *
 * @param sampleType The sample_type.
 * @returns The word index from the end or -1 ({@linkcode SampleLayout.isPos}).
 */
export function trailerIdWordIndexFromEnd(sampleType: number): number {
  return SampleLayout.ofType(sampleType).isPos;
}

/** Fields shared by every decoded record. */
export interface RecordBase {
  /** Header `misc`. */
  misc: number;
  /** Header `size`. */
  size: number;
  /** The `sample_id` trailer, when the event has `sample_id_all`. */
  sampleId?: SampleId;
}

/** `PERF_RECORD_MMAP`. */
export interface MmapRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.MMAP;
  /** Process id. */
  pid: number;
  /** Thread id. */
  tid: number;
  /** Start address. */
  addr: bigint;
  /** Length. */
  len: bigint;
  /** File offset of the mapping. */
  pgoff: bigint;
  /** Mapped file name. */
  filename: string;
}

/** `PERF_RECORD_MMAP2`. */
export interface Mmap2Record extends Omit<MmapRecord, "type"> {
  /** Record type. */
  type: typeof RecordType.MMAP2;
  /** Device major (0 with a build id). */
  maj: number;
  /** Device minor. */
  min: number;
  /** Inode number. */
  ino: bigint;
  /** Inode generation. */
  inoGeneration: bigint;
  /** Build id when `misc` has `PERF_RECORD_MISC_MMAP_BUILD_ID`. */
  buildId?: Uint8Array;
  /** `prot` bits. */
  prot: number;
  /** `flags` bits. */
  flags: number;
}

/** `PERF_RECORD_COMM`. */
export interface CommRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.COMM;
  /** Process id. */
  pid: number;
  /** Thread id. */
  tid: number;
  /** Command name. */
  comm: string;
}

/** `PERF_RECORD_FORK` or `PERF_RECORD_EXIT`. */
export interface TaskRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.FORK | typeof RecordType.EXIT;
  /** Process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** Thread id. */
  tid: number;
  /** Parent thread id. */
  ptid: number;
  /** Time. */
  time: number;
}

/** `PERF_RECORD_LOST`. */
export interface LostRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.LOST;
  /** Event id. */
  id: number;
  /** Number of records lost. */
  lost: number;
}

/** `PERF_RECORD_LOST_SAMPLES`. */
export interface LostSamplesRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.LOST_SAMPLES;
  /** Number of samples lost. */
  lost: number;
}

/** `PERF_RECORD_THROTTLE` or `PERF_RECORD_UNTHROTTLE`. */
export interface ThrottleRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.THROTTLE | typeof RecordType.UNTHROTTLE;
  /** Time. */
  time: number;
  /** Event id. */
  id: number;
  /** Stream id. */
  streamId: number;
}

/** `PERF_RECORD_SWITCH` or `PERF_RECORD_SWITCH_CPU_WIDE`. */
export interface SwitchRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.SWITCH | typeof RecordType.SWITCH_CPU_WIDE;
  /** Next (switch out) or previous (switch in) pid; CPU-wide only. */
  nextPrevPid?: number;
  /** Next or previous tid; CPU-wide only. */
  nextPrevTid?: number;
}

/** `PERF_RECORD_FINISHED_ROUND`. */
export interface FinishedRoundRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.FINISHED_ROUND;
}

/** `PERF_RECORD_SAMPLE`. */
export interface SampleRecord extends RecordBase {
  /** Record type. */
  type: typeof RecordType.SAMPLE;
  /** The decoded sample. */
  sample: Sample;
}

/** Any other record type: kept as raw bytes (header included). */
export interface OtherRecord extends RecordBase {
  /** Record type. */
  type: number;
  /** The whole record. */
  raw: Uint8Array;
}

/** A decoded perf record. */
export type PerfRecord =
  | MmapRecord
  | Mmap2Record
  | CommRecord
  | TaskRecord
  | LostRecord
  | LostSamplesRecord
  | ThrottleRecord
  | SwitchRecord
  | FinishedRoundRecord
  | SampleRecord
  | OtherRecord;

const utf8 = new TextDecoder();

function cstring(view: DataView, start: number, end: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + start, Math.max(0, end - start));
  const nul = bytes.indexOf(0);
  return utf8.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/** Minimum body sizes (after the header) per record type, without the trailer. */
const MIN_BODY: Readonly<Record<number, number>> = {
  [RecordType.MMAP]: 32,
  [RecordType.MMAP2]: 64,
  [RecordType.COMM]: 8,
  [RecordType.FORK]: 24,
  [RecordType.EXIT]: 24,
  [RecordType.LOST]: 16,
  [RecordType.LOST_SAMPLES]: 8,
  [RecordType.THROTTLE]: 24,
  [RecordType.UNTHROTTLE]: 24,
  [RecordType.SWITCH]: 0,
  [RecordType.SWITCH_CPU_WIDE]: 8,
  [RecordType.FINISHED_ROUND]: 0,
};

/**
 * Decode one record. SAMPLE bodies are decoded with `format`; kernel records
 * get their `sample_id` trailer when `sampleIdAll` is true; unknown types come
 * back as {@linkcode OtherRecord}.
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the record header.
 * @param format The sample format of the record's event.
 * @param sampleIdAll Whether the event has `sample_id_all`.
 * @param fileOffset Offset of the record in its file, for error messages.
 * @returns The record.
 * @throws {FormatError} When the record is shorter than its type requires.
 */
export function decodeRecord(
  view: DataView,
  offset: number,
  format: SampleFormat,
  sampleIdAll: boolean,
  fileOffset = offset,
): PerfRecord {
  const type = view.getUint32(offset, true);
  const misc = view.getUint16(offset + 4, true);
  const size = view.getUint16(offset + 6, true);
  const end = offset + size;
  const b = offset + HEADER_SIZE;
  if (type === RecordType.SAMPLE) {
    return { type, misc, size, sample: decodeSample(view, offset, format, fileOffset) };
  }
  const min = MIN_BODY[type];
  if (min === undefined) {
    return {
      type,
      misc,
      size,
      raw: new Uint8Array(view.buffer, view.byteOffset + offset, size).slice(),
    };
  }
  const kernelRecord = type < RecordType.HEADER_ATTR;
  const trailer = kernelRecord && sampleIdAll ? sampleIdSize(format.sampleType) : 0;
  if (HEADER_SIZE + min + trailer > size) {
    throw new FormatError(
      `Cannot decode record type ${type}: size ${size} is below the ${
        HEADER_SIZE + min + trailer
      } bytes it needs`,
      fileOffset,
    );
  }
  const bodyEnd = end - trailer;
  const base: RecordBase = { misc, size };
  if (trailer) base.sampleId = decodeSampleId(view, end, format.sampleType);
  switch (type) {
    case RecordType.MMAP:
      return {
        ...base,
        type,
        pid: view.getInt32(b, true),
        tid: view.getInt32(b + 4, true),
        addr: view.getBigUint64(b + 8, true),
        len: view.getBigUint64(b + 16, true),
        pgoff: view.getBigUint64(b + 24, true),
        filename: cstring(view, b + 32, bodyEnd),
      };
    case RecordType.MMAP2: {
      const rec: Mmap2Record = {
        ...base,
        type,
        pid: view.getInt32(b, true),
        tid: view.getInt32(b + 4, true),
        addr: view.getBigUint64(b + 8, true),
        len: view.getBigUint64(b + 16, true),
        pgoff: view.getBigUint64(b + 24, true),
        maj: 0,
        min: 0,
        ino: 0n,
        inoGeneration: 0n,
        prot: view.getUint32(b + 56, true),
        flags: view.getUint32(b + 60, true),
        filename: cstring(view, b + 64, bodyEnd),
      };
      if (misc & MISC_MMAP_BUILD_ID) {
        const n = Math.min(view.getUint8(b + 32), 20);
        rec.buildId = new Uint8Array(view.buffer, view.byteOffset + b + 36, n).slice();
      } else {
        rec.maj = view.getUint32(b + 32, true);
        rec.min = view.getUint32(b + 36, true);
        rec.ino = view.getBigUint64(b + 40, true);
        rec.inoGeneration = view.getBigUint64(b + 48, true);
      }
      return rec;
    }
    case RecordType.COMM:
      return {
        ...base,
        type,
        pid: view.getInt32(b, true),
        tid: view.getInt32(b + 4, true),
        comm: cstring(view, b + 8, bodyEnd),
      };
    case RecordType.FORK:
    case RecordType.EXIT:
      return {
        ...base,
        type,
        pid: view.getInt32(b, true),
        ppid: view.getInt32(b + 4, true),
        tid: view.getInt32(b + 8, true),
        ptid: view.getInt32(b + 12, true),
        time: getU64(view, b + 16),
      };
    case RecordType.LOST:
      return { ...base, type, id: getU64(view, b), lost: getU64(view, b + 8) };
    case RecordType.LOST_SAMPLES:
      return { ...base, type, lost: getU64(view, b) };
    case RecordType.THROTTLE:
    case RecordType.UNTHROTTLE:
      return {
        ...base,
        type,
        time: getU64(view, b),
        id: getU64(view, b + 8),
        streamId: getU64(view, b + 16),
      };
    case RecordType.SWITCH:
      return { ...base, type };
    case RecordType.SWITCH_CPU_WIDE:
      return {
        ...base,
        type,
        nextPrevPid: view.getInt32(b, true),
        nextPrevTid: view.getInt32(b + 4, true),
      };
    default:
      return { ...base, type: RecordType.FINISHED_ROUND };
  }
}

function finishRecord(
  w: ByteWriter,
  sampleId: SampleId | undefined,
  sampleType: number,
): Uint8Array {
  if (sampleId) encodeSampleId(w, sampleId, sampleType);
  w.pad8();
  if (w.length > 0xffff) {
    throw new RangeError(`Cannot encode record: ${w.length} bytes exceed 65535`);
  }
  w.patchU16(6, w.length);
  return w.finish();
}

/**
 * Encode a non-sample record (header included). A `sampleId` on a kernel
 * record is written as the trailer using `sampleType`, after the 8-byte-padded
 * body, as the kernel lays it out.
 *
 * @param rec The record (an {@linkcode OtherRecord} is copied verbatim).
 * @param sampleType The event's sample_type, used for the trailer.
 * @returns The record bytes.
 *
 * @example Encode a COMM record
 * ```ts
 * import { encodeRecord, RecordType } from "./mod.ts";
 * const bytes = encodeRecord({ type: RecordType.COMM, misc: 0, size: 0, pid: 1, tid: 1, comm: "init" }, 0);
 * console.log(bytes.length); // 24
 * ```
 */
export function encodeRecord(rec: PerfRecord, sampleType = 0): Uint8Array {
  if ("raw" in rec) return rec.raw.slice();
  const w = new ByteWriter(128);
  w.u32(rec.type);
  w.u16(rec.misc);
  w.u16(0);
  switch (rec.type) {
    case RecordType.MMAP:
    case RecordType.MMAP2: {
      const m = rec as MmapRecord | Mmap2Record;
      w.i32(m.pid);
      w.i32(m.tid);
      w.big(m.addr);
      w.big(m.len);
      w.big(m.pgoff);
      if (m.type === RecordType.MMAP2) {
        if (m.buildId) {
          w.bytes(Uint8Array.of(m.buildId.length, 0, 0, 0));
          const id = new Uint8Array(20);
          id.set(m.buildId.subarray(0, 20));
          w.bytes(id);
        } else {
          w.u32(m.maj);
          w.u32(m.min);
          w.big(m.ino);
          w.big(m.inoGeneration);
        }
        w.u32(m.prot);
        w.u32(m.flags);
      }
      w.cstring8(m.filename);
      break;
    }
    case RecordType.COMM: {
      const c = rec as CommRecord;
      w.i32(c.pid);
      w.i32(c.tid);
      w.cstring8(c.comm);
      break;
    }
    case RecordType.FORK:
    case RecordType.EXIT: {
      const t = rec as TaskRecord;
      w.i32(t.pid);
      w.i32(t.ppid);
      w.i32(t.tid);
      w.i32(t.ptid);
      w.u64(t.time);
      break;
    }
    case RecordType.LOST: {
      const l = rec as LostRecord;
      w.u64(l.id);
      w.u64(l.lost);
      break;
    }
    case RecordType.LOST_SAMPLES:
      w.u64((rec as LostSamplesRecord).lost);
      break;
    case RecordType.THROTTLE:
    case RecordType.UNTHROTTLE: {
      const t = rec as ThrottleRecord;
      w.u64(t.time);
      w.u64(t.id);
      w.u64(t.streamId);
      break;
    }
    case RecordType.SWITCH_CPU_WIDE: {
      const s = rec as SwitchRecord;
      w.i32(s.nextPrevPid ?? 0);
      w.i32(s.nextPrevTid ?? 0);
      break;
    }
    case RecordType.SAMPLE:
      throw new TypeError("Cannot encode a SAMPLE with encodeRecord: use encodeSample");
  }
  const kernelRecord = rec.type < RecordType.HEADER_ATTR;
  return finishRecord(w, kernelRecord ? rec.sampleId : undefined, sampleType);
}
