/**
 * `popf-ret`: Mathieu's patch 2/2 (seed §2.1, L172-715). Exceptions returning to kernel code
 * while `preempt_count & NMI_MASK` return with popf+ret, so NMIs stay blocked; a frame with TF
 * set falls back to iret ("it will reactivate NMIs prematurely", L197-204), and so does a frame
 * to user space or vm86 (the EFLAGS.VM | CS RPL test, L309-316). The NMI itself is
 * unchanged and, as posted, does not save cr2.
 * @module
 */
import { type Cpu, F_TF, NMI_MASK, returnsToUserspace, type Strategy } from "../cpu.ts";
import { naiveIret } from "./naive_iret.ts";

/** Mathieu's popf/ret exception return. */
export const popfRet: Strategy = {
  name: "popf-ret",
  description: "Mathieu 2/2: popf+ret from exceptions in NMI, iret when TF is set (§2.1)",
  nmi: naiveIret.nmi,
  x86_32: true,
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn(cpu: Cpu, slot: number): void {
    const f = cpu.slots[slot];
    // ret_from_exception (L309-316): "jae resume_userspace # returning to v8086 or userspace",
    // the EFLAGS.VM | CS RPL test; only the return to kernel tests NMI_MASK (L206-209)
    if (returnsToUserspace(f)) cpu.iret(slot);
    else if ((cpu.preempt & NMI_MASK) !== 0 && (f & F_TF) === 0) cpu.popfRet(slot);
    else cpu.iret(slot);
  },
  guardArmed: () => false,
};
