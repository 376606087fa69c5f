import { deepStrictEqual as eq, throws } from "node:assert/strict";
import { FilterSyntaxError, parseCpuList, parseTimeRanges, sampleFilter } from "./filter.ts";
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
