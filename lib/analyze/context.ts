/**
 * The execution context a sample interrupted (task, softirq, hardirq, NMI), told from the
 * kernel symbols of its callchain: perf records carry no context field, but the interrupt
 * entry code a context runs on is always on the stack. The innermost (leaf-most) entry frame
 * decides, so a softirq running on an interrupt's exit path counts as softirq.
 *
 * @module
 */
import type { FrameRef, SampleContext } from "./profile.ts";

/** Kernel functions that run a context's handlers, by context (x86-64, Linux 5.x-6.x names). */
export const CONTEXT_ENTRY_SYMBOLS: Readonly<
  Record<Exclude<SampleContext, "task">, readonly string[]>
> = {
  nmi: [
    "exc_nmi",
    "asm_exc_nmi",
    "default_do_nmi",
    "nmi_handle",
    "do_nmi",
    "perf_event_nmi_handler",
  ],
  hardirq: [
    "__handle_irq_event_percpu",
    "handle_irq_event_percpu",
    "handle_irq_event",
    "__sysvec_apic_timer_interrupt",
    "hrtimer_interrupt",
    "__sysvec_call_function_single",
    "__sysvec_irq_work",
    "common_interrupt",
    "asm_common_interrupt",
  ],
  softirq: ["__do_softirq", "handle_softirqs", "do_softirq"],
};

const BY_NAME = new Map<string, SampleContext>();
for (const ctx of ["softirq", "hardirq", "nmi"] as const) {
  for (const name of CONTEXT_ENTRY_SYMBOLS[ctx]) BY_NAME.set(name, ctx);
}

/**
 * The context of a sample from its resolved frames.
 *
 * @param frames Frames, leaf first.
 * @returns The innermost context whose entry code is on the stack; "task" when none is.
 * @example
 * ```ts
 * import { inferContext } from "./context.ts";
 * const f = (sym: string) => ({ sym, kernel: true });
 * console.log(inferContext([f("ip_rcv"), f("__do_softirq"), f("common_interrupt")])); // "softirq"
 * ```
 */
export function inferContext(frames: readonly FrameRef[]): SampleContext {
  for (const f of frames) {
    if (!f.kernel || f.sym === undefined) continue;
    const ctx = BY_NAME.get(f.sym);
    if (ctx !== undefined) return ctx;
  }
  return "task";
}
