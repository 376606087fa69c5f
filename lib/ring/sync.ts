/**
 * Sync points (Peter Zijlstra, seed L9195-9198): finding a record boundary in a
 * ring byte stream from an arbitrary byte offset.
 *
 * The writer places a 64-byte `CALLRING_SYNC` record (layout in
 * `lib/abi/extensions.ts`) at least every `syncDistance` bytes. A reader
 * dropped at any offset scans the 8-aligned positions after it; a candidate is
 * accepted only when (1) header and 16-byte magic match, (2) the CRC-32 over
 * its first 60 bytes matches, (3) its own stream offset equals the position
 * where it was found, and (4) the records after it tile the available bytes
 * with plausible headers. The scan therefore reads at most
 * `syncDistance + 64` bytes before it finds a sync point, which is within
 * Peter's `sync-distance + max-event-size` bound.
 *
 * **Residual risk (Mathieu's objection, L10019-10027).** Record payload is
 * arbitrary (a RAW sample could carry a copy of a sync record). A forged
 * candidate passes only if it also carries a correct CRC *and* the exact stream
 * offset of the position where it sits, and the bytes after it parse as
 * records. Random payload passes the magic + CRC with probability
 * 2^-128 * 2^-32 per position. A deliberate forgery must predict the stream
 * offset it will land at; only the writer knows it, so payload copied from
 * another place of the stream (e.g. a traced buffer holding an earlier trace)
 * fails check (3) unless it is replayed at the same offset of the same CPU
 * stream. What remains is a producer that computes a valid sync record for the
 * offset its own payload will occupy: callring cannot tell such a record from
 * a real one; the damage is bounded to resynchronising at a wrong boundary
 * inside that one record, after which check (4) usually fails and the scan
 * continues. A clean sequential read never scans, so forgeries only matter
 * after damage or a seek.
 *
 * @module
 */

import { HEADER_SIZE } from "../abi/mod.ts";
import {
  decodeSyncFields,
  hasSyncShape,
  SYNC_CRC_OFFSET,
  SYNC_RECORD_SIZE,
  type SyncPoint,
} from "../abi/extensions.ts";
import { crc32 } from "./crc32.ts";

/**
 * Whether a valid sync record sits at `offset`, found at stream `position`.
 *
 * @param bytes The stream bytes.
 * @param offset Byte offset of the candidate in `bytes`.
 * @param position Stream position of `bytes[offset]`.
 * @returns The decoded sync point, or undefined when magic, CRC or self offset disagree.
 */
export function validSyncAt(
  bytes: Uint8Array,
  offset: number,
  position: number,
): SyncPoint | undefined {
  if (offset + SYNC_RECORD_SIZE > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!hasSyncShape(view, offset)) return undefined;
  if (
    crc32(bytes, offset, offset + SYNC_CRC_OFFSET) !==
      view.getUint32(offset + SYNC_CRC_OFFSET, true)
  ) {
    return undefined;
  }
  const sync = decodeSyncFields(view, offset);
  return sync.streamOffset === position ? sync : undefined;
}

/** Where a resync landed. */
export interface ResyncResult {
  /** Offset in the bytes of the accepted sync record, or -1. */
  offset: number;
  /** The sync point (when found). */
  sync: SyncPoint | undefined;
  /** Bytes scanned from the start offset to the end of the accepted record (or to the end). */
  scanned: number;
}

/**
 * Find the next valid sync point at or after `from`.
 *
 * @param bytes Stream bytes.
 * @param from Offset in `bytes` to start at (any byte).
 * @param basePosition Stream position of `bytes[0]`.
 * @param checkRecords How many records after the candidate must parse (default 2; fewer when the bytes end).
 * @returns The result; `offset` -1 when no sync point follows.
 *
 * @example
 * ```ts
 * import { findNextSync } from "./sync.ts";
 * console.log(findNextSync(new Uint8Array(256), 3, 0).offset); // -1
 * ```
 */
export function findNextSync(
  bytes: Uint8Array,
  from: number,
  basePosition: number,
  checkRecords = 2,
): ResyncResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Records start at 8-aligned stream positions.
  let off = from + ((8 - ((basePosition + from) % 8)) % 8);
  const magic0 = 0x6c6c6163; // "call"
  for (; off + SYNC_RECORD_SIZE <= bytes.length; off += 8) {
    if (view.getUint32(off + 8, true) !== magic0) continue;
    const sync = validSyncAt(bytes, off, basePosition + off);
    if (!sync) continue;
    if (!recordsFollow(view, off + SYNC_RECORD_SIZE, checkRecords)) continue;
    return { offset: off, sync, scanned: off + SYNC_RECORD_SIZE - from };
  }
  return { offset: -1, sync: undefined, scanned: bytes.length - from };
}

function recordsFollow(view: DataView, p: number, n: number): boolean {
  for (let i = 0; i < n && p + HEADER_SIZE <= view.byteLength; i++) {
    const size = view.getUint16(p + 6, true);
    if (size < HEADER_SIZE || (size & 7) !== 0) return false;
    p += size;
  }
  return true;
}
