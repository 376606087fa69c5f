import assert from "node:assert/strict";
import { defaultAttr, ReadFormat, SampleType } from "../abi/mod.ts";
import { makeEvent } from "./evlist.ts";
import { SampleReadSplitter } from "./sample_read.ts";

Deno.test("SampleReadSplitter: group reads become per-member deltas, zero deltas and unknown ids dropped", () => {
  const attr = defaultAttr({
    type: 1,
    sampleType: SampleType.IP | SampleType.READ,
    readFormat: ReadFormat.GROUP | ReadFormat.ID,
  });
  const a = makeEvent(0, attr, [10]), b = makeEvent(1, { ...attr, config: 1n }, [20]);
  const split = new SampleReadSplitter(() => [a, b]);
  const sample = (va: number, vb: number, extra: { value: number; id: number }[] = []) => ({
    read: { values: [{ value: va, id: 10 }, { value: vb, id: 20 }, ...extra] },
  });
  const names = (d: ReturnType<SampleReadSplitter["split"]>) =>
    d?.map((x) => `${x.event.index}:${x.period}`);
  assert.deepEqual(names(split.split(a, sample(100, 40))), ["0:100", "1:40"]);
  assert.deepEqual(names(split.split(a, sample(250, 40))), ["0:150"]); // b did not advance
  assert.deepEqual(names(split.split(a, sample(300, 45, [{ value: 9, id: 99 }]))), ["0:50", "1:5"]);
  assert.equal(split.unknownIds, 1);
  // Without PERF_SAMPLE_READ the sample is delivered as it is.
  assert.equal(
    split.split(makeEvent(2, defaultAttr({ sampleType: SampleType.IP }), []), {}),
    undefined,
  );
});
