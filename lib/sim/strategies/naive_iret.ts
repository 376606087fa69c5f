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
  vmallocBuffers: true,
  syncLatencyNs: 0,
  exceptionReturn: iretReturn,
  guardArmed: () => false,
};

/**
 * Same NMI path with callchain buffers kept in sync eagerly by `vmalloc_sync_all` (seed §2.7):
 * no #PF in NMI, at a latency cost per vmalloc.
 */
export const vmallocSyncAll: Strategy = {
  ...naiveIret,
  name: "vmalloc-sync-all",
  description: "eager vmalloc_sync_all after each vmalloc: no #PF in NMI, latency cost (§2.7)",
  vmallocBuffers: false,
  syncLatencyNs: 500,
};

/** Same NMI path with kmalloc'd callchain buffers in the 1:1 map (seed §2.8, anchors A6). */
export const kmallocBuffers: Strategy = {
  ...naiveIret,
  name: "kmalloc",
  description: "per-cpu pointers to kmalloc'd buffers: never a vmalloc fault (§2.8)",
  vmallocBuffers: false,
  syncLatencyNs: 0,
};
