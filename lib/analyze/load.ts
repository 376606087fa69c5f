/**
 * Load a recording into a {@linkcode Profile}: stream the input (perf.data in
 * file or pipe mode, or a callring capture, told apart by their magic), apply
 * the side-band records (COMM, FORK, MMAP, MMAP2) to a {@linkcode PerfSession},
 * symbolize every callchain the way `perf report` / `perf script` do, apply the
 * perf-report filters and count what was lost.
 *
 * Callchain rules (perf 6.1 `thread__resolve_callchain_sample` /
 * `add_callchain_ip`): `PERF_CONTEXT_*` markers switch the cpumode used to
 * resolve the following entries and are dropped; an unknown marker discards
 * the whole chain (the sample then keeps only its own ip); at most `maxStack`
 * (default 127) entries are used. `--call-graph dwarf` samples are unwound from
 * their user-stack copy ({@linkcode unwindUser}) and joined with the kernel
 * part of the chain. The self frame of a sample is its first frame.
 *
 * Frames without a map take their `[k]`/`[.]` level from the sample's first
 * frame, as perf prints them. `FrameRef` objects are reused per (level, dso,
 * symbol) so the profile builder interns them without building keys.
 *
 * Speed (memory grows with distinct callchains, not with samples):
 * frame-pointer callchains are resolved once per distinct (raw chain words,
 * pid, cpumode, event) and the frozen frames array is shared by every
 * sample with that chain; entries of new chains go through a cache by
 * (pid, cpumode, address), kernel addresses shared by all processes. A
 * process's MMAP / FORK only invalidates its own entries; other side-band
 * records that can change resolution clear the caches. {@linkcode loadProfile}
 * reads perf.data through the reader's record visitor: samples whose chain is
 * cached are taken from their bytes without being decoded, handed to the
 * builder as one reused object with a number naming their frames, so the
 * builder finds their stack record in one lookup. A `resolveUnmapped`
 * callback turns the caches off (it may answer differently over time).
 *
 * @example Build a profile and print its sample count
 * ```ts ignore
 * import { loadProfile } from "./load.ts";
 * const { profile, warnings } = await loadProfile("perf.data", { filter: { comm: "burn" } });
 * console.log(profile.samples, warnings.length);
 * ```
 *
 * @module
 */

import {
  ChainWalk,
  CpuMode,
  decodeRecord,
  FormatError,
  type PerfEventAttr,
  type PerfRecord,
  RecordType,
  type Sample,
  type SampleFormat,
  sampleIdAll,
  SampleLayout,
  type SampleRecord,
  SampleType,
} from "../abi/mod.ts";
import { CALLRING_RECORD_MIN } from "../abi/constants.ts";
import { inferContext } from "./context.ts";
import { decodeSymbolRecord } from "../abi/extensions.ts";
import { SimulatedSymbols } from "./sim_symbols.ts";
import { type ByteSource, CaptureReader, fileSource } from "../capture/reader.ts";
import type { CaptureHeader } from "../capture/format.ts";
import type { StreamRecord } from "../ring/defrag.ts";
import {
  openPerfData,
  type PerfDataEvent,
  type PerfDataInfo,
  type RawRecord,
} from "../perfdata/reader.ts";
import { getU64 } from "../abi/u64.ts";
import { type FilterOptions, sampleFilter, type SamplePredicate } from "./filter.ts";
import {
  emptyLost,
  type FrameRef,
  type LostAccounting,
  type Profile,
  ProfileBuilder,
  type SampleContext,
  type StackSample,
} from "./profile.ts";
import type { InlineNode } from "./inlines.ts";
import { PerfSession } from "./session.ts";
import type { SymbolSourceOptions } from "./buildid_cache.ts";
import { DEFAULT_MAX_STACK, ElfCache, fullCallchain, unwindUserDetailed } from "./unwind.ts";

/** The kinds of input {@linkcode openRecords} recognises. */
export type InputFormat = "perf.data" | "capture";

/** One event (perf evsel) of the input. */
export interface InputEvent {
  /** Position in the input's event list. */
  index: number;
  /** perf's event name (`cpu-clock`, `dummy:HG`, ...). */
  name: string;
  /** The attr. */
  attr: PerfEventAttr;
}

/** What the input header says. */
export interface InputInfo {
  /** perf.data (file or pipe mode) or callring capture. */
  format: InputFormat;
  /** The input name as given. */
  source: string;
  /** Pipe-mode perf.data (`perf record -o -`). */
  pipe: boolean;
  /** Events in index order (pipe mode: those seen so far). */
  events: InputEvent[];
  /** Input size in bytes, when known (for progress). */
  size: number | undefined;
  /** perf.data header details (perf.data only). */
  perf?: PerfDataInfo;
  /** Capture header (captures only). */
  capture?: CaptureHeader;
}

/** A sample with its symbolized, leaf-first callchain. */
export interface ResolvedSample extends StackSample {
  /** Index of the sample's event in {@linkcode InputInfo.events}. */
  readonly event: number;
  /** The sample's event name. */
  readonly eventName: string;
  /** The sample period (perf report's "Event count" unit). */
  readonly period: number;
  /** The sampled instruction pointer. */
  readonly ip: bigint;
  /** cpumode of the sample header (`PERF_RECORD_MISC_*`). */
  readonly cpumode: number;
  /** Input offset of the record (stream position for captures). */
  readonly offset: number;
}

/** One item of {@linkcode openRecords}: a symbolized sample or any other record. */
export type InputItem =
  | {
    /** A sample (kept by the pre-filter, when one was given). */
    kind: "sample";
    /** The symbolized sample. */
    sample: ResolvedSample;
    /** The decoded record. */
    record: SampleRecord;
  }
  | {
    /** A sample rejected by {@linkcode OpenRecordsOptions.prefilter}; not symbolized (`frames` empty). */
    kind: "filtered";
    /** The sample without frames. */
    sample: ResolvedSample;
    /** The decoded record. */
    record: SampleRecord;
  }
  | {
    /** A non-sample record (already applied to the session). */
    kind: "record";
    /** The decoded record. */
    record: PerfRecord;
    /** Input offset (stream position for captures). */
    offset: number;
    /** Record time, when known. */
    time: number | undefined;
  };

/** Options of {@linkcode openRecords}. */
export interface OpenRecordsOptions {
  /** kallsyms file for kernel symbols (perf's `--kallsyms`; default /proc/kallsyms). */
  kallsyms?: string;
  /** Where symbols come from (perf's `--symfs`, `--vmlinux`, build-id cache). */
  symbols?: SymbolSourceOptions;
  /** Largest number of callchain entries used per sample (perf's `--max-stack`, default 127). */
  maxStack?: number;
  /** Read granularity of perf.data input in bytes (default 1 MiB). */
  chunkSize?: number;
  /** Called for each reader warning as it happens. */
  onWarning?: (message: string) => void;
  /**
   * Samples for which this returns false are yielded as `kind: "filtered"`
   * without symbolizing them. It sees the sample with empty `frames`.
   */
  prefilter?: SamplePredicate;
  /** Resolve symbols (default true); false leaves frames with addresses only. */
  symbolize?: boolean;
  /**
   * Expand DWARF-unwound user frames into inline frames through addr2line,
   * as perf 6.1 does (default true; false is perf's `--no-inline`). Without
   * a startable `addr2line` (binutils) frames stay unexpanded.
   */
  inline?: boolean;
  /** The addr2line program for inline frames (default `addr2line` from PATH). */
  addr2line?: string;
  /** Override input detection (default: by magic). */
  format?: InputFormat;
  /**
   * EXTENSION POINT (captures): called with every callring extension record
   * (type 0x4c00-0x4cff) the capture reader delivers, e.g. the simulator's
   * `CALLRING_SYMBOL` records, before the records that follow it are resolved.
   */
  onExtensionRecord?: (record: ExtensionRecord) => void;
  /**
   * EXTENSION POINT: names an address that no MMAP covers (a simulator's own
   * symbol table). Consulted only for addresses without a map; return
   * undefined to leave the frame unresolved.
   */
  resolveUnmapped?: UnmappedResolver;
}

/** A callring extension record of a capture (raw bytes, header included). */
export interface ExtensionRecord {
  /** Record type (0x4c00-0x4cff). */
  type: number;
  /** The whole record. */
  bytes: Uint8Array;
  /** CPU stream it came from. */
  cpu: number;
  /** Its time (own or inherited from the previous timed record of its stream). */
  time: number;
}

/**
 * Resolves an address without a map: `(pid, ip, cpumode) -> {sym, dso}`.
 *
 * @param pid Process id of the sample.
 * @param ip The address.
 * @param cpumode `PERF_RECORD_MISC_*` cpumode in effect for the address.
 * @returns Symbol and object name, or undefined.
 */
export type UnmappedResolver = (
  pid: number,
  ip: bigint,
  cpumode: number,
) => { sym: string; dso?: string } | undefined;

/** An open input: async-iterate it once for its records. */
export interface InputRecords extends AsyncIterable<InputItem> {
  /** Header information. */
  readonly info: InputInfo;
  /** Warnings so far (reader truncation, damage, unknown records). */
  readonly warnings: string[];
  /** Loss accounting so far. */
  readonly lost: LostAccounting;
  /** Bytes read from the input so far. */
  readonly bytesRead: number;
  /** Threads and maps built from the side-band records read so far. */
  readonly session: PerfSession;
  /** Release the input (also done when iteration ends). */
  close(): void;
}

/** Thrown when the input is neither perf.data nor a callring capture. */
export class InputFormatError extends FormatError {
  /**
   * Creates the instance.
   * @param source The input name.
   * @param magic The first bytes found.
   */
  constructor(source: string, magic: string) {
    super(
      `Not a perf.data file or callring capture: magic ${JSON.stringify(magic)}, ` +
        'expected "PERFILE2" or "CALLRING"',
      0,
      source,
    );
    this.name = "InputFormatError";
  }
}

const latin1 = new TextDecoder("latin1");

/**
 * Tell perf.data from a callring capture by the first 8 bytes.
 *
 * @param path Input path (`-` is pipe-mode perf.data on stdin).
 * @returns The format.
 * @throws {InputFormatError} When the magic is neither.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 */
export async function detectInputFormat(path: string): Promise<InputFormat> {
  if (path === "-") return "perf.data";
  const file = await Deno.open(path, { read: true });
  try {
    const head = new Uint8Array(8);
    let n = 0;
    while (n < 8) {
      const r = await file.read(head.subarray(n));
      if (r === null) break;
      n += r;
    }
    const magic = latin1.decode(head.subarray(0, n));
    if (magic === "CALLRING") return "capture";
    // perf.data variants (byte-swapped, version 1) get their precise message from the reader.
    if (magic === "PERFILE2" || magic === "2ELIFREP" || magic === "PERFFILE") return "perf.data";
    throw new InputFormatError(path, magic);
  } finally {
    file.close();
  }
}

/** A capture's own symbol table (simulated machines), consulted before maps and kallsyms. */
type OwnSymbols = (ip: bigint) => { sym: string; dso: string } | undefined;

/** A resolved callchain: frames (leaf-first) and whether it was cut. */
interface ResolvedChain {
  frames: readonly FrameRef[];
  truncated: boolean;
  /** The context told from the frames (set on cached chains). */
  context?: SampleContext;
  /**
   * Cached chains: a number for their (frozen, shared) frames, unique per
   * resolver, for {@linkcode ProfileBuilder.add}'s `framesKey`.
   */
  key?: number;
  /**
   * DWARF samples whose leaf was expanded into inline frames: the symbol perf
   * charges the self time to (that of the sampled address itself), when it
   * is not the leaf frame.
   */
  self?: FrameRef;
}

/** Most distinct callchains kept before the cache starts over. */
const CHAIN_CACHE_LIMIT = 1 << 17;
/** Most callchain words kept before the cache starts over (16 MiB). */
const CHAIN_WORDS_LIMIT = 1 << 22;

/** Fields per entry in {@linkcode ChainCache}'s `#meta`. */
const META = 8;
const M_HASH = 0, M_PID = 1, M_MODE = 2, M_ATTR = 3, M_LEN = 4, M_START = 5, M_GEN = 6;

/**
 * Resolved frame-pointer callchains by their raw words, pid, cpumode and
 * event. An entry stays valid while its process's maps are as they were (a
 * generation per process); machine-wide changes clear the cache. Struct of
 * arrays: an open-addressing table of entry numbers, entry fields in one
 * Int32Array, the words of all chains in one pool, so a lookup touches few
 * cache lines and allocates nothing.
 */
class ChainCache {
  /** Entry number + 1 per slot (0: empty). */
  #table = new Int32Array(8192);
  #mask = 8191;
  #meta = new Int32Array(4096 * META);
  #pool = new Uint32Array(1 << 15);
  #poolUsed = 0;
  #chains: ResolvedChain[] = [];
  /** Map generation per process: bumped when its maps change. */
  readonly #generations = new Map<number, number>();
  readonly #attrIds = new Map<PerfEventAttr, number>();
  #lastAttr: PerfEventAttr | undefined;
  #lastAttrId = -1;

  /** Hash of a chain's words (`u32[base, base + len)`), pid and cpumode. */
  static hash(u32: Uint32Array, base: number, len: number, pid: number, mode: number): number {
    let h = Math.imul(pid ^ 0x5bd1e995, 0x01000193) ^ mode;
    for (let i = base; i < base + len; i++) {
      h = Math.imul(h ^ u32[i], 0x01000193);
      h ^= h >>> 13;
    }
    return h;
  }

  #attrId(attr: PerfEventAttr): number {
    if (attr === this.#lastAttr) return this.#lastAttrId;
    let id = this.#attrIds.get(attr);
    if (id === undefined) this.#attrIds.set(attr, id = this.#attrIds.size);
    this.#lastAttr = attr;
    this.#lastAttrId = id;
    return id;
  }

  /** The slot of the entry for these words (valid or stale), or the empty slot for them. */
  #slot(
    hash: number,
    u32: Uint32Array,
    base: number,
    len: number,
    pid: number,
    mode: number,
    attrId: number,
  ): number {
    const table = this.#table;
    const meta = this.#meta;
    const pool = this.#pool;
    const mask = this.#mask;
    for (let s = (hash ^ (hash >>> 16)) & mask;; s = (s + 1) & mask) {
      const n = table[s];
      if (n === 0) return s;
      const m = (n - 1) * META;
      if (
        meta[m + M_HASH] !== hash || meta[m + M_LEN] !== len || meta[m + M_PID] !== pid ||
        meta[m + M_MODE] !== mode || meta[m + M_ATTR] !== attrId
      ) continue;
      const start = meta[m + M_START];
      let i = 0;
      while (i < len && pool[start + i] === u32[base + i]) i++;
      if (i === len) return s;
    }
  }

  /** The chain cached for the words `u32[base, base + len)`, if still valid. */
  get(
    hash: number,
    u32: Uint32Array,
    base: number,
    len: number,
    pid: number,
    mode: number,
    attr: PerfEventAttr,
  ): ResolvedChain | undefined {
    const n = this.#table[this.#slot(hash, u32, base, len, pid | 0, mode, this.#attrId(attr))];
    if (n === 0) return undefined;
    if (this.#meta[(n - 1) * META + M_GEN] !== (this.#generations.get(pid) ?? 0)) return undefined;
    return this.#chains[n - 1];
  }

  /** Cache a resolved chain (the words are copied; a stale entry for them is updated). */
  set(
    hash: number,
    u32: Uint32Array,
    base: number,
    len: number,
    pid: number,
    mode: number,
    attr: PerfEventAttr,
    chain: ResolvedChain,
  ): void {
    const generation = this.#generations.get(pid) ?? 0;
    const attrId = this.#attrId(attr);
    let slot = this.#slot(hash, u32, base, len, pid | 0, mode, attrId);
    const known = this.#table[slot];
    if (known !== 0) {
      this.#meta[(known - 1) * META + M_GEN] = generation;
      this.#chains[known - 1] = chain;
      return;
    }
    const count = this.#chains.length;
    if (count >= CHAIN_CACHE_LIMIT || this.#poolUsed + len > CHAIN_WORDS_LIMIT) {
      this.clear();
      slot = this.#slot(hash, u32, base, len, pid | 0, mode, attrId);
    }
    const n = this.#chains.length;
    if ((n + 1) * META > this.#meta.length) {
      const meta = new Int32Array(this.#meta.length * 2);
      meta.set(this.#meta);
      this.#meta = meta;
    }
    if (this.#poolUsed + len > this.#pool.length) {
      const pool = new Uint32Array(Math.max(this.#pool.length * 2, this.#poolUsed + len));
      pool.set(this.#pool.subarray(0, this.#poolUsed));
      this.#pool = pool;
    }
    const start = this.#poolUsed;
    this.#pool.set(u32.subarray(base, base + len), start);
    this.#poolUsed += len;
    const m = n * META;
    const meta = this.#meta;
    meta[m + M_HASH] = hash;
    meta[m + M_PID] = pid | 0;
    meta[m + M_MODE] = mode;
    meta[m + M_ATTR] = attrId;
    meta[m + M_LEN] = len;
    meta[m + M_START] = start;
    meta[m + M_GEN] = generation;
    this.#chains.push(chain);
    this.#table[slot] = n + 1;
    if ((n + 1) * 2 > this.#mask) this.#grow();
  }

  /** The maps of one process changed: its chains resolve anew. */
  invalidateProcess(pid: number): void {
    this.#generations.set(pid, (this.#generations.get(pid) ?? 0) + 1);
  }

  /** Forget everything. */
  clear(): void {
    if (this.#chains.length === 0) return;
    this.#table.fill(0);
    this.#chains = [];
    this.#poolUsed = 0;
  }

  #grow(): void {
    const len = this.#table.length * 2;
    const table = new Int32Array(len);
    const mask = len - 1;
    const meta = this.#meta;
    for (let n = 0; n < this.#chains.length; n++) {
      const hash = meta[n * META + M_HASH];
      let s = (hash ^ (hash >>> 16)) & mask;
      while (table[s] !== 0) s = (s + 1) & mask;
      table[s] = n + 1;
    }
    this.#table = table;
    this.#mask = mask;
  }
}

/** The {@linkcode AddressCache} "pid" of addresses outside any process's maps (kernel). */
const SHARED_SPACE = -0x8000_0000;

/** Most resolved addresses kept before the address cache starts over. */
const ADDRESS_CACHE_LIMIT = 1 << 20;

/**
 * Resolved callchain entries by (pid, cpumode, address), for chains not in
 * the {@linkcode ChainCache} yet: open addressing over int32 keys, frames
 * in a parallel array. An entry stays valid while its process's map
 * generation is unchanged. Call {@linkcode find}, and after a miss
 * {@linkcode add} for the same address.
 */
class AddressCache {
  /** Entry number + 1 per slot (0: empty). */
  #table = new Int32Array(16384);
  #mask = 16383;
  /** Per entry: pid, generation * 8 + cpumode, high word, low word. */
  #keys = new Int32Array(4 * 8192);
  #frames: FrameRef[] = [];
  #hasMap: boolean[] = [];
  readonly #generations = new Map<number, number>();
  #missSlot = -1;
  #missKey = [0, 0, 0, 0];

  /** The entry for the address: its number, or -1 (then {@linkcode add} may follow). */
  find(pid: number, mode: number, hi: number, lo: number): number {
    const p = pid | 0;
    const g = (this.#generations.get(pid) ?? 0) * 8 + mode;
    const h0 = lo | 0;
    const h1 = hi | 0;
    let h = Math.imul(h0, 0x9e3779b1) ^ Math.imul(h1 ^ p, 0x85ebca6b) ^ g;
    h ^= h >>> 15;
    const table = this.#table;
    const keys = this.#keys;
    const mask = this.#mask;
    for (let s = h & mask;; s = (s + 1) & mask) {
      const n = table[s];
      if (n === 0) {
        this.#missSlot = s;
        const k = this.#missKey;
        k[0] = p;
        k[1] = g;
        k[2] = h1;
        k[3] = h0;
        return -1;
      }
      const k = (n - 1) * 4;
      if (keys[k + 3] === h0 && keys[k + 2] === h1 && keys[k] === p && keys[k + 1] === g) {
        return n - 1;
      }
    }
  }

  /** The frame of entry `n`. */
  frame(n: number): FrameRef {
    return this.#frames[n];
  }

  /** Whether entry `n`'s address had a map. */
  hasMap(n: number): boolean {
    return this.#hasMap[n];
  }

  /** Cache what the address {@linkcode find} just missed resolved to. */
  add(frame: FrameRef, hasMap: boolean): void {
    if (this.#missSlot < 0) return;
    const n = this.#frames.length;
    if (n >= ADDRESS_CACHE_LIMIT) {
      this.clear();
      return;
    }
    const k = n * 4;
    if (k + 4 > this.#keys.length) {
      const keys = new Int32Array(this.#keys.length * 2);
      keys.set(this.#keys);
      this.#keys = keys;
    }
    this.#keys.set(this.#missKey, k);
    this.#frames.push(frame);
    this.#hasMap.push(hasMap);
    this.#table[this.#missSlot] = n + 1;
    this.#missSlot = -1;
    if ((n + 1) * 2 > this.#mask) this.#grow();
  }

  /** The maps of one process changed: its addresses resolve anew. */
  invalidateProcess(pid: number): void {
    this.#generations.set(pid, (this.#generations.get(pid) ?? 0) + 1);
    this.#missSlot = -1;
  }

  /** Forget everything. */
  clear(): void {
    this.#missSlot = -1;
    if (this.#frames.length === 0) return;
    this.#table.fill(0);
    this.#frames = [];
    this.#hasMap = [];
  }

  #grow(): void {
    const len = this.#table.length * 2;
    const table = new Int32Array(len);
    const mask = len - 1;
    const keys = this.#keys;
    for (let n = 0; n < this.#frames.length; n++) {
      const k = n * 4;
      let h = Math.imul(keys[k + 3], 0x9e3779b1) ^ Math.imul(keys[k + 2] ^ keys[k], 0x85ebca6b) ^
        keys[k + 1];
      h ^= h >>> 15;
      let s = h & mask;
      while (table[s] !== 0) s = (s + 1) & mask;
      table[s] = n + 1;
    }
    this.#table = table;
    this.#mask = mask;
  }
}

/** The two parts of a `--call-graph dwarf` chain before symbolization. */
interface UnwoundChain {
  kernel: bigint[];
  user: readonly bigint[];
  truncated: boolean;
}

const NO_INLINES: readonly InlineNode[] = Object.freeze([]);

/**
 * The tag of frame objects, as `lib/analyze/profile.ts` reads it: each frame
 * object is handed out for every occurrence of its frame and never changes,
 * so the builder interns it by its number.
 */
const FRAME_TAG: unique symbol = Symbol.for("callring.frameTag");
let nextTag = 0;

/** Give a frame a process-unique tag (non-enumerable, read-only). */
function tag<T extends object>(object: T): T {
  Object.defineProperty(object, FRAME_TAG, { value: nextTag++ });
  return object;
}

/**
 * Symbolizes callchains into shared {@linkcode FrameRef} objects.
 *
 * DWARF-unwound user frames are expanded into inline frames as perf 6.1's
 * `unwind_entry` -> `append_inlines` does (an asynchronous addr2line lookup,
 * cached per DSO and address by the session); then {@linkcode resolve}
 * returns a promise. Frame-pointer and kernel entries are never expanded and
 * resolve synchronously, so such inputs never wait for addr2line.
 */
class ChainResolver {
  readonly #session: PerfSession;
  readonly #symbolize: boolean;
  readonly #inline: boolean;
  readonly #maxStack: number;
  readonly #walk = new ChainWalk();
  /** Frames with a symbol: [level * 2 + inlined] -> dso -> symbol -> frame. */
  readonly #frames: Map<string, Map<string, FrameRef>>[] = [
    new Map(),
    new Map(),
    new Map(),
    new Map(),
  ];
  /** Frames without a symbol: [level] -> dso -> address -> frame. */
  readonly #unresolved: Map<string, Map<bigint, FrameRef>>[] = [new Map(), new Map()];
  readonly #elfs = new ElfCache({ resolvePath: (f) => this.#session.symbolizer.dataPath(f) });
  readonly #out: FrameRef[] = [];
  readonly #hasMap: boolean[] = [];
  readonly #unmapped: UnmappedResolver | undefined;
  /** The leaf's callchain node when it is a mapped but unresolved user address, and its self frame. */
  #leafNode: FrameRef | undefined;
  #leafSelf: FrameRef | undefined;
  readonly #own: OwnSymbols | undefined;
  /** Resolved frame-pointer chains; off with `resolveUnmapped`. */
  readonly #chains: ChainCache | undefined;
  /** Resolved callchain entries (used with the chain cache). */
  readonly #addrs = new AddressCache();
  #nextKey = 0;
  #rawBuffer: ArrayBufferLike | undefined;
  #rawWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  #rawView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #wordsBuffer: ArrayBufferLike | undefined;
  #words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  #wordsView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  constructor(
    session: PerfSession,
    symbolize: boolean,
    inline: boolean,
    maxStack: number,
    unmapped: UnmappedResolver | undefined,
    own: OwnSymbols | undefined,
  ) {
    this.#session = session;
    this.#symbolize = symbolize;
    this.#inline = inline && symbolize;
    this.#maxStack = maxStack;
    this.#unmapped = unmapped;
    this.#own = own;
    // A caller's resolver may answer differently over time: its chains are never reused.
    this.#chains = unmapped === undefined ? new ChainCache() : undefined;
  }

  /** Forget resolved chains (kernel maps or the capture's own symbols changed). */
  invalidate(): void {
    this.#chains?.clear();
    this.#addrs.clear();
  }

  /** Forget the resolved chains of one process (its maps changed). */
  invalidateProcess(pid: number): void {
    this.#chains?.invalidateProcess(pid);
    this.#addrs.invalidateProcess(pid);
  }

  /** {@linkcode #push} of the entry at byte `at` of `view` (words `lo`, `hi`), address cache first. */
  #pushWord(
    pid: number,
    cpumode: number,
    view: DataView,
    at: number,
    lo: number,
    hi: number,
  ): void {
    if (this.#chains === undefined) return this.#push(pid, cpumode, view.getBigUint64(at, true));
    const addrs = this.#addrs;
    // Only user addresses resolve through the process's maps: others are shared by all pids.
    const hit = addrs.find(cpumode === CpuMode.USER ? pid : SHARED_SPACE, cpumode, hi, lo);
    if (hit >= 0) {
      const f = addrs.frame(hit);
      // an unresolved user leaf also needs its map-relative self frame: resolve it again
      if (this.#out.length > 0 || f.sym !== undefined || f.kernel || !addrs.hasMap(hit)) {
        this.#out.push(f);
        this.#hasMap.push(addrs.hasMap(hit));
        return;
      }
      this.#push(pid, cpumode, view.getBigUint64(at, true));
      return;
    }
    this.#push(pid, cpumode, view.getBigUint64(at, true));
    const last = this.#out.length - 1;
    addrs.add(this.#out[last], this.#hasMap[last]);
  }

  /**
   * The chain resolved before for frame-pointer callchain words still in
   * their bytes (`u32` words `[base, base + len)` of `buffer`), or undefined
   * (then decode the sample and call {@linkcode resolve}).
   */
  cached(
    buffer: ArrayBufferLike,
    base: number,
    len: number,
    pid: number,
    mode: number,
    attr: PerfEventAttr,
  ): ResolvedChain | undefined {
    const cache = this.#chains;
    if (cache === undefined) return undefined;
    if (buffer !== this.#rawBuffer) {
      this.#rawBuffer = buffer;
      this.#rawWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
      this.#rawView = new DataView(buffer);
    }
    const words = this.#rawWords;
    if (base + len > words.length) return undefined;
    return cache.get(
      ChainCache.hash(words, base, len, pid, mode),
      words,
      base,
      len,
      pid,
      mode,
      attr,
    );
  }

  /** Resolve one sample (a promise only for DWARF samples whose inline frames are looked up). */
  resolve(
    sample: Sample,
    misc: number,
    attr: PerfEventAttr,
  ): ResolvedChain | Promise<ResolvedChain> {
    const pid = sample.pid ?? -1;
    const sampleMode = misc & 7;
    const dwarf = sample.regsUser !== undefined && sample.stackUser !== undefined &&
      sample.regsUser.regs.length > 0 && (attr.sampleType & SampleType.STACK_USER) !== 0;
    if (dwarf) {
      const unwound = this.#unwind(sample, attr, pid);
      if (!this.#inline || unwound.user.length === 0) {
        return this.#dwarfChain(sample, sampleMode, pid, unwound, undefined);
      }
      return this.#inlineNodes(pid, unwound.user).then((nodes) =>
        this.#dwarfChain(sample, sampleMode, pid, unwound, nodes)
      );
    }
    const chain = sample.callchain;
    if (chain === undefined) {
      this.#out.length = 0;
      this.#hasMap.length = 0;
      return this.#finish(sample.ip ?? 0n, sampleMode, pid, false);
    }
    // One view per buffer (decoders often keep many chains in one): none per sample.
    if (chain.buffer !== this.#wordsBuffer) {
      this.#wordsBuffer = chain.buffer;
      this.#words = new Uint32Array(chain.buffer, 0, chain.buffer.byteLength >>> 2);
      this.#wordsView = new DataView(chain.buffer);
    }
    return this.#resolveWords(
      this.#words,
      chain.byteOffset >>> 2,
      chain.length,
      this.#wordsView,
      pid,
      sampleMode,
      attr,
      sample.ip ?? 0n,
    );
  }

  /**
   * Resolve a frame-pointer callchain of the sample with pid `pid`, header
   * cpumode `sampleMode` and ip `sampleIp` whose `n` entries are the u32
   * pairs `words[base, base + 2n)` (`view` holds the same bytes: entry `i`
   * at byte `4 * base + 8 * i`). Cached chains come back as they were.
   */
  #resolveWords(
    words: Uint32Array,
    base: number,
    n: number,
    view: DataView,
    pid: number,
    sampleMode: number,
    attr: PerfEventAttr,
    sampleIp: bigint,
  ): ResolvedChain {
    const limit = attr.sampleMaxStack > 0 ? attr.sampleMaxStack : DEFAULT_MAX_STACK;
    const out = this.#out;
    const hasMap = this.#hasMap;
    out.length = 0;
    hasMap.length = 0;
    const len = n * 2;
    const cache = this.#chains;
    let hash = 0;
    if (cache !== undefined) {
      // Most samples repeat a callchain seen before: hash the raw words, reuse its frames.
      hash = ChainCache.hash(words, base, len, pid, sampleMode);
      const hit = cache.get(hash, words, base, len, pid, sampleMode, attr);
      if (hit !== undefined) return hit;
    }
    let entries = 0;
    const walk = this.#walk;
    walk.reset(view, 4 * base, n, sampleMode);
    while (walk.next()) {
      entries++;
      if (out.length < this.#maxStack) {
        this.#pushWord(pid, walk.cpumode, view, 4 * base + 8 * walk.index, walk.lo, walk.hi);
      }
    }
    const discarded = walk.discarded;
    if (discarded) {
      out.length = 0;
      hasMap.length = 0;
    }
    const truncated = entries >= limit || entries > this.#maxStack;
    // Chains that fall back to the sample's own ip depend on more than their words.
    if (cache === undefined || out.length === 0) {
      return this.#finish(sampleIp, sampleMode, pid, truncated);
    }
    const resolved = this.#finish(sampleIp, sampleMode, pid, truncated);
    const frozen: ResolvedChain = {
      frames: Object.freeze(resolved.frames),
      key: this.#nextKey++,
      truncated,
      context: inferContext(resolved.frames),
    };
    if (resolved.self !== undefined) frozen.self = resolved.self;
    cache.set(hash, words, base, len, pid, sampleMode, attr, frozen);
    return frozen;
  }

  /**
   * {@linkcode resolve} for a frame-pointer sample still in its bytes: `n`
   * callchain entries at byte `at` of `view` (4-aligned in its buffer).
   */
  resolveRaw(
    view: DataView,
    at: number,
    n: number,
    pid: number,
    sampleMode: number,
    attr: PerfEventAttr,
    sampleIp: bigint,
  ): ResolvedChain {
    const buffer = view.buffer;
    if (buffer !== this.#rawBuffer) {
      this.#rawBuffer = buffer;
      this.#rawWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
      this.#rawView = new DataView(buffer);
    }
    const byte = view.byteOffset + at;
    return this.#resolveWords(
      this.#rawWords,
      byte >>> 2,
      n,
      this.#rawView,
      pid,
      sampleMode,
      attr,
      sampleIp,
    );
  }

  /** The sample's own ip when nothing was pushed; the level of frames without a map. */
  #finish(
    sampleIp: bigint,
    sampleMode: number,
    pid: number,
    truncated: boolean,
  ): { frames: FrameRef[]; truncated: boolean; self?: FrameRef } {
    const out = this.#out;
    const hasMap = this.#hasMap;
    if (out.length === 0) this.#push(pid, sampleMode, sampleIp);
    const leafSelf = out[0] === this.#leafNode ? this.#leafSelf : undefined;
    this.#leafNode = undefined;
    this.#leafSelf = undefined;
    // Frames without a map print with the sample's own level (that of the first frame).
    const firstKernel = out[0].kernel;
    for (let i = 1; i < out.length; i++) {
      if (!hasMap[i] && out[i].kernel !== firstKernel) {
        out[i] = this.#frame(firstKernel, undefined, undefined, out[i].ip ?? 0n);
      }
    }
    const chain: { frames: FrameRef[]; truncated: boolean; self?: FrameRef } = {
      frames: out.slice(),
      truncated,
    };
    if (leafSelf !== undefined && leafSelf !== out[0]) chain.self = leafSelf;
    return chain;
  }

  #unwind(sample: Sample, attr: PerfEventAttr, pid: number): UnwoundChain {
    const spaces = this.#session.spaces;
    // perf's evsel__parse_sample keeps dyn_size as the stack size, and
    // thread__resolve_callchain_unwind bails out on 0: no user frames at all.
    // ... and a process without any map has no unwinder registered (unwind__prepare_access).
    if (
      sample.stackUser!.dynSize === 0 || (spaces.existingProcess(pid)?.entries().length ?? 0) === 0
    ) {
      return {
        kernel: fullCallchain(sample.callchain, [], this.#maxStack),
        user: [],
        truncated: false,
      };
    }
    const result = unwindUserDetailed(
      { mask: attr.sampleRegsUser, regs: sample.regsUser!.regs },
      sample.stackUser!,
      (addr) => spaces.lookup(pid, addr, CpuMode.USER),
      this.#elfs.loader,
      { maxStack: this.#maxStack },
    );
    const kernel = fullCallchain(sample.callchain, [], this.#maxStack);
    return { kernel, user: result.frames, truncated: result.stop === "max-stack" };
  }

  /** Inline nodes of unwound user frames (none for frames the capture's own table names). */
  #inlineNodes(pid: number, user: readonly bigint[]): Promise<(readonly InlineNode[])[]> {
    const own = this.#own;
    return Promise.all(
      user.map((ip) =>
        own?.(ip) !== undefined
          ? NO_INLINES
          : this.#session.inlineNodes(pid, CpuMode.USER, ip).catch(() => NO_INLINES)
      ),
    );
  }

  /** Symbolize a DWARF chain: kernel part, then the user frames (each replaced by its inline nodes, if any). */
  #dwarfChain(
    sample: Sample,
    sampleMode: number,
    pid: number,
    unwound: UnwoundChain,
    inlines: readonly (readonly InlineNode[])[] | undefined,
  ): ResolvedChain {
    this.#out.length = 0;
    this.#hasMap.length = 0;
    for (const ip of unwound.kernel) this.#push(pid, CpuMode.KERNEL, ip);
    const user = unwound.user;
    let self: FrameRef | undefined;
    for (let i = 0; i < user.length; i++) {
      const nodes = inlines?.[i];
      if (nodes === undefined || nodes.length === 0) this.#push(pid, CpuMode.USER, user[i]);
      else {
        const own = this.#pushInlines(pid, user[i], nodes);
        // The leaf's own symbol (perf's `al->sym`) carries the sample's self time.
        if (i === 0 && this.#out.length === nodes.length && own !== this.#out[0]) self = own;
      }
    }
    const chain: ResolvedChain = this.#finish(sample.ip ?? 0n, sampleMode, pid, unwound.truncated);
    if (self !== undefined) chain.self = self;
    return chain;
  }

  /**
   * perf's `append_inlines`: one frame per node, at the entry's address, in
   * the entry's dso. Returns the entry's own (non-inlined) symbol's frame.
   */
  #pushInlines(pid: number, ip: bigint, nodes: readonly InlineNode[]): FrameRef {
    const r = this.#session.symbolizer.resolve(this.#session.spaces, pid, ip, CpuMode.USER);
    const dso = r.map ? r.dso : undefined;
    for (const node of nodes) {
      this.#hasMap.push(true);
      this.#out.push(this.#frame(false, dso, node.sym, r.printedIp, node.inlined));
    }
    return this.#frame(false, dso, r.sym, r.printedIp);
  }

  #push(pid: number, cpumode: number, ip: bigint): void {
    const kernel = cpumode === CpuMode.KERNEL || cpumode === CpuMode.GUEST_KERNEL;
    if (!this.#symbolize) {
      const map = this.#session.spaces.lookup(pid, ip, cpumode);
      this.#hasMap.push(map !== undefined);
      this.#out.push(this.#frame(kernel, map?.dso, undefined, ip));
      return;
    }
    const own = this.#own?.(ip);
    if (own !== undefined) {
      this.#hasMap.push(true);
      this.#out.push(this.#frame(kernel, own.dso, own.sym, ip));
      return;
    }
    const r = this.#session.symbolizer.resolve(this.#session.spaces, pid, ip, cpumode);
    if (r.map === undefined && this.#unmapped !== undefined) {
      const named = this.#unmapped(pid, ip, cpumode);
      if (named !== undefined) {
        this.#hasMap.push(true);
        this.#out.push(this.#frame(kernel, named.dso, named.sym, ip));
        return;
      }
    }
    this.#hasMap.push(r.map !== undefined);
    if (r.map !== undefined && r.sym === undefined && !kernel) {
      // perf report: an unresolved callchain node is keyed by its absolute address, while the
      // sample's own entry uses the map-relative one (he->ip = al->addr)
      const node = this.#frame(kernel, r.dso, undefined, r.callchainIp);
      if (this.#out.length === 0) {
        this.#leafNode = node;
        this.#leafSelf = this.#frame(kernel, r.dso, undefined, r.mapRelativeIp);
      }
      this.#out.push(node);
      return;
    }
    this.#out.push(this.#frame(kernel, r.map ? r.dso : undefined, r.sym, r.printedIp));
  }

  #frame(
    kernel: boolean,
    dso: string | undefined,
    sym: string | undefined,
    ip: bigint,
    inlined = false,
  ): FrameRef {
    const level = kernel ? 1 : 0;
    const object = dso ?? "";
    if (sym === undefined) {
      const byDso = this.#unresolved[level];
      let byIp = byDso.get(object);
      if (byIp === undefined) byDso.set(object, byIp = new Map());
      let f = byIp.get(ip);
      if (f === undefined) {
        f = tag(inlined ? { sym, dso, ip, kernel, inlined } : { sym, dso, ip, kernel });
        byIp.set(ip, f);
      }
      return f;
    }
    const byDso = this.#frames[level * 2 + (inlined ? 1 : 0)];
    let bySym = byDso.get(object);
    if (bySym === undefined) byDso.set(object, bySym = new Map());
    let f = bySym.get(sym);
    if (f === undefined) {
      f = tag(inlined ? { sym, dso, ip, kernel, inlined } : { sym, dso, ip, kernel });
      bySym.set(sym, f);
    }
    return f;
  }
}

/** A decoded record plus what the stream knows about it. */
interface Decoded {
  record: PerfRecord;
  event: number;
  offset: number;
  time: number | undefined;
}

const FRAMELESS: readonly FrameRef[] = Object.freeze([]);

/** A {@linkcode ResolvedSample} the fast path refills for every sample. */
type MutableSample = { -readonly [K in keyof ResolvedSample]: ResolvedSample[K] };

/**
 * The one sample object of the fast path, refilled per sample. Its `ip` is
 * read from the record's bytes only when asked (no BigInt per sample), so it
 * is valid during the sink call only, like the object itself.
 */
class ScratchSample implements MutableSample {
  frames: readonly FrameRef[] = FRAMELESS;
  weight = 0;
  pid = -1;
  tid = -1;
  cpu = -1;
  comm = "";
  time = 0;
  context: SampleContext | undefined = undefined;
  truncated = false;
  selfFrame: FrameRef | undefined = undefined;
  event = -1;
  eventName = "";
  period = 0;
  cpumode = 0;
  offset = 0;
  #ip = 0n;
  #ipView: DataView | undefined;
  #ipAt = -1;

  /** The sampled instruction pointer. */
  get ip(): bigint {
    return this.#ipAt >= 0 ? this.#ipView!.getBigUint64(this.#ipAt, true) : this.#ip;
  }

  set ip(ip: bigint) {
    this.#ip = ip;
    this.#ipAt = -1;
  }

  /** Take the ip from `view` at `at` when it is asked for (-1: none, 0). */
  ipAt(view: DataView, at: number): void {
    this.#ip = 0n;
    this.#ipView = view;
    this.#ipAt = at;
  }
}

/**
 * Receives the samples of {@linkcode ItemMaker.feed}. The object is reused for
 * the next sample: read it during the call, do not keep it. `framesKey`
 * names the frames' contents (-1: none), as {@linkcode ProfileBuilder.add}
 * takes it.
 */
type SampleSink = (sample: ResolvedSample, framesKey: number) => void;

/** Record types whose side effects cannot change how a callchain resolves. */
const CHAIN_NEUTRAL: ReadonlySet<number> = new Set([
  RecordType.COMM,
  RecordType.EXIT,
  RecordType.THROTTLE,
  RecordType.UNTHROTTLE,
  RecordType.FINISHED_ROUND,
  RecordType.SWITCH,
  RecordType.SWITCH_CPU_WIDE,
]);

/** Turns decoded records into {@linkcode InputItem}s; shared by both input formats. */
class ItemMaker {
  readonly session: PerfSession;
  readonly lost: LostAccounting;
  readonly #chains: ChainResolver;
  readonly #info: InputInfo;
  readonly #prefilter: SamplePredicate | undefined;
  readonly #scratch = new ScratchSample();
  #layoutFormat: PerfDataEvent["format"] | undefined;
  #layout: SampleLayout | undefined;

  constructor(
    info: InputInfo,
    options: OpenRecordsOptions,
    lost: LostAccounting = emptyLost(),
    own?: OwnSymbols,
  ) {
    this.#info = info;
    this.lost = lost;
    this.session = new PerfSession(
      {
        ...options.symbols,
        ...(options.kallsyms ? { kallsyms: options.kallsyms } : {}),
        buildIdTable: () => info.perf?.buildIds,
        onWarning: options.onWarning,
      },
      options.addr2line !== undefined ? { program: options.addr2line } : {},
    );
    this.#chains = new ChainResolver(
      this.session,
      options.symbolize ?? true,
      options.inline ?? true,
      options.maxStack ?? DEFAULT_MAX_STACK,
      options.resolveUnmapped,
      own,
    );
    this.#prefilter = options.prefilter;
  }

  /** Forget resolved callchains (the capture's own symbol table grew). */
  invalidate(): void {
    this.#chains.invalidate();
  }

  /** A new sample object (frames empty) with the attribution of `record`. */
  #newSample(record: SampleRecord, event: number, offset: number): MutableSample {
    const s = record.sample;
    const tid = s.tid ?? -1;
    // perf's evsel__parse_sample: attr.sample_period unless the sample has PERIOD.
    const period = s.period ?? this.#info.events[event]?.attr.samplePeriod ?? 1;
    return {
      frames: FRAMELESS,
      weight: period,
      pid: s.pid ?? -1,
      tid,
      cpu: s.cpu ?? -1,
      comm: this.session.threads.comm(tid),
      time: s.time ?? 0,
      context: undefined,
      truncated: false,
      selfFrame: undefined,
      event,
      eventName: this.#info.events[event]?.name ?? "",
      period,
      ip: s.ip ?? 0n,
      cpumode: record.misc & 7,
      offset,
    };
  }

  /** Refill the fast path's sample object with the attribution of `record` (frames empty). */
  #refill(record: SampleRecord, event: number, offset: number): MutableSample {
    const t = this.#scratch;
    const s = record.sample;
    const tid = s.tid ?? -1;
    const period = s.period ?? this.#info.events[event]?.attr.samplePeriod ?? 1;
    t.frames = FRAMELESS;
    t.weight = period;
    t.pid = s.pid ?? -1;
    t.tid = tid;
    t.cpu = s.cpu ?? -1;
    t.comm = this.session.threads.comm(tid);
    t.time = s.time ?? 0;
    t.context = undefined;
    t.truncated = false;
    t.selfFrame = undefined;
    t.event = event;
    t.eventName = this.#info.events[event]?.name ?? "";
    t.period = period;
    t.ip = s.ip ?? 0n;
    t.cpumode = record.misc & 7;
    t.offset = offset;
    return t;
  }

  /** Field offsets of an event's samples (perf.data fast path). */
  #layoutOf(event: PerfDataEvent): SampleLayout {
    if (event.format !== this.#layoutFormat) {
      this.#layoutFormat = event.format;
      this.#layout = SampleLayout.of(event.format);
    }
    return this.#layout!;
  }

  /**
   * The fast path of {@linkcode feed} for a sample still in its bytes (a
   * simple format, not decoded by the reader): when its callchain was
   * resolved before, the sample goes to `sink` without being decoded.
   * Returns false when the caller must decode it and call {@linkcode feed}.
   */
  feedRaw(r: RawRecord, sink: SampleSink): boolean {
    const event = r.event;
    const decoder = r.decoder;
    if (r.type !== RecordType.SAMPLE || event === undefined || decoder === undefined) return false;
    const view = r.view;
    const s = r.offset;
    if (!decoder.simple || !decoder.fits(view, s)) return false;
    const attr = this.#info.events[event.index]?.attr;
    if (attr === undefined) return false;
    const layout = this.#layoutOf(event);
    if (layout.callchain < 0) return false;
    const byte = view.byteOffset + s + layout.callchain + 8;
    if ((byte & 3) !== 0) return false;
    const pid = layout.tid >= 0 ? view.getInt32(s + layout.tid, true) : -1;
    const nr = view.getUint32(s + layout.callchain, true);
    const mode = r.misc & 7;
    const t = this.#scratch;
    const tid = layout.tid >= 0 ? view.getInt32(s + layout.tid + 4, true) : -1;
    const period = layout.period >= 0 ? getU64(view, s + layout.period) : attr.samplePeriod;
    t.frames = FRAMELESS;
    t.weight = period;
    t.pid = pid;
    t.tid = tid;
    t.cpu = layout.cpu >= 0 ? view.getUint32(s + layout.cpu, true) : -1;
    t.comm = this.session.threads.comm(tid);
    t.time = layout.time >= 0 ? getU64(view, s + layout.time) : 0;
    t.context = undefined;
    t.truncated = false;
    t.selfFrame = undefined;
    t.event = event.index;
    t.eventName = this.#info.events[event.index]?.name ?? "";
    t.period = period;
    t.ipAt(view, layout.ip >= 0 ? s + layout.ip : -1);
    t.cpumode = mode;
    t.offset = r.fileOffset;
    if (this.#prefilter && !this.#prefilter(t)) {
      sink(t, -1);
      return true;
    }
    // Resolved from the bytes too when new: the sample is never decoded.
    const chain = this.#chains.cached(view.buffer, byte >>> 2, nr * 2, pid, mode, attr) ??
      this.#chains.resolveRaw(view, s + layout.callchain + 8, nr, pid, mode, attr, t.ip);
    sink(withChain(t, chain), chain.key ?? -1);
    return true;
  }

  /** Account or apply a non-sample record. */
  #side(record: PerfRecord): void {
    if (record.type === RecordType.LOST && "lost" in record) {
      this.lost.lostRecords += record.lost;
    } else if (record.type === RecordType.LOST_SAMPLES && "lost" in record) {
      this.lost.lostSamples += record.lost;
    } else {
      this.session.apply(record);
      const type = record.type;
      if (CHAIN_NEUTRAL.has(type)) return;
      // A process's own maps changed: only its chains resolve anew (kernel maps: all).
      if ((type === RecordType.MMAP || type === RecordType.MMAP2) && "pid" in record) {
        const mode = record.misc & 7;
        const user = record.pid !== -1 && record.pid !== 0xffffffff &&
          mode === CpuMode.USER;
        if (user) return this.#chains.invalidateProcess(record.pid);
      } else if (type === RecordType.FORK && "pid" in record) {
        return this.#chains.invalidateProcess(record.pid);
      }
      this.#chains.invalidate();
    }
  }

  /** The item of a record; a promise only while a DWARF sample's inline frames are looked up. */
  item(d: Decoded): InputItem | Promise<InputItem> {
    const record = d.record;
    if (record.type === RecordType.SAMPLE && "sample" in record) {
      const sample = this.#newSample(record, d.event, d.offset);
      if (this.#prefilter && !this.#prefilter(sample)) return { kind: "filtered", sample, record };
      const attr = this.#info.events[d.event]?.attr;
      if (attr === undefined) return { kind: "sample", sample, record };
      const chain = this.#chains.resolve(record.sample, record.misc, attr);
      if (chain instanceof Promise) {
        return chain.then((c) => ({ kind: "sample", sample: withChain(sample, c), record }));
      }
      return { kind: "sample", sample: withChain(sample, chain), record };
    }
    this.#side(record);
    return { kind: "record", record, offset: d.offset, time: d.time };
  }

  /**
   * The fast path of {@linkcode item}: samples go to `sink` as one reused
   * object (prefiltered ones with empty frames), other records are applied.
   * A promise only while a DWARF sample's inline frames are looked up.
   */
  feed(record: PerfRecord, event: number, offset: number, sink: SampleSink): void | Promise<void> {
    if (record.type !== RecordType.SAMPLE || !("sample" in record)) return this.#side(record);
    const sample = this.#refill(record, event, offset);
    if (this.#prefilter && !this.#prefilter(sample)) return sink(sample, -1);
    const attr = this.#info.events[event]?.attr;
    if (attr === undefined) return sink(sample, -1);
    const chain = this.#chains.resolve(record.sample, record.misc, attr);
    if (chain instanceof Promise) return chain.then((c) => sink(withChain(sample, c), -1));
    sink(withChain(sample, chain), chain.key ?? -1);
  }
}

/** Set a sample's frames, their truncation and the context told from them. */
function withChain(sample: MutableSample, chain: ResolvedChain): MutableSample {
  sample.frames = chain.frames;
  sample.truncated = chain.truncated;
  sample.selfFrame = chain.self;
  sample.context = chain.context ?? inferContext(chain.frames);
  return sample;
}

/**
 * Turns perf.data reader warnings into loss accounting: a file cut short is one
 * damaged range (the missing tail plus the partial record before it); other
 * damage warnings count one range each.
 */
class WarningAccountant {
  readonly #lost: LostAccounting;
  #tailCounted = false;

  constructor(lost: LostAccounting) {
    this.#lost = lost;
  }

  account(message: string): void {
    const lost = this.#lost;
    const tail = /data section ends at (\d+) but the file has (\d+) bytes/.exec(message);
    if (tail) {
      lost.damagedRanges++;
      lost.damagedBytes += Number(tail[1]) - Number(tail[2]);
      this.#tailCounted = true;
      return;
    }
    if (!/truncat|incomplete|ends inside|damag/i.test(message)) return;
    const left = /\((\d+) bytes left\)/.exec(message);
    const stopping = /stopping$/.test(message);
    if (!(stopping && this.#tailCounted)) lost.damagedRanges++;
    if (left) lost.damagedBytes += Number(left[1]);
  }
}

/**
 * Open a perf.data file (file or pipe mode, `-` for stdin) or a callring
 * capture and iterate its records, samples symbolized. The input is read in
 * chunks as the iteration proceeds; side-band records are applied to
 * {@linkcode InputRecords.session} before the next item is produced.
 *
 * @param path Input path, or `-` for pipe-mode perf.data on stdin.
 * @param options Symbolization, limits, pre-filter.
 * @returns The open stream.
 * @throws {FormatError} When the header is malformed or the format unknown.
 *
 * @example Print the leaf function of every sample
 * ```ts ignore
 * import { openRecords } from "./load.ts";
 * const input = await openRecords("perf.data");
 * for await (const item of input) {
 *   if (item.kind === "sample") console.log(item.sample.frames[0]?.sym ?? "[unknown]");
 * }
 * ```
 */
export async function openRecords(
  path: string,
  options: OpenRecordsOptions = {},
): Promise<InputRecords> {
  return await openInput(path, options);
}

/** An open input plus the fast path {@linkcode loadProfile} reads it through. */
interface OpenInput extends InputRecords {
  /**
   * Read the whole input once instead of iterating it: samples go to `sink`
   * as one reused object, other records are applied as iteration would.
   */
  drive(sink: SampleSink): Promise<void>;
}

async function openInput(path: string, options: OpenRecordsOptions): Promise<OpenInput> {
  const format = options.format ?? await detectInputFormat(path);
  return format === "capture" ? await openCapture(path, options) : await openPerf(path, options);
}

async function openPerf(path: string, options: OpenRecordsOptions): Promise<OpenInput> {
  const lost = emptyLost();
  const accountant = new WarningAccountant(lost);
  const file = await openPerfData(path, {
    chunkSize: options.chunkSize,
    onWarning: (m) => {
      accountant.account(m);
      options.onWarning?.(m);
    },
  });
  let size: number | undefined;
  if (path !== "-") {
    try {
      size = (await Deno.stat(path)).size;
    } catch {
      size = undefined;
    }
  }
  const info: InputInfo = {
    format: "perf.data",
    source: path,
    pipe: file.info.pipe,
    events: [],
    size,
    perf: file.info,
  };
  const syncEvents = () => {
    for (let i = info.events.length; i < file.info.events.length; i++) {
      const e = file.info.events[i];
      info.events.push({ index: e.index, name: e.name, attr: e.attr });
    }
    // EVENT_UPDATE / EVENT_DESC may rename events after they were listed.
    for (const e of info.events) e.name = file.info.events[e.index]?.name ?? e.name;
  };
  syncEvents();
  const m = new ItemMaker(info, options, lost);
  let closed = false;
  const close = () => {
    if (!closed) {
      file.close();
      void m.session.close(); // an iteration's end awaits it
    }
    closed = true;
  };
  const syncFor = (record: PerfRecord, event: PerfDataEvent | undefined) => {
    if (event !== undefined && event.index >= info.events.length) syncEvents();
    else if (record.type === RecordType.HEADER_ATTR || record.type === RecordType.EVENT_UPDATE) {
      syncEvents();
    }
  };
  async function* iterate(): AsyncGenerator<InputItem> {
    try {
      for await (const { record, event, offset, time } of file.records()) {
        syncFor(record, event);
        const item = m.item({ record, event: event?.index ?? -1, offset, time });
        yield item instanceof Promise ? await item : item;
      }
      syncEvents();
    } finally {
      close();
      await m.session.close(); // ends the addr2line subprocesses
    }
  }
  async function drive(sink: SampleSink): Promise<void> {
    try {
      if (file.forEachRecord !== undefined) {
        // Records one by one through a reused view: samples whose callchain was
        // resolved before are taken from their bytes, never decoded.
        await file.forEachRecord((r: RawRecord) => {
          const event = r.event;
          if (event !== undefined && event.index >= info.events.length) syncEvents();
          else if (r.type === RecordType.HEADER_ATTR || r.type === RecordType.EVENT_UPDATE) {
            syncEvents();
          }
          if (r.decoded === undefined && m.feedRaw(r, sink)) return;
          return m.feed(r.record(), event?.index ?? -1, r.fileOffset, sink);
        });
      } else {
        for await (const { record, event, offset } of file.records()) {
          syncFor(record, event);
          const pending = m.feed(record, event?.index ?? -1, offset, sink);
          if (pending !== undefined) await pending;
        }
      }
      syncEvents();
    } finally {
      close();
      await m.session.close(); // ends the addr2line subprocesses
    }
  }
  return {
    info,
    get warnings() {
      return file.warnings;
    },
    lost: m.lost,
    get bytesRead() {
      return file.bytesRead;
    },
    session: m.session,
    close,
    drive,
    [Symbol.asyncIterator]: iterate,
  };
}

/** Records queued between the capture reader and the consumer before reading pauses. */
const CAPTURE_HIGH_WATER = 4096;

async function openCapture(path: string, options: OpenRecordsOptions): Promise<OpenInput> {
  const src = await fileSource(path);
  let queue: StreamRecord[] = [];
  let resumeProducer: (() => void) | undefined;
  let wakeConsumer: (() => void) | undefined;
  let closed = false;
  // Back-pressure: the reader awaits readAt() between chunks; hold it while the queue is full.
  const gated: ByteSource = {
    async readAt(buf, position) {
      while (queue.length > CAPTURE_HIGH_WATER && !closed) {
        await new Promise<void>((r) => resumeProducer = r);
      }
      return closed ? 0 : await src.readAt(buf, position);
    },
    size: () => src.size(),
    close: () => src.close(),
  };
  const reader = await CaptureReader.open(gated);
  const header = reader.header;
  const info: InputInfo = {
    format: "capture",
    source: path,
    pipe: false,
    events: header.events.map((e, index) => ({
      index,
      name: eventName(e.attr),
      attr: e.attr,
    })),
    size: reader.fileSize,
    capture: header,
  };
  const byId = new Map<number, number>();
  header.events.forEach((e, i) => e.ids.forEach((id) => byId.set(id, i)));
  // Simulated captures name their code in CALLRING_SYMBOL records (no MMAPs, no files on disk).
  const warnings: string[] = [];
  const simSymbols = new SimulatedSymbols();
  const userExtension = options.onExtensionRecord;
  const onExtension = (record: ExtensionRecord) => {
    if (record.type === RecordType.CALLRING_SYMBOL) {
      const v = new DataView(record.bytes.buffer, record.bytes.byteOffset, record.bytes.byteLength);
      maker.invalidate();
      try {
        simSymbols.add(decodeSymbolRecord(v, 0));
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        const message = `${path}: CPU ${record.cpu}: ${e.message}; symbol ignored`;
        warnings.push(message);
        options.onWarning?.(message);
      }
    }
    userExtension?.(record);
  };
  const maker = new ItemMaker(
    info,
    options,
    undefined,
    (ip) => simSymbols.size > 0 ? simSymbols.resolve(ip) : undefined,
  );
  let bytesRead = header.size;
  const format = reader.format;
  const idAll = header.events[0] !== undefined && sampleIdAll(header.events[0].attr);
  const close = () => {
    if (closed) return;
    closed = true;
    resumeProducer?.();
    reader.close();
    void maker.session.close(); // an iteration's end awaits it
  };
  /** Start the reader; the queued records in batches until the capture ends. */
  async function* batches(): AsyncGenerator<StreamRecord[]> {
    let done = false;
    let failure: unknown;
    const wake = () => {
      wakeConsumer?.();
      wakeConsumer = undefined;
    };
    reader.read((rec) => {
      queue.push(rec);
      if (queue.length >= 256) wake();
    }).then((summary) => {
      bytesRead += summary.bytesRead;
      maker.lost.incompleteFragments += summary.incompleteEvents;
      for (const k of ["damagedRecords", "damagedEstimate"] as const) maker.lost[k] += summary[k];
      for (const w of summary.warnings) {
        maker.lost.damagedRanges++;
        maker.lost.damagedBytes += Math.max(0, w.end - w.start);
        const message = `${path}: ${w.message}`;
        warnings.push(message);
        options.onWarning?.(message);
      }
    }, (e) => failure = e).finally(() => {
      done = true;
      wake();
    });
    while (true) {
      if (queue.length > 0) {
        const batch = queue;
        queue = [];
        resumeProducer?.();
        resumeProducer = undefined;
        yield batch;
        continue;
      }
      if (done) break;
      await new Promise<void>((r) => wakeConsumer = r);
    }
    if (failure !== undefined) throw failure;
  }
  async function* iterate(): AsyncGenerator<InputItem> {
    try {
      for await (const batch of batches()) {
        for (const rec of batch) {
          const d = decodeCaptureRecord(rec, format, idAll, byId, onExtension);
          if (d === undefined) continue;
          const item = maker.item(d);
          yield item instanceof Promise ? await item : item;
        }
      }
    } finally {
      close();
      await maker.session.close(); // ends the addr2line subprocesses
    }
  }
  async function drive(sink: SampleSink): Promise<void> {
    try {
      for await (const batch of batches()) {
        for (const rec of batch) {
          const d = decodeCaptureRecord(rec, format, idAll, byId, onExtension);
          if (d === undefined) continue;
          const pending = maker.feed(d.record, d.event, d.offset, sink);
          if (pending !== undefined) await pending;
        }
      }
    } finally {
      close();
      await maker.session.close(); // ends the addr2line subprocesses
    }
  }
  return {
    info,
    warnings,
    lost: maker.lost,
    get bytesRead() {
      return bytesRead;
    },
    session: maker.session,
    close,
    drive,
    [Symbol.asyncIterator]: iterate,
  };
}

function decodeCaptureRecord(
  rec: StreamRecord,
  format: SampleFormat,
  idAll: boolean,
  byId: Map<number, number>,
  onExtension: ((record: ExtensionRecord) => void) | undefined,
): Decoded | undefined {
  const view = new DataView(rec.bytes.buffer, rec.bytes.byteOffset, rec.bytes.byteLength);
  const type = view.getUint32(0, true);
  if (type >= CALLRING_RECORD_MIN) {
    // EXTENSION POINT: symbol tables and other callring records go to the caller.
    onExtension?.({ type, bytes: rec.bytes, cpu: rec.cpu, time: rec.time });
    return undefined;
  }
  const record = decodeRecord(view, 0, format, idAll, rec.position);
  let event = 0;
  if ("sample" in record) {
    const id = record.sample.id ?? record.sample.identifier;
    if (id !== undefined) event = byId.get(id) ?? 0;
  }
  return { record, event, offset: rec.position, time: rec.time };
}

function eventName(attr: PerfEventAttr): string {
  // Captures carry no names; software cpu-clock (type 1, config 0) is what callring records.
  if (attr.type === 1 && attr.config === 0n) return "cpu-clock";
  return `event-${attr.type}:${attr.config}`;
}

/** How samples are weighted. */
export type WeightMode = "period" | "samples";

/** Options of {@linkcode loadProfile}. */
export interface LoadOptions extends Omit<OpenRecordsOptions, "prefilter"> {
  /** perf-report filters (`--cpu`, `--pid`, `--tid`, `--comm`, `--context`, `--time`). */
  filter?: FilterOptions;
  /** Weight samples by period (perf report's default "Event count") or count them. Default period. */
  weight?: WeightMode;
  /** Event to build the profile of (name or index); default the first event with samples. */
  event?: string | number;
  /** Add root-most `[nmi]` / `[hardirq]` / `[softirq]` frames where the context is known. */
  contextMarkers?: boolean;
  /** Keep each sample's time and stack (the flame chart of the HTML flamegraph). */
  timeline?: boolean;
  /** Called now and then with bytes read and the total (undefined for streams). */
  onProgress?: (bytesRead: number, total: number | undefined) => void;
}

/** Per-event totals of a load. */
export interface EventSummary {
  /** Event index. */
  index: number;
  /** Event name. */
  name: string;
  /** Samples of this event that passed the filters. */
  samples: number;
  /** Summed weight of those samples. */
  weight: number;
}

/** What {@linkcode loadProfile} returns. */
export interface LoadResult {
  /** The profile of the selected event. */
  profile: Profile;
  /** Every event with its totals (events without samples included). */
  events: EventSummary[];
  /** Index of the event `profile` belongs to (-1 when the input had no samples). */
  event: number;
  /** Reader warnings. */
  warnings: string[];
  /** Header information. */
  info: InputInfo;
  /** Bytes read. */
  bytesRead: number;
}

/** Thrown when {@linkcode LoadOptions.event} names no event of the input. */
export class UnknownEventError extends RangeError {
  /**
   * Creates the instance.
   * @param event The requested event.
   * @param known The input's event names.
   */
  constructor(event: string | number, known: readonly string[]) {
    super(`Event ${JSON.stringify(event)} is not in the input (events: ${known.join(", ")})`);
    this.name = "UnknownEventError";
  }
}

/**
 * Read a whole recording into a profile, streaming (memory grows with the
 * number of distinct stacks, not with the input size).
 *
 * @param path perf.data, pipe-mode perf.data, `-` (stdin) or a callring capture.
 * @param options Filters, weighting, event selection, symbolization.
 * @returns The profile, per-event totals, warnings and header info.
 * @throws {FormatError} When the input is malformed beyond what the reader can skip.
 * @throws {import("./filter.ts").FilterSyntaxError} When a filter option is malformed.
 *
 * @example
 * ```ts ignore
 * import { loadProfile } from "./load.ts";
 * const { profile } = await loadProfile("perf.data", { filter: { cpu: "0" }, weight: "samples" });
 * console.log(`${profile.samples} samples on cpu 0`);
 * ```
 */
export async function loadProfile(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  // Options that are all undefined filter nothing: no predicate to call per sample.
  const given = (f: FilterOptions | undefined): f is FilterOptions =>
    f !== undefined && Object.values(f).some((v) => v !== undefined);
  const filter = given(options.filter) ? sampleFilter(options.filter) : undefined;
  // The context is told from symbols, which the prefilter runs before: it tests the rest.
  const rest = options.filter && { ...options.filter, context: undefined };
  const prefilter = given(rest) ? sampleFilter(rest) : undefined;
  const input = await openInput(path, { ...options, prefilter });
  const builders = new Map<number, ProfileBuilder>();
  const byWeight = options.weight === "samples";
  const builderFor = (event: number) => {
    let b = builders.get(event);
    if (b === undefined) {
      b = new ProfileBuilder({
        filter,
        contextMarkers: options.contextMarkers,
        timeline: options.timeline,
      });
      builders.set(event, b);
    }
    return b;
  };
  const totals = new Map<number, { samples: number; weight: number }>();
  let n = 0;
  const progress = options.onProgress;
  // The last event's builder and totals: consecutive samples nearly always share the event.
  let lastEvent = NaN;
  let current = new ProfileBuilder();
  let total = { samples: 0, weight: 0 };
  try {
    await input.drive((s, framesKey) => {
      if (s.event !== lastEvent) {
        lastEvent = s.event;
        current = builderFor(s.event);
        let t = totals.get(s.event);
        if (t === undefined) totals.set(s.event, t = { samples: 0, weight: 0 });
        total = t;
      }
      // The sink's object is reused per sample: counting samples rewrites its weight.
      if (byWeight) (s as MutableSample).weight = 1;
      if (current.add(s, framesKey)) {
        total.samples++;
        total.weight += s.weight;
      }
      if (progress && (++n & 1023) === 0) progress(input.bytesRead, input.info.size);
    });
  } finally {
    input.close();
  }
  progress?.(input.bytesRead, input.info.size);
  const events = input.info.events.map((e) => ({
    index: e.index,
    name: e.name,
    samples: totals.get(e.index)?.samples ?? 0,
    weight: totals.get(e.index)?.weight ?? 0,
  }));
  let chosen = -1;
  if (options.event !== undefined) {
    const want = options.event;
    const found = events.find((e) =>
      typeof want === "number" ? e.index === want : e.name === want || e.name.split(":")[0] === want
    );
    if (!found) throw new UnknownEventError(want, events.map((e) => e.name));
    chosen = found.index;
  } else {
    chosen = events.find((e) => builders.has(e.index) && builders.get(e.index)!.samplesRead > 0)
      ?.index ?? (builders.size ? [...builders.keys()][0] : -1);
  }
  const builder = builders.get(chosen) ?? new ProfileBuilder();
  Object.assign(builder.lost, input.lost);
  return {
    profile: builder.build(),
    events,
    event: chosen,
    warnings: [...input.warnings],
    info: input.info,
    bytesRead: input.bytesRead,
  };
}
