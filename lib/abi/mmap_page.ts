/**
 * `struct perf_event_mmap_page`: the control page at the start of a perf mmap
 * ring. Offsets are those of `include/uapi/linux/perf_event.h`.
 *
 * @module
 */

import { getU64, setU64 } from "./u64.ts";

/** Byte offsets of the fields of `perf_event_mmap_page`. */
export const MmapPage = {
  version: 0,
  compatVersion: 4,
  lock: 8,
  index: 12,
  offset: 16,
  timeEnabled: 24,
  timeRunning: 32,
  capabilities: 40,
  pmcWidth: 48,
  timeShift: 50,
  timeMult: 52,
  timeOffset: 56,
  timeZero: 64,
  size: 72,
  timeCycles: 80,
  timeMask: 88,
  dataHead: 1024,
  dataTail: 1032,
  dataOffset: 1040,
  dataSize: 1048,
  auxHead: 1056,
  auxTail: 1064,
  auxOffset: 1072,
  auxSize: 1080,
} as const;

/** `sizeof(struct perf_event_mmap_page)`. */
export const MMAP_PAGE_STRUCT_SIZE = 1088;
/**
 * What the kernel stores in `size`: `offsetof(struct perf_event_mmap_page, __reserved)`
 * ("header size up to __reserved[] fields", `perf_event_init_userpage()`).
 */
export const MMAP_PAGE_HEADER_SIZE = 96;
/** `capabilities` bit 1, `cap_bit0_is_deprecated`: set by every kernel since 3.12. */
export const CAP_BIT0_IS_DEPRECATED = 2;
/** The control page occupies one 4 KiB page. */
export const MMAP_PAGE_SIZE = 4096;

/**
 * Read `data_head` (a free-running byte counter).
 *
 * @param page A view of the control page.
 * @returns The head.
 */
export function readDataHead(page: DataView): number {
  return getU64(page, MmapPage.dataHead);
}

/**
 * Write `data_head`.
 *
 * @param page A view of the control page.
 * @param head The new head.
 */
export function writeDataHead(page: DataView, head: number): void {
  setU64(page, MmapPage.dataHead, head);
}

/**
 * Read `data_tail` (the consumer position).
 *
 * @param page A view of the control page.
 * @returns The tail.
 */
export function readDataTail(page: DataView): number {
  return getU64(page, MmapPage.dataTail);
}

/**
 * Write `data_tail`.
 *
 * @param page A view of the control page.
 * @param tail The new tail.
 */
export function writeDataTail(page: DataView, tail: number): void {
  setU64(page, MmapPage.dataTail, tail);
}

/**
 * Initialise a control page the way the kernel does for a fresh ring
 * (`perf_event_init_userpage()`): `version` 0, `compat_version` 0,
 * `cap_bit0_is_deprecated`, `size` = {@linkcode MMAP_PAGE_HEADER_SIZE},
 * `data_offset` = one page, `data_size`.
 *
 * @param page A view of the (zeroed) control page.
 * @param dataSize Size of the data area, a power of two.
 * @throws {RangeError} When `dataSize` is not a power of two of at least 4096.
 */
export function initMmapPage(page: DataView, dataSize: number): void {
  if (dataSize < 4096 || (dataSize & (dataSize - 1)) !== 0) {
    throw new RangeError(
      `Cannot initialise the mmap page: data size must be a power of two >= 4096: current ${dataSize}`,
    );
  }
  setU64(page, MmapPage.dataOffset, MMAP_PAGE_SIZE);
  setU64(page, MmapPage.dataSize, dataSize);
  setU64(page, MmapPage.capabilities, CAP_BIT0_IS_DEPRECATED);
  page.setUint32(MmapPage.size, MMAP_PAGE_HEADER_SIZE, true);
}
