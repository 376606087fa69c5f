/**
 * Linus' v2 (seed §2.3, L1985-2090, code L3210-3322): a per-cpu nesting flag, a copy of the
 * hardware frame below the IST top, a nested NMI that zeroes the copy's CS (so the outer
 * NMI's final iret faults and the #GP handler replays the NMI) and returns with popf/jmp, and
 * a %rip test for an NMI that hits the final iret.
 *
 * Two variants:
 * - `rip-at-iret`: the code as posted. IRET_RACE jumps to the handler past the point that sets
 *   the nesting flag (seed-spec [note] §2.3), and cr2 is not saved. It also keeps the copy
 *   whose CS an earlier nested NMI zeroed, so the racing NMI's handler run (the replay) is
 *   followed by a faulting final iret and a second #GP replay: two replays for one blocked
 *   period (nmi-latch; the per-period replay count in `cpu.ts` finds it).
 * - `linus-v2`: the repaired reading: IRET_RACE re-arms the flag, cr2 is saved (Linus,
 *   L7581-7583), the #GP replay sets flag and CS atomically (cmpxchg16b, L3349-3362), and the
 *   entry %rip test also covers the #GP fixup instruction. Without that last repair the checker
 *   finds NMI -> #PF -> NMI (nested, CS zeroed) -> #PF iret unmasks -> final iret faults with
 *   nesting already 0 -> NMI in the #GP fixup is taken as a first NMI and overwrites the copy:
 *   the "fake NMI running unblocked" gap Linus names at L3349-3362.
 *
 * vars: [0] nesting, [1] saved cr2.
 * @module
 */
import {
  type Cpu,
  F_CS_BAD,
  frameDepth,
  framePc,
  Kind,
  makeFrame,
  Slot,
  type Strategy,
} from "../cpu.ts";
import { buildProgram, handlerBody, iretReturn, labelPc, type StepDef } from "./program.ts";

function defsFor(posted: boolean): StepDef[] {
  const defs: StepDef[] = [
    {
      label: "entry",
      name: "entry: test nesting flag and %rip == nmi_iret",
      addr: "entry",
      run(cpu) {
        if (cpu.vars[0] !== 0) return "nested";
        const f = cpu.slots[Slot.NmiIst];
        const d = frameDepth(f);
        if (cpu.kind[d] !== Kind.Nmi) return;
        const p = framePc(f);
        if (p === iretPc || (!posted && p === gpPc)) return "race";
      },
    },
    {
      label: "copy",
      name: "copy hardware frame below IST top",
      addr: "entry",
      run(cpu) {
        cpu.slots[Slot.Copy] = cpu.slots[Slot.NmiIst];
        if (!posted) cpu.vars[1] = cpu.cr2;
      },
    },
    {
      label: "setnest",
      name: "nmi_stack_ptr = rsp; nesting = 0xff",
      addr: "entry",
      run(cpu) {
        cpu.vars[0] = 1;
      },
    },
    ...handlerBody(),
    {
      label: "rcr2",
      name: posted ? "restore registers" : "restore cr2",
      addr: "entry",
      run(cpu) {
        if (!posted) cpu.cr2 = cpu.vars[1];
      },
    },
    {
      label: "clear",
      name: "nesting = 0",
      addr: "entry",
      run(cpu) {
        cpu.vars[0] = 0;
      },
    },
    {
      label: "iret",
      name: "nmi_iret: iret through the copy",
      addr: "entry",
      run(cpu) {
        return cpu.iret(Slot.Copy) ? null : "gp";
      },
    },
    {
      label: "race",
      name: posted
        ? "IRET_RACE: rsp = nmi_stack_ptr, goto REGULAR (flag left clear)"
        : "IRET_RACE: rsp = nmi_stack_ptr, nesting = 0xff",
      addr: "entry",
      run(cpu) {
        cpu.splice(cpu.depth - 1);
        if (!posted) {
          cpu.vars[0] = 1;
          cpu.slots[Slot.Copy] &= ~F_CS_BAD; // this NMI is the pending replay
        }
        return "h.start";
      },
    },
    {
      label: "nested",
      name: "NESTED: save CS, zero the copy's CS",
      addr: "entry",
      run(cpu) {
        cpu.slots[Slot.Copy] |= F_CS_BAD;
      },
    },
    {
      label: "nestret",
      name: "NESTED: popf; jmp back (NMIs stay blocked)",
      addr: "entry",
      run(cpu) {
        cpu.popfRet(Slot.NmiIst);
        return null;
      },
    },
    {
      label: "gp",
      name: "#GP on iret: restore CS, nesting = 0xff (atomic)",
      addr: "entry",
      run(cpu) {
        cpu.slots[Slot.Copy] &= ~F_CS_BAD;
        cpu.vars[0] = 1;
      },
    },
    {
      label: "gpiret",
      name: "#GP handler: iret into REGULAR (emulated NMI)",
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
  return defs;
}

const probe = defsFor(false);
const iretPc = labelPc(probe, "iret");
const hStartPc = labelPc(probe, "h.start");
const gpPc = labelPc(probe, "gp");

function guard(cpu: Cpu): boolean {
  if (cpu.vars[0] !== 0) return true;
  const n = cpu.innermostNmi();
  return n >= 0 && n === cpu.depth && cpu.pc[n] === iretPc;
}

/** Linus v2 with the posted races repaired. */
export const linusV2: Strategy = {
  name: "linus-v2",
  description: "Linus v2: nesting flag + stack copy + faulting-iret replay, repaired (§2.3)",
  nmi: buildProgram(defsFor(false)),
  vmallocBuffers: true,
  syncLatencyNs: 0,
  exceptionReturn: iretReturn,
  guardArmed: guard,
};

/** Linus v2 exactly as posted: the %rip test at the final iret and IRET_RACE skipping the flag. */
export const ripAtIret: Strategy = {
  name: "rip-at-iret",
  description: "Linus v2 as posted: %rip test at the final iret, IRET_RACE skips the flag (§2.3)",
  nmi: buildProgram(defsFor(true)),
  vmallocBuffers: true,
  syncLatencyNs: 0,
  exceptionReturn: iretReturn,
  guardArmed: guard,
};
