/**
 * `naive-iret`: the 2010 code. The NMI returns with iret through its IST frame, and so does any
 * exception taken inside it, which unmasks NMIs early (seed §1.1, L20-21, L1148).
 * @module
 */
import { Slot, type Strategy } from "../cpu.ts";
import { buildProgram, handlerBody, iretReturn, type StepDef } from "./program.ts";

const defs: StepDef[] = [
  { label: "entry", name: "entry: save registers", addr: "entry", run() {} },
  ...handlerBody(),
  {
    label: "iret",
    name: "iret through IST frame",
    addr: "entry",
    run(cpu) {
      cpu.iret(Slot.NmiIst);
      return null;
    },
  },
];

/** The unprotected 2010 NMI path. */
export const naiveIret: Strategy = {
  name: "naive-iret",
  description: "2010 code: iret everywhere, no nesting detection (seed §1.1)",
  nmi: buildProgram(defs),
  x86_32: true,
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: () => false,
};

/**
 * Same NMI path with callchain buffers kept in sync eagerly by `vmalloc_sync_all` (seed §2.7):
 * no #PF in NMI, at a latency cost per vmalloc. The cost is not a thread figure: nobody
 * measured a walk ("Bad latency is bad latency", Linus L2947-2961; "tens of thousands" of page
 * tables, L2720-2753; "a few thousand memory accesses", Avi L6215-6219). The simulator builds
 * it from what the walk visits (`sync_cost.ts`: entries x mms x an assumed ns per entry, per
 * page-table layout, x86-32 by default) and pays it on every perf buffer reallocation and
 * every module load (Avi L5907).
 */
export const vmallocSyncAll: Strategy = {
  ...naiveIret,
  name: "vmalloc-sync-all",
  description: "eager vmalloc_sync_all after each vmalloc: no #PF in NMI, latency cost (§2.7)",
  vmallocBuffers: false,
  eagerSync: true,
};

/** Same NMI path with kmalloc'd callchain buffers in the 1:1 map (seed §2.8, anchors A6). */
export const kmallocBuffers: Strategy = {
  ...naiveIret,
  name: "kmalloc",
  description: "per-cpu pointers to kmalloc'd buffers: never a vmalloc fault (§2.8)",
  vmallocBuffers: false,
  eagerSync: false,
};

/**
 * "NMI can never take traps" (Ingo, L1158-1161; Linus: "It's possible to do that, but quite
 * frankly, it's a pain", L11573-11582): the naive NMI path with kmalloc'd callchain buffers (no
 * vmalloc fault) and Ingo's `WARN_ONCE()`: every exception taken in NMI context is a WARN,
 * counted and named per kind. The rule is an assertion, not a mechanism: when a kprobe, a data
 * breakpoint or an MCE does hit the NMI, the iret still unmasks NMIs (Avi: kgdb-style bans
 * cannot cover NMI callees or data breakpoints, L7133-7134).
 */
export const nmiNoTraps: Strategy = {
  ...naiveIret,
  name: "nmi-no-traps",
  description: "Ingo: NMIs never trap (kmalloc buffers) + WARN on each trap in NMI (L1158-1161)",
  vmallocBuffers: false,
  eagerSync: false,
  warnOnTrap: true,
};
