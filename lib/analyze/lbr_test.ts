import assert from "node:assert/strict";
import {
  BRANCH_CALL_STACK,
  defaultAttr,
  PerfContext,
  type Sample,
  SampleType,
} from "../abi/mod.ts";
import { hasBranchCallStack, lbrCallchain } from "./lbr.ts";

const K = PerfContext.KERNEL, U = PerfContext.USER;
const LBR = defaultAttr({
  sampleType: SampleType.CALLCHAIN | SampleType.BRANCH_STACK,
  branchSampleType: BRANCH_CALL_STACK,
});

function sample(chain: bigint[], branches: [bigint, bigint][]): Sample {
  return {
    callchain: BigUint64Array.from(chain),
    branchStack: { entries: BigUint64Array.from(branches.flatMap(([f, t]) => [f, t, 0n])) },
  } as Sample;
}

Deno.test("lbrCallchain: kernel part and USER kept, then entries[0].to and every from", () => {
  const s = sample([K, 0xffff1n, U, 0x401000n, 0x402000n], [[0x400a10n, 0x400b00n], [
    0x400c20n,
    0x400a00n,
  ]]);
  assert.deepEqual([...lbrCallchain(s, LBR, 127)!], [
    K,
    0xffff1n,
    U,
    0x400b00n,
    0x400a10n,
    0x400c20n,
  ]);
});

Deno.test("lbrCallchain: no USER marker within max_stack keeps the FP chain; nr 0 adds no frame", () => {
  const s = sample([K, 0xffff1n, 0xffff2n, U, 0x401000n], [[0x400a10n, 0x400b00n]]);
  assert.equal(lbrCallchain(s, { ...LBR, branchSampleType: 0 }, 127), undefined);
  assert.equal(lbrCallchain(s, LBR, 3), undefined);
  assert.equal(lbrCallchain(sample([K, 0xffff1n], [[1n, 2n]]), LBR, 127), undefined);
  assert.deepEqual([...lbrCallchain(sample([K, 0xffff1n, U, 0x401000n], []), LBR, 127)!], [
    K,
    0xffff1n,
    U,
  ]);
});

Deno.test("hasBranchCallStack: BRANCH_STACK samples with PERF_SAMPLE_BRANCH_CALL_STACK only", () => {
  const attr = { ...defaultAttr(), sampleType: SampleType.BRANCH_STACK | SampleType.CALLCHAIN };
  assert.equal(hasBranchCallStack(attr), false);
  assert.equal(hasBranchCallStack({ ...attr, branchSampleType: BRANCH_CALL_STACK }), true);
  assert.equal(
    hasBranchCallStack({
      ...attr,
      sampleType: SampleType.CALLCHAIN,
      branchSampleType: BRANCH_CALL_STACK,
    }),
    false,
  );
});
