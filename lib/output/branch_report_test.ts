import assert from "node:assert/strict";
import { ProfileBuilder } from "../analyze/profile.ts";
import type { BranchEnd } from "../analyze/chains.ts";
import { BranchHistogram, branchReportText } from "./branch_report.ts";

const end = (ip: bigint, dso?: string, level: BranchEnd["level"] = "."): BranchEnd => ({
  frame: { dso, ip, kernel: level === "k" },
  level,
  addr: ip,
  ip,
});

Deno.test("branch view: perf's keys, order and columns (comm, dso_from, symbol_from, symbol_to, cycles)", () => {
  const h = new BranchHistogram();
  const lib = "/usr/lib/libx.so";
  h.add("prog", 7, { from: end(0x20n, lib), to: end(0x30n, lib), cycles: 0 });
  h.add("prog", 7, { from: end(0x10n, lib), to: end(0x30n, lib), cycles: 3 });
  h.add("prog", 7, { from: end(0x10n, lib), to: end(0x30n, lib), cycles: 3 });
  // the same branch of another thread with the same comm: one entry after the collapse
  h.add("prog", 8, { from: end(0x10n, lib), to: end(0x30n, lib), cycles: 3 });
  h.add("prog", 7, { from: end(0n, undefined, "H"), to: end(0n, undefined, "H"), cycles: 0 });
  h.add("prog", 7, { from: end(0x40n, lib), to: end(0x50n, lib), cycles: 42141 });
  assert.equal(h.total, 6);
  const entries = h.entries();
  assert.deepEqual(entries.map((e) => [e.from.ip, e.weight]), [[0x10n, 3], [0n, 1], [0x20n, 1], [
    0x40n,
    1,
  ]]);
  const b = new ProfileBuilder();
  for (let i = 0; i < 6; i++) {
    b.add({
      frames: [{ ip: 1n, kernel: false }],
      weight: 1,
      pid: 7,
      tid: 7,
      cpu: 0,
      comm: "prog",
      time: 0,
      context: "task",
      truncated: false,
    });
  }
  const text = branchReportText(b.build(), h, { eventName: "cycles", accountingHeader: false });
  const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("# ") && l !== "#");
  assert.deepEqual(lines, [
    "    50.00%  prog     libx.so               [.] 0x0000000000000010  [.] 0x0000000000000030  3                 ",
    "    16.67%  prog     [unknown]             [H] 0000000000000000    [H] 0000000000000000    -                 ",
    "    16.67%  prog     libx.so               [.] 0x0000000000000020  [.] 0x0000000000000030  -                 ",
    // the 16-bit cycle count prints as a signed short (%hd)
    "    16.67%  prog     libx.so               [.] 0x0000000000000040  [.] 0x0000000000000050  -23395            ",
  ]);
  assert.ok(text.includes("# Samples: 6  of event 'cycles'\n# Event count (approx.): 6\n"));
});
