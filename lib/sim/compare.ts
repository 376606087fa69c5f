/**
 * Run the simulator once per strategy with the same seed and tabulate the metrics.
 * @module
 */
import { Machine, type MachineOptions, type SimMetrics } from "./machine.ts";
import { SIM_STRATEGIES } from "./strategies/mod.ts";
import { CountingSink } from "./sink.ts";
import type { Strategy } from "./cpu.ts";

/** Options for {@link runComparison}: machine options without the seed, plus strategies. */
export interface ComparisonOptions extends Omit<MachineOptions, "seed"> {
  /** Strategies to compare (default: the simulator's six). */
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
export function comparisonVerdicts(rows: readonly SimMetrics[]): string[] {
  const w = Math.max(...rows.map((r) => r.strategy.length));
  return rows.map((r) => {
    const broke: string[] = [];
    if (r.istCorruptions) {
      broke.push(`${r.istCorruptions} IST frame overwrites (each a crash on real hardware)`);
    }
    if (r.nmisLostBeyondLatch) broke.push(`${r.nmisLostBeyondLatch} NMIs lost beyond the latch`);
    if (r.cr2Corruptions) broke.push(`${r.cr2Corruptions} NMI returns with a clobbered cr2`);
    if (r.attempted > r.delivered) {
      broke.push(`${r.attempted - r.delivered} samples never delivered`);
    }
    const cost = r.pageFaultsInNmi
      ? `survives ${r.pageFaultsInNmi} vmalloc faults inside the NMI`
      : r.syncLatencyNs
      ? `never faults in the NMI; pays ${(r.syncLatencyNs / 1e6).toFixed(1)} ms of eager syncs`
      : "never faults in the NMI";
    const verdict = broke.length ? `UNSAFE: ${broke.join(", ")}` : `safe: ${cost}`;
    return `${r.strategy.padEnd(w)}  ${verdict}`;
  });
}
