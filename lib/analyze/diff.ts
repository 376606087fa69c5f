/**
 * Differential profiles: per-function self/total deltas between a baseline and
 * a comparison profile (normalised to shares of each profile's total), the
 * FlameGraph `difffolded.pl` format (`stack count1 count2`), and a text table
 * of the biggest changes.
 *
 * @example
 * ```ts
 * import { diffProfiles, diffTable } from "./diff.ts";
 * // const rows = diffProfiles(before, after); console.log(diffTable(rows));
 * ```
 *
 * @module
 */

import type { Profile } from "./profile.ts";
import { functionTotals } from "./call_tree.ts";

/** One function's change between two profiles. */
export interface FrameDelta {
  /** Display name of the function. */
  name: string;
  /** Object it belongs to (may be undefined). */
  dso: string | undefined;
  /** Frame key (kind, dso, symbol) shared by both profiles. */
  key: string;
  /** Self weight in the baseline / comparison. */
  selfA: number;
  /** Self weight in the comparison. */
  selfB: number;
  /** Total weight in the baseline. */
  totalA: number;
  /** Total weight in the comparison. */
  totalB: number;
  /** Self share of the comparison minus self share of the baseline, in percent points. */
  selfDelta: number;
  /** Total share delta in percent points. */
  totalDelta: number;
}

/**
 * Per-function deltas, sorted by |totalDelta| then |selfDelta| descending.
 * @param a Baseline profile.
 * @param b Comparison profile.
 * @returns One row per function present in either profile.
 */
export function diffProfiles(a: Profile, b: Profile): FrameDelta[] {
  const rows = new Map<string, FrameDelta>();
  const take = (p: Profile, side: "A" | "B") => {
    for (const t of functionTotals(p)) {
      const key = p.frames.keyOf(t.frame);
      let r = rows.get(key);
      if (!r) {
        r = {
          name: p.frames.names[t.frame],
          dso: p.frames.dsos[t.frame],
          key,
          selfA: 0,
          selfB: 0,
          totalA: 0,
          totalB: 0,
          selfDelta: 0,
          totalDelta: 0,
        };
        rows.set(key, r);
      }
      r[`self${side}`] += t.self;
      r[`total${side}`] += t.total;
    }
  };
  take(a, "A");
  take(b, "B");
  const share = (v: number, total: number) => (total ? (100 * v) / total : 0);
  const out = [...rows.values()];
  for (const r of out) {
    r.selfDelta = share(r.selfB, b.totalWeight) - share(r.selfA, a.totalWeight);
    r.totalDelta = share(r.totalB, b.totalWeight) - share(r.totalA, a.totalWeight);
  }
  return out.sort((x, y) =>
    Math.abs(y.totalDelta) - Math.abs(x.totalDelta) ||
    Math.abs(y.selfDelta) - Math.abs(x.selfDelta) ||
    (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)
  );
}

/**
 * A text table of the biggest changes.
 * @param rows Output of {@linkcode diffProfiles}.
 * @param limit Maximum rows (default 20).
 * @returns The table text.
 */
export function diffTable(rows: readonly FrameDelta[], limit = 20): string {
  const signed = (x: number) => (x >= 0 ? "+" : "-") + Math.abs(x).toFixed(2) + "%";
  const lines = ["# Total delta   Self delta  Symbol", "# ...........  ..........  ......"];
  for (const r of rows.slice(0, limit)) {
    lines.push(
      `  ${signed(r.totalDelta).padStart(11)}  ${signed(r.selfDelta).padStart(10)}  ${r.name}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Options of {@linkcode diffFolded}. */
export interface DiffFoldedOptions {
  /** Scale counts of the first input to the total of the second (`-n`). */
  normalize?: boolean;
  /** Replace hex numbers by `0x...` (`-s`). */
  stripHex?: boolean;
}

/**
 * difffolded.pl: merges two folded inputs into `stack count1 count2` lines
 * (sorted bytewise; the Perl script prints in hash order).
 * @param folded1 Baseline folded text.
 * @param folded2 Comparison folded text.
 * @param options `-n` / `-s`.
 * @returns The diff-folded text for `flamegraph.pl`.
 */
export function diffFolded(
  folded1: string,
  folded2: string,
  options: DiffFoldedOptions = {},
): string {
  const counts = new Map<string, [number, number]>();
  const totals = [0, 0];
  [folded1, folded2].forEach((text, side) => {
    for (const raw of text.split("\n")) {
      const m = /^(.*)\s+?(\d+(?:\.\d*)?)$/.exec(raw);
      if (!m) continue;
      const stack = options.stripHex ? m[1].replace(/0x[0-9a-fA-F]+/g, "0x...") : m[1];
      const c = Number(m[2]);
      const entry = counts.get(stack) ?? [0, 0];
      entry[side] += c;
      counts.set(stack, entry);
      totals[side] += c;
    }
  });
  const keys = [...counts.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return keys.map((k) => {
    let [c1, c2] = counts.get(k)!;
    if (options.normalize && totals[0] !== totals[1] && totals[0] !== 0) {
      c1 = Math.trunc((c1 * totals[1]) / totals[0]);
    }
    return `${k} ${c1} ${c2}\n`;
  }).join("");
}
