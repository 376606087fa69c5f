/**
 * `perf record -z` data: PERF_RECORD_COMPRESSED (type 81, perf 5.1) and
 * PERF_RECORD_COMPRESSED2 (type 83, perf 6.16, which adds `data_size` so the
 * record can be padded to 8 bytes). The payloads of all compressed records of
 * a file are ONE zstd stream (perf's `zstd_compress_stream_to_records` flushes
 * per record, it does not end a frame), so one decompressor lives as long as
 * the file, and a record may straddle two payloads: the bytes left over are
 * carried into the next, as perf's `perf_session__process_compressed_event`
 * keeps `decomp_last`.
 *
 * @module
 */

import { createZstdDecompress, type ZstdDecompress } from "node:zlib";
import { FormatError, getU64, RecordType } from "../abi/mod.ts";

/** Size of the COMPRESSED2 header: `struct perf_event_header` + `u64 data_size`. */
const COMPRESSED2_HEADER = 16;

/**
 * The zstd payload of a COMPRESSED / COMPRESSED2 record.
 *
 * @param view The bytes holding the record.
 * @param s Offset of its header in `view`.
 * @param type 81 or 83.
 * @param size The header's size.
 * @param offset File offset of the record (for errors).
 * @param source Input name (for errors).
 * @returns A view of the compressed bytes (valid while `view` is).
 * @throws {FormatError} When COMPRESSED2's data_size does not fit its record.
 */
export function compressedPayload(
  view: DataView,
  s: number,
  type: number,
  size: number,
  offset: number,
  source: string,
): Uint8Array {
  let from = 8, n = size - 8;
  if (type === RecordType.COMPRESSED2) {
    const dataSize = size >= COMPRESSED2_HEADER ? getU64(view, s + 8) : Infinity;
    if (dataSize > size - COMPRESSED2_HEADER) {
      throw new FormatError(
        `PERF_RECORD_COMPRESSED2 of ${size} bytes claims ${dataSize} bytes of data`,
        offset,
        source,
      );
    }
    from = COMPRESSED2_HEADER;
    n = dataSize;
  }
  return new Uint8Array(view.buffer, view.byteOffset + s + from, n);
}

/**
 * One file's zstd stream, decompressed payload by payload into a byte
 * stream of records. Decompressed records are handed out whole; a partial
 * record at the end waits for the next payload.
 */
export class Decompressor {
  #z: ZstdDecompress | undefined = undefined;
  #out: Uint8Array[] = [];
  #error: Error | undefined = undefined;
  #wake: (() => void) | undefined = undefined;
  /** Bytes of a record cut at the end of the previous payload. */
  #rest: Uint8Array = new Uint8Array(0);
  /** Compressed bytes fed so far. */
  compressedBytes = 0;
  /** Decompressed bytes produced so far. */
  decompressedBytes = 0;
  /** Compressed records fed so far. */
  records = 0;

  /**
   * Decompress one payload; returns the bytes of the whole records now
   * available (the remainder of the previous payload first), in a fresh
   * buffer (records decoded from it may keep views into it).
   *
   * @param payload Compressed bytes (copied before this returns).
   * @param offset File offset of the record (for errors).
   * @param source Input name (for errors).
   * @returns The decompressed bytes, starting at a record boundary.
   * @throws {FormatError} When the zstd stream is corrupt.
   */
  async push(payload: Uint8Array, offset: number, source: string): Promise<Uint8Array> {
    if (this.#error !== undefined) {
      throw new FormatError(
        `zstd data of PERF_RECORD_COMPRESSED: ${this.#error.message}`,
        offset,
        source,
      );
    }
    const z = this.#z ??= this.#open();
    this.records++;
    this.compressedBytes += payload.length;
    const input = payload.slice();
    // A corrupt stream emits "error" instead of calling back: wait for either.
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      z.write(input);
      z.flush(() => resolve());
    });
    this.#wake = undefined;
    const e = this.#failure();
    if (e !== undefined) {
      throw new FormatError(`zstd data of PERF_RECORD_COMPRESSED: ${e.message}`, offset, source);
    }
    const parts = this.#out;
    this.#out = [];
    let n = this.#rest.length;
    for (const p of parts) n += p.length;
    const bytes = new Uint8Array(n);
    bytes.set(this.#rest, 0);
    let at = this.#rest.length;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    this.decompressedBytes += n - this.#rest.length;
    // Keep a trailing partial record for the next payload.
    const view = new DataView(bytes.buffer);
    let p = 0;
    while (p + 8 <= n) {
      const size = view.getUint16(p + 6, true);
      if (size < 8) {
        throw new FormatError(
          `Decompressed record of size ${size} (below the 8-byte header) in PERF_RECORD_COMPRESSED`,
          offset,
          source,
        );
      }
      if (p + size > n) break;
      p += size;
    }
    this.#rest = bytes.slice(p);
    return bytes.subarray(0, p);
  }

  /** Bytes of an incomplete record left at the end (0 when the stream ended cleanly). */
  get leftover(): number {
    return this.#rest.length;
  }

  #failure(): Error | undefined {
    return this.#error;
  }

  /** Release the decompressor. */
  close(): void {
    this.#z?.destroy();
    this.#z = undefined;
  }

  #open(): ZstdDecompress {
    const z = createZstdDecompress();
    z.on("data", (chunk: Uint8Array) => this.#out.push(chunk));
    z.on("error", (e: Error) => {
      this.#error ??= e;
      this.#wake?.();
    });
    return z;
  }
}
