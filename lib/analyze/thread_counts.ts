/**
 * perf report's per-thread event counts (`-T` / `--threads`): the values of
 * the PERF_RECORD_READ records perf record writes for each inherited thread
 * that exits (`perf record -s` / `--stat`), added per thread and event as
 * perf 6.1's `process_read_event` and `perf_read_values_add_value`
 * (tools/perf/util/values.c) add them: threads and events in the order
 * they are first read, a missing value 0.
 *
 * @example
 * ```ts ignore
 * import { readThreadCounts } from "./thread_counts.ts";
 * const counts = await readThreadCounts("perf.data");
 * counts.threads; // [{ pid: 12431, tid: 12441, values: [11946414n] }]
 * ```
 *
 * @module
 */

import { RecordType } from "../abi/mod.ts";
import { openInput } from "../input/mod.ts";

/** One thread's row: its ids and a value per counter (in {@linkcode ThreadCounts.counters} order). */
export interface ThreadCountRow {
  /** Process id of the READ record. */
  pid: number;
  /** Thread id of the READ record. */
  tid: number;
  /** Summed values, one per counter (0n where the thread has none). */
  values: bigint[];
}

/** The per-thread counts of a recording. */
export interface ThreadCounts {
  /** Counter (event) names, in the order first read. */
  counters: string[];
  /** Threads, in the order first read. */
  threads: ThreadCountRow[];
  /** READ records whose event was not found (not counted; perf drops them too). */
  unmatched: number;
}

/**
 * Read the PERF_RECORD_READ records of a perf.data file (or capture).
 *
 * @param path The input.
 * @returns The counts per thread and event.
 */
export async function readThreadCounts(path: string): Promise<ThreadCounts> {
  const input = await openInput(path);
  const counters: string[] = [];
  const counterOf = new Map<number, number>();
  const threads: ThreadCountRow[] = [];
  const threadOf = new Map<string, ThreadCountRow>();
  let unmatched = 0;
  try {
    await input.forEachRecord((r) => {
      if (r.type !== RecordType.READ) return;
      const event = r.event;
      // pid, tid (printed as %d), then the read_format values: perf takes the first u64
      if (event === undefined || r.size < 24) {
        unmatched++;
        return;
      }
      // records the reader does not decode come with their bytes (`raw`), not in `view`
      const decoded = r.decoded;
      const raw = decoded !== undefined && "raw" in decoded ? decoded.raw : undefined;
      const v = raw instanceof Uint8Array
        ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
        : r.view;
      const at = (raw instanceof Uint8Array ? 0 : r.offset) + 8;
      const pid = v.getInt32(at, true), tid = v.getInt32(at + 4, true);
      const value = v.getBigUint64(at + 8, true);
      let c = counterOf.get(event.index);
      if (c === undefined) {
        c = counters.length;
        counters.push(event.name);
        counterOf.set(event.index, c);
      }
      const key = `${pid}/${tid}`;
      let row = threadOf.get(key);
      if (row === undefined) {
        row = { pid, tid, values: [] };
        threads.push(row);
        threadOf.set(key, row);
      }
      while (row.values.length <= c) row.values.push(0n);
      row.values[c] += value;
    });
  } finally {
    input.close();
  }
  for (const row of threads) while (row.values.length < counters.length) row.values.push(0n);
  return { counters, threads, unmatched };
}
