/**
 * Byte output of perf script text: a reused buffer handed to the sink in
 * large chunks, and the digit writers the printer's hot path uses instead of
 * building strings.
 *
 * @module
 */

import { HEX_DIGITS } from "../abi/mod.ts";

const encoder = new TextEncoder();

/**
 * A reused output buffer for {@linkcode ScriptPrinter.print}: text is
 * written as bytes and handed to the sink in large chunks.
 */
export class ScriptOutput {
  /** The buffer (valid from 0 to {@linkcode ScriptOutput.pos}). */
  buf: Uint8Array;
  /** Bytes used. */
  pos = 0;
  readonly #sink: ((bytes: Uint8Array) => void) | undefined;

  /**
   * Create an output.
   *
   * @param sink Receives the bytes in order; a chunk is valid only during the
   *   call. Without a sink the buffer grows and keeps everything.
   * @param size Buffer size (default 1 MiB).
   */
  constructor(sink?: (bytes: Uint8Array) => void, size: number = 1 << 20) {
    this.#sink = sink;
    this.buf = new Uint8Array(Math.max(4096, size));
  }

  /**
   * Make room for `n` more bytes at {@linkcode ScriptOutput.pos} (flushing
   * first if needed).
   *
   * @param n Bytes wanted.
   */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.#sink === undefined) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
      return;
    }
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(n * 2);
  }

  /**
   * Append bytes.
   *
   * @param b The bytes.
   */
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * Append text, UTF-8 encoded.
   *
   * @param text The text.
   * @returns Where in {@linkcode ScriptOutput.buf} it starts (it ends at
   *   {@linkcode ScriptOutput.pos}; a flush may come before it, never after).
   */
  text(text: string): number {
    this.room(text.length * 3);
    const at = this.pos;
    this.pos = at + encoder.encodeInto(text, this.buf.subarray(at)).written;
    return at;
  }

  /** Hand everything buffered to the sink (without a sink: nothing). */
  flush(): void {
    if (this.pos === 0 || this.#sink === undefined) return;
    this.#sink(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }
}

/**
 * Cached texts in one growing byte pool instead of one array each: a cached
 * text is a number (`offset * 2^16 + length`), so caching makes no object
 * per text and the pool's size bounds the cache's memory. When it is full,
 * {@linkcode TextPool.add} says so and the owner drops every reference and
 * calls {@linkcode TextPool.reset}.
 */
export class TextPool {
  /** The pool (valid from 0 to the bytes used). */
  #bytes: Uint8Array;
  #used = 0;
  readonly #max: number;

  /**
   * Create a pool.
   *
   * @param max Most bytes it holds.
   * @param initial Bytes allocated at first (it doubles up to `max`).
   */
  constructor(max: number, initial: number = 1 << 20) {
    this.#max = max;
    this.#bytes = new Uint8Array(Math.min(initial, max));
  }

  /**
   * Copy `src[start, end)` into the pool.
   *
   * @param src The bytes.
   * @param start First byte.
   * @param end Byte after the last.
   * @returns The text's reference, or -1 when it is too long (64 KiB or more) or the pool is full.
   */
  add(src: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (n >= 0x10000) return -1;
    const at = this.#used;
    if (at + n > this.#bytes.length) {
      if (at + n > this.#max) return -1;
      const next = new Uint8Array(Math.min(this.#max, Math.max(this.#bytes.length * 2, at + n)));
      next.set(this.#bytes.subarray(0, at));
      this.#bytes = next;
    }
    this.#bytes.set(src.subarray(start, end), at);
    this.#used = at + n;
    return at * 0x10000 + n;
  }

  /**
   * Append the text `ref` refers to to `out`.
   *
   * @param out The output.
   * @param ref A reference {@linkcode TextPool.add} returned since the last reset.
   */
  copyTo(out: ScriptOutput, ref: number): void {
    const n = ref % 0x10000;
    const at = (ref - n) / 0x10000;
    out.room(n);
    const buf = out.buf, src = this.#bytes;
    let pos = out.pos;
    if (n <= 32) {
      for (let i = at, end = at + n; i < end; i++) buf[pos++] = src[i];
      out.pos = pos;
      return;
    }
    buf.set(src.subarray(at, at + n), pos);
    out.pos = pos + n;
  }

  /** Forget every text (references given out before are invalid). */
  reset(): void {
    this.#used = 0;
  }
}

/** ASCII codes of the hex digits. */
const HEX_CODES = Uint8Array.from(HEX_DIGITS, (c) => c.charCodeAt(0));
/** ASCII space. */
export const SPACE = 0x20;
/** ASCII newline. */
export const NEWLINE = 0x0a;

/** Hex digits of a u32 (1..8). */
export function hexLen32(v: number): number {
  return v === 0 ? 1 : 8 - (Math.clz32(v) >> 2);
}

/** Write `%*lx` of (hi, lo) right-aligned in `width` columns; returns the new position. */
export function writeHex(
  buf: Uint8Array,
  pos: number,
  hi: number,
  lo: number,
  width: number,
): number {
  const len = hi === 0 ? hexLen32(lo) : hexLen32(hi) + 8;
  for (let k = len; k < width; k++) buf[pos++] = SPACE;
  let end = pos + len;
  const stop = pos;
  let v = lo;
  for (let k = 0; k < 8 && end > stop; k++) {
    buf[--end] = HEX_CODES[v & 15]!;
    v >>>= 4;
  }
  v = hi;
  while (end > stop) {
    buf[--end] = HEX_CODES[v & 15]!;
    v >>>= 4;
  }
  return pos + len;
}

/** Decimal digits of a non-negative integer below 2^53. */
export function decLen(v: number): number {
  let n = 1;
  while (v >= 10) {
    v = Math.floor(v / 10);
    n++;
  }
  return n;
}

/** Write a non-negative integer below 2^53 in `len` digits ending before `end`. */
export function writeDigits(buf: Uint8Array, end: number, v: number, len: number): void {
  if (v < 0x8000_0000) {
    for (let k = 0; k < len; k++) {
      const q = (v / 10) | 0;
      buf[--end] = 0x30 + (v - q * 10);
      v = q;
    }
    return;
  }
  for (let k = 0; k < len; k++) {
    const q = Math.floor(v / 10);
    buf[--end] = 0x30 + (v - q * 10);
    v = q;
  }
}

/** Above this, numbers are printed through `String()` (digit extraction is exact below 2^53). */
export const EXACT = 2 ** 53;
