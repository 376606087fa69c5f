import { deepEqual, equal, ok } from "node:assert/strict";
import { captureMemorySource } from "../capture/reader.ts";
import type { CaptureSink } from "../capture/writer.ts";
import { loadProfile } from "../analyze/load.ts";
import { recordSimulation, type SimRecordOptions, type SimRecordResult } from "./recorder.ts";
import { getStrategy, SIM_STRATEGIES } from "./strategies/mod.ts";

/** A capture sink in memory whose bytes can be read back. */
function memoryCapture(): CaptureSink & { bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  let joined: Uint8Array | undefined;
  return {
    write(b: Uint8Array): Promise<void> {
      parts.push(b.slice());
      joined = undefined;
      return Promise.resolve();
    },
    close(): void {},
    bytes(): Uint8Array {
      if (joined) return joined;
      joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
      return joined;
    },
  };
}

async function record(
  strategy: string,
  options: Partial<SimRecordOptions> = {},
): Promise<{ result: SimRecordResult; bytes: Uint8Array }> {
  const sink = memoryCapture();
  const result = await recordSimulation(getStrategy(strategy), sink, {
    seed: 3,
    durationMs: 30,
    readBack: () => captureMemorySource(sink.bytes()),
    ...options,
  });
  return { result, bytes: sink.bytes() };
}

function assertBalanced(r: SimRecordResult): void {
  const v = r.verification!;
  ok(v.balanced, "written = read + lost (+ overwritten) on every CPU");
  for (const c of r.cpus) {
    equal(c.written, c.read! + c.lostRead! + c.overwritten, `cpu ${c.cpu}`);
    equal(c.lostRead, c.dropped, `cpu ${c.cpu}: LOST counts = records dropped`);
  }
  deepEqual(v.warnings, []);
  equal(v.unexpected, 0);
}

Deno.test("every strategy: each sample read back is the one written, ground truth agrees", async () => {
  for (const s of SIM_STRATEGIES) {
    const { result: r } = await record(s.name);
    const v = r.verification!;
    assertBalanced(r);
    equal(v.samples, r.metrics.delivered, s.name);
    equal(r.samplesWritten, r.metrics.delivered, s.name);
    // the capture holds exactly the callchains the simulated NMI handler produced
    equal(v.exact, r.metrics.exact, s.name);
  }
});

Deno.test("without the modelled walk hazards every delivered sample equals its true stack", async () => {
  // no user page missing, no switch_to window: nothing but the strategy can change a callchain
  for (const s of SIM_STRATEGIES) {
    const { result: r } = await record(s.name, { pUserPageMissing: 0, pSwitchWindow: 0 });
    assertBalanced(r);
    const v = r.verification!;
    equal(v.samples, r.metrics.delivered, s.name);
    if (r.metrics.istCorruptions === 0 && r.metrics.cr2Corruptions === 0) {
      equal(v.exact, v.samples, s.name);
    }
  }
});

Deno.test("same seed, same capture byte for byte; another seed differs", async () => {
  const a = await record("mainline", { seed: 11 });
  const b = await record("mainline", { seed: 11 });
  const c = await record("mainline", { seed: 12 });
  deepEqual(a.bytes, b.bytes);
  ok(a.bytes.length !== c.bytes.length || a.bytes.some((x, i) => x !== c.bytes[i]));
});

Deno.test("deep stacks: cut at 255 without fragments, exact with continuation fragments", async () => {
  const opts = { seed: 5, durationMs: 60, pDeepStack: 0.05, pUserPageMissing: 0, pSwitchWindow: 0 };
  const cut = (await record("kmalloc", { ...opts, fragments: false })).result;
  const frag = (await record("kmalloc", { ...opts, fragments: true })).result;
  assertBalanced(cut);
  assertBalanced(frag);
  equal(cut.fragmentedSamples, 0);
  ok(frag.fragmentedSamples > 0, "some samples went out in fragments");
  equal(frag.verification!.defragmented, frag.fragmentedSamples);
  equal(frag.verification!.incompleteEvents, 0);
  // without fragments every deep sample is truncated; with them every sample is exact
  ok(cut.metrics.truncated >= frag.fragmentedSamples);
  equal(frag.verification!.exact, frag.verification!.samples);
  ok(cut.verification!.exact < cut.verification!.samples);
});

Deno.test("a ring too small for the drain interval drops records and says so exactly", async () => {
  const { result: r } = await record("mainline", {
    ringPages: 1,
    drainIntervalNs: 20_000_000,
  });
  assertBalanced(r);
  const dropped = r.cpus.reduce((n, c) => n + c.dropped, 0);
  ok(dropped > 0, "records were dropped");
  ok(r.cpus.every((c) => c.dropped === 0 || c.lostRecords > 0), "each drop has a LOST record");
  equal(r.verification!.samples, r.samplesCommitted);
});

Deno.test("overwrite rings: every record is read back or counted overwritten", async () => {
  const { result: r } = await record("mainline", { overwrite: true, ringPages: 4 });
  assertBalanced(r);
  ok(r.cpus.every((c) => c.overwritten > 0 && c.dropped === 0));
  ok(r.verification!.samples > 0 && r.verification!.exact > 0);
  ok(r.verification!.samples < r.samplesWritten);
});

Deno.test("naive-iret loses the IST frame under the vmalloc-fault race; mainline never does", async () => {
  const naive = (await record("naive-iret", { durationMs: 100 })).result;
  const main = (await record("mainline", { durationMs: 100 })).result;
  ok(naive.metrics.istCorruptions > 0);
  ok(naive.metrics.delivered < naive.metrics.attempted);
  equal(main.metrics.istCorruptions, 0);
  equal(main.metrics.delivered, main.metrics.attempted);
  for (const s of ["vmalloc-sync-all", "kmalloc"]) {
    const r = (await record(s, { durationMs: 100 })).result;
    equal(r.metrics.pageFaultsInNmi, 0, s);
  }
});

Deno.test("the analyzer names simulated frames and tells the interrupted context", async () => {
  const { bytes } = await record("mainline", { durationMs: 50 });
  const path = await Deno.makeTempFile({ suffix: ".callring" });
  try {
    await Deno.writeFile(path, bytes);
    const all = await loadProfile(path);
    const names = all.profile.frames.names;
    ok(names.includes("do_syscall_64") && names.includes("main"));
    ok(!names.some((n) => n.startsWith("[unknown]") || /^0x/.test(n)), "every frame resolved");
    let total = 0;
    for (const context of ["task", "softirq", "hardirq"]) {
      const part = await loadProfile(path, { filter: { context } });
      ok(part.profile.samples > 0, context);
      total += part.profile.samples;
    }
    equal(total, all.profile.samples);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("read-back holds for every CPU count 1-16 with several seeds (integer ns clock)", async () => {
  // 100,000 ns / 3, 6, 7, 12 ... CPUs is not an integer: with a fractional clock the ring's u64
  // timestamps no longer matched their ground truth and every sample read back as UNEXPECTED
  for (let cpus = 1; cpus <= 16; cpus++) {
    for (const seed of [1, 2, 3]) {
      const { result: r } = await record("mainline", { cpus, seed, durationMs: 3 });
      const v = r.verification!;
      assertBalanced(r);
      equal(v.samples, r.metrics.delivered, `${cpus} CPUs seed ${seed}`);
      equal(v.exact, r.metrics.exact, `${cpus} CPUs seed ${seed}`);
    }
  }
});
