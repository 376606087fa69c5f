/**
 * `struct perf_event_attr`, in every size perf has shipped (VER0 = 64 bytes to
 * VER8 = 136 bytes). Fields beyond the encoded size decode as zero, as the
 * kernel treats them.
 *
 * @module
 */

import { ATTR_SIZE_VER7, ATTR_SIZES, AttrFlag } from "./constants.ts";
import { FormatError } from "./errors.ts";
import { getU64, getU64Big, setU64, setU64Big } from "./u64.ts";

/** A decoded `perf_event_attr`. u64 fields that are bit sets or small counts are numbers. */
export interface PerfEventAttr {
  /** `type`: PERF_TYPE_*. */
  type: number;
  /** `size` as stored (the ABI version). */
  size: number;
  /** `config`. */
  config: bigint;
  /** `sample_period` or, when `freq` is set, `sample_freq`. */
  samplePeriod: number;
  /** `sample_type` bits (PERF_SAMPLE_*). */
  sampleType: number;
  /** `read_format` bits (PERF_FORMAT_*). */
  readFormat: number;
  /** The flag bitfield at offset 40 as a number (bits 0..37). */
  flags: number;
  /** `wakeup_events` or `wakeup_watermark`. */
  wakeupEvents: number;
  /** `bp_type`. */
  bpType: number;
  /** `config1` / `bp_addr`. */
  config1: bigint;
  /** `config2` / `bp_len`. */
  config2: bigint;
  /** `branch_sample_type`. */
  branchSampleType: number;
  /** `sample_regs_user` mask. */
  sampleRegsUser: bigint;
  /** `sample_stack_user`. */
  sampleStackUser: number;
  /** `clockid`. */
  clockid: number;
  /** `sample_regs_intr` mask. */
  sampleRegsIntr: bigint;
  /** `aux_watermark`. */
  auxWatermark: number;
  /** `sample_max_stack`. */
  sampleMaxStack: number;
  /** `aux_sample_size`. */
  auxSampleSize: number;
  /** `sig_data`. */
  sigData: bigint;
  /** `config3` (VER8). */
  config3: bigint;
}

/**
 * Test one flag bit of an attr.
 *
 * @param attr The attr.
 * @param bit A bit number from {@linkcode AttrFlag}.
 * @returns Whether the bit is set.
 *
 * @example
 * ```ts
 * import { AttrFlag, defaultAttr, hasFlag } from "./mod.ts";
 * const attr = defaultAttr({ flags: 1 << AttrFlag.sampleIdAll });
 * console.log(hasFlag(attr, AttrFlag.sampleIdAll)); // true
 * ```
 */
export function hasFlag(attr: PerfEventAttr, bit: number): boolean {
  return Math.floor(attr.flags / 2 ** bit) % 2 === 1;
}

/**
 * Build an attr with every field zero except those given (size defaults to VER7).
 *
 * @param fields Fields to set.
 * @returns A complete attr.
 */
export function defaultAttr(fields: Partial<PerfEventAttr> = {}): PerfEventAttr {
  return {
    type: 0,
    size: ATTR_SIZE_VER7,
    config: 0n,
    samplePeriod: 0,
    sampleType: 0,
    readFormat: 0,
    flags: 0,
    wakeupEvents: 0,
    bpType: 0,
    config1: 0n,
    config2: 0n,
    branchSampleType: 0,
    sampleRegsUser: 0n,
    sampleStackUser: 0,
    clockid: 0,
    sampleRegsIntr: 0n,
    auxWatermark: 0,
    sampleMaxStack: 0,
    auxSampleSize: 0,
    sigData: 0n,
    config3: 0n,
    ...fields,
  };
}

/**
 * Decode a `perf_event_attr` of any shipped size. `bytes` may be shorter than
 * VER8; missing fields are zero.
 *
 * @param view The view holding the attr.
 * @param offset Byte offset of the attr.
 * @param available Bytes available for the attr (e.g. `attr_size - 16` in a perf.data file).
 * @param fileOffset Offset used in error messages.
 * @returns The attr.
 * @throws {FormatError} When `size` is 0, not 8-aligned, or larger than `available`.
 */
export function decodeAttr(
  view: DataView,
  offset: number,
  available: number,
  fileOffset = offset,
): PerfEventAttr {
  if (available < 8) {
    throw new FormatError(`Cannot decode perf_event_attr: only ${available} bytes`, fileOffset);
  }
  const size = view.getUint32(offset + 4, true);
  const n = size === 0 ? 64 : size; // size 0 means VER0 to the kernel
  if (n < 64 || n % 8 !== 0) {
    throw new FormatError(`Cannot decode perf_event_attr: invalid attr.size ${size}`, fileOffset);
  }
  if (n > available) {
    throw new FormatError(
      `Cannot decode perf_event_attr: attr.size ${size} exceeds the ${available} bytes available`,
      fileOffset,
    );
  }
  const u64 = (o: number): number => (o + 8 <= n ? getU64(view, offset + o) : 0);
  const big = (o: number): bigint => (o + 8 <= n ? getU64Big(view, offset + o) : 0n);
  const u32 = (o: number): number => (o + 4 <= n ? view.getUint32(offset + o, true) : 0);
  return {
    type: view.getUint32(offset, true),
    size,
    config: big(8),
    samplePeriod: u64(16),
    sampleType: u64(24),
    readFormat: u64(32),
    flags: u64(40),
    wakeupEvents: u32(48),
    bpType: u32(52),
    config1: big(56),
    config2: big(64),
    branchSampleType: u64(72),
    sampleRegsUser: big(80),
    sampleStackUser: u32(88),
    clockid: n >= 96 ? view.getInt32(offset + 92, true) : 0,
    sampleRegsIntr: big(96),
    auxWatermark: u32(104),
    sampleMaxStack: n >= 112 ? view.getUint16(offset + 108, true) : 0,
    auxSampleSize: u32(112),
    sigData: big(120),
    config3: big(128),
  };
}

/**
 * Encode an attr at its own `size` (which must be one of {@linkcode ATTR_SIZES}).
 *
 * @param attr The attr.
 * @returns `attr.size` bytes.
 * @throws {RangeError} When `attr.size` is not a shipped attr size.
 */
export function encodeAttr(attr: PerfEventAttr): Uint8Array {
  const n = attr.size;
  if (!ATTR_SIZES.includes(n)) {
    throw new RangeError(
      `Cannot encode perf_event_attr: size must be one of ${ATTR_SIZES.join(", ")}: current ${n}`,
    );
  }
  const bytes = new Uint8Array(n);
  const view = new DataView(bytes.buffer);
  const u64 = (o: number, v: number) => o + 8 <= n && setU64(view, o, v);
  const big = (o: number, v: bigint) => o + 8 <= n && setU64Big(view, o, v);
  const u32 = (o: number, v: number) => o + 4 <= n && view.setUint32(o, v >>> 0, true);
  view.setUint32(0, attr.type, true);
  view.setUint32(4, n, true);
  big(8, attr.config);
  u64(16, attr.samplePeriod);
  u64(24, attr.sampleType);
  u64(32, attr.readFormat);
  u64(40, attr.flags);
  u32(48, attr.wakeupEvents);
  u32(52, attr.bpType);
  big(56, attr.config1);
  big(64, attr.config2);
  u64(72, attr.branchSampleType);
  big(80, attr.sampleRegsUser);
  u32(88, attr.sampleStackUser);
  if (n >= 96) view.setInt32(92, attr.clockid, true);
  big(96, attr.sampleRegsIntr);
  u32(104, attr.auxWatermark);
  if (n >= 112) view.setUint16(108, attr.sampleMaxStack, true);
  u32(112, attr.auxSampleSize);
  big(120, attr.sigData);
  big(128, attr.config3);
  return bytes;
}

/**
 * Whether the attr asks for a `sample_id` trailer on non-sample records.
 *
 * @param attr The attr.
 * @returns `attr.sample_id_all`.
 */
export function sampleIdAll(attr: PerfEventAttr): boolean {
  return hasFlag(attr, AttrFlag.sampleIdAll);
}
