import { deepStrictEqual as eq, throws } from "node:assert/strict";
import assert from "node:assert/strict";
import {
  FilterSyntaxError,
  parseCpuList,
  parsePercentTimeRanges,
  parseTimeRanges,
  sampleFilter,
  skipByTimeRanges,
} from "./filter.ts";
import { ProfileBuilder } from "./profile.ts";
import { sampleOf } from "./_test_samples.ts";

Deno.test("parseCpuList and parseTimeRanges", () => {
  eq([...parseCpuList("0-2,5")], [0, 1, 2, 5]);
  throws(() => parseCpuList("3-1"), FilterSyntaxError);
  eq(parseTimeRanges("10.5,20"), [{ start: 10.5e9, end: 20e9 }]);
  eq(parseTimeRanges(",1.000000001"), [{ start: -Infinity, end: 1000000001 }]);
  eq(parseTimeRanges("7,"), [{ start: 7e9, end: Infinity }]);
  throws(() => parseTimeRanges("5"), FilterSyntaxError);
  throws(() => parseTimeRanges("5,4"), FilterSyntaxError);
});

Deno.test("sampleFilter combines options while building", () => {
  const keep = sampleFilter({
    cpu: "1",
    comm: "a,b",
    time: "1,2",
    context: "task,nmi",
    pid: "10",
    tid: "10,11",
  });
  const b = new ProfileBuilder({ filter: keep });
  b.add(sampleOf(["x"], 1, { cpu: 1, comm: "a", time: 1.5e9 })); // kept
  b.add(sampleOf(["x"], 1, { cpu: 0, comm: "a", time: 1.5e9 }));
  b.add(sampleOf(["x"], 1, { cpu: 1, comm: "c", time: 1.5e9 }));
  b.add(sampleOf(["x"], 1, { cpu: 1, comm: "b", time: 2.5e9 }));
  b.add(sampleOf(["x"], 1, { cpu: 1, comm: "b", time: 2e9, context: "hardirq" }));
  b.add(sampleOf(["x"], 1, { cpu: 1, comm: "b", time: 2e9, context: "nmi", tid: 11 })); // kept
  b.add(sampleOf(["x"], 1, { cpu: 1, comm: "b", time: 2e9, pid: 9 }));
  const p = b.build();
  eq(p.samples, 2);
  eq(p.samplesRead, 7);
  eq(sampleFilter({})(sampleOf(["x"])), true);
  throws(() => sampleFilter({ context: "irq" }), FilterSyntaxError);
});

Deno.test("parsePercentTimeRanges computes perf's set_percent_time windows", () => {
  // first 1000, last 2000: total 1000 ns.
  assert.deepEqual(parsePercentTimeRanges("10%/2", 1000, 2000), [{ start: 1100, end: 1199 }]);
  assert.deepEqual(parsePercentTimeRanges("50%", 1000, 2000), [{ start: 1000, end: 1499 }]);
  // The last slice keeps its end (perf only shortens ends before the last sample).
  assert.deepEqual(parsePercentTimeRanges("10%/10", 1000, 2000), [{ start: 1900, end: 2000 }]);
  assert.deepEqual(parsePercentTimeRanges("0%-10%,30%-40%", 1000, 2000), [
    { start: 1000, end: 1099 },
    { start: 1300, end: 1399 },
  ]);
  for (const bad of ["10%/11", "0%/1", "20%-10%", "10", "10%x", "x%-10%", "5%/a"]) {
    assert.throws(() => parsePercentTimeRanges(bad, 1000, 2000), FilterSyntaxError, bad);
  }
});

Deno.test("skipByTimeRanges: time 0 kept, one window closed, several half-open but the last", () => {
  const one = [{ start: 10, end: 20 }];
  assert.equal(skipByTimeRanges(one, 0), false);
  assert.equal(skipByTimeRanges(one, 20), false);
  assert.equal(skipByTimeRanges(one, 21), true);
  const two = [{ start: 10, end: 20 }, { start: 30, end: 40 }];
  assert.equal(skipByTimeRanges(two, 20), true);
  assert.equal(skipByTimeRanges(two, 40), false);
  assert.equal(skipByTimeRanges(two, 25), true);
  assert.equal(skipByTimeRanges([], 5), false);
});
