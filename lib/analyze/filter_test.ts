import { deepStrictEqual as eq, throws } from "node:assert/strict";
import assert from "node:assert/strict";
import { FilterSyntaxError, parseCpuList, parsePerfCpuMap, sampleFilter } from "./filter.ts";
import { parsePerfTime, perfTimeKeeps } from "./perf_time.ts";
import { ProfileBuilder } from "./profile.ts";
import { sampleOf } from "./_test_samples.ts";

// The --time windows are perf_time.ts's (the one parser): an open end is 0 there.
const ranges = (text: string, first = 0, last = 0) =>
  parsePerfTime(text, first || last ? { first, last } : undefined).ranges;

Deno.test("parseCpuList, parsePerfCpuMap and the --time windows", () => {
  eq([...parseCpuList("0-2,5")], [0, 1, 2, 5]);
  throws(() => parseCpuList("3-1"), FilterSyntaxError);
  eq(parsePerfCpuMap("5,0-2"), { cpus: [0, 1, 2, 5], beyondMax: false });
  eq(parsePerfCpuMap("0x2,010"), { cpus: [2, 8], beyondMax: false });
  eq(parsePerfCpuMap("1,,3"), { cpus: [1], beyondMax: false }); // reading stops at ","
  eq(parsePerfCpuMap(""), { cpus: [], beyondMax: false });
  eq(parsePerfCpuMap("2047-2048"), { cpus: [2047, 2048], beyondMax: true });
  for (const bad of ["1,1", "3-1", " 1", "+1", "a", "1-", "1x"]) {
    throws(() => parsePerfCpuMap(bad), FilterSyntaxError, bad);
  }
  eq(ranges("10.5,20"), [{ start: 10.5e9, end: 20e9 }]);
  eq(ranges(",1.000000001"), [{ start: 0, end: 1000000001 }]);
  eq(ranges("7,"), [{ start: 7e9, end: 0 }]);
  throws(() => ranges("5"), FilterSyntaxError);
  throws(() => ranges("5,4"), FilterSyntaxError);
  // sampleFilter takes absolute windows only: a predicate has no sample-time span
  throws(() => sampleFilter({ time: "10%/2" }), FilterSyntaxError);
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

Deno.test("percent --time windows are perf's set_percent_time windows", () => {
  // first 1000, last 2000: total 1000 ns.
  assert.deepEqual(ranges("10%/2", 1000, 2000), [{ start: 1100, end: 1199 }]);
  assert.deepEqual(ranges("50%", 1000, 2000), [{ start: 1000, end: 1499 }]);
  // The last slice keeps its end (perf only shortens ends before the last sample).
  assert.deepEqual(ranges("10%/10", 1000, 2000), [{ start: 1900, end: 2000 }]);
  assert.deepEqual(ranges("0%-10%,30%-40%", 1000, 2000), [
    { start: 1000, end: 1099 },
    { start: 1300, end: 1399 },
  ]);
  for (const bad of ["10%/11", "0%/1", "10", "10%x", "x%-10%", "5%/a"]) {
    assert.throws(() => ranges(bad, 1000, 2000), FilterSyntaxError, bad);
  }
  // perf 6.1 takes a reversed range (exit 0): a window no sample is in
  assert.deepEqual(ranges("20%-10%", 1000, 2000), [{ start: 1200, end: 1100 }]);
});

Deno.test("perfTimeKeeps: time 0 kept, every window includes both ends (perf >= 5.3)", () => {
  const one = parsePerfTime("0.00000001,0.00000002");
  assert.equal(perfTimeKeeps(one, 0), true);
  assert.equal(perfTimeKeeps(one, 20), true);
  assert.equal(perfTimeKeeps(one, 21), false);
  // perf 5.3 ("treat time ranges consistently") made the ends of all windows inclusive,
  // not only the last one's
  const two = parsePerfTime("0.00000001,0.00000002 0.00000003,0.00000004");
  assert.equal(perfTimeKeeps(two, 20), true);
  assert.equal(perfTimeKeeps(two, 40), true);
  assert.equal(perfTimeKeeps(two, 25), false);
  assert.equal(perfTimeKeeps(two, 41), false);
});
