/**
 * Thread names as perf tracks them: `PERF_RECORD_COMM` sets a thread's comm,
 * `PERF_RECORD_FORK` makes the child inherit its parent's current comm, the
 * idle thread (tid 0) is `swapper`, and a thread never announced prints as
 * `:<tid>` (perf's `thread__comm_str` on a fresh `thread__new`).
 *
 * @module
 */

import { type PerfRecord, RecordType } from "../abi/mod.ts";

/** What a report needs of the threads once a recording is read. */
export interface ThreadNames {
  /**
   * The thread's comm now (perf's `thread__comm_str` at output time).
   *
   * @param tid Thread id.
   * @returns Its last comm, `swapper` for tid 0, or `:<tid>`.
   */
  comm(tid: number): string;
  /**
   * The name the thread's `:<tid>` placeholder comm was overridden with, if it was.
   *
   * @param tid Thread id.
   * @returns The name or undefined.
   */
  placeholderName(tid: number): string | undefined;
}

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
export class ThreadTable implements ThreadNames {
  #comm = new Map<number, string>();
  #pid = new Map<number, number>();
  /** Threads that printed as `:<tid>` before any comm was set. */
  #placeholders = new Set<number>();
  /** Their first comm, which overrides the placeholder (`comm__override`). */
  #overrides = new Map<number, string>();

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
    if (this.#placeholders.has(tid) && !this.#comm.has(tid) && !this.#overrides.has(tid)) {
      this.#overrides.set(tid, comm);
    }
    this.#comm.set(tid, comm);
    this.#pid.set(tid, pid);
  }

  /**
   * Create a thread that inherits its parent's comm.
   *
   * @param _ppid Parent process id.
   * @param ptid Parent thread id.
   * @param tid Child thread id.
   * @param pid Child process id (defaults to `tid`).
   */
  fork(_ppid: number, ptid: number, tid: number, pid = tid): void {
    const parent = this.#comm.get(ptid);
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
    if (tid === 0) return "swapper";
    this.#placeholders.add(tid);
    return `:${tid}`;
  }

  /**
   * The name a thread's `:<tid>` placeholder took: perf's `____thread__set_comm` overrides the
   * default comm in place with the thread's first COMM (`comm__override`), so what perf report
   * holds for samples taken before it prints that name.
   *
   * @param tid Thread id.
   * @returns The first comm set after the placeholder was handed out, or undefined.
   */
  placeholderName(tid: number): string | undefined {
    return this.#overrides.get(tid);
  }

  /** Forget every thread (a reader going back in time replays the side-band). */
  clear(): void {
    this.#comm.clear();
    this.#pid.clear();
    this.#placeholders.clear();
    this.#overrides.clear();
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
