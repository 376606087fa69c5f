import assert from "node:assert/strict";
import { ChainWalk, isContextMarker, markerCpuMode } from "./callchain.ts";
import { ContextMarkerLo, CpuMode, PerfContext } from "./constants.ts";

Deno.test("isContextMarker() matches PERF_CONTEXT_* and nothing below PERF_CONTEXT_MAX", () => {
  assert.ok(isContextMarker(0xffffffff, 0xffffff80));
  assert.ok(isContextMarker(0xffffffff, 0xfffffe00));
  assert.ok(isContextMarker(0xffffffff, 0xfffff001));
  assert.ok(!isContextMarker(0xffffffff, 0xfffff000));
  assert.ok(!isContextMarker(0xffffffff, 0x81000000));
  assert.ok(!isContextMarker(0, 0xffffff80));
});

Deno.test("markerCpuMode(): the modes perf 6.1 knows, -1 for the others", () => {
  assert.equal(markerCpuMode(ContextMarkerLo.KERNEL), CpuMode.KERNEL);
  assert.equal(markerCpuMode(ContextMarkerLo.USER), CpuMode.USER);
  assert.equal(markerCpuMode(ContextMarkerLo.HV), CpuMode.HYPERVISOR);
  assert.equal(markerCpuMode(ContextMarkerLo.GUEST_KERNEL), CpuMode.GUEST_KERNEL);
  assert.equal(markerCpuMode(ContextMarkerLo.GUEST_USER), CpuMode.GUEST_USER);
  assert.equal(markerCpuMode(ContextMarkerLo.GUEST), -1);
  assert.equal(markerCpuMode(ContextMarkerLo.USER_DEFERRED), -1);
});

function walk(chain: bigint[], mode: number) {
  const words = BigUint64Array.from(chain);
  const w = new ChainWalk();
  w.reset(new DataView(words.buffer), 0, words.length, mode);
  const seen: [number, bigint, number][] = [];
  while (w.next()) {
    seen.push([w.index, (BigInt(w.hi) << 32n) | BigInt(w.lo), w.cpumode]);
  }
  return { seen, discarded: w.discarded, markers: w.markers };
}

Deno.test("ChainWalk: markers switch the cpumode and are skipped", () => {
  const r = walk([
    PerfContext.KERNEL,
    0xffffffff81000010n,
    0xffffffff81000020n,
    PerfContext.USER,
    0x401000n,
  ], CpuMode.KERNEL);
  assert.deepEqual(r.seen, [
    [1, 0xffffffff81000010n, CpuMode.KERNEL],
    [2, 0xffffffff81000020n, CpuMode.KERNEL],
    [4, 0x401000n, CpuMode.USER],
  ]);
  assert.equal(r.discarded, false);
  assert.equal(r.markers, 2);
});

Deno.test("ChainWalk: an unknown marker discards the rest of the chain", () => {
  const r = walk([0x1000n, PerfContext.GUEST, 0x2000n], CpuMode.USER);
  assert.deepEqual(r.seen, [[0, 0x1000n, CpuMode.USER]]);
  assert.equal(r.discarded, true);
});

Deno.test("ChainWalk: the cursor is reusable and an empty chain yields nothing", () => {
  const w = new ChainWalk();
  const words = BigUint64Array.of(0x10n);
  w.reset(new DataView(words.buffer), 0, 1, CpuMode.USER);
  assert.ok(w.next());
  assert.ok(!w.next());
  w.reset(new DataView(words.buffer), 0, 0, CpuMode.KERNEL);
  assert.ok(!w.next());
  assert.equal(w.cpumode, CpuMode.KERNEL);
});
