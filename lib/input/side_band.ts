/**
 * The state perf keeps from side-band records while it walks a recording
 * (perf's `machine` / `thread` / `maps`): thread names from COMM/FORK,
 * per-process address spaces from MMAP/MMAP2/FORK, and the build-ids the
 * recording names (the header's BUILD_ID table, MMAP2 records with build-ids).
 * The input layer applies every side-band record to one {@linkcode SideBand}
 * before handing the record on, so each consumer sees the same state.
 *
 * @module
 */

import { type PerfRecord, RecordType } from "../abi/mod.ts";
import { AddressSpaces } from "./maps.ts";
import { ThreadTable } from "./threads.ts";

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Threads, maps and build-ids of one recording.
 *
 * @example
 * ```ts
 * import { SideBand } from "./side_band.ts";
 * const state = new SideBand();
 * state.apply({ type: 3, misc: 0, size: 0, pid: 5, tid: 5, comm: "burn" });
 * console.log(state.threads.comm(5)); // "burn"
 * ```
 */
export class SideBand {
  /** Thread names. */
  readonly threads: ThreadTable = new ThreadTable();
  /** Per-process maps. */
  readonly spaces: AddressSpaces = new AddressSpaces();
  /**
   * Build-ids by file name (lower-case hex), from the header's BUILD_ID table
   * and MMAP2 records that carry one (the last one seen wins).
   */
  readonly buildIds: Map<string, string> = new Map();
  /**
   * Objects in the order perf creates its dso objects for them: the header's build-id table,
   * then each file at its first MMAP (`[kernel.kallsyms]_text` and the like as
   * `[kernel.kallsyms]`).
   */
  readonly dsoOrder: Map<string, number> = new Map();

  #seeDso(filename: string): void {
    const name = filename.startsWith("[kernel.kallsyms]") ? "[kernel.kallsyms]" : filename;
    if (!this.dsoOrder.has(name)) this.dsoOrder.set(name, this.dsoOrder.size);
  }

  /**
   * Record the header's build-id table.
   *
   * @param entries The BUILD_ID feature entries.
   */
  addBuildIds(entries: readonly { filename: string; buildId: string }[]): void {
    for (const e of entries) {
      this.buildIds.set(e.filename, e.buildId);
      this.#seeDso(e.filename);
    }
  }

  /**
   * Forget the threads and maps (build-ids stay: they name files, whatever the time), so the
   * side-band up to an earlier time can be applied again (reading newest first).
   */
  reset(): void {
    this.threads.clear();
    this.spaces.clear();
  }

  /**
   * Apply a side-band record (COMM, FORK, MMAP, MMAP2); others are ignored.
   *
   * @param record The record.
   * @returns Whether the record changed the state.
   */
  apply(record: PerfRecord): boolean {
    switch (record.type) {
      case RecordType.COMM:
        this.threads.apply(record);
        return true;
      case RecordType.FORK:
        if ("ppid" in record) {
          this.threads.apply(record);
          this.spaces.processFork(record);
          return true;
        }
        return false;
      case RecordType.MMAP:
      case RecordType.MMAP2:
        if ("filename" in record) {
          this.spaces.processMmap({
            pid: record.pid,
            tid: record.tid,
            addr: record.addr,
            len: record.len,
            pgoff: record.pgoff,
            filename: record.filename,
            cpumode: record.misc & 7,
            prot: "prot" in record ? record.prot : undefined,
          });
          this.#seeDso(record.filename);
          if ("buildId" in record && record.buildId !== undefined && record.buildId.length > 0) {
            this.buildIds.set(record.filename, hex(record.buildId));
          }
          return true;
        }
        return false;
      default:
        return false;
    }
  }
}
