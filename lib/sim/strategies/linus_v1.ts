/**
 * `linus-v1`: Linus' first "software NMI disable" (seed §2.2, L999-1030), exactly as sketched:
 *
 * > Hav ea per-cpu variable (in the _core_ percpu areas that get allocated statically) that
 * > points to the NMI stack frame ... NMI entry: load percpu NMI stack frame pointer; if
 * > non-zero we know we're nested ... before the popf/iret, use the NMI stack pointer to make
 * > the NMI return stack be invalid and cause a fault; set the NMI stack pointer to the
 * > current stack pointer. NMI exit: clear the percpu NMI stack pointer; Just do the iret.
 * > (L1002-1015)
 *
 * The pointer points at the hardware frame at the IST top, not at a copy. Ingo's objection
 * (L1147-1152): "at this point [NMI re-entry] we've corrupted the top of the NMI kernel stack
 * already, due to entering via the IST stack mechanism, which is non-nesting and which enters
 * at the same point". The checker shows it as the shortest counter-example: the nested NMI's
 * delivery overwrites the frame `nmi_frame` points at, before any of its code runs. Linus'
 * answer, "subtract a small bit off %rsp, and copy the three words or so" (L1226-1229), is
 * `linus-v2-posted` (its first posting copies the frame, L2060-2066).
 *
 * Assumed beyond the thread: the iret-fault handler ("we'll take a fault, and that re-does our
 * 'delayed' NMI", L1018-1020) is not written in the thread; here it restores the frame and
 * irets into the handler (an emulated NMI). cr2 is not saved (v1 does not mention it).
 *
 * vars: [0] nmi_frame (0 NULL, 1 points at the IST frame).
 * @module
 */
import { F_CS_BAD, makeFrame, Slot, type Strategy } from "../cpu.ts";
import { buildProgram, handlerBody, iretReturn, labelPc, type StepDef } from "./program.ts";

const defs: StepDef[] = [
  {
    label: "entry",
    name: "nmi: load percpu nmi_frame; non-zero means nested",
    addr: "entry",
    run(cpu) {
      if (cpu.vars[0] !== 0) return "nested";
    },
  },
  {
    label: "set",
    name: "nmi_frame = &IST frame (no copy)",
    addr: "entry",
    run(cpu) {
      cpu.vars[0] = 1;
    },
  },
  ...handlerBody(),
  {
    label: "clear",
    name: "NMI exit: nmi_frame = NULL",
    addr: "entry",
    run(cpu) {
      cpu.vars[0] = 0;
    },
  },
  {
    label: "iret",
    name: "iret through the IST frame (faults if a nested NMI invalidated it)",
    addr: "entry",
    run(cpu) {
      return cpu.iret(Slot.NmiIst) ? null : "gp";
    },
  },
  {
    label: "nested",
    name: "nested: make *nmi_frame invalid (CS = 0)",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.NmiIst] |= F_CS_BAD;
    },
  },
  {
    label: "nestret",
    name: "nested: popf/ret (NMIs stay blocked)",
    addr: "entry",
    run(cpu) {
      cpu.popfRet(Slot.NmiIst);
      return null;
    },
  },
  {
    label: "gp",
    name: "[iret fault handler, not in the thread] restore the frame, nmi_frame = &frame",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.NmiIst] &= ~F_CS_BAD;
      cpu.vars[0] = 1;
    },
  },
  {
    label: "gpiret",
    name: "[iret fault handler] iret into the NMI handler (the 'delayed' NMI)",
    addr: "entry",
    run(cpu) {
      const s = Slot.Kstack + cpu.depth;
      cpu.slots[s] = makeFrame(cpu.depth, hStartPc);
      cpu.iret(s);
      cpu.slots[s] = 0;
      return null;
    },
  },
];
const hStartPc = labelPc(defs, "h.start");

/** Linus' v1: per-cpu pointer at the IST frame, faulting iret. */
export const linusV1: Strategy = {
  name: "linus-v1",
  description: "Linus v1: per-cpu nmi_frame pointer at the IST frame, faulting iret (L999-1030)",
  nmi: buildProgram(defs),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: (cpu) => cpu.vars[0] !== 0,
};
