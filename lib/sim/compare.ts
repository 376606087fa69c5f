/**
 * Run the simulator once per strategy with the same seed and tabulate the metrics.
 * @module
 */
import { Machine, type MachineOptions, type SimMetrics } from "./machine.ts";
import { SIM_STRATEGIES } from "./strategies/mod.ts";
import { CountingSink } from "./sink.ts";
import { INVARIANTS, type Strategy, type TaskContextName } from "./cpu.ts";
import { check, type CheckProfile, type CheckResult } from "./check.ts";

/**
 * The model-checker profiles that match a simulation's exception sources: #PF always, plus
 * int3 / #DB / MCE when the run injects them (one single-exception profile each, which keeps
 * the check to about a second per profile).
 * @param o machine options
 * @returns the profiles
 */
export function profilesFor(o: Omit<MachineOptions, "seed">): CheckProfile[] {
  const p: CheckProfile[] = [];
  if ((o.pInt3 ?? 0) > 0) p.push("pf+int3");
  if ((o.pDb ?? 0) > 0) p.push("pf+db");
  if ((o.pIbp ?? 0) > 0) p.push("pf+ibp");
  if ((o.pMce ?? 0) > 0) p.push("pf+mce");
  return p.length ? p : ["pf"];
}

/** The task contexts the simulator's workload interrupts (no vm86 programs run in it). */
export const SIM_CONTEXTS: readonly TaskContextName[] = ["kernel", "syscall", "user"];

/**
 * Model-check each strategy under the given profiles (depth 3 NMIs, 2 faults), with the task
 * in each context the simulator's NMIs interrupt ({@link SIM_CONTEXTS}).
 * @param strategies strategies
 * @param profiles profiles
 * @param mceAnywhere let MCE hit the entry/exit assembly too
 * @returns per strategy name, its results (one per profile and context)
 */
export function checkStrategies(
  strategies: readonly Strategy[],
  profiles: readonly CheckProfile[],
  mceAnywhere = false,
): Map<string, CheckResult[]> {
  const out = new Map<string, CheckResult[]>();
  for (const s of strategies) {
    out.set(
      s.name,
      profiles.flatMap((p) =>
        SIM_CONTEXTS.map((context) => check(s, p, { nmis: 3, faults: 2, mceAnywhere, context }))
      ),
    );
  }
  return out;
}

/** Options for {@link runComparison}: machine options without the seed, plus strategies. */
export interface ComparisonOptions extends Omit<MachineOptions, "seed"> {
  /** Strategies to compare (default: every strategy of the thread). */
  readonly strategies?: readonly Strategy[];
}

/**
 * Simulate every strategy on the same seeded workload.
 * @param seed PRNG seed
 * @param options machine options
 * @returns one metrics row per strategy
 * @example
 * ```ts
 * import { formatComparison, runComparison } from "./compare.ts";
 * console.log(formatComparison(runComparison(7, { samples: 5000 })));
 * ```
 */
export function runComparison(seed: number, options: ComparisonOptions = {}): SimMetrics[] {
  const { strategies = SIM_STRATEGIES, ...rest } = options;
  return strategies.map((s) => new Machine(s, { ...rest, seed }, new CountingSink()).run());
}

const COLUMNS: readonly [keyof SimMetrics, string][] = [
  ["attempted", "attempted"],
  ["delivered", "delivered"],
  ["exact", "exact"],
  ["nmisLostBeyondLatch", "lost>latch"],
  ["hwLatchDrops", "latch drops"],
  ["istCorruptions", "IST corrupt"],
  ["cr2Corruptions", "cr2 corrupt"],
  ["faultsInNmi", "faults in NMI"],
  ["pageFaultsInNmi", "#PF in NMI"],
  ["syncLatencyNs", "sync ns"],
];

/**
 * Format comparison rows as a fixed-width text table.
 * @param rows metrics rows
 * @returns the table
 */
export function formatComparison(rows: readonly SimMetrics[]): string {
  const head = ["strategy", ...COLUMNS.map((c) => c[1])];
  const body = rows.map((r) => [r.strategy, ...COLUMNS.map((c) => String(r[c[0]]))]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n");
}

/**
 * One verdict line per strategy, derived from its metrics: what broke (IST frame overwrites
 * are crashes on real hardware, lost NMIs, cr2 corruption) and what it cost (faults taken in
 * NMI context, eager-sync latency).
 *
 * @param rows metrics rows
 * @returns lines of text
 * @example
 * ```ts
 * import { comparisonVerdicts, runComparison } from "./compare.ts";
 * console.log(comparisonVerdicts(runComparison(1, { samples: 2000 })).join("\n"));
 * ```
 */
export function comparisonVerdicts(
  rows: readonly SimMetrics[],
  checks?: ReadonlyMap<string, readonly CheckResult[]>,
): string[] {
  const w = Math.max(...rows.map((r) => r.strategy.length));
  return rows.map((r) => {
    const checked = checks?.get(r.strategy);
    const model = checked ? ` | checker ${checkerVerdict(checked)}` : "";
    const broke: string[] = [];
    if (r.istCorruptions) {
      broke.push(`${r.istCorruptions} IST frame overwrites (each a crash on real hardware)`);
    }
    if (r.nmisLostBeyondLatch) broke.push(`${r.nmisLostBeyondLatch} NMIs lost beyond the latch`);
    if (r.cr2Corruptions) broke.push(`${r.cr2Corruptions} NMI returns with a clobbered cr2`);
    if (r.attempted > r.delivered) {
      broke.push(`${r.attempted - r.delivered} samples never delivered`);
    }
    const warns = Object.entries(r.warnings);
    if (warns.length) {
      broke.push(
        `${warns.reduce((a, [, n]) => a + n, 0)} WARNs (${
          warns.map(([k, n]) => `${k} ${n}`).join(", ")
        })`,
      );
    }
    const cost = r.pageFaultsInNmi
      ? `survives ${r.pageFaultsInNmi} vmalloc faults inside the NMI`
      : r.syncLatencyNs
      ? `never faults in the NMI; pays ${
        (r.syncLatencyNs / 1e6).toFixed(1)
      } ms in ${r.syncWalks} eager sync walks (pgd entries x mms x an assumed ns per entry, ` +
        "--sync-entry-ns)"
      : "never faults in the NMI";
    const verdict = broke.length ? `UNSAFE: ${broke.join(", ")}` : `safe: ${cost}`;
    return `${r.strategy.padEnd(w)}  ${verdict}${model}`;
  });
}

/**
 * One model-checker verdict for a strategy over some profiles: "[pf] holds" or the violated
 * invariants, with the profiles that violate them.
 * @param results the strategy's results
 * @returns the verdict text
 */
export function checkerVerdict(results: readonly CheckResult[]): string {
  const profiles = [...new Set(results.map((r) => r.profile))].join(",");
  const bad = INVARIANTS.filter((i) => results.some((r) => r.verdicts[i] === "violated"));
  return bad.length ? `[${profiles}]: violates ${bad.join(", ")}` : `[${profiles}]: holds`;
}

/**
 * The workload `record --compare` and the demo run by default: 4 CPUs, 250 ms at 10 kHz per
 * CPU (10,000 overflows), a deep recursion on 0.2 % of stack changes, callchains cut at 255.
 * One seed gives one table, whichever command prints it.
 */
export const COMPARISON_DEFAULTS: Readonly<Omit<MachineOptions, "seed">> = {
  cpus: 4,
  samples: 10_000,
  periodNs: 100_000,
  pDeepStack: 0.002,
  pExtraNmi: 0.03,
  maxStack: 255,
};

/**
 * The whole comparison as `record --compare` prints it: a header naming the workload, the
 * metrics table, and one verdict line per strategy with the model checker's verdict for the
 * profiles the run's exception sources call for.
 * @param seed PRNG seed
 * @param options machine options (default {@link COMPARISON_DEFAULTS})
 * @returns the text (no trailing newline)
 */
export function comparisonReport(
  seed: number,
  options: ComparisonOptions = COMPARISON_DEFAULTS,
): string {
  const o = { ...COMPARISON_DEFAULTS, ...options };
  const rows = runComparison(seed, o);
  const checks = checkStrategies(o.strategies ?? SIM_STRATEGIES, profilesFor(o), o.mceAnywhere);
  const hz = Math.round(1e9 / (o.periodNs ?? 100_000));
  return `# ${o.samples} PMU overflows per strategy, ${o.cpus} CPUs, seed ${seed}, ` +
    `${hz} Hz per CPU\n` + formatComparison(rows) + "\n\n" +
    comparisonVerdicts(rows, checks).join("\n") +
    `\n(checker: depth 3 NMIs, 2 faults, the task in ${SIM_CONTEXTS.join(", ")} context)`;
}
