/**
 * The profile model: interned frames, an interned call-stack trie in
 * struct-of-arrays typed arrays, and a table of distinct (stack, sample class)
 * records. Memory grows with the number of distinct stacks, not samples.
 *
 * Input is a {@linkcode StackSample}: frames are LEAF-FIRST, exactly as perf
 * callchains are stored (`frames[0]` is the sampled instruction, the last
 * element is the outermost caller). Decoders and symbolizers produce these;
 * nothing here sees bytes.
 *
 * @example
 * ```ts
 * import { ProfileBuilder } from "./profile.ts";
 * const b = new ProfileBuilder();
 * b.add({
 *   frames: [{ sym: "leaf", dso: "/bin/x", kernel: false }, { sym: "main", dso: "/bin/x", kernel: false }],
 *   weight: 1, pid: 1, tid: 1, cpu: 0, comm: "x", time: 0, context: "task", truncated: false,
 * });
 * const profile = b.build();
 * profile.totalWeight; // 1
 * ```
 *
 * @module
 */

import { emptyLost, type LostAccounting } from "../input/loss.ts";
import { PairIndex } from "./pair_index.ts";

/** Execution context a sample was taken in (undefined when the source cannot tell). */
export type SampleContext = "task" | "softirq" | "hardirq" | "nmi";

/** One frame of a callchain as produced by a decoder or symbolizer. */
export interface FrameRef {
  /** Symbol name without `+0x..` offset; `undefined` when unresolved. */
  readonly sym?: string;
  /** Object the address belongs to (`/usr/lib/libc.so.6`, `[kernel.kallsyms]`); `undefined` if unknown. */
  readonly dso?: string;
  /** Instruction address; names unresolved frames and keys them apart. */
  readonly ip?: bigint;
  /**
   * True for kernel-mode frames (perf prints `[k]`), false for user mode (`[.]`): the
   * cpumode the PERF_CONTEXT markers set for the entry. perf prints frames with NO map
   * using the sample's own cpumode, so a decoder wanting identical reports sets
   * `kernel` of such frames to that of `frames[0]`.
   */
  readonly kernel: boolean;
  /** True when the frame is an inlined function (perf prints ` (inlined)`). */
  readonly inlined?: boolean;
  /** The mapping `ip` fell in (set by per-address symbolization, for pprof mappings). */
  readonly map?: MapRange;
  /**
   * Set when the symbol is a data object (STT_OBJECT; kallsyms D or B): the offset of
   * `ip` that perf's report Symbol column prints after the name (`name+0x..`).
   */
  readonly objectOffset?: bigint;
  /**
   * The symbol's start (map-relative, perf's `sym->start`), when the
   * symbolizer knows it: two symbols of one name in one object (C++
   * overloads, printed without their parameters) are two frames, as perf's
   * `_sort__sym_cmp` and `match_chain` tell them apart by start. An inlined
   * frame has the start of the function it was inlined into (perf's
   * `new_inline_sym`), so one inlined function in two callers is two entries
   * of perf's report; callchains still match it by name.
   */
  readonly symStart?: bigint;
  /**
   * The symbol's (exclusive) end, as {@linkcode FrameRef.symStart}: perf calls
   * an inlined symbol equal to one of its name whose range overlaps or
   * touches its own.
   */
  readonly symEnd?: bigint;
}

/** A mapping's runtime range and file offset (an MMAP record's addr, addr + len, pgoff). */
export interface MapRange {
  /** First address. */
  readonly start: bigint;
  /** End address (exclusive). */
  readonly end: bigint;
  /** File offset of `start`. */
  readonly pgoff: bigint;
  /** The file the record names (`[kernel.kallsyms]_text` for the kernel, a module's path). */
  readonly filename: string;
}

/** One sample: a leaf-first callchain plus its attribution. */
export interface StackSample {
  /** Frames, LEAF-FIRST (perf callchain order); context markers already removed. */
  readonly frames: readonly FrameRef[];
  /** Sample weight: the period, or 1 to count samples. */
  readonly weight: number;
  /** Process id (-1 when unknown). */
  readonly pid: number;
  /** Thread id (-1 when unknown). */
  readonly tid: number;
  /** CPU number (-1 when the file has no PERF_SAMPLE_CPU). */
  readonly cpu: number;
  /** Command name of the thread. */
  readonly comm: string;
  /** Timestamp in nanoseconds (0 when the file has no PERF_SAMPLE_TIME). */
  readonly time: number;
  /** Execution context, when known. */
  readonly context: SampleContext | undefined;
  /** True when the callchain was cut short (max stack depth, damaged data, ...). */
  readonly truncated: boolean;
  /**
   * The frame perf charges the sample's self time to, when it is not the
   * leaf frame (the sampled address's own symbol under an inlined leaf).
   * Samples that differ only in it stay separate stack records.
   */
  readonly selfFrame?: FrameRef;
  /**
   * The text of the sample's tracepoint payload (perf's `trace` sort key),
   * when the load was asked for it: samples of different texts are of
   * different classes.
   */
  readonly trace?: string;
}

/** Kind of an interned frame, used for colouring and by outputs. */
export type FrameKind = "user" | "kernel" | "marker" | "truncated";

/** Distinct attribution of a sample: thread, process, cpu, command and context. */
export interface SampleClass {
  /** Process id. */
  readonly pid: number;
  /** Thread id. */
  readonly tid: number;
  /** CPU (-1 unknown). */
  readonly cpu: number;
  /** Command name. */
  readonly comm: string;
  /** Execution context. */
  readonly context: SampleContext | undefined;
  /** The samples' payload text ({@linkcode StackSample.trace}), when the load made one. */
  readonly trace?: string;
}

/** Thrown when the profile would exceed the index ranges of its typed arrays. */
export class ProfileLimitError extends RangeError {
  /**
   * Creates the instance.
   * @param what Which table overflowed.
   * @param limit Its maximum size.
   */
  constructor(what: string, limit: number) {
    super(`Profile ${what} table exceeds its limit of ${limit} entries`);
    this.name = "ProfileLimitError";
  }
}

/**
 * `Profile.stackSelf` of a stack record whose samples had a callchain with no entry left
 * (only context markers, nothing unwound): the record's one frame is the sample's own address,
 * which perf's report shows as the entry, with no call chain below it and nothing to cumulate,
 * and which `perf script` prints no line for (so stackcollapse folds it to the comm alone).
 */
export const CHAINLESS: -2 = -2;

/** Maximum number of distinct frames. */
export const MAX_FRAMES = 2 ** 26;
/** Maximum number of trie nodes. */
export const MAX_NODES = 2 ** 27;
/** Maximum number of distinct sample classes. */
export const MAX_CLASSES = 2 ** 21;

/**
 * The symbol under which {@linkcode tagFrame} marks a {@linkcode FrameRef}
 * with a process-unique integer (a non-enumerable own property). Tagged
 * frames are interned by their tag, without a key string or a WeakMap.
 */
const FRAME_TAG: unique symbol = Symbol("frameTag");

/** What {@linkcode FRAME_TAG} looks like on a tagged frame. */
interface Tagged {
  readonly [FRAME_TAG]?: number;
}

let nextFrameTag = 0;
let nextTagSource = 1;
/** The source of each tag (0: none given). */
const tagSources: number[] = [];

/**
 * A new tag source for {@linkcode tagFrame}: a number naming one symbolizer
 * whose tagged frames are distinct frames (no two with the same fields).
 *
 * @returns The source number.
 */
export function newTagSource(): number {
  return nextTagSource++;
}

/**
 * Tag a frame object for fast interning. Only for symbolizers that hand out
 * one {@linkcode FrameRef} object per frame, for every occurrence of it, and
 * never change its fields afterwards.
 *
 * @param frame The frame (not yet tagged).
 * @param source The symbolizer's {@linkcode newTagSource}, when no other frame
 *   it tags has the same fields (a table interning frames of one source alone
 *   then needs no key per frame). Default 0: none.
 * @returns The same object, tagged.
 */
export function tagFrame<T extends FrameRef>(frame: T, source = 0): T {
  const tag = nextFrameTag++;
  tagSources[tag] = source;
  Object.defineProperty(frame, FRAME_TAG, { value: tag });
  return frame;
}

/** Interned frames: id -> fields, and key -> id. */
export class FrameTable {
  /** Display name (symbol, or `0x<ip>` when unresolved, or a marker like `[truncated]`). */
  readonly names: string[] = [];
  /** Symbol name or undefined when unresolved. */
  readonly syms: (string | undefined)[] = [];
  /** Object path or undefined. */
  readonly dsos: (string | undefined)[] = [];
  /** Address (for unresolved frames) or undefined. */
  readonly ips: (bigint | undefined)[] = [];
  /** A representative address inside the frame's function (first one seen); orders frames like perf's symbol-address ties. */
  readonly addrs: (bigint | undefined)[] = [];
  /** Frame kinds. */
  readonly kinds: FrameKind[] = [];
  /** The mapping of the frame's address (per-address tables only; first one seen). */
  readonly maps: (MapRange | undefined)[] = [];
  /** Inlined flags. */
  readonly inlined: boolean[] = [];
  /**
   * Of a data-object symbol's frame, the offset in it of its first address, as perf's
   * report prints it (`name+0x..`); undefined for functions and unresolved frames.
   */
  readonly objectOffsets: (bigint | undefined)[] = [];
  /**
   * The symbol's start ({@linkcode FrameRef.symStart}; of an inlined frame, its
   * containing function's) or undefined when not known.
   */
  readonly starts: (bigint | undefined)[] = [];
  /** The symbol's end ({@linkcode FrameRef.symEnd}) or undefined when not known. */
  readonly ends: (bigint | undefined)[] = [];
  readonly #ids = new Map<string, number>();
  /**
   * Frames below this id are in `#ids`. Frames tagged by one source are
   * distinct frames ({@linkcode tagFrame}): while they are the only user and
   * kernel frames, they are keyed only when a lookup by key needs them.
   */
  #keyed = 0;
  /** The tag source of the frames appended without a key (0: none yet). */
  #source = 0;
  /** Whether frames of another origin were interned: every frame is then keyed. */
  #mixed = false;
  /** Marker frame ids by kind and name. */
  readonly #markers = new Map<string, number>();
  readonly #byObject = new WeakMap<FrameRef, number>();
  /** Frame id + 1 by tag (0: not interned yet); tags are small dense integers. */
  #byTag = new Int32Array(1024);
  readonly #perAddress: boolean;

  /**
   * Creates the table.
   * @param perAddress Intern resolved frames by (kind, dso, symbol, inlined, address):
   *   one frame per instruction address (pprof locations). Default false.
   */
  constructor(perAddress = false) {
    this.#perAddress = perAddress;
  }

  /**
   * Whether resolved frames are interned per instruction address (the
   * `perAddress` constructor option): `addrs` is then each frame's own
   * runtime address, not a representative one.
   * @returns The flag.
   */
  get perAddress(): boolean {
    return this.#perAddress;
  }

  /** Number of interned frames. */
  get size(): number {
    return this.names.length;
  }

  /**
   * Interns a frame: same (kind, dso, symbol, inlined) — or (kind, dso, ip) when
   * unresolved — gives the same id, like perf's function-level callchain matching.
   * @param frame The frame.
   * @returns Its id.
   */
  intern(frame: FrameRef): number {
    // Fast paths: symbolizers that hand out one FrameRef object per frame skip the key build.
    const tag = (frame as Tagged)[FRAME_TAG];
    if (tag !== undefined) {
      let byTag = this.#byTag;
      if (tag < byTag.length) {
        const known = byTag[tag];
        if (known !== 0) return known - 1;
      } else {
        const grown = new Int32Array(Math.max(byTag.length * 2, tag + 1));
        grown.set(byTag);
        this.#byTag = byTag = grown;
      }
      const kind = frame.kernel ? "kernel" : "user";
      const source = tagSources[tag]!;
      let id: number;
      if (!this.#mixed && source > 0 && (this.#source === 0 || this.#source === source)) {
        // frames of one source alone are distinct: appended without a key
        this.#source = source;
        id = this.#append(
          kind,
          frame.sym,
          frame.dso,
          frame.ip,
          frame.inlined === true,
          frame.map,
          frame.objectOffset,
          frame.symStart,
          frame.symEnd,
        );
      } else {
        this.#mixed = true;
        id = this.#intern(
          kind,
          frame.sym,
          frame.dso,
          frame.ip,
          frame.inlined === true,
          frame.map,
          frame.objectOffset,
          frame.symStart,
          frame.symEnd,
        );
      }
      byTag[tag] = id + 1;
      return id;
    }
    let id = this.#byObject.get(frame);
    if (id === undefined) {
      this.#mixed = true;
      const kind = frame.kernel ? "kernel" : "user";
      id = this.#intern(
        kind,
        frame.sym,
        frame.dso,
        frame.ip,
        frame.inlined === true,
        frame.map,
        frame.objectOffset,
        frame.symStart,
        frame.symEnd,
      );
      this.#byObject.set(frame, id);
    }
    return id;
  }

  /**
   * Interns a synthetic marker frame (`[truncated]`, `[nmi]`, ...).
   * @param name Marker name.
   * @param kind `"marker"` or `"truncated"`.
   * @returns Its id.
   */
  internMarker(name: string, kind: "marker" | "truncated"): number {
    // Markers are asked for per truncated or marked stack: by name, without keying every frame.
    const key = kind === "marker" ? "m" + name : "t" + name;
    let id = this.#markers.get(key);
    if (id === undefined) {
      id = this.#intern(kind, name, undefined, undefined, false);
      this.#markers.set(key, id);
    }
    return id;
  }

  /**
   * Copies frame `id` of another table into this one.
   * @param other Source table.
   * @param id Frame id in `other`.
   * @returns Id in this table.
   */
  internFrom(other: FrameTable, id: number): number {
    this.#mixed = true;
    return this.#intern(
      other.kinds[id],
      other.syms[id],
      other.dsos[id],
      other.addrs[id],
      other.inlined[id],
      other.maps[id],
      other.objectOffsets[id],
      other.starts[id],
      other.ends[id],
    );
  }

  /**
   * Looks a frame up by its fields without interning it.
   * @param kind Frame kind.
   * @param sym Symbol.
   * @param dso Object.
   * @returns The id or -1.
   */
  find(
    kind: FrameKind,
    sym: string | undefined,
    dso?: string,
    ip?: bigint,
    inlined = false,
  ): number {
    this.#index();
    return this.#ids.get(frameKey(kind, sym, dso, ip, inlined)) ?? -1;
  }

  /**
   * Ids of all frames whose symbol (or display name) equals `name`.
   * @param name Symbol name.
   * @returns Matching ids.
   */
  idsNamed(name: string): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.names.length; i++) if (this.names[i] === name) out.push(i);
    return out;
  }

  /**
   * A key that identifies the frame independently of the table (for diffs/merges).
   * @param id Frame id.
   * @returns The key string.
   */
  keyOf(id: number): string {
    return frameKey(
      this.kinds[id],
      this.syms[id],
      this.dsos[id],
      this.ips[id],
      this.inlined[id],
      this.starts[id],
    );
  }

  /** The key `#ids` holds a frame under. */
  #keyOf(
    kind: FrameKind,
    sym: string | undefined,
    dso: string | undefined,
    ip: bigint | undefined,
    inlined: boolean,
    start?: bigint,
  ): string {
    const key = frameKey(kind, sym, dso, ip, inlined, start);
    return this.#perAddress && sym !== undefined && ip !== undefined
      ? key + "@" + ip.toString(16)
      : key;
  }

  /** Key the frames appended without one (first id per key, as interning would). */
  #index(): void {
    for (let i = this.#keyed; i < this.names.length; i++) {
      const key = this.#keyOf(
        this.kinds[i],
        this.syms[i],
        this.dsos[i],
        this.addrs[i],
        this.inlined[i],
        this.starts[i],
      );
      if (!this.#ids.has(key)) this.#ids.set(key, i);
    }
    this.#keyed = this.names.length;
  }

  #intern(
    kind: FrameKind,
    sym: string | undefined,
    dso: string | undefined,
    ip: bigint | undefined,
    inlined: boolean,
    map?: MapRange,
    objectOffset?: bigint,
    start?: bigint,
    end?: bigint,
  ): number {
    this.#index();
    const key = this.#keyOf(kind, sym, dso, ip, inlined, start);
    const id = this.#ids.get(key);
    if (id !== undefined) return id;
    this.#ids.set(key, this.names.length);
    this.#keyed = this.names.length + 1;
    return this.#append(kind, sym, dso, ip, inlined, map, objectOffset, start, end);
  }

  /** A new frame (its key in `#ids` up to the caller). */
  #append(
    kind: FrameKind,
    sym: string | undefined,
    dso: string | undefined,
    ip: bigint | undefined,
    inlined: boolean,
    map?: MapRange,
    objectOffset?: bigint,
    start?: bigint,
    end?: bigint,
  ): number {
    const id = this.names.length;
    if (id >= MAX_FRAMES) throw new ProfileLimitError("frame", MAX_FRAMES);
    this.names.push(sym ?? (ip === undefined ? "[unknown]" : "0x" + ip.toString(16)));
    this.syms.push(sym);
    this.dsos.push(dso);
    this.ips.push(sym === undefined ? ip : undefined);
    this.addrs.push(ip);
    this.kinds.push(kind);
    this.inlined.push(inlined);
    this.maps.push(map);
    this.objectOffsets.push(sym === undefined ? undefined : objectOffset);
    this.starts.push(sym === undefined ? undefined : start);
    this.ends.push(sym === undefined || start === undefined ? undefined : end);
    return id;
  }
}

function frameKey(
  kind: FrameKind,
  sym: string | undefined,
  dso: string | undefined,
  ip: bigint | undefined,
  inlined: boolean,
  start?: bigint,
): string {
  const who = sym !== undefined || kind === "marker" || kind === "truncated"
    ? "s" + sym + (start === undefined ? "" : "+" + start.toString(16))
    : "@" + (ip === undefined ? "?" : ip.toString(16));
  return `${kind}\u0000${dso ?? ""}\u0000${inlined ? 1 : 0}\u0000${who}`;
}

/** Options of {@linkcode ProfileBuilder}. */
export interface ProfileBuilderOptions {
  /** Samples for which this returns false are counted as filtered and not added. */
  filter?: (sample: StackSample) => boolean;
  /** Insert a root-most `[nmi]` / `[hardirq]` / `[softirq]` marker frame for such samples. Default false. */
  contextMarkers?: boolean;
  /** Insert a root-most `[truncated]` frame for truncated stacks. Default true. */
  markTruncated?: boolean;
  /**
   * Keep every kept sample's time and stack record, in arrival order
   * ({@linkcode ProfileData.timeline}; 12 bytes per sample). Default false.
   */
  timeline?: boolean;
  /**
   * Keep every kept sample's stack record and weight, in arrival order
   * ({@linkcode ProfileData.sampleOrder}; 12 bytes per sample), for a report
   * whose histogram must see the samples one by one as perf does. Default false.
   */
  sampleOrder?: boolean;
  /**
   * One frame per instruction address (the frames' `ip`) instead of one per
   * function: the pprof output's locations. Default false.
   */
  perAddress?: boolean;
}

/** Kept samples' stack records and weights in arrival order ({@linkcode ProfileBuilderOptions.sampleOrder}). */
export interface ProfileSampleOrder {
  /** Index of the sample's stack record. */
  readonly stack: Int32Array;
  /** The sample's weight. */
  readonly weight: Float64Array;
}

/** Kept samples in arrival order (see {@linkcode ProfileBuilderOptions.timeline}). */
export interface ProfileTimeline {
  /** Sample time in ns. */
  readonly time: Float64Array;
  /** Index of the sample's stack record. */
  readonly stack: Int32Array;
}

/** Path variant of a context marker frame (0: none). */
const CONTEXT_VARIANT: Record<SampleContext, number> = { task: 0, softirq: 1, hardirq: 2, nmi: 3 };

/** Name of the synthetic frame marking truncated stacks. */
export const TRUNCATED_FRAME = "[truncated]";

/**
 * Accumulates samples into an interned profile. Call {@linkcode ProfileBuilder.add}
 * per sample, fill {@linkcode ProfileBuilder.lost}, then {@linkcode ProfileBuilder.build}.
 */
export class ProfileBuilder {
  /** Loss accounting; the reader adds to it. */
  readonly lost: LostAccounting = emptyLost();
  readonly #frames: FrameTable;
  readonly #options: ProfileBuilderOptions;
  #nodeCount = 1; // node 0 is the root (no frame)
  #parent = new Int32Array(1024);
  #frame = new Int32Array(1024);
  readonly #childIndex = new PairIndex();
  readonly #stackIndex = new PairIndex();
  /** Stack record by (caller's frames key * 8 + path variant, class * 2 + truncated). */
  readonly #stackByLeaf = new PairIndex();
  /** Direct-mapped cache of recent sample classes, checked before the string-keyed index. */
  readonly #recentClass = new Int32Array(256).fill(-1);
  #stackCount = 0;
  #stackNode = new Int32Array(1024);
  #stackClass = new Int32Array(1024);
  #stackWeight = new Float64Array(1024);
  #stackSamples = new Float64Array(1024);
  #stackTruncated = new Uint8Array(1024);
  /** Self frame per stack record (-1: the leaf); allocated with the first one. */
  #stackSelf: Int32Array | undefined;
  /** Records with a self frame: (node, class * 2 + truncated) to a group id. */
  readonly #selfGroup = new PairIndex();
  /** Records with a self frame: (group id, self frame) to the record. */
  readonly #selfStack = new PairIndex();
  #selfGroups = 0;
  readonly #classes: SampleClass[] = [];
  readonly #classIndex = new Map<string, number>();
  #samplesRead = 0;
  #samplesKept = 0;
  #truncated = 0;
  #totalWeight = 0;
  #timeMin = Infinity;
  #timeMax = -Infinity;
  #path: number[] = [];
  #tlCount = 0;
  #tlTime: Float64Array | undefined;
  #tlStack: Int32Array | undefined;
  #tlWeight: Float64Array | undefined;
  /** A timeline or the sample order is kept. */
  readonly #recording: boolean;

  /**
   * Creates the instance.
   * @param options Filtering and marker options. */
  constructor(options: ProfileBuilderOptions = {}) {
    this.#options = options;
    this.#recording = options.timeline === true || options.sampleOrder === true;
    this.#frames = new FrameTable(options.perAddress === true);
    this.#parent[0] = -1;
    this.#frame[0] = -1;
  }

  /** Samples offered to {@linkcode add} so far (kept or filtered). */
  get samplesRead(): number {
    return this.#samplesRead;
  }

  /**
   * Adds one sample (unless the filter rejects it).
   *
   * With `framesKey`, the caller names the contents of `sample.frames`: a
   * non-negative integer below 2^28 that it passes again only with equal
   * frames (the same frame objects in the same order), as a symbolizer that
   * shares one frames array per distinct callchain can. The stack record is
   * then found by (key, class) without walking the trie.
   *
   * @param sample The sample; frames leaf-first.
   * @param framesKey Optional name of the frames' contents (see above).
   * @returns True when kept.
   */
  add(sample: StackSample, framesKey = -1): boolean {
    this.#samplesRead++;
    if (this.#options.filter && !this.#options.filter(sample)) return false;
    const truncated = sample.truncated && this.#options.markTruncated !== false;
    const ctx = sample.context;
    const marked = this.#options.contextMarkers === true && ctx !== undefined && ctx !== "task";
    const frames = sample.frames;
    const cls = this.#internClass(
      sample.pid,
      sample.tid,
      sample.cpu,
      sample.comm,
      ctx,
      sample.trace,
    );
    const sub = cls * 2 + (sample.truncated ? 1 : 0);
    if (sample.time < this.#timeMin) this.#timeMin = sample.time;
    if (sample.time > this.#timeMax) this.#timeMax = sample.time;
    // Frames named by the caller: the stack record is found by (key, path variant, class)
    // in one lookup, without walking the trie.
    let leafKey = -1;
    let memo = -1;
    const selfFrame = sample.selfFrame;
    if (framesKey >= 0 && framesKey < 0x1000_0000 && selfFrame === undefined) {
      leafKey = framesKey * 8 + (truncated ? 1 : 0) +
        (marked ? 2 * CONTEXT_VARIANT[ctx as SampleContext] : 0);
      memo = this.#stackByLeaf.slot(leafKey, sub);
      const idx = this.#stackByLeaf.valueAt(memo);
      if (idx >= 0) {
        this.#count(idx, sample.weight, 1, sample.truncated);
        if (this.#recording) this.#record(sample.time, idx, sample.weight);
        return true;
      }
    }
    const path = this.#path;
    path.length = 0;
    if (truncated) path.push(this.#frames.internMarker(TRUNCATED_FRAME, "truncated"));
    if (marked) path.push(this.#frames.internMarker(`[${ctx}]`, "marker"));
    for (let i = frames.length - 1; i >= 0; i--) path.push(this.#frames.intern(frames[i]));
    // a callchain with no entry: the self frame stands as the stack, marked CHAINLESS
    const chainless = frames.length === 0 && selfFrame !== undefined;
    if (chainless) path.push(this.#frames.intern(selfFrame));
    let node = 0;
    for (let i = 0; i < path.length; i++) node = this.#child(node, path[i]);
    const self = chainless
      ? CHAINLESS
      : selfFrame === undefined
      ? -1
      : this.#frames.intern(selfFrame);
    const idx = this.#addStack(node, cls, sample.weight, 1, sample.truncated, self);
    if (memo >= 0) this.#stackByLeaf.insertAt(memo, leafKey, sub, idx);
    if (this.#recording) this.#record(sample.time, idx, sample.weight);
    return true;
  }

  /** Appends one sample to the timeline and the sample order (those asked for). */
  #record(time: number, stack: number, weight: number): void {
    const n = this.#tlCount++;
    if (this.#tlStack === undefined || n >= this.#tlStack.length) {
      const len = Math.max(1024, n * 2);
      const grow = <T extends Float64Array | Int32Array>(a: T | undefined, b: T): T => {
        if (a !== undefined) b.set(a);
        return b;
      };
      this.#tlStack = grow(this.#tlStack, new Int32Array(len));
      if (this.#options.timeline) this.#tlTime = grow(this.#tlTime, new Float64Array(len));
      if (this.#options.sampleOrder) this.#tlWeight = grow(this.#tlWeight, new Float64Array(len));
    }
    this.#tlStack[n] = stack;
    if (this.#tlTime !== undefined) this.#tlTime[n] = time;
    if (this.#tlWeight !== undefined) this.#tlWeight[n] = weight;
  }

  /**
   * Adds an already aggregated stack (used by merge, filter and folded input).
   * @param rootFirstFrames Frame ids of `frames` (the given table), root-first.
   * @param frames Table the ids refer to.
   * @param cls Sample class.
   * @param weight Summed weight.
   * @param samples Number of samples it stands for.
   * @param truncated Whether these samples had truncated stacks.
   * @param selfFrame Frame id (of `frames`) carrying the self weight; -1: the leaf;
   *   {@linkcode CHAINLESS}: the leaf, of a sample whose callchain had no entry.
   */
  addAggregated(
    rootFirstFrames: readonly number[],
    frames: FrameTable,
    cls: SampleClass,
    weight: number,
    samples: number,
    truncated: boolean,
    selfFrame = -1,
  ): void {
    this.#samplesRead += samples;
    const path = this.#path;
    path.length = 0;
    for (const id of rootFirstFrames) path.push(this.#frames.internFrom(frames, id));
    const c = this.#internClass(cls.pid, cls.tid, cls.cpu, cls.comm, cls.context, cls.trace);
    const self = selfFrame >= 0
      ? this.#frames.internFrom(frames, selfFrame)
      : selfFrame === CHAINLESS
      ? CHAINLESS
      : -1;
    let node = 0;
    for (let i = 0; i < path.length; i++) node = this.#child(node, path[i]);
    this.#addStack(node, c, weight, samples, truncated, self);
  }

  /**
   * Freezes the accumulated data into a {@linkcode Profile}.
   * @returns The profile (the builder may keep being used; the profile is a snapshot).
   */
  build(): Profile {
    const n = this.#nodeCount;
    const s = this.#stackCount;
    const nodeSelf = new Float64Array(n);
    const nodeTotal = new Float64Array(n);
    const nodeSelfSamples = new Float64Array(n);
    const nodeTotalSamples = new Float64Array(n);
    for (let i = 0; i < s; i++) {
      const node = this.#stackNode[i];
      nodeSelf[node] += this.#stackWeight[i];
      nodeSelfSamples[node] += this.#stackSamples[i];
    }
    nodeTotal.set(nodeSelf);
    nodeTotalSamples.set(nodeSelfSamples);
    // Children always have larger ids than their parents: one reverse pass sums totals.
    for (let i = n - 1; i > 0; i--) {
      const p = this.#parent[i];
      nodeTotal[p] += nodeTotal[i];
      nodeTotalSamples[p] += nodeTotalSamples[i];
    }
    return new Profile({
      frames: this.#frames,
      nodeParent: this.#parent.slice(0, n),
      nodeFrame: this.#frame.slice(0, n),
      nodeSelf,
      nodeTotal,
      nodeSelfSamples,
      nodeTotalSamples,
      stackNode: this.#stackNode.slice(0, s),
      stackClass: this.#stackClass.slice(0, s),
      stackWeight: this.#stackWeight.slice(0, s),
      stackSamples: this.#stackSamples.slice(0, s),
      stackTruncated: this.#stackTruncated.slice(0, s),
      ...(this.#stackSelf !== undefined ? { stackSelf: this.#stackSelf.slice(0, s) } : {}),
      classes: this.#classes.slice(),
      samplesRead: this.#samplesRead,
      samples: this.#samplesKept,
      truncatedSamples: this.#truncated,
      totalWeight: this.#totalWeight,
      lost: { ...this.lost },
      timeMin: this.#timeMin,
      timeMax: this.#timeMax,
      ...(this.#options.timeline
        ? {
          timeline: {
            time: (this.#tlTime ?? new Float64Array(0)).slice(0, this.#tlCount),
            stack: (this.#tlStack ?? new Int32Array(0)).slice(0, this.#tlCount),
          },
        }
        : {}),
      ...(this.#options.sampleOrder
        ? {
          sampleOrder: {
            stack: (this.#tlStack ?? new Int32Array(0)).slice(0, this.#tlCount),
            weight: (this.#tlWeight ?? new Float64Array(0)).slice(0, this.#tlCount),
          },
        }
        : {}),
    });
  }

  #internClass(
    pid: number,
    tid: number,
    cpu: number,
    comm: string,
    context: SampleContext | undefined,
    trace: string | undefined,
  ): number {
    const slot = (Math.imul(tid, 0x9e3779b1) ^ Math.imul(cpu + 1, 0x85ebca6b) ^ pid) >>> 24;
    const recent = this.#recentClass[slot];
    if (recent >= 0) {
      const c = this.#classes[recent];
      if (
        c.tid === tid && c.pid === pid && c.cpu === cpu && c.comm === comm &&
        c.context === context && c.trace === trace
      ) return recent;
    }
    let key = `${pid}\u0000${tid}\u0000${cpu}\u0000${context ?? ""}\u0000${comm}`;
    if (trace !== undefined) key += "\u0000t" + trace;
    let id = this.#classIndex.get(key);
    if (id === undefined) {
      id = this.#classes.length;
      if (id >= MAX_CLASSES) throw new ProfileLimitError("sample class", MAX_CLASSES);
      this.#classes.push(
        trace === undefined
          ? { pid, tid, cpu, comm, context }
          : { pid, tid, cpu, comm, context, trace },
      );
      this.#classIndex.set(key, id);
    }
    this.#recentClass[slot] = id;
    return id;
  }

  /**
   * Add to the stack record of (node, class, truncated, self frame), created
   * when new; its index. `self` -1: the leaf frame.
   */
  #addStack(
    node: number,
    cls: number,
    weight: number,
    samples: number,
    truncated: boolean,
    self = -1,
  ): number {
    const sub = cls * 2 + (truncated ? 1 : 0);
    if (self >= 0 || self === CHAINLESS) {
      return this.#addSelfStack(node, cls, sub, weight, samples, truncated, self);
    }
    const idx = this.#stackIndex.getOrAdd(node, sub, this.#newSubStack);
    this.#count(idx, weight, samples, truncated);
    return idx;
  }

  /** {@linkcode #newStack} of a (node, class * 2 + truncated) pair. */
  readonly #newSubStack = (node: number, sub: number): number =>
    this.#newStack(node, sub >> 1, (sub & 1) === 1);

  /** {@linkcode #addStack} for a record with a self frame (keyed on it too). */
  #addSelfStack(
    node: number,
    cls: number,
    sub: number,
    weight: number,
    samples: number,
    truncated: boolean,
    self: number,
  ): number {
    const groups = this.#selfGroup;
    const gs = groups.slot(node, sub);
    let group = groups.valueAt(gs);
    if (group < 0) groups.insertAt(gs, node, sub, group = this.#selfGroups++);
    const index = this.#selfStack;
    // CHAINLESS is keyed apart from every frame id
    const key = self === CHAINLESS ? MAX_FRAMES : self;
    const slot = index.slot(group, key);
    let idx = index.valueAt(slot);
    if (idx < 0) {
      idx = this.#newStack(node, cls, truncated);
      index.insertAt(slot, group, key, idx);
      if (this.#stackSelf === undefined) {
        this.#stackSelf = new Int32Array(this.#stackNode.length).fill(-1);
      }
      this.#stackSelf[idx] = self;
    }
    this.#count(idx, weight, samples, truncated);
    return idx;
  }

  /** A new, empty stack record. */
  #newStack(node: number, cls: number, truncated: boolean): number {
    const idx = this.#stackCount++;
    if (idx >= this.#stackNode.length) this.#growStacks();
    this.#stackNode[idx] = node;
    this.#stackClass[idx] = cls;
    this.#stackTruncated[idx] = truncated ? 1 : 0;
    return idx;
  }

  #count(idx: number, weight: number, samples: number, truncated: boolean): void {
    this.#stackWeight[idx] += weight;
    this.#stackSamples[idx] += samples;
    this.#samplesKept += samples;
    this.#totalWeight += weight;
    if (truncated) this.#truncated += samples;
  }

  #child(parent: number, frame: number): number {
    return this.#childIndex.getOrAdd(parent, frame, this.#newNode);
  }

  /** A new trie node: `frame` under `parent`. */
  readonly #newNode = (parent: number, frame: number): number => {
    const id = this.#nodeCount++;
    if (id >= MAX_NODES) throw new ProfileLimitError("node", MAX_NODES);
    if (id >= this.#parent.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.#parent = grow(this.#parent);
      this.#frame = grow(this.#frame);
    }
    this.#parent[id] = parent;
    this.#frame[id] = frame;
    return id;
  };

  #growStacks(): void {
    const len = this.#stackNode.length * 2;
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
    this.#stackNode = i32(this.#stackNode);
    this.#stackClass = i32(this.#stackClass);
    this.#stackWeight = f64(this.#stackWeight);
    this.#stackSamples = f64(this.#stackSamples);
    const t = new Uint8Array(len);
    t.set(this.#stackTruncated);
    this.#stackTruncated = t;
    if (this.#stackSelf !== undefined) {
      const self = new Int32Array(len).fill(-1);
      self.set(this.#stackSelf);
      this.#stackSelf = self;
    }
  }
}

/** Fields of a {@linkcode Profile} (what {@linkcode ProfileBuilder.build} produces). */
export interface ProfileData {
  /** Interned frames. */
  frames: FrameTable;
  /** Trie: parent node of each node (-1 for the root, node 0). Children have larger ids. */
  nodeParent: Int32Array;
  /** Trie: frame id of each node (-1 for the root). */
  nodeFrame: Int32Array;
  /** Weight of samples whose stack ends at the node. */
  nodeSelf: Float64Array;
  /** Weight of samples whose stack passes through the node. */
  nodeTotal: Float64Array;
  /** Sample count version of nodeSelf. */
  nodeSelfSamples: Float64Array;
  /** Sample count version of nodeTotal. */
  nodeTotalSamples: Float64Array;
  /** Distinct stack records: leaf node. */
  stackNode: Int32Array;
  /** Distinct stack records: sample class id. */
  stackClass: Int32Array;
  /** Distinct stack records: summed weight. */
  stackWeight: Float64Array;
  /** Distinct stack records: sample count. */
  stackSamples: Float64Array;
  /** Distinct stack records: 1 when truncated. */
  stackTruncated: Uint8Array;
  /**
   * Distinct stack records: the frame carrying the self weight, -1 for the
   * leaf, {@linkcode CHAINLESS} for the leaf of an empty callchain (absent when no
   * record has one; see {@linkcode StackSample.selfFrame}).
   */
  stackSelf?: Int32Array;
  /** Sample classes by id. */
  classes: SampleClass[];
  /** Samples offered to the builder, kept or filtered. */
  samplesRead: number;
  /** Samples kept. */
  samples: number;
  /** Kept samples whose stacks were truncated. */
  truncatedSamples: number;
  /** Sum of kept weights. */
  totalWeight: number;
  /** Loss accounting. */
  lost: LostAccounting;
  /** Earliest kept sample time (ns), Infinity when none. */
  timeMin: number;
  /** Latest kept sample time (ns), -Infinity when none. */
  timeMax: number;
  /** Kept samples in arrival order, when the builder was asked to keep them. */
  timeline?: ProfileTimeline;
  /** Kept samples' stack records and weights in arrival order (only when asked for). */
  sampleOrder?: ProfileSampleOrder;
}

/** An immutable interned profile. Node 0 is the root; stacks are root-first paths in the trie. */
export class Profile implements ProfileData {
  /** Interned frames. */
  readonly frames: FrameTable;
  /** Parent of each node (-1 for root). */
  readonly nodeParent: Int32Array;
  /** Frame of each node (-1 for root). */
  readonly nodeFrame: Int32Array;
  /** Self weight per node. */
  readonly nodeSelf: Float64Array;
  /** Total weight per node. */
  readonly nodeTotal: Float64Array;
  /** Self samples per node. */
  readonly nodeSelfSamples: Float64Array;
  /** Total samples per node. */
  readonly nodeTotalSamples: Float64Array;
  /** Stack record leaf nodes. */
  readonly stackNode: Int32Array;
  /** Stack record classes. */
  readonly stackClass: Int32Array;
  /** Stack record weights. */
  readonly stackWeight: Float64Array;
  /** Stack record sample counts. */
  readonly stackSamples: Float64Array;
  /** Stack record truncation flags. */
  readonly stackTruncated: Uint8Array;
  /** Stack record self frames (-1: the leaf; {@linkcode CHAINLESS}: the leaf of an empty callchain), when any record has one. */
  readonly stackSelf?: Int32Array;
  /** Sample classes. */
  readonly classes: SampleClass[];
  /** Samples read. */
  readonly samplesRead: number;
  /** Samples kept. */
  readonly samples: number;
  /** Truncated samples kept. */
  readonly truncatedSamples: number;
  /** Total kept weight. */
  readonly totalWeight: number;
  /** Loss accounting. */
  readonly lost: LostAccounting;
  /** Earliest time. */
  readonly timeMin: number;
  /** Latest time. */
  readonly timeMax: number;
  /** Kept samples in arrival order (only with {@linkcode ProfileBuilderOptions.timeline}). */
  readonly timeline?: ProfileTimeline;
  /** Kept samples' stack records and weights in arrival order (only with {@linkcode ProfileBuilderOptions.sampleOrder}). */
  readonly sampleOrder?: ProfileSampleOrder;

  /**
   * Creates the instance.
   * @param data The arrays and totals. */
  constructor(data: ProfileData) {
    this.frames = data.frames;
    this.nodeParent = data.nodeParent;
    this.nodeFrame = data.nodeFrame;
    this.nodeSelf = data.nodeSelf;
    this.nodeTotal = data.nodeTotal;
    this.nodeSelfSamples = data.nodeSelfSamples;
    this.nodeTotalSamples = data.nodeTotalSamples;
    this.stackNode = data.stackNode;
    this.stackClass = data.stackClass;
    this.stackWeight = data.stackWeight;
    this.stackSamples = data.stackSamples;
    this.stackTruncated = data.stackTruncated;
    if (data.stackSelf !== undefined) this.stackSelf = data.stackSelf;
    this.classes = data.classes;
    this.samplesRead = data.samplesRead;
    this.samples = data.samples;
    this.truncatedSamples = data.truncatedSamples;
    this.totalWeight = data.totalWeight;
    this.lost = data.lost;
    this.timeMin = data.timeMin;
    this.timeMax = data.timeMax;
    if (data.timeline !== undefined) this.timeline = data.timeline;
    if (data.sampleOrder !== undefined) this.sampleOrder = data.sampleOrder;
  }

  /** Number of trie nodes including the root. */
  get nodeCount(): number {
    return this.nodeParent.length;
  }

  /** Number of distinct (stack, class) records. */
  get stackCount(): number {
    return this.stackNode.length;
  }

  /**
   * Frame ids on the path from the root to `node`, root-first.
   * @param node A node id.
   * @returns Frame ids, root-first (empty for the root).
   */
  pathOf(node: number): number[] {
    const out: number[] = [];
    for (let n = node; n > 0; n = this.nodeParent[n]) out.push(this.nodeFrame[n]);
    return out.reverse();
  }

  /**
   * Re-aggregates this profile keeping only stack records accepted by `keep`.
   * @param keep Called with the record index.
   * @returns A new profile (loss accounting copied).
   */
  select(keep: (stack: number) => boolean): Profile {
    const b = new ProfileBuilder({ markTruncated: false });
    Object.assign(b.lost, this.lost);
    for (let i = 0; i < this.stackCount; i++) {
      if (!keep(i)) continue;
      b.addAggregated(
        this.pathOf(this.stackNode[i]),
        this.frames,
        this.classes[this.stackClass[i]],
        this.stackWeight[i],
        this.stackSamples[i],
        this.stackTruncated[i] === 1,
        this.stackSelf?.[i] ?? -1,
      );
    }
    return b.build();
  }
}

/**
 * Merges profiles into one (frames re-interned by key, loss accounting summed).
 * @param profiles Profiles to merge.
 * @returns The merged profile.
 */
export function mergeProfiles(...profiles: Profile[]): Profile {
  const b = new ProfileBuilder({ markTruncated: false });
  for (const p of profiles) {
    for (const k of Object.keys(b.lost) as (keyof LostAccounting)[]) b.lost[k] += p.lost[k];
    for (let i = 0; i < p.stackCount; i++) {
      b.addAggregated(
        p.pathOf(p.stackNode[i]),
        p.frames,
        p.classes[p.stackClass[i]],
        p.stackWeight[i],
        p.stackSamples[i],
        p.stackTruncated[i] === 1,
        p.stackSelf?.[i] ?? -1,
      );
    }
  }
  return b.build();
}
