/**
 * Text rendering of model-checker results: the verdict table and the counter-example traces.
 * @module
 */
import { INVARIANTS } from "./cpu.ts";
import type { CheckResult } from "./check.ts";

/**
 * Format results as a table: one row per (strategy, profile), one column per invariant.
 * @param results checker results
 * @returns the table text
 */
export function formatVerdictTable(results: readonly CheckResult[]): string {
  const head = ["strategy", "profile", ...INVARIANTS, "states", "ms"];
  const rows = results.map((r) => [
    r.strategy,
    r.profile,
    ...INVARIANTS.map((i) => r.verdicts[i]),
    `${r.states}${r.complete ? "" : "+"}`,
    r.ms.toFixed(0),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i >= c.length - 2 ? x.padStart(w[i]) : x.padEnd(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

/**
 * Format every counter-example trace.
 * @param results checker results
 * @returns the traces text
 */
export function formatTraces(results: readonly CheckResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    for (const v of r.violations) {
      out.push(`--- ${r.strategy} [${r.profile}] ${v.invariant} (${v.choices.length} steps)`);
      out.push(...v.trace.map((t) => `  ${t}`));
    }
  }
  return out.join("\n");
}
