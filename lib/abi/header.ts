/**
 * `struct perf_event_header { u32 type; u16 misc; u16 size; }`.
 *
 * @module
 */

import { HEADER_SIZE } from "./constants.ts";

/** A decoded `perf_event_header`. */
export interface EventHeader {
  /** Record type (`PERF_RECORD_*`). */
  type: number;
  /** `misc` bits (cpumode in the low 3 bits). */
  misc: number;
  /** Total record size in bytes, header included. */
  size: number;
}

/**
 * Decode a record header.
 *
 * @param view The view holding the record.
 * @param offset Byte offset of the header.
 * @returns The header.
 */
export function decodeHeader(view: DataView, offset: number): EventHeader {
  return {
    type: view.getUint32(offset, true),
    misc: view.getUint16(offset + 4, true),
    size: view.getUint16(offset + 6, true),
  };
}

/**
 * Encode a record header.
 *
 * @param view The view to write into.
 * @param offset Byte offset of the header.
 * @param header The header fields.
 */
export function encodeHeader(view: DataView, offset: number, header: EventHeader): void {
  view.setUint32(offset, header.type, true);
  view.setUint16(offset + 4, header.misc, true);
  view.setUint16(offset + 6, header.size, true);
}

/**
 * Round a byte length up to the 8-byte record alignment.
 *
 * @param n The length.
 * @returns `n` rounded up to a multiple of 8.
 */
export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Size of the record header, re-exported for convenience. */
export const EVENT_HEADER_SIZE: number = HEADER_SIZE;
