/**
 * Helpers for u64 values read as two u32 halves. Hot decode paths avoid BigInt
 * (6-7x slower in V8); these helpers convert only where a value must leave the
 * hot path.
 *
 * @module
 */

const TWO_32 = 0x1_0000_0000;

/**
 * Read a little-endian u64 as a JavaScript number. Exact below 2^53, which holds
 * for timestamps (104 days of nanoseconds), periods, ids and sizes.
 *
 * @param view The view to read from.
 * @param offset Byte offset of the u64 in the view.
 * @returns The value as a number.
 *
 * @example Read a u64
 * ```ts
 * import { getU64 } from "./u64.ts";
 * const dv = new DataView(new ArrayBuffer(8));
 * dv.setUint32(0, 5, true);
 * dv.setUint32(4, 1, true);
 * console.log(getU64(dv, 0)); // 4294967301
 * ```
 */
export function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * TWO_32 + view.getUint32(offset, true);
}

/**
 * Write a non-negative integer number as a little-endian u64.
 *
 * @param view The view to write to.
 * @param offset Byte offset of the u64 in the view.
 * @param value The value, an integer in [0, 2^64).
 */
export function setU64(view: DataView, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  view.setUint32(offset, value - hi * TWO_32, true);
  view.setUint32(offset + 4, hi >>> 0, true);
}

/**
 * Read a little-endian u64 as a bigint (for addresses, which exceed 2^53).
 *
 * @param view The view to read from.
 * @param offset Byte offset of the u64.
 * @returns The value as a bigint.
 */
export function getU64Big(view: DataView, offset: number): bigint {
  return view.getBigUint64(offset, true);
}

/**
 * Write a bigint as a little-endian u64 (taken modulo 2^64).
 *
 * @param view The view to write to.
 * @param offset Byte offset of the u64.
 * @param value The value.
 */
export function setU64Big(view: DataView, offset: number, value: bigint): void {
  view.setBigUint64(offset, BigInt.asUintN(64, value), true);
}

/**
 * Read a little-endian s32 value that perf stores as `s32`/`pid_t`.
 *
 * @param view The view to read from.
 * @param offset Byte offset.
 * @returns The signed value.
 */
export function getI32(view: DataView, offset: number): number {
  return view.getInt32(offset, true);
}

const HEX = "0123456789abcdef";

/**
 * Format a u64 given as (hi, lo) halves in lower-case hex without a prefix or
 * leading zeros, as C's `%lx` does.
 *
 * @param hi High 32 bits.
 * @param lo Low 32 bits.
 * @returns The hex string.
 */
export function hexU64(hi: number, lo: number): string {
  if (hi === 0) return (lo >>> 0).toString(16);
  const loHex = (lo >>> 0).toString(16);
  return (hi >>> 0).toString(16) + "00000000".slice(loHex.length) + loHex;
}

/**
 * Format a u64 bigint in lower-case hex (`%lx`).
 *
 * @param value The value.
 * @returns The hex string without a prefix.
 */
export function hexBig(value: bigint): string {
  return BigInt.asUintN(64, value).toString(16);
}

/**
 * Left-pad a string with spaces to a width (C's `%*s`).
 *
 * @param s The string.
 * @param width The minimum width.
 * @returns The padded string.
 */
export function padStart(s: string, width: number): string {
  return s.length >= width ? s : " ".repeat(width - s.length) + s;
}

/**
 * Right-pad a string with spaces to a width (C's `%-*s`).
 *
 * @param s The string.
 * @param width The minimum width.
 * @returns The padded string.
 */
export function padEnd(s: string, width: number): string {
  return s.length >= width ? s : s + " ".repeat(width - s.length);
}

/** @internal Hex digits, exported for fast formatters. */
export const HEX_DIGITS: string = HEX;
