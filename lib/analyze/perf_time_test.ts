import assert from "node:assert/strict";
import { FilterSyntaxError } from "./filter.ts";
import { MissingSampleTimeError, parsePerfTime, perfTimeKeeps, singleWindow } from "./perf_time.ts";

const span = { first: 1_000_000_000, last: 2_000_000_000 };

Deno.test("perf time: absolute windows as perf_time__parse_strs reads them", () => {
  assert.deepEqual(parsePerfTime("1.5,2").ranges, [{ start: 1.5e9, end: 2e9 }]);
  assert.deepEqual(parsePerfTime("1.000000001,").ranges, [{ start: 1e9 + 1, end: 0 }]);
  assert.deepEqual(parsePerfTime(",3").ranges, [{ start: 0, end: 3e9 }]);
  assert.deepEqual(parsePerfTime("1,2 3,4").ranges, [
    { start: 1e9, end: 2e9 },
    { start: 3e9, end: 4e9 },
  ]);
  // end 0 means open, so "5,0" is no reversed window
  assert.deepEqual(parsePerfTime("5,0").ranges, [{ start: 5e9, end: 0 }]);
  for (const bad of ["", "1", "abc", "2,1", "1,2,3", "1,3 2,4", "1.0000000001,2"]) {
    assert.throws(() => parsePerfTime(bad), FilterSyntaxError, bad);
  }
});

Deno.test("perf time: percent slices, ranges and a single percent over the sample-time span", () => {
  // set_percent_time: start + round(p * total), end - 1 unless it is the last sample time
  assert.deepEqual(parsePerfTime("10%/2", span).ranges, [{ start: 1.1e9, end: 1.2e9 - 1 }]);
  assert.deepEqual(parsePerfTime("10%/10", span).ranges, [{ start: 1.9e9, end: 2e9 }]);
  assert.deepEqual(parsePerfTime("0%-10%,50%-60%", span).ranges, [
    { start: 1e9, end: 1.1e9 - 1 },
    { start: 1.5e9, end: 1.6e9 - 1 },
  ]);
  assert.deepEqual(parsePerfTime("50%", span).ranges, [{ start: 1e9, end: 1.5e9 - 1 }]);
  for (const bad of ["10%/11", "0%/1", "10%/1,20%-30%", "50%x", "10%/1,,10%/2", "-10%/1"]) {
    assert.throws(() => parsePerfTime(bad, span), FilterSyntaxError, bad);
  }
  assert.throws(() => parsePerfTime("10%/1"), MissingSampleTimeError);
  assert.throws(() => parsePerfTime("10%/1", { first: 0, last: 0 }), MissingSampleTimeError);
});

Deno.test("perf time: which samples perf keeps (time 0 always; several windows, open ends)", () => {
  const one = parsePerfTime("1,2");
  assert.equal(perfTimeKeeps(one, 0), true);
  assert.equal(perfTimeKeeps(one, 1e9), true);
  assert.equal(perfTimeKeeps(one, 2e9), true);
  assert.equal(perfTimeKeeps(one, 2e9 + 1), false);
  assert.equal(perfTimeKeeps(one, 1e9 - 1), false);
  const two = parsePerfTime("1,2 3,");
  assert.equal(perfTimeKeeps(two, 2.5e9), false);
  assert.equal(perfTimeKeeps(two, 9e9), true);
  assert.deepEqual(singleWindow(parsePerfTime(",2")), { start: -Infinity, end: 2e9 });
  assert.deepEqual(singleWindow(parsePerfTime("2,")), { start: 2e9, end: Infinity });
  assert.equal(singleWindow(two), undefined);
});
