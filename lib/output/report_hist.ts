/**
 * The histogram of `perf report`: report entries keyed by the sort keys and
 * kept in red-black trees walked with perf's own comparisons
 * (`hists__findnew_entry`, collapse and `output_resort` with
 * `hist_entry__sort`, tools/perf/util/hist.c and sort.c), so ties come out
 * where perf puts them, e.g. callers above callees of equal `--children`
 * overhead in the same thread (`__hpp__sort_acc`). Self time goes to the
 * frame {@linkcode selfFrameOf} names. {@linkcode buildHistogram} returns
 * the entries in output order; `text_report.ts` prints them and `perf diff`
 * pairs them.
 *
 * @module
 */

import { Int32List } from "../analyze/int32_list.ts";
import { PairIndex } from "../analyze/pair_index.ts";
import { selfFrameOf, type SelfFrameSelector, type StackSelfFrames } from "../analyze/call_tree.ts";
import { CHAINLESS, type Profile } from "../analyze/profile.ts";
import { kernelModuleDsoName } from "../input/maps.ts";
import type { ThreadNames } from "../input/threads.ts";
import { addChain, ChainStore, type DsoRank, printFolded, printGraph } from "./report_callchain.ts";
import type { HppField, ReportField } from "./report_fields.ts";

/** Sort keys (perf's `--sort`). `pid` is perf's thread key (`tid:comm`); `tid` is the same with a Tid header. */
export type SortKey = "comm" | "dso" | "sym" | "pid" | "tid" | "cpu" | "trace";

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

/**
 * Whether a report under these sort keys may depend on the samples' order
 * (so the profile should keep it, the load option `sampleOrder`): with a
 * `sym` key, perf's histogram walks depend on the tree's history where its
 * comparisons are no strict weak order: unresolved addresses of different
 * objects compared by address alone (no `dso` key before `sym`), and
 * inlined symbols, equal to one of their name whose function's range only
 * touches theirs (whatever the keys before). The histogram replays the
 * samples in order only when the profile's frames need it.
 *
 * @param sort The sort keys.
 * @returns True when `sym` is one of them.
 */
export function sortNeedsSampleOrder(sort: readonly SortKey[]): boolean {
  return sort.includes("sym");
}

/** The keys `--sort` accepts: perf 6.1 has no `tid` key (`Unknown --sort key: `tid'`). */
const SORT_KEYS: readonly SortKey[] = ["comm", "dso", "sym", "pid", "cpu", "trace"];

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

/**
 * perf's dso short name: basename, `[kernel.kallsyms]` kept, `[unknown]` when missing; a kernel
 * module's path (`/lib/modules/.../mac80211.ko`, which script prints whole) is its module name
 * `[mac80211]` (`machine__addnew_module_map` sets the short name from `kmod_path__parse_name`);
 * a JIT map `/tmp/perf-PID.map` is `[JIT] tid PID` (`dso__set_basename`); the kernel's
 * vmlinux (a build-id table path) is `[kernel.vmlinux]`.
 *
 * @param dso The object's name as the recording gives it.
 * @param kernel Whether it is the kernel's side (kernel frames).
 * @returns The short name.
 */
export function dsoShortName(dso: string | undefined, kernel = false): string {
  if (dso === undefined || dso === "") return "[unknown]";
  if (dso.startsWith("[")) return dso;
  // machine__process_kernel_mmap_event: a kernel dso whose long name holds "vmlinux"
  if (kernel && dso.includes("vmlinux") && kernelModuleDsoName(dso) === undefined) {
    return "[kernel.vmlinux]";
  }
  if (dso.startsWith("/")) {
    const mod = kernelModuleDsoName(dso);
    if (mod !== undefined) return mod;
    // dso__set_basename: sscanf(long_name, "/tmp/perf-%d.map", &tid) == 1
    const jit = /^\/tmp\/perf-\s*([+-]?\d+)/.exec(dso);
    if (jit !== null) return `[JIT] tid ${Number(jit[1])}`;
  }
  const slash = dso.lastIndexOf("/");
  return slash < 0 ? dso : dso.slice(slash + 1);
}

/**
 * perf's Symbol column text: `[k] name` / `[.] name`, unresolved as `%-#.16llx`.
 * @param profile Profile.
 * @param frame Frame id.
 * @param kernel The level to print instead of the frame's own (`[k]` when true).
 * @returns Column text.
 */
export function symbolColumn(profile: Profile, frame: number, kernel?: boolean): string {
  const t = profile.frames;
  const level = (kernel ?? t.kinds[frame] === "kernel") ? "k" : ".";
  const sym = t.syms[frame];
  if (sym !== undefined) {
    // _hist_entry__sym_snprintf: a data object with the entry address's offset in it
    const offset = t.objectOffsets[frame];
    if (offset !== undefined) return `[${level}] ${sym}+0x${offset.toString(16)}`;
    return `[${level}] ${t.inlined[frame] ? sym + " (inlined)" : sym}`;
  }
  const ip = t.ips[frame] ?? 0n;
  const hex = ip.toString(16).padStart(16, "0");
  return `[${level}] ${ip === 0n ? hex : "0x" + hex}`;
}

/** What perf's comparisons look at: the entry's frame and the class of its first sample. */
export interface EntryRef {
  /** Frame the entry was created for (its symbol and dso). */
  frame: number;
  /** Sample class of the sample that created it (perf's `he->thread`, `comm`, `cpu`). */
  cls: number;
  /** perf's `he->ip`: what tells unresolved symbols apart. */
  ip: bigint;
}

/** One report entry (perf's `struct hist_entry`). */
export interface HistEntry extends EntryRef {
  /** The sort-key columns' texts. */
  columns: string[];
  /** perf's `he->filtered`: hidden from the output, its weight still in the totals. */
  filtered: boolean;
  /** Creation order (0 for the entry of the first sample). */
  created: number;
  /** Self weight. */
  self: number;
  /** Children (accumulated) weight. */
  children: number;
  /** Self sample count. */
  selfSamples: number;
  /** Self weight of kernel-mode samples (perf's `period_sys`). */
  selfSys: number;
  /** Self weight of user-mode samples (perf's `period_us`). */
  selfUs: number;
  /** Root of the entry's callchain trie in the histogram's trie store. */
  chains: number;
  /** perf's `he->callchain->max_depth`: longest callchain appended to the entry. */
  maxDepth: number;
}

/** The column header of each sort key. */
export const SORT_HEADERS: Record<SortKey, string> = {
  comm: "Command",
  dso: "Shared Object",
  sym: "Symbol",
  pid: "    Pid:Command",
  tid: "    Tid:Command",
  cpu: "CPU",
  trace: "Trace output",
};

/**
 * A red-black tree laid out like the kernel's `lib/rbtree.c` (the same
 * insert and rebalancing steps), keeping whatever order its walks decide.
 * perf's histogram trees are these: an entry goes where the walk from the
 * root ends, and equal keys go right, so the in-order sequence depends on
 * the insertion order and on the comparison outcomes along the path, also
 * when the comparison is not a strict weak order (perf's are not).
 */
export class RbTree<T> {
  readonly #items: T[] = [];
  readonly #left: number[] = [];
  readonly #right: number[] = [];
  readonly #parent: number[] = [];
  readonly #red: boolean[] = [];
  #root = -1;

  /** Number of items. */
  get size(): number {
    return this.#items.length;
  }

  /**
   * Walk from the root; insert a new item where the walk ends.
   * @param direction Compares with an existing item: < 0 go left, > 0 go right,
   *   0 stop there (nothing is inserted).
   * @param make Creates the item to insert.
   * @returns The existing item the walk stopped at, or the inserted one.
   */
  findOrInsert(direction: (existing: T) => number, make: () => T): T {
    let parent = -1;
    let left = false;
    for (let n = this.#root; n >= 0;) {
      const d = direction(this.#items[n]);
      if (d === 0) return this.#items[n];
      parent = n;
      left = d < 0;
      n = left ? this.#left[n] : this.#right[n];
    }
    const item = make();
    const z = this.#items.length;
    this.#items.push(item);
    this.#left.push(-1);
    this.#right.push(-1);
    this.#parent.push(parent);
    this.#red.push(true);
    if (parent < 0) this.#root = z;
    else if (left) this.#left[parent] = z;
    else this.#right[parent] = z;
    this.#fixup(z);
    return item;
  }

  /** Items in order (leftmost first, perf's `rb_first` / `rb_next`). */
  inOrder(): T[] {
    const out: T[] = [];
    const stack: number[] = [];
    for (let n = this.#root; n >= 0 || stack.length;) {
      if (n >= 0) {
        stack.push(n);
        n = this.#left[n];
      } else {
        const m = stack.pop()!;
        out.push(this.#items[m]);
        n = this.#right[m];
      }
    }
    return out;
  }

  #fixup(node: number): void {
    const red = this.#red, parentOf = this.#parent, l = this.#left, r = this.#right;
    let z = node;
    while (z !== this.#root && red[parentOf[z]]) {
      let p = parentOf[z];
      const g = parentOf[p];
      if (p === l[g]) {
        const u = r[g];
        if (u >= 0 && red[u]) {
          red[p] = red[u] = false;
          red[g] = true;
          z = g;
          continue;
        }
        if (z === r[p]) {
          this.#rotate(p, true);
          z = p;
          p = parentOf[z];
        }
        red[p] = false;
        red[g] = true;
        this.#rotate(g, false);
      } else {
        const u = l[g];
        if (u >= 0 && red[u]) {
          red[p] = red[u] = false;
          red[g] = true;
          z = g;
          continue;
        }
        if (z === l[p]) {
          this.#rotate(p, false);
          z = p;
          p = parentOf[z];
        }
        red[p] = false;
        red[g] = true;
        this.#rotate(g, true);
      }
    }
    red[this.#root] = false;
  }

  /** Rotate left (the right child moves up) or right (the left child moves up). */
  #rotate(x: number, toLeft: boolean): void {
    const l = this.#left, r = this.#right, parentOf = this.#parent;
    const [down, up] = toLeft ? [l, r] : [r, l];
    const y = up[x];
    up[x] = down[y];
    if (down[y] >= 0) parentOf[down[y]] = x;
    const p = parentOf[x];
    parentOf[y] = p;
    if (p < 0) this.#root = y;
    else if (l[p] === x) l[p] = y;
    else r[p] = y;
    down[y] = x;
    parentOf[x] = y;
  }
}

/** perf's `cmp_null`: both missing 0, left missing -1, else 1. */
function cmpNull(left: boolean, right: boolean): number {
  return !left && !right ? 0 : !left ? -1 : 1;
}

/**
 * Sign of `(int64_t)(right - left)` for two u64 values, as perf's `_sort__addr_cmp`.
 * @param left Left address.
 * @param right Right address.
 * @returns 1, -1 or 0.
 */
export function addrCmp(left: bigint, right: bigint): number {
  if ((left >= HIGH_HALF) === (right >= HIGH_HALF)) return right > left ? 1 : right < left ? -1 : 0;
  const d = BigInt.asIntN(64, right - left);
  return d > 0n ? 1 : d < 0n ? -1 : 0;
}

const HIGH_HALF = 1n << 63n;

/**
 * Three-way comparison of numbers.
 * @param a Left.
 * @param b Right.
 * @returns 1, -1 or 0.
 */
export function fieldCmp(a: number, b: number): number {
  return a > b ? 1 : a < b ? -1 : 0;
}

/**
 * perf's sort-key comparisons (tools/perf/util/sort.c) over report entries:
 * `cmp` is `se_cmp` (the histogram key, also `se_collapse` here), `sort`
 * is `se_sort ?: se_cmp` (the output order among equal overheads).
 */
export class EntryKeys {
  readonly #sort: readonly SortKey[];
  readonly #t: Profile["frames"];
  /** Per frame: rank of the symbol name (-1 unresolved), of the dso short name (-1 no map). */
  readonly #symRank: Int32Array;
  readonly #dsoRank: Int32Array;
  /** Per class: rank of the comm, tid, cpu. */
  readonly #commRank: Int32Array;
  readonly #tid: Int32Array;
  readonly #cpu: Int32Array;
  /** Per class: rank of the payload text (-1 none). */
  readonly #traceRank: Int32Array;

  constructor(profile: Profile, sort: readonly SortKey[], comms = classComms(profile)) {
    const t = profile.frames;
    this.#sort = sort;
    this.#t = t;
    this.#symRank = ranks(t.syms);
    this.#dsoRank = ranks(
      t.dsos.map((d, i) => d === undefined ? undefined : dsoShortName(d, t.kinds[i] === "kernel")),
    );
    const classes = profile.classes;
    this.#commRank = ranks(comms);
    this.#tid = Int32Array.from(classes, (c) => c.tid);
    this.#cpu = Int32Array.from(classes, (c) => c.cpu);
    this.#traceRank = ranks(classes.map((c) => c.trace));
  }

  /** `hist_entry__cmp(left, right)` (also `hist_entry__collapse`: only comm has one, the same). */
  cmp(left: EntryRef, right: EntryRef): number {
    for (const k of this.#sort) {
      const c = this.#keyCmp(k, left, right);
      if (c !== 0) return c;
    }
    return 0;
  }

  /** The sort keys' part of `hist_entry__sort(a, b)` (`se_sort ?: se_cmp`). */
  sort(a: EntryRef, b: EntryRef): number {
    for (const k of this.#sort) {
      const c = k === "sym" ? this.#symSort(a, b) : this.#keyCmp(k, a, b);
      if (c !== 0) return c;
    }
    return 0;
  }

  /**
   * perf's `a->thread == b->thread`: one thread per tid (`machine__findnew_thread` finds a
   * thread by its tid, whatever pid a later sample gives).
   */
  sameThread(a: EntryRef, b: EntryRef): boolean {
    return this.#tid[a.cls] === this.#tid[b.cls];
  }

  #keyCmp(k: SortKey, left: EntryRef, right: EntryRef): number {
    switch (k) {
      case "sym":
        return this.#symCmp(left, right);
      case "dso":
        return this.#dsoCmp(left.frame, right.frame);
      case "comm": // strcmp(right, left)
        return fieldCmp(this.#commRank[right.cls], this.#commRank[left.cls]);
      case "pid":
      case "tid":
        return fieldCmp(this.#tid[right.cls], this.#tid[left.cls]);
      case "cpu":
        return fieldCmp(this.#cpu[right.cls], this.#cpu[left.cls]);
      case "trace": // sort__trace_cmp: strcmp(right, left); 0 outside tracepoint events
        return fieldCmp(this.#traceRank[right.cls], this.#traceRank[left.cls]);
    }
  }

  /** `sort__dso_cmp`: `_sort__dso_cmp(right->map, left->map)` on short names. */
  #dsoCmp(left: number, right: number): number {
    const dl = this.#dsoRank[left], dr = this.#dsoRank[right];
    if (dl < 0 || dr < 0) return cmpNull(dl >= 0, dr >= 0);
    return fieldCmp(dr, dl);
  }

  /** `sort__sym_cmp`: unresolved by address, else dso, then `_sort__sym_cmp`. */
  #symCmp(left: EntryRef, right: EntryRef): number {
    const l = left.frame, r = right.frame;
    const sl = this.#symRank[l], sr = this.#symRank[r];
    if (sl < 0 && sr < 0) return addrCmp(left.ip, right.ip);
    const d = this.#dsoCmp(l, r);
    if (d !== 0) return d;
    if (sl < 0 || sr < 0) return cmpNull(sl >= 0, sr >= 0);
    if (l === r) return 0;
    const inlined = this.#t.inlined;
    if (inlined[l] || inlined[r]) {
      const c = fieldCmp(sl, sr); // strcmp(left, right)
      if (c !== 0) return c;
      // Same name: ranges that overlap or touch are equal (`sym_l->start <= sym_r->end &&
      // sym_l->end >= sym_r->start`); an inlined symbol has its containing function's range.
      const t = this.#t;
      const l0 = t.starts[l], l1 = t.ends[l], r0 = t.starts[r], r1 = t.ends[r];
      if (l0 === undefined || r0 === undefined) {
        if (inlined[l] === inlined[r]) return 0; // ranges not known: by name
      } else if (l1 !== undefined && r1 !== undefined ? l0 <= r1 && l1 >= r0 : l0 === r0) {
        return 0;
      }
    }
    // Symbol start addresses where known, else approximated by an address inside each
    // function; frames without one (synthetic profiles), or at one address, by name.
    const sl0 = this.#t.starts[l], sr0 = this.#t.starts[r];
    const known = sl0 !== undefined && sr0 !== undefined;
    const al = known ? sl0 : this.#t.addrs[l], ar = known ? sr0 : this.#t.addrs[r];
    const c = al === undefined || ar === undefined ? 0 : addrCmp(al, ar);
    return c !== 0 ? c : fieldCmp(sr, sl);
  }

  /** `sort__sym_sort`: resolved before unresolved, then by name. */
  #symSort(left: EntryRef, right: EntryRef): number {
    const sl = this.#symRank[left.frame], sr = this.#symRank[right.frame];
    if (sl < 0 || sr < 0) return cmpNull(sl >= 0, sr >= 0);
    return fieldCmp(sr, sl);
  }
}

/**
 * Rank of each string in code-unit order (equal strings share a rank; -1 for
 * undefined), so that rank order is C's strcmp order (the same for ASCII).
 */
function ranks(values: readonly (string | undefined)[]): Int32Array {
  const distinct = [...new Set(values.filter((v): v is string => v !== undefined))].sort();
  const rank = new Map(distinct.map((v, i) => [v, i]));
  return Int32Array.from(values, (v) => v === undefined ? -1 : rank.get(v)!);
}

/**
 * A stack record's frames as perf's callchain has them: root first, without
 * callring's `[truncated]` and context marker frames (perf's callchain just
 * ends where it was cut).
 */
function perfPath(profile: Profile, stack: number): number[] {
  const path = profile.pathOf(profile.stackNode[stack]);
  const kinds = profile.frames.kinds;
  let n = 0;
  for (const f of path) if (kinds[f] === "user" || kinds[f] === "kernel") path[n++] = f;
  path.length = n;
  return path;
}

/**
 * Cut a root-first path to `max` callchain entries as perf's `max_stack`
 * does: the first ones from the root (`fromRoot`, caller order) or from the
 * leaf. An entry is a frame with the inline frames it expanded into (which
 * come after it, root-first).
 */
function cutPath(profile: Profile, path: number[], max: number, fromRoot: boolean): number[] {
  const inlined = profile.frames.inlined;
  let entries = 0;
  for (const f of path) if (!inlined[f]) entries++;
  if (entries <= max) return path;
  if (fromRoot) {
    let seen = 0;
    for (let i = 0; i < path.length; i++) {
      if (!inlined[path[i]] && ++seen > max) return path.slice(0, i);
    }
    return path;
  }
  let seen = 0;
  for (let i = path.length - 1; i >= 0; i--) {
    if (!inlined[path[i]] && ++seen === max) {
      // the entry's inline frames before it, root-first, belong to the caller entry
      return path.slice(i);
    }
  }
  return path;
}

/**
 * perf's `max_stack` on a DWARF-unwound chain: the kernel part (the
 * sample's callchain, `thread__resolve_callchain_sample`) gets `max`
 * entries, counted from the root in caller order, from the leaf in callee
 * order; the user part is the unwinder's (`unwind__get_entries`), which
 * stops at `max` entries from the leaf in either order: it is cut when the
 * stacks are unwound (`LoadOptions.userMaxStack`), not here.
 */
function cutDwarfPath(profile: Profile, path: number[], max: number, fromRoot: boolean): number[] {
  const kinds = profile.frames.kinds;
  let k = path.length;
  while (k > 0 && kinds[path[k - 1]] === "kernel") k--;
  if (path.length - k <= max) return path;
  const kernel = path.slice(k);
  return path.slice(0, k).concat(fromRoot ? kernel.slice(0, max) : kernel.slice(-max));
}

/**
 * Call-graph node ids of frames, equal when perf's `match_chain` calls two
 * callchain entries equal: by object and symbol, or by object and address
 * when unresolved, whatever the cpumode (a frame with no map takes the
 * sample's, so one address can come as `[k]` and as `[.]`). The first frame
 * seen stands for the others.
 */
function chainNodeIds(profile: Profile): (frame: number) => number {
  const t = profile.frames;
  const ids = new Int32Array(t.size).fill(-1);
  const byKey = new Map<string, number>();
  return (frame) => {
    let id = ids[frame];
    if (id >= 0) return id;
    const kind = t.kinds[frame];
    if (kind !== "user" && kind !== "kernel") return ids[frame] = frame;
    const sym = t.syms[frame];
    // (match_chain_dso_addresses: a symbol by its start where it is known; an inlined one
    // by name, match_chain_strings)
    const start = t.inlined[frame] ? undefined : t.starts[frame];
    const key = `${t.dsos[frame] ?? ""}\u0000${t.inlined[frame] ? 1 : 0}\u0000` +
      (sym === undefined
        ? "@" + (t.ips[frame] ?? 0n).toString(16)
        : "s" + sym + (start === undefined ? "" : "+" + start.toString(16)));
    id = byKey.get(key) ?? frame;
    byKey.set(key, id);
    return ids[frame] = id;
  };
}

/**
 * Ids of the frame part of the sort keys (`sym`, `dso`), equal exactly when
 * perf's `hist_entry__cmp` calls the entries equal: an unresolved symbol by
 * its address alone, a symbol by dso short name, name and inlined flag.
 */
function frameKeyIds(profile: Profile, sort: readonly SortKey[]): (frame: number) => number {
  const t = profile.frames;
  const hasSym = sort.includes("sym"), hasDso = sort.includes("dso");
  if (!hasSym && !hasDso) return () => 0;
  const ids = new Int32Array(t.size).fill(-1);
  const byKey = new Map<string, number>();
  return (frame) => {
    let id = ids[frame];
    if (id >= 0) return id;
    const dso = t.dsos[frame];
    const short = dso === undefined ? "\u0001" : dsoShortName(dso, t.kinds[frame] === "kernel");
    let key = hasDso ? short + "\u0000" : "";
    if (hasSym) {
      const sym = t.syms[frame];
      key += sym === undefined
        ? "u" + (t.ips[frame] ?? 0n).toString(16)
        : "s" + short + "\u0000" + sym +
          (t.inlined[frame] ? "\u0000i" : "") +
          (t.starts[frame] === undefined ? "" : "+" + t.starts[frame]!.toString(16));
    }
    id = byKey.get(key) ?? byKey.size;
    byKey.set(key, id);
    ids[frame] = id;
    return id;
  };
}

/** Ids of the class part of the sort keys (`comm`, `pid`/`tid`, `cpu`), per sample class. */
function classKeyIds(
  profile: Profile,
  sort: readonly SortKey[],
  comms: readonly string[],
): Int32Array {
  const byKey = new Map<string, number>();
  return Int32Array.from(profile.classes, (c, i) => {
    let key = "";
    for (const k of sort) {
      if (k === "comm") key += "c" + comms[i] + "\u0000";
      else if (k === "pid" || k === "tid") key += "t" + c.tid + "\u0000";
      else if (k === "cpu") key += "p" + c.cpu + "\u0000";
      else if (k === "trace") key += c.trace === undefined ? "\u0001" : "r" + c.trace + "\u0000";
    }
    const id = byKey.get(key) ?? byKey.size;
    byKey.set(key, id);
    return id;
  });
}

/**
 * The comm perf report shows per sample class: the class's own, except a thread's `:<tid>`
 * placeholder, which perf overrides in place with the thread's first COMM.
 *
 * @param profile The profile.
 * @param threads The threads once the recording was read.
 * @returns One comm per class.
 */
export function classComms(profile: Profile, threads?: ThreadNames): string[] {
  return profile.classes.map((c) =>
    threads !== undefined && c.comm === `:${c.tid}`
      ? threads.placeholderName(c.tid) ?? c.comm
      : c.comm
  );
}

/**
 * {@linkcode DsoRank} from a creation order: no map lowest, then the known objects in
 * order, then the others after every known one.
 */
function rankOfDso(order: ReadonlyMap<string, number> | undefined): DsoRank | undefined {
  if (order === undefined) return undefined;
  return (dso) => {
    if (dso === undefined) return -1;
    return order.get(dso.startsWith("[kernel.kallsyms]") ? "[kernel.kallsyms]" : dso) ??
      order.size;
  };
}

/** Options of {@linkcode buildHistogram}. */
export interface HistogramOptions {
  /** `--children` (true) or `--no-children` (false, default). */
  children?: boolean;
  /** `--sort` keys, default `["comm", "dso", "sym"]` like perf. */
  sort?: readonly SortKey[];
  /** Callchain order of the entries' tries; "none" keeps no callchains. */
  callGraph?: "caller" | "callee" | "none";
  /** Break ties of equal overhead and keys by sample count (perf does with `-n`). */
  showSamples?: boolean;
  /** The frame each stack record's self weight is charged to (default {@linkcode selfFrameOf}). */
  selfFrame?: SelfFrameSelector;
  /**
   * perf's `al->filtered` (`--comms`, `--pid`, `--tid`, `--dsos`,
   * `--symbols`), asked per stack record with its self frame and sample
   * class: false marks the entries the record creates (its self entry and,
   * with children, its callers' entries) as filtered out. perf decides once,
   * when an entry is created; records merged into it later count towards it
   * whatever they are, and every record counts towards the totals.
   */
  keep?: (selfFrame: number, cls: number) => boolean;
  /**
   * perf's `--max-stack`: the callchain entries used per sample, counted as
   * `thread__resolve_callchain_sample` does: from the root in caller order,
   * from the leaf in callee order (an address's inline frames go with it).
   * The self entry stays the sampled address's even when the cut leaves it
   * out of the chain. Default: every entry of the profile's stacks.
   */
  maxStack?: number;
  /**
   * The weight below which no call-graph branch is printed (perf's
   * `callchain_param.min_percent` of the total): entries whose whole weight
   * stays below it get no callchain trie. Default 0 (every entry has one).
   */
  minHit?: number;
  /**
   * The stacks are DWARF-unwound (`--call-graph dwarf`): `maxStack` cuts
   * only their kernel part, the user part was cut when unwound (as perf).
   */
  dwarfStacks?: boolean;
  /**
   * perf's sort list (`hists->hpp_list->sorts`, see `report_fields.ts`):
   * overhead columns and sort keys in the order they decide the output
   * order. Default: `overhead_children` (with children), `overhead`, the
   * sort keys, `sample` (with `showSamples`).
   */
  sorts?: readonly ReportField[];
  /**
   * The threads once the recording was read: a class whose comm is its thread's `:<tid>`
   * placeholder shows the name perf overrode it with ({@linkcode ThreadNames.placeholderName}).
   */
  threadNames?: ThreadNames;
  /**
   * The order perf created the recording's dso objects in (`LoadResult.dsoOrder`), which
   * orders equal-weight call-graph children of different objects; without it, by name.
   */
  dsoOrder?: ReadonlyMap<string, number>;
}

/** A histogram entry's value of an overhead column (`he_get_*`). */
export function hppValue(e: HistEntry, field: HppField): number {
  switch (field) {
    case "overhead":
    case "period":
      return e.self;
    case "overhead_sys":
      return e.selfSys;
    case "overhead_us":
      return e.selfUs;
    case "overhead_guest_sys":
    case "overhead_guest_us":
      return 0;
    case "overhead_children":
      return e.children;
    case "sample":
      return e.selfSamples;
  }
}

/** The histogram: entries in perf's output order and their callchain tries. */
export interface Histogram {
  /** Every entry, in output order (none dropped; see `filtered`). */
  entries: HistEntry[];
  /**
   * Print an entry's call graph (perf's `callchain__fprintf_graph`) below its line.
   * @param out Output lines (appended to).
   * @param entry The entry.
   * @param total The report total (graph percents are absolute).
   * @param minHit Branches below this weight are hidden.
   * @param skipFirst Leave out the entry's own frame (when sorting by sym first).
   * @param printLimit At most this many branches per level (perf's `print_limit`; 0: all).
   */
  printGraph(
    out: string[],
    entry: HistEntry,
    total: number,
    minHit: number,
    skipFirst: boolean,
    printLimit?: number,
  ): void;
  /**
   * Print an entry's callchains in perf's `-g folded` mode below its line.
   * @param out Output lines (appended to).
   * @param entry The entry.
   * @param total The report total (percents are absolute).
   * @param minHit Chains whose own weight is below this are left out.
   * @param printLimit At most this many lines (perf's `print_limit`; 0: all).
   */
  printFolded(
    out: string[],
    entry: HistEntry,
    total: number,
    minHit: number,
    printLimit?: number,
  ): void;
  /** The callchain order used. */
  order: "caller" | "callee" | "none";
  /** Whether entries accumulate children. */
  children: boolean;
  /** The sort keys. */
  sort: readonly SortKey[];
}

/**
 * Build perf report's histogram of a profile.
 * @param profile The profile.
 * @param options Sort keys, children, callchain order.
 * @returns The entries in output order.
 */
export function buildHistogram(
  profile: Profile & StackSelfFrames,
  options: HistogramOptions = {},
): Histogram {
  const children = options.children ?? false;
  const sort = options.sort ?? ["comm", "dso", "sym"];
  if (sort.length === 0 && options.sorts === undefined) {
    throw new ReportOptionError("--sort needs at least one key");
  }
  const order = options.callGraph ?? (children ? "caller" : "callee");
  const showSamples = options.showSamples === true;
  const selfFrame = options.selfFrame ?? ((i: number) => selfFrameOf(profile, i));
  const keep = options.keep;
  const maxStack = options.maxStack;
  let recordKept = true;
  const frameKeyed = sort.some((k) => k === "sym" || k === "dso");
  const comms = classComms(profile, options.threadNames);
  const dsoRank = rankOfDso(options.dsoOrder);
  const keys = new EntryKeys(profile, sort, comms);
  const t = profile.frames;
  const store = new ChainStore();
  /** Every entry of the input tree, in creation order. */
  const entryList: HistEntry[] = [];

  // perf's histogram: hists__findnew_entry walks an rbtree ordered by
  // hist_entry__cmp from the root and adds the entry where the walk ends
  // when it meets no equal one. perf's comparisons are not a strict weak
  // order (unresolved symbols compare by address across dsos, inlined ones
  // by name), so a walk can miss an equal entry and perf then shows one
  // symbol as two entries; walking the same tree reproduces that. A walk's
  // outcome only changes after an insertion, so it is reused until then.
  const input = new RbTree<HistEntry>();
  const frameKeys = frameKeyIds(profile, sort);
  const classKeys = classKeyIds(profile, sort, comms);
  // Dense ids of sort-key values; per id the entry its last walk found, the
  // tree epoch of that walk, and the last stack record that counted it.
  const keyIndex = new PairIndex();
  const walked: HistEntry[] = [];
  const walkedAt: number[] = [];
  const lastSample: number[] = [];
  let epoch = 0;
  // Per frame, its key for the last class it was asked with: consecutive records are
  // mostly one thread's, so most lookups end here.
  const lastKeyClass = new Int32Array(t.size).fill(-1);
  const lastKey = new Int32Array(t.size);
  const keyOf = (frame: number, cls: number): number => {
    if (lastKeyClass[frame] === cls) return lastKey[frame];
    const id = keyOfPair(frame, cls);
    lastKeyClass[frame] = cls;
    lastKey[frame] = id;
    return id;
  };
  const newKey = (): number => {
    walkedAt.push(-1);
    return lastSample.push(-1) - 1;
  };
  const keyOfPair = (frame: number, cls: number): number =>
    keyIndex.getOrAdd(frameKeys(frame), classKeys[cls], newKey);
  // Where the comparisons form a strict weak order and found entries never change, a found
  // entry stays the one its walk finds: no walk is repeated. Not so with inlined frames
  // (equal to one of their name whose function's range touches theirs), nor with unresolved
  // addresses: `sym` compares them by address across objects without a `dso` key before it,
  // and with one, an entry found from another object of that short name takes the new map
  // (mapUpdate below), which changes later walks (the 102 MB real recording's --children
  // report is perf's, byte for byte, only with the samples' walks replayed in order).
  const symAt = sort.indexOf("sym");
  const weakOrder = !t.inlined.some(Boolean) &&
    (symAt < 0 || !t.syms.some((x) => x === undefined));
  // hists__findnew_entry moves a found entry to the new sample's map: an
  // unresolved address met in another dso changes dso (and later walks).
  const mapUpdate = (e: HistEntry, frame: number): HistEntry => {
    if (e.frame !== frame && t.syms[e.frame] === undefined && t.dsos[e.frame] !== t.dsos[frame]) {
      e.frame = frame;
      epoch++;
    }
    return e;
  };
  // Without a strict weak order a walk's end also depends on what the key leaves out (an
  // unresolved address's object, compared against resolved symbols): walks are then reused
  // per frame and class, not per key.
  const walkIndex = new PairIndex();
  const frameWalked: HistEntry[] = [];
  const frameWalkedAt: number[] = [];
  const newWalk = (): number => frameWalkedAt.push(-1) - 1;
  const walkOf = (frame: number, cls: number): number => walkIndex.getOrAdd(frame, cls, newWalk);

  const entryFor = (frame: number, cls: number, key: number, kernel?: boolean): HistEntry => {
    const w = weakOrder ? key : walkOf(frame, cls);
    const doneAt = weakOrder ? walkedAt : frameWalkedAt;
    const done = weakOrder ? walked : frameWalked;
    const at = doneAt[w];
    if (at >= 0 && (weakOrder || at === epoch)) return mapUpdate(done[w], frame);
    const probe: EntryRef = { frame, cls, ip: t.ips[frame] ?? 0n };
    const before = input.size;
    const e = input.findOrInsert((existing) => keys.cmp(existing, probe), () => {
      const c = profile.classes[cls];
      const columns = sort.map((k) => {
        switch (k) {
          case "sym":
            return symbolColumn(profile, frame, kernel);
          case "dso":
            return dsoShortName(t.dsos[frame], t.kinds[frame] === "kernel");
          case "comm":
            return comms[cls];
          case "pid":
          case "tid":
            return c.tid.toString().padStart(7) + ":" + comms[cls];
          case "cpu":
            return c.cpu < 0
              ? "-" + String(-c.cpu).padStart(3, "0")
              : String(c.cpu).padStart(3, "0");
          case "trace": // hist_entry__trace_snprintf: N/A outside tracepoint events
            return c.trace ?? "N/A";
        }
      });
      const entry: HistEntry = {
        ...probe,
        columns,
        filtered: !recordKept,
        created: input.size,
        self: 0,
        children: 0,
        selfSamples: 0,
        selfSys: 0,
        selfUs: 0,
        chains: store.node(-1),
        maxDepth: 0,
      };
      entryList.push(entry);
      return entry;
    });
    if (input.size !== before) epoch++;
    done[w] = e;
    doneAt[w] = epoch;
    return mapUpdate(e, frame);
  };

  // Pass 1: the entries and their weights, in perf's walk order. Pass 2 (after the
  // collapse) gives callchain tries only to entries whose weight reaches `minHit`: perf
  // prints no branch below it, and the rest of the tries (most of them with --children)
  // would never be read. A walk of a record makes a group: the entries it fed, as (chain
  // position, entry) pairs (position -1: a chainless record's own entry), and the weight
  // and samples of the records that fed them alike.
  const minHit = options.minHit ?? 0;
  const fed = new Int32List();
  /** Per group: its record, where its pairs start in `fed`. */
  const groups = new Int32List();
  const groupWeight: number[] = [];
  const groupSamples: number[] = [];
  /** Per group: its own entry's sample was kernel-mode (perf's period_sys). */
  const groupSys: boolean[] = [];
  const chainOf = (i: number): number[] | undefined => {
    let rootFirst = perfPath(profile, i);
    if (rootFirst.length === 0) return undefined;
    if (profile.stackSelf?.[i] === CHAINLESS) return rootFirst;
    if (maxStack !== undefined) {
      const cut = options.dwarfStacks ? cutDwarfPath : cutPath;
      rootFirst = cut(profile, rootFirst, maxStack, order !== "callee");
    }
    // perf's callchain cursor order: caller-first unless callee order was asked for.
    return order === "callee" ? rootFirst.reverse() : rootFirst;
  };
  // perf's he_cache test compares a node with the sample's earlier entries, and an inlined
  // symbol equals one of its name whose range only touches its own: keys of such names
  // are checked against this walk's entries with the comparison itself.
  const inlinedNames = new Set<string>();
  for (let f = 0; f < t.size; f++) {
    if (t.inlined[f] && t.syms[f] !== undefined) inlinedNames.add(t.syms[f]!);
  }
  const walkEntries: HistEntry[] = [];
  const sameAsEarlier = (frame: number, cls: number): boolean => {
    const sym = t.syms[frame];
    if (sym === undefined || !inlinedNames.has(sym)) return false;
    const probe: EntryRef = { frame, cls, ip: t.ips[frame] ?? 0n };
    return walkEntries.some((e) => keys.cmp(e, probe) === 0);
  };
  let walks = 0;
  /** Walk record `i` (find or create its entries); returns its new group. */
  const walkRecord = (i: number): number => {
    const g = groupWeight.length;
    groups.push(i, fed.length);
    groupWeight.push(0);
    groupSamples.push(0);
    const walk = ++walks;
    const cls = profile.stackClass[i];
    const chain = chainOf(i);
    if (chain === undefined) {
      groupSys.push(false);
      return g;
    }
    if (profile.stackSelf?.[i] === CHAINLESS) {
      // a sample whose callchain had no entry: its own entry, no chain, nothing to cumulate
      const own = chain[chain.length - 1];
      if (keep !== undefined) recordKept = keep(own, cls);
      groupSys.push(t.kinds[own] === "kernel");
      fed.push(-1, entryFor(own, cls, keyOf(own, cls)).created);
      return g;
    }
    const selfAt = selfFrame(i);
    if (keep !== undefined) recordKept = keep(selfAt, cls);
    groupSys.push(t.kinds[selfAt] === "kernel");
    const selfKey = keyOf(selfAt, cls);
    const self = entryFor(selfAt, cls, selfKey);
    if (self.maxDepth < chain.length) self.maxDepth = chain.length;
    fed.push(0, self.created);
    if (!children || !frameKeyed) return g;
    // iter_add_next_cumulative_entry: one entry per sort-key value and
    // sample (perf compares with the sample's earlier entries), even under
    // recursion.
    lastSample[selfKey] = walk;
    walkEntries.length = 0;
    if (inlinedNames.size > 0) walkEntries.push(self);
    // fill_callchain_info leaves the reused addr_location's level alone for a node without a
    // map: such an entry is created with the level of the last node (in cursor order) that had
    // one, or the sample's own
    let kernel = t.kinds[selfAt] === "kernel";
    for (let p = 0; p < chain.length; p++) {
      const f = chain[p];
      const unmapped = t.dsos[f] === undefined && t.syms[f] === undefined;
      if (!unmapped) kernel = t.kinds[f] === "kernel";
      const key = keyOf(f, cls);
      if (lastSample[key] === walk) continue;
      lastSample[key] = walk;
      if (inlinedNames.size > 0 && sameAsEarlier(f, cls)) continue;
      const e = entryFor(f, cls, key, unmapped ? kernel : undefined);
      if (e.maxDepth < chain.length - p) e.maxDepth = chain.length - p;
      fed.push(p, e.created);
      if (inlinedNames.size > 0) walkEntries.push(e);
    }
    return g;
  };
  // perf walks the tree once per sample, in sample order. Where the comparisons are a
  // strict weak order a walk always ends at the same entry, so a record's samples are
  // walked once together; else a record is walked again when the tree changed since its
  // last sample's walk (a walk's outcome only changes after an insertion).
  const inOrder = profile.sampleOrder;
  if (!weakOrder && inOrder !== undefined) {
    const lastGroup = new Int32Array(profile.stackCount).fill(-1);
    const lastEpoch = new Float64Array(profile.stackCount).fill(-1);
    for (let k = 0; k < inOrder.stack.length; k++) {
      const i = inOrder.stack[k];
      let g = lastGroup[i];
      if (g < 0 || lastEpoch[i] !== epoch) {
        lastGroup[i] = g = walkRecord(i);
        lastEpoch[i] = epoch;
      }
      groupWeight[g] += inOrder.weight[k];
      groupSamples[g]++;
    }
  } else {
    for (let i = 0; i < profile.stackCount; i++) {
      const g = walkRecord(i);
      groupWeight[g] = profile.stackWeight[i];
      groupSamples[g] = profile.stackSamples[i];
    }
  }
  const groupCount = groupWeight.length;
  /** Where group `g`'s pairs end in `fed`. */
  const groupEnd = (g: number) => g + 1 < groupCount ? groups.at(2 * g + 3) : fed.length;
  for (let g = 0; g < groupCount; g++) {
    const w = groupWeight[g];
    const first = groups.at(2 * g + 1);
    for (let n = first, end = groupEnd(g); n < end; n += 2) {
      const e = entryList[fed.at(n + 1)];
      // a walk feeds its own entry first, then its callers' entries
      if (n > first) {
        e.children += w;
        continue;
      }
      e.self += w;
      e.selfSamples += groupSamples[g];
      if (groupSys[g]) e.selfSys += w;
      else e.selfUs += w;
      if (children) e.children += w;
    }
  }

  // hists__collapse_resort (only `comm` has a collapse key; entries equal
  // there are merged), then output_resort by hist_entry__sort.
  let sequence = input.inOrder();
  /** Per entry (creation order): the entry it was merged into. */
  const finalOf = entryList.slice();
  if (sort.includes("comm")) {
    const collapsed = new RbTree<HistEntry>();
    for (const e of sequence) {
      const into = collapsed.findOrInsert((existing) => keys.cmp(existing, e), () => e);
      if (into !== e) {
        into.self += e.self;
        into.children += e.children;
        into.selfSamples += e.selfSamples;
        into.selfSys += e.selfSys;
        into.selfUs += e.selfUs;
        finalOf[e.created] = into;
      }
    }
    sequence = collapsed.inOrder();
  }

  // Pass 2: the tries of the entries that can print a branch (callchain_merge of merged
  // entries is the same as adding their chains to the entry they were merged into).
  if (order !== "none") {
    const nodeFrame = chainNodeIds(profile);
    const weightOf = (e: HistEntry) => children ? e.children : e.self;
    const wanted = (n: number) => fed.at(n) >= 0 && weightOf(finalOf[fed.at(n + 1)]) >= minHit;
    for (let g = 0; g < groupCount; g++) {
      const from = groups.at(2 * g + 1), to = groupEnd(g);
      let any = false;
      for (let n = from; n < to && !any; n += 2) any = wanted(n);
      if (!any) continue;
      // the call-graph nodes match frames as match_chain does (nodeFrame), the entries by kind too
      const nodes = chainOf(groups.at(2 * g))!.map(nodeFrame);
      const w = groupWeight[g];
      for (let n = from; n < to; n += 2) {
        if (wanted(n)) addChain(store, finalOf[fed.at(n + 1)].chains, nodes, fed.at(n), w);
      }
    }
  }
  const callerFirst = order !== "callee";
  const sorts: readonly ReportField[] = options.sorts ?? [
    ...(children ? [{ hpp: "overhead_children" as const }] : []),
    { hpp: "overhead" as const },
    ...sort.map((key) => ({ key })),
    ...(showSamples ? [{ hpp: "sample" as const }] : []),
  ];
  // hist_entry__sort: the first item of the sort list that tells the entries apart
  const steps = sorts.map((f): (a: HistEntry, b: HistEntry) => number => {
    if ("key" in f) {
      const one = new EntryKeys(profile, [f.key], comms);
      return (a, b) => one.sort(a, b);
    }
    if (f.hpp === "overhead_children") {
      // __hpp__sort_acc: 0 without children; caller above callee at equal period.
      if (!children) return () => 0;
      return (a, b) => {
        const c = fieldCmp(a.children, b.children);
        if (c !== 0 || order === "none" || !keys.sameThread(a, b)) return c;
        return callerFirst ? a.maxDepth - b.maxDepth : b.maxDepth - a.maxDepth;
      };
    }
    const field = f.hpp;
    return (a, b) => fieldCmp(hppValue(a, field), hppValue(b, field));
  });
  const entrySort = (a: HistEntry, b: HistEntry): number => {
    for (const step of steps) {
      const c = step(a, b);
      if (c !== 0) return c;
    }
    return 0;
  };
  // perf's output rbtree (equal entries go right, after the earlier ones). Without
  // --children, entrySort is a strict weak order (weights, then the keys' se_sort): the
  // tree's in-order sequence is then the stable sort of the sequence, greatest first.
  let entries: HistEntry[];
  if (!children) entries = sequence.slice().sort((a, b) => -entrySort(a, b));
  else {
    const output = new RbTree<HistEntry>();
    for (const e of sequence) {
      output.findOrInsert((existing) => entrySort(e, existing) > 0 ? -1 : 1, () => e);
    }
    entries = output.inOrder();
  }
  return {
    entries,
    order,
    children,
    sort,
    printFolded: (out, e, total, minHit, printLimit) =>
      printFolded(out, profile, store, e.chains, total, minHit, printLimit, dsoRank),
    printGraph: (out, e, total, minHit, skipFirst, printLimit) =>
      printGraph(
        out,
        profile,
        store,
        e.chains,
        total,
        children ? e.children : e.self,
        minHit,
        skipFirst,
        printLimit,
        dsoRank,
      ),
  };
}
