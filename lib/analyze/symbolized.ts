/**
 * A recording as a stream of symbolized samples: the input layer's records
 * ({@linkcode openInput}), each sample's callchain resolved by a
 * {@linkcode ChainResolver}, other records passed on after the input applied
 * them. {@linkcode openRecords} iterates it; the profile loader drives its
 * fast path (samples whose chain is cached are taken from their bytes without
 * being decoded, handed on as one reused object with a number naming their
 * frames).
 *
 * @module
 */

import {
  CpuMode,
  type PerfRecord,
  ReadWarning,
  RecordType,
  SampleLayout,
  type SampleRecord,
  SampleType,
} from "../abi/mod.ts";
import { inferContext } from "./context.ts";
import type { PerfDataEvent } from "../perfdata/evlist.ts";
import type { RawRecord } from "../perfdata/reader.ts";
import { type ReadDelivery, SampleReadSplitter } from "../perfdata/sample_read.ts";
import { HeaderFeature } from "../perfdata/features.ts";
import { getU64 } from "../abi/u64.ts";
import type { ExtensionRecord } from "../input/capture_input.ts";
import type { InputFormat } from "../input/format.ts";
import type { LostAccounting } from "../input/loss.ts";
import { type Input, type InputInfo, openInput } from "../input/open.ts";
import { type SamplePredicate } from "./filter.ts";
import { type FrameRef, type SampleContext, type StackSample } from "./profile.ts";
import type { SymbolSourceOptions } from "./buildid_cache.ts";
import { type PerfSession, sessionFor } from "./session.ts";
import { DEFAULT_MAX_STACK } from "./unwind.ts";
import { type ResolvedChain } from "./chain_cache.ts";
import {
  type BranchPair,
  ChainResolver,
  type OwnSymbols,
  type UnmappedResolver,
} from "./chains.ts";

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
  /** In branch mode ({@linkcode OpenRecordsOptions.branchMode}): the branch-stack entry. */
  readonly branch?: BranchPair;
  /** The PERF_SAMPLE_RAW bytes (a tracepoint's payload), when the sample has them. */
  readonly raw?: Uint8Array;
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
  /**
   * `--call-graph dwarf`: user entries unwound per sample (default `maxStack`);
   * the kernel part of such chains keeps `maxStack`.
   */
  userMaxStack?: number;
  /** Read granularity of perf.data input in bytes (default 1 MiB). */
  chunkSize?: number;
  /** Called for each reader warning as it happens. */
  onWarning?: (warning: ReadWarning) => void;
  /**
   * Samples for which this returns false are yielded as `kind: "filtered"`
   * without symbolizing them. It sees the sample with empty `frames`.
   */
  prefilter?: SamplePredicate;
  /** Resolve symbols (default true); false leaves frames with addresses only. */
  symbolize?: boolean;
  /**
   * One frame per (symbol, runtime address) rather than one per symbol, each
   * frame's `ip` the address as recorded (pprof's per-address locations).
   * Default false: perf's function-level frames.
   */
  perAddress?: boolean;
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
   * perf report's branch mode (`--branch-stack`, the default for recordings
   * with the BRANCH_STACK feature): each branch-stack entry of a sample is
   * one sample of weight 1 whose only frame is the branch target (perf's
   * `iter_add_next_branch_entry`). `"auto"`: when the recording has that
   * feature. Default false. Applies to {@linkcode InputRecords.drive}.
   */
  branchMode?: boolean | "auto";
  /**
   * EXTENSION POINT (captures): called with every callring extension record
   * (type 0x4c00-0x4cff) the capture reader delivers, e.g. the simulator's
   * `CALLRING_SYMBOL` records, before the records that follow it are resolved.
   */
  onExtensionRecord?: (record: ExtensionRecord) => void;
  /**
   * One time window (ns, inclusive) whose samples the caller keeps: a capture is then read with
   * `CaptureReader.readWindow` (first drain round, side-band chunks, seek, the window) instead of
   * end to end. Other inputs ignore it.
   */
  timeWindow?: { start: number; end: number };
  /**
   * EXTENSION POINT: names an address that no MMAP covers (a simulator's own
   * symbol table). Consulted only for addresses without a map; return
   * undefined to leave the frame unresolved.
   */
  resolveUnmapped?: UnmappedResolver;
}

/** An open input: async-iterate it once for its records. */
export interface InputRecords extends AsyncIterable<InputItem> {
  /** Header information. */
  readonly info: InputInfo;
  /** Warnings so far (reader truncation, damage, unknown records). */
  readonly warnings: readonly ReadWarning[];
  /** Loss accounting so far. */
  readonly lost: LostAccounting;
  /** Bytes read from the input so far. */
  readonly bytesRead: number;
  /** Threads and maps built from the side-band records read so far. */
  readonly session: PerfSession;
  /** Whether samples are delivered per branch-stack entry ({@linkcode OpenRecordsOptions.branchMode}). */
  readonly branchMode: boolean;
  /** Release the input (also done when iteration ends). */
  close(): void;
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
export type MutableSample = { -readonly [K in keyof ResolvedSample]: ResolvedSample[K] };

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
  branch: BranchPair | undefined = undefined;
  raw: Uint8Array | undefined = undefined;
  trace: string | undefined = undefined;
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
export type SampleSink = (sample: ResolvedSample, framesKey: number) => void;

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
export class ItemMaker {
  readonly session: PerfSession;
  readonly lost: LostAccounting;
  readonly #chains: ChainResolver;
  readonly #info: InputInfo;
  readonly #prefilter: SamplePredicate | undefined;
  readonly #scratch = new ScratchSample();
  /** PERF_SAMPLE_READ samples: one delivery per read value, as perf's session does. */
  readonly #reads: SampleReadSplitter;
  /** Whether samples are delivered per branch-stack entry (perf report's branch mode). */
  readonly branchMode: boolean;
  #layoutFormat: PerfDataEvent["format"] | undefined;
  #layout: SampleLayout | undefined;

  constructor(
    info: InputInfo,
    options: OpenRecordsOptions,
    session: PerfSession,
    lost: LostAccounting,
    own?: OwnSymbols,
  ) {
    this.#info = info;
    this.lost = lost;
    this.session = session;
    this.#chains = new ChainResolver(
      this.session,
      options.symbolize ?? true,
      options.inline ?? true,
      options.maxStack ?? DEFAULT_MAX_STACK,
      options.resolveUnmapped,
      own,
      options.perAddress ?? false,
      options.userMaxStack,
    );
    this.#prefilter = options.prefilter;
    this.#reads = new SampleReadSplitter(() => info.events);
    this.branchMode = options.branchMode === "auto"
      ? (info.perf?.features ?? []).includes(HeaderFeature.BRANCH_STACK)
      : options.branchMode === true;
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
      raw: s.raw,
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
    t.raw = s.raw;
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
    // PERF_SAMPLE_READ samples are split per read value: decoded, by feed
    if (attr === undefined || (attr.sampleType & SampleType.READ) !== 0) return false;
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
    t.raw = undefined; // (simple formats have no RAW)
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
    withChain(t, chain);
    if (layout.ip >= 0 && chain.leafHi !== undefined) {
      const at = s + layout.ip;
      if (
        view.getUint32(at, true) !== chain.leafLo || view.getUint32(at + 4, true) !== chain.leafHi
      ) {
        t.selfFrame = this.#chains.selfAt(pid, t.ip, mode);
      }
    }
    sink(t, chain.key ?? -1);
    return true;
  }

  /** Forget what a non-sample record (already applied by the input) may have changed. */
  #side(record: PerfRecord): void {
    const type = record.type;
    if (type === RecordType.LOST || type === RecordType.LOST_SAMPLES || CHAIN_NEUTRAL.has(type)) {
      return;
    }
    // A process's own maps changed: only its chains resolve anew (kernel maps: all).
    if ((type === RecordType.MMAP || type === RecordType.MMAP2) && "pid" in record) {
      const mode = record.misc & 7;
      const user = record.pid !== -1 && record.pid !== 0xffffffff && mode === CpuMode.USER;
      if (user) return this.#chains.invalidateProcess(record.pid);
    } else if (type === RecordType.FORK && "pid" in record) {
      return this.#chains.invalidateProcess(record.pid);
    }
    this.#chains.invalidate();
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
        return chain.then((c) => ({
          kind: "sample",
          sample: this.#precise(withChain(sample, c), c, record),
          record,
        }));
      }
      return {
        kind: "sample",
        sample: this.#precise(withChain(sample, chain), chain, record),
        record,
      };
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
    if (this.branchMode) return this.#branches(record, sample, sink);
    const chain = this.#chains.resolve(record.sample, record.misc, attr);
    if (chain instanceof Promise) {
      return chain.then((c) =>
        this.#deliver(record, event, this.#precise(withChain(sample, c), c, record), -1, sink)
      );
    }
    const s = this.#precise(withChain(sample, chain), chain, record);
    this.#deliver(record, event, s, chain.key ?? -1, sink);
  }

  /**
   * perf's self entry is the sample's ip (`al`), whatever the callchain: where
   * the leaf frame came from another address (a precise event's ip beside the
   * interrupted one, a DWARF sample's unwound user leaf under a kernel ip), the
   * sample's ip resolved in its cpumode carries the self weight.
   */
  #precise(sample: MutableSample, chain: ResolvedChain, record: SampleRecord): MutableSample {
    const ip = record.sample.ip;
    if (ip === undefined || chain.leafIp === undefined || ip === chain.leafIp) return sample;
    sample.selfFrame = this.#chains.selfAt(sample.pid, ip, record.misc & 7);
    return sample;
  }

  /**
   * perf's `perf_evlist__deliver_sample`: a PERF_SAMPLE_READ sample once per
   * read value, to the value's event, with the period its counter advanced
   * by (values that did not advance are not delivered).
   * @param record The sample record.
   * @param event Index of its event.
   * @returns undefined for samples without PERF_SAMPLE_READ, else the deliveries.
   */
  readDeliveries(record: SampleRecord, event: number): ReadDelivery[] | undefined {
    const ev = this.#info.events[event];
    return ev === undefined ? undefined : this.#reads.split(ev, record.sample);
  }

  /** Branch mode: one sample of weight 1 per branch-stack entry, its target the only frame. */
  #branches(record: SampleRecord, sample: MutableSample, sink: SampleSink): void {
    const entries = record.sample.branchStack?.entries;
    if (entries === undefined) return;
    const mode = record.misc & 7;
    // "we use a pseudo period of 1": the report counts branches, not samples
    sample.weight = sample.period = 1;
    sample.truncated = false;
    sample.context = undefined;
    sample.selfFrame = undefined;
    for (let i = 0; i + 2 < entries.length; i += 3) {
      sample.frames = [this.#chains.branchTarget(sample.pid, entries[i + 1], mode)];
      sample.branch = {
        from: this.#chains.branchEnd(sample.pid, entries[i]),
        to: this.#chains.branchEnd(sample.pid, entries[i + 1]),
        // struct branch_flags: mispred, predicted, in_tx, abort (a bit each), cycles (16 bits)
        cycles: Number((entries[i + 2] >> 4n) & 0xffffn),
      };
      sink(sample, -1);
    }
    sample.branch = undefined;
  }

  /** Read values whose id names no event: not delivered (perf's `nr_unknown_id`). */
  get unknownReadIds(): number {
    return this.#reads.unknownIds;
  }

  #deliver(
    record: SampleRecord,
    event: number,
    sample: MutableSample,
    key: number,
    sink: SampleSink,
  ): void {
    const deliveries = this.readDeliveries(record, event);
    if (deliveries === undefined) return sink(sample, key);
    for (const d of deliveries) {
      sample.event = d.event.index;
      sample.eventName = d.event.name;
      sample.weight = sample.period = d.period;
      sink(sample, key);
    }
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
 * import { openRecords } from "./symbolized.ts";
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
  return await openSymbolized(path, options);
}

/** An open input plus the fast path {@linkcode loadProfile} reads it through. */
export interface SymbolizedInput extends InputRecords {
  /**
   * Read the whole input once instead of iterating it: samples go to `sink`
   * as one reused object, other records are applied as iteration would.
   */
  drive(sink: SampleSink): Promise<void>;
}

/** The input layer's records, symbolized by one {@linkcode ItemMaker}. */
export async function openSymbolized(
  path: string,
  options: OpenRecordsOptions,
): Promise<SymbolizedInput> {
  let maker: ItemMaker | undefined;
  const input: Input = await openInput(path, {
    format: options.format,
    timeWindow: options.timeWindow,
    chunkSize: options.chunkSize,
    onWarning: options.onWarning,
    onExtensionRecord: (record) => {
      // The capture's own symbol table grew: chains resolve anew.
      if (record.type === RecordType.CALLRING_SYMBOL) maker?.invalidate();
      options.onExtensionRecord?.(record);
    },
  });
  const session = sessionFor(input, options);
  const own = input.symbols;
  const m = maker = new ItemMaker(
    input.info,
    options,
    session,
    input.lost,
    own !== undefined ? (ip) => own.size > 0 ? own.resolve(ip) : undefined : undefined,
  );
  let closed = false;
  const close = () => {
    if (!closed) {
      input.close();
      void session.close(); // an iteration's end awaits it
    }
    closed = true;
  };
  async function* iterate(): AsyncGenerator<InputItem> {
    try {
      for await (const { record, event, offset, time } of input.records()) {
        const made = m.item({ record, event: event?.index ?? -1, offset, time });
        const item = made instanceof Promise ? await made : made;
        const deliveries = item.kind === "sample"
          ? m.readDeliveries(item.record, event?.index ?? -1)
          : undefined;
        if (item.kind !== "sample" || deliveries === undefined) {
          yield item;
          continue;
        }
        for (const d of deliveries) {
          const sample = { ...item.sample, weight: d.period, period: d.period };
          yield { ...item, sample: { ...sample, event: d.event.index, eventName: d.event.name } };
        }
      }
    } finally {
      close();
      await session.close(); // ends the addr2line subprocesses
    }
  }
  async function drive(sink: SampleSink): Promise<void> {
    try {
      // Records one by one through a reused view: samples whose callchain was
      // resolved before are taken from their bytes, never decoded.
      await input.forEachRecord((r: RawRecord) => {
        if (r.decoded === undefined && m.feedRaw(r, sink)) return;
        return m.feed(r.record(), r.event?.index ?? -1, r.fileOffset, sink);
      });
    } finally {
      close();
      await session.close(); // ends the addr2line subprocesses
    }
  }
  return {
    info: input.info,
    get warnings() {
      return input.warnings;
    },
    lost: input.lost,
    get bytesRead() {
      return input.bytesRead;
    },
    session,
    branchMode: m.branchMode,
    close,
    drive,
    [Symbol.asyncIterator]: iterate,
  };
}
