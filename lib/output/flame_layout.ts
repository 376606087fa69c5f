/**
 * Flame graph layout shared by the SVG and HTML renderers: a merged tree of
 * `process;frame;...` paths (children in name order, like flamegraph.pl fed
 * with sorted folded stacks), flattened into rectangles.
 *
 * @module
 */

import type { FrameKind, Profile } from "../analyze/profile.ts";
import { foldedFrameName } from "./folded.ts";

/** Kind of a flame rectangle (frame kinds plus the process root level). */
export type FlameKind = FrameKind | "process";

/** One rectangle: `x`/`width` in weight units, `depth` 0 = process level. */
export interface FlameRect {
  /** Frame name. */
  name: string;
  /** Colour class. */
  kind: FlameKind;
  /** Stack depth (0 = process name). */
  depth: number;
  /** Start, in weight units from the left edge. */
  x: number;
  /** Width in weight units (= total weight of the node). */
  width: number;
  /** Self weight. */
  self: number;
  /** Index of the parent rectangle (-1 for depth 0). */
  parent: number;
}

/** A flattened flame graph. */
export interface FlameLayout {
  /** Rectangles, parents before children. */
  rects: FlameRect[];
  /** Total weight (the full width). */
  total: number;
  /** Deepest depth + 1. */
  levels: number;
}

/** Options of {@linkcode flameLayout}. */
export interface FlameLayoutOptions {
  /** Weight by period (default) or sample count. */
  weight?: "period" | "samples";
  /** Put the process name at the root like stackcollapse-perf.pl (default true). */
  processRoot?: boolean;
}

interface Node {
  name: string;
  kind: FlameKind;
  total: number;
  self: number;
  /** Children by the interned number of their (kind, name). */
  children: Map<number, Node>;
}

/**
 * Builds the layout (iteratively).
 * @param profile The profile.
 * @param options Weighting and root options.
 * @returns The layout.
 */
export function flameLayout(profile: Profile, options: FlameLayoutOptions = {}): FlameLayout {
  const root: Node = { name: "all", kind: "marker", total: 0, self: 0, children: new Map() };
  // (kind, name) pairs interned to numbers once per frame and per class, not per stack.
  const keys = new Map<string, number>();
  const keyOf = (name: string, kind: FlameKind) => {
    const text = kind + "\u0000" + name;
    let k = keys.get(text);
    if (k === undefined) keys.set(text, k = keys.size);
    return k;
  };
  const frameKey = new Int32Array(profile.frames.size).fill(-2); // -2 not yet named, -1 skipped
  const frameName: string[] = [];
  const classKey = new Int32Array(profile.classes.length).fill(-1);
  const className: string[] = [];
  const child = (n: Node, key: number, name: string, kind: FlameKind) => {
    let c = n.children.get(key);
    if (!c) n.children.set(key, c = { name, kind, total: 0, self: 0, children: new Map() });
    return c;
  };
  const kinds = profile.frames.kinds;
  const nodeParent = profile.nodeParent;
  const nodeFrame = profile.nodeFrame;
  const path: number[] = [];
  for (let i = 0; i < profile.stackCount; i++) {
    const w = options.weight === "samples" ? profile.stackSamples[i] : profile.stackWeight[i];
    let n = root;
    n.total += w;
    if (options.processRoot !== false) {
      const cls = profile.stackClass[i];
      if (classKey[cls] < 0) {
        className[cls] = profile.classes[cls].comm.replace(/ /g, "_");
        classKey[cls] = keyOf(className[cls], "process");
      }
      n = child(n, classKey[cls], className[cls], "process");
      n.total += w;
    }
    path.length = 0;
    for (let node = profile.stackNode[i]; node > 0; node = nodeParent[node]) {
      path.push(nodeFrame[node]);
    }
    for (let p = path.length - 1; p >= 0; p--) {
      const f = path[p];
      let key = frameKey[f];
      if (key === -2) {
        const name = foldedFrameName(profile, f);
        key = frameKey[f] = name === undefined ? -1 : keyOf(name, kinds[f]);
        if (name !== undefined) frameName[f] = name;
      }
      if (key < 0) continue;
      n = child(n, key, frameName[f], kinds[f]);
      n.total += w;
    }
    n.self += w;
  }
  const rects: FlameRect[] = [];
  let levels = 0;
  const todo: [Node, number, number, number][] = [];
  const pushChildren = (n: Node, x: number, depth: number, parent: number) => {
    const kids = [...n.children.values()].sort((
      a,
      b,
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let cx = x;
    const items: [Node, number, number, number][] = [];
    for (const k of kids) {
      items.push([k, cx, depth, parent]);
      cx += k.total;
    }
    for (let i = items.length - 1; i >= 0; i--) todo.push(items[i]);
  };
  pushChildren(root, 0, 0, -1);
  while (todo.length) {
    const [n, x, depth, parent] = todo.pop()!;
    const idx = rects.length;
    rects.push({ name: n.name, kind: n.kind, depth, x, width: n.total, self: n.self, parent });
    if (depth + 1 > levels) levels = depth + 1;
    pushChildren(n, x, depth + 1, idx);
  }
  return { rects, total: root.total, levels };
}
