/**
 * `perf script` over a perf.data file: read records in perf's order, track
 * threads and maps, check the requested fields against each event, and
 * print every sample.
 *
 * Inline frames: like perf 6.1 (whose `append_inlines` runs only in the
 * DWARF unwinder's `unwind_entry`), the user frames of `--call-graph dwarf`
 * samples are expanded through `addr2line -i -f` (see
 * {@linkcode PerfSession.inlineNodes}); inlined functions print with
 * ` (inlined)` and without their dso. Frame-pointer and kernel entries are
 * never expanded, so inputs without user-stack copies start no addr2line.
 * When `addr2line` (binutils) cannot be started, or a DSO has no
 * `.debug_line`, frames print unexpanded, as perf does then.
 *
 * @module
 */

import {
  ChainWalk,
  getU64,
  PerfContext,
  ReadWarning,
  RecordType,
  type Sample,
  sampleIdAll,
  SampleLayout,
  SampleType,
} from "../abi/mod.ts";
import type { InlineNode } from "../analyze/inlines.ts";
import { CPUMODE_USER } from "../input/maps.ts";
import { ElfCache, unwinderRegistered, unwindUser } from "../analyze/unwind.ts";
import { lbrCallchain } from "../analyze/lbr.ts";
import type { PerfDataEvent } from "../perfdata/evlist.ts";
import { type PerfSession, sessionFor } from "../analyze/session.ts";
import type { RawRecord, ReadOptions } from "../perfdata/reader.ts";
import type { CaptureSymbols } from "../input/capture_symbols.ts";
import { type Input, openInput } from "../input/open.ts";
import { detectInputFormat, type InputFormat } from "../input/format.ts";
import { CaptureReader } from "../capture/reader.ts";
import {
  needsSampleSpan,
  parsePerfTime,
  type PerfTime,
  perfTimeKeeps,
  type SampleTimeSpan,
  singleWindow,
} from "../analyze/perf_time.ts";
import { TracepointPrinter } from "./tracepoint_print.ts";
import { PerfHeaderInputError, perfHeaderOutputText } from "./perf_header_print.ts";
import type { PerfDataInfo } from "../perfdata/header.ts";
import { hasTimeOptions, ScriptClock, type ScriptTimeOptions } from "./script_time.ts";
import {
  auxtraceErrorText,
  type ScriptEventOptions,
  showsRecordType,
  sideBandText,
} from "./script_events.ts";
import { hasScriptFilter, type ScriptFilterOptions, ScriptSampleFilter } from "./script_filter.ts";
import { SampleReadSplitter } from "../perfdata/sample_read.ts";
import type { SymbolSourceOptions } from "../analyze/buildid_cache.ts";
import type { AddressResolver, ResolvedAddress } from "../analyze/resolver.ts";
import {
  checkScriptFields,
  enablePipeCallchainFields,
  enableTracepointCallchainFields,
  type InlineExpansion,
  parseScriptFields,
  type ScriptFields,
  scriptFieldsFor,
  ScriptOutput,
  ScriptOutputType,
  scriptOutputType,
  ScriptPrinter,
  ScriptSampleFields,
  type ScriptSrclines,
} from "./perf_script.ts";

/** Options of {@linkcode runPerfScript}. */
export interface RunScriptOptions {
  /** perf script's `-F` argument; undefined for perf's defaults. */
  fields?: string;
  /** Largest number of callchain entries per sample (default 127). */
  maxStack?: number;
  /** Hide callchains (perf's `-G`). */
  hideCallGraph?: boolean;
  /** kallsyms file for kernel symbols (default /proc/kallsyms). */
  kallsyms?: string;
  /** Where symbols come from (perf's `--symfs`, `--vmlinux`, build-id cache). */
  symbols?: SymbolSourceOptions;

  /** perf script's sample filters (`--time`, `--cpu`, `--pid`, `--tid`, `--comms`). */
  filter?: ScriptFilterOptions;

  /** perf script's `--show-task-events`, `--show-mmap-events`, `--show-switch-events`. */
  events?: ScriptEventOptions;

  /** perf script's `--ns`, `--reltime`, `--deltatime`. */
  time?: ScriptTimeOptions;

  /** Reader options (chunk size, warnings). */
  read?: ReadOptions;
  /**
   * Captures only: perf script's `--time` read through the capture's time index
   * (absolute windows and percent slices, `perf_time.ts`): only samples inside are printed,
   * and one window is read with `CaptureReader.readWindow`; percent slices take the first and
   * last sample times from the first and last drain rounds. perf.data inputs ignore it
   * (`filter.time` filters them as perf does).
   */
  captureTime?: string;
  /**
   * Captures only (callring's extension, perf has no such option): print the samples newest
   * first, each with the threads and maps of its time (`CaptureReader.readReverse`).
   */
  reverse?: boolean;
  /**
   * perf's `--header` (`"header"`: the header block, then the samples) or
   * `--header-only` (`"only"`); perf.data inputs only.
   */
  header?: "header" | "only";
  /**
   * perf's `-I` / `--show-info`: the topologies in full in the header, and in pipe
   * mode the features print (as their records arrive) even without `--header`.
   */
  showInfo?: boolean;
  /** Expand DWARF-unwound user frames into inline frames (default true; false is perf's `--no-inline`). */
  inline?: boolean;
  /** The addr2line program for inline frames (default `addr2line` from PATH). */
  addr2line?: string;
  /**
   * Receives output text in order (in chunks of about 1 MiB). One of
   * `write` and `writeBytes` is required.
   */
  write?: (text: string) => void;
  /**
   * Receives the output as UTF-8 bytes in order, instead of `write` (no
   * decoding); a chunk is valid only during the call.
   */
  writeBytes?: (bytes: Uint8Array) => void;
}

/** What a run printed and found. */
export interface ScriptRunSummary {
  /** Samples printed. */
  samples: number;
  /** Records read in total. */
  records: number;
  /** Records lost according to PERF_RECORD_LOST / LOST_SAMPLES. */
  lost: number;
  /** Reader warnings (truncation, unknown records, ...). */
  warnings: ReadWarning[];
  /** Bytes read from the input (the sample-time lookup of a percent `--time` included). */
  bytesRead: number;
  /** The input's format. */
  format: InputFormat;
  /** The input's size in bytes, when known. */
  inputSize: number | undefined;
}

/**
 * Print the samples of a perf.data file (or a callring capture) as `perf script` does.
 *
 * @param path The perf.data path, `-` for stdin, or a callring capture (told by its magic).
 * @param options Fields and output.
 * @returns A summary.
 * @throws {import("./perf_script.ts").ScriptFieldError} When a field cannot be printed.
 * @throws {import("../abi/mod.ts").FormatError} When the input is malformed.
 *
 * @example
 * ```ts ignore
 * import { runPerfScript } from "./script_run.ts";
 * await runPerfScript("perf.data", { fields: "comm,tid,ip", write: (s) => console.log(s) });
 * ```
 */
export async function runPerfScript(
  path: string,
  options: RunScriptOptions,
): Promise<ScriptRunSummary> {
  const read = options.read ?? {};
  const format = path === "-" ? "perf.data" : await detectInputFormat(path);
  let time: PerfTime | undefined;
  let window: { start: number; end: number } | undefined;
  let spanBytes = 0;
  if (options.captureTime !== undefined && format === "capture") {
    // the sample times a percent slice needs, and whether the samples carry a time to seek by
    const reader = await CaptureReader.open(path);
    try {
      let span: SampleTimeSpan | undefined;
      if (needsSampleSpan(options.captureTime)) {
        const t = await reader.sampleTimes();
        spanBytes = t?.bytesRead ?? 0;
        span = t;
      }
      time = parsePerfTime(options.captureTime, span, path);
      if (reader.format.sampleType & SampleType.TIME) window = singleWindow(time);
    } finally {
      reader.close();
    }
  }
  const input = await openInput(path, {
    format,
    ordered: read.ordered,
    chunkSize: read.chunkSize,
    onWarning: read.onWarning,
    timeWindow: window,
    reverse: options.reverse,
  });
  try {
    // a capture's --time is the window above; the filter keeps the other selections
    const opts = time !== undefined && options.filter?.time !== undefined
      ? { ...options, filter: { ...options.filter, time: undefined } }
      : options;
    if (options.header !== undefined && input.info.format !== "perf.data") {
      throw new PerfHeaderInputError(
        `--header${options.header === "only" ? "-only" : ""}: ${path} is a ${input.info.format} ` +
          "input, which has no perf.data header",
      );
    }
    const headerText = input.info.format === "perf.data" &&
        (options.header !== undefined || (options.showInfo && input.info.pipe))
      ? perfHeaderOutput(input.info.perf, path, options)
      : undefined;
    if (options.header === "only") {
      const { sink, end } = outputSink(options);
      sink(new TextEncoder().encode(headerText!));
      end();
      return {
        samples: 0,
        records: 0,
        lost: 0,
        warnings: [...input.warnings],
        bytesRead: input.bytesRead,
        format: input.info.format,
        inputSize: input.info.size,
      };
    }
    const summary = await printRecords(input, opts, time, headerText);
    summary.bytesRead += spanBytes;
    return summary;
  } finally {
    input.close();
  }
}

/** A capture's own symbols first (simulated machines), then the session's maps and kallsyms. */
function withOwnSymbols(
  own: CaptureSymbols | undefined,
  resolver: AddressResolver,
): AddressResolver {
  if (own === undefined) return resolver;
  return {
    resolve: (pid, tid, cpumode, addr): ResolvedAddress | undefined => {
      const s = own.size > 0 ? own.lookup(addr) : undefined;
      if (s === undefined) return resolver.resolve(pid, tid, cpumode, addr);
      return { mapIp: addr, sym: s.name, symoff: addr - s.start, dso: s.dso };
    },
  };
}

/** The output sink: bytes as they are, or text decoded in order for `write`. */
function outputSink(options: RunScriptOptions): {
  sink: (bytes: Uint8Array) => void;
  end: () => void;
} {
  if (options.writeBytes) return { sink: options.writeBytes, end: () => {} };
  const write = options.write;
  if (!write) throw new TypeError("runPerfScript needs a write or writeBytes option");
  const decoder = new TextDecoder();
  return {
    sink: (bytes) => write(decoder.decode(bytes, { stream: true })),
    end: () => {
      const rest = decoder.decode();
      if (rest) write(rest);
    },
  };
}

/**
 * The header text `--header` / `--header-only` / `-I` print before the samples (pipe
 * mode: the features too, which perf prints as their records arrive, before any sample).
 */
function perfHeaderOutput(info: PerfDataInfo, path: string, options: RunScriptOptions): string {
  const out = perfHeaderOutputText(info, path, {
    header: options.header,
    full: options.showInfo === true,
  });
  for (const w of out.warnings) {
    options.read?.onWarning?.(new ReadWarning("unsupported", `${path}: ${w}`));
  }
  return out.text;
}

async function printRecords(
  input: Input,
  options: RunScriptOptions,
  time: PerfTime | undefined,
  headerText?: string,
): Promise<ScriptRunSummary> {
  const request: ScriptFields = parseScriptFields(options.fields);
  const { sink, end } = outputSink(options);
  if (headerText !== undefined) sink(new TextEncoder().encode(headerText));
  const session = sessionFor(input, { ...options, onWarning: options.read?.onWarning });
  const inline = options.inline ?? true;
  // perf keeps one field selection per output type (`output[type]`), checked
  // against the first event of the type.
  const clock = hasTimeOptions(options.time) ? new ScriptClock(options.time!) : undefined;
  const byType = new Map<number, { selection: ScriptFields; printer: ScriptPrinter }>();
  const nameWidth = () => Math.max(0, ...input.info.events.map((e) => e.name.length));
  const useCallchain = () =>
    !options.hideCallGraph &&
    (input.info.pipe || input.info.events.some((e) => recordsCallchains(e)));
  const typeOf = (ev: PerfDataEvent) => {
    const ot = scriptOutputType(ev.attr.type);
    let t = byType.get(ot);
    if (t === undefined) {
      const selection = scriptFieldsFor(request, ev.attr.type);
      const withSymbols = () =>
        selection.fields.has("sym") || selection.fields.has("dso") ||
        selection.fields.has("brstacksym");
      const printer = new ScriptPrinter(
        selection,
        withOwnSymbols(input.symbols, session.resolver(withSymbols)),
        { maxStack: options.maxStack ?? 127, eventNameWidth: nameWidth(), clock },
      );
      t = { selection, printer };
      byType.set(ot, t);
      checkScriptFields(selection, ev.attr, ev.name);
      if (
        ot === ScriptOutputType.TRACEPOINT && useCallchain() &&
        input.info.events.some((e) =>
          e.attr.type === ev.attr.type && (e.attr.sampleType & SampleType.CALLCHAIN) !== 0
        )
      ) enableTracepointCallchainFields(selection);
      printer.refresh();
    }
    return t;
  };
  const checked = new Set<number>();
  const check = () => {
    for (const ev of input.info.events) {
      if (checked.has(ev.index)) continue;
      checked.add(ev.index);
      const t = typeOf(ev);
      if (input.info.pipe && !options.hideCallGraph && recordsCallchains(ev)) {
        enablePipeCallchainFields(t.selection);
        t.printer.refresh();
      }
    }
  };
  check();
  const printerOf = (ev: PerfDataEvent) => typeOf(ev).printer;
  let tracepoints: TracepointPrinter | undefined;
  const traceText = (ev: PerfDataEvent, raw: Uint8Array): string | undefined => {
    if (scriptOutputType(ev.attr.type) !== ScriptOutputType.TRACEPOINT) return undefined;
    const data = input.info.perf.tracingData;
    if (data === undefined) {
      untraced++;
      return undefined;
    }
    tracepoints ??= new TracepointPrinter(data, (addr) => session.kernelSymbol(addr));
    return tracepoints.format(Number(ev.attr.config), raw);
  };
  let untraced = 0;
  const summary: ScriptRunSummary = {
    samples: 0,
    records: 0,
    lost: 0,
    warnings: [],
    bytesRead: 0,
    format: input.info.format,
    inputSize: input.info.size,
  };
  const elfCache = new ElfCache({ resolvePath: (f) => session.symbolizer.dataPath(f) });
  const maxStack = options.maxStack ?? 127;
  const out = new ScriptOutput(sink);
  const fields = new ScriptSampleFields();
  const layouts: (SampleLayout | undefined)[] = [];
  const filter = hasScriptFilter(options.filter)
    ? new ScriptSampleFilter(
      options.filter!,
      input.info.events,
      input.info.perf.sampleTime,
      input.info.format === "capture" ? undefined : {
        nrCpus: input.info.perf.pipe ? 0 : input.info.perf.nrCpusAvailable ?? 0,
        pipe: input.info.perf.pipe,
      },
    )
    : undefined;
  let filteredOut = 0;
  const symbolResolver = filter?.bySymbol
    ? withOwnSymbols(input.symbols, session.resolver(true))
    : undefined;
  const keepSymbol = (pid: number, tid: number, misc: number, ip: bigint) =>
    filter!.keepSymbol(symbolResolver!.resolve(pid, tid, misc & 7, ip));

  /** A decoded sample: DWARF unwinding and inline frames when the event has user stacks. */
  const printDecoded = async (
    sample: Sample,
    misc: number,
    event: PerfDataEvent,
    hasCallchain: boolean,
  ) => {
    let s = sample;
    const tid = s.tid ?? -1;
    let inlines: InlineExpansion | undefined;
    let plainFrom: number | undefined;
    // --call-graph lbr: the user part comes from the branch stack
    const lbr = lbrCallchain(s, event.attr, maxStack);
    if (lbr !== undefined) s = { ...s, callchain: lbr };
    if (s.regsUser && s.stackUser && s.regsUser.abi !== 0 && hasDwarfStack(event)) {
      const unwound = withUnwoundUserStack(s, event, session, elfCache, maxStack);
      s = unwound.sample;
      plainFrom = unwound.userStart;
      // Only a printed callchain shows inline frames (not -G, not without ip).
      if (inline && hasCallchain && typeOf(event).selection.fields.has("ip")) {
        inlines = await inlineExpansion(
          session,
          s.pid ?? -1,
          s.callchain!,
          unwound.userStart,
          typeOf(event).selection.fields.has("srcline"),
        );
      }
    }
    if (s.period === undefined) s = { ...s, period: event.attr.samplePeriod };
    const t = typeOf(event);
    const p = t.printer;
    const trace = s.raw !== undefined && t.selection.fields.has("trace")
      ? traceText(event, s.raw)
      : undefined;
    const srclines = t.selection.fields.has("srcline")
      ? await sampleSrclines(
        session,
        s,
        misc,
        hasCallchain && t.selection.fields.has("ip"),
        inlines,
        plainFrom,
      )
      : undefined;
    // Unwound frames print through format(): they are never context markers.
    if (inlines !== undefined || plainFrom !== undefined || srclines !== undefined) {
      const comm = session.threads.comm(tid);
      const struct = (event.attr.sampleType & SampleType.WEIGHT_STRUCT) !== 0;
      out.text(
        p.format(
          s,
          misc,
          comm,
          event.name,
          hasCallchain,
          inlines,
          trace,
          plainFrom,
          struct,
          srclines,
        ),
      );
    } else {
      const f = fields.fromSample(s, misc);
      f.traceText = trace;
      f.weightStruct = (event.attr.sampleType & SampleType.WEIGHT_STRUCT) !== 0;
      p.print(out, f, session.threads.comm(tid), event.name, hasCallchain);
    }
  };

  // The comm of the last thread printed, valid until a COMM or FORK is applied.
  let commEpoch = 0, lastEpoch = -1, lastTid = 0, lastComm = "";
  // newest first, the input replays the side-band without visiting it: no cache then
  const reverse = options.reverse === true;
  const commOf = (tid: number): string => {
    if (reverse) return session.threads.comm(tid);
    if (tid !== lastTid || lastEpoch !== commEpoch) {
      lastComm = session.threads.comm(tid);
      lastTid = tid;
      lastEpoch = commEpoch;
    }
    return lastComm;
  };

  /** A sample left undecoded by the reader: printed straight from its bytes. */
  const printRaw = (r: RawRecord, event: PerfDataEvent, hasCallchain: boolean) => {
    let l = layouts[event.index];
    if (l === undefined || l.format.sampleType !== event.format.sampleType) {
      l = layouts[event.index] = SampleLayout.of(event.format);
    }
    const view = r.view, at = r.offset;
    const f = fields;
    f.misc = r.misc;
    if (l.tid >= 0) {
      f.pid = view.getInt32(at + l.tid, true);
      f.tid = view.getInt32(at + l.tid + 4, true);
    } else f.pid = f.tid = -1;
    if (l.ip >= 0) {
      f.ipLo = view.getUint32(at + l.ip, true);
      f.ipHi = view.getUint32(at + l.ip + 4, true);
    } else f.ipLo = f.ipHi = 0;
    f.time = l.time >= 0 ? getU64(view, at + l.time) : 0;
    f.cpu = l.cpu >= 0 ? view.getUint32(at + l.cpu, true) : 0;
    // perf's evsel__parse_sample: attr.sample_period unless the sample has PERIOD.
    f.period = l.period >= 0 ? getU64(view, at + l.period) : event.attr.samplePeriod;
    if (l.addr >= 0) {
      f.addrLo = view.getUint32(at + l.addr, true);
      f.addrHi = view.getUint32(at + l.addr + 4, true);
    } else f.addrLo = f.addrHi = 0;
    if (l.hasCallchain) {
      f.hasChain = true;
      f.chainView = view;
      f.chainNr = view.getUint32(at + l.callchain, true);
      f.chainAt = at + l.callchain + 8;
    } else {
      f.hasChain = false;
      f.chainNr = 0;
    }
    f.traceText = undefined;
    if (
      filter !== undefined &&
      (!filter.keep(f.time, f.cpu, f.pid, f.tid, () => commOf(f.tid)) ||
        (symbolResolver !== undefined &&
          !keepSymbol(f.pid, f.tid, f.misc, (BigInt(f.ipHi) << 32n) | BigInt(f.ipLo))))
    ) {
      filteredOut++;
      return;
    }
    printerOf(event).print(out, f, commOf(f.tid), event.name, hasCallchain);
  };

  const callchains = (event: PerfDataEvent) =>
    !options.hideCallGraph && (event.attr.sampleType & SampleType.CALLCHAIN) !== 0;

  const ev = options.events;
  const shown = ev !== undefined && (ev.task || ev.mmap || ev.switches) ? ev : undefined;
  /** perf's `print_event_with_time`: the sample-style start, then `perf_event__fprintf`. */
  const printSideBand = (r: RawRecord, event: PerfDataEvent) => {
    const rec = r.record();
    const text = sideBandText(rec);
    if (text === undefined) return;
    if (!checked.has(event.index)) check();
    const own = "pid" in rec && "tid" in rec ? { pid: rec.pid, tid: rec.tid } : undefined;
    let pid: number, tid: number, cpu: number, time: number;
    if (sampleIdAll(event.attr)) {
      const id = rec.sampleId ?? {};
      pid = id.pid ?? -1;
      tid = id.tid ?? -1;
      cpu = id.cpu ?? -1;
      time = id.time ?? 0;
    } else {
      pid = own?.pid ?? -1;
      tid = own?.tid ?? -1;
      cpu = 0;
      time = "time" in rec ? rec.time : 0;
    }
    if (filter !== undefined && !filter.keepCpu(cpu)) return;
    // The thread is the record's own for task and mmap records, the sample's for switches.
    const threadTid = own?.tid ?? tid;
    const comm = threadTid === -1 ? ":-1" : session.threads.comm(threadTid);
    out.text(typeOf(event).printer.startText(comm, pid, tid, cpu, time, callchains(event)) + text);
  };

  // PERF_SAMPLE_READ: one line per read value that advanced, as perf delivers them.
  const reads = new SampleReadSplitter(() => input.info.events);
  const printSample = async (sample: Sample, misc: number, event: PerfDataEvent) => {
    // perf splits READ values first (the counters advance), then filters each delivery.
    const deliveries = reads.split(event, sample);
    if (
      filter !== undefined &&
      (!filter.keep(
        sample.time ?? 0,
        sample.cpu ?? -1,
        sample.pid ?? -1,
        sample.tid ?? -1,
        () => session.threads.comm(sample.tid ?? -1),
      ) ||
        (symbolResolver !== undefined &&
          !keepSymbol(sample.pid ?? -1, sample.tid ?? -1, misc, sample.ip ?? 0n)))
    ) {
      filteredOut++;
      return;
    }
    if (deliveries === undefined) return printDecoded(sample, misc, event, callchains(event));
    for (const d of deliveries) {
      if (!checked.has(d.event.index)) check();
      await printDecoded({ ...sample, period: d.period }, misc, d.event, callchains(d.event));
    }
  };

  try {
    await input.forEachRecord((r) => {
      summary.records++;
      if (r.type === RecordType.SAMPLE) {
        const event = r.event;
        if (!event) return;
        // perf script's first test of a sample (process_sample_event)
        if (time !== undefined && !perfTimeKeeps(time, r.time ?? 0)) return;
        if (!checked.has(event.index)) check();
        // perf's process_event: a type left without fields (`-F trace` for cpu-clock) prints nothing
        if (typeOf(event).selection.fields.size === 0) return;
        summary.samples++;
        const decoded = r.decoded;
        if (decoded === undefined) {
          // A (non-group) READ sample is simple, but delivered per read value; -F srcline
          // looks addresses up before printing: both go the decoded way.
          if (
            (event.attr.sampleType & SampleType.READ) === 0 &&
            !typeOf(event).selection.fields.has("srcline")
          ) {
            return printRaw(r, event, callchains(event));
          }
          const rec = r.record();
          if ("sample" in rec) return printSample(rec.sample, rec.misc, event);
          return;
        }
        if (!("sample" in decoded)) return;
        return printSample(decoded.sample, decoded.misc, event);
      }
      // The input applied side-band records already; a new comm ends the cached one.
      if (r.type === RecordType.COMM || r.type === RecordType.FORK) commEpoch++;
      if (r.type === RecordType.AUXTRACE_ERROR) {
        // perf_event__process_auxtrace_error prints each one as it is read
        const rec = r.record();
        const text = "raw" in rec ? auxtraceErrorText(rec.raw) : undefined;
        if (text !== undefined) out.text(text);
        return;
      }
      if (shown !== undefined && r.event !== undefined && showsRecordType(shown, r.type)) {
        printSideBand(r, r.event);
      }
    });
  } finally {
    elfCache.close();
    await session.close(); // ends the addr2line subprocesses
  }
  out.flush();
  end();
  summary.samples -= filteredOut;
  summary.lost = input.lost.lostRecords + input.lost.lostSamples;
  summary.warnings = [...input.warnings];
  const late: ReadWarning[] = [];
  if (reads.unknownIds > 0) {
    late.push(
      new ReadWarning(
        "skipped",
        `${reads.unknownIds} PERF_SAMPLE_READ values with an id of no event: not printed`,
        { count: reads.unknownIds },
      ),
    );
  }
  if (untraced > 0) {
    late.push(
      new ReadWarning(
        "unsupported",
        `${untraced} tracepoint samples not decoded: the file has no tracing data (payload not printed)`,
        { count: untraced },
      ),
    );
  }
  for (const [what, n] of tracepoints?.undecoded ?? []) {
    late.push(
      new ReadWarning(
        "unsupported",
        `${n} tracepoint samples not decoded: ${what} (payload not printed)`,
        { count: n },
      ),
    );
  }
  for (const m of late) {
    summary.warnings.push(m);
    options.read?.onWarning?.(m);
  }
  summary.bytesRead = input.bytesRead;
  return summary;
}

function recordsCallchains(ev: PerfDataEvent): boolean {
  const t = ev.attr.sampleType;
  return (t & SampleType.CALLCHAIN) !== 0 || (t & SampleType.BRANCH_STACK) !== 0 ||
    ((t & SampleType.REGS_USER) !== 0 && (t & SampleType.STACK_USER) !== 0);
}

function hasDwarfStack(ev: PerfDataEvent): boolean {
  const t = ev.attr.sampleType;
  return (t & SampleType.REGS_USER) !== 0 && (t & SampleType.STACK_USER) !== 0;
}

/**
 * Replace the user part of a `--call-graph dwarf` sample's callchain by the
 * frames unwound from its register and stack copy, as perf does (kernel part
 * first, then the user frames). `userStart` is the callchain index of the
 * first unwound frame.
 */
function withUnwoundUserStack(
  s: Sample,
  ev: PerfDataEvent,
  session: PerfSession,
  elfCache: ElfCache,
  maxStack: number,
): { sample: Sample; userStart: number } {
  const pid = s.pid ?? -1;
  // perf's evsel__parse_sample keeps dyn_size as the stack size, and
  // thread__resolve_callchain_unwind bails out on 0: no user frames at all.
  const user = s.stackUser!.dynSize === 0 || !unwinderRegistered(session.spaces, elfCache, pid)
    ? []
    : unwindUser(
      { mask: ev.attr.sampleRegsUser, regs: s.regsUser!.regs },
      s.stackUser!,
      (addr) => session.spaces.lookup(pid, addr, CPUMODE_USER),
      elfCache.loader,
      { maxStack },
    );
  const kernel: bigint[] = [];
  for (const ip of s.callchain ?? []) {
    if (ip === PerfContext.USER) break;
    kernel.push(ip);
  }
  return {
    sample: { ...s, callchain: BigUint64Array.from([...kernel, PerfContext.USER, ...user]) },
    userStart: kernel.length + 1,
  };
}

/**
 * The inline nodes of the unwound user frames `chain[from..]` (lookups are
 * cached per DSO and address by the session), keyed by callchain index;
 * frames that print unchanged (no answer, or just their own symbol) are left out.
 */
/**
 * The `-F srcline` texts of a sample (perf's `map__fprintf_srcline` per printed
 * address): of each callchain entry when the callchain prints (entries expanded into
 * inline nodes carry their own), else of the sample IP.
 */
async function sampleSrclines(
  session: PerfSession,
  sample: Sample,
  misc: number,
  printChain: boolean,
  inlines: InlineExpansion | undefined,
  plainFrom: number | undefined,
): Promise<ScriptSrclines> {
  const pid = sample.pid ?? -1;
  const chain = sample.callchain;
  if (!printChain || chain === undefined) {
    return { ip: await session.srcline(pid, misc & 7, sample.ip ?? 0n) };
  }
  const lookups: Promise<[number, string | undefined]>[] = [];
  const ask = (i: number, cpumode: number) => {
    if (inlines?.has(i)) return;
    lookups.push(session.srcline(pid, cpumode, chain[i]!).then((t) => [i, t]));
  };
  const end = Math.min(plainFrom ?? chain.length, chain.length);
  const walk = new ChainWalk();
  walk.reset(new DataView(chain.buffer, chain.byteOffset, chain.byteLength), 0, end, misc & 7);
  while (walk.next()) ask(walk.index, walk.cpumode);
  for (let i = end; i < chain.length; i++) ask(i, CPUMODE_USER);
  const found = new Map<number, string>();
  for (const [i, t] of await Promise.all(lookups)) if (t !== undefined) found.set(i, t);
  return { chain: found };
}

async function inlineExpansion(
  session: PerfSession,
  pid: number,
  chain: BigUint64Array,
  from: number,
  withSrcline = false,
): Promise<InlineExpansion | undefined> {
  const lookups: Promise<readonly InlineNode[]>[] = [];
  for (let i = from; i < chain.length; i++) {
    lookups.push(session.inlineNodes(pid, CPUMODE_USER, chain[i]!));
  }
  const answers = await Promise.all(lookups);
  let expansion: Map<number, readonly InlineNode[]> | undefined;
  for (let k = 0; k < answers.length; k++) {
    const nodes = answers[k]!;
    // a frame answered by its own symbol alone prints as usual, but for its source line,
    // which is the answer's (perf prints the inline list's node, `??:0` included)
    if (nodes.length > 1 || (nodes.length === 1 && (nodes[0]!.inlined || withSrcline))) {
      (expansion ??= new Map()).set(from + k, nodes);
    }
  }
  return expansion;
}
