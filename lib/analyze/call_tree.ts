/**
 * Call-tree queries over a {@linkcode Profile}: top-down (caller) and bottom-up
 * (callee, inverted) trees, per-function self/total ("children" in perf terms,
 * counted once per sample even under recursion), focus on a function.
 *
 * Everything is iterative: no recursion over tree depth.
 *
 * @example
 * ```ts
 * import { ProfileBuilder } from "./profile.ts";
 * import { functionTotals, topDownTree } from "./call_tree.ts";
 * const b = new ProfileBuilder();
 * const f = (sym: string) => ({ sym, dso: "/bin/x", kernel: false });
 * b.add({ frames: [f("leaf"), f("main")], weight: 2, pid: 1, tid: 1, cpu: 0, comm: "x",
 *   time: 0, context: "task", truncated: false });
 * const p = b.build();
 * topDownTree(p).children[0].total; // 2 ("main")
 * functionTotals(p).find((t) => p.frames.names[t.frame] === "leaf")?.self; // 2
 * ```
 *
 * @module
 */

import type { Profile } from "./profile.ts";

/** A node of a materialised call tree. */
export interface CallTreeNode {
  /** Frame id in `profile.frames` (-1 for the root). */
  frame: number;
  /** Weight of samples ending here (top-down); on the first level of a bottom-up tree, of samples whose leaf this is (0 below it). */
  self: number;
  /** Weight of samples passing through this node. */
  total: number;
  /** Sample count counterpart of `self`. */
  selfSamples: number;
  /** Sample count counterpart of `total`. */
  totalSamples: number;
  /** Children, sorted by total weight descending, then name. */
  children: CallTreeNode[];
}

/** Which stack records a query looks at (record index -> keep). */
export type StackSelector = (stack: number) => boolean;

function newNode(frame: number): CallTreeNode {
  return { frame, self: 0, total: 0, selfSamples: 0, totalSamples: 0, children: [] };
}

/** Builds a tree by inserting root-first paths; child lookup through a per-build map. */
class TreeAccumulator {
  readonly root = newNode(-1);
  readonly #index = new Map<CallTreeNode, Map<number, CallTreeNode>>();

  /**
   * Insert a root-first path; its self weight goes to the node at depth
   * `selfDepth` (default the path's last node; the root for an empty path).
   */
  add(path: readonly number[], weight: number, samples: number, selfDepth = path.length): void {
    let node = this.root;
    node.total += weight;
    node.totalSamples += samples;
    let depth = 0;
    let selfNode = node;
    for (const frame of path) {
      let m = this.#index.get(node);
      if (!m) this.#index.set(node, m = new Map());
      let c = m.get(frame);
      if (!c) {
        c = newNode(frame);
        m.set(frame, c);
        node.children.push(c);
      }
      node = c;
      node.total += weight;
      node.totalSamples += samples;
      if (++depth === selfDepth) selfNode = node;
    }
    selfNode.self += weight;
    selfNode.selfSamples += samples;
  }

  finish(profile: Profile): CallTreeNode {
    sortTree(this.root, profile);
    return this.root;
  }
}

/**
 * Sorts every child list by total descending, ties by frame name (iteratively).
 * @param root Tree root.
 * @param profile Profile for frame names.
 */
export function sortTree(root: CallTreeNode, profile: Profile): void {
  const names = profile.frames.names;
  const todo = [root];
  while (todo.length) {
    const n = todo.pop()!;
    n.children.sort((a, b) => b.total - a.total || cmp(names[a.frame], names[b.frame]));
    for (const c of n.children) todo.push(c);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Top-down (caller-first) call tree.
 * @param profile The profile.
 * @param select Optional record selector (e.g. one thread).
 * @returns The root node (frame -1).
 */
export function topDownTree(profile: Profile, select?: StackSelector): CallTreeNode {
  const acc = new TreeAccumulator();
  for (let i = 0; i < profile.stackCount; i++) {
    if (select && !select(i)) continue;
    acc.add(profile.pathOf(profile.stackNode[i]), profile.stackWeight[i], profile.stackSamples[i]);
  }
  return acc.finish(profile);
}

/**
 * Bottom-up (callee-first, inverted) tree: first level = leaf functions with
 * their self weight, below them their callers.
 * @param profile The profile.
 * @param select Optional record selector.
 * @returns The root node.
 */
export function bottomUpTree(profile: Profile, select?: StackSelector): CallTreeNode {
  const acc = new TreeAccumulator();
  for (let i = 0; i < profile.stackCount; i++) {
    if (select && !select(i)) continue;
    // Leaf first: the leaf, on the first level, carries the self weight.
    acc.add(
      profile.pathOf(profile.stackNode[i]).reverse(),
      profile.stackWeight[i],
      profile.stackSamples[i],
      1,
    );
  }
  return acc.finish(profile);
}

/**
 * Picks the frame that carries the self weight of a stack record.
 *
 * @param stack Stack record index.
 * @returns A frame id of the record's path.
 */
export type SelfFrameSelector = (stack: number) => number;

/**
 * Per-record self frames a profile may carry (`Profile.stackSelf`): for each
 * stack record, the frame id perf charges the self weight to, or -1 for the
 * leaf frame.
 */
export interface StackSelfFrames {
  /** Self frame per stack record (-1: the leaf frame). */
  readonly stackSelf?: Int32Array;
}

/**
 * The frame perf 6.1 charges a sample's self time to: the symbol of the
 * sampled address itself (`al->sym`), not the inline frames perf puts in
 * front of it in the callchain. For a leaf inside an inlined function the
 * callchain reads `mix (inlined)`, `outer`, ... and `perf report` counts the
 * self time under `outer`; for a leaf in a compiler clone or an alias
 * (`handle_intel.constprop.0`, `clock_gettime@@GLIBC_2.17`) the callchain
 * shows the DWARF name as `handle_intel (inlined)` while the self time goes
 * to the symbol-table name, which appears nowhere in the callchain.
 *
 * Only the loader knows that symbol, so it is read from
 * {@linkcode StackSelfFrames.stackSelf} when the profile carries it; without
 * it (or where it is -1) the leaf frame is used.
 *
 * @param profile The profile.
 * @param stack Stack record index.
 * @returns The frame id.
 * @example
 * ```ts
 * import { ProfileBuilder } from "./profile.ts";
 * import { selfFrameOf } from "./call_tree.ts";
 * const b = new ProfileBuilder();
 * b.add({
 *   frames: [{ sym: "leaf", dso: "/bin/x", kernel: false }, { sym: "main", dso: "/bin/x", kernel: false }],
 *   weight: 1, pid: 1, tid: 1, cpu: 0, comm: "x", time: 0, context: "task", truncated: false,
 * });
 * const p = b.build();
 * p.frames.names[selfFrameOf(p, 0)]; // "leaf"
 * ```
 */
export function selfFrameOf(profile: Profile & StackSelfFrames, stack: number): number {
  const own = profile.stackSelf?.[stack] ?? -1;
  return own >= 0 ? own : profile.nodeFrame[profile.stackNode[stack]];
}

/** Self and total ("children") weight of one function. */
export interface FunctionTotal {
  /** Frame id. */
  frame: number;
  /** Weight of samples where it is the leaf. */
  self: number;
  /** Weight of samples where it appears anywhere (once per sample under recursion). */
  total: number;
  /** Samples where it is the leaf. */
  selfSamples: number;
  /** Samples where it appears. */
  totalSamples: number;
}

/**
 * Per-function self and total weights, sorted by total descending. Self
 * weight goes to the frame perf charges it to ({@linkcode selfFrameOf}).
 * @param profile The profile.
 * @param select Optional record selector.
 * @param selfFrame Frame carrying each record's self weight (default {@linkcode selfFrameOf}).
 * @returns One entry per frame that occurs in a selected stack.
 */
export function functionTotals(
  profile: Profile & StackSelfFrames,
  select?: StackSelector,
  selfFrame: SelfFrameSelector = (i) => selfFrameOf(profile, i),
): FunctionTotal[] {
  const n = profile.frames.size;
  const self = new Float64Array(n);
  const total = new Float64Array(n);
  const selfS = new Float64Array(n);
  const totalS = new Float64Array(n);
  const seen = new Int32Array(n).fill(-1);
  for (let i = 0; i < profile.stackCount; i++) {
    if (select && !select(i)) continue;
    const w = profile.stackWeight[i];
    const s = profile.stackSamples[i];
    const leaf = profile.stackNode[i];
    const lf = selfFrame(i);
    if (lf >= 0) {
      self[lf] += w;
      selfS[lf] += s;
    }
    for (let node = leaf; node > 0; node = profile.nodeParent[node]) {
      const f = profile.nodeFrame[node];
      if (seen[f] === i) continue;
      seen[f] = i;
      total[f] += w;
      totalS[f] += s;
    }
    // A self frame outside the path (a clone's symbol name) still counts in its total.
    if (lf >= 0 && seen[lf] !== i) {
      seen[lf] = i;
      total[lf] += w;
      totalS[lf] += s;
    }
  }
  const out: FunctionTotal[] = [];
  for (let f = 0; f < n; f++) {
    if (seen[f] < 0) continue;
    out.push({
      frame: f,
      self: self[f],
      total: total[f],
      selfSamples: selfS[f],
      totalSamples: totalS[f],
    });
  }
  const names = profile.frames.names;
  out.sort((a, b) => b.total - a.total || b.self - a.self || cmp(names[a.frame], names[b.frame]));
  return out;
}

/**
 * Focus on a function: the top-down tree of what it calls ("callees", rooted at
 * its OUTERMOST occurrence in each stack) or the inverted tree of who calls it
 * ("callers", from its innermost occurrence). The root node stands for the
 * function itself (`frame` = the first id of `frameIds`).
 * @param profile The profile.
 * @param frameIds Frame ids to focus on (e.g. `profile.frames.idsNamed("foo")`).
 * @param direction `"callees"` (default) or `"callers"`.
 * @returns A tree whose root is the focused function.
 */
export function focusTree(
  profile: Profile,
  frameIds: readonly number[],
  direction: "callees" | "callers" = "callees",
): CallTreeNode {
  const wanted = new Set(frameIds);
  const acc = new TreeAccumulator();
  for (let i = 0; i < profile.stackCount; i++) {
    const path = profile.pathOf(profile.stackNode[i]);
    const at = direction === "callees"
      ? path.findIndex((f) => wanted.has(f))
      : path.findLastIndex((f) => wanted.has(f));
    if (at < 0) continue;
    const rest = direction === "callees" ? path.slice(at + 1) : path.slice(0, at).reverse();
    acc.add(rest, profile.stackWeight[i], profile.stackSamples[i]);
  }
  const root = acc.finish(profile);
  root.frame = frameIds.length ? frameIds[0] : -1;
  if (direction === "callers") {
    // In the inverted tree "self" at the root means: the function was the leaf.
    root.self = 0;
    root.selfSamples = 0;
    for (let i = 0; i < profile.stackCount; i++) {
      if (wanted.has(profile.nodeFrame[profile.stackNode[i]])) {
        root.self += profile.stackWeight[i];
        root.selfSamples += profile.stackSamples[i];
      }
    }
  }
  return root;
}

/**
 * Merges two materialised trees (same profile frames) into a new tree.
 * @param a First tree.
 * @param b Second tree.
 * @param profile Profile for sorting by name.
 * @returns The merged tree.
 */
export function mergeTrees(a: CallTreeNode, b: CallTreeNode, profile: Profile): CallTreeNode {
  const root = newNode(a.frame);
  const todo: [CallTreeNode, CallTreeNode][] = [[root, a], [root, b]];
  while (todo.length) {
    const [dst, src] = todo.pop()!;
    dst.self += src.self;
    dst.total += src.total;
    dst.selfSamples += src.selfSamples;
    dst.totalSamples += src.totalSamples;
    for (const c of src.children) {
      let d = dst.children.find((x) => x.frame === c.frame);
      if (!d) dst.children.push(d = newNode(c.frame));
      todo.push([d, c]);
    }
  }
  sortTree(root, profile);
  return root;
}

/**
 * Iterates a tree depth-first without recursion.
 * @param root Tree root.
 * @param visit Called with each node and its depth (root depth 0), parents before children.
 */
export function walkTree(
  root: CallTreeNode,
  visit: (node: CallTreeNode, depth: number) => void,
): void {
  const todo: [CallTreeNode, number][] = [[root, 0]];
  while (todo.length) {
    const [n, d] = todo.pop()!;
    visit(n, d);
    for (let i = n.children.length - 1; i >= 0; i--) todo.push([n.children[i], d + 1]);
  }
}
