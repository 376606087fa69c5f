/**
 * The call graph of `perf report --stdio`: each entry's callchains merged
 * into a trie (perf's `callchain_append` / `callchain_merge` in
 * tools/perf/util/callchain.c) and printed in `-g graph` mode with absolute
 * percents (`callchain__fprintf_graph` in tools/perf/ui/stdio/hist.c).
 *
 * @module
 */

import { PairIndex } from "../analyze/pair_index.ts";
import type { Profile } from "../analyze/profile.ts";
import { formatPercent } from "./format.ts";

/**
 * perf's callchain-line name of a frame: symbol (+ ` (inlined)`) or `%#llx` of the address.
 * @param profile Profile.
 * @param frame Frame id.
 * @returns The name.
 */
export function chainName(profile: Profile, frame: number): string {
  const t = profile.frames;
  const sym = t.syms[frame];
  if (sym !== undefined) return t.inlined[frame] ? sym + " (inlined)" : sym;
  const ip = t.ips[frame];
  if (ip === undefined) return "[unknown]";
  return ip === 0n ? "0" : "0x" + ip.toString(16);
}

/**
 * The call-chain tries of all report entries in one store: node fields in
 * typed arrays, children in insertion order (first/next lists) and found by
 * (parent, frame) through one hash. A node id stands for a trie node.
 */
export class ChainStore {
  frame = new Int32Array(1024);
  hits = new Float64Array(1024);
  cumul = new Float64Array(1024);
  /** Child count, first child, last child and next sibling (-1: none). */
  count = new Int32Array(1024);
  first = new Int32Array(1024);
  last = new Int32Array(1024);
  next = new Int32Array(1024);
  size = 0;
  readonly #index = new PairIndex();

  /** A new node (a root when `frame` is -1). */
  node(frame: number): number {
    const id = this.size++;
    if (id === this.frame.length) this.#grow();
    this.frame[id] = frame;
    this.first[id] = this.last[id] = this.next[id] = -1;
    return id;
  }

  /** The child of `parent` for `frame`, appended to its children when new. */
  child(parent: number, frame: number): number {
    return this.#index.getOrAdd(parent, frame, this.#append);
  }

  /** A new child node of `parent` for `frame`, last of its children. */
  readonly #append = (parent: number, frame: number): number => {
    const c = this.node(frame);
    if (this.last[parent] < 0) this.first[parent] = c;
    else this.next[this.last[parent]] = c;
    this.last[parent] = c;
    this.count[parent]++;
    return c;
  };

  #grow(): void {
    const len = this.frame.length * 2;
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(len);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(len);
      b.set(a);
      return b;
    };
    this.frame = i32(this.frame);
    this.hits = f64(this.hits);
    this.cumul = f64(this.cumul);
    this.count = i32(this.count);
    this.first = i32(this.first);
    this.last = i32(this.last);
    this.next = i32(this.next);
  }
}

/**
 * Add one callchain (from index `from` on) under `root` with weight `weight`.
 * @param store The trie store.
 * @param root The entry's root node.
 * @param chain Frame ids in cursor order.
 * @param from First index used.
 * @param weight The sample weight.
 */
export function addChain(
  store: ChainStore,
  root: number,
  chain: readonly number[],
  from: number,
  weight: number,
): void {
  const cumul = store.cumul;
  let node = root;
  cumul[node] += weight;
  for (let i = from; i < chain.length; i++) {
    node = store.child(node, chain[i]);
    store.cumul[node] += weight;
  }
  store.hits[node] += weight;
}

/** A path-compressed chain node, as perf's callchain_node with its `val` list. */
interface Compressed {
  frames: number[];
  cumul: number;
  last: number;
}

function compress(store: ChainStore, node: number): Compressed {
  const frames = [store.frame[node]];
  let last = node;
  while (store.hits[last] === 0 && store.count[last] === 1) {
    last = store.first[last];
    frames.push(store.frame[last]);
  }
  return { frames, cumul: store.cumul[node], last };
}

function sortedChildren(
  profile: Profile,
  store: ChainStore,
  node: number,
  minHit: number,
  dsoRank?: DsoRank,
): Compressed[] {
  const out: Compressed[] = [];
  for (let c = store.first[node]; c >= 0; c = store.next[c]) {
    if (store.cumul[c] < minHit) continue; // what compress() would report as cumul
    out.push(compress(store, c));
  }
  return out.sort((a, b) =>
    b.cumul - a.cumul || tieOrder(profile, a.frames[0], b.frames[0], dsoRank)
  );
}

/**
 * Where perf created a dso object, for the order of equal-weight call-graph children: perf
 * keeps them in the order of its input tree (`match_chain_dso_addresses`: dso pointers
 * descending, then addresses), and dso objects are allocated as perf meets them (the header's
 * build-id table, then the first MMAP of each file), so a later one has the higher pointer.
 * A frame without a map has no dso (NULL, the lowest).
 *
 * @param dso A frame's object, undefined without a map.
 * @returns A rank growing with creation order; -1 for no map.
 */
export type DsoRank = (dso: string | undefined) => number;

/**
 * perf keeps equal-weight callchain children in the order of its input tree:
 * same dso by descending symbol address, else by dso (creation order descending when a
 * {@linkcode DsoRank} is known, else by name). We approximate the address with a
 * representative address per function (exact for non-overlapping functions).
 */
function tieOrder(profile: Profile, a: number, b: number, dsoRank?: DsoRank): number {
  const t = profile.frames;
  if ((t.inlined[a] || t.inlined[b]) && t.syms[a] !== undefined && t.syms[b] !== undefined) {
    // match_chain compares inlined frames by name (strcmp): larger names first
    const na = t.names[a], nb = t.names[b];
    if (na !== nb) return na > nb ? -1 : 1;
  }
  const da = t.dsos[a] ?? "";
  const db = t.dsos[b] ?? "";
  if (da !== db) {
    if (dsoRank !== undefined) {
      const ra = dsoRank(t.dsos[a]), rb = dsoRank(t.dsos[b]);
      if (ra !== rb) return rb - ra;
    }
    return da < db ? -1 : 1;
  }
  const xa = t.addrs[a];
  const xb = t.addrs[b];
  if (xa !== undefined && xb !== undefined && xa !== xb) return xa > xb ? -1 : 1;
  return t.names[a] < t.names[b] ? -1 : t.names[a] > t.names[b] ? 1 : 0;
}

function margin(left: number): string {
  return " ".repeat(12 + left);
}

/**
 * Print an entry's call graph below its line.
 * @param out Output lines (appended to).
 * @param profile The profile.
 * @param store The trie store.
 * @param root The entry's root node.
 * @param total The report total (absolute percents).
 * @param parentSamples The entry's own value (children or self).
 * @param minHit Branches below this weight are hidden.
 * @param skipFirst Leave out the entry's own frame (sort by sym first).
 * @param printLimit At most this many branches per level (perf's `print_limit`; 0: all).
 * @param dsoRank Creation order of dso objects, for ties (default: by name).
 */
export function printGraph(
  out: string[],
  profile: Profile,
  store: ChainStore,
  root: number,
  total: number,
  parentSamples: number,
  minHit: number,
  skipFirst: boolean,
  printLimit = 0,
  dsoRank?: DsoRank,
): void {
  const start = out.length;
  let left = 0;
  let base = sortedChildren(profile, store, root, minHit, dsoRank);
  if (base.length === 1 && base[0].cumul === parentSamples) {
    const cnode = base[0];
    let printed = false, entries = 0;
    cnode.frames.forEach((f, i) => {
      if (i === 0 && skipFirst) return;
      // print_limit also cuts this single root's entries
      if (printLimit > 0 && entries++ >= printLimit) return;
      if (!printed) {
        out.push(margin(left) + "|");
        out.push(margin(left) + "---" + chainName(profile, f));
        left += 3;
        printed = true;
      } else {
        out.push(margin(left) + chainName(profile, f));
      }
    });
    base = sortedChildren(profile, store, cnode.last, minHit, dsoRank);
  }
  interface Level {
    items: Compressed[];
    next: number;
    depth: number;
    mask: boolean[];
    newMask: boolean[];
  }
  const levels: Level[] = [{ items: base, next: 0, depth: 1, mask: [true], newMask: [true] }];
  while (levels.length) {
    const lv = levels[levels.length - 1];
    // print_limit stops a level early; its last printed branch keeps its pipe (more follow)
    if (lv.next >= lv.items.length || (printLimit > 0 && lv.next >= printLimit)) {
      levels.pop();
      continue;
    }
    const child = lv.items[lv.next++];
    const depth = lv.depth;
    if (lv.next === lv.items.length) lv.newMask[depth - 1] = false;
    let line = margin(left);
    for (let i = 0; i < depth; i++) line += lv.mask[i] ? "|          " : "           ";
    out.push(line);
    child.frames.forEach((f, idx) => {
      let l = margin(left);
      for (let i = 0; i < depth; i++) {
        l += lv.newMask[i] ? "|" : " ";
        l += idx === 0 && i === depth - 1
          ? "--" + formatPercent(total ? (child.cumul * 100) / total : 0) + "%--"
          : "          ";
      }
      out.push(l + chainName(profile, f));
    });
    const sub = sortedChildren(profile, store, child.last, minHit, dsoRank);
    if (sub.length) {
      const mask = lv.newMask.slice(0, depth);
      mask[depth] = true;
      levels.push({ items: sub, next: 0, depth: depth + 1, mask, newMask: mask.slice() });
    }
  }
  if (out.length > start) out.push("");
}

/**
 * Print an entry's callchains in `-g folded` mode below its line, as perf's
 * `callchain__fprintf_folded` (tools/perf/ui/stdio/hist.c) after
 * `sort_chain_flat`: every trie node where chains end (its own `hit` at
 * least `minHit`), visited children first in the trie's order, then ordered
 * by `hit` (ties in visiting order); a line per node: the percent of its
 * hit, a space and the frames from the root to it joined by `;`.
 * @param out Output lines (appended to).
 * @param profile The profile.
 * @param store The trie store.
 * @param root The entry's root node.
 * @param total The report total (absolute percents).
 * @param minHit Nodes whose own hits are below this weight are left out.
 * @param printLimit At most this many lines (perf's `print_limit`; 0: all).
 * @param dsoRank Creation order of dso objects, for the trie's order (default: by name).
 */
export function printFolded(
  out: string[],
  profile: Profile,
  store: ChainStore,
  root: number,
  total: number,
  minHit: number,
  printLimit = 0,
  dsoRank?: DsoRank,
): void {
  const found: { node: number; path: string }[] = [];
  // post-order walk: [node, path to it, children left to visit]
  const visit = (node: number, path: string): void => {
    const kids: number[] = [];
    for (let c = store.first[node]; c >= 0; c = store.next[c]) kids.push(c);
    kids.sort((a, b) => tieOrder(profile, store.frame[a], store.frame[b], dsoRank));
    for (const c of kids) {
      const name = chainName(profile, store.frame[c]);
      visit(c, path === "" ? name : `${path};${name}`);
    }
    if (node !== root && store.hits[node] > 0 && store.hits[node] >= minHit) {
      found.push({ node, path });
    }
  };
  visit(root, "");
  found.sort((a, b) => store.hits[b.node] - store.hits[a.node]);
  const n = printLimit > 0 ? Math.min(printLimit, found.length) : found.length;
  for (let i = 0; i < n; i++) {
    const hit = store.hits[found[i].node];
    out.push(`${formatPercent(total ? (hit * 100) / total : 0)}% ${found[i].path}`);
  }
}

/** perf report's `-g` / `--call-graph` parameters that callring prints. */
export interface CallGraphParams {
  /** `graph`, `folded` (the print types callring prints) or `none`. */
  mode: "graph" | "folded" | "none";
  /** Hide branches below this percent (perf's default 0.5). */
  threshold?: number;
  /** perf's `print_limit` (the second number): at most this many folded lines per entry. */
  printLimit?: number;
  /** `caller` or `callee` order. */
  order?: "caller" | "callee";
}

/** A `-g` argument callring cannot honour (a print type, key or value it does not print). */
export class CallGraphParamError extends RangeError {
  /**
   * Creates the instance.
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "CallGraphParamError";
  }
}

/**
 * Parse perf report's `-g` argument as `parse_callchain_report_opt`
 * (tools/perf/util/callchain.c) reads it: comma-separated tokens in any
 * order, a print type (`graph`, `flat`, `fractal`, `folded`, `none`), an
 * order (`caller`, `callee`), a key (`function`, `address`), `branch`, a
 * value (`percent`, `period`, `count`), a threshold and a print limit
 * (numbers, in that order). callring prints `graph` (absolute percents) keyed
 * by function with percent values; the other choices are refused by name.
 *
 * @param text The argument (`graph,0.5,caller,function,percent`).
 * @returns The parameters.
 * @throws {CallGraphParamError} For unknown tokens and choices callring does not print.
 */
export function parseCallGraphParams(text: string): CallGraphParams {
  const out: CallGraphParams = { mode: "graph" };
  let numbers = 0;
  for (const raw of text.split(",")) {
    const tok = raw.trim();
    if (tok === "") continue;
    if (tok === "graph" || tok === "none" || tok === "folded") out.mode = tok;
    else if (tok === "caller" || tok === "callee") out.order = tok;
    else if (tok === "function" || tok === "percent") continue;
    else if (/^\d+(\.\d*)?$|^\.\d+$/.test(tok)) {
      if (numbers === 0) out.threshold = Number(tok);
      else if (numbers === 1) out.printLimit = Math.trunc(Number(tok));
      else throw new CallGraphParamError(`-g ${text}: too many numbers`);
      numbers++;
    } else if (
      ["flat", "fractal", "address", "branch", "period", "count"].includes(tok)
    ) {
      throw new CallGraphParamError(
        `-g ${text}: "${tok}" is not printed by callring (it prints graph or folded,` +
          "<threshold>,<print limit>,caller|callee,function,percent and none)",
      );
    } else {
      throw new CallGraphParamError(`-g ${text}: unknown call-graph parameter "${tok}"`);
    }
  }
  return out;
}
