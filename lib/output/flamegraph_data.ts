/**
 * The compact data of the HTML flame graph ({@linkcode flamegraphHtml}): a
 * merged `all;process;frame;...` tree (children in name order, like
 * flamegraph.pl fed sorted folded stacks), pruned below a minimum width as
 * FlameGraph's `--minwidth` does, flattened in preorder into one number array
 * of five numbers per node; a string table; an optional baseline per node for
 * differential graphs (`report --diff`); and per thread a time-ordered run
 * list for the flame chart, bucketed to the screen's resolution.
 *
 * The size is bounded by the number of nodes kept ({@linkcode FlameDataOptions.maxNodes})
 * and the chart buckets, not by the number of samples.
 *
 * @module
 */

import { PairIndex } from "../analyze/pair_index.ts";
import type { Profile } from "../analyze/profile.ts";
import { foldedFrameName } from "./folded.ts";

/** Frame kinds of the HTML data, by their number in {@linkcode FlameData.nodes}. */
export const FLAME_KINDS = [
  "root",
  "process",
  "user",
  "kernel",
  "jit",
  "marker",
  "truncated",
] as const;

/** One of {@linkcode FLAME_KINDS}. */
export type FlameDataKind = typeof FLAME_KINDS[number];

/** A thread of the flame chart. */
export interface FlameThread {
  /** Display name: `comm pid/tid`. */
  name: string;
  /** First sample time, ns. */
  t0: number;
  /** Last sample time, ns. */
  t1: number;
  /** Samples of the thread. */
  samples: number;
  /** Buckets the span [t0, t1] is divided into. */
  buckets: number;
  /** Runs as pairs (first bucket, node index or -1 for no sample), in time order. */
  runs: number[];
}

/** What the page reads (serialised as JSON into the HTML). */
export interface FlameData {
  /** Page title. */
  title: string;
  /** Weight unit: `ns` (clock events), `samples`, or the event name (counts). */
  unit: string;
  /** Event name. */
  event: string;
  /** Total weight (of the comparison profile for diffs). */
  total: number;
  /** Baseline total (diffs only). */
  baseTotal?: number;
  /** Samples in the profile. */
  samples: number;
  /** String table. */
  names: string[];
  /** Preorder nodes, 5 numbers each: name index, kind index, depth, total weight, self weight. */
  nodes: number[];
  /** Baseline total weight per node (diffs only). */
  base?: number[];
  /** Nodes and weight left out by the minimum width. */
  pruned: { nodes: number; weight: number };
  /** Minimum node weight kept. */
  minWeight: number;
  /** Flame chart threads (empty without a timeline). */
  threads: FlameThread[];
  /** Canvas width in CSS px (0: fit the window). */
  width: number;
  /** Palette name. */
  palette: string;
}

/** Options of {@linkcode flameData}. */
export interface FlameDataOptions {
  /** Title. */
  title?: string;
  /** Weight by period (default) or samples. */
  weight?: "period" | "samples";
  /** Event name (default `cpu-clock`); clock events get unit `ns`. */
  eventName?: string;
  /** Baseline profile: makes a differential graph (widths from `profile`, colour by change). */
  baseline?: Profile;
  /** Minimum width in px at the reference width (FlameGraph `--minwidth`, default 0.1). */
  minWidth?: number;
  /** Reference width for the pruning and the chart buckets (default 1200 px). */
  referenceWidth?: number;
  /** Most nodes kept; the minimum width doubles until it fits (default 30000). */
  maxNodes?: number;
  /** Most threads in the flame chart, heaviest first (default 16). */
  maxThreads?: number;
  /** Canvas width in px (default 0: the window's width). */
  width?: number;
  /** Palette (default `hot`). */
  palette?: string;
}

const JIT_DSO = /(^|\/)perf-\d+\.map$|^\[JIT\]|(^|\/)jitted-\d+-\d+\.so$|^\/memfd:/;

interface Tree {
  parent: number[];
  name: number[];
  kind: number[];
  total: number[];
  self: number[];
  base: number[];
}

/**
 * Builds the page data.
 * @param profile The profile (the comparison one for diffs).
 * @param options Title, weighting, pruning, baseline.
 * @returns The data.
 */
export function flameData(profile: Profile, options: FlameDataOptions = {}): FlameData {
  const names: string[] = [];
  const nameIds = new Map<string, number>();
  const intern = (s: string) => {
    let id = nameIds.get(s);
    if (id === undefined) nameIds.set(s, id = names.push(s) - 1);
    return id;
  };
  const tree: Tree = {
    parent: [-1],
    name: [intern("all")],
    kind: [0],
    total: [0],
    self: [0],
    base: [0],
  };
  const children = new PairIndex();
  const addChild = (parent: number, key: number): number => {
    const id = tree.parent.length;
    tree.parent.push(parent);
    tree.name.push(Math.floor(key / 8));
    tree.kind.push(key % 8);
    tree.total.push(0);
    tree.self.push(0);
    tree.base.push(0);
    return id;
  };
  const child = (parent: number, name: number, kind: number): number =>
    children.getOrAdd(parent, name * 8 + kind, addChild);
  const bySamples = options.weight === "samples";
  /** Adds a profile's stacks; returns each stack record's leaf node. */
  const baseSelf: number[] = [];
  const add = (p: Profile, into: "total" | "base"): Int32Array => {
    const leafOf = new Int32Array(p.stackCount);
    const t = p.frames;
    const frameName = new Int32Array(t.size).fill(-2); // -2 not yet named, -1 skipped
    const frameKind = new Uint8Array(t.size);
    const classNode = new Int32Array(p.classes.length).fill(-1);
    // Flame node of each trie node for the process it was last reached from: the walk up
    // from a stack's leaf stops at the first trie node already placed for this process.
    const memoProc = new Int32Array(p.nodeCount).fill(-1);
    const memoNode = new Int32Array(p.nodeCount);
    const path: number[] = [];
    const selfs = into === "total" ? tree.self : baseSelf;
    for (let i = 0; i < p.stackCount; i++) {
      const w = bySamples ? p.stackSamples[i] : p.stackWeight[i];
      const cls = p.stackClass[i];
      if (classNode[cls] < 0) {
        classNode[cls] = child(0, intern(p.classes[cls].comm), 1);
      }
      const proc = classNode[cls];
      path.length = 0;
      let node = p.stackNode[i];
      while (node > 0 && memoProc[node] !== proc) {
        path.push(node);
        node = p.nodeParent[node];
      }
      let n = node > 0 ? memoNode[node] : proc;
      for (let k = path.length - 1; k >= 0; k--) {
        const trie = path[k];
        const f = p.nodeFrame[trie];
        if (frameName[f] === -2) {
          const name = foldedFrameName(p, f);
          frameName[f] = name === undefined ? -1 : intern(name);
          const kind = t.kinds[f];
          const dso = t.dsos[f];
          frameKind[f] = kind === "kernel"
            ? 3
            : kind === "marker"
            ? 5
            : kind === "truncated"
            ? 6
            : dso !== undefined && JIT_DSO.test(dso)
            ? 4
            : 2;
        }
        if (frameName[f] >= 0) n = child(n, frameName[f], frameKind[f]);
        memoProc[trie] = proc;
        memoNode[trie] = n;
      }
      while (selfs.length < tree.parent.length) selfs.push(0);
      selfs[n] += w;
      leafOf[i] = n;
    }
    return leafOf;
  };
  const leafOf = add(profile, "total");
  if (options.baseline) add(options.baseline, "base");
  // Totals from the self weights: children always have larger ids than their parents.
  for (let i = 0; i < tree.parent.length; i++) {
    tree.total[i] = tree.self[i];
    tree.base[i] = baseSelf[i] ?? 0;
  }
  for (let i = tree.parent.length - 1; i > 0; i--) {
    tree.total[tree.parent[i]] += tree.total[i];
    tree.base[tree.parent[i]] += tree.base[i];
  }

  // Prune: the minimum width doubles until the tree fits in maxNodes.
  const total = tree.total[0];
  const refWidth = options.referenceWidth ?? 1200;
  const maxNodes = options.maxNodes ?? 30000;
  let minWeight = total * (options.minWidth ?? 0.1) / refWidth;
  const count = tree.parent.length;
  const kept = new Uint8Array(count);
  for (;;) {
    let n = 0;
    for (let i = 0; i < count; i++) {
      // Parents come before children: a node is kept when it and its parent are.
      const p = tree.parent[i];
      kept[i] = (i === 0 || (kept[p] === 1 && tree.total[i] >= minWeight && tree.total[i] > 0))
        ? 1
        : 0;
      n += kept[i];
    }
    if (n <= maxNodes || minWeight >= total) break;
    minWeight = Math.max(minWeight * 2, 1e-9);
  }

  // Children lists in name order, then a preorder walk.
  const kids: number[][] = Array.from({ length: count }, () => []);
  for (let i = 1; i < count; i++) if (kept[i]) kids[tree.parent[i]].push(i);
  for (const k of kids) {
    if (k.length > 1) k.sort((a, b) => cmp(names[tree.name[a]], names[tree.name[b]]) || a - b);
  }
  const order = new Int32Array(count).fill(-1);
  const nodes: number[] = [];
  const base: number[] = [];
  let prunedNodes = 0;
  let prunedWeight = 0;
  const todo: [number, number][] = [[0, 0]];
  let next = 0;
  while (todo.length > 0) {
    const [i, depth] = todo.pop()!;
    order[i] = next++;
    nodes.push(tree.name[i], tree.kind[i], depth, tree.total[i], tree.self[i]);
    if (options.baseline) base.push(tree.base[i]);
    const k = kids[i];
    for (let j = k.length - 1; j >= 0; j--) todo.push([k[j], depth + 1]);
  }
  for (let i = 1; i < count; i++) {
    if (!kept[i] && kept[tree.parent[i]] && tree.total[i] > 0) {
      prunedNodes++;
      prunedWeight += tree.total[i];
    }
  }
  // Deepest kept node of each original node (for the chart's stack records).
  const keptNode = (n: number) => {
    while (order[n] < 0) n = tree.parent[n];
    return order[n];
  };

  const event = options.eventName ?? "cpu-clock";
  const base0 = event.split(":")[0];
  const unit = bySamples
    ? "samples"
    : base0 === "cpu-clock" || base0 === "task-clock"
    ? "ns"
    : event;
  const data: FlameData = {
    title: options.title ?? "Flame Graph",
    unit,
    event,
    total,
    samples: profile.samples,
    names,
    nodes,
    pruned: { nodes: prunedNodes, weight: prunedWeight },
    minWeight,
    threads: flameThreads(profile, leafOf, keptNode, refWidth, options.maxThreads ?? 16),
    width: options.width ?? 0,
    palette: options.palette ?? "hot",
  };
  if (options.baseline) {
    data.base = base;
    data.baseTotal = tree.base[0];
  }
  return data;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The flame chart: per thread, the most frequent node per time bucket, run-length coded. */
function flameThreads(
  profile: Profile,
  leafOf: Int32Array,
  keptNode: (n: number) => number,
  buckets: number,
  maxThreads: number,
): FlameThread[] {
  const tl = profile.timeline;
  if (tl === undefined || tl.time.length === 0) return [];
  const byThread = new Map<string, number[]>();
  for (let i = 0; i < tl.time.length; i++) {
    const c = profile.classes[profile.stackClass[tl.stack[i]]];
    const key = `${c.pid}/${c.tid}`;
    let list = byThread.get(key);
    if (list === undefined) byThread.set(key, list = []);
    list.push(i);
  }
  const threads = [...byThread.entries()].sort((a, b) => b[1].length - a[1].length)
    .slice(0, maxThreads);
  const out: FlameThread[] = [];
  const nodeOfStack = new Map<number, number>();
  const nodeOf = (stack: number) => {
    let n = nodeOfStack.get(stack);
    if (n === undefined) nodeOfStack.set(stack, n = keptNode(leafOf[stack]));
    return n;
  };
  for (const [key, list] of threads) {
    list.sort((a, b) => tl.time[a] - tl.time[b] || a - b);
    const t0 = tl.time[list[0]];
    const t1 = tl.time[list[list.length - 1]];
    const span = Math.max(1, t1 - t0);
    // The comm the thread ended with (what it exec'd), as speedscope.ts names threads.
    const last = profile.classes[profile.stackClass[tl.stack[list[list.length - 1]]]];
    // A sample stands for the time until the next one; a gap over twice the median
    // interval is time the thread did not run (no node).
    const gaps: number[] = [];
    for (let j = 1; j < list.length; j++) gaps.push(tl.time[list[j]] - tl.time[list[j - 1]]);
    gaps.sort((a, b) => a - b);
    const idle = 2 * (gaps.length > 0 ? gaps[gaps.length >> 1] : span);
    const runs: number[] = [];
    let prev = -2;
    let k = 0;
    let lastTime = t0;
    for (let b = 0; b < buckets; b++) {
      const start = t0 + span * b / buckets;
      const end = t0 + span * (b + 1) / buckets;
      const counts = new Map<number, number>();
      let best = -1;
      let bestCount = 0;
      for (; k < list.length && (tl.time[list[k]] < end || b === buckets - 1); k++) {
        lastTime = tl.time[list[k]];
        const n = nodeOf(tl.stack[list[k]]);
        const c = (counts.get(n) ?? 0) + 1;
        counts.set(n, c);
        if (c > bestCount) {
          bestCount = c;
          best = n;
        }
      }
      if (bestCount === 0) best = prev >= 0 && start - lastTime <= idle ? prev : -1;
      if (best !== prev) {
        runs.push(b, best);
        prev = best;
      }
    }
    out.push({
      name: `${last.comm} ${key}`,
      t0,
      t1,
      samples: list.length,
      buckets,
      runs,
    });
  }
  return out;
}
