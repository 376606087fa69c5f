/**
 * Linus' v2 (seed §2.3): a copy of the hardware frame below the IST top, a nested NMI that
 * zeroes the copy's CS (so the outer NMI's final iret faults and the fault handler replays the
 * NMI) and returns with popf/jmp. Three variants, from the first sketch to the repaired code:
 *
 * - `linus-v2-posted` (L2050-2090, the first posting, one variable): "check if the NMI was
 *   nested, by looking at whether the percpu nmi-stack-pointer is non-NULL", copy "the five
 *   words that the NMI pushed" ("6* pushq 48(%rsp)"), `movq %rsp,nmi_stack_ptr`, and the exit
 *   `movl $0,%__percpu_seg:nmi_stack_ptr; iret`. No %rip check: Linus names the window
 *   himself ("There is a single-instruction window ... between the two final instructions",
 *   L2073-2080) and Mathieu spells the failure out (L2370-2396): "if an NMI comes in after the
 *   movl instruction, it will not detect that it is nested and will re-use the percpu
 *   nmi_stack_ptr stack". This is also Linus' answer to Ingo's objection to v1 ("subtract a
 *   small bit off %rsp, and copy the three words or so", L1226-1229): see `linus_v1.ts`.
 * - `rip-at-iret` (L3210-3322, the code "with the %rip in place"): a nesting byte plus the
 *   pointer, `cmpq $nmi_iret_address,0(%rsp)` at entry, IRET_RACE as posted. Two things are
 *   not Linus' code and are labelled so in every step name: (1) IRET_RACE as posted jumps to
 *   regular_nmi_code past the point that sets the nesting flag (seed-spec [note] §2.3), kept;
 *   (2) the iret-fault (#GP) handler. Linus never wrote one: "I didn't fill in the iret fault
 *   details, because I thought that would be trivial" (L3344-3347), then "We want to set up
 *   that same nesting code for the faked NMI call, but now I made it be two separate
 *   variables, and they need to be set in an NMI-safe way without us actually having access
 *   to the whole NMI blocking" (L3349-3356). The project's #GP handler does the obvious thing
 *   non-atomically, one store per step, with NMIs already unblocked by the faulting iret
 *   (Intel SDM 6.7.1), so the checker explores an NMI between the stores. cr2 is not saved.
 * - `linus-v2`: the repaired reading. IRET_RACE re-arms the flag and restores the copy's CS
 *   (the racing NMI is the pending replay); cr2 is saved (Linus, L7581-7583); the #GP handler
 *   sets CS and the flag in one atomic step ("make the two percpu values adjacent, and use
 *   cmpxchg16b", L3358-3360); and the entry %rip test also covers the #GP handler's entry,
 *   before that cmpxchg16b (like the sysenter fixup Linus cites, L2579-2582). Without the last
 *   repair an NMI at the #GP entry is taken as a first NMI and overwrites the copy.
 *
 * vars: [0] nesting (the pointer itself in `linus-v2-posted`), [1] saved cr2.
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

/** Which reading of Linus' v2. */
type Variant = "posted" | "rip" | "repaired";

/** The project's #GP handler (Linus left it unwritten, L3344-3347). */
const GP = "[#GP handler, not in the thread: L3344]";

function defsFor(v: Variant): StepDef[] {
  const repaired = v === "repaired";
  const gp: StepDef[] = repaired
    ? [
      {
        label: "gp",
        name: "#GP on iret: cmpxchg16b {CS restored, nesting = 0xff} (atomic, L3358-3360)",
        addr: "entry",
        run(cpu) {
          cpu.slots[Slot.Copy] &= ~F_CS_BAD;
          cpu.vars[0] = 1;
        },
      },
    ]
    : [
      {
        label: "gp",
        name: `${GP} restore CS from C[40]`,
        addr: "entry",
        run(cpu) {
          cpu.slots[Slot.Copy] &= ~F_CS_BAD;
        },
      },
      {
        label: "gpflag",
        name: v === "posted"
          ? `${GP} nmi_stack_ptr = copy`
          : `${GP} nesting = 0xff (a second store, L3349-3356)`,
        addr: "entry",
        run(cpu) {
          cpu.vars[0] = 1;
        },
      },
    ];
  return [
    {
      label: "entry",
      name: v === "posted"
        ? "nmi: nmi_stack_ptr != NULL? (no %rip check)"
        : "nmi: nesting flag? %rip == nmi_iret_address?",
      addr: "entry",
      run(cpu) {
        if (cpu.vars[0] !== 0) return "nested";
        if (v === "posted") return;
        const f = cpu.slots[Slot.NmiIst];
        const d = frameDepth(f);
        if (cpu.kind[d] !== Kind.Nmi) return;
        const p = framePc(f);
        if (p === iretPc[v] || (repaired && p === gpPc[v])) return "race";
      },
    },
    {
      label: "copy",
      name: v === "posted"
        ? "6* pushq 48(%rsp): copy the hardware frame"
        : "subq $64,%rsp; 5* pushq 96(%rsp): copy the hardware frame" +
          (repaired ? ", save cr2" : ""),
      addr: "entry",
      run(cpu) {
        cpu.slots[Slot.Copy] = cpu.slots[Slot.NmiIst];
        if (repaired) cpu.vars[1] = cpu.cr2;
      },
    },
    {
      label: "setnest",
      name: v === "posted"
        ? "movq %rsp,nmi_stack_ptr"
        : "movq %rsp,nmi_stack_ptr; movb $0xff,nmi_stack_nesting",
      addr: "entry",
      run(cpu) {
        cpu.vars[0] = 1;
      },
    },
    ...handlerBody(),
    {
      label: "rcr2",
      name: repaired ? "restore cr2" : "restore registers (cr2 not saved)",
      addr: "entry",
      run(cpu) {
        if (repaired) cpu.cr2 = cpu.vars[1];
      },
    },
    {
      label: "clear",
      name: v === "posted" ? "movl $0,nmi_stack_ptr" : "nmi_exit: movb $0,nmi_stack_nesting",
      addr: "entry",
      run(cpu) {
        cpu.vars[0] = 0;
      },
    },
    {
      label: "iret",
      name: "nmi_iret_address: iret through the copy (faults if CS was zeroed)",
      addr: "entry",
      run(cpu) {
        return cpu.iret(Slot.Copy) ? null : "gp";
      },
    },
    ...(v === "posted" ? [] : [{
      label: "race",
      name: repaired
        ? "nmi_might_be_nested: rsp = nmi_stack_ptr, nesting = 0xff, CS restored"
        : "nmi_might_be_nested: rsp = nmi_stack_ptr; jmp regular_nmi_code (flag left clear)",
      addr: "entry",
      run(cpu: Cpu) {
        cpu.splice(cpu.depth - 1);
        if (repaired) {
          cpu.vars[0] = 1;
          cpu.slots[Slot.Copy] &= ~F_CS_BAD; // this NMI is the pending replay
        }
        return "h.start";
      },
    } as StepDef]),
    {
      label: "nested",
      name: "nmi_nested_corrupt_and_return: save CS in C[40], zero the copy's CS",
      addr: "entry",
      run(cpu) {
        cpu.slots[Slot.Copy] |= F_CS_BAD;
      },
    },
    {
      label: "nestret",
      name: "popfq; jmp *(%rsp) (NMIs stay blocked)",
      addr: "entry",
      run(cpu) {
        cpu.popfRet(Slot.NmiIst);
        return null;
      },
    },
    ...gp,
    {
      label: "gpiret",
      name: repaired
        ? "#GP handler: iret into regular_nmi_code (emulated NMI)"
        : `${GP} iret into regular_nmi_code (emulated NMI)`,
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
}

const VARIANTS: readonly Variant[] = ["posted", "rip", "repaired"];
const iretPc = {} as Record<Variant, number>;
const gpPc = {} as Record<Variant, number>;
for (const v of VARIANTS) {
  const d = defsFor(v);
  iretPc[v] = labelPc(d, "iret");
  gpPc[v] = labelPc(d, "gp");
}
const hStartPc = labelPc(defsFor("posted"), "h.start");
if (VARIANTS.some((v) => labelPc(defsFor(v), "h.start") !== hStartPc)) {
  throw new Error("linus_v2: handler start differs between variants");
}

function guardFor(v: Variant): (cpu: Cpu) => boolean {
  return (cpu) => {
    if (cpu.vars[0] !== 0) return true;
    if (v === "posted") return false;
    const n = cpu.innermostNmi();
    if (n < 0 || n !== cpu.depth) return false;
    return cpu.pc[n] === iretPc[v] || (v === "repaired" && cpu.pc[n] === gpPc[v]);
  };
}

/** Linus v2 with the posted races repaired. */
export const linusV2: Strategy = {
  name: "linus-v2",
  description: "Linus v2 repaired: flag + copy + faulting-iret replay, atomic #GP set-up (§2.3)",
  nmi: buildProgram(defsFor("repaired")),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: guardFor("repaired"),
};

/** Linus v2 as first posted (L2050-2090): one pointer, frame copy, no %rip check. */
export const linusV2Posted: Strategy = {
  name: "linus-v2-posted",
  description: "Linus v2 first posting: nmi_stack_ptr + copy, no %rip check (L2050-2090)",
  nmi: buildProgram(defsFor("posted")),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: guardFor("posted"),
};

/** Linus v2 code with the %rip check (L3210-3322); #GP handler the project's, non-atomic. */
export const ripAtIret: Strategy = {
  name: "rip-at-iret",
  description: "Linus v2 code with the %rip check (L3210-3322); #GP handler ours, non-atomic",
  nmi: buildProgram(defsFor("rip")),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: guardFor("rip"),
};
