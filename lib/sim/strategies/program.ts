/**
 * Helpers to write a strategy's NMI program as labelled atomic steps, and the shared NMI
 * handler body (the perf PMU handler: unwind into the per-context callchain buffer).
 * @module
 */
import { type AddrClass, type Cpu, NMI_MASK, type Step } from "../cpu.ts";

/** One labelled step definition. `run` returns the label to jump to, or nothing to fall through,
 * or `null` when a hardware operation (iret, popf/ret) already set the pc. */
export interface StepDef {
  /** Jump label (unique within the program). */
  readonly label: string;
  /** Readable step name used in traces. */
  readonly name: string;
  /** Address class (for Mathieu's range test). */
  readonly addr: AddrClass;
  /** An exception may be raised instead of completing this step. */
  readonly faultable?: boolean;
  /** First step of the handler body (see {@link Step.entersHandler}). */
  readonly entersHandler?: boolean;
  /** Do the step. */
  run(cpu: Cpu): string | null | void;
}

/** Error for a malformed step program. */
export class ProgramError extends Error {
  /**
   * Build the error.
   * @param message what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "ProgramError";
  }
}

/**
 * Resolve labels and build the step array.
 * @param defs step definitions in address order
 * @returns the program
 * @throws {ProgramError} on duplicate or unknown labels
 */
export function buildProgram(defs: readonly StepDef[]): Step[] {
  const at = new Map<string, number>();
  defs.forEach((d, i) => {
    if (at.has(d.label)) throw new ProgramError(`duplicate label ${d.label} at step ${i}`);
    at.set(d.label, i);
  });
  return defs.map((d, i): Step => ({
    name: d.name,
    addr: d.addr,
    faultable: d.faultable,
    entersHandler: d.entersHandler,
    exec(cpu: Cpu): void {
      const r = d.run(cpu);
      if (r === null) return;
      const top = cpu.depth;
      if (r === undefined) {
        cpu.pc[top] = i + 1;
        return;
      }
      const target = at.get(r);
      if (target === undefined) throw new ProgramError(`unknown label ${r} in step ${i}`);
      cpu.pc[top] = target;
    },
  }));
}

/**
 * Find a label's pc in a definition list.
 * @param defs step definitions
 * @param label label
 * @returns its index
 * @throws {ProgramError} if absent
 */
export function labelPc(defs: readonly StepDef[], label: string): number {
  const i = defs.findIndex((d) => d.label === label);
  if (i < 0) throw new ProgramError(`unknown label ${label}`);
  return i;
}

/** Hook the simulator installs to observe handler runs (unwind + sample emission). */
export type HandlerHook = (cpu: Cpu, phase: "start" | "end") => void;

const hooks = new WeakMap<Cpu, HandlerHook>();

/**
 * Install a handler hook on a CPU.
 * @param cpu the CPU
 * @param hook called at handler start and end
 */
export function setHandlerHook(cpu: Cpu, hook: HandlerHook): void {
  hooks.set(cpu, hook);
}

/**
 * The NMI handler body shared by all strategies: nmi_enter (NMI_MASK), the PMU handler
 * writing the callchain buffer (may #PF on a vmalloc'd buffer) and reading the user stack or
 * patched code (int3 / data breakpoint), nmi_exit.
 * @param prefix label prefix
 * @param after label to continue at, or undefined to fall through
 * @returns four step definitions
 */
export function handlerBody(prefix = "h", after?: string): StepDef[] {
  return [
    {
      label: `${prefix}.start`,
      name: "handler: nmi_enter, start PMU handler",
      addr: "c",
      entersHandler: true,
      run(cpu) {
        cpu.interruptedPreempt = cpu.preempt;
        cpu.preempt |= NMI_MASK; // NMI_BITS is 1: nmi_enter BUG_ONs on in_nmi()
        cpu.handlerStart();
        hooks.get(cpu)?.(cpu, "start");
      },
    },
    {
      label: `${prefix}.touch1`,
      name: "handler: write per-cpu callchain buffer",
      addr: "c",
      faultable: true,
      run() {},
    },
    {
      label: `${prefix}.touch2`,
      name: "handler: walk user stack / run patched code",
      addr: "c",
      faultable: true,
      run() {},
    },
    {
      label: `${prefix}.end`,
      name: "handler: nmi_exit",
      addr: "c",
      run(cpu) {
        cpu.preempt &= ~NMI_MASK;
        cpu.handlerEnd();
        hooks.get(cpu)?.(cpu, "end");
        return after;
      },
    },
  ];
}

/**
 * Exception return with a plain iret (every strategy except popf-ret).
 * @param cpu the CPU
 * @param slot the exception's frame slot
 */
export function iretReturn(cpu: Cpu, slot: number): void {
  cpu.iret(slot);
}
