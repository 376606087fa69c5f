import assert from "node:assert/strict";
import { ProfileBuilder } from "../analyze/profile.ts";
import { TraceHistogram, traceReportText } from "./trace_report.ts";

function profileOf(n: number) {
  const b = new ProfileBuilder();
  for (let i = 0; i < n; i++) {
    b.add({
      frames: [{ ip: 1n, kernel: false }],
      weight: 1,
      pid: 1,
      tid: 1,
      cpu: 0,
      comm: "p",
      time: 0,
      context: "task",
      truncated: false,
    });
  }
  return b.build();
}

const body = (text: string) => text.split("\n").filter((l) => l !== "" && l !== "#");

Deno.test("trace view: by weight then text; the column as wide as the texts perf compared", () => {
  const h = new TraceHistogram();
  h.add("prev_comm=b next_comm=a", 1);
  h.add("prev_comm=a next_comm=b", 1);
  h.add("prev_comm=c", 2);
  const text = traceReportText(profileOf(3), h, { eventName: "sched:sched_switch" });
  const lines = body(text).slice(-5);
  assert.deepEqual(lines, [
    "# Overhead  Trace output           ",
    "# ........  .......................",
    "    50.00%  prev_comm=c",
    "    25.00%  prev_comm=a next_comm=b",
    "    25.00%  prev_comm=b next_comm=a",
  ]);
});

Deno.test("trace view: a lone sample is never compared: its text is cut to the header's width", () => {
  const h = new TraceHistogram();
  h.add("(55d1db028560)", 1);
  const lines = body(traceReportText(profileOf(1), h, { eventName: "probe:main" })).slice(-3);
  assert.deepEqual(lines, [
    "# Overhead  Trace output",
    "# ........  ............",
    "   100.00%  (55d1db02856",
  ]);
});
