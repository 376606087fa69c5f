/**
 * Text rendering of model-checker results: the verdict table, the known holes that explain
 * its violations (with their sources in the seed thread and the anchors), and the
 * counter-example traces.
 * @module
 */
import { type InvariantName, INVARIANTS, Kind, type TaskContextName } from "./cpu.ts";
import type { CheckProfile, CheckResult, Violation } from "./check.ts";

/**
 * Format results as a table: one row per (strategy, profile), one column per invariant.
 * @param results checker results
 * @returns the table text
 */
export function formatVerdictTable(results: readonly CheckResult[]): string {
  const head = ["strategy", "context", "profile", ...INVARIANTS, "WARN", "states", "ms"];
  const rows = results.map((r) => [
    r.strategy,
    r.irqs ? `${r.context}+irq` : r.context,
    r.profile,
    ...INVARIANTS.map((i) => r.verdicts[i]),
    r.warnings === undefined
      ? "-"
      : r.warnings.length
      ? r.warnings.map((w) => w.replace(/^WARN: (\S+).*$/, "$1")).join(",")
      : "none",
    `${r.states}${r.complete ? "" : "+"}`,
    r.ms.toFixed(0),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i >= c.length - 2 ? x.padStart(w[i]) : x.padEnd(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

/** An exception a counter-example must contain for a {@link KnownHole} to explain it. */
export type HoleCause = "int3" | "db" | "mce";

/** A violation the checker is expected to report: a hole the seed thread or anchors name. */
export interface KnownHole {
  /** Short id used in the notes. */
  readonly id: string;
  /** Strategies it applies to (`"*"`: any). */
  readonly strategies: readonly string[] | "*";
  /** Invariants it explains. */
  readonly invariants: readonly InvariantName[];
  /** Profiles it applies to (default: every profile). */
  readonly profiles?: readonly CheckProfile[];
  /** Interrupted task contexts it applies to (default: every context). */
  readonly contexts?: readonly TaskContextName[];
  /** Applies only when MCE may also hit the NMI entry/exit assembly (`--mce-anywhere`). */
  readonly mceAnywhere?: boolean;
  /** The counter-example must raise at least one of these exceptions. */
  readonly cause?: readonly HoleCause[];
  /** What goes wrong and where the thread or the anchors say so. */
  readonly note: string;
}

const WITH_OTHER_IST: readonly CheckProfile[] = [
  "pf+int3",
  "pf+db",
  "pf+ibp",
  "pf+mce",
  "mixed",
];

/**
 * Every violation the verdict table is expected to show, with its explanation. First match
 * wins, so strategy-specific holes come before the generic ones.
 */
export const KNOWN_HOLES: readonly KnownHole[] = [
  {
    id: "naive",
    strategies: ["naive-iret"],
    invariants: ["ist-frame-live", "cr2-preserved", "no-early-unmask"],
    note: "the 2010 code: an exception's iret unmasks NMIs and the next NMI reuses the IST " +
      "top (seed §1.1, L20-21, L1148); cr2 is not saved (Avi, L5537-5547)",
  },
  {
    id: "popf-cr2",
    strategies: ["popf-ret"],
    invariants: ["cr2-preserved"],
    note: "as posted the NMI does not save cr2; it must, even with 2/2 (Linus, L7581-7583)",
  },
  {
    id: "popf-tf",
    strategies: ["popf-ret"],
    invariants: ["ist-frame-live", "no-early-unmask"],
    cause: ["int3"],
    note: "a kprobe single-step sets TF, and popf/ret cannot single-step, so the return " +
      "falls back to iret and unmasks NMIs (Mathieu, L197-204)",
  },
  {
    id: "popf-rf",
    strategies: ["popf-ret"],
    invariants: ["bp-progress"],
    profiles: ["pf+ibp"],
    note: "an instruction breakpoint is a fault-class #DB: its handler returns to the faulting " +
      "instruction with RF set, and POPFD does not set RF (Maciej, L796-798; the RF rule, " +
      "L1764-1772), so the popf/ret return re-fires the breakpoint forever",
  },
  {
    id: "popf-mce",
    strategies: ["popf-ret"],
    invariants: ["ist-frame-live", "no-early-unmask"],
    cause: ["mce"],
    note: "an MCE before nmi_enter sets NMI_MASK takes the ordinary iret (the popf path " +
      "keys on preempt_count & NMI_MASK, L299, hooked in paranoid_restore, L403-412)",
  },
  {
    id: "v1-ist",
    strategies: ["linus-v1"],
    invariants: ["ist-frame-live"],
    note: "Ingo's objection to v1: the nested NMI enters through the IST and has overwritten " +
      "the frame nmi_frame points at before any of its code runs (L1147-1152); Linus' answer, " +
      "copy the frame first (L1226-1229), is linus-v2-posted",
  },
  {
    id: "no-cr2",
    strategies: ["linus-v1", "linus-v2-posted", "avi-two-stacks"],
    invariants: ["cr2-preserved"],
    note: "the posting does not save cr2; a #PF inside the NMI clobbers the interrupted " +
      "code's cr2 (Avi, L5537-5547; Linus: the NMI must save it, L7581-7583)",
  },
  {
    id: "v2-mov-iret",
    strategies: ["linus-v2-posted"],
    invariants: ["ist-frame-live"],
    note: "Mathieu's window (L2370-2396): after a fault's iret unmasked NMIs, an NMI between " +
      "'movl $0,nmi_stack_ptr' and 'iret' is not seen as nested and copies its frame over the " +
      "live copy; Linus: 'if the NMI happens at this particular %rip' (L2073-2080, L2579-2582)",
  },
  {
    id: "gp-unblocked",
    strategies: ["linus-v2-posted", "rip-at-iret"],
    invariants: ["ist-frame-live", "no-early-unmask"],
    note: "the faulting iret unblocks NMIs (Intel SDM 6.7.1), so the emulated NMI's set-up runs " +
      "unprotected: an NMI before the #GP handler's flag store is taken as a first NMI and " +
      "overwrites the copy. Linus: the two values 'need to be set in an NMI-safe way without " +
      "us actually having access to the whole NMI blocking' (L3349-3362); the #GP handler is " +
      "not in the thread (L3344), linus-v2 sets both atomically and %rip-checks its entry",
  },
  {
    id: "v2-posted",
    strategies: ["rip-at-iret"],
    invariants: ["ist-frame-live", "cr2-preserved", "no-early-unmask"],
    note: "Linus v2 as posted: IRET_RACE jumps past the nesting flag and cr2 is not saved " +
      "(seed-spec [note] §2.3; Mathieu's mov/iret window, L2370-2396)",
  },
  {
    id: "v2-double-replay",
    strategies: ["rip-at-iret"],
    invariants: ["nmi-latch"],
    note: "finding: IRET_RACE keeps the copy whose CS a nested NMI zeroed, so the racing " +
      "NMI runs the handler as the replay and the final iret still faults into a second one " +
      "(two replays for one blocked period; linus-v2 restores CS there)",
  },
  {
    id: "range-posted",
    strategies: ["rip-range"],
    invariants: ["ist-frame-live"],
    note: "Mathieu's range test as posted: an NMI on %rip >= nmi_atomic_end (C code) goes to " +
      "is_unnested_nmi without the nesting test and overwrites the copy (seed-spec [note] §2.4)",
  },
  {
    id: "avi-third",
    strategies: ["avi-two-stacks"],
    invariants: ["ist-frame-live", "no-early-unmask"],
    note: "Avi's two stacks (L7212-7233): a nested NMI runs on the other stack and clears the " +
      "flag on exit; a third live level lands back on the first stack and overwrites its frame " +
      "(seed-spec [note] §2.5: 'A third live level would land back on the first stack')",
  },
  {
    id: "avi-reentrant",
    strategies: ["avi-two-stacks"],
    invariants: ["handler-not-nested"],
    note: "by design: every non-special NMI runs the handler nested on the other stack, so the " +
      "perf handler must be reentrant (Frederic: the per-context buffers assume 'none of these " +
      "contexts can nest locally', L2650-2651)",
  },
  {
    id: "rsp-latch",
    strategies: ["rsp-range"],
    invariants: ["nmi-latch"],
    note: "the %rsp-range nested path records no latch: the nested NMI is dropped " +
      "(seed-spec [note] §2.6)",
  },
  {
    id: "rsp-syscall",
    strategies: ["rsp-range"],
    invariants: ["ist-frame-live", "no-early-unmask"],
    contexts: ["syscall"],
    note: "Linus' SS double-check ('cmpw $0,48(%rsp) ... from user space or something', " +
      "L7289-7290) assumes kernel SS is null; kernel code entered by SYSCALL runs with " +
      "SS = __KERNEL_DS and an NMI at CPL 0 keeps it, so a nested NMI over a system call is " +
      "taken as non-nested and copies its frame over the live copy (kernel knowledge, not " +
      "in the thread)",
  },
  {
    id: "rsp-ist",
    strategies: ["rsp-range"],
    invariants: ["ist-frame-live", "no-early-unmask"],
    profiles: WITH_OTHER_IST,
    cause: ["int3", "db", "mce"],
    note: "int3/#DB/MCE run on their own IST stacks, so an NMI under them is not seen as " +
      "nested (Avi, L7363-7373: 'NMI, #PF, MCE (uncompleted), NMI')",
  },
  {
    id: "no-pf-only",
    strategies: ["vmalloc-sync-all", "kmalloc", "nmi-no-traps"],
    invariants: ["ist-frame-live", "no-early-unmask"],
    profiles: WITH_OTHER_IST,
    cause: ["int3", "db", "mce"],
    note: "these remove the vmalloc #PF only; int3/#DB/MCE still iret inside the naive NMI " +
      "(seed §2.7-2.9: Linus, 'a pain' for debugging, L11573-11582; Avi, L7133-7134)",
  },
  {
    id: "mce-entry",
    strategies: "*",
    invariants: ["ist-frame-live", "no-early-unmask", "handler-not-nested"],
    profiles: ["pf+mce", "mixed"],
    mceAnywhere: true,
    cause: ["mce"],
    note: "known hole, 2012 mainline included: an MCE (own IST stack) in the NMI entry before " +
      "the frame is copied returns with iret and unmasks NMIs, and the next NMI overwrites the " +
      "original frame. The entry is 'safe from nested NMIs' (anchors A5) only because NMIs are " +
      "masked there; MCE breaks that (Avi, L7363-7373). Not modelled by default: see --mce-anywhere",
  },
];

/** A result's profile, with its context when the task was not in plain kernel code. */
function tag(r: CheckResult): string {
  const where = r.irqs ? `${r.context}+irq` : r.context;
  return where === "kernel" ? r.profile : `${r.profile}@${where}`;
}

function causes(v: Violation): Set<HoleCause> {
  const out = new Set<HoleCause>();
  for (const c of v.choices) {
    if (c.t === "mce") out.add("mce");
    else if (c.t === "fault" && c.kind === Kind.Int3) out.add("int3");
    else if (c.t === "fault" && (c.kind === Kind.Db || c.kind === Kind.Ibp)) out.add("db");
  }
  return out;
}

/**
 * The known hole that explains a reported violation, if any.
 * @param r the result the violation belongs to
 * @param v the violation
 * @returns the hole, or undefined when nothing recorded explains it
 */
export function explainViolation(r: CheckResult, v: Violation): KnownHole | undefined {
  const seen = causes(v);
  return KNOWN_HOLES.find((h) =>
    (h.strategies === "*" || h.strategies.includes(r.strategy)) &&
    h.invariants.includes(v.invariant) &&
    (h.profiles === undefined || h.profiles.includes(r.profile)) &&
    (h.contexts === undefined || h.contexts.includes(r.context)) &&
    (h.mceAnywhere === undefined || h.mceAnywhere === r.mceAnywhere) &&
    (h.cause === undefined || h.cause.some((c) => seen.has(c)))
  );
}

/**
 * Notes under the table: for every violation the known hole that explains it, grouped by
 * hole, and each violation nothing explains marked UNEXPECTED; plus, when MCE was confined
 * to C code, a reminder of the entry-assembly hole that this leaves out.
 * @param results checker results
 * @returns the notes text ("" when there is nothing to say)
 */
export function formatNotes(results: readonly CheckResult[]): string {
  const byHole = new Map<KnownHole, Map<string, Set<string>>>();
  const unexpected: string[] = [];
  for (const r of results) {
    for (const v of r.violations) {
      const h = explainViolation(r, v);
      if (!h) {
        unexpected.push(`  UNEXPECTED ${r.strategy} [${tag(r)}] ${v.invariant}: ${v.message}`);
        continue;
      }
      let rows = byHole.get(h);
      if (!rows) byHole.set(h, rows = new Map());
      const k = `${r.strategy}: ${v.invariant}`;
      let ps = rows.get(k);
      if (!ps) rows.set(k, ps = new Set());
      ps.add(tag(r));
    }
  }
  const out: string[] = [];
  for (const h of KNOWN_HOLES) {
    const rows = byHole.get(h);
    if (!rows) continue;
    out.push(`  [${h.id}] ${h.note}`);
    for (const [k, ps] of rows) out.push(`      ${k} (${[...ps].join(", ")})`);
  }
  out.push(...unexpected);
  const confined = results.filter((r) => !r.mceAnywhere && ["pf+mce", "mixed"].includes(r.profile));
  if (confined.length) {
    out.push(
      "  [mce-entry] not in this table: MCE was injected only into C code (the handler and " +
        "exception bodies). With --mce-anywhere it may hit the NMI entry assembly too, and " +
        "every strategy, mainline and linus-v2 included, loses its frame (known hole, A5 / " +
        "Avi L7363-7373).",
    );
  }
  return out.length ? `Why (known holes; seed-thread lines):\n${out.join("\n")}` : "";
}

/**
 * Format every distinct counter-example once: a trace found under several profiles (the same
 * schedule, the same failure) is printed once with all its profiles. Each trace ends with the
 * machine state at the failing step (flags, which slot holds which frame).
 * @param results checker results
 * @returns the traces text
 */
export function formatTraces(results: readonly CheckResult[]): string {
  const distinct = new Map<string, { r: CheckResult; v: Violation; profiles: string[] }>();
  for (const r of results) {
    for (const v of r.violations) {
      const key = `${r.strategy}\0${v.invariant}\0${v.trace.join("\n")}`;
      const seen = distinct.get(key);
      if (seen) seen.profiles.push(tag(r));
      else distinct.set(key, { r, v, profiles: [tag(r)] });
    }
  }
  const out: string[] = [];
  for (const { r, v, profiles } of distinct.values()) {
    out.push(
      `--- ${r.strategy} [${profiles.join(", ")}] ${v.invariant} (${v.choices.length} steps)`,
    );
    out.push(...v.trace.map((t) => `  ${t}`));
    out.push("  machine state after the failing step:", ...v.state.map((l) => `    ${l}`));
  }
  for (const r of results) {
    for (const w of r.warnings ?? []) out.push(`--- ${r.strategy} [${tag(r)}] ${w}`);
  }
  return out.join("\n");
}
