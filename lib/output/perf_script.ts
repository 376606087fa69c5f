/**
 * perf-script-style text output, byte for byte as perf 6.1 prints it for the
 * fields comm, pid, tid, cpu, time, period, event, trace, ip, sym, dso,
 * symoff and addr: one sample's text. The field selection lives in
 * `script_fields.ts`, the byte buffer and digit writers in `script_bytes.ts`
 * (both re-exported here).
 *
 * @module
 */

import { ChainWalk, CpuMode, hexBig, padStart, type Sample } from "../abi/mod.ts";
import type { InlineNode } from "../analyze/inlines.ts";
import type { AddressResolver, ResolvedAddress, ResolverScope } from "../analyze/resolver.ts";
import {
  decLen,
  EXACT,
  NEWLINE,
  ScriptOutput,
  SPACE,
  TextPool,
  writeDigits,
  writeHex,
} from "./script_bytes.ts";
import type { ScriptFields } from "./script_fields.ts";
import type { ScriptClock } from "./script_time.ts";
import { DataSrcColumn, splitWeight } from "./mem_info.ts";

export * from "./script_fields.ts";
export { ScriptOutput } from "./script_bytes.ts";

/**
 * Inline expansion of a callchain (perf 6.1's `append_inlines`): for a
 * callchain index (markers counted), the nodes printed in place of that
 * entry, innermost first. Each node prints the entry's address and offset;
 * an inlined node prints its own name, no dso, and ` (inlined)`.
 */
export type InlineExpansion = ReadonlyMap<number, readonly InlineNode[]>;

/**
 * `-F srcline` texts of one sample (perf's `map__fprintf_srcline`, looked up
 * before printing): of the sample's IP, and of callchain entries by index.
 * Inline nodes carry their own (`InlineNode.srcline`).
 */
export interface ScriptSrclines {
  /** The sample IP's (printed when no callchain is). */
  ip?: string;
  /** Callchain entries' by index into the callchain. */
  chain?: ReadonlyMap<number, string>;
}

/** Options of {@linkcode ScriptPrinter}. */
export interface ScriptPrinterOptions {
  /** Largest number of callchain entries printed (perf's `--max-stack`, default 127). */
  maxStack?: number;
  /** Width of the event-name column (perf pads to the longest event name). */
  eventNameWidth?: number;
  /** The time column of `--ns`, `--reltime`, `--deltatime` (shared by a run's printers). */
  clock?: ScriptClock;
  /**
   * Most bytes of printed text cached for reuse, all scopes together
   * (default 32 MiB); when full, every scope's cache starts over.
   */
  textCacheBytes?: number;
}

const encoder = new TextEncoder();

/**
 * The fields of one sample for {@linkcode ScriptPrinter.print}, as numbers:
 * u64 addresses as u32 halves, the callchain as `nr` entries in a
 * `DataView`. Reuse one instance.
 */
export class ScriptSampleFields {
  /** Process id (-1 without TID). */
  pid: number = -1;
  /** Thread id (-1 without TID). */
  tid: number = -1;
  /** CPU (0 without CPU). */
  cpu = 0;
  /** Time in ns (0 without TIME). */
  time = 0;
  /** Period (0 without PERIOD). */
  period = 0;
  /** High half of the ip. */
  ipHi = 0;
  /** Low half of the ip. */
  ipLo = 0;
  /** High half of ADDR. */
  addrHi = 0;
  /** Low half of ADDR. */
  addrLo = 0;
  /** Record header `misc` (cpumode in the low 3 bits). */
  misc = 0;
  /** Whether the sample has a callchain. */
  hasChain = false;
  /** The view holding the callchain entries. */
  chainView: DataView = new DataView(new ArrayBuffer(8));
  /** Byte offset of callchain entry 0 in {@linkcode ScriptSampleFields.chainView}. */
  chainAt = 0;
  /** Number of callchain entries (markers included). */
  chainNr = 0;
  /** A tracepoint's decoded payload (`-F trace`), undefined when none. */
  traceText: string | undefined = undefined;
  /** PERF_SAMPLE_DATA_SRC (0 without). */
  dataSrc = 0n;
  /** PERF_SAMPLE_WEIGHT / WEIGHT_STRUCT as recorded (0 without). */
  weight = 0n;
  /** Whether {@linkcode ScriptSampleFields.weight} is a WEIGHT_STRUCT. */
  weightStruct = false;
  /** PERF_SAMPLE_BRANCH_STACK {from, to, flags} triples, undefined without. */
  branches: BigUint64Array | undefined = undefined;
  /** PERF_SAMPLE_PHYS_ADDR (0 without). */
  physAddr = 0n;
  /** PERF_SAMPLE_DATA_PAGE_SIZE (0 without). */
  dataPageSize = 0n;
  /** PERF_SAMPLE_CODE_PAGE_SIZE (0 without). */
  codePageSize = 0n;

  /**
   * Fill from a decoded sample.
   *
   * @param sample The sample.
   * @param misc The record header's `misc`.
   * @returns This object.
   */
  fromSample(sample: Sample, misc: number): this {
    this.pid = sample.pid ?? -1;
    this.tid = sample.tid ?? -1;
    this.cpu = sample.cpu ?? 0;
    this.time = sample.time ?? 0;
    this.period = sample.period ?? 0;
    const ip = sample.ip ?? 0n;
    this.ipHi = Number(ip >> 32n);
    this.ipLo = Number(ip & 0xffffffffn);
    const addr = sample.addr ?? 0n;
    this.addrHi = Number(addr >> 32n);
    this.addrLo = Number(addr & 0xffffffffn);
    this.misc = misc;
    this.traceText = undefined;
    this.dataSrc = sample.dataSrc ?? 0n;
    this.weight = sample.weight ?? 0n;
    this.branches = sample.branchStack?.entries;
    this.physAddr = sample.physAddr ?? 0n;
    this.dataPageSize = sample.dataPageSize ?? 0n;
    this.codePageSize = sample.codePageSize ?? 0n;
    const chain = sample.callchain;
    this.hasChain = chain !== undefined;
    if (chain !== undefined) {
      this.chainView = new DataView(chain.buffer, chain.byteOffset, chain.byteLength);
      this.chainAt = 0;
      this.chainNr = chain.length;
    } else this.chainNr = 0;
    return this;
  }
}

/** Largest number of entries of a {@linkcode U64Table} before it starts over. */
const TABLE_MAX = 1 << 16;

/** An open-addressing map from u64 keys (given as halves) to values; bounded. */
class U64Table<V> {
  #hi = new Uint32Array(1024);
  #lo = new Uint32Array(1024);
  #vals: (V | undefined)[] = new Array(1024).fill(undefined);
  #mask = 1023;
  #size = 0;

  get(hi: number, lo: number): V | undefined {
    const mask = this.#mask;
    let i = (Math.imul(lo ^ (lo >>> 15), 0x2c1b3c6d) ^ Math.imul(hi, 0x297a2d39)) >>> 0 & mask;
    while (true) {
      const v = this.#vals[i];
      if (v === undefined) return undefined;
      if (this.#lo[i] === lo && this.#hi[i] === hi) return v;
      i = (i + 1) & mask;
    }
  }

  set(hi: number, lo: number, value: V): void {
    if (this.#size >= TABLE_MAX) this.clear();
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    const mask = this.#mask;
    let i = (Math.imul(lo ^ (lo >>> 15), 0x2c1b3c6d) ^ Math.imul(hi, 0x297a2d39)) >>> 0 & mask;
    while (this.#vals[i] !== undefined) {
      if (this.#lo[i] === lo && this.#hi[i] === hi) {
        this.#vals[i] = value;
        return;
      }
      i = (i + 1) & mask;
    }
    this.#hi[i] = hi;
    this.#lo[i] = lo;
    this.#vals[i] = value;
    this.#size++;
  }

  clear(): void {
    this.#hi = new Uint32Array(1024);
    this.#lo = new Uint32Array(1024);
    this.#vals = new Array(1024).fill(undefined);
    this.#mask = 1023;
    this.#size = 0;
  }

  #grow(): void {
    const hi = this.#hi, lo = this.#lo, vals = this.#vals;
    const n = (this.#mask + 1) * 2;
    this.#hi = new Uint32Array(n);
    this.#lo = new Uint32Array(n);
    this.#vals = new Array(n).fill(undefined);
    this.#mask = n - 1;
    this.#size = 0;
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i];
      if (v !== undefined) this.set(hi[i]!, lo[i]!, v);
    }
  }
}

/** Largest number of whole callchains a {@linkcode ChainTable} keeps before it starts over. */
const CHAINS_MAX = 1 << 14;

/**
 * Printed callchains by their raw entries (and the sample's cpumode):
 * samples repeat a small set of stacks, so most chains print with one
 * lookup and one copy.
 */
class ChainTable {
  #slots = new Int32Array(1024).fill(-1);
  #mask = 1023;
  #keys = new Uint32Array(4096);
  #keysUsed = 0;
  #start: number[] = [];
  #nr: number[] = [];
  #mode: number[] = [];
  #hash: number[] = [];
  #text: number[] = [];
  /** Version of the kernel scope the texts were made with. */
  kernelVersion = -1;

  static hash(words: Uint32Array, base: number, nr: number, mode: number): number {
    let h = Math.imul(nr, 0x9e3779b1) ^ mode;
    for (let i = base, end = base + nr * 2; i < end; i++) {
      h = Math.imul(h ^ words[i]!, 0x85ebca6b);
      h ^= h >>> 13;
    }
    return h >>> 0;
  }

  get(
    words: Uint32Array,
    base: number,
    nr: number,
    mode: number,
    hash: number,
  ): number | undefined {
    const mask = this.#mask;
    const keys = this.#keys;
    let i = hash & mask;
    while (true) {
      const e = this.#slots[i]!;
      if (e < 0) return undefined;
      if (this.#hash[e] === hash && this.#nr[e] === nr && this.#mode[e] === mode) {
        const k = this.#start[e]!;
        let j = 0;
        const n = nr * 2;
        while (j < n && keys[k + j] === words[base + j]) j++;
        if (j === n) return this.#text[e];
      }
      i = (i + 1) & mask;
    }
  }

  set(
    words: Uint32Array,
    base: number,
    nr: number,
    mode: number,
    hash: number,
    text: number,
  ): void {
    if (this.#text.length >= CHAINS_MAX) this.clear();
    if ((this.#text.length + 1) * 2 > this.#mask + 1) this.#grow();
    const n = nr * 2;
    if (this.#keysUsed + n > this.#keys.length) {
      const next = new Uint32Array(Math.max(this.#keys.length * 2, this.#keysUsed + n));
      next.set(this.#keys.subarray(0, this.#keysUsed));
      this.#keys = next;
    }
    const k = this.#keysUsed;
    for (let j = 0; j < n; j++) this.#keys[k + j] = words[base + j]!;
    this.#keysUsed += n;
    const e = this.#text.length;
    this.#start.push(k);
    this.#nr.push(nr);
    this.#mode.push(mode);
    this.#hash.push(hash);
    this.#text.push(text);
    this.#insert(e);
  }

  #insert(e: number): void {
    const mask = this.#mask;
    let i = this.#hash[e]! & mask;
    while (this.#slots[i]! >= 0) i = (i + 1) & mask;
    this.#slots[i] = e;
  }

  #grow(): void {
    const n = (this.#mask + 1) * 2;
    this.#slots = new Int32Array(n).fill(-1);
    this.#mask = n - 1;
    for (let e = 0; e < this.#text.length; e++) this.#insert(e);
  }

  clear(): void {
    this.#slots = new Int32Array(1024).fill(-1);
    this.#mask = 1023;
    this.#keys = new Uint32Array(4096);
    this.#keysUsed = 0;
    this.#start = [];
    this.#nr = [];
    this.#mode = [];
    this.#hash = [];
    this.#text = [];
  }
}

/**
 * Bytes of cached text all scopes together hold (one {@linkcode TextPool})
 * before every scope's cache starts over: a recording of many short processes
 * (a compiler's) makes a scope per process, and per-scope limits alone would
 * let the caches grow with the number of processes.
 */
const CACHE_BYTES_MAX = 32 << 20;

/** Cached text of one resolver scope. */
interface ScopeCache {
  /** The scope's version the texts were made with. */
  version: number;
  /** Callchain lines (`\t<ip> <sym> (<dso>)\n`) by address. */
  lines: U64Table<number>;
  /** sym/symoff/dso text after a one-line sample's ip, by address. */
  syms: U64Table<number>;
  /** Whole printed callchains of samples of this (process) scope. */
  chains: ChainTable;
}

/** Cached `comm pid/tid ` prefix of a thread. */
interface PrefixCache {
  comm: string;
  pid: number;
  /** The prefix when a callchain follows (comm not padded). */
  chain: Uint8Array | undefined;
  /** The prefix of a one-line sample (comm padded to 16). */
  flat: Uint8Array | undefined;
}

/** Snapshot of the selected fields. */
interface FieldFlags {
  comm: boolean;
  pid: boolean;
  tid: boolean;
  cpu: boolean;
  time: boolean;
  period: boolean;
  event: boolean;
  trace: boolean;
  addr: boolean;
  dataSrc: boolean;
  weight: boolean;
  insLat: boolean;
  brstack: boolean;
  brstacksym: boolean;
  physAddr: boolean;
  dataPageSize: boolean;
  codePageSize: boolean;
  ip: boolean;
  sym: boolean;
  symoff: boolean;
  dso: boolean;
}

function flagsOf(f: Set<string>): FieldFlags {
  return {
    comm: f.has("comm"),
    pid: f.has("pid"),
    tid: f.has("tid"),
    cpu: f.has("cpu"),
    time: f.has("time"),
    period: f.has("period"),
    event: f.has("event"),
    trace: f.has("trace"),
    addr: f.has("addr"),
    dataSrc: f.has("data_src"),
    weight: f.has("weight"),
    insLat: f.has("ins_lat"),
    brstack: f.has("brstack"),
    brstacksym: f.has("brstacksym"),
    physAddr: f.has("phys_addr"),
    dataPageSize: f.has("data_page_size"),
    codePageSize: f.has("code_page_size"),
    ip: f.has("ip"),
    sym: f.has("sym"),
    symoff: f.has("symoff"),
    dso: f.has("dso"),
  };
}

/**
 * perf's `get_page_size_name`: `unit_number__scnprintf` (divide by 1024
 * while the quotient exceeds 1, up to G), `N/A` for 0.
 *
 * @param size A page size in bytes.
 * @returns `4K`, `2M`, `1024B`...
 */
export function pageSizeName(size: bigint): string {
  if (size === 0n) return "N/A";
  const units = "BKMG";
  let n = size, i = 0;
  while (n / 1024n > 1n && i < 3) {
    n /= 1024n;
    i++;
  }
  return `${n}${units[i]}`;
}

function toBig(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Formats samples as perf script prints them. */
export class ScriptPrinter {
  readonly #f: Set<string>;
  readonly #resolver: AddressResolver;
  readonly #maxStack: number;
  readonly #walk = new ChainWalk();
  readonly #nameWidth: number;
  readonly #clock: ScriptClock | undefined;
  #flags: FieldFlags;
  #scopes = new WeakMap<ResolverScope, ScopeCache>();
  readonly #prefixes = new Map<number, PrefixCache>();
  readonly #events = new Map<string, Uint8Array>();
  #periodValue = -1;
  #periodText: Uint8Array = new Uint8Array(0);
  /** The padded `secs.` of the last second printed. */
  #secsValue = -1;
  #secsText: Uint8Array = new Uint8Array(0);
  /** The text all scopes cache (up to {@linkcode CACHE_BYTES_MAX} bytes). */
  readonly #pool: TextPool;
  /** How many times every scope's cache started over (a scope cache read before is stale after). */
  #drops = 0;
  /** Scratch output for a callchain printed on a cache miss. */
  readonly #scratch = new ScriptOutput(undefined, 1 << 16);

  /**
   * Create a printer.
   *
   * @param selection The checked field selection.
   * @param resolver Address resolution for ip/sym/dso/symoff.
   * @param options Printing options.
   */
  constructor(
    selection: ScriptFields,
    resolver: AddressResolver,
    options: ScriptPrinterOptions = {},
  ) {
    this.#f = selection.fields;
    this.#resolver = resolver;
    this.#maxStack = options.maxStack ?? 127;
    this.#nameWidth = options.eventNameWidth ?? 0;
    this.#clock = options.clock;
    this.#flags = flagsOf(this.#f);
    this.#pool = new TextPool(options.textCacheBytes ?? CACHE_BYTES_MAX);
  }

  /**
   * Take a changed field selection into account (and drop cached text):
   * call after the selection given to the constructor was changed in place
   * ({@linkcode checkScriptFields}, {@linkcode enablePipeCallchainFields}).
   * {@linkcode ScriptPrinter.format} needs no refresh.
   */
  refresh(): void {
    this.#flags = flagsOf(this.#f);
    this.#dropScopes();
    this.#prefixes.clear();
    this.#events.clear();
    this.#lastEventName = this.#lastEventText = this.#lastPrefix = undefined;
    this.#lastPrefixTid = NaN;
  }

  /**
   * Print one sample into `out`, the same text as
   * {@linkcode ScriptPrinter.format} (without inline expansion), with what
   * can be cached cached: the `comm pid/tid` prefix per thread, and, when
   * the resolver has scopes, callchain lines and whole callchains per scope.
   *
   * @param out The output.
   * @param s The sample's fields.
   * @param comm The thread's comm.
   * @param eventName The event name.
   * @param hasCallchain Whether the event records callchains.
   */
  print(
    out: ScriptOutput,
    s: ScriptSampleFields,
    comm: string,
    eventName: string,
    hasCallchain: boolean,
  ): void {
    const fl = this.#flags;
    const printChain = fl.ip && hasCallchain && s.hasChain;
    const pid = s.pid, tid = s.tid;
    const prefix = fl.comm || fl.pid || fl.tid
      ? this.#prefix(comm, pid, tid, printChain)
      : undefined;
    let ev: Uint8Array | undefined;
    if (fl.event) {
      if (eventName === this.#lastEventName) ev = this.#lastEventText;
      else {
        ev = this.#events.get(eventName);
        if (ev === undefined) {
          ev = encoder.encode(`${padStart(eventName, this.#nameWidth)}: `);
          this.#events.set(eventName, ev);
        }
        this.#lastEventName = eventName;
        this.#lastEventText = ev;
      }
    }
    const trace = fl.trace ? s.traceText : undefined;
    if (
      trace !== undefined || fl.dataSrc || fl.weight || fl.insLat || fl.brstack ||
      fl.brstacksym || fl.physAddr || fl.dataPageSize || fl.codePageSize
    ) {
      // Rare enough to print through text: flush the fixed part first.
      this.#printStart(out, s, prefix, ev);
      if (trace !== undefined) out.text(trace);
      this.#printRest(out, s, printChain, fl);
      return;
    }
    out.room((prefix?.length ?? 0) + (ev?.length ?? 0) + 128);
    const buf = out.buf;
    let pos = out.pos;
    if (prefix !== undefined) {
      buf.set(prefix, pos);
      pos += prefix.length;
    }
    if (fl.cpu) pos = this.#cpu(buf, pos, s.cpu);
    if (fl.time) pos = this.#time(buf, pos, s.time);
    if (fl.period) {
      if (s.period !== this.#periodValue) {
        this.#periodValue = s.period;
        this.#periodText = encoder.encode(`${padStart(String(s.period), 10)} `);
      }
      buf.set(this.#periodText, pos);
      pos += this.#periodText.length;
    }
    if (ev !== undefined) {
      buf.set(ev, pos);
      pos += ev.length;
    }
    if (fl.addr) pos = writeHex(buf, pos, s.addrHi, s.addrLo, 16);
    if (!fl.ip) {
      buf[pos++] = NEWLINE;
      out.pos = pos;
      return;
    }
    const cpumode = s.misc & 7;
    if (printChain) {
      buf[pos++] = NEWLINE;
      out.pos = pos;
      this.#printChain(out, s, cpumode);
      out.room(1);
      out.buf[out.pos++] = NEWLINE;
      return;
    }
    buf[pos++] = SPACE;
    pos = writeHex(buf, pos, s.ipHi, s.ipLo, 16);
    out.pos = pos;
    const scope = this.#resolver.scope?.(pid, tid, cpumode);
    const cache = scope !== undefined ? this.#scopeCache(scope) : undefined;
    const ref = cache?.syms.get(s.ipHi, s.ipLo);
    if (ref !== undefined) return this.#pool.copyTo(out, ref);
    const r = this.#resolver.resolve(pid, tid, cpumode, toBig(s.ipHi, s.ipLo));
    const at = out.text(this.#symText(r) + "\n");
    if (scope !== undefined) {
      const added = this.#cache(out.buf, at, out.pos);
      if (added >= 0) this.#scopeCache(scope).syms.set(s.ipHi, s.ipLo, added);
    }
  }

  /** prefix, cpu, time, period and event name of {@linkcode ScriptPrinter.print}. */
  #printStart(
    out: ScriptOutput,
    s: ScriptSampleFields,
    prefix: Uint8Array | undefined,
    ev: Uint8Array | undefined,
  ): void {
    const fl = this.#flags;
    out.room((prefix?.length ?? 0) + (ev?.length ?? 0) + 128);
    const buf = out.buf;
    let pos = out.pos;
    if (prefix !== undefined) {
      buf.set(prefix, pos);
      pos += prefix.length;
    }
    if (fl.cpu) pos = this.#cpu(buf, pos, s.cpu);
    if (fl.time) pos = this.#time(buf, pos, s.time);
    if (fl.period) {
      const t = encoder.encode(`${padStart(String(s.period), 10)} `);
      buf.set(t, pos);
      pos += t.length;
    }
    if (ev !== undefined) {
      buf.set(ev, pos);
      pos += ev.length;
    }
    out.pos = pos;
  }

  /** addr and ip/callchain after the trace text (perf's order in `process_event`). */
  #printRest(out: ScriptOutput, s: ScriptSampleFields, printChain: boolean, fl: FieldFlags): void {
    out.room(64);
    if (fl.addr) out.pos = writeHex(out.buf, out.pos, s.addrHi, s.addrLo, 16);
    const mem = this.#memText(fl, s.dataSrc, s.weight, s.weightStruct);
    if (mem) out.text(mem);
    out.room(64);
    const cpumode = s.misc & 7;
    const br = this.#branchesText(s.pid, s.tid, cpumode, s.branches) +
      this.#pageText(s.physAddr, s.dataPageSize, s.codePageSize);
    if (!fl.ip) {
      out.text(br + "\n");
      return;
    }
    if (printChain) {
      out.buf[out.pos++] = NEWLINE;
      this.#printChain(out, s, cpumode);
      out.text(br + "\n");
      return;
    }
    out.buf[out.pos++] = SPACE;
    out.pos = writeHex(out.buf, out.pos, s.ipHi, s.ipLo, 16);
    const r = this.#resolver.resolve(s.pid, s.tid, cpumode, toBig(s.ipHi, s.ipLo));
    out.text(this.#symText(r) + br + "\n");
  }

  /**
   * perf 6.1's `perf_sample__fprintf_brstack`: ` 0xFROM/0xTO/P/-/-/CYCLES/TYPE `
   * per entry (with `(dso)` after each address when dso is printed).
   */
  #brstackText(pid: number, tid: number, cpumode: number, e: BigUint64Array | undefined): string {
    if (e === undefined) return "";
    let t = "";
    const dso = this.#f.has("dso");
    for (let i = 0; i + 2 < e.length; i += 3) {
      const from = e[i]!, to = e[i + 1]!, flags = e[i + 2]!;
      t += " 0x" + from.toString(16);
      if (dso) t += `(${this.#dsoFallback(pid, tid, cpumode, from)})`;
      t += "/0x" + to.toString(16);
      if (dso) t += `(${this.#dsoFallback(pid, tid, cpumode, to)})`;
      t += branchFlagsText(flags);
    }
    return t;
  }

  /** brstack, else brstacksym (perf prints one of them, in that preference). */
  #branchesText(pid: number, tid: number, cpumode: number, e: BigUint64Array | undefined): string {
    const fl = this.#flags;
    if (fl.brstack) return this.#brstackText(pid, tid, cpumode, e);
    if (fl.brstacksym) return this.#brstacksymText(pid, tid, cpumode, e);
    return "";
  }

  /**
   * perf 6.1's `perf_sample__fprintf_brstacksym`: `FROM/TO/P/-/-/CYCLES/TYPE `
   * per entry, each address as `sym+0xoff` or `[unknown]`
   * (`symbol__fprintf_symname_offs` of `thread__find_symbol_fb`), with
   * `(dso)` after it when dso is printed.
   */
  #brstacksymText(pid: number, tid: number, cpumode: number, e: BigUint64Array | undefined) {
    if (e === undefined) return "";
    let t = "";
    const dso = this.#f.has("dso");
    const one = (addr: bigint) => {
      const r = this.#mapFallback(pid, tid, cpumode, addr);
      let out = r?.sym === undefined ? "[unknown]" : `${r.sym}+0x${(r.symoff ?? 0n).toString(16)}`;
      if (dso) out += `(${r?.dso ?? "[unknown]"})`;
      return out;
    };
    for (let i = 0; i + 2 < e.length; i += 3) {
      t += one(e[i]!) + "/" + one(e[i + 1]!) + branchFlagsText(e[i + 2]!);
    }
    return t;
  }

  /**
   * phys_addr (`%16lx`), data_page_size and code_page_size (` 4K`, ` N/A`
   * for 0): perf's order after the branch stack.
   */
  #pageText(physAddr: bigint, dataPageSize: bigint, codePageSize: bigint): string {
    const fl = this.#flags;
    let t = "";
    if (fl.physAddr) t += padStart(physAddr.toString(16), 16);
    if (fl.dataPageSize) t += " " + pageSizeName(dataPageSize);
    if (fl.codePageSize) t += " " + pageSizeName(codePageSize);
    return t;
  }

  /** `thread__find_map_fb` + `map__fprintf_dsoname`. */
  #dsoFallback(pid: number, tid: number, cpumode: number, addr: bigint): string {
    return this.#mapFallback(pid, tid, cpumode, addr)?.dso ?? "[unknown]";
  }

  /**
   * `thread__find_map_fb`: the address in the sample's cpumode, and where no
   * map holds it there, in the cpumode of its address (kernel half or user).
   */
  #mapFallback(pid: number, tid: number, cpumode: number, addr: bigint) {
    const r = this.#resolver.resolve(pid, tid, cpumode, addr);
    if (r?.dso !== undefined) return r;
    const own = addr >> 63n ? CpuMode.KERNEL : CpuMode.USER;
    return own === cpumode ? r : this.#resolver.resolve(pid, tid, own, addr) ?? r;
  }

  readonly #dataSrc = new DataSrcColumn();

  /** data_src, weight, ins_lat columns (perf's order after addr). */
  #memText(fl: FieldFlags, dataSrc: bigint, weight: bigint, struct: boolean): string {
    let t = "";
    if (fl.dataSrc) t += this.#dataSrc.format(dataSrc);
    const w = splitWeight(weight, struct);
    if (fl.weight) t += padStart(w.weight.toString(), 16);
    if (fl.insLat) t += padStart(String(w.insLat), 16);
    return t;
  }

  /**
   * perf's `perf_sample__fprintf_start` for a non-sample record (the
   * `--show-*-events` lines): comm, pid/tid, cpu and time as selected.
   *
   * @param comm The thread's comm.
   * @param pid The process id.
   * @param tid The thread id.
   * @param cpu The CPU.
   * @param time The time (ns).
   * @param hasCallchain Whether the event records callchains (comm is then not padded with `ip`).
   * @returns The text.
   */
  startText(
    comm: string,
    pid: number,
    tid: number,
    cpu: number,
    time: number,
    hasCallchain: boolean,
  ): string {
    const fl = this.#flags;
    let t = "";
    if (fl.comm) t += fl.ip && hasCallchain ? `${comm} ` : `${padStart(comm, 16)} `;
    if (fl.pid && fl.tid) t += `${padStart(String(pid), 5)}/${String(tid).padEnd(5)} `;
    else if (fl.pid) t += `${padStart(String(pid), 5)} `;
    else if (fl.tid) t += `${padStart(String(tid), 5)} `;
    if (fl.cpu) {
      t += `[${cpu < 0 ? "-" + String(-cpu).padStart(2, "0") : String(cpu).padStart(3, "0")}] `;
    }
    if (fl.time) t += this.#timeText(time);
    return t;
  }

  #lastEventName: string | undefined = undefined;
  #lastEventText: Uint8Array | undefined = undefined;
  #lastPrefixTid = NaN;
  #lastPrefix: PrefixCache | undefined = undefined;

  #prefix(comm: string, pid: number, tid: number, printChain: boolean): Uint8Array {
    let c = tid === this.#lastPrefixTid ? this.#lastPrefix : this.#prefixes.get(tid);
    if (c === undefined || c.comm !== comm || c.pid !== pid) {
      c = { comm, pid, chain: undefined, flat: undefined };
      this.#prefixes.set(tid, c);
    }
    this.#lastPrefixTid = tid;
    this.#lastPrefix = c;
    const have = printChain ? c.chain : c.flat;
    if (have !== undefined) return have;
    const fl = this.#flags;
    let t = "";
    if (fl.comm) t += printChain ? `${comm} ` : `${padStart(comm, 16)} `;
    if (fl.pid && fl.tid) t += `${padStart(String(pid), 5)}/${String(tid).padEnd(5)} `;
    else if (fl.pid) t += `${padStart(String(pid), 5)} `;
    else if (fl.tid) t += `${padStart(String(tid), 5)} `;
    const bytes = encoder.encode(t);
    if (printChain) c.chain = bytes;
    else c.flat = bytes;
    return bytes;
  }

  /** `[%03d] `. */
  #cpu(buf: Uint8Array, pos: number, cpu: number): number {
    if (cpu > 999 || cpu < 0 || !Number.isInteger(cpu)) {
      const t = encoder.encode(`[${String(cpu).padStart(3, "0")}] `);
      buf.set(t, pos);
      return pos + t.length;
    }
    buf[pos] = 0x5b;
    writeDigits(buf, pos + 4, cpu, 3);
    buf[pos + 4] = 0x5d;
    buf[pos + 5] = SPACE;
    return pos + 6;
  }

  /** The time column as text (`%12s: `, or the clock's). */
  #timeText(ns: number): string {
    return this.#clock !== undefined ? this.#clock.text(ns) : `${padStart(formatTime(ns), 12)}: `;
  }

  /** `%12s: ` of {@linkcode formatTime} (the `secs.` part cached per second). */
  #time(buf: Uint8Array, pos: number, ns: number): number {
    if (this.#clock !== undefined) {
      const t = encoder.encode(this.#clock.text(ns));
      buf.set(t, pos);
      return pos + t.length;
    }
    const secs = Math.floor(ns / 1e9);
    const usecs = Math.floor((ns - secs * 1e9) / 1e3);
    if (!(secs < EXACT && usecs >= 0 && usecs < 1e6)) {
      const t = encoder.encode(`${padStart(formatTime(ns), 12)}: `);
      buf.set(t, pos);
      return pos + t.length;
    }
    if (secs !== this.#secsValue) {
      const n = decLen(secs);
      const t = new Uint8Array(Math.max(12, n + 7) - 6);
      t.fill(SPACE);
      writeDigits(t, t.length - 1, secs, n);
      t[t.length - 1] = 0x2e;
      this.#secsValue = secs;
      this.#secsText = t;
    }
    const st = this.#secsText;
    for (let k = 0; k < st.length; k++) buf[pos++] = st[k]!;
    writeDigits(buf, pos + 6, usecs, 6);
    pos += 6;
    buf[pos++] = 0x3a;
    buf[pos++] = SPACE;
    return pos;
  }

  #lastScope: ResolverScope | undefined = undefined;
  #lastScopeCache: ScopeCache | undefined = undefined;

  /** Every scope's cached text dropped (made again as samples need it). */
  #dropScopes(): void {
    this.#scopes = new WeakMap();
    this.#lastScope = this.#lastScopeCache = undefined;
    this.#pool.reset();
    this.#drops++;
  }

  /**
   * Put `src[start, end)` in the pool: its reference, or -1 when it is not
   * cached (when the pool is full every scope starts over; the caller's scope
   * cache may then be a dropped one, where nothing is read again).
   */
  #cache(src: Uint8Array, start: number, end: number): number {
    const ref = this.#pool.add(src, start, end);
    if (ref >= 0 || end - start >= 0x10000) return ref;
    this.#dropScopes();
    return this.#pool.add(src, start, end);
  }

  #scopeCache(scope: ResolverScope): ScopeCache {
    if (scope === this.#lastScope) {
      const c = this.#lastScopeCache!;
      if (c.version === scope.version) return c;
    }
    const c = this.#scopeCacheOf(scope);
    this.#lastScope = scope;
    this.#lastScopeCache = c;
    return c;
  }

  #scopeCacheOf(scope: ResolverScope): ScopeCache {
    let c = this.#scopes.get(scope);
    if (c === undefined) {
      c = {
        version: scope.version,
        lines: new U64Table(),
        syms: new U64Table(),
        chains: new ChainTable(),
      };
      this.#scopes.set(scope, c);
    } else if (c.version !== scope.version) {
      c.version = scope.version;
      c.lines.clear();
      c.syms.clear();
      c.chains.clear();
    }
    return c;
  }

  #wordsBuffer: ArrayBufferLike | undefined = undefined;
  #words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  #copied = new Uint32Array(256);

  /** The callchain lines of a sample (whole chains cached per process scope). */
  #printChain(out: ScriptOutput, s: ScriptSampleFields, cpumode: number): void {
    const resolver = this.#resolver;
    const scratch = this.#scratch;
    if (resolver.scope === undefined) {
      scratch.pos = 0;
      this.#buildChain(scratch, s, cpumode, undefined);
      out.bytes(scratch.buf.subarray(0, scratch.pos));
      return;
    }
    const user = this.#scopeCache(resolver.scope(s.pid, s.tid, CpuMode.USER));
    const kernelVersion = resolver.scope(s.pid, s.tid, CpuMode.KERNEL).version;
    const chains = user.chains;
    if (chains.kernelVersion !== kernelVersion) {
      chains.clear();
      chains.kernelVersion = kernelVersion;
    }
    const view = s.chainView, at = s.chainAt, nr = s.chainNr;
    // The entries as u32 words: in place when 4-aligned (one array per buffer), else copied.
    const byte = view.byteOffset + at;
    let words: Uint32Array, base: number;
    if ((byte & 3) === 0 && byte + nr * 8 <= view.buffer.byteLength) {
      if (view.buffer !== this.#wordsBuffer) {
        this.#wordsBuffer = view.buffer;
        this.#words = new Uint32Array(view.buffer, 0, view.buffer.byteLength >>> 2);
      }
      words = this.#words;
      base = byte >>> 2;
    } else {
      if (this.#copied.length < nr * 2) this.#copied = new Uint32Array(nr * 4);
      words = this.#copied;
      base = 0;
      for (let j = 0; j < nr * 2; j++) words[j] = view.getUint32(at + 4 * j, true);
    }
    const hash = ChainTable.hash(words, base, nr, cpumode);
    const text = chains.get(words, base, nr, cpumode, hash);
    if (text !== undefined) return this.#pool.copyTo(out, text);
    const drops = this.#drops;
    scratch.pos = 0;
    this.#buildChain(scratch, s, cpumode, resolver);
    out.bytes(scratch.buf.subarray(0, scratch.pos));
    const ref = this.#cache(scratch.buf, 0, scratch.pos);
    if (ref < 0) return;
    if (this.#drops === drops) return chains.set(words, base, nr, cpumode, hash, ref);
    // the pool started over while the chain was printed or cached: `chains` is a dropped
    // scope's; cache it in the scope's new cache
    const fresh = this.#scopeCache(resolver.scope(s.pid, s.tid, CpuMode.USER)).chains;
    fresh.kernelVersion = kernelVersion;
    fresh.set(words, base, nr, cpumode, hash, ref);
  }

  /** Print a callchain line by line (lines cached per scope when the resolver has scopes). */
  #buildChain(
    out: ScriptOutput,
    s: ScriptSampleFields,
    sampleMode: number,
    resolver: AddressResolver | undefined,
  ): void {
    const view = s.chainView, at = s.chainAt, nr = s.chainNr;
    const start = out.pos;
    const pid = s.pid, tid = s.tid;
    let cpumode = sampleMode;
    let cache = resolver?.scope !== undefined
      ? this.#scopeCache(resolver.scope(pid, tid, cpumode))
      : undefined;
    let printed = 0;
    const walk = this.#walk;
    walk.reset(view, at, nr, sampleMode);
    while (printed < this.#maxStack && walk.next()) {
      const hi = walk.hi, lo = walk.lo;
      if (walk.cpumode !== cpumode) {
        cpumode = walk.cpumode;
        if (resolver?.scope !== undefined) {
          cache = this.#scopeCache(resolver.scope(pid, tid, cpumode));
        }
      }
      printed++;
      const ref = cache?.lines.get(hi, lo);
      if (ref !== undefined) {
        this.#pool.copyTo(out, ref);
        continue;
      }
      const ip = toBig(hi, lo);
      const r = this.#resolver.resolve(pid, tid, cpumode, ip);
      const lineAt = out.text(
        "\t" + padStart(hexBig(r ? r.mapIp : ip), 16) + this.#symText(r) + "\n",
      );
      if (cache !== undefined) {
        const drops = this.#drops;
        const added = this.#cache(out.buf, lineAt, out.pos);
        // the pool started over: the scope cache in hand refers to bytes no longer there
        if (this.#drops !== drops) cache = this.#scopeCache(resolver!.scope!(pid, tid, cpumode));
        if (added >= 0) cache.lines.set(hi, lo, added);
      }
    }
    if (walk.discarded) out.pos = start; // perf discards the whole chain on an unknown marker
  }

  /**
   * Format one sample, newline included (and the blank line after a callchain).
   *
   * @param sample The decoded sample.
   * @param misc The record header's `misc` (cpumode).
   * @param comm The thread's comm.
   * @param eventName The event name.
   * @param hasCallchain Whether the event records callchains.
   * @param inlines Inline nodes replacing callchain entries (DWARF-unwound
   *   user frames); entries without nodes print as usual.
   * @param traceText A tracepoint's decoded payload (printed for `-F trace`).
   * @param plainFrom Callchain index from which entries are DWARF-unwound user
   *   frames: printed as addresses even where they look like context markers
   *   (an unwound `ffffffffffffffff` terminator), as perf appends them.
   * @param weightStruct Whether the sample's weight is a PERF_SAMPLE_WEIGHT_STRUCT.
   * @param srclines `-F srcline` texts of the sample's addresses.
   * @returns The text.
   */
  format(
    sample: Sample,
    misc: number,
    comm: string,
    eventName: string,
    hasCallchain: boolean,
    inlines?: InlineExpansion,
    traceText?: string,
    plainFrom?: number,
    weightStruct?: boolean,
    srclines?: ScriptSrclines,
  ): string {
    const f = this.#f;
    const printChain = f.has("ip") && hasCallchain && sample.callchain !== undefined;
    let out = "";
    if (f.has("comm")) out += printChain ? `${comm} ` : `${padStart(comm, 16)} `;
    const pid = sample.pid ?? -1;
    const tid = sample.tid ?? -1;
    if (f.has("pid") && f.has("tid")) {
      out += `${padStart(String(pid), 5)}/${String(tid).padEnd(5)} `;
    } else if (f.has("pid")) out += `${padStart(String(pid), 5)} `;
    else if (f.has("tid")) out += `${padStart(String(tid), 5)} `;
    if (f.has("cpu")) out += `[${String(sample.cpu ?? 0).padStart(3, "0")}] `;
    if (f.has("time")) out += this.#timeText(sample.time ?? 0);
    if (f.has("period")) out += `${padStart(String(sample.period ?? 0), 10)} `;
    if (f.has("event")) out += `${padStart(eventName, this.#nameWidth)}: `;
    if (f.has("trace") && traceText !== undefined) out += traceText;
    if (f.has("addr")) out += padStart(hexBig(sample.addr ?? 0n), 16);
    out += this.#memText(
      this.#flags,
      sample.dataSrc ?? 0n,
      sample.weight ?? 0n,
      weightStruct ?? false,
    );
    if (f.has("ip")) {
      const cpumode = misc & 7;
      if (printChain) {
        out += "\n" +
          this.#chain(sample.callchain!, pid, tid, cpumode, inlines, plainFrom, srclines?.chain);
      } else {
        out += " " + padStart(hexBig(sample.ip ?? 0n), 16);
        out += this.#symText(
          this.#resolver.resolve(pid, tid, cpumode, sample.ip ?? 0n),
          undefined,
          srclines?.ip,
        );
      }
    }
    out += this.#branchesText(pid, tid, misc & 7, sample.branchStack?.entries);
    out += this.#pageText(
      sample.physAddr ?? 0n,
      sample.dataPageSize ?? 0n,
      sample.codePageSize ?? 0n,
    );
    return out + "\n";
  }

  #symText(r: ResolvedAddress | undefined, node?: InlineNode, srcline?: string): string {
    let out = "";
    // perf prints the source line after the dso, before " (inlined)"
    const line = this.#f.has("srcline") ? (node !== undefined ? node.srcline : srcline) : undefined;
    // (an inline node's own line prints as it is, perf's `??:0` too)
    const shown = line !== undefined && (node !== undefined || !line.startsWith("??:0"));
    const lineText = shown ? `\n  ${line}` : "";
    const sym = node !== undefined ? node.sym : r?.sym;
    const flags = this.#flags;
    if (flags.sym) {
      out += " " + (sym ?? "[unknown]");
      // An inlined symbol has its base symbol's start: the offset is the same.
      if (flags.symoff && sym !== undefined) {
        out += "+0x" + (r?.symoff ?? 0n).toString(16);
      }
    }
    if (node?.inlined) return out + lineText + " (inlined)";
    if (flags.dso) out += ` (${r?.dso ?? "[unknown]"})`;
    return out + lineText;
  }

  #chain(
    chain: BigUint64Array,
    pid: number,
    tid: number,
    sampleMode: number,
    inlines: InlineExpansion | undefined,
    plainFrom = chain.length,
    srclines?: ReadonlyMap<number, string>,
  ): string {
    let out = "";
    let printed = 0;
    const entry = (i: number, cpumode: number) => {
      printed++;
      const ip = chain[i]!;
      const r = this.#resolver.resolve(pid, tid, cpumode, ip);
      const ipText = "\t" + padStart(hexBig(r ? r.mapIp : ip), 16);
      const nodes = inlines?.get(i);
      if (nodes === undefined || nodes.length === 0) {
        out += ipText + this.#symText(r, undefined, srclines?.get(i)) + "\n";
      } // perf's --max-stack bounds unwound entries, not the inline nodes they expand to.
      else for (const node of nodes) out += ipText + this.#symText(r, node) + "\n";
    };
    const walk = this.#walk;
    const view = new DataView(chain.buffer, chain.byteOffset, chain.byteLength);
    walk.reset(view, 0, Math.min(plainFrom, chain.length), sampleMode);
    while (printed < this.#maxStack && walk.next()) entry(walk.index, walk.cpumode);
    if (walk.discarded) return ""; // perf discards the whole chain on an unknown marker
    for (let i = plainFrom; i < chain.length && printed < this.#maxStack; i++) {
      entry(i, CpuMode.USER);
    }
    return out;
  }
}

/** perf 6.1's `branch_type_name[]` (PERF_BR_*; 0, unknown, prints nothing). */
const BRANCH_TYPES = [
  "",
  "COND",
  "UNCOND",
  "IND",
  "CALL",
  "IND_CALL",
  "RET",
  "SYSCALL",
  "SYSRET",
  "COND_CALL",
  "COND_RET",
  "ERET",
  "IRQ",
  "SERROR",
  "NO_TX",
  "EXTEND_ABI",
];

/**
 * perf 6.1's `print_bstack_flags`: `/P|M|-/X|-/A|-/CYCLES/TYPE ` of a
 * `perf_branch_entry`'s flags word.
 *
 * @param flags The entry's third u64.
 * @returns The text.
 */
export function branchFlagsText(flags: bigint): string {
  const f = Number(flags & 0xffffffffn);
  const mispred = f & 1, predicted = f & 2;
  const p = !(mispred || predicted) ? "-" : predicted ? "P" : "M";
  const cycles = (f >>> 4) & 0xffff;
  const type = (f >>> 20) & 0xf;
  return `/${p}/${f & 4 ? "X" : "-"}/${f & 8 ? "A" : "-"}/${cycles}/${BRANCH_TYPES[type]} `;
}

/**
 * Format a timestamp in nanoseconds as perf's `%lu.%06lu` (microseconds).
 *
 * @param ns Nanoseconds.
 * @returns Seconds with six decimals, truncated.
 */
export function formatTime(ns: number): string {
  const secs = Math.floor(ns / 1e9);
  const usecs = Math.floor((ns - secs * 1e9) / 1e3);
  return `${secs}.${String(usecs).padStart(6, "0")}`;
}
