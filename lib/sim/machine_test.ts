import { deepEqual as assertEquals, equal, ok, ok as assert } from "node:assert/strict";
import { Machine, overflowTick } from "./machine.ts";
import { MemorySink, PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER } from "./sink.ts";
import { formatComparison, runComparison } from "./compare.ts";
import { kmallocBuffers, mainline, naiveIret, popfRet } from "./strategies/mod.ts";

const SEEDS = [1, 7, 2024];

Deno.test("same seed -> same run; different seed -> different run", () => {
  const a = new MemorySink(), b = new MemorySink(), c = new MemorySink();
  new Machine(mainline, { seed: 5, samples: 2000 }, a).run();
  new Machine(mainline, { seed: 5, samples: 2000 }, b).run();
  new Machine(mainline, { seed: 6, samples: 2000 }, c).run();
  assertEquals(a.samples, b.samples);
  assert(
    JSON.stringify(a.samples.map((s) => s.callchain.length)) !==
      JSON.stringify(c.samples.map((s) => s.callchain.length)),
  );
});

Deno.test("expected outcomes hold on several seeds", () => {
  for (const seed of SEEDS) {
    const rows = runComparison(seed, { samples: 8000 });
    const by = Object.fromEntries(rows.map((r) => [r.strategy, r]));
    const naive = by["naive-iret"];
    assert(
      naive.istCorruptions > 0 || naive.nmisLostBeyondLatch > 0,
      `seed ${seed}: naive survived`,
    );
    for (const s of ["popf-ret", "linus-v2", "mainline"]) {
      assertEquals(by[s].istCorruptions, 0, `${s} seed ${seed}`);
      assertEquals(by[s].nmisLostBeyondLatch, 0, `${s} seed ${seed}`);
      assertEquals(by[s].delivered, by[s].attempted, `${s} seed ${seed}`);
    }
    for (const s of ["vmalloc-sync-all", "kmalloc"]) {
      assertEquals(by[s].pageFaultsInNmi, 0, `${s} seed ${seed}`);
    }
    assert(by["vmalloc-sync-all"].syncLatencyNs > 0 && by["kmalloc"].syncLatencyNs === 0);
    assert(by["mainline"].pageFaultsInNmi > 0, "the vmalloc'd buffers must fault from NMI");
    assertEquals(by["mainline"].cr2Corruptions, 0);
    assert(by["popf-ret"].cr2Corruptions > 0, "popf-ret as posted does not save cr2");
  }
});

Deno.test("popf-ret corrupts the IST frame once kprobes single-step inside the NMI", () => {
  const m = new Machine(popfRet, { seed: 3, samples: 8000, pInt3: 0.05 }, new MemorySink()).run();
  assert(m.istCorruptions > 0);
  const k = new Machine(mainline, { seed: 3, samples: 8000, pInt3: 0.05 }, new MemorySink()).run();
  assertEquals(k.istCorruptions, 0);
});

Deno.test("every overflow has exactly one truth record; delivered truths match samples", () => {
  const sink = new MemorySink();
  const m = new Machine(naiveIret, { seed: 11, samples: 5000 }, sink).run();
  assertEquals(sink.truths.length, m.attempted);
  assertEquals(sink.truths.filter((t) => t.delivered).length, m.delivered);
  assertEquals(sink.samples.length, m.delivered);
  assert(m.delivered < m.attempted, "crashes must cost samples");
});

Deno.test("callchains carry kernel/user markers and follow the chosen histogram preset", () => {
  for (const [preset, mean] of [["aldebaran", 16.4], ["phoenix", 8.2]] as const) {
    const sink = new MemorySink();
    new Machine(kmallocBuffers, {
      seed: 9,
      samples: 6000,
      pUserPageMissing: 0,
      pSwitchWindow: 0,
      depthPreset: preset,
    }, sink).run();
    let sum = 0;
    for (const s of sink.samples) {
      const u = s.callchain.indexOf(PERF_CONTEXT_USER);
      assert(u >= 0);
      if (s.callchain[0] === PERF_CONTEXT_KERNEL) assert(u >= 2);
      sum += s.callchain.length;
      assertEquals(s.ip, s.callchain[1]);
    }
    const m = sum / sink.samples.length;
    assert(Math.abs(m - mean) < 0.5, `${preset}: whole-chain mean ${m}`);
  }
});

Deno.test("vmalloc_fault through current->mm in the switch window fills the wrong mm", () => {
  const opts = { seed: 21, samples: 20000, pSwitchWindow: 0.5, reallocEveryNs: 200_000 };
  const bad = new Machine(mainline, { ...opts, vmallocFaultUsesCr3: false }, new MemorySink())
    .run();
  const good = new Machine(mainline, { ...opts, vmallocFaultUsesCr3: true }, new MemorySink())
    .run();
  assert(bad.wrongMmFills > 0);
  assertEquals(good.wrongMmFills, 0);
});

Deno.test("formatComparison prints one row per strategy", () => {
  const rows = runComparison(2, { samples: 500 });
  const text = formatComparison(rows);
  assertEquals(text.split("\n").length, rows.length + 2);
  assert(text.includes("mainline"));
});

Deno.test("overflowTick: integer ticks that sum to the exact overflow time for any CPU count", () => {
  for (let cpus = 1; cpus <= 16; cpus++) {
    let t = 0;
    for (let i = 0; i < 1000; i++) {
      const d = overflowTick(i, 100_000, cpus);
      ok(Number.isInteger(d) && d >= 0, `${cpus} CPUs tick ${i}`);
      t += d;
    }
    equal(t, Math.floor(1000 * 100_000 / cpus), `${cpus} CPUs`);
  }
});

Deno.test("--int3 / --db / --mce fire at every step where the model checker raises them", () => {
  const m = new Machine(kmallocBuffers, {
    seed: 4,
    samples: 4000,
    pInt3: 0.05,
    pDb: 0.05,
    pMce: 0.05,
  }, new MemorySink()).run();
  const at = Object.keys(m.injected);
  for (const k of ["int3", "#DB"]) {
    // both exception-raising handler steps, not only the one after the buffer touch
    ok(at.includes(`${k} at 'handler: write per-cpu callchain buffer'`), at.join("\n"));
    ok(at.includes(`${k} at 'handler: walk user stack / run patched code'`), at.join("\n"));
  }
  // MCE: every C step in NMI context, exception bodies included, never the entry assembly
  for (
    const step of ["handler: nmi_enter, start PMU handler", "handler: nmi_exit", "handler body"]
  ) {
    ok(at.some((a) => a === `MCE at '${step}'`), `${step}: ${at.join("\n")}`);
  }
  ok(!at.some((a) => a.includes("MCE at 'entry") || a.includes("MCE at 'iret")), at.join("\n"));
  const anywhere = new Machine(
    mainline,
    { seed: 4, samples: 4000, pMce: 0.05, mceAnywhere: true },
    new MemorySink(),
  ).run();
  ok(
    Object.keys(anywhere.injected).some((a) => /^MCE at 'nmi: /.test(a)),
    Object.keys(anywhere.injected).join("\n"),
  );
});

Deno.test("per-CPU x per-context callchain buffers: the first NMI touch of each CPU's buffer faults", () => {
  for (const cpus of [1, 4, 8]) {
    const m = new Machine(mainline, {
      seed: 3,
      cpus,
      samples: 200 * cpus,
      processes: 1,
      forkEveryNs: Infinity,
      reallocEveryNs: Infinity,
      pSwitchWindow: 0,
      pExtraNmi: 0,
    }, new MemorySink()).run();
    // one mm, one fault per CPU: each CPU's NMI buffer is its own lazily faulted vmalloc block
    assertEquals(m.pageFaultsInNmi, cpus, `${cpus} CPUs`);
  }
});
