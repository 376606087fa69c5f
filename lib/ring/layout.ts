/**
 * The memory of one perf mmap ring: a 4 KiB control page laid out exactly like
 * `struct perf_event_mmap_page` (`data_head` at 1024, `data_tail` at 1032,
 * `data_offset` at 1040, `data_size` at 1048) followed by a power-of-two data
 * area, in one `ArrayBuffer` or `SharedArrayBuffer` (so a reader can run in a
 * Worker).
 *
 * JavaScript has no 64-bit atomic store of a number, so `data_head`,
 * `data_tail` and the writer's reserve position are published under seqcounts
 * kept in the page's `__reserved` area (offsets 96-1023, which the kernel
 * leaves zero): the writer bumps the count to odd, stores the two u32 halves,
 * bumps it to even; the reader retries while the count is odd or changed.
 * While the high half stays the same, the ring writer stores only the low u32
 * (one atomic store, no seqcount bump): a reader then sees the old or the new
 * value whole, with or without the seqcount. A perf-ABI reader that ignores
 * the seqcounts reads the same `data_head`; it can only see a torn value when
 * the head crosses a 4 GiB boundary.
 *
 * | off | field (callring extension in `__reserved`) |
 * |---|---|
 * | 936 | u32 seqcount of the closed position |
 * | 940 | u32 seqcount of the tail-push pair (data_tail, records pushed) |
 * | 944 | u64 closed position (sub-buffer rings: end of the last closed sub-buffer) |
 * | 952 | u64 records pushed out by the tail (tail-push overwrite; written with `data_tail`) |
 * | 960 | u64 reserved (0) |
 * | 968 | u32 sub-buffer size (0: stream ring) |
 * | 972 | u32 sub-buffer padding (0 NOP records, 1 size in the header) |
 * | 976 | u32 magic "CRNG" when the page was made by callring |
 * | 980 | u32 flags: bit 0 overwrite (`write_backward`), bit 1 tail-push overwrite (forward) |
 * | 984 | u32 seqcount of `data_head` |
 * | 988 | u32 seqcount of `data_tail` |
 * | 992 | u32 seqcount of the reserve position |
 * | 1000 | u64 reserve position (forward: `rb->head`; backward: bytes reserved) |
 * | 1008 | u64 records dropped so far (`rb->lost` accumulated) |
 * | 1016 | u64 records committed so far |
 *
 * @module
 */

import { getU64, initMmapPage, MMAP_PAGE_SIZE, MmapPage, setU64 } from "../abi/mod.ts";

/** Offsets of the callring fields inside the control page's `__reserved` area. */
export const RingExt = {
  closedSeq: 936,
  pushSeq: 940,
  closed: 944,
  pushed: 952,
  subbufSize: 968,
  subbufPadding: 972,
  magic: 976,
  flags: 980,
  headSeq: 984,
  tailSeq: 988,
  reserveSeq: 992,
  reserve: 1000,
  dropped: 1008,
  committed: 1016,
} as const;

/** Value at {@linkcode RingExt.magic}: "CRNG" little-endian. */
export const RING_MAGIC = 0x474e5243;
/** Flag bit at {@linkcode RingExt.flags}: the ring is an overwrite (write-backward) ring. */
export const RING_FLAG_OVERWRITE = 1;
/**
 * Flag bit at {@linkcode RingExt.flags}: a forward ring whose writer pushes `data_tail` ahead of
 * its reservations instead of dropping (Peter's overwrite, seed L9212-9220).
 */
export const RING_FLAG_TAIL_PUSH = 2;

/** The views one ring needs, over a buffer shared by writer and reader. */
export interface RingMemory {
  /** The whole buffer: control page + data area. */
  buffer: ArrayBuffer | SharedArrayBuffer;
  /** View of the control page. */
  page: DataView;
  /** u32 words of the control page (for Atomics). */
  pageWords: Int32Array;
  /** Bytes of the data area. */
  data: Uint8Array;
  /** View of the data area. */
  dataView: DataView;
  /** Size of the data area (power of two). */
  dataSize: number;
  /** `dataSize - 1`. */
  mask: number;
  /** Whether the ring is in overwrite (write-backward) mode. */
  overwrite: boolean;
  /** Whether the ring is a forward ring whose writer pushes the tail (flag bit 1; absent: no). */
  tailPush?: boolean;
}

/** Invalid ring memory (bad sizes, missing magic). */
export class RingError extends Error {
  /**
   * Create the error.
   *
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "RingError";
  }
}

/**
 * Allocate and initialise the memory of a ring.
 *
 * @param dataSize Size of the data area, a power of two >= 4096.
 * @param options `shared` allocates a SharedArrayBuffer; `overwrite` marks a write-backward ring;
 *   `tailPush` a forward ring overwritten by pushing the tail.
 * @returns The ring memory.
 * @throws {RangeError} When `dataSize` is not a power of two >= 4096.
 *
 * @example
 * ```ts
 * import { createRingMemory } from "./layout.ts";
 * const ring = createRingMemory(8192, { shared: true });
 * console.log(ring.page.getUint32(1048, true)); // 8192 (data_size)
 * ```
 */
export function createRingMemory(
  dataSize: number,
  options: { shared?: boolean; overwrite?: boolean; tailPush?: boolean } = {},
): RingMemory {
  if (dataSize < 4096 || dataSize > 2 ** 30 || (dataSize & (dataSize - 1)) !== 0) {
    throw new RangeError(
      `Cannot create ring: data size must be a power of two in [4096, 2^30]: current ${dataSize}`,
    );
  }
  const total = MMAP_PAGE_SIZE + dataSize;
  const buffer = options.shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
  const page = new DataView(buffer, 0, MMAP_PAGE_SIZE);
  initMmapPage(page, dataSize);
  page.setUint32(RingExt.magic, RING_MAGIC, true);
  if (options.overwrite && options.tailPush) {
    throw new RangeError(
      "Cannot create ring: overwrite (backward) and tail-push exclude each other",
    );
  }
  page.setUint32(
    RingExt.flags,
    (options.overwrite ? RING_FLAG_OVERWRITE : 0) | (options.tailPush ? RING_FLAG_TAIL_PUSH : 0),
    true,
  );
  return attachRingMemory(buffer);
}

/**
 * Attach to ring memory made by {@linkcode createRingMemory} (e.g. in a Worker
 * that received the SharedArrayBuffer).
 *
 * @param buffer The buffer holding control page + data area.
 * @returns The ring memory.
 * @throws {RingError} When the control page is not a callring page or the sizes disagree.
 */
export function attachRingMemory(buffer: ArrayBuffer | SharedArrayBuffer): RingMemory {
  if (buffer.byteLength < MMAP_PAGE_SIZE) {
    throw new RingError(
      `Cannot attach ring: buffer of ${buffer.byteLength} bytes has no control page`,
    );
  }
  const page = new DataView(buffer, 0, MMAP_PAGE_SIZE);
  if (page.getUint32(RingExt.magic, true) !== RING_MAGIC) {
    throw new RingError("Cannot attach ring: control page lacks the callring magic at offset 976");
  }
  const dataOffset = getU64(page, MmapPage.dataOffset);
  const dataSize = getU64(page, MmapPage.dataSize);
  if (dataOffset + dataSize > buffer.byteLength || (dataSize & (dataSize - 1)) !== 0) {
    throw new RingError(
      `Cannot attach ring: data_offset ${dataOffset} + data_size ${dataSize} exceed ${buffer.byteLength} bytes`,
    );
  }
  return {
    buffer,
    page,
    pageWords: new Int32Array(buffer, 0, MMAP_PAGE_SIZE / 4),
    data: new Uint8Array(buffer, dataOffset, dataSize),
    dataView: new DataView(buffer, dataOffset, dataSize),
    dataSize,
    mask: dataSize - 1,
    overwrite: (page.getUint32(RingExt.flags, true) & RING_FLAG_OVERWRITE) !== 0,
    tailPush: (page.getUint32(RingExt.flags, true) & RING_FLAG_TAIL_PUSH) !== 0,
  };
}

const TWO_32 = 0x1_0000_0000;

/**
 * Store a u64 counter under a seqcount (writer side of the seqlock).
 *
 * @param words The control page as Int32 words.
 * @param seqOffset Byte offset of the seqcount.
 * @param valueOffset Byte offset of the u64 value.
 * @param lo Low 32 bits.
 * @param hi High 32 bits.
 */
export function storeCounterHalves(
  words: Int32Array,
  seqOffset: number,
  valueOffset: number,
  lo: number,
  hi: number,
): void {
  const s = seqOffset >> 2;
  const v = valueOffset >> 2;
  Atomics.add(words, s, 1);
  Atomics.store(words, v, lo | 0);
  Atomics.store(words, v + 1, hi | 0);
  Atomics.add(words, s, 1);
}

/**
 * Store a non-negative counter (< 2^53) under a seqcount.
 *
 * @param words The control page as Int32 words.
 * @param seqOffset Byte offset of the seqcount.
 * @param valueOffset Byte offset of the u64 value.
 * @param value The value.
 */
export function storeCounter(
  words: Int32Array,
  seqOffset: number,
  valueOffset: number,
  value: number,
): void {
  const hi = Math.floor(value / TWO_32);
  storeCounterHalves(words, seqOffset, valueOffset, value - hi * TWO_32, hi);
}

/**
 * Load a u64 counter stored with {@linkcode storeCounterHalves} (reader side).
 * The high half is read before and after the low half and the load retried
 * when it changed, so a producer that stores the u64 in one 64-bit write
 * without the seqcount (the kernel's `data_head`) is never read torn either.
 *
 * @param words The control page as Int32 words.
 * @param seqOffset Byte offset of the seqcount.
 * @param valueOffset Byte offset of the u64 value.
 * @returns The value as a number (u64 values >= 2^53 lose precision; use for < 2^53).
 */
export function loadCounter(words: Int32Array, seqOffset: number, valueOffset: number): number {
  const s = seqOffset >> 2;
  const v = valueOffset >> 2;
  for (;;) {
    const s1 = Atomics.load(words, s);
    if (s1 & 1) continue;
    const hi = Atomics.load(words, v + 1) >>> 0;
    const lo = Atomics.load(words, v) >>> 0;
    if (Atomics.load(words, v + 1) >>> 0 !== hi) continue;
    if (Atomics.load(words, s) === s1) return hi * TWO_32 + lo;
  }
}

/**
 * Load `data_head` as the two's-complement negation for a write-backward ring:
 * the kernel publishes `-head`, so the bytes written so far are `-data_head`.
 *
 * @param words The control page as Int32 words.
 * @returns Bytes written backwards so far.
 */
export function loadBackwardWritten(words: Int32Array): number {
  const s = RingExt.headSeq >> 2;
  const v = MmapPage.dataHead >> 2;
  for (;;) {
    const s1 = Atomics.load(words, s);
    if (s1 & 1) continue;
    const lo = Atomics.load(words, v) >>> 0;
    const hi = Atomics.load(words, v + 1) >>> 0;
    if (Atomics.load(words, s) !== s1) continue;
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    return nhi * TWO_32 + nlo;
  }
}

/**
 * Split `-value mod 2^64` into u32 halves (for publishing a backward head).
 *
 * @param value Bytes written backwards (< 2^53).
 * @returns `[lo, hi]` of the two's-complement negation.
 */
export function negateU64(value: number): [number, number] {
  const hi = Math.floor(value / TWO_32);
  const lo = value - hi * TWO_32;
  return [(~lo + 1) >>> 0, (~hi + (lo === 0 ? 1 : 0)) >>> 0];
}

/** Read `data_head` (forward ring) through its seqcount. @param m Ring memory. @returns The head. */
export function loadHead(m: RingMemory): number {
  return loadCounter(m.pageWords, RingExt.headSeq, MmapPage.dataHead);
}

/** Read `data_tail` through its seqcount. @param m Ring memory. @returns The tail. */
export function loadTail(m: RingMemory): number {
  return loadCounter(m.pageWords, RingExt.tailSeq, MmapPage.dataTail);
}

/** Store `data_tail` (reader side). @param m Ring memory. @param tail The new tail. */
export function storeTail(m: RingMemory, tail: number): void {
  storeCounter(m.pageWords, RingExt.tailSeq, MmapPage.dataTail, tail);
}

/** Records dropped so far, as the writer published them. @param m Ring memory. @returns Count. */
export function loadDropped(m: RingMemory): number {
  return getU64(m.page, RingExt.dropped);
}

/** @internal Plain u64 write used for statistics fields. */
export function setStat(m: RingMemory, offset: number, value: number): void {
  setU64(m.page, offset, value);
}

/**
 * Store `data_tail` and the count of records pushed out with it, under one seqcount (the
 * tail-push writer's side).
 *
 * @param m Ring memory.
 * @param tail The new tail.
 * @param pushed Records (data records only) wholly before `tail`.
 */
export function storeTailPush(m: RingMemory, tail: number, pushed: number): void {
  const w = m.pageWords;
  const s = RingExt.pushSeq >> 2;
  const thi = Math.floor(tail / TWO_32);
  const phi = Math.floor(pushed / TWO_32);
  Atomics.add(w, s, 1);
  Atomics.store(w, MmapPage.dataTail >> 2, (tail - thi * TWO_32) | 0);
  Atomics.store(w, (MmapPage.dataTail >> 2) + 1, thi | 0);
  Atomics.store(w, RingExt.pushed >> 2, (pushed - phi * TWO_32) | 0);
  Atomics.store(w, (RingExt.pushed >> 2) + 1, phi | 0);
  Atomics.add(w, s, 1);
}

/**
 * Load `data_tail` and the records pushed out with it (reader side of {@linkcode storeTailPush}).
 *
 * @param m Ring memory.
 * @returns `[tail, pushed]`.
 */
export function loadTailPush(m: RingMemory): [number, number] {
  const w = m.pageWords;
  const s = RingExt.pushSeq >> 2;
  const t = MmapPage.dataTail >> 2;
  const p = RingExt.pushed >> 2;
  for (;;) {
    const s1 = Atomics.load(w, s);
    if (s1 & 1) continue;
    const tail = (Atomics.load(w, t + 1) >>> 0) * TWO_32 + (Atomics.load(w, t) >>> 0);
    const pushed = (Atomics.load(w, p + 1) >>> 0) * TWO_32 + (Atomics.load(w, p) >>> 0);
    if (Atomics.load(w, s) === s1) return [tail, pushed];
  }
}

/**
 * The end of the last closed sub-buffer, as the writer published it (sub-buffer rings).
 *
 * @param m Ring memory.
 * @returns The closed position.
 */
export function loadClosed(m: RingMemory): number {
  return loadCounter(m.pageWords, RingExt.closedSeq, RingExt.closed);
}
