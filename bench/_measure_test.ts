import assert from "node:assert/strict";
import {
  comparableReport,
  firstDifference,
  median,
  rssFromProcStatus,
  rssFromTimeV,
  TextDigest,
} from "./_measure.ts";

Deno.test("median: odd, even, unsorted; none is an error", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), RangeError);
});

Deno.test("peak RSS from /usr/bin/time -v and from /proc/<pid>/status", () => {
  const timeV = "\tUser time (seconds): 1.20\n\tMaximum resident set size (kbytes): 137216\n" +
    "\tAverage resident set size (kbytes): 0\n";
  assert.equal(rssFromTimeV(timeV), 137216);
  assert.equal(rssFromTimeV("Command exited with non-zero status 1\n"), undefined);
  const status = "Name:\tperf\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\n";
  assert.equal(rssFromProcStatus(status), 81234);
  assert.equal(rssFromProcStatus("Name:\tperf\nState:\tZ (zombie)\n"), undefined);
});

Deno.test("comparableReport drops callring accounting lines and perf's tip", () => {
  const ours = "# callring: 10 samples\n# Samples: 10\n\n  50.00%  a\n";
  const perf = "# Samples: 10\n\n  50.00%  a\n\n\n#\n# (Tip: use --foo)\n#\n";
  assert.deepEqual(comparableReport(ours), comparableReport(perf));
  assert.equal(firstDifference(comparableReport(ours), comparableReport(perf)), undefined);
  assert.equal(firstDifference(["a", "b"], ["a", "c"]), 2);
  assert.equal(firstDifference(["a"], ["a", ""]), 2);
});

Deno.test("TextDigest: same bytes in any chunking give the same digest", () => {
  const bytes = new TextEncoder().encode("perf script text\n".repeat(100));
  const one = new TextDigest();
  one.update(bytes);
  const many = new TextDigest();
  for (let i = 0; i < bytes.length; i += 7) many.update(bytes.subarray(i, i + 7));
  assert.equal(String(one), String(many));
  const other = new TextDigest();
  other.update(bytes.subarray(1));
  assert.notEqual(String(one), String(other));
});
