/**
 * One simulated x86-64 CPU as far as the NMI/fault return path is concerned: a stack of
 * activations (task, NMI, #PF, int3, #DB, MCE, hardware interrupt), the NMI-blocked flag with
 * its one-bit latch (NMI2 latched, NMI3 lost; seed L2114-2143), return-frame slots (the IST
 * tops a nested entry overwrites, the strategies' stack copies, per-level kernel-stack slots)
 * whose frames record what they return to (CPL, EFLAGS.VM, SS: the interrupted task's
 * context), cr2, TF/DF/RF/IF and `preempt_count` with its softirq, hardirq and NMI fields.
 *
 * The same object is driven by the simulator (`machine.ts`) and by the model checker
 * (`check.ts`); the NMI strategies (`strategies/`) are step programs over it. The seven
 * invariants are checked here, as the hardware events happen.
 * @module
 */

/** Activation kinds. */
export const Kind = { Task: 0, Nmi: 1, Pf: 2, Int3: 3, Db: 4, Mce: 5, Ibp: 6, Irq: 7 } as const;
/** One of {@link Kind}. */
export type KindCode = typeof Kind[keyof typeof Kind];

/** Human names of {@link Kind} values, by code. */
export const KIND_NAMES: readonly string[] = [
  "task",
  "NMI",
  "#PF",
  "int3",
  "#DB",
  "MCE",
  "#DB-insn",
  "IRQ",
];

/** Frame slots (memory words that hold a saved return frame). */
export const Slot = {
  /** Top of the NMI IST stack: every NMI delivery writes its hardware frame here. */
  NmiIst: 0,
  /** Fixed stack copy below the IST top (Linus' C, Mathieu's copy, mainline's "iret" frame). */
  Copy: 1,
  /** Mainline's "outermost" frame. */
  Outer: 2,
  /** Top of the debug IST stack (int3 and #DB). */
  DbIst: 3,
  /** Top of the MCE IST stack. */
  MceIst: 4,
  /** Linus' %rsp-range nested frame built in the interrupted stack's red zone. */
  RedZone: 5,
  /** Top of Avi's second NMI IST stack (seed L7212-7233): delivery alternates when the
   * strategy flips `tss.nmi_ist` ({@link Cpu.nmiIstSel}). */
  NmiIst2: 6,
  /** First per-level kernel-stack slot (#PF pushes its frame on the current stack). */
  Kstack: 7,
} as const;

/**
 * Readable name of a frame slot.
 * @param s slot index ({@link Slot})
 * @returns e.g. "NMI IST top", "kernel stack 2"
 */
export function slotName(s: number): string {
  switch (s) {
    case Slot.NmiIst:
      return "NMI IST top";
    case Slot.Copy:
      return "stack copy";
    case Slot.Outer:
      return "outermost copy";
    case Slot.DbIst:
      return "debug IST top";
    case Slot.MceIst:
      return "MCE IST top";
    case Slot.RedZone:
      return "red zone";
    case Slot.NmiIst2:
      return "NMI IST2 top";
    default:
      return `kernel stack ${s - Slot.Kstack}`;
  }
}

/** Deepest activation stack a CPU can hold (task included). */
export const MAX_DEPTH = 12;
/** Number of frame slots. */
export const NSLOTS: number = Slot.Kstack + MAX_DEPTH;

/** `preempt_count` bit set while in NMI (seed L299: 2.6.35's layout, PREEMPT_BITS 8,
 * SOFTIRQ_BITS 8, HARDIRQ_BITS 10, NMI_BITS 1, so NMI_SHIFT 26). */
export const NMI_MASK = 0x04000000;
/** `preempt_count` added by `nmi_enter` besides {@link HARDIRQ_OFFSET} (include/linux/hardirq.h). */
export const NMI_OFFSET: number = NMI_MASK;
/** `preempt_count` added by `__do_softirq` (`__local_bh_disable(SOFTIRQ_OFFSET)`). */
export const SOFTIRQ_OFFSET = 0x100;
/** Softirq count bits of `preempt_count`. */
export const SOFTIRQ_MASK = 0xff00;
/** `preempt_count` added by `irq_enter` (and by `nmi_enter`). */
export const HARDIRQ_OFFSET = 0x10000;
/** Hardirq count bits of `preempt_count` (HARDIRQ_BITS 10). */
export const HARDIRQ_MASK = 0x3ff0000;

/** Per-CPU callchain buffer index of each recursion context: task, softirq, hardirq, NMI. */
export const RecursionContext = { Task: 0, Softirq: 1, Hardirq: 2, Nmi: 3 } as const;
/** Names of the four recursion contexts, by index. */
export const RECURSION_CONTEXTS: readonly string[] = ["task", "softirq", "hardirq", "NMI"];

/**
 * perf's `get_recursion_context()`: the context level from `preempt_count`, tested in this
 * order because `nmi_enter` also adds HARDIRQ_OFFSET (`in_nmi()`, `in_irq()`,
 * `in_softirq()`). Frederic's callchain buffers are indexed by it (L2647-2651).
 * @param preempt a `preempt_count` value
 * @returns 3 NMI, 2 hardirq, 1 softirq, 0 task
 */
export function recursionContext(preempt: number): number {
  if (preempt & NMI_MASK) return RecursionContext.Nmi;
  if (preempt & HARDIRQ_MASK) return RecursionContext.Hardirq;
  if (preempt & SOFTIRQ_MASK) return RecursionContext.Softirq;
  return RecursionContext.Task;
}

/**
 * Steps of a hardware interrupt activation ({@link Kind.Irq}): `irq_enter`, the hardirq
 * handler with IF clear, `irq_exit` running pending softirqs when not already in interrupt
 * context (`!in_interrupt()`), `__do_softirq` with IF set (so hardirqs nest on it), and the
 * interrupt return, a plain iret whatever the strategy ("Other return paths (... return from
 * interrupt) keep the exact same behavior", L206-209).
 */
export const IRQ_STEPS = [
  "irq_enter: preempt_count += HARDIRQ_OFFSET",
  "hardirq handler (IF clear)",
  "irq_exit: preempt_count -= HARDIRQ_OFFSET, softirq pending and !in_interrupt()?",
  "__do_softirq: preempt_count += SOFTIRQ_OFFSET, local_irq_enable",
  "softirq handler (IF set)",
  "__do_softirq end: local_irq_disable, preempt_count -= SOFTIRQ_OFFSET",
  "iret from interrupt",
] as const;
/** Step index of the hardirq handler body. */
export const IRQ_HARDIRQ_BODY = 1;
/** Step index of the softirq handler body. */
export const IRQ_SOFTIRQ_BODY = 4;
/** Step index of the interrupt return. */
const IRQ_IRET = 6;

/**
 * What the task (activation 0) was running when it was interrupted, which decides what its
 * saved frame looks like and how the return to it must be made (seed L206-209, L309-316):
 * - `kernel`: kernel code entered by an interrupt or exception from user mode (saved SS null);
 * - `syscall`: kernel code entered by SYSCALL, which loads SS = __KERNEL_DS from IA32_STAR
 *   (kernel knowledge, not the thread); an exception at the same CPL leaves SS as it is, so
 *   every nested frame saves a non-null SS too;
 * - `user`: CPL 3; the user controls %rsp (it may point into the NMI stack) and DF;
 * - `vm86`: x86-32 virtual-8086 mode: EFLAGS.VM set and the saved CS a real-mode segment, so
 *   its low two bits say nothing (worst case 0, what an RPL-only test reads as kernel).
 */
export const TaskContext = { Kernel: 0, Syscall: 1, User: 2, Vm86: 3 } as const;
/** One of {@link TaskContext}. */
export type TaskContextCode = typeof TaskContext[keyof typeof TaskContext];
/** Names of {@link TaskContext} values, by code (the checker's `--context`). */
export const TASK_CONTEXTS = ["kernel", "syscall", "user", "vm86"] as const;
/** One name of {@link TASK_CONTEXTS}. */
export type TaskContextName = typeof TASK_CONTEXTS[number];

/** Frame word flag: the slot holds a frame. */
export const F_VALID = 1 << 16;
/** Frame word flag: saved CS zeroed so the iret faults (Linus v2 latch). */
export const F_CS_BAD = 1 << 17;
/** Frame word flag: saved RFLAGS.TF. */
export const F_TF = 1 << 18;
/** Frame word flag: saved RFLAGS.DF. */
export const F_DF = 1 << 19;
/** Frame word flag: saved RFLAGS.RF (resume flag: the next instruction's breakpoint is
 * suppressed). A fault-class #DB handler sets it before returning to the faulting instruction;
 * iret restores it, POPFD does not ("RF ... not set correctly by POPFD", Maciej L796-798). */
export const F_RF = 1 << 20;
/** Frame word flag: saved CS has RPL 3 (the frame returns to user space). */
export const F_USER = 1 << 21;
/** Frame word flag: saved EFLAGS.VM (the frame returns to virtual-8086 mode). */
export const F_VM = 1 << 22;
/** Frame word flag: saved SS is not null (user SS, or __KERNEL_DS after SYSCALL). */
export const F_SS = 1 << 23;
/** Frame word flag: saved %rsp is user-controlled (may point anywhere, the NMI stack too). */
export const F_USER_RSP = 1 << 24;
/** Frame word flag: saved RFLAGS.IF (interrupts were enabled). */
export const F_IF = 1 << 25;

/**
 * Mathieu's routing test on the exception return path (L311-316): "mix EFLAGS and CS",
 * `andl $(X86_EFLAGS_VM | SEGMENT_RPL_MASK)`, `jae resume_userspace # returning to v8086 or
 * userspace`. A frame to user space or vm86 must take the iret of resume_userspace.
 * @param f frame word
 * @returns true when the frame returns to user space or vm86
 */
export function returnsToUserspace(f: number): boolean {
  return (f & (F_USER | F_VM)) !== 0;
}

/**
 * Encode a return frame that resumes activation `depth` at step `pc`.
 * @param depth activation index to resume
 * @param pc step index to resume at
 * @param flags extra F_* flags
 * @returns the frame word
 */
export function makeFrame(depth: number, pc: number, flags = 0): number {
  return F_VALID | (depth & 15) | ((pc & 0xff) << 4) | flags;
}
/**
 * Activation index a frame returns to.
 * @param f frame word
 * @returns the depth
 */
export function frameDepth(f: number): number {
  return f & 15;
}
/**
 * Step index a frame returns to.
 * @param f frame word
 * @returns the pc
 */
export function framePc(f: number): number {
  return (f >> 4) & 0xff;
}

/** Invariants checked on every run. Order = bit order in {@link Cpu.violations}. */
export const INVARIANTS = [
  "ist-frame-live",
  "nmi-latch",
  "cr2-preserved",
  "no-early-unmask",
  "handler-not-nested",
  "bp-progress",
  "user-return",
] as const;
/** One invariant name. */
export type InvariantName = typeof INVARIANTS[number];

/** Bit of an invariant in {@link Cpu.violations}. */
export const INV_BIT: Readonly<Record<InvariantName, number>> = {
  "ist-frame-live": 1,
  "nmi-latch": 2,
  "cr2-preserved": 4,
  "no-early-unmask": 8,
  "handler-not-nested": 16,
  "bp-progress": 32,
  "user-return": 64,
};

/** Code address class of a step (Mathieu's %rip-range test compares against these). */
export type AddrClass = "entry" | "atomic" | "c";

/** One atomic step of a strategy's NMI program. */
export interface Step {
  /** Short readable name ("copy frame", "iret"). */
  readonly name: string;
  /** Where the code sits relative to Mathieu's nmi_atomic..nmi_atomic_end region. */
  readonly addr: AddrClass;
  /** An exception (#PF, int3, #DB) may be raised instead of completing this step. */
  readonly faultable?: boolean;
  /** First step of the handler body (it calls {@link Cpu.handlerStart}): a step that jumps
   * here after a run ended is a software replay, and ends that run's blocked period. */
  readonly entersHandler?: boolean;
  /** Do the step: mutate the CPU and set the top activation's pc. */
  exec(cpu: Cpu): void;
}

/** An NMI entry/exit strategy: its NMI program plus its exception-return rule. */
export interface Strategy {
  /** CLI name, e.g. "mainline". */
  readonly name: string;
  /** One line with the seed reference. */
  readonly description: string;
  /** The NMI program; pc 0 is the entry. */
  readonly nmi: readonly Step[];
  /** The handler body writes into vmalloc'd callchain buffers, so the first touch may #PF. */
  readonly vmallocBuffers: boolean;
  /** vmalloc_sync_all after every vmalloc of a new page-directory entry (no lazy faults); the
   * walk's cost is the simulator's ({@link import("./sync_cost.ts").vmallocSyncWalkNs}). */
  readonly eagerSync: boolean;
  /** "NMI can never take traps" (Ingo, L1158-1161): every exception taken in NMI context is
   * a WARN, counted and named per kind ({@link Cpu.warned}). */
  readonly warnOnTrap?: boolean;
  /** The design exists on x86-32 too (the only place vm86 does): the 2010 code, Mathieu's
   * popf/ret (x86_32 "popf and far return", L187) and the buffer-side fixes. The other
   * designs are x86-64 entry code (IST stacks, %rip/%rsp tests). */
  readonly x86_32?: boolean;
  /** Return from an exception taken while this strategy is installed (iret or popf/ret). */
  exceptionReturn(cpu: Cpu, slot: number): void;
  /** True when a nested NMI arriving now would be recognised (the strategy's guard). */
  guardArmed(cpu: Cpu): boolean;
}

/** Step index of an exception handler's body. */
export const EXC_BODY = 0;
/** Step index of an exception handler's return. */
export const EXC_EXIT = 1;

/** Per-CPU counters. */
export interface CpuStats {
  /** NMIs that arrived at the CPU pins. */
  nmiArrivals: number;
  /** NMIs the CPU delivered (entered the NMI vector). */
  nmiDelivered: number;
  /** NMIs dropped by hardware (latch already full). */
  hwLost: number;
  /** Arrivals never served although latch semantics promised a run. */
  nmisLostBeyondLatch: number;
  /** Violations of the latch invariant. */
  latchViolations: number;
  /** NMI handler body runs. */
  handlerRuns: number;
  /** Live return frames destroyed. */
  istCorruptions: number;
  /** NMI returns with a changed cr2. */
  cr2Corruptions: number;
  /** Exceptions taken inside NMI context. */
  faultsInNmi: number;
  /** irets that unmasked NMIs while an NMI was live (guarded or not). */
  earlyUnmasks: number;
  /** Crashes (state garbage). */
  crashes: number;
  /** Instruction breakpoints that hit again because RF was lost on the way back (a nested
   * NMI's popf return), each a spurious second #DB. */
  bpRefires: number;
  /** WARNs of a {@link Strategy.warnOnTrap} strategy, by exception kind ({@link Kind}). */
  readonly warns: number[];
}

function newStats(): CpuStats {
  return {
    nmiArrivals: 0,
    nmiDelivered: 0,
    hwLost: 0,
    nmisLostBeyondLatch: 0,
    latchViolations: 0,
    handlerRuns: 0,
    istCorruptions: 0,
    cr2Corruptions: 0,
    faultsInNmi: 0,
    earlyUnmasks: 0,
    crashes: 0,
    bpRefires: 0,
    warns: [0, 0, 0, 0, 0, 0, 0, 0],
  };
}

/** A CPU in the NMI model. All fields are plain numbers so states hash cheaply. */
export class Cpu {
  /** Index of the top activation (0 = task). */
  depth = 0;
  /** What the task was running when interrupted ({@link TaskContext}); the machine sets it
   * before each PMU overflow, the checker once per exploration. */
  ctx: TaskContextCode = TaskContext.Kernel;
  /** Activation kinds. */
  readonly kind: Int8Array = new Int8Array(MAX_DEPTH);
  /** Next step of each activation. */
  readonly pc: Int16Array = new Int16Array(MAX_DEPTH);
  /** NMI sequence number of NMI activations (for traces). */
  readonly nmiNo: Int8Array = new Int8Array(MAX_DEPTH);
  /** cr2 when each NMI activation was entered. */
  readonly cr2In: Int32Array = new Int32Array(MAX_DEPTH);
  /** Frame slots, see {@link Slot}. */
  readonly slots: Int32Array = new Int32Array(NSLOTS);
  /** Strategy per-cpu variables (meaning defined by the strategy). */
  readonly vars: Int32Array = new Int32Array(4);
  /** Frame slot that holds each activation's own return frame (its IST top or kernel stack). */
  readonly frameSlot: Int8Array = new Int8Array(MAX_DEPTH);
  /** Which NMI IST stack the TSS points at: 0 {@link Slot.NmiIst}, 1 {@link Slot.NmiIst2}. */
  nmiIstSel = 0;
  /** Hardware NMI blocking (set by NMI delivery, cleared by any iret, even one that faults). */
  nmiBlocked = false;
  /** A faulting iret unblocked NMIs; the latched NMI is taken at the fault handler's first
   * instruction, once the step has moved the pc there ({@link Cpu.step}). */
  iretFaulted = false;
  /** Kinds ({@link Kind} bits) a {@link Strategy.warnOnTrap} strategy warned about. */
  warned = 0;
  /** First WARN message per kind, by {@link Kind} code ("" if none). */
  readonly warnMessages: string[] = KIND_NAMES.map(() => "");
  /** One-bit NMI latch. */
  latch = false;
  /** Number of the latched NMI (traces only). */
  latchNo = 0;
  /** Page-fault address register. */
  cr2 = 0;
  /** RFLAGS.TF of the running code. */
  tf = false;
  /** RFLAGS.DF of the running code. */
  df = false;
  /** RFLAGS.RF of the running code (cleared once an instruction completes). */
  rf = false;
  /** RFLAGS.IF of the running code: a hardware interrupt is taken only while set; every
   * interrupt, exception and NMI gate clears it, iret and popf restore it. */
  ifFlag = true;
  /** Per IRQ activation: softirq work is pending at its irq_exit. */
  readonly softPending: Int8Array = new Int8Array(MAX_DEPTH);
  /** `preempt_count` the last NMI handler run interrupted (before its `nmi_enter`). */
  interruptedPreempt = 0;
  /** Activation and step of the armed instruction breakpoint (fault-class #DB), or -1. */
  bpDepth: number = -1;
  /** Step of the armed instruction breakpoint. */
  bpPc: number = -1;
  /** preempt_count: {@link NMI_MASK}, hardirq and softirq counts. */
  preempt = 0;
  /** Handler bodies currently running. */
  handlerActive = 0;
  /** NMI arrivals still owed a handler run (lower bound: none may be lost). */
  unserved = 0;
  /**
   * Replay ledger (upper bound, "at most one replay per blocked period"). A blocked period
   * starts when an NMI is delivered with no period open, or when a replay is committed; it
   * ends at the exit of its handler run: the run owner's first iret attempt after the run
   * (mainline's final iret into repeat_nmi, Linus v2's faulting iret), its abandonment at that
   * iret ({@link Cpu.splice}, IRET_RACE), or a jump back to the handler's first step (a
   * fake-NMI replay, {@link Step.entersHandler}). NMIs *delivered* during the period collapse
   * into one replay, committed at its end;
   * NMIs the hardware dropped or still holds in its latch are not visible to software and
   * justify nothing until delivered.
   */
  periodOpen = false;
  /** The period's own handler run has not started yet. */
  periodRunOwed = false;
  /** An NMI was delivered during the period: one replay is owed at its end. */
  replayOwed = false;
  /** The open period was itself opened by a committed replay. */
  periodIsReplay = false;
  /** The last handler run ended and its exit (period end) has not been seen yet. */
  runExitPending = false;
  /** Activation index that ran the last handler run. */
  runOwner: number = -1;
  /** Replays run for the NMIs of the last closed period (messages only, not in {@link Cpu.key}). */
  replaysForPeriod = 0;
  /** NMI arrivals so far (numbering). */
  nmiSeq = 0;
  /** Faults raised so far (cr2 values). */
  faultSeq = 0;
  /** Bitmask of violated invariants (see {@link INV_BIT}). */
  violations = 0;
  /** The CPU state is garbage (frame lost or iret into a dead context). */
  crashed = false;
  /** Message of the last violation (or crash). */
  lastViolation = "";
  /** First message of each invariant's violation, by {@link INVARIANTS} index ("" if none). */
  readonly messages: string[] = INVARIANTS.map(() => "");
  /** Metrics. */
  readonly stats: CpuStats = newStats();

  /**
   * A CPU in task context with nothing in flight.
   * @param strategy the installed NMI strategy
   */
  constructor(readonly strategy: Strategy, ctx: TaskContextCode = TaskContext.Kernel) {
    this.ctx = ctx;
    this.reset();
  }

  /**
   * The task now runs in context `c` (the machine calls this between NMIs, at depth 0).
   * @param c the context
   */
  setTaskContext(c: TaskContextCode): void {
    this.ctx = c;
    this.df = c === TaskContext.User;
  }

  /**
   * Frame flags that describe the context a frame saved at activation `d` returns to: CPL,
   * EFLAGS.VM, SS and who controls %rsp ({@link TaskContext}).
   * @param d the interrupted activation
   * @returns F_USER / F_VM / F_SS / F_USER_RSP bits
   */
  contextFlags(d: number): number {
    const c = this.ctx;
    if (d > 0) return c === TaskContext.Syscall ? F_SS : 0; // same CPL: SS stays as it was
    if (c === TaskContext.User) return F_USER | F_SS | F_USER_RSP;
    if (c === TaskContext.Vm86) return F_VM | F_SS | F_USER_RSP;
    return c === TaskContext.Syscall ? F_SS : 0;
  }

  /**
   * Linus' first %rsp test (L7275-7279, "same 8kB aligned area?"): does the frame's saved
   * %rsp lie in the NMI stack? True for a frame saved on the NMI IST stack, and for a
   * user-controlled %rsp (the worst case: the user pointed it there).
   * @param f frame word
   * @returns true when the saved %rsp looks like the NMI stack
   */
  savedRspInNmiStack(f: number): boolean {
    return (f & F_USER_RSP) !== 0 || this.stackOf(frameDepth(f)) === 1;
  }

  /** Back to a task with nothing in flight (after a crash, the simulator "reboots" the CPU). */
  reset(): void {
    this.depth = 0;
    // the user owns DF: the worst case is set (mainline's nesting test reads DF)
    this.df = this.ctx === TaskContext.User;
    this.kind[0] = Kind.Task;
    this.pc[0] = 0;
    this.slots.fill(0);
    this.vars.fill(0);
    this.frameSlot.fill(0);
    this.nmiIstSel = 0;
    this.iretFaulted = false;
    this.nmiBlocked = false;
    this.latch = false;
    this.cr2 = 0;
    this.tf = false;
    this.rf = false;
    this.ifFlag = true;
    this.softPending.fill(0);
    this.interruptedPreempt = 0;
    this.bpDepth = -1;
    this.bpPc = -1;
    this.preempt = 0;
    this.handlerActive = 0;
    this.unserved = 0;
    this.endNmiContext();
    this.crashed = false;
  }

  /** Forget the replay ledger: the CPU left NMI context with nothing latched. */
  endNmiContext(): void {
    this.periodOpen = false;
    this.periodRunOwed = false;
    this.replayOwed = false;
    this.periodIsReplay = false;
    this.runExitPending = false;
    this.runOwner = -1;
    this.replaysForPeriod = 0;
  }

  /**
   * Copy the complete state of another CPU (same strategy) into this one.
   * @param o source CPU
   */
  copyFrom(o: Cpu): void {
    this.depth = o.depth;
    this.ctx = o.ctx;
    this.kind.set(o.kind);
    this.pc.set(o.pc);
    this.nmiNo.set(o.nmiNo);
    this.cr2In.set(o.cr2In);
    this.slots.set(o.slots);
    this.vars.set(o.vars);
    this.frameSlot.set(o.frameSlot);
    this.nmiIstSel = o.nmiIstSel;
    this.iretFaulted = o.iretFaulted;
    this.warned = o.warned;
    for (let i = 0; i < this.warnMessages.length; i++) this.warnMessages[i] = o.warnMessages[i];
    this.nmiBlocked = o.nmiBlocked;
    this.latch = o.latch;
    this.latchNo = o.latchNo;
    this.cr2 = o.cr2;
    this.tf = o.tf;
    this.df = o.df;
    this.rf = o.rf;
    this.ifFlag = o.ifFlag;
    this.softPending.set(o.softPending);
    this.interruptedPreempt = o.interruptedPreempt;
    this.bpDepth = o.bpDepth;
    this.bpPc = o.bpPc;
    this.preempt = o.preempt;
    this.handlerActive = o.handlerActive;
    this.unserved = o.unserved;
    this.periodOpen = o.periodOpen;
    this.periodRunOwed = o.periodRunOwed;
    this.replayOwed = o.replayOwed;
    this.periodIsReplay = o.periodIsReplay;
    this.runExitPending = o.runExitPending;
    this.runOwner = o.runOwner;
    this.replaysForPeriod = o.replaysForPeriod;
    this.nmiSeq = o.nmiSeq;
    this.faultSeq = o.faultSeq;
    this.violations = o.violations;
    this.crashed = o.crashed;
    this.lastViolation = o.lastViolation;
    for (let i = 0; i < this.messages.length; i++) this.messages[i] = o.messages[i];
  }

  /**
   * A string that identifies the behavioural state (for state hashing in the checker).
   * @returns the key
   */
  key(): string {
    const d = this.depth;
    let k = `${this.ctx}${d}|${+this.nmiBlocked}${+this.latch}${+this.tf}${+this.df}${+this.rf}` +
      `${+this.ifFlag}` +
      `${this.nmiIstSel}|${this.bpDepth}:${this.bpPc}|` +
      `${this.warned}|${this.cr2}|` +
      `${this.preempt}|${this.handlerActive}|${this.unserved}|${this.ledgerKey()}|${this.violations}|` +
      `${this.vars.join(",")}|${this.slots.join(",")}|`;
    for (let i = 0; i <= d; i++) {
      k += `${this.kind[i]}:${this.pc[i]}:${this.cr2In[i]}:${this.frameSlot[i]}:${
        this.softPending[i]
      },`;
    }
    return k;
  }

  /** Replay-ledger part of {@link Cpu.key}. */
  private ledgerKey(): string {
    return `${+this.periodOpen}${+this.periodRunOwed}${+this.replayOwed}${+this.periodIsReplay}` +
      `${+this.runExitPending}${this.runOwner}`;
  }

  /**
   * Record an invariant violation.
   * @param inv which invariant
   * @param msg what happened
   */
  violate(inv: InvariantName, msg: string): void {
    const full = `${inv}: ${msg}`;
    if (!(this.violations & INV_BIT[inv])) this.messages[INVARIANTS.indexOf(inv)] = full;
    this.violations |= INV_BIT[inv];
    this.lastViolation = full;
    if (inv === "ist-frame-live") this.stats.istCorruptions++;
    else if (inv === "cr2-preserved") this.stats.cr2Corruptions++;
    else if (inv === "nmi-latch") this.stats.latchViolations++;
  }

  /**
   * The first violation message of an invariant.
   * @param inv the invariant
   * @returns `"<invariant>: <what happened>"`, or "" if it holds
   */
  messageOf(inv: InvariantName): string {
    return this.messages[INVARIANTS.indexOf(inv)];
  }

  /**
   * Every violated invariant with its first message, in {@link INVARIANTS} order.
   * @returns pairs of invariant and message
   */
  violationMessages(): [InvariantName, string][] {
    return INVARIANTS.filter((i) => (this.violations & INV_BIT[i]) !== 0).map((i) => [
      i,
      this.messageOf(i),
    ]);
  }

  /**
   * Readable name of an activation ("NMI#2", "#PF").
   * @param d activation index
   * @returns the name
   */
  nameOf(d: number): string {
    const k = this.kind[d];
    return k === Kind.Nmi ? `NMI#${this.nmiNo[d]}` : KIND_NAMES[k];
  }

  /**
   * The machine state as readable lines: flags, the activation stack (what each level runs
   * next and which slot holds its return frame), every non-empty frame slot with the frame
   * it holds, and the strategy's per-cpu variables. Printed by nmi-check at a failing step.
   * @returns lines of text
   */
  describe(): string[] {
    const flags = [
      `NMIs ${this.nmiBlocked ? "blocked" : "unblocked"}`,
      `latch ${this.latch ? `full (NMI#${this.latchNo})` : "empty"}`,
      `TF=${+this.tf}`,
      `DF=${+this.df}`,
      `RF=${+this.rf}`,
      `cr2=${this.cr2}`,
      `task in ${TASK_CONTEXTS[this.ctx]}`,
      `preempt_count=0x${this.preempt.toString(16)}${
        (this.preempt & NMI_MASK) ? " (NMI_MASK)" : ""
      }`,
      `IF=${+this.ifFlag}`,
    ];
    if (this.nmiIstSel !== 0 || this.frameSlot.includes(Slot.NmiIst2)) {
      flags.push(`tss.nmi_ist=stack${this.nmiIstSel + 1}`);
    }
    const out = [`flags: ${flags.join(", ")}`];
    for (let d = this.depth; d >= 0; d--) {
      const own = d > 0 ? `, frame in ${slotName(this.frameSlot[d])}` : "";
      out.push(`  level ${d}: ${this.nameOf(d)} at '${this.stepName(d)}'${own}`);
    }
    for (let s = 0; s < NSLOTS; s++) {
      const f = this.slots[s];
      if (!(f & F_VALID)) continue;
      const d = frameDepth(f);
      const p = framePc(f);
      const live = d < this.depth && this.pc[d] === p;
      const to = d <= this.depth
        ? `${this.nameOf(d)} at '${this.stepNameAt(d, p)}'`
        : `dead level ${d}`;
      const extra = (f & F_CS_BAD ? ", CS zeroed" : "") + (f & F_TF ? ", TF" : "") +
        (f & F_DF ? ", DF" : "") + (f & F_USER ? ", CPL 3" : "") + (f & F_VM ? ", VM" : "") +
        (f & F_SS ? ", SS non-null" : "") + (live ? "" : " (stale)");
      out.push(`  slot ${slotName(s)}: return to ${to}${extra}`);
    }
    out.push(`  vars: [${this.vars.join(", ")}]`);
    return out;
  }

  /**
   * Readable name of the step activation `d` will execute next.
   * @param d activation index
   * @returns the step name
   */
  stepName(d: number): string {
    return this.stepNameAt(d, this.pc[d]);
  }

  /**
   * Readable name of step `pc` of activation `d`'s program.
   * @param d activation index
   * @param pc step index
   * @returns the step name
   */
  stepNameAt(d: number, pc: number): string {
    const k = this.kind[d];
    if (k === Kind.Nmi) return this.strategy.nmi[pc]?.name ?? `pc ${pc}`;
    if (k === Kind.Task) return "task code";
    if (k === Kind.Irq) return IRQ_STEPS[pc] ?? `pc ${pc}`;
    return pc === EXC_BODY ? "handler body" : "exception return";
  }

  /**
   * Address class of the code activation `d` executes next.
   * @param d activation index
   * @returns where its %rip points
   */
  addrOf(d: number): AddrClass | "task" {
    const k = this.kind[d];
    if (k === Kind.Task) return "task";
    if (k === Kind.Nmi) return this.strategy.nmi[this.pc[d]]?.addr ?? "c";
    return "c";
  }

  /**
   * Index of the innermost NMI activation, or -1.
   * @returns activation index
   */
  innermostNmi(): number {
    for (let i = this.depth; i > 0; i--) if (this.kind[i] === Kind.Nmi) return i;
    return -1;
  }

  /**
   * Index of the outermost NMI activation, or -1.
   * @returns activation index
   */
  outermostNmi(): number {
    for (let i = 1; i <= this.depth; i++) if (this.kind[i] === Kind.Nmi) return i;
    return -1;
  }

  /**
   * The stack activation `d` runs on: 0 task, 1 NMI IST, 2 debug IST, 3 MCE IST.
   * (#PF has no IST: it runs on whatever stack it interrupted.)
   * @param d activation index
   * @returns stack id
   */
  stackOf(d: number): number {
    for (let i = d; i > 0; i--) {
      const k = this.kind[i];
      if (k === Kind.Nmi) return 1;
      if (k === Kind.Int3 || k === Kind.Db || k === Kind.Ibp) return 2;
      if (k === Kind.Mce) return 3;
    }
    return 0;
  }

  /**
   * Frame slot of an exception activation.
   * @param d activation index
   * @returns slot index
   */
  excSlot(d: number): number {
    const k = this.kind[d];
    if (k === Kind.Nmi) return this.frameSlot[d];
    if (k === Kind.Int3 || k === Kind.Db || k === Kind.Ibp) return Slot.DbIst;
    if (k === Kind.Mce) return Slot.MceIst;
    return Slot.Kstack + d;
  }

  /** Hardware NMI arrival: deliver, latch, or drop (one-bit latch). */
  nmiArrives(): void {
    const no = ++this.nmiSeq;
    this.stats.nmiArrivals++;
    if (this.unserved === 0) this.unserved++; // else it merges into the run still owed
    if (!this.nmiBlocked) this.deliverNmi(no);
    else if (!this.latch) {
      this.latch = true;
      this.latchNo = no;
    } else this.stats.hwLost++;
  }

  /**
   * Hardware NMI delivery: block NMIs, write the frame at the IST top, push an NMI activation.
   * @param no NMI number (traces)
   */
  deliverNmi(no: number): void {
    this.nmiBlocked = true;
    const d = this.depth;
    const slot = this.nmiIstSel ? Slot.NmiIst2 : Slot.NmiIst;
    this.slots[slot] = makeFrame(
      d,
      this.pc[d],
      (this.tf ? F_TF : 0) | (this.df ? F_DF : 0) | (this.rf ? F_RF : 0) |
        (this.ifFlag ? F_IF : 0) | this.contextFlags(d),
    );
    this.tf = false;
    this.df = false;
    this.rf = false;
    this.ifFlag = false;
    const n = this.push(Kind.Nmi);
    this.frameSlot[n] = slot;
    this.nmiNo[n] = no;
    this.cr2In[n] = this.cr2;
    this.stats.nmiDelivered++;
    if (!this.periodOpen) {
      this.periodOpen = true;
      this.periodRunOwed = true;
      this.periodIsReplay = false;
      this.replaysForPeriod = 0;
    } else this.replayOwed = true;
    this.checkFrames();
  }

  /**
   * End of the last handler run's blocked period: commit the one replay its delivered NMIs
   * are owed (a new period), or close it.
   */
  endRunPeriod(): void {
    this.runExitPending = false;
    if (this.replayOwed) {
      this.replayOwed = false;
      this.periodRunOwed = true;
      this.periodIsReplay = true;
      this.replaysForPeriod = 1;
    } else {
      if (!this.periodIsReplay) this.replaysForPeriod = 0;
      this.periodOpen = false;
      this.periodRunOwed = false;
      this.periodIsReplay = false;
    }
  }

  /**
   * Raise an exception at the current instruction of the top activation.
   * @param kind Pf, Int3, Db or Mce
   */
  raise(kind: KindCode): void {
    const d = this.depth;
    const inNmi = this.innermostNmi() >= 0;
    if (inNmi && kind !== Kind.Mce) this.stats.faultsInNmi++;
    if (inNmi && this.strategy.warnOnTrap) {
      this.stats.warns[kind]++;
      if (!(this.warned & (1 << kind))) {
        this.warned |= 1 << kind;
        this.warnMessages[kind] = `WARN: ${KIND_NAMES[kind]} taken in NMI context at '${
          this.stepName(d)
        }'`;
      }
    }
    if (kind === Kind.Ibp) {
      // fault-class: the breakpoint stays armed on this instruction, which has not executed
      this.bpDepth = d;
      this.bpPc = this.pc[d];
    }
    const frame = makeFrame(
      d,
      this.pc[d],
      (this.tf ? F_TF : 0) | (this.df ? F_DF : 0) | (this.rf ? F_RF : 0) |
        (this.ifFlag ? F_IF : 0) | this.contextFlags(d),
    );
    this.tf = false;
    this.rf = false;
    this.ifFlag = false;
    const n = this.push(kind);
    this.frameSlot[n] = this.excSlot(n);
    this.slots[this.frameSlot[n]] = frame;
    if (kind === Kind.Pf) this.cr2 = ++this.faultSeq;
    this.checkFrames();
  }

  /**
   * A hardware interrupt at the CPU pins: taken only with IF set (so never inside an NMI,
   * whose gate cleared IF, nor inside a hardirq handler), through an interrupt gate onto the
   * kernel stack (no IST), IF cleared.
   * @param softirqPending softirq work will be pending at its irq_exit
   * @returns false when IF is clear and the interrupt stays pending
   */
  irqArrives(softirqPending: boolean): boolean {
    if (!this.ifFlag || this.depth + 1 >= MAX_DEPTH) return false;
    const d = this.depth;
    const frame = makeFrame(
      d,
      this.pc[d],
      (this.tf ? F_TF : 0) | (this.df ? F_DF : 0) | F_IF | this.contextFlags(d),
    );
    this.tf = false;
    this.rf = false;
    this.ifFlag = false;
    const n = this.push(Kind.Irq);
    this.frameSlot[n] = Slot.Kstack + n;
    this.slots[this.frameSlot[n]] = frame;
    this.softPending[n] = softirqPending ? 1 : 0;
    this.checkFrames();
    return true;
  }

  /** One step of the IRQ activation on top ({@link IRQ_STEPS}). */
  private irqStep(): void {
    const d = this.depth;
    const pc = this.pc[d];
    switch (pc) {
      case 0:
        this.preempt += HARDIRQ_OFFSET;
        break;
      case 2:
        this.preempt -= HARDIRQ_OFFSET;
        if (
          !this.softPending[d] ||
          (this.preempt & (HARDIRQ_MASK | SOFTIRQ_MASK | NMI_MASK)) !== 0
        ) {
          this.pc[d] = IRQ_IRET; // in_interrupt(): the interrupted softirq runs the work
          return;
        }
        break;
      case 3:
        this.preempt += SOFTIRQ_OFFSET;
        this.ifFlag = true;
        break;
      case 5:
        this.ifFlag = false;
        this.preempt -= SOFTIRQ_OFFSET;
        this.softPending[d] = 0;
        break;
      case IRQ_IRET:
        this.iret(this.frameSlot[d]);
        return;
    }
    this.pc[d] = pc + 1;
  }

  /**
   * Push an activation.
   * @param kind its kind
   * @returns its index
   */
  push(kind: KindCode): number {
    if (this.depth + 1 >= MAX_DEPTH) {
      this.crash("activation stack overflow");
      return this.depth;
    }
    const n = ++this.depth;
    this.kind[n] = kind;
    this.pc[n] = 0;
    this.nmiNo[n] = 0;
    this.cr2In[n] = 0;
    this.frameSlot[n] = 0;
    this.softPending[n] = 0;
    return n;
  }

  /**
   * Remove activation `d` (an NMI abandoned at its final iret: the one interrupting it takes over
   * its stack copy, Linus' IRET_RACE / Mathieu's nmi_addr_is_ae). Everything above moves down.
   * @param d activation index
   */
  splice(d: number): void {
    if (this.runExitPending && d === this.runOwner) this.endRunPeriod();
    if (this.runOwner > d) this.runOwner--;
    const inherit = this.cr2In[d];
    const slot = this.frameSlot[d];
    for (let i = d; i < this.depth; i++) {
      this.kind[i] = this.kind[i + 1];
      this.pc[i] = this.pc[i + 1];
      this.nmiNo[i] = this.nmiNo[i + 1];
      this.cr2In[i] = this.cr2In[i + 1];
      this.frameSlot[i] = this.frameSlot[i + 1];
      this.softPending[i] = this.softPending[i + 1];
    }
    this.frameSlot[d] = slot;
    this.depth--;
    this.cr2In[d] = inherit;
  }

  /**
   * iret through a frame slot: unblocks NMIs, resumes the frame's target, then takes a latched
   * NMI. A frame with a zeroed CS faults (#GP) instead, and NMIs are unblocked all the same:
   * "An execution of the IRET instruction unblocks NMIs even if the instruction causes a fault"
   * (Intel SDM vol. 3, 6.7.1). That is why Linus' emulated NMI runs "without us actually
   * having access to the whole NMI blocking that the CPU does for a real NMI" (L3349-3356).
   * @param slot frame slot
   * @returns false if the iret faulted (#GP on a bad CS); the caller jumps to its #GP code
   */
  iret(slot: number): boolean {
    const f = this.slots[slot];
    const top = this.depth;
    if (this.runExitPending && top === this.runOwner && this.kind[top] === Kind.Nmi) {
      this.endRunPeriod(); // the run's final iret (even one that faults) ends its period
    }
    if (f & F_CS_BAD) {
      this.iretFaulted = this.nmiBlocked;
      this.nmiBlocked = false;
      return false;
    }
    const wasBlocked = this.nmiBlocked;
    this.nmiBlocked = false;
    this.resume(f);
    if (this.crashed) return true;
    if (wasBlocked) this.unmasked("iret");
    if (this.latch) {
      this.latch = false;
      this.deliverNmi(this.latchNo);
    }
    return true;
  }

  /**
   * NMIs were just unmasked by an iret: with an NMI still live, the strategy's guard must be
   * armed (no-early-unmask).
   * @param how "iret" or "faulting iret"
   */
  unmasked(how: string): void {
    if (this.innermostNmi() < 0) return;
    this.stats.earlyUnmasks++;
    if (!this.strategy.guardArmed(this)) {
      this.violate(
        "no-early-unmask",
        `${how} unmasked NMIs while ${this.nameOf(this.outermostNmi())} is live and unguarded`,
      );
    }
  }

  /**
   * popf + ret through a frame slot: resumes without touching NMI blocking.
   * @param slot frame slot
   */
  popfRet(slot: number): void {
    const f = this.slots[slot];
    if ((f & F_VALID) && returnsToUserspace(f)) {
      // x86-64 "issue a popf, loads the previous esp and issue a near return (ret)" (L187-189):
      // a near ret cannot leave CPL 0; x86-32 "popf and far return": POPF cannot set
      // EFLAGS.VM and a far return cannot enter vm86. Only iret returns there, which is why
      // Mathieu routes these frames to resume_userspace (L206-209, L309-316).
      this.violate(
        "user-return",
        `popf/ret used to return to ${f & F_VM ? "vm86" : "user space"} from ${
          this.nameOf(this.depth)
        } (only iret can: L187-189, L309-316)`,
      );
      this.crash(`popf/ret into ${f & F_VM ? "vm86" : "user space"}`);
      return;
    }
    this.resume(f);
    this.rf = false; // POPFD does not set RF (Maciej, L796-798)
  }

  /**
   * Resume the target of frame word `f` (pop one level, or jump within the current one).
   * @param f frame word
   */
  resume(f: number): void {
    if (!(f & F_VALID)) {
      this.crash("return through an empty frame slot");
      return;
    }
    const d = frameDepth(f);
    const p = framePc(f);
    const top = this.depth;
    if (d === top - 1) {
      if (this.kind[top] === Kind.Nmi && this.cr2 !== this.cr2In[top]) {
        this.violate(
          "cr2-preserved",
          `${this.nameOf(top)} returns with cr2=${this.cr2}, interrupted code had cr2=${
            this.cr2In[top]
          }`,
        );
      }
      // the popped level's kernel-stack frame is dead stack memory: a later activation at
      // this level writes its own, and a stale copy must not pass for a live frame
      if (this.frameSlot[top] >= Slot.Kstack) this.slots[this.frameSlot[top]] = 0;
      this.depth = d;
    } else if (d !== top) {
      this.crash(`${this.nameOf(top)} returns into a dead context (level ${d})`);
      return;
    }
    this.pc[d] = p;
    this.tf = (f & F_TF) !== 0;
    this.df = (f & F_DF) !== 0;
    this.rf = (f & F_RF) !== 0;
    this.ifFlag = (f & F_IF) !== 0;
    if (!this.latch && this.innermostNmi() < 0) this.endNmiContext(); // left NMI context
  }

  /**
   * Mark the state as garbage.
   * @param msg why
   */
  crash(msg: string): void {
    this.crashed = true;
    this.lastViolation = msg;
    this.stats.crashes++;
  }

  /** ist-frame-live: every live activation's return frame must still exist in some slot. */
  checkFrames(): void {
    for (let d = 1; d <= this.depth; d++) {
      const want = makeFrame(d - 1, this.pc[d - 1]);
      let found = false;
      for (let s = 0; s < NSLOTS; s++) {
        if ((this.slots[s] & (F_VALID | 0xfff)) === want) {
          found = true;
          break;
        }
      }
      if (!found) {
        this.violate(
          "ist-frame-live",
          `return frame of ${this.nameOf(d)} (to ${this.nameOf(d - 1)}) overwritten`,
        );
        this.crashed = true;
        return;
      }
    }
  }

  /**
   * The NMI handler body starts (called by the strategies' handler step). Checks
   * handler-not-nested, and the upper half of nmi-latch: the run must be its blocked period's
   * own run or the one replay its delivered NMIs are owed.
   */
  handlerStart(): void {
    if (this.handlerActive > 0) {
      this.violate("handler-not-nested", "NMI handler entered while another run is in progress");
    }
    if (this.runExitPending) this.endRunPeriod(); // a handler start not marked entersHandler
    this.handlerActive++;
    this.stats.handlerRuns++;
    if (this.unserved > 0) this.unserved--;
    if (this.periodOpen && this.periodRunOwed) this.periodRunOwed = false;
    else if (this.periodOpen && this.replayOwed) {
      this.replayOwed = false; // run early, nested in its period (handler-not-nested says so)
      this.replaysForPeriod = 1;
    } else {
      const n = ++this.replaysForPeriod;
      this.violate(
        "nmi-latch",
        n > 1
          ? `NMI handler replayed ${n} times for the NMIs of one blocked period (at most one)`
          : "handler replayed with no NMI delivered during its blocked period (extra replay)",
      );
    }
    this.runOwner = this.depth;
  }

  /** The NMI handler body ends; its blocked period ends at the run's exit. */
  handlerEnd(): void {
    if (this.handlerActive > 0) this.handlerActive--;
    this.runExitPending = true;
  }

  /** At quiescence (task, nothing latched): every arrival must have been served or merged. */
  quiescentCheck(): void {
    if (this.depth === 0 && !this.latch && this.unserved > 0) {
      this.violate("nmi-latch", `${this.unserved} NMI(s) lost beyond one-bit latch semantics`);
      this.stats.nmisLostBeyondLatch += this.unserved;
      this.unserved = 0;
    }
  }

  /** Execute the next step of the top activation. With TF set, a single-step #DB follows. */
  step(): void {
    const d = this.depth;
    const singleStep = this.tf;
    const k = this.kind[d];
    if (this.bpDepth === d && this.bpPc === this.pc[d] && this.kind[d] === Kind.Nmi) {
      if (!this.rf) {
        // RF was lost on the way back (a nested NMI's popf return): the breakpoint hits again
        this.stats.bpRefires++;
        this.raise(Kind.Ibp);
        return;
      }
      this.bpDepth = -1; // executed under RF: the breakpoint is passed
      this.bpPc = -1;
    }
    if (k === Kind.Nmi) {
      const s = this.strategy.nmi[this.pc[d]];
      if (!s) {
        this.crash(`NMI pc ${this.pc[d]} out of program`);
        return;
      }
      s.exec(this);
      if (this.iretFaulted) {
        // the #GP handler starts with NMIs unblocked: a latched NMI interrupts it at once
        this.iretFaulted = false;
        this.unmasked("faulting iret");
        if (this.latch && !this.crashed) {
          this.latch = false;
          this.deliverNmi(this.latchNo);
        }
      }
      if (
        this.runExitPending && this.depth === d && this.runOwner === d &&
        this.strategy.nmi[this.pc[d]]?.entersHandler
      ) this.endRunPeriod(); // a software replay: the jump back is the run's exit
    } else if (k === Kind.Irq) {
      this.irqStep();
    } else if (k !== Kind.Task) {
      if (this.pc[d] === EXC_BODY) {
        const slot = this.excSlot(d);
        if (k === Kind.Int3) this.slots[slot] |= F_TF; // kprobe: single-step the probed insn
        if (k === Kind.Db) this.slots[slot] &= ~F_TF; // single-step done
        // fault-class #DB returns to the faulting instruction: set RF (L1764-1772)
        if (k === Kind.Ibp) this.slots[slot] |= F_RF;
        this.pc[d] = EXC_EXIT;
      } else {
        this.strategy.exceptionReturn(this, this.excSlot(d));
        const b = this.depth;
        if (
          k === Kind.Ibp && !this.crashed && b === d - 1 && this.bpDepth === b &&
          this.bpPc === this.pc[b] && !this.rf
        ) {
          // the #DB handler's own return dropped RF: every retry does the same
          this.violate(
            "bp-progress",
            `the #DB-insn handler returns to '${this.stepName(b)}' without RF (POPFD does not ` +
              "set RF, L796-798): the breakpoint fires forever",
          );
          this.crash("endless #DB loop on one instruction");
          return;
        }
      }
    }
    if (!this.crashed) this.checkFrames();
    if (this.depth === d && k === Kind.Nmi) this.rf = false; // RF clears after the instruction
    if (singleStep && this.tf && !this.crashed && this.depth === d) this.raise(Kind.Db);
  }
}
