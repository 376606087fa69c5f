/**
 * `perf diff` (tools/perf/builtin-diff.c of perf 6.1): each file's histogram
 * as `perf report --no-children --sort dso,sym` builds it (so an unresolved
 * frame is keyed by its map-relative address, as perf keys it, and one
 * function of a stripped binary pairs with itself across files), entries
 * paired by their sort-key columns (`hists__match`), new ones linked in
 * (`hists__link`), and perf diff's columns: `Baseline` and one of `Delta
 * Abs` (default), `Delta`, `Ratio` or `Weighted diff` (`-c`).
 *
 * @example
 * ```ts
 * import { perfDiff } from "./perf_diff.ts";
 * // console.log(perfDiff(baseline, comparison, { compute: "delta-abs" }));
 * ```
 *
 * @module
 */

import type { StackSelfFrames } from "../analyze/call_tree.ts";
import type { Profile } from "../analyze/profile.ts";
import { formatPercent } from "./format.ts";
import {
  buildHistogram,
  dsoShortName,
  fieldCmp,
  type HistEntry,
  SORT_HEADERS,
  type SortKey,
} from "./report_hist.ts";

/** perf diff's `-c` computations. */
export type DiffCompute = "delta-abs" | "delta" | "ratio" | "wdiff";

/** Options of {@linkcode perfDiff}. */
export interface PerfDiffOptions {
  /** `-c`: `delta-abs` (perf's default), `delta`, `ratio` or `wdiff`. */
  compute?: DiffCompute;
  /** `-c wdiff:W1,W2` weights of the baseline and the comparison (default 1,1). */
  weights?: readonly [number, number];
  /** `--sort` keys among `dso`, `sym`, `comm`, `pid`, `cpu` (default `dso,sym`). */
  sort?: readonly SortKey[];
  /** Event name for the header (default `cpu-clock`). */
  eventName?: string;
  /**
   * The baseline's other events, which have no samples (a `dummy:HG`): perf
   * prints an empty section for each.
   */
  emptyEvents?: readonly string[];
}

/** One printed row: a baseline entry (with or without a pair) or a new one. */
interface Row {
  columns: string[];
  /** Baseline and comparison self weights (undefined: no entry on that side). */
  base?: number;
  pair?: number;
  /** The computed value (undefined when perf prints it blank or N/A). */
  value?: number;
}

const HEADS: Readonly<Record<DiffCompute, string>> = {
  "delta-abs": "Delta Abs",
  delta: "Delta",
  ratio: "Ratio",
  wdiff: "Weighted diff",
};

/** Column widths perf diff gives the computed column (`-c ratio` / `wdiff`: 14). */
const WIDTHS: Readonly<Record<DiffCompute, number>> = {
  "delta-abs": 9,
  delta: 7,
  ratio: 14,
  wdiff: 14,
};

/**
 * perf diff's text for a baseline and a comparison profile (perf's file
 * order: `perf diff OLD NEW`).
 *
 * @param base The baseline profile.
 * @param pair The comparison profile.
 * @param options `-c`, `--sort`.
 * @returns The text, as perf diff 6.1 prints it.
 */
export function perfDiff(
  base: Profile & StackSelfFrames,
  pair: Profile & StackSelfFrames,
  options: PerfDiffOptions = {},
): string {
  const compute = options.compute ?? "delta-abs";
  const sort = options.sort ?? ["dso", "sym"];
  const [w1, w2] = options.weights ?? [1, 1];
  const entries = (p: Profile & StackSelfFrames) =>
    buildHistogram(p, { sort, callGraph: "none" }).entries.filter((e) => e.self > 0);
  // perf diff keeps one entry per dso for the addresses no symbol covers (a stripped
  // binary's functions): what pairs them across recordings whatever address was sampled.
  const symAt = sort.indexOf("sym");
  const key = (p: Profile, e: HistEntry) => {
    const dso = p.frames.dsos[e.frame];
    if (symAt < 0 || p.frames.syms[e.frame] !== undefined || dso === undefined) {
      return e.columns.join("\u0000");
    }
    return e.columns.map((c, i) => (i === symAt ? "?" : c)).join("\u0000") + "\u0000" +
      dsoShortName(dso);
  };
  const baseTotal = base.totalWeight, pairTotal = pair.totalWeight;
  const pct = (v: number, total: number) => (total ? (100 * v) / total : 0);

  const rows: Row[] = [];
  const byKey = new Map<string, Row>();
  // Entries merged into one are named by the first created (perf keeps that one's address).
  const byCreation = (p: Profile & StackSelfFrames) =>
    entries(p).sort((a, b) => a.created - b.created);
  for (const e of byCreation(base)) {
    const k = key(base, e);
    const row = byKey.get(k);
    if (row !== undefined) row.base! += e.self;
    else {
      const r: Row = { columns: e.columns, base: e.self };
      byKey.set(k, r);
      rows.push(r);
    }
  }
  for (const e of byCreation(pair)) {
    const k = key(pair, e);
    let row = byKey.get(k);
    if (row === undefined) {
      row = { columns: e.columns };
      byKey.set(k, row);
      rows.push(row);
    }
    row.pair = (row.pair ?? 0) + e.self;
  }
  for (const r of rows) {
    if (r.pair === undefined) continue; // perf prints nothing for an entry without a pair
    const bp = r.base === undefined ? 0 : pct(r.base, baseTotal);
    const pp = pct(r.pair, pairTotal);
    if (compute === "delta" || compute === "delta-abs") r.value = pp - bp;
    else if (r.base === undefined) r.value = undefined; // N/A
    else if (compute === "ratio") r.value = r.pair / r.base; // periods, as perf's compute_ratio
    else r.value = r.pair * w2 - r.base * w1;
  }
  // Largest computed value first (|delta| for delta-abs); entries without a pair last; ties
  // by baseline weight, then by the sort keys' columns.
  // (entries without a value, N/A, by their comparison weight).
  const rank = (r: Row) =>
    r.value === undefined ? r.pair ?? 0 : compute === "delta-abs" ? Math.abs(r.value) : r.value;
  const na = (r: Row) => (r.pair === undefined ? 2 : r.value === undefined ? 1 : 0);
  rows.sort((a, b) =>
    na(a) - na(b) || fieldCmp(rank(b), rank(a)) || fieldCmp(b.base ?? 0, a.base ?? 0) ||
    keysCmp(sort, a.columns, b.columns)
  );

  const widths = sort.map((k) => SORT_HEADERS[k].length);
  for (const r of rows) {
    r.columns.forEach((c, i) => {
      if (sort[i] !== "cpu" && c.length > widths[i]) widths[i] = c.length;
    });
  }
  const width = WIDTHS[compute];
  const out = [
    `# Event '${options.eventName ?? "cpu-clock"}'`,
    "#",
    "# " +
    [
      "Baseline",
      HEADS[compute].padStart(width),
      ...sort.map((k, i) => SORT_HEADERS[k].padEnd(widths[i])),
    ]
      .join("  "),
    "# " + ["........", ".".repeat(width), ...widths.map((w) => ".".repeat(w))].join("  "),
    "#",
  ];
  const last = sort.length - 1;
  for (const r of rows) {
    const baseCol = r.base === undefined ? "" : formatPercent(pct(r.base, baseTotal)) + "%";
    let value = "";
    if (r.pair !== undefined) {
      if (r.value === undefined) value = "N/A";
      else if (compute === "ratio") value = r.value.toFixed(6);
      else if (compute === "wdiff") value = String(Math.round(r.value));
      else value = (r.value >= 0 ? "+" : "-") + formatPercent(Math.abs(r.value)) + "%";
    }
    const cols = r.columns.map((c, i) => i === last && sort[i] === "sym" ? c : c.padEnd(widths[i]));
    out.push("  " + [baseCol.padStart(8), value.padStart(width), ...cols].join("  "));
  }
  for (const name of options.emptyEvents ?? []) {
    const heads = ["Baseline", HEADS[compute].padStart(width), ...sort.map((k) => SORT_HEADERS[k])];
    out.push(
      "",
      `# Event '${name}'`,
      "#",
      "# " + heads.join("  "),
      "# " + heads.map((h) => ".".repeat(h.length)).join("  "),
      "#",
    );
  }
  return out.join("\n") + "\n";
}

/** Ties in perf diff's order: by the keys' values, a symbol by its name (not its `[k] `). */
function keysCmp(sort: readonly SortKey[], a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = sort[i] === "sym" ? a[i].slice(4) : a[i];
    const y = sort[i] === "sym" ? b[i].slice(4) : b[i];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
