/**
 * `rsp-range`: Linus' %rsp-range nesting test (seed §2.6, L7264-7310): an NMI whose saved %rsp
 * lies in the same 8 KB NMI stack area is nested; it builds a return frame in the interrupted
 * stack's red zone and returns with popf; ret $128. The non-nested NMI copies its frame first
 * (L7407-7475). cr2 is saved (Linus L7581-7583). As sketched, the nested path records no
 * latch (seed-spec [note] §2.6). #DB, int3 and MCE run on their own IST stacks, so an NMI
 * interrupting them is not recognised as nested (Avi, L7363-7373).
 *
 * vars: [0] saved cr2.
 * @module
 */
import { type Cpu, F_SS, Slot, type Strategy } from "../cpu.ts";
import { buildProgram, handlerBody, iretReturn, type StepDef } from "./program.ts";

const defs: StepDef[] = [
  {
    label: "entry",
    name: "nmi: (rsp ^ saved rsp) >> 13 == 0 and saved SS == 0?",
    addr: "entry",
    run(cpu) {
      // "xor %rax,%rdx # same 8kB aligned area?" then "cmpw $0,48(%rsp) # double-check that
      // it really was a nested exception / jne non_nested # from user space or something.."
      // (L7277-7290). A user %rsp may point into the NMI stack; its SS is the user's. But
      // kernel code entered by SYSCALL runs with SS = __KERNEL_DS, and an NMI at CPL 0 does
      // not reload SS, so the double-check also sends a nested NMI over a system call to
      // non_nested (kernel knowledge; the checker's `syscall` context).
      const f = cpu.slots[Slot.NmiIst];
      if (cpu.savedRspInNmiStack(f) && !(f & F_SS)) return "nested";
    },
  },
  {
    label: "copy",
    name: "non_nested: copy 7 words below the IST top, save cr2",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.Copy] = cpu.slots[Slot.NmiIst];
      cpu.vars[0] = cpu.cr2;
    },
  },
  ...handlerBody(),
  {
    label: "rcr2",
    name: "restore cr2",
    addr: "entry",
    run(cpu) {
      cpu.cr2 = cpu.vars[0];
    },
  },
  {
    label: "iret",
    name: "iret through the copy",
    addr: "entry",
    run(cpu) {
      cpu.iret(Slot.Copy);
      return null;
    },
  },
  {
    label: "nested",
    name: "nested: build frame at saved rsp - 160",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.RedZone] = cpu.slots[Slot.NmiIst];
    },
  },
  {
    label: "nestret",
    name: "nested: popf; ret $128 (NMI dropped)",
    addr: "entry",
    run(cpu) {
      cpu.popfRet(Slot.RedZone);
      return null;
    },
  },
];

/** Linus' %rsp-range test. */
export const rspRange: Strategy = {
  name: "rsp-range",
  description: "Linus: saved %rsp in the NMI stack means nested; popf/ret $128 (§2.6)",
  nmi: buildProgram(defs),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed(cpu: Cpu): boolean {
    return cpu.stackOf(cpu.depth) === 1;
  },
};
