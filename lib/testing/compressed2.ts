/**
 * Rewrite a perf.data file's PERF_RECORD_COMPRESSED2 records (type 83, perf
 * 6.16) as PERF_RECORD_COMPRESSED (type 81), so that an older perf, which
 * refuses type 83, can be the oracle for such files.
 *
 * COMPRESSED2 is COMPRESSED with a `u64 data_size` after the header and the
 * record padded to 8 bytes (perf's `perf_record_compressed2`, written by
 * `record__pushfn` since 6.16); the zstd frames are the same bytes. Each
 * record becomes `header` + those `data_size` bytes, every other byte is kept.
 * In file mode the data section's size and the feature sections' offsets
 * (which follow the data section) move by the bytes the padding and the
 * `data_size` fields took.
 *
 * @module
 */

import { RecordType } from "../abi/mod.ts";
import { FEATURE_BITS } from "../perfdata/features.ts";
import { LEGACY_FILE_HEADER_SIZE, PERF_MAGIC, PIPE_HEADER_SIZE } from "../perfdata/header.ts";

/** Offset of `perf_file_header.data` (perf's util/header.h). */
const DATA_SECTION = 40;
/** Offset of `perf_file_header.adds_features`. */
const FEATURES_BITMAP = LEGACY_FILE_HEADER_SIZE;

/**
 * Rewrite the records of `src` from `start` to `end`, turning COMPRESSED2
 * into COMPRESSED.
 */
function rewriteRecords(src: Uint8Array, start: number, end: number): {
  bytes: Uint8Array;
  converted: number;
} {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const parts: Uint8Array[] = [];
  let converted = 0;
  let off = start;
  while (off + 8 <= end) {
    const type = view.getUint32(off, true);
    const size = view.getUint16(off + 6, true);
    // a damaged or cut-off tail is copied as it is, for both readers to judge
    if (size < 8 || off + size > end) break;
    if (type === RecordType.COMPRESSED2) {
      const dataSize = Number(view.getBigUint64(off + 8, true));
      if (16 + dataSize > size) throw new Error(`COMPRESSED2 data_size too big at ${off}`);
      const rec = new Uint8Array(8 + dataSize);
      rec.set(src.subarray(off, off + 8));
      rec.set(src.subarray(off + 16, off + 16 + dataSize), 8);
      const rv = new DataView(rec.buffer);
      rv.setUint32(0, RecordType.COMPRESSED, true);
      rv.setUint16(6, rec.length, true);
      parts.push(rec);
      converted++;
    } else {
      parts.push(src.subarray(off, off + size));
    }
    off += size;
  }
  parts.push(src.subarray(off, end));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, converted };
}

/**
 * The same perf.data with every COMPRESSED2 record written as COMPRESSED.
 *
 * @param src A little-endian perf.data file (file or pipe mode).
 * @returns The rewritten file and how many records were converted.
 * @throws {Error} On a file that is not little-endian `PERFILE2` or a
 *   COMPRESSED2 record whose `data_size` does not fit it.
 */
export function compressed2ToCompressed(src: Uint8Array): {
  bytes: Uint8Array;
  converted: number;
} {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (new TextDecoder().decode(src.subarray(0, 8)) !== PERF_MAGIC) {
    throw new Error("not a little-endian PERFILE2 file");
  }
  const headerSize = Number(view.getBigUint64(8, true));
  if (headerSize === PIPE_HEADER_SIZE) {
    const { bytes, converted } = rewriteRecords(src, PIPE_HEADER_SIZE, src.length);
    const out = new Uint8Array(PIPE_HEADER_SIZE + bytes.length);
    out.set(src.subarray(0, PIPE_HEADER_SIZE));
    out.set(bytes, PIPE_HEADER_SIZE);
    return { bytes: out, converted };
  }
  const dataOff = Number(view.getBigUint64(DATA_SECTION, true));
  const dataSize = Number(view.getBigUint64(DATA_SECTION + 8, true));
  const dataEnd = dataOff + dataSize;
  const { bytes: data, converted } = rewriteRecords(src, dataOff, dataEnd);
  const delta = dataSize - data.length;
  const out = new Uint8Array(src.length - delta);
  out.set(src.subarray(0, dataOff));
  out.set(data, dataOff);
  out.set(src.subarray(dataEnd), dataOff + data.length);
  const ov = new DataView(out.buffer);
  ov.setBigUint64(DATA_SECTION + 8, BigInt(data.length), true);
  let features = 0;
  for (let bit = 0; bit < FEATURE_BITS; bit++) {
    if (src[FEATURES_BITMAP + (bit >> 3)] & (1 << (bit & 7))) features++;
  }
  const table = dataOff + data.length;
  for (let i = 0; i < features; i++) {
    const at = table + i * 16;
    const offset = Number(ov.getBigUint64(at, true));
    if (offset >= dataEnd) ov.setBigUint64(at, BigInt(offset - delta), true);
  }
  return { bytes: out, converted };
}
