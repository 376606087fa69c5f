/**
 * The one input layer: open a perf.data file (file or pipe mode, `-` for
 * stdin) or a callring capture, told apart by magic, and hand every consumer
 * (`script`, `report`, `diff`, the API) the same ordered record stream with
 * per-event decoding information ({@linkcode PerfDataEvent}, whose format
 * gives its `SampleLayout`). Side-band records (COMM, FORK, MMAP,
 * MMAP2) are applied once, to {@linkcode Input.sideBand}, before the record
 * is handed on; LOST / LOST_SAMPLES records and the readers' typed warnings
 * are counted in {@linkcode Input.lost}.
 *
 * Two ways to read, same order, same side effects: visit every record
 * through one reused {@linkcode RawRecord} ({@linkcode Input.forEachRecord},
 * samples undecoded until asked: the fast path) or iterate decoded records
 * ({@linkcode Input.records}).
 *
 * To add an input format: detect it in `format.ts`, open it as a
 * {@linkcode PerfDataFile} (see `capture_input.ts`) and add a branch to
 * {@linkcode openInput}.
 *
 * @example Count the samples of each thread
 * ```ts ignore
 * import { openInput } from "./open.ts";
 * const input = await openInput("perf.data");
 * const perComm = new Map<string, number>();
 * await input.forEachRecord((r) => {
 *   if (r.type !== 9) return;
 *   const s = r.record();
 *   if ("sample" in s) {
 *     const comm = input.sideBand.threads.comm(s.sample.tid ?? -1);
 *     perComm.set(comm, (perComm.get(comm) ?? 0) + 1);
 *   }
 * });
 * input.close();
 * ```
 *
 * @module
 */

import { FormatError, type PerfRecord, type ReadWarning, RecordType } from "../abi/mod.ts";
import type { CaptureHeader } from "../capture/format.ts";
import type { PerfDataEvent } from "../perfdata/evlist.ts";
import {
  openPerfData,
  type PerfDataFile,
  type PerfDataInfo,
  RawRecord,
  type ReadRecord,
} from "../perfdata/reader.ts";
import type { CaptureSymbols } from "./capture_symbols.ts";
import { type ExtensionRecord, openCaptureFile } from "./capture_input.ts";
import { detectInputFormat, type InputFormat } from "./format.ts";
import { LossAccountant, type LostAccounting } from "./loss.ts";
import { SideBand } from "./side_band.ts";

/** Options of {@linkcode openInput}. */
export interface InputOptions {
  /** Override detection (default: by magic). */
  format?: InputFormat;
  /**
   * One time window (ns, inclusive) whose samples the caller keeps: a capture is then read with
   * `CaptureReader.readWindow` (first drain round, side-band chunks, seek, the window) instead of
   * end to end. Other inputs ignore it.
   */
  timeWindow?: { start: number; end: number };
  /**
   * Captures only: visit the records newest first (`CaptureReader.readReverse`), each sample with
   * the side-band state of its time; with `timeWindow`, reading stops two drain rounds below its
   * start (nothing else of the window applies: samples outside it are still visited). Throws
   * {@linkcode ReverseInputError} for other inputs. Only `forEachRecord` reads this way.
   */
  reverse?: boolean;
  /** perf.data: perf's ordered-events order (default true); false = file order. */
  ordered?: boolean;
  /** perf.data read granularity in bytes (default 1 MiB). */
  chunkSize?: number;
  /** Called with each warning as it is found (also kept in {@linkcode Input.warnings}). */
  onWarning?: (warning: ReadWarning) => void;
  /**
   * EXTENSION POINT (captures): called with every callring extension record
   * (type 0x4c00-0x4cff), e.g. the simulator's `CALLRING_SYMBOL` records,
   * before the records that follow it are handed on.
   */
  onExtensionRecord?: (record: ExtensionRecord) => void;
}

/** Newest-first reading asked of an input that is not a callring capture. */
export class ReverseInputError extends RangeError {
  /**
   * Create the error.
   *
   * @param path The input.
   * @param format Its format.
   */
  constructor(path: string, format: string) {
    super(
      `${path}: reading newest first needs a callring capture (drain rounds to read backwards); ` +
        `this is ${format}`,
    );
    this.name = "ReverseInputError";
  }
}

/** What the input's header says. */
export interface InputInfo {
  /** perf.data (file or pipe mode) or callring capture. */
  readonly format: InputFormat;
  /** The input name as given. */
  readonly source: string;
  /** Pipe-mode perf.data (`perf record -o -`). */
  readonly pipe: boolean;
  /** Events in index order (pipe mode: those seen so far). */
  readonly events: readonly PerfDataEvent[];
  /** Input size in bytes, when known (for progress). */
  readonly size: number | undefined;
  /** Header, attrs and features (for captures: what the capture header says, in the same shape). */
  readonly perf: PerfDataInfo;
  /** Capture header (captures only). */
  readonly capture?: CaptureHeader;
}

/** An open input: read its records once, then {@linkcode Input.close} it. */
export interface Input {
  /** Header information. */
  readonly info: InputInfo;
  /** Threads, maps and build-ids from the side-band records read so far. */
  readonly sideBand: SideBand;
  /** Loss so far: LOST / LOST_SAMPLES records, damage, truncation, incomplete fragments. */
  readonly lost: LostAccounting;
  /** Warnings so far (typed; `String(w)` is the message). */
  readonly warnings: readonly ReadWarning[];
  /** Bytes read from the input so far. */
  readonly bytesRead: number;
  /** A capture's own symbol table (simulated machines), undefined for perf.data. */
  readonly symbols: CaptureSymbols | undefined;
  /**
   * Visit every record once, in order, through one reused {@linkcode RawRecord}
   * (valid until the visit returns or its promise settles). Side-band and loss
   * records are applied before their visit.
   *
   * @param visit Called per record; a returned promise is awaited.
   * @returns When every record was visited.
   */
  forEachRecord(visit: (record: RawRecord) => void | Promise<void>): Promise<void>;
  /**
   * Iterate the records once, decoded (instead of {@linkcode Input.forEachRecord}).
   *
   * @returns The records.
   */
  records(): AsyncIterableIterator<ReadRecord>;
  /** Release the input. */
  close(): void;
}

async function sizeOf(path: string): Promise<number | undefined> {
  if (path === "-") return undefined;
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return undefined;
  }
}

/**
 * Open a recording.
 *
 * @param path perf.data (file or pipe mode), `-` for pipe-mode perf.data on stdin, or a capture.
 * @param options Format override, reading options, warning and extension hooks.
 * @returns The open input.
 * @throws {FormatError} When the header is malformed or the format unknown.
 */
export async function openInput(path: string, options: InputOptions = {}): Promise<Input> {
  const format = options.format ?? await detectInputFormat(path);
  if (format === "perf-script-text") {
    throw new FormatError(
      "perf script text holds symbolized samples, not records: report reads it, script does not",
      0,
      path,
    );
  }
  if (options.reverse && format !== "capture") throw new ReverseInputError(path, format);
  const accountant = new LossAccountant();
  const warned = (w: ReadWarning) => {
    accountant.warning(w);
    if (w.kind === "aux" && file.info.aux !== undefined) accountant.auxArea(file.info.aux);
    options.onWarning?.(w);
  };
  const sideBand = new SideBand();
  let file: PerfDataFile;
  let capture: CaptureHeader | undefined;
  let symbols: CaptureSymbols | undefined;
  let size: number | undefined;
  if (format === "capture") {
    const c = await openCaptureFile(path, path, {
      onWarning: options.onWarning,
      onExtensionRecord: options.onExtensionRecord,
      accountant,
      timeWindow: options.timeWindow,
      reverse: options.reverse
        ? {
          sideBandUpTo: (records, count) => {
            sideBand.reset();
            for (let i = 0; i < count; i++) sideBand.apply(records[i]!);
          },
          stopBelow: options.timeWindow?.start,
        }
        : undefined,
    });
    file = c;
    capture = c.header;
    symbols = c.symbols;
    size = c.fileSize;
  } else {
    file = await openPerfData(path, {
      ordered: options.ordered,
      chunkSize: options.chunkSize,
      onWarning: warned,
    });
    size = await sizeOf(path);
    if (file.info.buildIds) sideBand.addBuildIds(file.info.buildIds);
  }
  // A record's side effects, applied before it is handed on.
  const applyRecord = (record: PerfRecord) => {
    if (!accountant.record(record)) sideBand.apply(record);
  };
  const apply = (r: RawRecord) => {
    const type = r.type;
    if (
      type === RecordType.LOST || type === RecordType.LOST_SAMPLES || type === RecordType.COMM ||
      type === RecordType.FORK || type === RecordType.MMAP || type === RecordType.MMAP2
    ) applyRecord(r.record());
  };
  async function* records(): AsyncIterableIterator<ReadRecord> {
    for await (const rec of file.records()) {
      if (rec.record.type !== RecordType.SAMPLE) applyRecord(rec.record);
      yield rec;
    }
  }
  function forEachRecord(visit: (record: RawRecord) => void | Promise<void>): Promise<void> {
    return file.forEachRecord((r) => {
      apply(r);
      return visit(r);
    });
  }
  const info: InputInfo = {
    format,
    source: path,
    get pipe() {
      return file.info.pipe;
    },
    get events() {
      return file.info.events;
    },
    size,
    perf: file.info,
    ...(capture !== undefined ? { capture } : {}),
  };
  return {
    info,
    sideBand,
    lost: accountant.lost,
    get warnings() {
      return file.warnings;
    },
    get bytesRead() {
      return file.bytesRead;
    },
    symbols,
    forEachRecord,
    records,
    close: () => file.close(),
  };
}
