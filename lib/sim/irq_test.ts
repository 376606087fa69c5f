// hardirq and softirq as activations on the CPU model (IF, preempt_count) and in the
// simulator: the sample's context read from preempt_count, NMIs inside interrupts, and
// Frederic's four per-CPU callchain buffers (L2639-2653), each faulting on its first touch.
import { deepEqual as assertEquals, equal, ok } from "node:assert/strict";
import {
  Cpu,
  HARDIRQ_OFFSET,
  IRQ_HARDIRQ_BODY,
  IRQ_SOFTIRQ_BODY,
  Kind,
  NMI_MASK,
  RecursionContext,
  recursionContext,
  SOFTIRQ_OFFSET,
} from "./cpu.ts";
import { Machine } from "./machine.ts";
import { applyChoice, check } from "./check.ts";
import { MemorySink } from "./sink.ts";
import { CHECK_STRATEGIES, kmallocBuffers, mainline, popfRet } from "./strategies/mod.ts";

function stepTo(cpu: Cpu, d: number, pc: number): void {
  for (let i = 0; i < 32 && !(cpu.depth === d && cpu.pc[d] === pc); i++) cpu.step();
  equal(cpu.pc[d], pc);
}

Deno.test("recursion context from preempt_count: in_nmi, then in_irq, then in_softirq", () => {
  equal(recursionContext(0), RecursionContext.Task);
  equal(recursionContext(SOFTIRQ_OFFSET), RecursionContext.Softirq);
  equal(recursionContext(HARDIRQ_OFFSET), RecursionContext.Hardirq);
  equal(recursionContext(HARDIRQ_OFFSET + SOFTIRQ_OFFSET), RecursionContext.Hardirq);
  // nmi_enter adds HARDIRQ_OFFSET too: the NMI test must come first
  equal(recursionContext(NMI_MASK | HARDIRQ_OFFSET), RecursionContext.Nmi);
  equal(recursionContext(3), RecursionContext.Task); // preempt_disable depth only
});

Deno.test("an IRQ is taken only with IF set; hardirq runs with IF clear, softirq with IF set", () => {
  const cpu = new Cpu(mainline);
  ok(cpu.ifFlag);
  ok(cpu.irqArrives(true));
  equal(cpu.kind[1], Kind.Irq);
  ok(!cpu.ifFlag, "the interrupt gate clears IF");
  ok(!cpu.irqArrives(false), "no IRQ inside a hardirq");
  stepTo(cpu, 1, IRQ_HARDIRQ_BODY);
  equal(cpu.preempt, HARDIRQ_OFFSET);
  stepTo(cpu, 1, IRQ_SOFTIRQ_BODY);
  equal(cpu.preempt, SOFTIRQ_OFFSET);
  ok(cpu.ifFlag, "__do_softirq enables interrupts");
  // a hardirq nests on the softirq; its irq_exit sees in_interrupt() and skips softirqs
  ok(cpu.irqArrives(true));
  stepTo(cpu, 2, IRQ_HARDIRQ_BODY);
  equal(cpu.preempt, SOFTIRQ_OFFSET + HARDIRQ_OFFSET);
  for (let i = 0; i < 4 && cpu.depth === 2; i++) cpu.step();
  equal(cpu.depth, 1, "nested hardirq returned without running softirqs");
  equal(cpu.pc[1], IRQ_SOFTIRQ_BODY);
  ok(cpu.ifFlag, "iret restored the softirq's IF");
  // an NMI inside the softirq: its handler sees the softirq's preempt_count
  cpu.nmiArrives();
  ok(!cpu.ifFlag, "the NMI runs with IF clear");
  ok(!cpu.irqArrives(false), "no IRQ inside the NMI");
  for (let i = 0; i < 40 && cpu.depth > 1; i++) cpu.step();
  equal(cpu.interruptedPreempt, SOFTIRQ_OFFSET);
  equal(cpu.depth, 1);
  for (let i = 0; i < 8 && cpu.depth > 0; i++) cpu.step();
  equal(cpu.depth, 0);
  equal(cpu.preempt, 0);
  ok(cpu.ifFlag);
  equal(cpu.violations, 0, cpu.lastViolation);
});

Deno.test("return from interrupt is a plain iret even under popf-ret (L206-209)", () => {
  const cpu = new Cpu(popfRet);
  cpu.irqArrives(false);
  cpu.preempt |= NMI_MASK; // even with NMI_MASK (which cannot be set here) the irq irets
  for (let i = 0; i < 10 && cpu.depth > 0; i++) cpu.step();
  equal(cpu.depth, 0);
  equal(cpu.violations, 0);
});

const ONE_MM = {
  processes: 1,
  forkEveryNs: Infinity,
  reallocEveryNs: Infinity,
  pSwitchWindow: 0,
};

Deno.test("the sample's context is the interrupted preempt_count's, matching the drawn stack", () => {
  for (const seed of [1, 2, 3]) {
    const sink = new MemorySink();
    const m = new Machine(mainline, { seed, samples: 3000 }, sink);
    m.run();
    const name = (ip: bigint) => m.symbols.lookup(ip)?.name ?? "";
    const seen = [0, 0, 0, 0];
    for (const s of sink.samples) {
      const names = s.callchain.map(name);
      const want = names.includes("__do_softirq")
        ? 1
        : names.includes("asm_sysvec_apic_timer_interrupt") ||
            names.includes("asm_common_interrupt")
        ? 2
        : 0;
      equal(s.context, want, `seed ${seed}: ${names.slice(0, 6).join(" < ")}`);
      seen[s.context]++;
    }
    ok(seen[0] > 0 && seen[1] > 0 && seen[2] > 0, `seed ${seed}: ${seen}`);
  }
});

Deno.test("four per-CPU callchain buffers: the first touch of each faults once, per CPU", () => {
  for (const cpus of [1, 2, 4]) {
    const m = new Machine(mainline, { seed: 5, cpus, samples: 1500 * cpus, ...ONE_MM }, {
      sample() {},
      truth() {},
    }).run();
    // task (context switch), softirq (tracepoint), hardirq (timer tick), NMI (PMU)
    assertEquals(m.bufferFaults, new Array(4 * cpus).fill(1), `${cpus} CPUs`);
    equal(m.pageFaultsInNmi, cpus, "only the NMI buffer's first touch faults inside the NMI");
    for (let c = 0; c < 3; c++) ok(m.swCallchains[c] > 0, `context ${c}: ${m.swCallchains}`);
    equal(m.swCallchains[3], 0);
    // NMIs landed inside hardirq and softirq activations, and hardirqs inside softirqs
    ok(m.nmiRunsByContext[1] > 0 && m.nmiRunsByContext[2] > 0, `${m.nmiRunsByContext}`);
    ok(m.irqsInSoftirq > 0);
    equal(m.istCorruptions, 0);
    equal(m.delivered, m.attempted);
  }
  // perf re-allocating its buffers (a fresh pgd entry, populated in init_mm only) faults each
  // of them again: the first allocation and one at 50, 100 and 150 ms (the run ends a little
  // after 150 ms: NMI steps take simulated time); kmalloc'd buffers never fault
  const again = new Machine(mainline, {
    seed: 5,
    cpus: 2,
    samples: 3000,
    ...ONE_MM,
    reallocEveryNs: 50_000_000,
  }, { sample() {}, truth() {} }).run();
  assertEquals(again.bufferFaults, new Array(8).fill(4), `${again.bufferFaults}`);
  const km = new Machine(kmallocBuffers, { seed: 5, cpus: 2, samples: 3000, ...ONE_MM }, {
    sample() {},
    truth() {},
  }).run();
  assertEquals(km.bufferFaults, new Array(8).fill(0));
});

Deno.test("checker with one IRQ: NMIs inside hardirq and softirq, the same verdicts under pf", () => {
  for (const s of CHECK_STRATEGIES) {
    const base = check(s, "pf", { nmis: 3, faults: 2 });
    const irq = check(s, "pf", { nmis: 3, faults: 2, irqs: 1 });
    ok(irq.complete && irq.states > base.states, `${s.name}: ${irq.states} vs ${base.states}`);
    assertEquals(irq.verdicts, base.verdicts, s.name);
    equal(irq.irqs, 1);
  }
  // the schedules reach an NMI inside a softirq handler with IF set and an IRQ nested on it
  const cpu = new Cpu(mainline);
  applyChoice(cpu, { t: "irq", softirq: true });
  for (let i = 0; i < 4; i++) applyChoice(cpu, { t: "step" });
  equal(cpu.pc[1], IRQ_SOFTIRQ_BODY);
  ok(applyChoice(cpu, { t: "nmi" }).includes("interrupts IRQ at 'softirq handler (IF set)'"));
});
