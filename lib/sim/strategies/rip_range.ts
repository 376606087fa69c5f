/**
 * `rip-range`: Mathieu's variant as posted (seed §2.4, L4381-4500): a nesting flag, a
 * need_fake_nmi flag replayed by jumping back, a fixed stack copy holding cr2, and an
 * exit region nmi_atomic..nmi_atomic_end recognised by the interrupted %rip.
 *
 * As posted, any %rip >= nmi_atomic goes to the range test, and %rip >= nmi_atomic_end jumps
 * straight to the unnested path without looking at the nesting flag (seed-spec [note] §2.4).
 * [note] The C handler and the fault handlers are linked after entry_64.S, so their code
 * sits above nmi_atomic_end (address class "c").
 *
 * `rip-range-fixed` repairs only that entry test (a true range, the flag test for everything
 * else), so the rest of the design is checked, not only its first hole: Linus called any %rip
 * test other than the final iret "totally bogus" (L4529-4533), Mathieu answered that the region
 * covers only call-free exit code and the flag covers the rest (L4663-4672).
 *
 * vars: [0] nesting, [1] need_fake_nmi, [2] cr2 saved in the copy.
 * @module
 */
import {
  type AddrClass,
  type Cpu,
  frameDepth,
  framePc,
  Kind,
  Slot,
  type Strategy,
} from "../cpu.ts";
import { buildProgram, handlerBody, iretReturn, type StepDef } from "./program.ts";

function addrOfFrame(cpu: Cpu, f: number): AddrClass | "task" {
  const d = frameDepth(f);
  const k = cpu.kind[d];
  if (k === Kind.Task) return "task";
  if (k === Kind.Nmi) return cpu.strategy.nmi[framePc(f)]?.addr ?? "c";
  return "c";
}

const defs: StepDef[] = [
  {
    label: "entry",
    name: "nmi: %rip >= nmi_atomic? nesting flag?",
    addr: "entry",
    run(cpu) {
      const a = addrOfFrame(cpu, cpu.slots[Slot.NmiIst]);
      if (a === "atomic" || a === "c") return "ae";
      if (cpu.vars[0] !== 0) return "nestfake";
      return "unnested";
    },
  },
  {
    label: "ae",
    name: "nmi_addr_is_ae: %rip >= nmi_atomic_end -> is_unnested_nmi",
    addr: "entry",
    run(cpu) {
      const a = addrOfFrame(cpu, cpu.slots[Slot.NmiIst]);
      return a === "c" ? "unnested" : "athit";
    },
  },
  {
    label: "unnested",
    name: "is_unnested_nmi: copy frame + cr2 to nmi_stack_copy",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.Copy] = cpu.slots[Slot.NmiIst];
      cpu.vars[2] = cpu.cr2;
    },
  },
  {
    label: "setnest",
    name: "set_nmi_nesting: nesting = 0xff",
    addr: "entry",
    run(cpu) {
      cpu.vars[0] = 1;
    },
  },
  ...handlerBody(),
  {
    label: "atomic",
    name: "nmi_atomic: need_fake_nmi?",
    addr: "atomic",
    run(cpu) {
      if (cpu.vars[1] !== 0) return "fake";
    },
  },
  {
    label: "clrnest",
    name: "nesting = 0",
    addr: "atomic",
    run(cpu) {
      cpu.vars[0] = 0;
    },
  },
  {
    label: "rcr2",
    name: "restore cr2 from the copy",
    addr: "atomic",
    run(cpu) {
      cpu.cr2 = cpu.vars[2];
    },
  },
  {
    label: "iret",
    name: "iret through the copy",
    addr: "atomic",
    run(cpu) {
      cpu.iret(Slot.Copy);
      return null;
    },
  },
  {
    label: "fake",
    name: "fake_nmi: need_fake_nmi = 0, jmp regular_nmi_code",
    addr: "atomic",
    run(cpu) {
      cpu.vars[1] = 0;
      return "h.start";
    },
  },
  {
    label: "athit",
    name: "hit exit region: rsp = copy, need_fake_nmi = 0",
    addr: "entry",
    run(cpu) {
      cpu.splice(cpu.depth - 1);
      cpu.vars[1] = 0;
      return "setnest";
    },
  },
  {
    label: "nestfake",
    name: "nested: need_fake_nmi = 0xff",
    addr: "entry",
    run(cpu) {
      cpu.vars[1] = 1;
    },
  },
  {
    label: "nestret",
    name: "nested: popfq; jmp back",
    addr: "entry",
    run(cpu) {
      cpu.popfRet(Slot.NmiIst);
      return null;
    },
  },
];

/**
 * The repaired entry: the range test is a real range (nmi_atomic <= %rip < nmi_atomic_end),
 * and everything else, C code included, goes through the nesting-flag test.
 */
const fixedDefs: StepDef[] = defs.map((d) =>
  d.label === "entry"
    ? {
      ...d,
      name: "nmi: nmi_atomic <= %rip < nmi_atomic_end? else nesting flag?",
      run(cpu: Cpu) {
        const a = addrOfFrame(cpu, cpu.slots[Slot.NmiIst]);
        if (a === "atomic") return "athit";
        if (cpu.vars[0] !== 0) return "nestfake";
        return "unnested";
      },
    }
    : d
);

function strategyOf(name: string, description: string, steps: StepDef[]): Strategy {
  const program = buildProgram(steps);
  return {
    name,
    description,
    nmi: program,
    vmallocBuffers: true,
    eagerSync: false,
    exceptionReturn: iretReturn,
    guardArmed(cpu: Cpu): boolean {
      if (cpu.vars[0] !== 0) return true;
      const n = cpu.innermostNmi();
      return n === cpu.depth && n >= 0 && program[cpu.pc[n]]?.addr === "atomic";
    },
  };
}

/** Mathieu's need_fake_nmi + exit-region %rip range, as posted. */
export const ripRange: Strategy = strategyOf(
  "rip-range",
  "Mathieu: need_fake_nmi + nmi_atomic..nmi_atomic_end %rip range, as posted (§2.4)",
  defs,
);

/**
 * The same design with its first hole closed (a %rip above nmi_atomic_end takes the nesting
 * test), so the rest of it (need_fake_nmi replays, the exit region, cr2 in the copy) is checked.
 */
export const ripRangeFixed: Strategy = strategyOf(
  "rip-range-fixed",
  "Mathieu's need_fake_nmi + exit region, range test repaired (§2.4)",
  fixedDefs,
);
