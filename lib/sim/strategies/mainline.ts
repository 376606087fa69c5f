/**
 * `mainline`: the 2012 x86-64 nested-NMI algorithm (anchors A5: "NMI executing" word,
 * first_nmi / nested_nmi / repeat_nmi / end_repeat_nmi, the DF trick) with the C-level cr2
 * save/restore of `exc_nmi`.
 *
 * vars: [0] "NMI executing", [1] saved cr2.
 * @module
 */
import {
  type Cpu,
  F_DF,
  F_USER,
  frameDepth,
  framePc,
  Kind,
  makeFrame,
  Slot,
  type Strategy,
} from "../cpu.ts";
import { buildProgram, handlerBody, iretReturn, labelPc, type StepDef } from "./program.ts";

const defs: StepDef[] = [
  {
    label: "entry",
    name: "nmi: user CS? test repeat range, 'NMI executing', DF on NMI stack",
    addr: "entry",
    run(cpu) {
      const f = cpu.slots[Slot.NmiIst];
      const d = frameDepth(f);
      const p = framePc(f);
      // "If %cs was not the kernel segment, then the NMI triggered in user space, which means
      // it is definitely not nested" (anchors A5): a user %rsp and DF prove nothing
      if (f & F_USER) return;
      if (cpu.kind[d] === Kind.Nmi && p >= repeatPc && p < endRepeatPc) return "justiret";
      if (cpu.vars[0] === 1) return "nested";
      if (cpu.savedRspInNmiStack(f) && (f & F_DF) !== 0) return "nested";
    },
  },
  {
    label: "first",
    name: "first_nmi: outermost frame := copy(original)",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.Outer] = cpu.slots[Slot.NmiIst];
    },
  },
  {
    label: "repeat",
    name: "repeat_nmi: 'NMI executing' := 1",
    addr: "entry",
    run(cpu) {
      cpu.vars[0] = 1;
    },
  },
  {
    label: "copyiret",
    name: "iret frame := copy(outermost)",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.Copy] = cpu.slots[Slot.Outer];
    },
  },
  {
    label: "savecr2",
    name: "end_repeat_nmi: exc_nmi saves cr2",
    addr: "entry",
    run(cpu) {
      cpu.vars[1] = cpu.cr2;
    },
  },
  ...handlerBody(),
  {
    label: "rcr2",
    name: "exc_nmi: write back cr2 if changed",
    addr: "entry",
    run(cpu) {
      if (cpu.cr2 !== cpu.vars[1]) cpu.cr2 = cpu.vars[1];
    },
  },
  {
    label: "std",
    name: "std (DF marks the exit window)",
    addr: "entry",
    run(cpu) {
      cpu.df = true;
    },
  },
  {
    label: "clrexec",
    name: "'NMI executing' := 0",
    addr: "entry",
    run(cpu) {
      cpu.vars[0] = 0;
    },
  },
  {
    label: "iret",
    name: "iret through the iret frame",
    addr: "entry",
    run(cpu) {
      cpu.iret(Slot.Copy);
      return null;
    },
  },
  {
    label: "nested",
    name: "nested_nmi: iret frame := repeat_nmi",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.Copy] = makeFrame(cpu.outermostNmi(), repeatPc);
    },
  },
  {
    label: "nestediret",
    name: "nested_nmi: iret back",
    addr: "entry",
    run(cpu) {
      cpu.iret(Slot.NmiIst);
      return null;
    },
  },
  {
    label: "justiret",
    name: "hit repeat range: iret back",
    addr: "entry",
    run(cpu) {
      cpu.iret(Slot.NmiIst);
      return null;
    },
  },
];

const repeatPc = labelPc(defs, "repeat");
const endRepeatPc = labelPc(defs, "savecr2");

function guard(cpu: Cpu): boolean {
  if (cpu.vars[0] === 1) return true;
  const n = cpu.innermostNmi();
  if (n < 0 || n !== cpu.depth) return false;
  return cpu.df || (cpu.pc[n] >= repeatPc && cpu.pc[n] < endRepeatPc);
}

/** The 2012 mainline algorithm. */
export const mainline: Strategy = {
  name: "mainline",
  description: "2012 mainline: 'NMI executing' + repeat_nmi + DF window (anchors A5)",
  nmi: buildProgram(defs),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: guard,
};
