/**
 * Sub-buffer framing (Mathieu Desnoyers and Steven Rostedt in the seed thread), shared by the
 * ring writer and every reader of sub-buffer streams.
 *
 * The ring's data area is cut into sub-buffers of `subbufSize` bytes (a power of two dividing
 * the data size). Each starts with a `CALLRING_SUBBUF` header record (layout in
 * `lib/abi/extensions.ts`), so
 *
 * > "records written after a synchronization point start at the beginning of a page"
 * > (seed L7763-7764)
 *
 * and a record never crosses a sub-buffer boundary. The end of a sub-buffer is padded in one of
 * the two ways the thread proposed:
 *
 * - **NOP** (Ingo, L8142: "We may want to add things like a NOP event to pad out the end of
 *   page"): `CALLRING_PAD` records fill the rest, so the stream still tiles into records and a
 *   reader may drain it at any byte;
 * - **header** (Mathieu, L8326-8330: "simply write the page (or sub-buffer) size information in
 *   a page (or sub-buffer) header ... we don't have to reserve an event ID for the NOP event"):
 *   the header's `used` field, written when the sub-buffer closes, says where records end; the
 *   bytes after it are not records, so readers take only closed sub-buffers.
 *
 * An event larger than a sub-buffer (minus its header) is refused with
 * {@linkcode SubbufOversizeError}:
 *
 * > "It returns an error if the event is larger than the sub-buffer size." (L8929-8930)
 *
 * The header is also the sync point of the stream: it sits at a position that is a multiple of
 * the sub-buffer size (an out-of-band position, Mathieu's answer to in-band cookies, L10019-10027),
 * carries its own stream offset and a 16-bit check, and its start time makes the sub-buffers of a
 * stream binary-searchable by time (L8890-8892, {@linkcode searchSubbufs}).
 *
 * @module
 */

import { RecordType } from "../abi/mod.ts";
import {
  decodeSubbufFields,
  SUBBUF_HEADER_SIZE,
  type SubbufHeader,
  SubbufPadding,
} from "../abi/extensions.ts";
import { crc32 } from "./crc32.ts";

/** An event that cannot fit in one sub-buffer (seed L8923-8930). */
export class SubbufOversizeError extends RangeError {
  /** Bytes the event needs (LOST record included when one was due). */
  readonly size: number;
  /** The sub-buffer size. */
  readonly subbufSize: number;
  /**
   * Create the error.
   *
   * @param size Bytes needed.
   * @param subbufSize The sub-buffer size.
   */
  constructor(size: number, subbufSize: number) {
    super(
      `Cannot reserve ${size} bytes: an event must fit in one ${subbufSize}-byte sub-buffer ` +
        `after its ${SUBBUF_HEADER_SIZE}-byte header`,
    );
    this.name = "SubbufOversizeError";
    this.size = size;
    this.subbufSize = subbufSize;
  }
}

/**
 * The 16-bit check of a sub-buffer header: the low half of the CRC-32 of bytes 0..45.
 *
 * @param bytes Bytes holding the header.
 * @param offset Offset of the header.
 * @returns The check value.
 */
export function subbufCheck(bytes: Uint8Array, offset: number): number {
  return crc32(bytes, offset, offset + 46) & 0xffff;
}

/**
 * Store the check of a header whose fields are written (`encodeSubbufFields`).
 *
 * @param bytes Bytes holding the header.
 * @param offset Offset of the header.
 */
export function sealSubbufHeader(bytes: Uint8Array, offset: number): void {
  const c = subbufCheck(bytes, offset);
  bytes[offset + 46] = c & 0xff;
  bytes[offset + 47] = c >>> 8;
}

/**
 * Whether a valid sub-buffer header sits at `offset`, found at stream `position`: type, size,
 * check, a power-of-two sub-buffer size that `position` is a multiple of, the own offset, and a
 * `used` field within the sub-buffer must all agree.
 *
 * @param view The view.
 * @param offset Byte offset of the candidate.
 * @param position Stream position of the candidate.
 * @returns The header, or undefined.
 */
export function validSubbufAt(
  view: DataView,
  offset: number,
  position: number,
): SubbufHeader | undefined {
  if (offset + SUBBUF_HEADER_SIZE > view.byteLength) return undefined;
  if (view.getUint32(offset, true) !== RecordType.CALLRING_SUBBUF) return undefined;
  if (view.getUint16(offset + 6, true) !== SUBBUF_HEADER_SIZE) return undefined;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (subbufCheck(bytes, offset) !== view.getUint16(offset + 46, true)) return undefined;
  const h = decodeSubbufFields(view, offset);
  if (h.size < 64 || (h.size & (h.size - 1)) !== 0 || h.streamOffset !== position) return undefined;
  if (position % h.size !== 0 || h.used > h.size) return undefined;
  if (h.padding !== SubbufPadding.NOP && h.padding !== SubbufPadding.HEADER) return undefined;
  return h;
}

/**
 * Tracks the sub-buffer a stream walker is in, so it can skip header-style padding: feed it
 * every record (`see`), ask it before reading a header (`paddingAt`).
 */
export class SubbufWalker {
  #end = -1;
  #next = -1;
  /** Padding bytes skipped so far. */
  padding = 0;
  /** Sub-buffer headers seen. */
  headers = 0;

  /**
   * Note a record; a closed header-style sub-buffer header arms the padding skip.
   *
   * @param view The view holding the record.
   * @param offset Offset of the record.
   * @param position Its stream position.
   */
  see(view: DataView, offset: number, position: number): void {
    if (view.getUint32(offset, true) !== RecordType.CALLRING_SUBBUF) return;
    const h = validSubbufAt(view, offset, position);
    if (!h) return;
    this.headers++;
    if (h.padding === SubbufPadding.HEADER && h.used >= SUBBUF_HEADER_SIZE && h.used < h.size) {
      this.#end = position + h.used;
      this.#next = position + h.size;
    } else {
      this.#end = this.#next = -1;
    }
  }

  /**
   * Padding bytes that start at `position` (0 when a record starts there).
   *
   * @param position The walker's stream position.
   * @returns Bytes to skip.
   */
  paddingAt(position: number): number {
    if (position !== this.#end) return 0;
    const n = this.#next - position;
    this.#end = this.#next = -1;
    return n;
  }

  /**
   * Count skipped padding.
   *
   * @param n Bytes.
   */
  skipped(n: number): void {
    this.padding += n;
  }
}

/** One sub-buffer found by {@linkcode searchSubbufs}. */
export interface SubbufHit {
  /** Index of the sub-buffer in the area searched. */
  index: number;
  /** Its header. */
  header: SubbufHeader;
}

/**
 * Binary search by time over the sub-buffers of a contiguous area (a drained stream, a ring's
 * data area in write order, a capture chunk): the last sub-buffer whose start time is at or before
 * `time` (the first one when all start later), reading only headers — "a binary search for time to
 * find the appropriate sub-buffer" (seed L8890-8892). Sub-buffers whose header is invalid are
 * stepped over to the next valid one.
 *
 * @param view The area; sub-buffer `i` starts at `i * subbufSize`.
 * @param basePosition Stream position of the area's first byte (a multiple of `subbufSize`).
 * @param subbufSize The sub-buffer size.
 * @param time Target time.
 * @returns The hit and the header bytes read, or undefined hit when no valid header exists.
 *
 * @example
 * ```ts
 * import { searchSubbufs } from "./subbuf.ts";
 * console.log(searchSubbufs(new DataView(new ArrayBuffer(8192)), 0, 4096, 5).hit); // undefined
 * ```
 */
export function searchSubbufs(
  view: DataView,
  basePosition: number,
  subbufSize: number,
  time: number,
): { hit: SubbufHit | undefined; bytesRead: number } {
  let bytesRead = 0;
  const hit = searchSubbufsBy(Math.floor(view.byteLength / subbufSize), time, (k) => {
    bytesRead += SUBBUF_HEADER_SIZE;
    return validSubbufAt(view, k * subbufSize, basePosition + k * subbufSize);
  });
  return { hit, bytesRead };
}

/**
 * {@linkcode searchSubbufs} over any storage: `headerAt(k)` reads the header of sub-buffer `k`
 * (undefined when it is not valid), e.g. from a file or a page table.
 *
 * @param n Number of sub-buffers.
 * @param time Target time.
 * @param headerAt Reads one header.
 * @returns The last sub-buffer starting at or before `time` (the first valid one when none).
 */
export function searchSubbufsBy(
  n: number,
  time: number,
  headerAt: (k: number) => SubbufHeader | undefined,
): SubbufHit | undefined {
  const at = (i: number): SubbufHit | undefined => {
    for (let k = i; k < n; k++) {
      const h = headerAt(k);
      if (h) return { index: k, header: h };
    }
    return undefined;
  };
  let lo = 0;
  let hi = n - 1;
  let best: SubbufHit | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const h = at(mid);
    if (!h || h.index > hi) {
      hi = mid - 1;
      continue;
    }
    if (h.header.startTime <= time) {
      best = h;
      lo = h.index + 1;
    } else hi = mid - 1;
  }
  return best ?? at(0);
}
