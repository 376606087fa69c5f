/**
 * One kernel perf ring, mapped through {@linkcode mmapFd} and read through
 * the project's own ring code: the mapping is wrapped as a
 * {@linkcode RingMemory} (the control page is the kernel's
 * `struct perf_event_mmap_page`, whose layout `lib/abi/mmap_page.ts`
 * describes; the data area starts at the kernel's `data_offset`), so the
 * simulator's {@linkcode RingReader} consumes it (`perf_mmap__read_event` /
 * `perf_mmap__consume`) and {@linkcode snapshotOverwrite} copies a paused
 * write-backward ring (`perf_evlist__toggle_bkw_mmap`, `PERF_EVENT_IOC_PAUSE_OUTPUT`).
 *
 * The callring seqcounts of `layout.ts` live in the page's `__reserved` area,
 * which the kernel leaves zero: for a kernel page they stay 0 (even), so each
 * load of `data_head` is the plain u32-pair read with the high-half recheck of
 * `loadCounter`; the reader's `data_tail` store bumps a seqcount there the
 * kernel never reads.
 *
 * @module
 */

import { getU64, MMAP_PAGE_SIZE, MmapPage } from "../abi/mod.ts";
import type { RingMemory } from "../ring/layout.ts";
import { RingReader } from "../ring/reader.ts";
import { ioctl, type Mapping, mmapFd, munmap, PerfIoc } from "./sys.ts";

/** Page size of the mapping (4 KiB on x86_64 and on the usual aarch64 kernels). */
export const PAGE_SIZE = 4096;

/**
 * Wrap the bytes of a kernel ring (control page + data area) as ring memory.
 *
 * @param buffer The mapped bytes.
 * @param overwrite Whether the event has `write_backward`.
 * @returns The ring memory.
 * @throws {RangeError} When `data_offset` / `data_size` do not describe a power-of-two area inside the buffer.
 */
export function kernelRingMemory(buffer: ArrayBuffer, overwrite: boolean): RingMemory {
  const page = new DataView(buffer, 0, MMAP_PAGE_SIZE);
  const dataOffset = getU64(page, MmapPage.dataOffset);
  const dataSize = getU64(page, MmapPage.dataSize);
  if (
    dataOffset < MMAP_PAGE_SIZE || dataSize < 4096 || (dataSize & (dataSize - 1)) !== 0 ||
    dataOffset + dataSize > buffer.byteLength
  ) {
    throw new RangeError(
      `Cannot read the kernel ring: data_offset ${dataOffset} data_size ${dataSize} ` +
        `in a mapping of ${buffer.byteLength} bytes`,
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
    overwrite,
  };
}

/** A mapped kernel ring and its reader. */
export class KernelRing {
  /** The event fd owning the ring. */
  readonly fd: number;
  /** The ring memory. */
  readonly memory: RingMemory;
  /** The consumer (consume-mode rings only). */
  readonly reader: RingReader | undefined;
  readonly #mapping: Mapping;
  #closed = false;

  /**
   * Map the ring of an event.
   *
   * @param fd The event fd.
   * @param dataPages Data pages (a power of two).
   * @param overwrite Map read-only as a write-backward ring.
   */
  constructor(fd: number, dataPages: number, overwrite: boolean) {
    this.fd = fd;
    this.#mapping = mmapFd(fd, (1 + dataPages) * PAGE_SIZE, !overwrite);
    this.memory = kernelRingMemory(this.#mapping.buffer, overwrite);
    this.reader = overwrite ? undefined : new RingReader(this.memory);
  }

  /**
   * Stop (`true`) or resume (`false`) the kernel writing into the ring.
   *
   * @param paused Pause or resume.
   */
  pause(paused: boolean): void {
    ioctl(this.fd, PerfIoc.PAUSE_OUTPUT, paused ? 1 : 0);
  }

  /** Unmap; the memory must not be used afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    munmap(this.#mapping);
  }
}
