/**
 * perf-report-style `--stdio` text output, laid out exactly like
 * `perf report --stdio` of perf 6.1 (header, column widths, `%.2f%%` percents,
 * `-g graph,0.5` call graphs in caller or callee order, `--children`,
 * `--percent-limit`). The report starts with `# callring:` comment lines that
 * state samples read, samples lost and truncated stacks; everything after them
 * is meant to be byte-identical to perf's output (minus perf's random "Tip"
 * trailer). Entries with equal overhead may be ordered differently from perf,
 * which breaks ties by symbol address.
 *
 * @example
 * ```ts
 * import { ProfileBuilder } from "../analyze/profile.ts";
 * import { textReport } from "./text_report.ts";
 * const b = new ProfileBuilder();
 * b.add({ frames: [{ sym: "leaf", dso: "/bin/x", kernel: false }], weight: 1, pid: 1, tid: 1,
 *   cpu: 0, comm: "x", time: 0, context: "task", truncated: false });
 * console.log(textReport(b.build(), { sort: ["sym"] }));
 * ```
 *
 * @module
 */

import type { Profile } from "../analyze/profile.ts";
import { formatPercent } from "./format.ts";

/** Sort keys (perf's `--sort`). `pid` is perf's thread key (`tid:comm`); `tid` is the same with a Tid header. */
export type SortKey = "comm" | "dso" | "sym" | "pid" | "tid" | "cpu";

/** Options of {@linkcode textReport}. */
export interface TextReportOptions {
  /** `--children` (true) or `--no-children` (false, default). */
  children?: boolean;
  /** `--sort` keys, default `["comm", "dso", "sym"]` like perf. */
  sort?: readonly SortKey[];
  /** `-g` order: default callee without children, caller with children (perf's defaults); "none" disables graphs. */
  callGraph?: "caller" | "callee" | "none";
  /** `--percent-limit`: hides entries and call-graph branches below this percent (default 0, graphs 0.5). */
  percentLimit?: number;
  /** Event name for the header (default `cpu-clock`). */
  eventName?: string;
  /** Emit the leading `# callring:` accounting lines (default true). */
  accountingHeader?: boolean;
}

/** Thrown for unsupported sort keys. */
export class ReportOptionError extends RangeError {
  /**
   * Creates the instance.
   * @param message What is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "ReportOptionError";
  }
}

const SORT_KEYS: readonly SortKey[] = ["comm", "dso", "sym", "pid", "tid", "cpu"];

/**
 * Parses a perf `--sort` argument (`comm,dso,sym`).
 * @param text The argument.
 * @returns The keys.
 */
export function parseSortKeys(text: string): SortKey[] {
  return text.split(",").map((k) => {
    const key = k.trim();
    if (!(SORT_KEYS as readonly string[]).includes(key)) {
      throw new ReportOptionError(`Unknown --sort key: \`${key}' (known: ${SORT_KEYS.join(", ")})`);
    }
    return key as SortKey;
  });
}

/** perf's dso short name: basename, `[kernel.kallsyms]` kept, `[unknown]` when missing. */
export function dsoShortName(dso: string | undefined): string {
  if (dso === undefined || dso === "") return "[unknown]";
  if (dso.startsWith("[")) return dso;
  const slash = dso.lastIndexOf("/");
  return slash < 0 ? dso : dso.slice(slash + 1);
}

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
 * perf's Symbol column text: `[k] name` / `[.] name`, unresolved as `%-#.16llx`.
 * @param profile Profile.
 * @param frame Frame id.
 * @returns Column text.
 */
export function symbolColumn(profile: Profile, frame: number): string {
  const t = profile.frames;
  const level = t.kinds[frame] === "kernel" ? "k" : ".";
  const sym = t.syms[frame];
  if (sym !== undefined) return `[${level}] ${t.inlined[frame] ? sym + " (inlined)" : sym}`;
  const ip = t.ips[frame] ?? 0n;
  const hex = ip.toString(16).padStart(16, "0");
  return `[${level}] ${ip === 0n ? hex : "0x" + hex}`;
}

/** Call-chain trie of one report entry. */
interface ChainNode {
  frame: number;
  hits: number;
  cumul: number;
  children: Map<number, ChainNode>;
}

function chainNode(frame: number): ChainNode {
  return { frame, hits: 0, cumul: 0, children: new Map() };
}

function addChain(root: ChainNode, chain: readonly number[], from: number, weight: number): void {
  let node = root;
  node.cumul += weight;
  for (let i = from; i < chain.length; i++) {
    let c = node.children.get(chain[i]);
    if (!c) node.children.set(chain[i], c = chainNode(chain[i]));
    node = c;
    node.cumul += weight;
  }
  node.hits += weight;
}

/** A path-compressed chain node, as perf's callchain_node with its `val` list. */
interface Compressed {
  frames: number[];
  cumul: number;
  last: ChainNode;
}

interface Entry {
  key: string;
  columns: string[];
  self: number;
  children: number;
  chains: ChainNode;
  lastSample: number;
}

const HEADERS: Record<SortKey, string> = {
  comm: "Command",
  dso: "Shared Object",
  sym: "Symbol",
  pid: "    Pid:Command",
  tid: "    Tid:Command",
  cpu: "CPU",
};

/**
 * Renders a perf-report-style text report.
 * @param profile The profile.
 * @param options Report options.
 * @returns The report text (ends with the two blank lines perf prints).
 */
export function textReport(profile: Profile, options: TextReportOptions = {}): string {
  const children = options.children ?? false;
  const sort = options.sort ?? ["comm", "dso", "sym"];
  if (sort.length === 0) throw new ReportOptionError("--sort needs at least one key");
  const order = options.callGraph ?? (children ? "caller" : "callee");
  const limit = Math.fround(options.percentLimit ?? 0);
  const chainLimit = Math.fround(options.percentLimit ?? 0.5);
  const total = profile.totalWeight;
  const frameKeyed = sort.some((k) => k === "sym" || k === "dso");

  const entries = new Map<string, Entry>();
  const entryFor = (frame: number, cls: number): Entry => {
    const c = profile.classes[cls];
    let key = "";
    for (const k of sort) {
      switch (k) {
        case "sym":
          key += "s" + frame + "\u0000";
          break;
        case "dso":
          key += "d" + dsoShortName(profile.frames.dsos[frame]) + "\u0000";
          break;
        case "comm":
          key += "c" + c.comm + "\u0000";
          break;
        case "pid":
        case "tid":
          key += "t" + c.tid + ":" + c.comm + "\u0000";
          break;
        case "cpu":
          key += "p" + c.cpu + "\u0000";
          break;
      }
    }
    let e = entries.get(key);
    if (!e) {
      const columns = sort.map((k) => {
        switch (k) {
          case "sym":
            return symbolColumn(profile, frame);
          case "dso":
            return dsoShortName(profile.frames.dsos[frame]);
          case "comm":
            return c.comm;
          case "pid":
          case "tid":
            return c.tid.toString().padStart(7) + ":" + c.comm;
          case "cpu":
            return c.cpu < 0
              ? "-" + String(-c.cpu).padStart(3, "0")
              : String(c.cpu).padStart(3, "0");
        }
      });
      e = { key, columns, self: 0, children: 0, chains: chainNode(-1), lastSample: -1 };
      entries.set(key, e);
    }
    return e;
  };

  for (let i = 0; i < profile.stackCount; i++) {
    const w = profile.stackWeight[i];
    const cls = profile.stackClass[i];
    const rootFirst = profile.pathOf(profile.stackNode[i]);
    if (rootFirst.length === 0) continue;
    const chain = order === "caller" ? rootFirst : rootFirst.reverse();
    const leaf = order === "caller" ? chain[chain.length - 1] : chain[0];
    const self = entryFor(leaf, cls);
    self.self += w;
    if (order !== "none") addChain(self.chains, chain, 0, w);
    if (!children) continue;
    self.children += w;
    self.lastSample = i;
    if (!frameKeyed) continue;
    for (let p = 0; p < chain.length; p++) {
      const e = entryFor(chain[p], cls);
      if (e.lastSample === i) continue; // once per sample, even under recursion
      e.lastSample = i;
      e.children += w;
      if (order !== "none") addChain(e.chains, chain, p, w);
    }
  }

  const percentOf = (v: number) => (total ? (100 * v) / total : 0);
  const sortValue = (e: Entry) => (children ? e.children : e.self);
  const list = [...entries.values()]
    .filter((e) => sortValue(e) > 0 || e.self > 0)
    .filter((e) => Math.fround(percentOf(sortValue(e))) >= limit)
    .sort((a, b) =>
      sortValue(b) - sortValue(a) || b.self - a.self ||
      (a.columns.join(" ") < b.columns.join(" ") ? -1 : 1)
    );

  const widths = sort.map((k) => HEADERS[k].length);
  for (const e of list) {
    e.columns.forEach((c, i) => {
      // perf keeps CPU at 3 and measures symbols without the " (inlined)" suffix
      const len = sort[i] === "sym" && c.endsWith(" (inlined)") ? c.length - 10 : c.length;
      if (sort[i] !== "cpu" && len > widths[i]) widths[i] = len;
    });
  }

  const out: string[] = [];
  if (options.accountingHeader !== false) out.push(...accountingLines(profile));
  const lost = profile.lost.lostSamples;
  out.push("# To display the perf.data header info, please use --header/--header-only options.");
  out.push("#");
  out.push("#");
  out.push(`# Total Lost Samples: ${lost}`);
  out.push("#");
  out.push(
    `# Samples: ${convertUnit(profile.samples)} of event '${options.eventName ?? "cpu-clock"}'`,
  );
  out.push(`# Event count (approx.): ${total}`);
  out.push("#");
  const overheadHeads = children ? ["Children", "    Self"] : ["Overhead"];
  out.push(
    "# " + [...overheadHeads, ...sort.map((k, i) => HEADERS[k].padEnd(widths[i]))].join("  "),
  );
  out.push(
    "# " + [...overheadHeads.map(() => "........"), ...widths.map((w) => ".".repeat(w))].join("  "),
  );
  out.push("#");

  const minHit = Math.trunc(total * (chainLimit / 100));
  const skipFirst = sort[0] === "sym";
  for (const e of list) {
    const pcts = children ? [e.children, e.self] : [e.self];
    const cols = pcts.map((v) => (formatPercent(percentOf(v)) + "%").padStart(8));
    const line = "  " + [...cols, ...e.columns.map((c, i) => c.padEnd(widths[i]))].join("  ");
    out.push(line.trimEnd());
    if (order !== "none") {
      printGraph(out, profile, e.chains, total, children ? e.children : e.self, minHit, skipFirst);
    }
  }
  out.push("");
  out.push("");
  return out.join("\n") + "\n";
}

/**
 * The `# callring:` accounting comment lines placed before the perf-compatible part.
 * @param profile The profile.
 * @returns Lines without newlines.
 */
export function accountingLines(profile: Profile): string[] {
  const l = profile.lost;
  // Records inside damaged capture bytes: counted, plus an estimate where they could not be.
  let damage = "";
  if (l.damagedRecords > 0 || l.damagedEstimate > 0) {
    damage = `, ${l.damagedRecords} records lost to damage`;
    if (l.damagedEstimate > 0) damage += ` + ~${l.damagedEstimate} estimated`;
  }
  return [
    `# callring: samples read: ${profile.samplesRead}, kept: ${profile.samples}, ` +
    `truncated stacks: ${profile.truncatedSamples}`,
    `# callring: lost: ${l.lostRecords} events in LOST records, ${l.lostSamples} in LOST_SAMPLES, ` +
    `${l.incompleteFragments} incomplete fragments, ${l.damagedRanges} damaged ranges (${l.damagedBytes} bytes)` +
    damage,
  ];
}

/** perf's convert_unit + "%lu%c": 1467 -> "1K", 401 -> "401 ". */
function convertUnit(value: number): string {
  let v = value;
  let unit = " ";
  for (const u of ["K", "M", "G"]) {
    if (v > 1000) {
      v = Math.floor(v / 1000);
      unit = u;
    }
  }
  return `${v}${unit}`;
}

function compress(node: ChainNode): Compressed {
  const frames = [node.frame];
  let last = node;
  while (last.hits === 0 && last.children.size === 1) {
    last = last.children.values().next().value!;
    frames.push(last.frame);
  }
  return { frames, cumul: node.cumul, last };
}

function sortedChildren(profile: Profile, node: ChainNode, minHit: number): Compressed[] {
  const out: Compressed[] = [];
  for (const c of node.children.values()) {
    const cc = compress(c);
    if (cc.cumul >= minHit) out.push(cc);
  }
  return out.sort((a, b) => b.cumul - a.cumul || tieOrder(profile, a.frames[0], b.frames[0]));
}

/**
 * perf keeps equal-weight callchain children in the order of its input tree:
 * same dso by descending symbol address, else by dso. We approximate with a
 * representative address per function (exact for non-overlapping functions).
 */
function tieOrder(profile: Profile, a: number, b: number): number {
  const t = profile.frames;
  const da = t.dsos[a] ?? "";
  const db = t.dsos[b] ?? "";
  if (da !== db) return da < db ? -1 : 1;
  const xa = t.addrs[a];
  const xb = t.addrs[b];
  if (xa !== undefined && xb !== undefined && xa !== xb) return xa > xb ? -1 : 1;
  return t.names[a] < t.names[b] ? -1 : t.names[a] > t.names[b] ? 1 : 0;
}

function margin(left: number): string {
  return " ".repeat(12 + left);
}

/** callchain__fprintf_graph + __callchain__fprintf_graph (graph mode, absolute percents). */
function printGraph(
  out: string[],
  profile: Profile,
  root: ChainNode,
  total: number,
  parentSamples: number,
  minHit: number,
  skipFirst: boolean,
): void {
  const start = out.length;
  let left = 0;
  let base = sortedChildren(profile, root, minHit);
  if (base.length === 1 && base[0].cumul === parentSamples) {
    const cnode = base[0];
    let printed = false;
    cnode.frames.forEach((f, i) => {
      if (i === 0 && skipFirst) return;
      if (!printed) {
        out.push(margin(left) + "|");
        out.push(margin(left) + "---" + chainName(profile, f));
        left += 3;
        printed = true;
      } else {
        out.push(margin(left) + chainName(profile, f));
      }
    });
    base = sortedChildren(profile, cnode.last, minHit);
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
    if (lv.next >= lv.items.length) {
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
    const sub = sortedChildren(profile, child.last, minHit);
    if (sub.length) {
      const mask = lv.newMask.slice(0, depth);
      mask[depth] = true;
      levels.push({ items: sub, next: 0, depth: depth + 1, mask, newMask: mask.slice() });
    }
  }
  if (out.length > start) out.push("");
}
