/**
 * perf report's default view of a recording with branch stacks (branch
 * mode without `--sort`): one entry per (comm, source object, source
 * symbol, target symbol, cycles) of the branch-stack entries, each entry of
 * weight 1 (`default_branch_sort_order`, `iter_add_next_branch_entry`),
 * kept in perf's red-black trees with its comparisons (`sort__dso_from_cmp`,
 * `sort__sym_from_cmp`, `sort__sym_to_cmp`, `sort__cycles_cmp` in
 * tools/perf/util/sort.c), collapsed by comm and output-sorted as
 * `output_resort` does; printed as `hist_entry__sym_from_snprintf` and its
 * neighbours print the columns.
 *
 * @module
 */

import type { BranchEnd, BranchPair } from "../analyze/chains.ts";
import type { Profile } from "../analyze/profile.ts";
import { addrCmp, dsoShortName, fieldCmp, RbTree } from "./report_hist.ts";
import { formatPercent } from "./format.ts";
import { reportPreamble, type TextReportOptions } from "./text_report.ts";

/** One entry of the branch view. */
export interface BranchEntry {
  /** The comm of the thread that recorded it, at the time of its first sample. */
  readonly comm: string;
  /** That thread's id (perf's `he->thread`). */
  readonly tid: number;
  /** The branch's source. */
  readonly from: BranchEnd;
  /** The branch's target. */
  readonly to: BranchEnd;
  /** Its cycle count (0: not recorded). */
  readonly cycles: number;
  /** Branch-stack entries counted into it (each of weight 1). */
  weight: number;
}

/** Sign of C's strcmp on two texts (code-unit order: byte order for ASCII). */
function strcmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `_sort__dso_cmp(left, right)` on short names, a missing map lowest (`cmp_null(r, l)`). */
function dsoCmp(left: BranchEnd, right: BranchEnd): number {
  const l = left.frame.dso, r = right.frame.dso;
  if (l === undefined || r === undefined) {
    return l === undefined && r === undefined ? 0 : r === undefined ? -1 : 1;
  }
  return strcmp(dsoShortName(l, left.level === "k"), dsoShortName(r, right.level === "k"));
}

/**
 * `sort__sym_from_cmp` / `sort__sym_to_cmp`: two unresolved ends by address,
 * else `_sort__sym_cmp` (a missing symbol lowest, then the symbols' starts).
 */
function symCmp(left: BranchEnd, right: BranchEnd): number {
  const l = left.frame, r = right.frame;
  if (l.sym === undefined && r.sym === undefined) return addrCmp(left.ip, right.ip);
  if (l.sym === undefined || r.sym === undefined) return l.sym === undefined ? -1 : 1;
  if (l === r) return 0;
  if (l.symStart !== undefined && r.symStart !== undefined && l.symStart !== r.symStart) {
    return addrCmp(l.symStart, r.symStart);
  }
  // the same start (or none known): perf compares the ends, which are not kept; by name
  return strcmp(r.sym, l.sym);
}

/** `hist_entry__cmp` over comm, dso_from, symbol_from, symbol_to, cycles. */
function entryCmp(left: BranchEntry, right: BranchEntry): number {
  return strcmp(right.comm, left.comm) || dsoCmp(left.from, right.from) ||
    symCmp(left.from, right.from) || symCmp(left.to, right.to) ||
    fieldCmp(left.cycles, right.cycles);
}

/**
 * The branch view's histogram: add each branch-stack entry in sample order,
 * then read the entries in perf's output order.
 */
export class BranchHistogram {
  readonly #input = new RbTree<BranchEntry>();
  #total = 0;
  #entries: BranchEntry[] | undefined;

  /** The weight of every entry added (perf's event count in branch mode). */
  get total(): number {
    return this.#total;
  }

  /**
   * Count one branch-stack entry (`hists__add_entry` with a pseudo period of 1).
   * @param comm The sample's comm.
   * @param tid The sample's thread.
   * @param branch The entry's ends and cycles.
   */
  add(comm: string, tid: number, branch: BranchPair): void {
    const probe: BranchEntry = {
      comm,
      tid,
      from: branch.from,
      to: branch.to,
      cycles: branch.cycles,
      weight: 0,
    };
    const e = this.#input.findOrInsert((existing) => entryCmp(existing, probe), () => probe);
    e.weight++;
    this.#total++;
    this.#entries = undefined;
  }

  /**
   * The entries in perf's output order: collapsed by comm
   * (`hists__collapse_resort`), then by weight, greatest first, ties by
   * the keys (`sort__comm_sort`, then the comparisons above), equal ones in
   * collapsed order (the keys' output order is their comparison: only comm
   * has its own, `sort__comm_sort`, which compares as `sort__comm_cmp`).
   * @returns The entries.
   */
  entries(): BranchEntry[] {
    if (this.#entries !== undefined) return this.#entries;
    // merged copies: the input tree's entries keep their own weights
    const collapsed = new RbTree<BranchEntry>();
    for (const e of this.#input.inOrder()) {
      let made = false;
      const into = collapsed.findOrInsert((existing) => entryCmp(existing, e), () => {
        made = true;
        return { ...e };
      });
      if (!made) into.weight += e.weight;
    }
    const sort = (a: BranchEntry, b: BranchEntry) => fieldCmp(a.weight, b.weight) || entryCmp(a, b);
    return this.#entries = collapsed.inOrder().sort((a, b) => -sort(a, b));
  }
}

/**
 * The branch view's histograms of a recording, one per event, filled as the
 * input is read ({@linkcode BranchViews.add}, the load's `onBranch`).
 */
export class BranchViews {
  /** Histograms by event index. */
  readonly hists: Map<number, BranchHistogram> = new Map();

  /**
   * Count one branch-stack entry of a sample.
   * @param event The sample's event index.
   * @param comm Its comm.
   * @param tid Its thread.
   * @param branch The entry.
   */
  add(event: number, comm: string, tid: number, branch: BranchPair): void {
    let h = this.hists.get(event);
    if (h === undefined) this.hists.set(event, h = new BranchHistogram());
    h.add(comm, tid, branch);
  }
}

/** The Symbol column text of a branch end (`_hist_entry__sym_snprintf` with `al_addr`, `al_level`). */
function symText(end: BranchEnd): string {
  const f = end.frame;
  if (f.sym !== undefined) {
    const name = f.objectOffset !== undefined ? `${f.sym}+0x${f.objectOffset.toString(16)}` : f.sym;
    return `[${end.level}] ${name}`;
  }
  const hex = end.addr.toString(16).padStart(16, "0");
  return `[${end.level}] ${end.addr === 0n ? hex : "0x" + hex}`;
}

/** The width perf gives unresolved addresses (`BITS_PER_LONG / 4`). */
const UNRESOLVED_WIDTH = 16;

/**
 * The text of perf report's default branch view of one event.
 * @param profile The event's profile (its samples are the branch-stack entries).
 * @param hist The event's branch histogram.
 * @param options The report options (header, quiet, event name, percent limit).
 * @returns The section's text, ending with the blank lines perf prints.
 */
export function branchReportText(
  profile: Profile,
  hist: BranchHistogram,
  options: TextReportOptions = {},
): string {
  const total = hist.total;
  const entries = hist.entries();
  const limit = Math.fround(options.percentLimit ?? 0);
  const percent = (v: number) => (total ? (100 * v) / total : 0);
  const shown = entries.filter((e) => Math.fround(percent(e.weight)) >= limit);
  // hists__calc_col_len: symbols by name + 4 (or 22 unresolved), objects from resolved ends
  const headers = ["Command", "Source Shared Object", "Source Symbol", "Target Symbol"];
  const widths = headers.map((h) => h.length);
  const grow = (i: number, n: number) => {
    if (n > widths[i]) widths[i] = n;
  };
  const threads = options.threadNames;
  for (const e of entries) {
    // thread__comm_len: the length of the thread's comm now, which may not be the entry's
    grow(0, threads === undefined ? e.comm.length : threads.comm(e.tid).length);
    if (e.from.frame.sym !== undefined) {
      grow(2, symText(e.from).length);
      grow(1, dsoShortName(e.from.frame.dso, e.from.level === "k").length);
    } else {
      grow(2, UNRESOLVED_WIDTH + 6);
      grow(1, UNRESOLVED_WIDTH);
    }
    grow(3, e.to.frame.sym !== undefined ? symText(e.to).length : UNRESOLVED_WIDTH + 6);
  }
  const cyclesHeader = "Basic Block Cycles";
  const out = reportPreamble(
    profile,
    options,
    [],
    profile.samples,
    total,
    `event '${options.eventName ?? "cycles"}'`,
  );
  if (!options.quiet) {
    out.push(
      "# Overhead  " + headers.map((h, i) => h.padEnd(widths[i])).join("  ") + "  " + cyclesHeader,
    );
    out.push(
      "# ........  " + widths.map((w) => ".".repeat(w)).join("  ") + "  " +
        ".".repeat(cyclesHeader.length),
    );
    out.push("#");
  }
  const cut = (s: string, w: number) => s.slice(0, w).padEnd(w);
  for (const e of shown) {
    const cells = [
      cut(e.comm, widths[0]),
      cut(dsoShortName(e.from.frame.dso, e.from.level === "k"), widths[1]),
      cut(symText(e.from), widths[2]),
      cut(symText(e.to), widths[3]),
      // "%-*hd": the 16-bit count as a signed short
      (e.cycles === 0 ? "-" : String((e.cycles << 16) >> 16)).padEnd(cyclesHeader.length),
    ];
    out.push(
      ("  " + (formatPercent(percent(e.weight)) + "%").padStart(8)) + "  " + cells.join("  "),
    );
  }
  out.push("");
  out.push("");
  return out.join("\n") + "\n";
}
