/**
 * `avi-two-stacks`: Avi Kivity's two alternating NMI IST stacks (seed §2.5, L7212-7233), as
 * posted:
 *
 * ```
 * nmi:
 *      cmpb $0, %__percpu_seg:nmi_stack_nesting
 *      je unnested_nmi
 *      cmpq $nmi_iret,(%rsp)
 *      jne unnested_nmi
 *      cmpw $__KERNEL_CS,8(%rsp)
 *      jne unnested_nmi
 *      popf
 *      retfq
 * unnested_nmi:
 *      xorq $(nmi_stack_1 ^ nmi_stack_2),%__percpu_seg:tss_nmi_ist_entry
 *      movb $1, __percpu_seg:nmi_stack_nesting
 * regular_nmi:
 *      ...
 * regular_nmi_end:
 *      movb $0, __percpu_seg:nmi_stack_nesting
 * nmi_iret:
 *      iretq
 * ```
 * (L7217-7233). "By trading off some memory, we don't need this trickery" (L7214-7215).
 *
 * Nobody reviewed it in the thread (seed-spec [note] §2.5). What the model shows: every NMI
 * that is not the special case runs the handler, nested, on the other stack, so the handler
 * must be reentrant (handler-not-nested; Frederic's per-context buffers assume contexts do not
 * nest locally, L2650-2651); the nested NMI's `movb $0` clears the flag while the outer NMI is
 * still running; and a third live level lands back on the first stack and overwrites its frame.
 * The special case can only fire with the flag set at `nmi_iret`, which the exit has just
 * cleared, and when it fires the NMI is dropped (popf/retfq, no latch).
 *
 * Assumed beyond the thread: the handler does not save cr2 (the posting does not mention it).
 *
 * vars: [0] nmi_stack_nesting.
 * @module
 */
import { type Cpu, frameDepth, framePc, Kind, Slot, type Strategy } from "../cpu.ts";
import { buildProgram, handlerBody, iretReturn, labelPc, type StepDef } from "./program.ts";

const defs: StepDef[] = [
  {
    label: "entry",
    name: "nmi: nesting && %rip == nmi_iret && CS == __KERNEL_CS?",
    addr: "entry",
    run(cpu) {
      if (cpu.vars[0] === 0) return "unnested";
      const f = cpu.slots[cpu.frameSlot[cpu.depth]];
      const d = frameDepth(f);
      if (cpu.kind[d] === Kind.Nmi && framePc(f) === iretPc) return "special";
      return "unnested";
    },
  },
  {
    label: "special",
    name: "popf; retfq (back to nmi_iret, this NMI dropped)",
    addr: "entry",
    run(cpu) {
      cpu.popfRet(cpu.frameSlot[cpu.depth]);
      return null;
    },
  },
  {
    label: "unnested",
    name: "unnested_nmi: xorq tss_nmi_ist_entry (next NMI on the other stack)",
    addr: "entry",
    run(cpu) {
      cpu.nmiIstSel ^= 1;
    },
  },
  {
    label: "setnest",
    name: "movb $1, nmi_stack_nesting",
    addr: "entry",
    run(cpu) {
      cpu.vars[0] = 1;
    },
  },
  ...handlerBody(),
  {
    label: "clear",
    name: "regular_nmi_end: movb $0, nmi_stack_nesting",
    addr: "entry",
    run(cpu) {
      cpu.vars[0] = 0;
    },
  },
  {
    label: "iret",
    name: "nmi_iret: iretq through this NMI's own stack",
    addr: "entry",
    run(cpu) {
      cpu.iret(cpu.frameSlot[cpu.depth]);
      return null;
    },
  },
];
const iretPc = labelPc(defs, "iret");

/** A nested NMI is safe from overwriting a live frame: the stack it would land on is free. */
function nextStackFree(cpu: Cpu): boolean {
  const slot = cpu.nmiIstSel ? Slot.NmiIst2 : Slot.NmiIst;
  for (let i = 1; i <= cpu.depth; i++) {
    if (cpu.kind[i] === Kind.Nmi && cpu.frameSlot[i] === slot) return false;
  }
  return true;
}

/** Avi's two alternating NMI stacks. */
export const aviTwoStacks: Strategy = {
  name: "avi-two-stacks",
  description: "Avi: two NMI IST stacks, tss.nmi_ist flipped per NMI (L7212-7233)",
  nmi: buildProgram(defs),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: nextStackFree,
};
