/**
 * A small seeded mutator library for fuzzing the binary readers: a
 * deterministic PRNG, byte-level mutations (truncation, bit flips, byte runs,
 * integer fields set to boundary values, duplicated and deleted spans), and
 * the outcome classes a fuzz case can end in. Everything is reproducible from
 * one seed, so a failing case can be replayed from its `(seed, index)`.
 *
 * @example Mutate a buffer reproducibly
 * ```ts
 * import { FuzzRng, mutateBytes } from "./fuzz.ts";
 * const input = new Uint8Array(64).fill(7);
 * const a = mutateBytes(input, new FuzzRng(42), { fields: [], spans: [] });
 * const b = mutateBytes(input, new FuzzRng(42), { fields: [], spans: [] });
 * console.log(a.mutation.kind === b.mutation.kind); // true
 * ```
 *
 * @module
 */

import { FormatError } from "../abi/errors.ts";

/** Deterministic PRNG (mulberry32): the same seed gives the same sequence. */
export class FuzzRng {
  #state: number;

  /**
   * Create a generator.
   *
   * @param seed Any integer (taken modulo 2^32).
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * Next 32-bit value.
   *
   * @returns An integer in [0, 2^32).
   */
  u32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /**
   * Uniform integer below `n`.
   *
   * @param n Exclusive upper bound (>= 1).
   * @returns An integer in [0, n).
   */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /**
   * True with probability `p`.
   *
   * @param p Probability in [0, 1].
   * @returns The coin.
   */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /**
   * One element of a non-empty array.
   *
   * @param items The choices.
   * @returns One of them.
   */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from an empty array");
    return items[this.int(items.length)]!;
  }
}

/**
 * Mix a campaign seed and a case index into the seed of one case.
 *
 * @param seed Campaign seed.
 * @param index Case index.
 * @returns The case seed.
 */
export function caseSeed(seed: number, index: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
}

/** An integer field of a binary layout that is worth setting to odd values. */
export interface FuzzField {
  /** Byte offset in the input. */
  offset: number;
  /** Width in bytes. */
  width: 2 | 4 | 8;
  /** What it is (for reports), e.g. `attr_size`, `record 12 size`. */
  name: string;
}

/** A byte span of the input (a record, a chunk) that may be duplicated or deleted. */
export interface FuzzSpan {
  /** First byte. */
  start: number;
  /** One past the last byte. */
  end: number;
  /** What it is. */
  name: string;
}

/** Where a structure-aware mutation may strike. */
export interface FuzzLayout {
  /** Length and count fields. */
  fields: readonly FuzzField[];
  /** Records or chunks. */
  spans: readonly FuzzSpan[];
}

/** What one mutation did. */
export interface Mutation {
  /** Mutation kind, e.g. `truncate`, `flip`, `field`. */
  kind: string;
  /** File offset it applies at. */
  offset: number;
  /** Human detail, e.g. `attr_size := 4294967295`. */
  detail: string;
}

/**
 * Cut the input at `at`.
 *
 * @param bytes The input (not modified).
 * @param at New length.
 * @returns The prefix (a copy).
 */
export function truncateAt(bytes: Uint8Array, at: number): Uint8Array {
  return bytes.slice(0, Math.max(0, Math.min(at, bytes.length)));
}

/**
 * Flip one bit in place.
 *
 * @param bytes The input (modified).
 * @param at Byte offset.
 * @param bit Bit number 0..7.
 */
export function flipBit(bytes: Uint8Array, at: number, bit: number): void {
  bytes[at] = bytes[at]! ^ (1 << (bit & 7));
}

/**
 * Set a run of bytes to one value in place.
 *
 * @param bytes The input (modified).
 * @param at First byte.
 * @param length Run length (clipped to the input).
 * @param value Byte value.
 */
export function fillRun(bytes: Uint8Array, at: number, length: number, value: number): void {
  bytes.fill(value, at, Math.min(bytes.length, at + length));
}

/**
 * Write a little-endian unsigned integer in place (clipped to the input).
 *
 * @param bytes The input (modified).
 * @param at Byte offset.
 * @param width 2, 4 or 8 bytes.
 * @param value Non-negative integer; for width 8 up to 2^64 - 1, and values
 *   from 2^64 on (which is what `2 ** 64 - 1` is as a number) write all ones.
 */
export function writeUint(bytes: Uint8Array, at: number, width: 2 | 4 | 8, value: number): void {
  // 2^64 - 1 is not a double: it rounds to 2^64, whose high word (2^32) would
  // write as zeros. Values from 2^64 on saturate to all ones.
  const saturated = value >= 2 ** 64;
  let lo = saturated ? 0xffff_ffff : value % 0x1_0000_0000;
  let hi = saturated ? 0xffff_ffff : Math.floor(value / 0x1_0000_0000);
  for (let i = 0; i < width && at + i < bytes.length; i++) {
    if (i === 4) lo = hi, hi = 0;
    bytes[at + i] = Math.floor(lo / 2 ** (8 * (i & 3))) & 0xff;
  }
}

/**
 * Replace `bytes[start, end)` with a second copy of itself (the span is
 * clipped to the input).
 *
 * @param bytes The input (not modified).
 * @param start Span start.
 * @param end Span end.
 * @returns The new input.
 */
export function duplicateSpan(bytes: Uint8Array, start: number, end: number): Uint8Array {
  [start, end] = clampSpan(bytes, start, end);
  const out = new Uint8Array(bytes.length + (end - start));
  out.set(bytes.subarray(0, end), 0);
  out.set(bytes.subarray(start), end);
  return out;
}

/**
 * Remove `bytes[start, end)` (the span is clipped to the input).
 *
 * @param bytes The input (not modified).
 * @param start Span start.
 * @param end Span end.
 * @returns The new input.
 */
export function deleteSpan(bytes: Uint8Array, start: number, end: number): Uint8Array {
  [start, end] = clampSpan(bytes, start, end);
  const out = new Uint8Array(bytes.length - (end - start));
  out.set(bytes.subarray(0, start), 0);
  out.set(bytes.subarray(end), start);
  return out;
}

/** A span clipped to the input (a layout can be stale after an earlier mutation). */
function clampSpan(bytes: Uint8Array, start: number, end: number): [number, number] {
  const s = Math.max(0, Math.min(start, bytes.length));
  return [s, Math.max(s, Math.min(end, bytes.length))];
}

/**
 * A value a length or count field should survive: 0, 1, small odd numbers,
 * sizes just below/above a power of two, values near 2^16, 2^31, 2^32, 2^53
 * and 2^64, or the field's old value plus or minus a little.
 *
 * @param rng The generator.
 * @param width Field width.
 * @param old The field's current value.
 * @returns The new value (fits the width).
 */
export function boundaryValue(rng: FuzzRng, width: 2 | 4 | 8, old = 0): number {
  const max = width === 2 ? 0xffff : width === 4 ? 0xffff_ffff : 2 ** 64 - 1;
  const candidates = [
    0,
    1,
    7,
    8,
    9,
    16,
    63,
    64,
    65,
    0x7fff,
    0x8000,
    0xfff8,
    0xffff,
    0x10000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fff8,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0008,
    2 ** 53 - 1,
    2 ** 53,
    2 ** 63,
    max,
    old + 8,
    Math.max(0, old - 8),
    old * 2,
    old + 1,
    rng.u32(),
    rng.u32() * 0x1_0000_0000 + rng.u32(),
  ];
  return Math.min(max, rng.pick(candidates));
}

/** Mutation kinds {@linkcode mutateBytes} chooses from. */
export const MUTATION_KINDS = [
  "truncate",
  "flip",
  "run00",
  "runff",
  "field",
  "duplicate",
  "delete",
  "u16",
] as const;

/**
 * Apply one random mutation, structure-aware when the layout names fields or spans.
 *
 * @param input The input (not modified).
 * @param rng The generator.
 * @param layout Fields and spans of the input.
 * @param kind Force a kind (default: random).
 * @returns The mutated copy and what was done.
 */
export function mutateBytes(
  input: Uint8Array,
  rng: FuzzRng,
  layout: FuzzLayout,
  kind: (typeof MUTATION_KINDS)[number] = rng.pick(MUTATION_KINDS),
): { bytes: Uint8Array; mutation: Mutation } {
  const n = input.length;
  if (n === 0) return { bytes: input.slice(), mutation: { kind: "none", offset: 0, detail: "" } };
  const bytes = input.slice();
  switch (kind) {
    case "truncate": {
      const at = rng.int(n);
      return {
        bytes: truncateAt(bytes, at),
        mutation: { kind, offset: at, detail: `cut at ${at}` },
      };
    }
    case "flip": {
      const flips = 1 + rng.int(4);
      const first = rng.int(n);
      for (let i = 0; i < flips; i++) flipBit(bytes, i ? rng.int(n) : first, rng.int(8));
      return { bytes, mutation: { kind, offset: first, detail: `${flips} bit flips` } };
    }
    case "run00":
    case "runff": {
      const at = rng.int(n);
      const len = 1 + rng.int(rng.chance(0.5) ? 16 : 512);
      fillRun(bytes, at, len, kind === "run00" ? 0 : 0xff);
      return { bytes, mutation: { kind, offset: at, detail: `${len} bytes` } };
    }
    case "field": {
      if (layout.fields.length === 0) return mutateBytes(input, rng, layout, "flip");
      const f = rng.pick(layout.fields);
      const old = readUint(bytes, f.offset, f.width);
      const value = boundaryValue(rng, f.width, old);
      writeUint(bytes, f.offset, f.width, value);
      return { bytes, mutation: { kind, offset: f.offset, detail: `${f.name} := ${value}` } };
    }
    case "u16": {
      // A random u16 at a random 8-aligned record-size slot (offset 6 of a header).
      const spans = layout.spans;
      const at = spans.length ? rng.pick(spans).start + 6 : (rng.int(n) & ~7) + 6;
      const value = rng.int(0x10000);
      writeUint(bytes, at, 2, value);
      return { bytes, mutation: { kind, offset: at, detail: `u16 := ${value}` } };
    }
    case "duplicate":
    case "delete": {
      if (layout.spans.length === 0) return mutateBytes(input, rng, layout, "run00");
      const s = rng.pick(layout.spans);
      const out = kind === "duplicate"
        ? duplicateSpan(bytes, s.start, s.end)
        : deleteSpan(bytes, s.start, s.end);
      return { bytes: out, mutation: { kind, offset: s.start, detail: s.name } };
    }
  }
}

/**
 * Read a little-endian unsigned integer (as a number; exact below 2^53).
 *
 * @param bytes The input.
 * @param at Byte offset.
 * @param width 2, 4 or 8.
 * @returns The value (missing bytes read as 0).
 */
export function readUint(bytes: Uint8Array, at: number, width: 2 | 4 | 8): number {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + (bytes[at + i] ?? 0);
  return v;
}

/** How a fuzz case ended. `bug`, `hang` and `memory` are failures. */
export type OutcomeClass = "ok" | "warned" | "format-error" | "bug" | "hang" | "memory";

/** The outcome of one target run on one mutated input. */
export interface Outcome {
  /** Its class. */
  class: OutcomeClass;
  /** Error or warning text (first line), empty when ok. */
  message: string;
}

/**
 * Classify a thrown value: a {@linkcode FormatError} with a non-negative
 * offset is the expected failure; anything else (a RangeError from a DataView,
 * a TypeError, a FormatError without an offset) is a bug.
 *
 * @param e The caught value.
 * @returns The outcome.
 */
export function classifyError(e: unknown): Outcome {
  if (e instanceof FormatError) {
    if (e.offset >= 0) return { class: "format-error", message: firstLine(e.message) };
    return { class: "bug", message: `FormatError without an offset: ${firstLine(e.message)}` };
  }
  if (e instanceof Error) {
    const where = e.stack?.split("\n").find((l) => l.includes("/lib/"))?.trim() ?? "";
    return { class: "bug", message: `${e.name}: ${firstLine(e.message)} ${where}` };
  }
  return { class: "bug", message: `non-Error thrown: ${String(e)}` };
}

function firstLine(s: string): string {
  const i = s.indexOf("\n");
  return i < 0 ? s : s.slice(0, i);
}

/** Counts of outcome classes, with the failures kept for the report. */
export class FuzzTally {
  /** Cases per outcome class. */
  readonly counts: Record<OutcomeClass, number> = {
    ok: 0,
    warned: 0,
    "format-error": 0,
    bug: 0,
    hang: 0,
    memory: 0,
  };
  /** Failing cases (first 50). */
  readonly failures: string[] = [];
  /** Distinct FormatError messages with offsets stripped, and how often each came. */
  readonly messages = new Map<string, number>();

  /**
   * Count one outcome.
   *
   * @param outcome The outcome.
   * @param label Case label (seed, index, target, mutation) for failures.
   */
  add(outcome: Outcome, label: string): void {
    this.counts[outcome.class]++;
    if (outcome.class === "format-error") {
      const key = outcome.message.replace(/\d+/g, "N").replace(/^[^:]*: /, "");
      this.messages.set(key, (this.messages.get(key) ?? 0) + 1);
    }
    if (isFailure(outcome.class) && this.failures.length < 50) {
      this.failures.push(`${label}: ${outcome.class}: ${outcome.message}`);
    }
  }

  /** Number of failing outcomes. */
  get failed(): number {
    return this.counts.bug + this.counts.hang + this.counts.memory;
  }

  /**
   * One-line summary.
   *
   * @returns E.g. `ok 120, warned 40, format-error 30, bug 0, hang 0, memory 0`.
   */
  summary(): string {
    return Object.entries(this.counts).map(([k, v]) => `${k} ${v}`).join(", ");
  }
}

/**
 * Whether an outcome class is a failure.
 *
 * @param c The class.
 * @returns True for `bug`, `hang` and `memory`.
 */
export function isFailure(c: OutcomeClass): boolean {
  return c === "bug" || c === "hang" || c === "memory";
}
