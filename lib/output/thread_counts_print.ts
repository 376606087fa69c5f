/**
 * The table `perf report -T` prints after the report: perf 6.1's
 * `perf_read_values__display_pretty` (tools/perf/util/values.c), one row per
 * thread with a right-aligned column per counter, each column as wide as its
 * widest value or name (PID and TID at least 3).
 *
 * @example
 * ```ts
 * import { threadCountsTable } from "./thread_counts_print.ts";
 * threadCountsTable({ counters: ["cpu-clock"], threads: [{ pid: 7, tid: 9, values: [42n] }] });
 * // "# PID  TID  cpu-clock\n    7    9         42\n"
 * ```
 *
 * @module
 */

import type { ThreadCounts } from "../analyze/thread_counts.ts";

/**
 * Format the per-thread counts as perf report `-T` prints them.
 *
 * @param counts Counter names and the threads' values.
 * @returns The table, a line per thread after the heading.
 */
export function threadCountsTable(counts: Pick<ThreadCounts, "counters" | "threads">): string {
  let pidWidth = 3, tidWidth = 3;
  const widths = counts.counters.map((c) => c.length);
  for (const t of counts.threads) {
    pidWidth = Math.max(pidWidth, String(t.pid).length);
    tidWidth = Math.max(tidWidth, String(t.tid).length);
    t.values.forEach((v, j) => widths[j] = Math.max(widths[j], String(v).length));
  }
  let out = `# ${"PID".padStart(pidWidth)}  ${"TID".padStart(tidWidth)}`;
  counts.counters.forEach((c, j) => out += `  ${c.padStart(widths[j])}`);
  out += "\n";
  for (const t of counts.threads) {
    out += `  ${String(t.pid).padStart(pidWidth)}  ${String(t.tid).padStart(tidWidth)}`;
    counts.counters.forEach((_, j) => out += `  ${String(t.values[j] ?? 0n).padStart(widths[j])}`);
    out += "\n";
  }
  return out;
}
