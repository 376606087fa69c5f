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
  ContextMarkerLo,
  CpuMode,
  decodeRecord,
  FormatError,
  type PerfEventAttr,
  type PerfRecord,
  RecordType,
  type Sample,
  type SampleFormat,
  sampleIdAll,
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
import { openPerfData, type PerfDataInfo } from "../perfdata/reader.ts";
import { markerCpuMode } from "../output/perf_script.ts";
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

const MARKER_HI = 0xffffffff;

/** A capture's own symbol table (simulated machines), consulted before maps and kallsyms. */
type OwnSymbols = (ip: bigint) => { sym: string; dso: string } | undefined;

/** A resolved callchain: frames (leaf-first) and whether it was cut. */
interface ResolvedChain {
  frames: FrameRef[];
  truncated: boolean;
}

/** The two parts of a `--call-graph dwarf` chain before symbolization. */
interface UnwoundChain {
  kernel: bigint[];
  user: readonly bigint[];
  truncated: boolean;
}

const NO_INLINES: readonly InlineNode[] = Object.freeze([]);

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
  readonly #frames = [new Map<string, FrameRef>(), new Map<string, FrameRef>()];
  readonly #unresolved = [new Map<string, FrameRef>(), new Map<string, FrameRef>()];
  readonly #elfs = new ElfCache();
  readonly #out: FrameRef[] = [];
  readonly #hasMap: boolean[] = [];
  readonly #unmapped: UnmappedResolver | undefined;
  readonly #own: OwnSymbols | undefined;

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
    const limit = attr.sampleMaxStack > 0 ? attr.sampleMaxStack : DEFAULT_MAX_STACK;
    const out = this.#out;
    const hasMap = this.#hasMap;
    out.length = 0;
    hasMap.length = 0;
    let truncated = false;
    const chain = sample.callchain;
    if (chain !== undefined) {
      const words = new Uint32Array(chain.buffer, chain.byteOffset, chain.length * 2);
      let cpumode = sampleMode;
      let entries = 0;
      let discarded = false;
      for (let i = 0; i < chain.length; i++) {
        const lo = words[2 * i];
        if (words[2 * i + 1] === MARKER_HI && lo >= ContextMarkerLo.MAX) {
          const next = markerCpuMode(lo, cpumode);
          if (next < 0) {
            discarded = true;
            break;
          }
          cpumode = next;
          continue;
        }
        entries++;
        if (out.length < this.#maxStack) this.#push(pid, cpumode, chain[i]);
      }
      if (discarded) {
        out.length = 0;
        hasMap.length = 0;
      }
      truncated = entries >= limit || entries > this.#maxStack;
    }
    return this.#finish(sample, sampleMode, pid, truncated);
  }

  /** The sample's own ip when nothing was pushed; the level of frames without a map. */
  #finish(sample: Sample, sampleMode: number, pid: number, truncated: boolean): ResolvedChain {
    const out = this.#out;
    const hasMap = this.#hasMap;
    if (out.length === 0) this.#push(pid, sampleMode, sample.ip ?? 0n);
    // Frames without a map print with the sample's own level (that of the first frame).
    const firstKernel = out[0].kernel;
    for (let i = 1; i < out.length; i++) {
      if (!hasMap[i] && out[i].kernel !== firstKernel) {
        out[i] = this.#frame(firstKernel, undefined, undefined, out[i].ip ?? 0n);
      }
    }
    return { frames: out.slice(), truncated };
  }

  #unwind(sample: Sample, attr: PerfEventAttr, pid: number): UnwoundChain {
    const spaces = this.#session.spaces;
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
    for (let i = 0; i < user.length; i++) {
      const nodes = inlines?.[i];
      if (nodes === undefined || nodes.length === 0) this.#push(pid, CpuMode.USER, user[i]);
      else this.#pushInlines(pid, user[i], nodes);
    }
    return this.#finish(sample, sampleMode, pid, unwound.truncated);
  }

  /** perf's `append_inlines`: one frame per node, at the entry's address, in the entry's dso. */
  #pushInlines(pid: number, ip: bigint, nodes: readonly InlineNode[]): void {
    const r = this.#session.symbolizer.resolve(this.#session.spaces, pid, ip, CpuMode.USER);
    const dso = r.map ? r.dso : undefined;
    for (const node of nodes) {
      this.#hasMap.push(true);
      this.#out.push(this.#frame(false, dso, node.sym, r.printedIp, node.inlined));
    }
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
    const table = sym === undefined ? this.#unresolved[level] : this.#frames[level];
    const key = sym === undefined
      ? `${dso ?? ""}\u0000${ip}`
      : `${dso ?? ""}\u0000${sym}${inlined ? "\u0000inlined" : ""}`;
    let f = table.get(key);
    if (f === undefined) {
      f = inlined ? { sym, dso, ip, kernel, inlined } : { sym, dso, ip, kernel };
      table.set(key, f);
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

/** A symbolized sample item: the frames, their truncation and the context told from them. */
function sampleItem(
  base: ResolvedSample,
  record: SampleRecord,
  { frames, truncated }: ResolvedChain,
): InputItem {
  const context = inferContext(frames);
  return { kind: "sample", sample: { ...base, frames, truncated, context }, record };
}

/** Turns decoded records into {@linkcode InputItem}s; shared by both input formats. */
class ItemMaker {
  readonly session: PerfSession;
  readonly lost: LostAccounting;
  readonly #chains: ChainResolver;
  readonly #info: InputInfo;
  readonly #prefilter: SamplePredicate | undefined;

  constructor(
    info: InputInfo,
    options: OpenRecordsOptions,
    lost: LostAccounting = emptyLost(),
    own?: OwnSymbols,
  ) {
    this.#info = info;
    this.lost = lost;
    this.session = new PerfSession(
      options.kallsyms ? { kallsyms: options.kallsyms } : {},
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

  /** The item of a record; a promise only while a DWARF sample's inline frames are looked up. */
  item(d: Decoded): InputItem | Promise<InputItem> {
    const record = d.record;
    if (record.type === RecordType.SAMPLE && "sample" in record) {
      const event = this.#info.events[d.event];
      const s = record.sample;
      const tid = s.tid ?? -1;
      const base = {
        frames: FRAMELESS,
        weight: s.period ?? 1,
        pid: s.pid ?? -1,
        tid,
        cpu: s.cpu ?? -1,
        comm: this.session.threads.comm(tid),
        time: s.time ?? 0,
        context: undefined as SampleContext | undefined,
        truncated: false,
        event: d.event,
        eventName: event?.name ?? "",
        period: s.period ?? 1,
        ip: s.ip ?? 0n,
        cpumode: record.misc & 7,
        offset: d.offset,
      };
      if (this.#prefilter && !this.#prefilter(base)) {
        return { kind: "filtered", sample: base, record };
      }
      const attr = event?.attr;
      if (attr === undefined) return { kind: "sample", sample: base, record };
      const chain = this.#chains.resolve(s, record.misc, attr);
      if (chain instanceof Promise) return chain.then((c) => sampleItem(base, record, c));
      return sampleItem(base, record, chain);
    }
    if (record.type === RecordType.LOST && "lost" in record) {
      this.lost.lostRecords += record.lost;
    } else if (record.type === RecordType.LOST_SAMPLES && "lost" in record) {
      this.lost.lostSamples += record.lost;
    } else {
      this.session.apply(record);
    }
    return { kind: "record", record, offset: d.offset, time: d.time };
  }
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
  const format = options.format ?? await detectInputFormat(path);
  return format === "capture" ? await openCapture(path, options) : await openPerf(path, options);
}

async function openPerf(path: string, options: OpenRecordsOptions): Promise<InputRecords> {
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
  async function* iterate(): AsyncGenerator<InputItem> {
    try {
      for await (const { record, event, offset, time } of file.records()) {
        if (event !== undefined && event.index >= info.events.length) syncEvents();
        else if (
          record.type === RecordType.HEADER_ATTR || record.type === RecordType.EVENT_UPDATE
        ) {
          syncEvents();
        }
        const item = m.item({ record, event: event?.index ?? -1, offset, time });
        yield item instanceof Promise ? await item : item;
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
    [Symbol.asyncIterator]: iterate,
  };
}

/** Records queued between the capture reader and the consumer before reading pauses. */
const CAPTURE_HIGH_WATER = 4096;

async function openCapture(path: string, options: OpenRecordsOptions): Promise<InputRecords> {
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
  async function* iterate(): AsyncGenerator<InputItem> {
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
    try {
      while (true) {
        if (queue.length > 0) {
          const batch = queue;
          queue = [];
          resumeProducer?.();
          resumeProducer = undefined;
          for (const rec of batch) {
            const d = decodeCaptureRecord(rec, format, idAll, byId, onExtension);
            if (d === undefined) continue;
            const item = maker.item(d);
            yield item instanceof Promise ? await item : item;
          }
          continue;
        }
        if (done) break;
        await new Promise<void>((r) => wakeConsumer = r);
      }
      if (failure !== undefined) throw failure;
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
  const filter = options.filter ? sampleFilter(options.filter) : undefined;
  // The context is told from symbols, which the prefilter runs before: it tests the rest.
  const prefilter = options.filter
    ? sampleFilter({ ...options.filter, context: undefined })
    : undefined;
  const input = await openRecords(path, { ...options, prefilter });
  const builders = new Map<number, ProfileBuilder>();
  const byWeight = options.weight === "samples";
  const builderFor = (event: number) => {
    let b = builders.get(event);
    if (b === undefined) {
      b = new ProfileBuilder({ filter, contextMarkers: options.contextMarkers });
      builders.set(event, b);
    }
    return b;
  };
  const totals = new Map<number, { samples: number; weight: number }>();
  let n = 0;
  const progress = options.onProgress;
  try {
    for await (const item of input) {
      if (item.kind === "record") continue;
      const s = item.sample;
      const sample = byWeight ? { ...s, weight: 1 } : s;
      if (builderFor(s.event).add(sample)) {
        let t = totals.get(s.event);
        if (t === undefined) totals.set(s.event, t = { samples: 0, weight: 0 });
        t.samples++;
        t.weight += sample.weight;
      }
      if (progress && (++n & 1023) === 0) progress(input.bytesRead, input.info.size);
    }
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
