/**
 * Thread names as perf tracks them: `PERF_RECORD_COMM` sets a thread's comm,
 * `PERF_RECORD_FORK` makes the child inherit its parent's current comm, the
 * idle thread (tid 0) is `swapper`, and a thread never announced prints as
 * `:<tid>` (perf's `thread__comm_str` on a fresh `thread__new`).
 *
 * @module
 */

import { type PerfRecord, RecordType } from "../abi/mod.ts";

/**
 * Per-thread comm table fed with records in processing order.
 *
 * @example
 * ```ts
 * import { ThreadTable } from "./threads.ts";
 * const threads = new ThreadTable();
 * threads.setComm(10, 10, "burn");
 * threads.fork(10, 10, 11);
 * console.log(threads.comm(11)); // "burn"
 * console.log(threads.comm(12)); // ":12"
 * ```
 */
export class ThreadTable {
  #comm = new Map<number, string>();
  #pid = new Map<number, number>();

  /**
   * Apply a COMM or FORK record; other records are ignored.
   *
   * @param record The record.
   */
  apply(record: PerfRecord): void {
    if (record.type === RecordType.COMM && "comm" in record) {
      this.setComm(record.pid, record.tid, record.comm);
    } else if (record.type === RecordType.FORK && "ppid" in record) {
      this.fork(record.ppid, record.ptid, record.tid, record.pid);
    }
  }

  /**
   * Set a thread's comm.
   *
   * @param pid Process id.
   * @param tid Thread id.
   * @param comm The new name.
   */
  setComm(pid: number, tid: number, comm: string): void {
    this.#comm.set(tid, comm);
    this.#pid.set(tid, pid);
  }

  /**
   * Create a thread that inherits its parent's comm (`swapper` from tid 0, as perf).
   *
   * @param _ppid Parent process id.
   * @param ptid Parent thread id.
   * @param tid Child thread id.
   * @param pid Child process id (defaults to `tid`).
   */
  fork(_ppid: number, ptid: number, tid: number, pid = tid): void {
    // perf's idle thread (tid 0) is named `swapper` before any record: its children inherit it
    const parent = this.#comm.get(ptid) ?? (ptid === 0 ? "swapper" : undefined);
    if (parent !== undefined) this.#comm.set(tid, parent);
    this.#pid.set(tid, pid);
  }

  /**
   * The comm perf prints for a thread.
   *
   * @param tid Thread id.
   * @returns The current comm, `swapper` for tid 0, or `:<tid>`.
   */
  comm(tid: number): string {
    const c = this.#comm.get(tid);
    if (c !== undefined) return c;
    return tid === 0 ? "swapper" : `:${tid}`;
  }

  /** Forget every thread (a reader going back in time replays the side-band). */
  clear(): void {
    this.#comm.clear();
    this.#pid.clear();
  }

  /**
   * The process a thread belongs to, when known.
   *
   * @param tid Thread id.
   * @returns The pid or undefined.
   */
  pidOf(tid: number): number | undefined {
    return this.#pid.get(tid);
  }
}
