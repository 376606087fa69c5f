/**
 * The discrete-event simulator (issue 5): N CPUs running a synthetic workload, a PMU that
 * overflows every `periodNs` and raises an NMI on its CPU, the strategy's NMI program driven
 * step by step on the {@link Cpu} model, callchain buffers in simulated vmalloc space (the NMI
 * is the first to touch them and faults), other NMI sources, int3 on patched code, MCE, the
 * fork -> vmalloc -> switch_to race with its cr3 != current->mm window, ground truth for every
 * overflow, and per-strategy metrics.
 * @module
 */
import {
  Cpu,
  EXC_BODY,
  IRQ_HARDIRQ_BODY,
  IRQ_SOFTIRQ_BODY,
  Kind,
  KIND_NAMES,
  type KindCode,
  recursionContext,
  type Strategy,
  TaskContext,
} from "./cpu.ts";
import { setHandlerHook } from "./strategies/program.ts";
import { PageTables } from "./memory.ts";
import { Prng } from "./prng.ts";
import { PERF_CONTEXT_USER, type SampleSink, type SimSample, type SimTruth } from "./sink.ts";
import {
  type DepthPreset,
  Image,
  PROGRAMS,
  SimStack,
  type SimSymbolTable,
  SimThread,
} from "./workload.ts";
import type { Choice } from "./check.ts";
import { SYNC_ENTRY_NS_ASSUMED, type SyncArch, vmallocSyncWalkNs } from "./sync_cost.ts";

/** Simulation parameters. */
export interface MachineOptions {
  /** PRNG seed (same seed, same run). */
  readonly seed: number;
  /** Number of CPUs (default 4). */
  readonly cpus?: number;
  /** PMU overflows to simulate in total (default 10,000). */
  readonly samples?: number;
  /** Sample period in ns per CPU (default 100,000 = 10 kHz). */
  readonly periodNs?: number;
  /** Processes at start (default 6), two threads each. */
  readonly processes?: number;
  /** Chance per NMI-program step that another NMI (second counter, watchdog) arrives (default 0.03). */
  readonly pExtraNmi?: number;
  /** Chance per exception-raising step of the NMI handler (the steps where the model checker
   * raises #PF / int3 / #DB) of an int3 (kprobe, single-stepped; default 0). */
  readonly pInt3?: number;
  /** Chance per exception-raising step of the NMI handler of a data-breakpoint #DB (default 0). */
  readonly pDb?: number;
  /** Chance per exception-raising step of the NMI handler of an instruction-breakpoint #DB
   * (fault-class: returns to the instruction with RF set; default 0). */
  readonly pIbp?: number;
  /** Chance per step in NMI context of a machine check, at every step where the model checker
   * lets one hit: C code (the NMI handler, exception bodies), or any step with
   * {@link MachineOptions.mceAnywhere} (default 0). At most one MCE live at a time. */
  readonly pMce?: number;
  /** Let MCE hit the NMI entry/exit assembly too (the checker's `--mce-anywhere`; default false). */
  readonly mceAnywhere?: boolean;
  /** Page-table layout an eager vmalloc_sync_all walks (`sync_cost.ts`; default "x86-32"). */
  readonly syncArch?: SyncArch;
  /** ns per pgd entry visited in one mm by the walk: **assumed**, the thread gives no figure
   * (default {@link SYNC_ENTRY_NS_ASSUMED}). */
  readonly syncEntryNs?: number;
  /** vmalloc-range pgd entries present in init_mm (default per layout, assumed). */
  readonly syncPopulated?: number;
  /** A module is loaded this often (module_alloc: a vmalloc; with eager sync, one walk; Avi
   * L5907, Mathieu L6210-6212; default Infinity, none). */
  readonly moduleLoadEveryNs?: number;
  /** Chance the user-stack walk meets a non-present page (default 0.02). */
  readonly pUserPageMissing?: number;
  /** Chance an overflow lands in the switch_to window (cr3 switched, current not yet; default 0.01). */
  readonly pSwitchWindow?: number;
  /** Perf re-allocates its vmalloc'd buffers (new PGD entry) this often (default 2 ms). */
  readonly reallocEveryNs?: number;
  /** A fork happens this often (default 1 ms). */
  readonly forkEveryNs?: number;
  /** Which of Ingo's two whole-chain length histograms stacks follow (seed L8677-8727;
   * default "aldebaran", mean 16.4; "phoenix", mean 8.2). */
  readonly depthPreset?: DepthPreset;
  /** Chance a stack reshape draws a deep recursion of 256-1279 user frames (default 0). */
  readonly pDeepStack?: number;
  /**
   * Callchain entries the per-context buffer holds (default 255, the thread's `nr + 255`
   * layout, L2639-2653); deeper chains are cut there and count as truncated. Infinity when
   * the ring takes continuation fragments.
   */
  readonly maxStack?: number;
  /** vmalloc_fault looks the PGD up through cr3 (patch 1/2, default) or current->active_mm. */
  readonly vmallocFaultUsesCr3?: boolean;
  /** Chance per softirq-handler step that a hardirq interrupts it (IF is set there;
   * default 0.2). The nested hardirq's irq_exit sees in_interrupt() and leaves the softirq
   * work to the softirq it interrupted. */
  readonly pIrqInSoftirq?: number;
}

/** Per-strategy results of one run. */
export interface SimMetrics {
  /** Strategy name. */
  strategy: string;
  /** PMU overflows (samples attempted). */
  attempted: number;
  /** Samples delivered to the sink. */
  delivered: number;
  /** Delivered samples whose callchain equals the ground truth exactly. */
  exact: number;
  /** Delivered samples with a truncated user walk. */
  truncated: number;
  /** NMIs lost beyond one-bit latch semantics. */
  nmisLostBeyondLatch: number;
  /** NMIs dropped by the hardware latch (allowed). */
  hwLatchDrops: number;
  /** Live IST/stack-copy frames destroyed (each one a crash). */
  istCorruptions: number;
  /** NMI returns with a changed cr2. */
  cr2Corruptions: number;
  /** Exceptions (#PF, int3, #DB) taken in NMI context. */
  faultsInNmi: number;
  /** WARNs of a "no traps in NMI" strategy, by exception name (#PF, int3, #DB, MCE). */
  warnings: Record<string, number>;
  /** Exceptions the machine raised, by `"<kind> at '<step>'"`: where they hit. */
  injected: Record<string, number>;
  /** Page faults (vmalloc faults) taken in NMI context. */
  pageFaultsInNmi: number;
  /** vmalloc faults filled into the wrong mm (current->mm lookup in the switch window). */
  wrongMmFills: number;
  /** Time spent in eager vmalloc_sync_all walks, ns. */
  syncLatencyNs: number;
  /** Eager vmalloc_sync_all walks done (buffer reallocations and module loads). */
  syncWalks: number;
  /** Modules loaded. */
  moduleLoads: number;
  /** NMI handler runs (including replays and spurious runs). */
  handlerRuns: number;
  /** NMI handler runs by the context they interrupted, from its `preempt_count`
   * (perf's recursion context: task, softirq, hardirq, NMI). */
  nmiRunsByContext: number[];
  /** Software-event callchains taken outside NMI, by recursion context (the hardirq timer
   * tick's cpu-clock event, a softirq tracepoint, the context-switch event in task context):
   * collected into their context's buffer and counted, not written to the ring. */
  swCallchains: number[];
  /** First-touch vmalloc faults per callchain buffer: index `4 * cpu + context`. */
  bufferFaults: number[];
  /** Hardirqs that interrupted a softirq handler. */
  irqsInSoftirq: number;
}

const STEP_NS = 20;

/**
 * Index of the NMI context's callchain buffer among a CPU's four (Frederic's buffer choice by
 * context level, L2647-2651): the PMU handler runs in NMI context. The task, softirq and
 * hardirq buffers take the software events' callchains (context switch, softirq tracepoint,
 * timer tick), chosen by {@link recursionContext} of `preempt_count`.
 */
const CONTEXT_NMI = 3;
/** Buffer index of the task context (the context-switch software event). */
const CONTEXT_TASK = 0;

interface CpuCtx {
  /** CPU number. */
  index: number;
  cpu: Cpu;
  thread: SimThread;
  /** cr3 points at this mm; differs from thread.mm inside the switch_to window. */
  cr3Mm: number;
  pending: TruthRecord[];
  served: (TruthRecord | null)[];
  /** Recursion context each running handler interrupted, innermost last. */
  nestedAtStart: number[];
}

/** The simulated machine. */
export class Machine {
  /** Symbols for every simulated function (kernel and user). */
  readonly symbols: SimSymbolTable;
  readonly #o: Required<MachineOptions>;
  readonly #r: Prng;
  readonly #img: Image;
  readonly #pt = new PageTables();
  readonly #threads: SimThread[] = [];
  readonly #cpus: CpuCtx[] = [];
  readonly #m: SimMetrics;
  /**
   * PGD slot of each callchain temp buffer, per CPU x {task, softirq, hardirq, NMI} (Frederic,
   * L2639-2653: `nr + 255` u64 = 2048 B each, 4 per CPU), each its own lazily faulted vmalloc
   * block: the first NMI touch of each buffer in each mm faults.
   */
  #bufSlots: Int32Array = new Int32Array(0);
  /** PGD slot the pending #PF is for (the buffer the handler touched). */
  #faultSlot = 0;
  #time = 0;
  #nextPid = 100;
  #sampleWords = new Uint32Array(4096);
  #truthWords = new Uint32Array(4096);
  readonly #procs: { pid: number; mm: number; threads: SimThread[] }[] = [];
  #i = 0;
  /** Per NMI-program step: may raise an exception / is the first touch of the callchain buffer. */
  readonly #faultable: Uint8Array;
  readonly #touchesBuffer: Uint8Array;
  #nextRealloc = 0;
  /** NMI-program steps until another NMI source fires (geometric, one draw per arrival). */
  #untilExtraNmi = 0;
  #nextFork = 0;
  #nextModule = 0;
  #forks = 0;

  /**
   * Build the machine: processes, page tables, per-cpu vmalloc'd callchain buffers.
   * @param strategy installed NMI strategy
   * @param opts parameters
   * @param sink where samples and ground truth go
   */
  constructor(readonly strategy: Strategy, opts: MachineOptions, readonly sink: SampleSink) {
    this.#o = {
      cpus: 4,
      samples: 10_000,
      periodNs: 100_000,
      processes: 6,
      pExtraNmi: 0.03,
      pInt3: 0,
      pDb: 0,
      pIbp: 0,
      pMce: 0,
      mceAnywhere: false,
      syncArch: "x86-32",
      syncEntryNs: SYNC_ENTRY_NS_ASSUMED,
      syncPopulated: NaN,
      moduleLoadEveryNs: Infinity,
      pUserPageMissing: 0.02,
      pSwitchWindow: 0.01,
      reallocEveryNs: 2_000_000,
      forkEveryNs: 1_000_000,
      vmallocFaultUsesCr3: true,
      pDeepStack: 0,
      maxStack: 255,
      depthPreset: "aldebaran",
      pIrqInSoftirq: 0.2,
      ...opts,
    };
    this.#img = new Image(this.#o.depthPreset);
    this.#r = new Prng(opts.seed);
    this.#faultable = Uint8Array.from(strategy.nmi, (st) => st.faultable ? 1 : 0);
    this.#touchesBuffer = Uint8Array.from(
      strategy.nmi,
      (st) => st.faultable && st.name.includes("callchain buffer") ? 1 : 0,
    );
    this.#untilExtraNmi = geometric(this.#r, this.#o.pExtraNmi);
    this.#nextRealloc = this.#o.reallocEveryNs;
    this.#nextFork = this.#o.forkEveryNs;
    this.#nextModule = this.#o.moduleLoadEveryNs;
    this.symbols = this.#img.symbols;
    this.#m = {
      strategy: strategy.name,
      attempted: 0,
      delivered: 0,
      exact: 0,
      truncated: 0,
      nmisLostBeyondLatch: 0,
      hwLatchDrops: 0,
      istCorruptions: 0,
      cr2Corruptions: 0,
      faultsInNmi: 0,
      warnings: {},
      injected: {},
      pageFaultsInNmi: 0,
      wrongMmFills: 0,
      syncLatencyNs: 0,
      syncWalks: 0,
      moduleLoads: 0,
      handlerRuns: 0,
      nmiRunsByContext: [0, 0, 0, 0],
      swCallchains: [0, 0, 0, 0],
      bufferFaults: new Array(4 * this.#o.cpus).fill(0),
      irqsInSoftirq: 0,
    };
    for (let p = 0; p < this.#o.processes; p++) this.#fork();
    // perf enables callchains after the processes exist: buffers get a fresh PGD entry (L880-889)
    this.#realloc();
    for (let c = 0; c < this.#o.cpus; c++) {
      const t = this.#threads[c % this.#threads.length];
      const ctx: CpuCtx = {
        index: c,
        cpu: new Cpu(strategy),
        thread: t,
        cr3Mm: t.mm,
        pending: [],
        served: [],
        nestedAtStart: [],
      };
      setHandlerHook(ctx.cpu, (_cpu, phase) => this.#onHandler(ctx, c, phase));
      this.#cpus.push(ctx);
    }
  }

  /**
   * Run the configured number of PMU overflows (the rest of them, after {@link Machine.advance}).
   * @returns the metrics
   */
  run(): SimMetrics {
    this.advance(Infinity);
    return this.metrics();
  }

  /** PMU overflows simulated so far. */
  get overflows(): number {
    return this.#i;
  }

  /** Whether all configured overflows have been simulated. */
  get done(): boolean {
    return this.#i >= this.#o.samples;
  }

  /** Simulated time now, in ns. */
  get time(): number {
    return this.#time;
  }

  /**
   * Simulate up to `count` more PMU overflows, so a caller can interleave other work (draining
   * rings) between batches. Batches concatenate: any split gives the same run as {@link Machine.run}.
   * @param count overflows to simulate at most
   * @returns overflows simulated by this call
   */
  advance(count: number): number {
    const o = this.#o;
    const r = this.#r;
    const n = o.cpus;
    const end = Math.min(o.samples, this.#i + count);
    const first = this.#i;
    for (let i = first; i < end; i++) {
      // Overflows are spread evenly over the CPUs, periodNs / cpus apart, on an integer ns
      // clock: perf timestamps are u64 ns, and a fractional time (100000 / 3 CPUs) would be
      // truncated in the ring and no longer match its ground truth.
      this.#time += overflowTick(i, o.periodNs, n);
      if (this.#time >= this.#nextRealloc) {
        this.#nextRealloc += o.reallocEveryNs;
        this.#realloc();
      }
      if (this.#time >= this.#nextFork) {
        this.#nextFork += o.forkEveryNs;
        this.#fork();
      }
      if (this.#time >= this.#nextModule) {
        this.#nextModule += o.moduleLoadEveryNs;
        this.#moduleLoad();
      }
      const c = i % n;
      const ctx = this.#cpus[c];
      // scheduling: switch_to another thread now and then, sometimes caught mid-switch
      ctx.cr3Mm = ctx.thread.mm;
      if (r.float() < 0.2) {
        const next = this.#threads[r.int(this.#threads.length)];
        if (r.float() < o.pSwitchWindow && next.mm !== ctx.thread.mm) {
          ctx.cr3Mm = next.mm; // cr3 already switched, current_task not yet (seed §1.5)
        } else {
          ctx.thread = next;
          ctx.cr3Mm = next.mm;
        }
        this.#taskSwEvent(ctx);
      }
      if (r.float() < 0.3) ctx.thread.reshape(r, this.#img, o.pDeepStack);
      this.#overflow(ctx, c);
    }
    this.#i = end;
    return end - first;
  }

  /**
   * Metrics so far (CPU counters folded in).
   * @returns a copy of the metrics
   */
  metrics(): SimMetrics {
    const m = {
      ...this.#m,
      warnings: {} as Record<string, number>,
      injected: { ...this.#m.injected },
      nmiRunsByContext: [...this.#m.nmiRunsByContext],
      swCallchains: [...this.#m.swCallchains],
      bufferFaults: [...this.#m.bufferFaults],
    };
    for (const c of this.#cpus) {
      const s = c.cpu.stats;
      s.warns.forEach((n, k) => {
        if (n) m.warnings[KIND_NAMES[k]] = (m.warnings[KIND_NAMES[k]] ?? 0) + n;
      });
      m.nmisLostBeyondLatch += s.nmisLostBeyondLatch;
      m.hwLatchDrops += s.hwLost;
      m.istCorruptions += s.istCorruptions;
      m.cr2Corruptions += s.cr2Corruptions;
      m.faultsInNmi += s.faultsInNmi;
      m.handlerRuns += s.handlerRuns;
    }
    m.wrongMmFills = this.#pt.stats.wrongMmFills;
    return m;
  }

  #fork(): void {
    const pid = this.#nextPid;
    this.#nextPid += 2;
    const mm = this.#pt.newMm();
    const program = this.#forks++ % PROGRAMS.length;
    const comm = PROGRAMS[program].name;
    for (let k = 0; k < 2; k++) {
      const t = new SimThread(pid, pid + k, comm, mm, program);
      t.reshape(this.#r, this.#img, this.#o.pDeepStack);
      this.#threads.push(t);
      this.sink.fork?.(pid, 1, pid + k, 1, this.#time);
      this.sink.comm?.(pid, pid + k, comm, this.#time);
    }
    this.#procs.push({ pid, mm, threads: this.#threads.slice(-2) });
    // the oldest process exits once twice the initial count are alive (bounded state)
    if (this.#procs.length > 2 * this.#o.processes) this.#exit(this.#procs.shift()!);
  }

  #exit(p: { pid: number; mm: number; threads: SimThread[] }): void {
    const gone = new Set(p.threads);
    for (let i = this.#threads.length - 1; i >= 0; i--) {
      if (gone.has(this.#threads[i])) {
        this.#threads[i] = this.#threads[this.#threads.length - 1];
        this.#threads.pop();
      }
    }
    // a CPU running (or switching to) the dead process is scheduled away
    for (const ctx of this.#cpus) {
      if (gone.has(ctx.thread) || ctx.cr3Mm === p.mm) {
        ctx.thread = this.#threads[this.#r.int(this.#threads.length)];
        ctx.cr3Mm = ctx.thread.mm;
      }
    }
    this.#pt.releaseMm(p.mm);
    for (const t of p.threads) this.sink.exit?.(t.pid, 1, t.tid, 1, this.#time);
  }

  /** One eager vmalloc_sync_all walk over every live mm. */
  #syncWalk(): void {
    const o = this.#o;
    this.#m.syncWalks++;
    this.#m.syncLatencyNs += vmallocSyncWalkNs(this.#pt.liveMms, {
      arch: o.syncArch,
      entryNs: o.syncEntryNs,
      populated: Number.isNaN(o.syncPopulated) ? undefined : o.syncPopulated,
    });
  }

  /** module_alloc: a vmalloc in a fresh pgd entry; the eager strategy syncs it at once. */
  #moduleLoad(): void {
    const eager = this.strategy.eagerSync;
    this.#pt.vmallocNewPgd(eager);
    this.#m.moduleLoads++;
    if (eager) this.#syncWalk();
  }

  #realloc(): void {
    const eager = this.strategy.eagerSync;
    if (this.#bufSlots.length === 0) this.#bufSlots = new Int32Array(4 * this.#o.cpus);
    for (let i = 0; i < this.#bufSlots.length; i++) {
      this.#bufSlots[i] = this.#pt.vmallocNewPgd(eager);
    }
    this.#faultSlot = this.#bufSlots[CONTEXT_NMI];
    if (eager) this.#syncWalk();
  }

  /**
   * The context-switch software event in schedule() (task context, recursion context 0):
   * its callchain goes to the CPU's task buffer, whose first touch in an mm faults (a plain
   * #PF, no NMI involved).
   */
  #taskSwEvent(ctx: CpuCtx): void {
    const cpu = ctx.cpu;
    if (cpu.depth !== 0) return;
    cpu.setTaskContext(TaskContext.Kernel); // schedule() is kernel code
    const slot = this.#bufSlots[4 * ctx.index + CONTEXT_TASK];
    if (this.strategy.vmallocBuffers && !this.#pt.present(ctx.cr3Mm, slot)) {
      this.#faultSlot = slot;
      this.#m.bufferFaults[4 * ctx.index + CONTEXT_TASK]++;
      cpu.raise(Kind.Pf);
      this.#drive(ctx);
    }
    this.#m.swCallchains[CONTEXT_TASK]++;
  }

  #overflow(ctx: CpuCtx, c: number): void {
    const t = ctx.thread;
    const truth = new TruthRecord(c, this.#time, t.pid, t.tid, t.stack!);
    this.#m.attempted++;
    const cpu = ctx.cpu;
    if (cpu.depth === 0) {
      // what the NMI interrupts decides its frame (seed L206-209, L309-316): user mode, a
      // system call (SS = __KERNEL_DS), or kernel code entered from user space
      cpu.setTaskContext(
        t.entry === "syscall"
          ? TaskContext.Syscall
          : t.entry === "fault"
          ? TaskContext.Kernel
          : TaskContext.User,
      );
      if (t.entry === "irq" && cpu.ifFlag) {
        // a real interrupt activation: the PMU NMI lands in its hardirq or softirq handler
        const soft = t.context === 1;
        cpu.irqArrives(soft);
        this.#runIrqTo(ctx, soft ? IRQ_SOFTIRQ_BODY : IRQ_HARDIRQ_BODY);
      }
    }
    ctx.pending.push(truth);
    cpu.nmiArrives();
    this.#drive(ctx);
  }

  /** Step the interrupt on top until it is about to run step `pc` (its buffer faults on the
   * way, no nested events: the drawn stack is what the NMI must see). */
  #runIrqTo(ctx: CpuCtx, pc: number): void {
    const cpu = ctx.cpu;
    const d = cpu.depth;
    for (let guard = 0; guard < 64 && !cpu.crashed; guard++) {
      if (cpu.depth === d && cpu.kind[d] === Kind.Irq && cpu.pc[d] === pc) return;
      this.#time += STEP_NS;
      const fault = this.#faultAt(ctx);
      if (fault !== 0) cpu.raise(fault as KindCode);
      else this.stepCpu(cpu, ctx.cr3Mm, ctx.thread.mm);
    }
  }

  /** Run the CPU until it is back in task context, injecting environment events. */
  #drive(ctx: CpuCtx): void {
    const cpu = ctx.cpu;
    const r = this.#r;
    const o = this.#o;
    let guard = 0;
    while (cpu.depth > 0) {
      if (++guard > 10_000) {
        cpu.crash("NMI never returns (livelock)");
        break;
      }
      this.#time += STEP_NS;
      if (--this.#untilExtraNmi <= 0) {
        this.#untilExtraNmi = geometric(r, o.pExtraNmi);
        cpu.nmiArrives();
        if (cpu.crashed) break;
        continue;
      }
      const top = cpu.depth;
      if (
        cpu.kind[top] === Kind.Irq && cpu.pc[top] === IRQ_SOFTIRQ_BODY && cpu.ifFlag &&
        r.float() < o.pIrqInSoftirq && cpu.irqArrives(false)
      ) {
        this.#m.irqsInSoftirq++;
        continue;
      }
      const fault = this.#faultAt(ctx);
      if (fault === Kind.Pf && cpu.innermostNmi() >= 0) this.#m.pageFaultsInNmi++;
      if (fault !== 0) {
        const at = `${KIND_NAMES[fault]} at '${cpu.stepName(cpu.depth)}'`;
        this.#m.injected[at] = (this.#m.injected[at] ?? 0) + 1;
        cpu.raise(fault as KindCode);
      } else this.stepCpu(ctx.cpu, ctx.cr3Mm, ctx.thread.mm);
      if (cpu.crashed) break;
    }
    if (cpu.crashed) {
      for (const p of ctx.served) if (p) this.sink.truth(p);
      for (const p of ctx.pending) this.sink.truth(p);
      ctx.pending.length = 0;
      ctx.served.length = 0;
      ctx.nestedAtStart.length = 0;
      cpu.reset();
      return;
    }
    cpu.quiescentCheck();
    for (const p of ctx.pending) this.sink.truth(p);
    ctx.pending.length = 0;
  }

  /**
   * Decide whether the next step of the top activation raises an exception, at every point
   * where the model checker may raise one (`check.ts`): #PF / int3 / #DB at the NMI handler's
   * exception-raising steps, MCE at any step of C code in NMI context (or any step at all with
   * `mceAnywhere`) while no MCE is live.
   */
  #faultAt(ctx: CpuCtx): number {
    const cpu = ctx.cpu;
    const o = this.#o;
    const d = cpu.depth;
    if (cpu.kind[d] === Kind.Irq) return this.#irqBufferTouch(ctx);
    if (
      o.pMce > 0 && cpu.innermostNmi() >= 0 && (o.mceAnywhere || cpu.addrOf(d) === "c") &&
      !cpu.kind.subarray(1, d + 1).includes(Kind.Mce) && this.#r.float() < o.pMce
    ) return Kind.Mce;
    if (cpu.kind[d] !== Kind.Nmi) return 0;
    const pc = cpu.pc[d];
    if (!this.#faultable[pc]) return 0;
    if (this.#touchesBuffer[pc] && this.strategy.vmallocBuffers) {
      // the PMU handler's buffer, by its recursion context: in_nmi() -> the NMI buffer
      const b = 4 * ctx.index + recursionContext(cpu.preempt);
      if (!this.#pt.present(ctx.cr3Mm, this.#bufSlots[b])) {
        this.#faultSlot = this.#bufSlots[b];
        this.#m.bufferFaults[b]++;
        return Kind.Pf;
      }
    }
    if (o.pInt3 > 0 && this.#r.float() < o.pInt3) return Kind.Int3;
    if (o.pDb > 0 && this.#r.float() < o.pDb) return Kind.Db;
    if (o.pIbp > 0 && this.#r.float() < o.pIbp) return Kind.Ibp;
    return 0;
  }

  /**
   * A hardirq or softirq handler body takes a software-event callchain (the timer tick's
   * cpu-clock event in hardirq context, a tracepoint in softirq context) into the buffer of
   * its recursion context, read from `preempt_count`; the first touch in an mm faults.
   * Counted once per body execution (a fault re-executes the step).
   * @returns Kind.Pf for a first touch, else 0
   */
  #irqBufferTouch(ctx: CpuCtx): number {
    const cpu = ctx.cpu;
    const d = cpu.depth;
    const pc = cpu.pc[d];
    if (pc !== IRQ_HARDIRQ_BODY && pc !== IRQ_SOFTIRQ_BODY) return 0;
    const rc = recursionContext(cpu.preempt);
    const b = 4 * ctx.index + rc;
    if (this.strategy.vmallocBuffers && !this.#pt.present(ctx.cr3Mm, this.#bufSlots[b])) {
      this.#faultSlot = this.#bufSlots[b];
      this.#m.bufferFaults[b]++;
      return Kind.Pf;
    }
    this.#m.swCallchains[rc]++;
    return 0;
  }

  /**
   * Execute one step on a CPU, doing the memory side of a #PF handler body (vmalloc_fault).
   * Shared by {@link Machine.run} and {@link replaySchedule}.
   * @param cpu the CPU
   * @param cr3Mm mm cr3 points at
   * @param currentMm current->active_mm
   */
  stepCpu(cpu: Cpu, cr3Mm: number, currentMm: number): void {
    const d = cpu.depth;
    if (cpu.kind[d] === Kind.Pf && cpu.pc[d] === EXC_BODY) {
      this.#pt.vmallocFault(cr3Mm, currentMm, this.#faultSlot, this.#o.vmallocFaultUsesCr3);
    }
    cpu.step();
  }

  #onHandler(ctx: CpuCtx, c: number, phase: "start" | "end"): void {
    if (phase === "start") {
      // the sample's context is the interrupted preempt_count's (in_nmi / in_irq / in_softirq)
      const rc = recursionContext(ctx.cpu.interruptedPreempt);
      this.#m.nmiRunsByContext[rc]++;
      ctx.nestedAtStart.push(rc);
      ctx.served.push(ctx.pending.shift() ?? null);
      return;
    }
    const truth = ctx.served.pop() ?? null;
    const interrupted = ctx.nestedAtStart.pop() ?? 0;
    if (!truth) return; // spurious run (watchdog / replay with nothing pending)
    const t = ctx.thread;
    const st = t.stack!;
    // the common case keeps the drawn stack as is (no BigInt work); hazards make an explicit chain
    let chain: bigint[] | undefined;
    let length = st.length;
    const wants = this.sink.wantsWords === true;
    let words: Uint32Array | undefined;
    if (wants) {
      if (this.#sampleWords.length < 2 * length) {
        this.#sampleWords = new Uint32Array(4 * length);
        this.#truthWords = new Uint32Array(4 * length);
      }
      words = this.#sampleWords.subarray(0, 2 * st.fillWords(this.#sampleWords));
    }
    let truncated = false;
    if (ctx.cr3Mm !== t.mm) {
      // switch_to window: the user walk uses current's stack pointer through the other mm
      const other = this.#threads.find((x) => x.mm === ctx.cr3Mm);
      if (other) {
        const k = st.kernelIds.length;
        chain = [...st.chain().slice(0, k ? k + 1 : 0), PERF_CONTEXT_USER, ...other.user];
        length = chain.length;
        words = undefined;
      }
    }
    if (this.#r.float() < this.#o.pUserPageMissing) {
      const full = chain ?? st.chain();
      const u = full.indexOf(PERF_CONTEXT_USER);
      // perf_callchain_user stores regs->ip before walking, so the user leaf is always there
      const keep = u + 2 + this.#r.int(Math.max(1, full.length - u - 2));
      chain = full.slice(0, keep);
      length = keep;
      words = words?.subarray(0, 2 * keep);
      truncated = true;
    }
    if (length > this.#o.maxStack) {
      chain = (chain ?? st.chain()).slice(0, this.#o.maxStack);
      length = chain.length;
      words = words?.subarray(0, 2 * this.#o.maxStack);
      truncated = true;
    }
    const ip = chain
      ? chain[1]
      : st.img.frames[st.kernelIds.length ? st.kernelIds[0] : st.userIds[0]];
    this.sink.sample(
      new SampleRecord(
        c,
        this.#time,
        truth.pid,
        truth.tid,
        ip,
        this.#o.periodNs,
        interrupted,
        chain ?? st,
        words,
        truncated,
      ),
    );
    truth.delivered = true;
    if (wants) {
      truth.words = this.#truthWords.subarray(0, 2 * truth.simStack.fillWords(this.#truthWords));
    }
    this.sink.truth(truth);
    truth.words = undefined;
    this.#m.delivered++;
    if (truncated) this.#m.truncated++;
    if (chain === undefined ? truth.simStack === st : sameChain(chain, truth.stack)) {
      this.#m.exact++;
    }
  }
}

/**
 * Integer ns between overflow `i - 1` and overflow `i` when `cpus` CPUs each overflow every
 * `periodNs`: the ticks sum to `floor((i + 1) * periodNs / cpus)`, so the clock never drifts
 * and stays an integer for every CPU count.
 * @param i overflow index
 * @param periodNs sample period per CPU
 * @param cpus CPUs
 * @returns ns to advance
 */
export function overflowTick(i: number, periodNs: number, cpus: number): number {
  return Math.floor((i + 1) * periodNs / cpus) - Math.floor(i * periodNs / cpus);
}

/**
 * Trials up to and including the first success of a Bernoulli(p) process: the same
 * distribution as drawing `float() < p` every step, with one draw per success.
 * @param r PRNG
 * @param p success probability per trial
 * @returns trials (Infinity when p is 0)
 */
function geometric(r: Prng, p: number): number {
  if (p <= 0) return Infinity;
  if (p >= 1) return 1;
  return 1 + Math.floor(Math.log(1 - r.float()) / Math.log(1 - p));
}

/** Ground truth of one overflow; the BigInt stack is built only when read. */
class TruthRecord implements SimTruth {
  delivered = false;
  words?: Uint32Array;

  constructor(
    readonly cpu: number,
    readonly time: number,
    readonly pid: number,
    readonly tid: number,
    readonly simStack: SimStack,
  ) {}

  get stack(): readonly bigint[] {
    return this.simStack.chain();
  }
}

/** One delivered sample; the BigInt callchain is built only when read. */
class SampleRecord implements SimSample {
  constructor(
    readonly cpu: number,
    readonly time: number,
    readonly pid: number,
    readonly tid: number,
    readonly ip: bigint,
    readonly period: number,
    readonly context: number,
    readonly source: SimStack | bigint[],
    readonly words: Uint32Array | undefined,
    readonly truncated: boolean,
  ) {}

  get callchain(): readonly bigint[] {
    return this.source instanceof SimStack ? this.source.chain() : this.source;
  }
}

function sameChain(a: readonly bigint[], b: readonly bigint[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Result of replaying a schedule. */
export interface ReplayResult {
  /** Bitmask of violated invariants (see INV_BIT). */
  readonly violations: number;
  /** Message of the last violation. */
  readonly lastViolation: string;
  /** The CPU state became garbage. */
  readonly crashed: boolean;
}

/**
 * Replay a model-checker schedule on a simulator CPU: same strategy code, same step function
 * as {@link Machine.run} ({@link Machine.stepCpu}, which also runs the vmalloc_fault side of a
 * #PF body on the machine's page tables), and the same CPU entry points the machine's event
 * loop uses for PMU/extra NMIs and injected exceptions (`Cpu.nmiArrives`, `Cpu.raise`), with
 * the events taken from the script instead of the PMU, the PRNG and the page tables. (The event
 * loop itself takes no script: its sources are private and random, and it has no #DB source.)
 *
 * Every scripted event must be one the simulator could see at that point: a step needs a
 * running activation, an exception inside the NMI (#PF, int3, #DB) a faultable step of the NMI
 * program, an MCE a live NMI.
 * @param strategy strategy under test
 * @param choices the schedule (from a counter-example)
 * @returns what the CPU saw, plus, per violated invariant, its first message and the index of
 *   the choice that broke it
 * @throws {RangeError} when a choice is impossible at its point of the schedule
 */
export function replaySchedule(
  strategy: Strategy,
  choices: readonly Choice[],
): ReplayResult & {
  /** Per violated invariant: its first message and the 0-based index of the breaking choice. */
  readonly failures: ReadonlyMap<
    import("./cpu.ts").InvariantName,
    { readonly message: string; readonly step: number }
  >;
} {
  const m = new Machine(strategy, { seed: 1, cpus: 1, samples: 0 }, { sample() {}, truth() {} });
  const cpu = new Cpu(strategy);
  const failures = new Map<
    import("./cpu.ts").InvariantName,
    { readonly message: string; readonly step: number }
  >();
  for (let i = 0; i < choices.length && !cpu.crashed; i++) {
    const c = choices[i];
    const d = cpu.depth;
    if (c.t === "nmi") cpu.nmiArrives();
    else if (c.t === "fault") {
      if (cpu.kind[d] !== Kind.Nmi || !strategy.nmi[cpu.pc[d]]?.faultable) {
        throw new RangeError(`choice ${i}: exception at non-faultable '${cpu.stepName(d)}'`);
      }
      cpu.raise(c.kind);
    } else if (c.t === "mce") {
      if (cpu.innermostNmi() < 0) throw new RangeError(`choice ${i}: MCE with no NMI live`);
      cpu.raise(Kind.Mce);
    } else if (c.t === "irq") {
      if (!cpu.irqArrives(c.softirq)) throw new RangeError(`choice ${i}: IRQ with IF clear`);
    } else {
      if (d === 0) throw new RangeError(`choice ${i}: step with nothing running`);
      m.stepCpu(cpu, 0, 0);
    }
    if (!cpu.crashed) cpu.quiescentCheck();
    for (const [inv, message] of cpu.violationMessages()) {
      if (!failures.has(inv)) failures.set(inv, { message, step: i });
    }
  }
  return {
    violations: cpu.violations,
    lastViolation: cpu.lastViolation,
    crashed: cpu.crashed,
    failures,
  };
}
