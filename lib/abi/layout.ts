/**
 * Where every field of an event's records sits: the one place that turns a
 * `sample_type` / `read_format` into byte offsets. perf computes the same
 * once per evsel (`evsel__calc_id_pos`, `__evsel__sample_size`,
 * `perf_evsel__parse_id_sample`); every reader, writer, walker, ring,
 * defragmenter and fuzz layout of this project asks a {@linkcode SampleLayout}
 * instead of counting bits itself.
 *
 * Offsets are in bytes from the start of the record (header included), `-1`
 * when the field is absent. Fields after a group `READ` move with the group
 * size, so they are found per record ({@linkcode SampleLayout.callchainAt}).
 *
 * @example
 * ```ts
 * import { SampleLayout, SampleType } from "./mod.ts";
 * const layout = SampleLayout.of({ sampleType: SampleType.IP | SampleType.TID | SampleType.TIME,
 *   readFormat: 0, regsUserCount: 0, regsIntrCount: 0, branchHwIndex: false });
 * console.log(layout.time, layout.trailer.time); // 24 8
 * ```
 *
 * @module
 */

import { ReadFormat, RecordType, SampleType } from "./constants.ts";
import type { SampleFormat } from "./sample.ts";
import { getU64, setU64 } from "./u64.ts";

/** Offsets inside the `sample_id` trailer of non-sample records, from its first byte (-1 absent). */
export interface SampleIdLayout {
  /** Trailer size in bytes (0 without any trailer field). */
  readonly size: number;
  /** `TID` (pid, then tid). */
  readonly tid: number;
  /** `TIME`. */
  readonly time: number;
  /** `ID`. */
  readonly id: number;
  /** `STREAM_ID`. */
  readonly streamId: number;
  /** `CPU` (cpu, then a reserved u32). */
  readonly cpu: number;
  /** `IDENTIFIER`. */
  readonly identifier: number;
}

/** The fields written into a `sample_id` trailer by {@linkcode writeSampleId}. */
export interface SampleIdFields {
  /** pid. */
  pid: number;
  /** tid. */
  tid: number;
  /** Time in nanoseconds. */
  time: number;
  /** Event id (written to ID, STREAM_ID and IDENTIFIER). */
  id: number;
  /** CPU number. */
  cpu: number;
}

function trailerLayout(t: number): SampleIdLayout {
  let p = 0;
  const at = (bit: number): number => {
    if (!(t & bit)) return -1;
    p += 8;
    return p - 8;
  };
  // perf_event__write_sample_id / __perf_evsel__parse_id_sample order.
  const tid = at(SampleType.TID);
  const time = at(SampleType.TIME);
  const id = at(SampleType.ID);
  const streamId = at(SampleType.STREAM_ID);
  const cpu = at(SampleType.CPU);
  const identifier = at(SampleType.IDENTIFIER);
  return { size: p, tid, time, id, streamId, cpu, identifier };
}

function readBytes(rf: number, groupNr: number): number {
  const times = (rf & ReadFormat.TOTAL_TIME_ENABLED ? 8 : 0) +
    (rf & ReadFormat.TOTAL_TIME_RUNNING ? 8 : 0);
  const per = 8 + (rf & ReadFormat.ID ? 8 : 0) + (rf & ReadFormat.LOST ? 8 : 0);
  return rf & ReadFormat.GROUP ? 8 + times + groupNr * per : times + per;
}

const cache = new Map<string, SampleLayout>();

/**
 * The byte layout of one event's samples and `sample_id` trailers, computed
 * once from its {@linkcode SampleFormat}. Get one with
 * {@linkcode SampleLayout.of} (cached per format).
 */
export class SampleLayout {
  /** The format this layout was computed from. */
  readonly format: SampleFormat;
  /** `sample_type` bits. */
  readonly sampleType: number;
  /** `read_format` bits. */
  readonly readFormat: number;
  /** `IDENTIFIER` offset. */
  readonly identifier: number;
  /** `IP` offset. */
  readonly ip: number;
  /** `TID` offset (pid, then tid). */
  readonly tid: number;
  /** `TIME` offset. */
  readonly time: number;
  /** `ADDR` offset. */
  readonly addr: number;
  /** `ID` offset. */
  readonly id: number;
  /** `STREAM_ID` offset. */
  readonly streamId: number;
  /** `CPU` offset (cpu, then the reserved u32). */
  readonly cpu: number;
  /** `PERIOD` offset. */
  readonly period: number;
  /** `READ` offset. */
  readonly read: number;
  /** Byte size of `READ` when fixed (no `PERF_FORMAT_GROUP`), -1 for a group, 0 without READ. */
  readonly readSize: number;
  /** Whether samples carry a callchain. */
  readonly hasCallchain: boolean;
  /** Offset of the callchain `nr` when it does not move (no group READ), else -1. */
  readonly callchain: number;
  /** Offset just past the fixed-position fields (before a group READ, after a fixed one). */
  readonly fixedEnd: number;
  /** perf's `id_pos`: u64 word of the event id in a sample body (from the first body word), or -1. */
  readonly idPos: number;
  /** perf's `is_pos`: u64 word of the event id back from a trailer's end (1 = last), or -1. */
  readonly isPos: number;
  /** The `sample_id` trailer of non-sample records. */
  readonly trailer: SampleIdLayout;

  private constructor(format: SampleFormat) {
    this.format = format;
    const t = format.sampleType;
    const rf = format.readFormat;
    this.sampleType = t;
    this.readFormat = rf;
    let p = 8;
    const at = (bit: number): number => {
      if (!(t & bit)) return -1;
      p += 8;
      return p - 8;
    };
    this.identifier = at(SampleType.IDENTIFIER);
    this.ip = at(SampleType.IP);
    this.tid = at(SampleType.TID);
    this.time = at(SampleType.TIME);
    this.addr = at(SampleType.ADDR);
    this.id = at(SampleType.ID);
    this.streamId = at(SampleType.STREAM_ID);
    this.cpu = at(SampleType.CPU);
    this.period = at(SampleType.PERIOD);
    this.read = -1;
    this.readSize = 0;
    if (t & SampleType.READ) {
      this.read = p;
      if (rf & ReadFormat.GROUP) this.readSize = -1;
      else {
        this.readSize = readBytes(rf, 1);
        p += this.readSize;
      }
    }
    this.fixedEnd = p;
    this.hasCallchain = (t & SampleType.CALLCHAIN) !== 0;
    this.callchain = this.hasCallchain && this.readSize !== -1 ? p : -1;
    this.trailer = trailerLayout(t);
    this.idPos = this.identifier >= 0 ? 0 : this.id >= 0 ? (this.id - 8) / 8 : -1;
    this.isPos = this.trailer.identifier >= 0
      ? 1
      : this.trailer.id >= 0
      ? (this.trailer.size - this.trailer.id) / 8
      : -1;
  }

  /**
   * The layout of a format (one instance per distinct format).
   *
   * @param format The event's sample format.
   * @returns Its layout.
   */
  static of(format: SampleFormat): SampleLayout {
    const key =
      `${format.sampleType}/${format.readFormat}/${format.regsUserCount}/${format.regsIntrCount}/${
        format.branchHwIndex ? 1 : 0
      }`;
    let layout = cache.get(key);
    if (layout === undefined) {
      layout = new SampleLayout({ ...format });
      cache.set(key, layout);
    }
    return layout;
  }

  /**
   * The layout of a bare `sample_type` / `read_format` (no registers, no
   * branch `hw_idx`): enough for every field up to the callchain and for trailers.
   *
   * @param sampleType `sample_type` bits.
   * @param readFormat `read_format` bits.
   * @returns Its layout.
   */
  static ofType(sampleType: number, readFormat = 0): SampleLayout {
    return SampleLayout.of({
      sampleType,
      readFormat,
      regsUserCount: 0,
      regsIntrCount: 0,
      branchHwIndex: false,
    });
  }

  /**
   * Byte size of the `READ` field of one record (0 without READ).
   *
   * @param view View holding the record.
   * @param offset Offset of the record header.
   * @returns The size (for a group read, from its `nr`).
   */
  readSizeAt(view: DataView, offset: number): number {
    if (this.readSize !== -1) return this.readSize;
    return readBytes(this.readFormat, getU64(view, offset + this.read));
  }

  /**
   * Offset of the callchain `nr` in one record, from its start.
   *
   * @param view View holding the record.
   * @param offset Offset of the record header.
   * @returns The offset, or -1 when samples carry no callchain.
   */
  callchainAt(view: DataView, offset: number): number {
    if (!this.hasCallchain) return -1;
    if (this.callchain !== -1) return this.callchain;
    return this.fixedEnd + this.readSizeAt(view, offset);
  }

  /**
   * Time of a record of this event: a sample's `TIME`, a non-sample kernel
   * record's trailer time when `sampleIdAll`, else -1.
   *
   * @param view View holding the record.
   * @param offset Offset of the record header.
   * @param size Record size.
   * @param sampleIdAll Whether non-sample kernel records carry the trailer.
   * @returns The time in nanoseconds, or -1 when the record carries none or is too short.
   */
  recordTime(view: DataView, offset: number, size: number, sampleIdAll: boolean): number {
    if (this.time < 0) return -1;
    const type = view.getUint32(offset, true);
    if (type === RecordType.SAMPLE) {
      return this.time + 8 <= size ? getU64(view, offset + this.time) : -1;
    }
    if (!sampleIdAll || type >= RecordType.HEADER_ATTR) return -1; // perf user and callring records carry none
    const p = size - this.trailer.size + this.trailer.time;
    return p >= 8 ? getU64(view, offset + p) : -1;
  }
}

/**
 * Write a `sample_id` trailer straight into a view (the hot-path twin of
 * `encodeSampleId`, for ring writers).
 *
 * @param view Destination view.
 * @param p Offset of the trailer's first byte.
 * @param layout The event's layout.
 * @param f The values.
 */
export function writeSampleId(
  view: DataView,
  p: number,
  layout: SampleLayout,
  f: SampleIdFields,
): void {
  const tr = layout.trailer;
  if (tr.tid >= 0) {
    view.setInt32(p + tr.tid, f.pid, true);
    view.setInt32(p + tr.tid + 4, f.tid, true);
  }
  if (tr.time >= 0) setU64(view, p + tr.time, f.time);
  if (tr.id >= 0) setU64(view, p + tr.id, f.id);
  if (tr.streamId >= 0) setU64(view, p + tr.streamId, f.id);
  if (tr.cpu >= 0) {
    view.setUint32(p + tr.cpu, f.cpu, true);
    view.setUint32(p + tr.cpu + 4, 0, true);
  }
  if (tr.identifier >= 0) setU64(view, p + tr.identifier, f.id);
}
