import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  check,
  CHECK_PROFILES,
  type CheckOptions,
  type CheckProfile,
  type CheckResult,
  faultKinds,
  profileHasMce,
} from "./check.ts";
import { type Cpu, type InvariantName, Kind, Slot, type Strategy } from "./cpu.ts";
import { replaySchedule } from "./machine.ts";
import { buildProgram, handlerBody, iretReturn, type StepDef } from "./strategies/program.ts";
import {
  aviTwoStacks,
  CHECK_STRATEGIES,
  getStrategy,
  kmallocBuffers,
  linusV1,
  linusV2,
  linusV2Posted,
  mainline,
  naiveIret,
  nmiNoTraps,
  popfRet,
  ripAtIret,
  ripRange,
  ripRangeFixed,
  rspRange,
  SIM_STRATEGIES,
  vmallocSyncAll,
} from "./strategies/mod.ts";

const OPTS: CheckOptions = { nmis: 3, faults: 2 };
const v = (r: CheckResult, i: InvariantName) => r.verdicts[i];

// every (strategy, profile) at depth 3 is explored once and shared by the tests below
const cache = new Map<string, CheckResult>();
function res(s: Strategy, p: CheckProfile): CheckResult {
  const k = `${s.name} ${p}`;
  let r = cache.get(k);
  if (!r) cache.set(k, r = check(s, p, OPTS));
  return r;
}
const violation = (r: CheckResult, i: InvariantName) =>
  r.violations.find((x) => x.invariant === i)!;

// --- deliberately broken strategies, built from the step-program building blocks -------------

/** Broken: every NMI copies its frame to its own stack level and runs the handler; no nesting
 * test at all. Frames survive (each level has its own copy), so only the handler nests. */
const ownLevel = (cpu: Cpu) => Slot.Kstack + cpu.depth;
const reentrant: Strategy = {
  name: "broken-reentrant",
  description: "test double: per-level frame copy, no nesting detection",
  nmi: buildProgram([
    {
      label: "entry",
      name: "entry: copy frame to this level's stack (no nesting test)",
      addr: "entry",
      run(cpu) {
        cpu.slots[ownLevel(cpu)] = cpu.slots[Slot.NmiIst];
      },
    },
    ...handlerBody(),
    {
      label: "iret",
      name: "iret through this level's copy",
      addr: "entry",
      run(cpu) {
        cpu.iret(ownLevel(cpu));
        return null;
      },
    },
  ]),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: () => false,
};

/** Broken: Mathieu's "counter of missed NMIs" reading (seed §6.2 item 2) instead of a one-bit
 * latch: every nested NMI bumps a counter and the outer NMI replays once per count.
 * vars: [0] nesting, [1] missed NMIs, [2] saved cr2. */
const counterDefs: StepDef[] = [
  {
    label: "entry",
    name: "entry: nesting flag set?",
    addr: "entry",
    run(cpu) {
      if (cpu.vars[0] !== 0) return "nested";
    },
  },
  {
    label: "copy",
    name: "copy frame below IST top, save cr2, nesting = 1",
    addr: "entry",
    run(cpu) {
      cpu.slots[Slot.Copy] = cpu.slots[Slot.NmiIst];
      cpu.vars[2] = cpu.cr2;
      cpu.vars[0] = 1;
    },
  },
  ...handlerBody(),
  {
    label: "again",
    name: "missed NMIs left? missed--, replay; else restore cr2, nesting = 0",
    addr: "entry",
    run(cpu) {
      if (cpu.vars[1] > 0) {
        cpu.vars[1]--;
        return "h.start";
      }
      cpu.cr2 = cpu.vars[2];
      cpu.vars[0] = 0;
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
    name: "nested: missed++",
    addr: "entry",
    run(cpu) {
      cpu.vars[1]++;
    },
  },
  {
    label: "nestiret",
    name: "nested: iret back",
    addr: "entry",
    run(cpu) {
      cpu.iret(Slot.NmiIst);
      return null;
    },
  },
];
const counting: Strategy = {
  name: "broken-counter",
  description: "test double: replays once per nested NMI (a counter, not a latch)",
  nmi: buildProgram(counterDefs),
  vmallocBuffers: true,
  eagerSync: false,
  exceptionReturn: iretReturn,
  guardArmed: (cpu) => cpu.vars[0] !== 0,
};

// --- the thread's strategies -----------------------------------------------------------------

Deno.test("naive-iret violates the frame invariant", () => {
  assertEquals(v(res(naiveIret, "pf"), "ist-frame-live"), "violated");
});

Deno.test("%rip-at-iret: the emulated NMI runs unblocked, an NMI between its stores wins", () => {
  // the faulting iret unblocks NMIs (SDM 6.7.1); the #GP handler (not in the thread, L3344)
  // restores CS and sets the flag in two stores (L3349-3356); NMI#3 lands between them
  const a = res(ripAtIret, "pf");
  assertEquals(v(a, "ist-frame-live"), "violated");
  const tr = violation(a, "ist-frame-live");
  assertEquals(tr.choices.filter((c) => c.t === "nmi").length, 3);
  assertEquals(tr.choices.filter((c) => c.t === "fault").length, 1);
  assert(
    /NMI#3 arrives, interrupts NMI#1 at '\[#GP handler, not in the thread/.test(
      tr.trace.join("\n"),
    ),
  );
  // every step of the project's #GP handler says it is not Linus' code
  assert(
    ripAtIret.nmi.filter((st) => st.name.includes("#GP")).every((st) =>
      st.name.includes("not in the thread")
    ),
  );
  assertEquals(v(res(ripRange, "pf"), "ist-frame-live"), "violated");
});

Deno.test("%rip-at-iret (as posted) replays twice: IRET_RACE leaves the zeroed CS behind", () => {
  // NMI#2 nests and zeroes the copy's CS; NMI#3 hits the final iret and runs the handler as
  // the replay, but the posted IRET_RACE does not restore CS, so the #GP replays once more.
  const t = violation(res(ripAtIret, "pf"), "nmi-latch");
  assert(/replayed 2 times/.test(t.message), t.message);
  assert(
    t.trace.some((l) => l.includes("nmi_might_be_nested")) &&
      t.trace.some((l) => l.includes("#GP")),
  );
  // the repaired reading (IRET_RACE restores CS: it is the pending replay) holds
  assertEquals(v(res(linusV2, "pf"), "nmi-latch"), "holds");
});

Deno.test("linus-v1: Ingo's objection is the shortest counter-example (L1147-1152)", () => {
  const t = violation(res(linusV1, "pf"), "ist-frame-live");
  // NMI#1, #PF, its iret unmasks, NMI#2's delivery overwrites the IST frame nmi_frame points at
  assertEquals(t.choices.filter((c) => c.t === "nmi").length, 2);
  assertEquals(t.choices.filter((c) => c.t === "fault").length, 1);
  assertEquals(t.choices.at(-1)!.t, "nmi"); // before any code of NMI#2 runs
  assert(t.state.some((l) => l.includes("NMI IST top: return to NMI#1")), t.state.join("\n"));
  // the frame-copy answer (L1226-1229) is linus-v2-posted: an NMI nested in the handler no
  // longer costs the frame; its shortest frame loss needs the exit window instead
  const copy = violation(res(linusV2Posted, "pf"), "ist-frame-live");
  assert(copy.choices.length > t.choices.length);
  assert(!copy.trace.some((l) => /NMI#2 arrives, interrupts NMI#1 at 'handler:/.test(l)));
});

Deno.test("linus-v2-posted: Mathieu's movl $0,nmi_stack_ptr; iret window (L2370-2396)", () => {
  const t = violation(res(linusV2Posted, "pf"), "ist-frame-live");
  const text = t.trace.join("\n");
  // the exit clears the pointer, an NMI arrives at the iret and is not seen as nested
  assert(
    /NMI#1: movl \$0,nmi_stack_ptr\n.*NMI#2 arrives, interrupts NMI#1 at 'nmi_iret_address/.test(
      text,
    ),
    text,
  );
  assert(t.trace.at(-2)!.includes("copy the hardware frame"), text);
  // the copy then returns to NMI#1's own iret: nothing returns to the task (the endless loop)
  assert(
    t.state.some((l) => /stack copy: return to NMI#1 at 'nmi_iret_address/.test(l)),
    t.state.join("\n"),
  );
  // with the %rip check (rip-at-iret) no counter-example has an NMI at the iret taken as first
  for (const x of res(ripAtIret, "pf").violations) {
    const i = x.trace.findIndex((l) => /arrives, interrupts NMI#\d at 'nmi_iret_address/.test(l));
    if (i >= 0) assert(x.trace[i + 2].includes("nmi_might_be_nested"), x.trace.join("\n"));
  }
});

Deno.test("avi-two-stacks: nested handler runs; a third level lands back on the first stack", () => {
  const r = res(aviTwoStacks, "pf");
  assertEquals(v(r, "handler-not-nested"), "violated");
  const t = violation(r, "ist-frame-live");
  assertEquals(t.choices.filter((c) => c.t === "nmi").length, 3);
  assert(t.trace.at(-2)!.startsWith("17. NMI#3 arrives, interrupts NMI#2"), t.trace.join("\n"));
  assert(/return frame of NMI#1 \(to task\) overwritten/.test(t.message));
  // with two NMIs it keeps every frame: two stacks hold two levels
  assertEquals(v(check(aviTwoStacks, "pf", { nmis: 2, faults: 2 }), "ist-frame-live"), "holds");
});

Deno.test("nmi-no-traps: holds while nothing traps; WARNs name each trap kind taken in NMI", () => {
  const clean = res(nmiNoTraps, "pf");
  assertEquals(clean.violations, []);
  assertEquals(clean.warnings, []);
  const k = res(nmiNoTraps, "pf+int3");
  assertEquals(v(k, "ist-frame-live"), "violated"); // an assertion, not a mechanism
  assert(k.warnings!.some((w) => /^WARN: int3 taken in NMI context/.test(w)), String(k.warnings));
  assert(res(nmiNoTraps, "pf+mce").warnings!.some((w) => w.startsWith("WARN: MCE")));
  assertEquals(res(naiveIret, "pf+int3").warnings, undefined); // only the asserting strategy warns
});

Deno.test("rip-range-fixed: with the range test repaired the rest of Mathieu's design holds", () => {
  for (const p of ["pf", "pf+int3", "pf+db", "pf+mce"] as const) {
    assertEquals(res(ripRangeFixed, p).violations.map((x) => x.trace.join("\n")), [], p);
  }
});

Deno.test("every strategy of the thread is checked and simulated", () => {
  const names = CHECK_STRATEGIES.map((s) => s.name);
  for (
    const n of [
      "naive-iret",
      "popf-ret",
      "linus-v1",
      "linus-v2-posted",
      "rip-at-iret",
      "linus-v2",
      "rip-range",
      "rip-range-fixed",
      "avi-two-stacks",
      "rsp-range",
      "vmalloc-sync-all",
      "kmalloc",
      "nmi-no-traps",
      "mainline",
    ]
  ) assert(names.includes(n), n);
  assertEquals(SIM_STRATEGIES.map((s) => s.name), names);
});

Deno.test("rsp-range keeps the frame with NMI+#PF but loses it with #DB or MCE", () => {
  assertEquals(v(res(rspRange, "pf"), "ist-frame-live"), "holds");
  assertEquals(v(res(rspRange, "pf+db"), "ist-frame-live"), "violated");
  assertEquals(v(res(rspRange, "pf+mce"), "ist-frame-live"), "violated");
  // finding: the sketched nested path records no latch
  assertEquals(v(res(rspRange, "pf"), "nmi-latch"), "violated");
});

Deno.test("popf-ret holds the frame with #PF but single-step (TF -> iret) breaks it", () => {
  assertEquals(v(res(popfRet, "pf"), "ist-frame-live"), "holds");
  assertEquals(v(res(popfRet, "pf"), "no-early-unmask"), "holds");
  const ss = res(popfRet, "pf+int3");
  assertEquals(v(ss, "ist-frame-live"), "violated");
  assertEquals(v(ss, "no-early-unmask"), "violated");
});

Deno.test("linus-v2 and mainline hold every invariant under every profile, mixed included", () => {
  assert(CHECK_PROFILES.includes("mixed"));
  for (const s of [linusV2, mainline]) {
    for (const p of CHECK_PROFILES) {
      const r = res(s, p);
      assert(r.complete);
      assertEquals(r.violations.map((x) => x.trace.join("\n")), [], `${s.name} ${p}`);
    }
  }
});

Deno.test("vmalloc-sync-all and kmalloc never fault in NMI with #PF only", () => {
  for (const s of [vmallocSyncAll, kmallocBuffers]) assertEquals(res(s, "pf").violations, []);
});

Deno.test("exploration is bounded and monotone in depth", () => {
  const a = check(mainline, "pf", { nmis: 2, faults: 1 });
  const b = res(mainline, "pf");
  assert(a.states < b.states, `${a.states} < ${b.states}`);
});

// --- the mixed profile -----------------------------------------------------------------------

Deno.test("mixed profile: #PF, int3, #DB and MCE in one schedule", () => {
  assertEquals(faultKinds(mainline, "mixed"), [Kind.Pf, Kind.Int3, Kind.Db]);
  assert(profileHasMce("mixed") && !profileHasMce("pf+db"));
  // a superset of every single-exception profile
  for (const p of ["pf", "pf+int3", "pf+db", "pf+mce"] as const) {
    assert(res(mainline, "mixed").states > res(mainline, p).states, p);
  }
  // a counter-example only the mix finds: int3 (debug IST), then an MCE inside the int3
  // handler, whose iret unmasks NMIs while %rsp is on neither NMI stack (Avi, L7363-7373)
  assertEquals(v(res(rspRange, "pf+int3"), "no-early-unmask"), "holds");
  assertEquals(v(res(rspRange, "pf+mce"), "no-early-unmask"), "holds");
  const t = violation(res(rspRange, "mixed"), "no-early-unmask");
  assert(t.choices.some((c) => c.t === "fault" && c.kind === Kind.Int3), t.trace.join("\n"));
  assert(t.choices.some((c) => c.t === "mce"), t.trace.join("\n"));
});

Deno.test("mixed profile with MCE in the entry assembly: the 2012 hole, mainline included", () => {
  // an MCE before the frame copy returns with iret and unmasks NMIs; the next NMI overwrites
  // the original frame (see KNOWN_HOLES in verdicts.ts). Two NMIs, no fault needed.
  const r = check(mainline, "mixed", { nmis: 2, faults: 0, mceAnywhere: true });
  const t = violation(r, "ist-frame-live");
  assertEquals(t.choices.map((c) => c.t), ["nmi", "mce", "step", "step", "nmi"]);
});

// --- the checker catches broken strategies ----------------------------------------------------

Deno.test("handler-not-nested: a strategy without a nesting test is caught, shortest trace", () => {
  const r = check(reentrant, "pf", OPTS);
  assert(r.complete);
  assertEquals(v(r, "handler-not-nested"), "violated");
  assertEquals(v(r, "ist-frame-live"), "holds"); // the frames survive: only the handler nests
  const t = violation(r, "handler-not-nested");
  // NMI#1, entry, handler start, #PF, #PF body, #PF iret (unmasks), NMI#2, entry, handler start
  assertEquals(t.choices.map((c) => c.t), [
    "nmi",
    "step",
    "step",
    "fault",
    "step",
    "step",
    "nmi",
    "step",
    "step",
  ]);
  assertEquals(
    t.message,
    "handler-not-nested: NMI handler entered while another run is in progress",
  );
  assert(t.trace.at(-1)!.includes("handler-not-nested violated"));
  // and nothing shorter exists: without a fault, or with a single NMI, it holds
  assertEquals(v(check(reentrant, "pf", { nmis: 3, faults: 0 }), "handler-not-nested"), "holds");
  assertEquals(v(check(reentrant, "pf", { nmis: 1, faults: 2 }), "handler-not-nested"), "holds");
});

Deno.test("nmi-latch: a strategy replaying twice for one blocked period is caught", () => {
  const r = check(counting, "pf", OPTS);
  assert(r.complete);
  assertEquals(v(r, "nmi-latch"), "violated");
  const t = violation(r, "nmi-latch");
  assert(/replayed 2 times for the NMIs of one blocked period/.test(t.message), t.message);
  // two NMIs delivered during NMI#1's run collapse into one replay; the counter replays twice
  assertEquals(t.choices.filter((c) => c.t === "nmi").length, 3);
  assertEquals(t.trace.filter((l) => l.includes(": handler: nmi_enter")).length, 3);
  // with one nested NMI it replays once, which is right: the latch invariant holds
  assertEquals(v(check(counting, "pf", { nmis: 2, faults: 2 }), "nmi-latch"), "holds");
});

// --- counter-examples are real ----------------------------------------------------------------

// Replay goes through replaySchedule, which runs every step through Machine.stepCpu (the
// simulator's step function, with the vmalloc_fault side of each #PF on the machine's page
// tables) and raises scripted NMIs/exceptions through the same Cpu entry points as the
// machine's event loop. Driving the Machine's event loop itself (advance -> #overflow ->
// #drive) is not feasible: its event sources are private (#drive, #faultAt, #r) and random
// (PRNG-drawn extra NMIs, int3 and MCE), #PF comes only from page-table state at the first
// buffer touch (once per PGD fill), it has no #DB source at all, and the only part of
// machine.ts this module's owner may change is replaySchedule. So the replay checks the same
// failure at the same step rather than the same machine run.
Deno.test("every counter-example replays in the simulator to the same failure at the same step", () => {
  let replayed = 0;
  for (const s of CHECK_STRATEGIES) {
    for (const p of CHECK_PROFILES) {
      for (const viol of res(s, p).violations) {
        const what = `${s.name} ${p} ${viol.invariant}`;
        const r = replaySchedule(getStrategy(s.name), viol.choices);
        const f = r.failures.get(viol.invariant);
        assert(f, `${what}: replay did not fail (${r.lastViolation})`);
        assertEquals(f.message, viol.message, what);
        assertEquals(f.step, viol.choices.length - 1, `${what}: failed at another step`);
        assert(viol.trace.at(-1)!.endsWith(viol.message.replace(/^[a-z0-9-]+: /, "")), what);
        replayed++;
      }
    }
  }
  assert(replayed > 40, `replayed ${replayed}`);
});

Deno.test("replaySchedule rejects a schedule the simulator could not produce", () => {
  let threw = false;
  try {
    replaySchedule(mainline, [{ t: "nmi" }, { t: "fault", kind: Kind.Pf }]); // at the entry asm
  } catch (e) {
    threw = e instanceof RangeError;
  }
  assert(threw);
});

Deno.test("shortest trace: naive-iret frame loss needs exactly one #PF and two NMIs", () => {
  const t = violation(res(naiveIret, "pf"), "ist-frame-live");
  assertEquals(t.choices.filter((c) => c.t === "nmi").length, 2);
  assertEquals(t.choices.filter((c) => c.t === "fault").length, 1);
  assert(t.trace.at(-1)!.includes("overwritten"));
});

Deno.test("full suite at depth 3 (timing printed, not asserted)", () => {
  const t0 = performance.now();
  let states = 0;
  for (const s of CHECK_STRATEGIES) for (const p of CHECK_PROFILES) states += res(s, p).states;
  const ms = [...cache.values()].reduce((a, r) => a + r.ms, 0);
  console.log(
    `  ${CHECK_STRATEGIES.length * CHECK_PROFILES.length} explorations, ${states} states, ` +
      `${ms.toFixed(0)} ms of exploration (${(performance.now() - t0).toFixed(0)} ms here)`,
  );
});

Deno.test("RF rule: a fault-class #DB returned by popf re-fires forever; iret's RF passes it", () => {
  // the #DB-insn handler sets RF in the saved frame (L1764-1772); POPFD does not (L796-798)
  const r = res(popfRet, "pf+ibp");
  assertEquals(v(r, "bp-progress"), "violated");
  const t = violation(r, "bp-progress");
  assert(t.trace.some((l) => l.includes("#DB (instruction breakpoint, fault-class)")));
  assert(/without RF/.test(t.message), t.message);
  assert(t.state.some((l) => l.includes("RF=0")), t.state.join("\n"));
  // every strategy that returns from exceptions with iret passes the breakpoint
  for (const s of [naiveIret, linusV2, mainline, ripRangeFixed]) {
    assertEquals(v(res(s, "pf+ibp"), "bp-progress"), "holds", s.name);
  }
  // with a trap-class #DB (data breakpoint) RF plays no part: popf-ret looked safe there
  assertEquals(v(res(popfRet, "pf+db"), "bp-progress"), "holds");
});
