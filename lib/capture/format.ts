/**
 * Byte layout of the callring capture file (see FORMAT.md beside this file):
 * a file header with the attrs, then chunks of raw ring bytes, each chunk
 * header being a self-validating sync point of the file (magic, own file
 * offset, CRC-32).
 *
 * @module
 */

import {
  decodeAttr,
  encodeAttr,
  FormatError,
  getU64,
  type PerfEventAttr,
  RecordType,
  SampleLayout,
  setU64,
} from "../abi/mod.ts";
import { crc32 } from "../ring/crc32.ts";

/** "CALLRING" at offset 0 of a capture. */
export const CAPTURE_MAGIC: Uint8Array = new TextEncoder().encode("CALLRING");
/**
 * Current format version: 2 when the rings were sub-buffer rings or a flight recorder of any
 * design (header bytes 48..55 say which), 1 otherwise (version-1 readers cannot tell sub-buffer
 * padding left out of the file from damage, nor know out-of-band chunks, so they must refuse such
 * captures).
 */
export const CAPTURE_VERSION = 2;
/** Oldest version this reader reads. */
export const CAPTURE_MIN_VERSION = 1;

/** How the rings of a capture framed their bytes (file header offset 48). */
export const RingLayout = { STREAM: 0, SUBBUF_NOP: 1, SUBBUF_HEADER: 2 } as const;
/** Which overwrite (flight-recorder) design the rings used (file header offset 50). */
export const OverwriteDesign = {
  NONE: 0,
  BACKWARD: 1,
  TAIL_PUSH: 2,
  SPARE_SUBBUF: 3,
  SWIVEL: 4,
} as const;

/** Ring framing recorded in the file header. */
export interface CaptureRing {
  /** {@linkcode RingLayout} value. */
  layout: number;
  /** {@linkcode OverwriteDesign} value. */
  overwrite: number;
  /** Sub-buffer size (0 for stream rings). */
  subbufSize: number;
}
/** Size of the fixed part of the file header. */
export const FILE_HEADER_FIXED = 64;
/** "CRNGCHNK" at offset 0 of every chunk header. */
export const CHUNK_MAGIC: Uint8Array = new TextEncoder().encode("CRNGCHNK");
/** Size of a chunk header. */
export const CHUNK_HEADER_SIZE = 64;
/** Largest payload a chunk may declare (sanity bound for readers). */
export const MAX_CHUNK_PAYLOAD = 1 << 18;
/** Most CPUs (rings) a capture header may declare (sanity bound for readers). */
export const MAX_CPUS = 1 << 16;
/** Chunk flag: the CPU stream is discontinuous before this chunk (overwrite snapshot). */
export const CHUNK_FLAG_GAP = 1;
/** Chunk flag: the payload holds side-band records only (tasks, maps, symbols). */
export const CHUNK_FLAG_SIDEBAND = 2;
/**
 * Chunk flag: out of band: records about the CPU's ring that are not part of its stream (a flight
 * recorder's overwritten counts); its position is 0 and the CPU's stream continuity ignores it.
 */
export const CHUNK_FLAG_OOB = 4;
/** File flag (header offset 28): every side-band record sits in a chunk flagged SIDEBAND. */
export const FILE_FLAG_SIDEBAND_CHUNKS = 1;

const CHUNK_MAGIC_LO = new DataView(CHUNK_MAGIC.buffer).getUint32(0, true);
const CHUNK_MAGIC_HI = new DataView(CHUNK_MAGIC.buffer).getUint32(4, true);

/** One event of the capture: its attr and ids. */
export interface CaptureEvent {
  /** The attr. */
  attr: PerfEventAttr;
  /** Event ids (one per CPU ring, as perf keeps them). */
  ids: number[];
}

/** The decoded file header. */
export interface CaptureHeader {
  /** Format version. */
  version: number;
  /** Events (all share one sample_type). */
  events: CaptureEvent[];
  /** Number of CPUs (rings). */
  cpus: number;
  /** `clockid` of the timestamps (1 = CLOCK_MONOTONIC). */
  clockid: number;
  /** Wall-clock time (ns since the epoch) at capture start, 0 if unknown. */
  startTime: number;
  /** Sync distance of the rings (0 = no sync records). */
  syncDistance: number;
  /** Largest chunk payload the writer produces (single larger records excepted). */
  maxChunk: number;
  /** Ring framing (absent: a stream ring, consume mode or write-backward). */
  ring?: CaptureRing;
  /** File flags as read ({@linkcode FILE_FLAG_SIDEBAND_CHUNKS}); the writer sets them. */
  flags?: number;
  /** Total header size in bytes (the first chunk starts here). */
  size: number;
}

/** A decoded chunk header. */
export interface ChunkHeader {
  /** CPU of the stream. */
  cpu: number;
  /** Payload bytes after the header. */
  length: number;
  /** File offset of the header (self). */
  fileOffset: number;
  /** Stream position of the first payload byte. */
  position: number;
  /** Chunk sequence number in the file. */
  seq: number;
  /** Drain round. */
  round: number;
  /** Smallest record time in the payload. */
  minTime: number;
  /** Largest record time in the file up to and including this chunk. */
  cumMaxTime: number;
  /** CRC-32 of the payload. */
  payloadCrc: number;
  /** Flags ({@linkcode CHUNK_FLAG_GAP}). */
  flags: number;
}

/**
 * Encode the file header.
 *
 * @param h Header fields (`size` and `version` are computed).
 * @returns The header bytes.
 * @throws {RangeError} When events disagree on sample_type or there are none.
 */
export function encodeFileHeader(h: Omit<CaptureHeader, "size" | "version">): Uint8Array {
  if (h.events.length === 0) throw new RangeError("Cannot write capture header: no events");
  const st = h.events[0].attr.sampleType;
  if (h.events.some((e) => e.attr.sampleType !== st)) {
    throw new RangeError("Cannot write capture header: events must share one sample_type");
  }
  const attrs = h.events.map((e) => encodeAttr(e.attr));
  let size = FILE_HEADER_FIXED;
  for (let i = 0; i < attrs.length; i++) size += 8 + attrs[i].length + 8 * h.events[i].ids.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out.set(CAPTURE_MAGIC, 0);
  const ring = h.ring ?? { layout: 0, overwrite: 0, subbufSize: 0 };
  // sub-buffer padding left out, or a flight recorder's out-of-band overwritten counts
  const v2 = ring.layout !== 0 || ring.overwrite !== OverwriteDesign.NONE;
  v.setUint32(8, v2 ? CAPTURE_VERSION : 1, true);
  v.setUint16(48, ring.layout, true);
  v.setUint16(50, ring.overwrite, true);
  v.setUint32(52, ring.subbufSize, true);
  v.setUint32(12, size, true);
  v.setUint32(16, h.cpus, true);
  v.setUint32(20, h.events.length, true);
  v.setInt32(24, h.clockid, true);
  v.setUint32(28, FILE_FLAG_SIDEBAND_CHUNKS, true);
  setU64(v, 32, h.startTime);
  v.setUint32(40, h.syncDistance, true);
  v.setUint32(44, h.maxChunk, true);
  let p = FILE_HEADER_FIXED;
  for (let i = 0; i < attrs.length; i++) {
    v.setUint32(p, attrs[i].length, true);
    v.setUint32(p + 4, h.events[i].ids.length, true);
    out.set(attrs[i], p + 8);
    p += 8 + attrs[i].length;
    for (const id of h.events[i].ids) {
      setU64(v, p, id);
      p += 8;
    }
  }
  v.setUint32(60, crc32(out, FILE_HEADER_FIXED, size, crc32(out, 0, 60)), true);
  return out;
}

/**
 * Size of the file header, from its first 16 bytes.
 *
 * @param bytes At least 16 bytes of the file start.
 * @returns The header size.
 * @throws {FormatError} On a wrong magic, version or size.
 */
export function fileHeaderSize(bytes: Uint8Array): number {
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== CAPTURE_MAGIC[i]) {
      throw new FormatError("Not a callring capture: magic is not CALLRING", 0);
    }
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(8, true);
  if (version < CAPTURE_MIN_VERSION || version > CAPTURE_VERSION) {
    throw new FormatError(
      `Unsupported capture version ${version} (expected ${CAPTURE_MIN_VERSION}..${CAPTURE_VERSION})`,
      8,
    );
  }
  const size = v.getUint32(12, true);
  if (size < FILE_HEADER_FIXED || size > 1 << 20 || size % 8) {
    throw new FormatError(`Capture header size ${size} is impossible`, 12);
  }
  return size;
}

/**
 * Decode the file header.
 *
 * @param bytes The whole header (see {@linkcode fileHeaderSize}).
 * @returns The header.
 * @throws {FormatError} On a bad magic, version, CRC, attr, CPU or event count, or
 *   events running past the header.
 */
export function decodeFileHeader(bytes: Uint8Array): CaptureHeader {
  const size = fileHeaderSize(bytes);
  if (bytes.length < size) {
    throw new FormatError(`Capture header is cut off at ${bytes.length} bytes`, 0);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, size);
  const crc = crc32(bytes, FILE_HEADER_FIXED, size, crc32(bytes, 0, 60));
  if (crc !== v.getUint32(60, true)) throw new FormatError("Capture header CRC mismatch", 60);
  const cpus = v.getUint32(16, true);
  if (cpus === 0 || cpus > MAX_CPUS) {
    throw new FormatError(`Capture header CPU count ${cpus} is impossible`, 16);
  }
  const nEvents = v.getUint32(20, true);
  if (nEvents === 0) throw new FormatError("Capture header has no events", 20);
  const events: CaptureEvent[] = [];
  let p = FILE_HEADER_FIXED;
  for (let i = 0; i < nEvents; i++) {
    if (p + 8 > size) throw new FormatError(`Capture header event ${i} runs past the header`, p);
    const attrSize = v.getUint32(p, true);
    const nIds = v.getUint32(p + 4, true);
    if (p + 8 + attrSize + nIds * 8 > size) {
      throw new FormatError(`Capture header event ${i} runs past the header`, p);
    }
    const attr = decodeAttr(v, p + 8, attrSize, p + 8);
    p += 8 + attrSize;
    const ids: number[] = [];
    for (let k = 0; k < nIds; k++, p += 8) ids.push(getU64(v, p));
    events.push({ attr, ids });
  }
  return {
    version: v.getUint32(8, true),
    events,
    cpus,
    clockid: v.getInt32(24, true),
    startTime: getU64(v, 32),
    syncDistance: v.getUint32(40, true),
    maxChunk: v.getUint32(44, true),
    flags: v.getUint32(28, true),
    ring: {
      layout: v.getUint16(48, true),
      overwrite: v.getUint16(50, true),
      subbufSize: v.getUint32(52, true),
    },
    size,
  };
}

/**
 * Write a chunk header (CRC included) into `view` at `offset`.
 *
 * @param view Destination.
 * @param offset Byte offset.
 * @param c The fields.
 */
export function encodeChunkHeader(view: DataView, offset: number, c: ChunkHeader): void {
  view.setUint32(offset, CHUNK_MAGIC_LO, true);
  view.setUint32(offset + 4, CHUNK_MAGIC_HI, true);
  view.setUint32(offset + 8, c.cpu, true);
  view.setUint32(offset + 12, c.length, true);
  setU64(view, offset + 16, c.fileOffset);
  setU64(view, offset + 24, c.position);
  view.setUint32(offset + 32, c.seq >>> 0, true);
  view.setUint16(offset + 36, c.round & 0xffff, true);
  view.setUint16(offset + 38, c.flags, true);
  setU64(view, offset + 40, c.minTime);
  setU64(view, offset + 48, c.cumMaxTime);
  view.setUint32(offset + 56, c.payloadCrc, true);
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  view.setUint32(offset + 60, crc32(bytes, offset, offset + 60), true);
}

/**
 * Decode and validate a chunk header found at file offset `fileOffset`: magic,
 * header CRC, self offset and a sane length must all agree.
 *
 * @param bytes Bytes holding the candidate.
 * @param offset Offset of the candidate in `bytes`.
 * @param fileOffset File offset of `bytes[offset]`.
 * @returns The header, or undefined when it is not a valid chunk header.
 */
export function validChunkAt(
  bytes: Uint8Array,
  offset: number,
  fileOffset: number,
): ChunkHeader | undefined {
  if (offset + CHUNK_HEADER_SIZE > bytes.length) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (
    v.getUint32(offset, true) !== CHUNK_MAGIC_LO || v.getUint32(offset + 4, true) !== CHUNK_MAGIC_HI
  ) {
    return undefined;
  }
  if (crc32(bytes, offset, offset + 60) !== v.getUint32(offset + 60, true)) return undefined;
  const length = v.getUint32(offset + 12, true);
  if (getU64(v, offset + 16) !== fileOffset || length % 8 || length > MAX_CHUNK_PAYLOAD) {
    return undefined;
  }
  return {
    cpu: v.getUint32(offset + 8, true),
    length,
    fileOffset,
    position: getU64(v, offset + 24),
    seq: v.getUint32(offset + 32, true),
    round: v.getUint16(offset + 36, true),
    flags: v.getUint16(offset + 38, true),
    minTime: getU64(v, offset + 40),
    cumMaxTime: getU64(v, offset + 48),
    payloadCrc: v.getUint32(offset + 56, true),
  };
}

/**
 * Find the next valid chunk header at an 8-aligned file offset at or after `from`.
 *
 * @param bytes Bytes to scan.
 * @param from Offset in `bytes` to start at.
 * @param fileBase File offset of `bytes[0]` (8-aligned).
 * @returns Offset in `bytes` of the header and the header, or offset -1.
 */
export function findNextChunk(
  bytes: Uint8Array,
  from: number,
  fileBase: number,
): { offset: number; chunk: ChunkHeader | undefined } {
  let off = from + ((8 - ((fileBase + from) % 8)) % 8);
  for (; off + CHUNK_HEADER_SIZE <= bytes.length; off += 8) {
    if (bytes[off] !== 0x43 || bytes[off + 1] !== 0x52) continue; // "CR"
    const c = validChunkAt(bytes, off, fileBase + off);
    if (c) return { offset: off, chunk: c };
  }
  return { offset: -1, chunk: undefined };
}

/**
 * Time of a record, or -1 when it carries none (extension and user records
 * other than sync points; kernel records without `sample_id_all`).
 *
 * @param view View holding the record.
 * @param offset Record offset.
 * @param size Record size.
 * @param sampleType The events' sample_type.
 * @param sampleIdAll Whether non-sample kernel records carry the trailer.
 * @returns The time or -1.
 */
export function recordTime(
  view: DataView,
  offset: number,
  size: number,
  sampleType: number,
  sampleIdAll: boolean,
): number {
  const layout = SampleLayout.ofType(sampleType);
  if (layout.time < 0) return -1;
  if (view.getUint32(offset, true) === RecordType.CALLRING_SYNC) {
    return size >= 40 ? getU64(view, offset + 32) : -1;
  }
  if (view.getUint32(offset, true) === RecordType.CALLRING_SUBBUF) {
    return size >= 24 ? getU64(view, offset + 16) : -1;
  }
  if (view.getUint32(offset, true) === RecordType.CALLRING_OVERWRITTEN) {
    return size >= 16 ? getU64(view, offset + 8) : -1;
  }
  return layout.recordTime(view, offset, size, sampleIdAll);
}

/**
 * Whether a record type is side-band (task, map and symbol records, overwritten counts) rather
 * than sample data, loss records or ring framing: what the capture writer keeps in chunks flagged
 * SIDEBAND.
 *
 * @param type The record type.
 * @returns True for side-band types.
 */
export function isSidebandType(type: number): boolean {
  switch (type) {
    case RecordType.SAMPLE:
    case RecordType.LOST:
    case RecordType.THROTTLE:
    case RecordType.UNTHROTTLE:
    case RecordType.LOST_SAMPLES:
    case RecordType.CALLRING_FRAGMENT:
    case RecordType.CALLRING_FRAGMENT_COMPACT:
    case RecordType.CALLRING_SYNC:
    case RecordType.CALLRING_SUBBUF:
    case RecordType.CALLRING_PAD:
      return false;
  }
  return true;
}
