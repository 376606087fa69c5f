import assert from "node:assert/strict";
import { threadCountsTable } from "./thread_counts_print.ts";

Deno.test("threadCountsTable: perf_read_values__display_pretty's widths (PID, TID at least 3)", () => {
  assert.equal(threadCountsTable({ counters: [], threads: [] }), "# PID  TID\n");
  assert.equal(
    threadCountsTable({
      counters: ["cpu-clock", "task-clock"],
      threads: [
        { pid: 12431, tid: 12441, values: [11946414n, 0n] },
        { pid: 7, tid: 9, values: [1n, 123456789012n] },
      ],
    }),
    "#   PID    TID  cpu-clock    task-clock\n" +
      "  12431  12441   11946414             0\n" +
      "      7      9          1  123456789012\n",
  );
});
