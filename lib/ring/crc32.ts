/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, the zlib/PNG/gzip CRC),
 * table driven with slicing-by-8 so payload checks stay cheap on both paths.
 *
 * @module
 */

const POLY = 0xedb88320;

function makeTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
}

const TABLES = makeTables();

/**
 * Compute (or continue) the CRC-32 of a byte range.
 *
 * @param bytes The bytes.
 * @param start First byte of the range (default 0).
 * @param end One past the last byte (default `bytes.length`).
 * @param crc The CRC of the bytes before this range, to continue a running CRC (default 0).
 * @returns The CRC-32 as an unsigned 32-bit number.
 *
 * @example The standard check value
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * console.log(crc32(new TextEncoder().encode("123456789")).toString(16)); // cbf43926
 * ```
 */
export function crc32(bytes: Uint8Array, start = 0, end: number = bytes.length, crc = 0): number {
  const t = TABLES;
  let c = ~crc;
  let i = start;
  const end8 = end - ((end - i) & 7);
  if (end8 - i >= 256 && ((bytes.byteOffset + i) & 3) === 0) {
    // aligned (chunk payloads are): read whole little-endian words
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (end8 - i) >> 2);
    for (let k = 0; k < w.length; k += 2) {
      c ^= w[k];
      const d = w[k + 1];
      c = t[1792 + (c & 0xff)] ^ t[1536 + ((c >>> 8) & 0xff)] ^ t[1280 + ((c >>> 16) & 0xff)] ^
        t[1024 + (c >>> 24)] ^ t[768 + (d & 0xff)] ^ t[512 + ((d >>> 8) & 0xff)] ^
        t[256 + ((d >>> 16) & 0xff)] ^ t[d >>> 24];
    }
    i = end8;
  }
  for (; i < end8; i += 8) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    const d = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    c = t[1792 + (c & 0xff)] ^ t[1536 + ((c >>> 8) & 0xff)] ^ t[1280 + ((c >>> 16) & 0xff)] ^
      t[1024 + (c >>> 24)] ^ t[768 + (d & 0xff)] ^ t[512 + ((d >>> 8) & 0xff)] ^
      t[256 + ((d >>> 16) & 0xff)] ^ t[d >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
