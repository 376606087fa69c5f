/**
 * Streaming perf.data reader: file mode (`PERFILE2` header, attrs, data,
 * feature sections) and pipe mode (`perf record -o -`: a 16-byte header, then
 * HEADER_ATTR / HEADER_FEATURE / EVENT_UPDATE records in the stream), from a
 * path, `-` (stdin) or any stream. The data section is read in chunks into
 * one reused buffer; records come out decoded, in perf's ordered-events order
 * by default (the order `perf script` prints) or in file order. This module
 * is the framing (records, trailing payloads, `perf record -z` data); the
 * header and feature sections are `header.ts`, the order `ordered_events.ts`.
 *
 * @example Count the samples of a file
 * ```ts ignore
 * import { openPerfData } from "./reader.ts";
 * const file = await openPerfData("perf.data");
 * let samples = 0;
 * for await (const { record } of file.records()) if (record.type === 9) samples++;
 * file.close();
 * ```
 *
 * @module
 */

import {
  decodeAttr,
  decodeRecord,
  decodeSample,
  FormatError,
  getU64,
  KERNEL_RECORD_MAX,
  PERF_USER_RECORD_MAX,
  type PerfRecord,
  ReadWarning,
  RecordType,
  SampleDecoder,
  SampleLayout,
} from "../abi/mod.ts";
import {
  type ByteReader,
  ChunkedInput,
  DEFAULT_CHUNK_SIZE,
  type InputChunk,
  readerFromStream,
} from "./chunked.ts";
import { compressedPayload, Decompressor } from "./compressed.ts";
import {
  applyFeature,
  type AuxStats,
  checkMagic,
  emptyInfo,
  MAX_HEADER_AREA,
  nameTracepoints,
  type PerfDataInfo,
  PIPE_HEADER_SIZE,
  readAt,
  readFileHeader,
  syncFiles,
} from "./header.ts";
import { OrderedEvents } from "./ordered_events.ts";
import { ByteSwapper } from "./swap.ts";
import { parseTracingData } from "./tracing_data.ts";
import { defaultEventName, EventMatcher, makeEvent, type PerfDataEvent } from "./evlist.ts";
import { FEATURE_BITS, HeaderFeature } from "./features.ts";

export type { PerfDataEvent } from "./evlist.ts";
export {
  type AuxStats,
  FILE_HEADER_SIZE,
  LEGACY_FILE_HEADER_SIZE,
  PERF_MAGIC,
  type PerfDataInfo,
  PIPE_HEADER_SIZE,
} from "./header.ts";

/** Most warnings kept in {@linkcode PerfDataFile.warnings}. */
export const MAX_WARNINGS = 100;

/** One record delivered by {@linkcode PerfDataFile.records}. */
export interface ReadRecord {
  /** The decoded record. */
  record: PerfRecord;
  /** Its event (kernel records), undefined for perf's user records. */
  event: PerfDataEvent | undefined;
  /** File (or stream) offset of the record. */
  offset: number;
  /** Sample time or `sample_id` trailer time, when present. */
  time: number | undefined;
}

/** Options of {@linkcode openPerfData} and {@linkcode openPerfDataStream}. */
export interface ReadOptions {
  /** perf's ordered-events order (what `perf script` prints); default true. False = file order. */
  ordered?: boolean;
  /** Read granularity in bytes; default 1 MiB. */
  chunkSize?: number;
  /** Called for each warning (also kept in {@linkcode PerfDataFile.warnings}). */
  onWarning?: (warning: ReadWarning) => void;
  /** Name of the input in messages; default the path or `<stdin>` / `<stream>`. */
  source?: string;
}

/** An open perf.data input. */
export interface PerfDataFile {
  /** Header, attrs and features. */
  readonly info: PerfDataInfo;
  /** Warnings so far (first {@linkcode MAX_WARNINGS}). */
  readonly warnings: ReadWarning[];
  /** Bytes read from the input so far. */
  readonly bytesRead: number;
  /**
   * Iterate the records of the data section (once).
   *
   * @returns The records.
   */
  records(): AsyncIterableIterator<ReadRecord>;
  /**
   * Visit the records of the data section (once; instead of
   * {@linkcode PerfDataFile.records}) in the same order, through one reused
   * {@linkcode RawRecord}: samples of simple formats are not decoded unless
   * the visitor asks. When the visitor returns a promise, the next record
   * waits for it.
   *
   * @param visit Called per record; the record is valid until it returns
   *   (or its promise settles).
   * @returns When every record was visited.
   */
  forEachRecord(visit: (record: RawRecord) => void | Promise<void>): Promise<void>;
  /** Release the input. */
  close(): void;
}

/**
 * One record as {@linkcode PerfDataFile.forEachRecord} visits it: the raw
 * bytes (`view` at `offset`), the header fields, the event and time, and the
 * decoded record when the reader already decoded it. Reused for every
 * record: copy what you keep.
 */
export class RawRecord {
  /** Record type. */
  type = 0;
  /** Header `misc`. */
  misc = 0;
  /** Header `size`. */
  size = 0;
  /** The bytes holding the record (valid only during the visit). */
  view: DataView = new DataView(new ArrayBuffer(8));
  /** Offset of the record header in {@linkcode RawRecord.view}. */
  offset = 0;
  /** File (or stream) offset of the record. */
  fileOffset = 0;
  /** Sample time or `sample_id` trailer time, NaN when absent. */
  timeOrNaN: number = NaN;
  /** The record's event (kernel records), undefined for perf's user records. */
  event: PerfDataEvent | undefined = undefined;
  /** The record decoded, when the reader decoded it (everything but simple samples). */
  decoded: PerfRecord | undefined = undefined;
  /** The decoder of the event's samples (set for undecoded samples). */
  decoder: SampleDecoder | undefined = undefined;

  /**
   * Sample time or `sample_id` trailer time, when present.
   *
   * @returns The time or undefined.
   */
  get time(): number | undefined {
    const t = this.timeOrNaN;
    return t === t ? t : undefined;
  }

  /**
   * The record decoded (decoding an undecoded sample now).
   *
   * @returns The record.
   */
  record(): PerfRecord {
    if (this.decoded !== undefined) return this.decoded;
    const view = this.view, s = this.offset;
    return this.decoded = {
      type: RecordType.SAMPLE,
      misc: this.misc,
      size: this.size,
      sample: this.decoder!.decode(view, s, this.fileOffset),
    };
  }
}

const utf8 = new TextDecoder();

interface Closeable {
  close(): void;
}

/**
 * Open a perf.data file (file or pipe mode) or `-` for stdin (pipe mode).
 *
 * @param path File path or `-`.
 * @param options Reading options.
 * @returns The open file; its `info` is complete for file mode.
 * @throws {FormatError} When the header, attrs or ids are malformed.
 */
export async function openPerfData(path: string, options: ReadOptions = {}): Promise<PerfDataFile> {
  if (path === "-") {
    return await openPerfDataStream(Deno.stdin.readable, { source: "<stdin>", ...options });
  }
  const source = options.source ?? path;
  // Regular files are opened and read synchronously (no event-loop round trips);
  // anything else (FIFOs, devices, errors) goes the asynchronous way.
  let regular = false;
  try {
    regular = Deno.statSync(path).isFile;
  } catch {
    // let the open below report the problem
  }
  const file = regular
    ? Deno.openSync(path, { read: true })
    : await Deno.open(path, { read: true });
  try {
    const stat = regular ? file.statSync() : await file.stat();
    return await openFile(file, stat.size, stat.isFile, { ...options, source });
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Open pipe-mode perf.data arriving on a stream (e.g. `perf record -o - | ...`).
 * The leading header records (attrs, features, event names) are read before
 * this returns, so `info.events` is known.
 *
 * @param input A byte stream or a `read()`-style reader.
 * @param options Reading options.
 * @returns The open input.
 * @throws {FormatError} When the input is not pipe-mode perf.data.
 */
export async function openPerfDataStream(
  input: ReadableStream<Uint8Array> | ByteReader,
  options: ReadOptions = {},
): Promise<PerfDataFile> {
  const source = options.source ?? "<stream>";
  const reader = input instanceof ReadableStream ? readerFromStream(input) : input;
  const closer: Closeable = {
    close() {
      if ("cancel" in reader && typeof reader.cancel === "function") reader.cancel();
    },
  };
  const head = new ChunkedInput(reader, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const bytes = await head.take(PIPE_HEADER_SIZE);
  if (!bytes) throw new FormatError("Input ends before the 16-byte perf.data header", 0, source);
  const view = new DataView(bytes.buffer);
  const big = checkMagic(bytes, source);
  const size = big ? Number(view.getBigUint64(8, false)) : getU64(view, 8);
  if (size !== PIPE_HEADER_SIZE) {
    throw new FormatError(
      `File-mode perf.data (header size ${size}) needs a seekable file: pass its path, ` +
        "or record with `perf record -o -` for pipe mode",
      8,
      source,
    );
  }
  const info = emptyInfo(true, PIPE_HEADER_SIZE, Infinity);
  if (big) info.bigEndian = true;
  const session = new Session(info, new EventMatcher(), head, { ...options, source }, closer);
  await session.prefetchPipeHeader();
  return session;
}

async function openFile(
  file: Deno.FsFile,
  fileSize: number,
  regular: boolean,
  options: ReadOptions & { source: string },
): Promise<PerfDataFile> {
  const source = options.source;
  // Regular files are read synchronously (page cache: no event-loop round trip per chunk);
  // FIFOs and devices asynchronously, so a writer in this process can make progress.
  const data: ByteReader = regular
    ? { read: (p) => file.read(p), readSync: (p) => file.readSync(p) }
    : file;
  if (regular) syncFiles.add(file);
  if (fileSize < PIPE_HEADER_SIZE) {
    throw new FormatError(
      `File of ${fileSize} bytes is too short for a perf.data header`,
      0,
      source,
    );
  }
  const first = await readAt(file, 0, PIPE_HEADER_SIZE, fileSize, "file header", source);
  const big = checkMagic(first, source);
  const firstView = new DataView(first.buffer);
  const headerSize = big ? Number(firstView.getBigUint64(8, false)) : getU64(firstView, 8);
  if (headerSize === PIPE_HEADER_SIZE) {
    const input = new ChunkedInput(
      data,
      options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      PIPE_HEADER_SIZE,
      fileSize - PIPE_HEADER_SIZE,
    );
    if (regular) file.seekSync(PIPE_HEADER_SIZE, Deno.SeekMode.Start);
    else await file.seek(PIPE_HEADER_SIZE, Deno.SeekMode.Start);
    const info = emptyInfo(true, PIPE_HEADER_SIZE, fileSize - PIPE_HEADER_SIZE);
    if (big) info.bigEndian = true;
    const session = new Session(info, new EventMatcher(), input, options, file);
    await session.prefetchPipeHeader();
    return session;
  }
  const { info, matcher, warnings, truncated } = await readFileHeader(
    file,
    fileSize,
    headerSize,
    source,
    big ? new ByteSwapper(false) : undefined,
  );
  const dataOffset = info.dataOffset, dataSize = info.dataSize;
  const input = new ChunkedInput(
    data,
    options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    dataOffset,
    Math.min(dataSize, fileSize - dataOffset),
  );
  if (regular) file.seekSync(dataOffset, Deno.SeekMode.Start);
  else await file.seek(dataOffset, Deno.SeekMode.Start);
  const session = new Session(info, matcher, input, options, file);
  session.truncatedFile = truncated;
  for (const w of warnings) session.warn(w);
  return session;
}

const DUMMY_FORMAT = {
  sampleType: 0,
  readFormat: 0,
  regsUserCount: 0,
  regsIntrCount: 0,
  branchHwIndex: false,
};

/** `enum perf_event_update_type`: NAME. */
const EVENT_UPDATE_NAME = 2;

/** What the reader keeps per event: the sample decoder and where samples keep their time. */
interface EventState {
  format: PerfDataEvent["format"];
  decoder: SampleDecoder;
  /** Offset of TIME from the record start, or -1. */
  timeAt: number;
}

/** perf's `enum auxtrace_type` names. */
const AUXTRACE_TYPES = [
  "unknown",
  "intel_pt",
  "intel_bts",
  "cs_etm",
  "arm_spe",
  "s390_cpumsf",
  "hisi_ptt",
];

/**
 * AUX area data (Intel PT, BTS, CoreSight, SPE...), which callring does not
 * decode: counted into `info.aux` and named in warnings at the end, with
 * perf's own warnings about it (`perf_session__warn_about_errors`).
 */
class AuxTally {
  type = -1;
  readonly #info: PerfDataInfo;
  constructor(info: PerfDataInfo) {
    this.#info = info;
  }
  get #stats(): AuxStats {
    return this.#info.aux ??= {
      pmu: "",
      records: 0,
      bytes: 0,
      auxRecords: 0,
      truncated: 0,
      partial: 0,
      collision: 0,
      errors: [0, 0],
    };
  }
  /** A PERF_RECORD_AUXTRACE and its payload size. */
  add(bytes: number): void {
    const a = this.#stats;
    a.records++;
    a.bytes += bytes;
  }
  /** A PERF_RECORD_AUX and its flags. */
  auxRecord(flags: number): void {
    const a = this.#stats;
    a.auxRecords++;
    if (flags & 1) a.truncated++;
    if (flags & 4) a.partial++;
    if (flags & 8) a.collision++;
  }
  /** A PERF_RECORD_AUXTRACE_ERROR of this type (perf counts types below 2). */
  error(type: number): void {
    if (type < 2) this.#stats.errors[type]!++;
  }
  warnings(): string[] {
    const a = this.#info.aux;
    if (a === undefined) return [];
    a.pmu = AUXTRACE_TYPES[this.type] ?? (this.type < 0 ? "unknown" : `type ${this.type}`);
    const out: string[] = [];
    if (a.records > 0) {
      out.push(
        `AUX area data not decoded: ${a.bytes} bytes in ${a.records} PERF_RECORD_AUXTRACE ` +
          `records (${a.pmu}); perf decodes it into synthesized samples, callring prints none of them`,
      );
    }
    const n = a.auxRecords;
    if (a.truncated) out.push(`AUX data lost ${a.truncated} times out of ${n}!`);
    if (a.partial) out.push(`AUX data had gaps in it ${a.partial} times out of ${n}!`);
    if (a.collision) out.push(`AUX data detected collision  ${a.collision} times out of ${n}!`);
    if (a.errors[0]) out.push(`${a.errors[0]} unknown AUX errors`);
    if (a.errors[1]) out.push(`${a.errors[1]} instruction trace errors`);
    return out;
  }
}

/** Records decoded ahead of delivery: the reader refills when fewer are ready. */
const READY_TARGET = 512;

function eventState(event: PerfDataEvent): EventState {
  const timeAt = SampleLayout.of(event.format).time;
  return { format: event.format, decoder: new SampleDecoder(event.format), timeAt };
}

/** A growable list of slot numbers. */
class SlotList {
  a = new Int32Array(1024);
  len = 0;

  push(slot: number): void {
    if (this.len === this.a.length) this.#grow(this.len + 1);
    this.a[this.len++] = slot;
  }

  /** Make room for `n` entries in total. */
  reserve(n: number): void {
    if (n > this.a.length) this.#grow(n);
  }

  #grow(n: number): void {
    const next = new Int32Array(Math.max(n, this.a.length * 2));
    next.set(this.a.subarray(0, this.len));
    this.a = next;
  }
}

/**
 * Records between reading and delivery, as columns indexed by slot number
 * (typed arrays: storing a record costs no allocation and no write barrier).
 * A slot holds either an undecoded sample (pinned input buffer and offset)
 * or a decoded record.
 */
class Slots {
  /** Id of the pinned input buffer of an undecoded sample, -1 for a decoded record. */
  chunk = new Int32Array(1024);
  /** Offset of the undecoded sample in its buffer. */
  at = new Int32Array(1024);
  fileOffset = new Float64Array(1024);
  /** Time, NaN when none. */
  time = new Float64Array(1024);
  /** Event index, -1 for none. */
  event = new Int32Array(1024);
  /** Decoded records. */
  record: (PerfRecord | undefined)[] = new Array(1024).fill(undefined);
  readonly #free = new SlotList();
  #used = 0;

  alloc(): number {
    const free = this.#free;
    if (free.len > 0) return free.a[--free.len]!;
    if (this.#used === this.chunk.length) this.#grow();
    return this.#used++;
  }

  release(slot: number): void {
    this.#free.push(slot);
  }

  #grow(): void {
    const n = this.chunk.length * 2;
    const int = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const float = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.chunk = int(this.chunk);
    this.at = int(this.at);
    this.fileOffset = float(this.fileOffset);
    this.time = float(this.time);
    this.event = int(this.event);
    const rec = new Array<PerfRecord | undefined>(n).fill(undefined);
    for (let k = 0; k < this.record.length; k++) rec[k] = this.record[k];
    this.record = rec;
  }
}

/**
 * The reader proper. Records are read in batches from the reused chunk
 * buffer: non-sample records and samples of complex formats are decoded
 * (and checked) as they are read; samples of simple formats are only
 * checked and stay in the buffer, pinned, until delivered, so reordering
 * them allocates nothing. The {@linkcode OrderedEvents} queue (perf's
 * ordered-events rules) decides the delivery order.
 */
class Session implements PerfDataFile {
  readonly info: PerfDataInfo;
  readonly warnings: ReadWarning[] = [];
  truncatedFile = false;
  readonly #matcher: EventMatcher;
  readonly #input: ChunkedInput;
  readonly #options: ReadOptions & { source?: string };
  readonly #closer: Closeable;
  readonly #source: string;
  readonly #ordered: boolean;
  #started = false;
  #closed = false;
  #nWarnings = 0;
  #unknownIds = 0;
  readonly #slots = new Slots();
  /** Slots ready for delivery: `#ready.a[#readyHead, #ready.len)`. */
  readonly #ready = new SlotList();
  #readyHead = 0;
  /** Timed records waiting for their round (perf's ordered-events queue). */
  readonly #pending = new OrderedEvents<number>();
  /** Moves a slot from the queue to the ready list. */
  readonly #toReady = (slot: number) => this.#ready.push(slot);
  /** Whether timed records are queued (ordered input whose first event has sample_id_all). */
  #queueing: boolean | undefined = undefined;
  readonly #states: (EventState | undefined)[] = [];
  /** No more records will be read. */
  #ended = false;
  /** A read error to throw once the records before it are delivered. */
  #error: unknown = undefined;
  #hasError = false;
  #finished = false;

  constructor(
    info: PerfDataInfo,
    matcher: EventMatcher,
    input: ChunkedInput,
    options: ReadOptions,
    closer: Closeable,
  ) {
    this.info = info;
    this.#matcher = matcher;
    this.#input = input;
    this.#options = options;
    this.#closer = closer;
    this.#source = options.source ?? "<input>";
    this.#ordered = options.ordered ?? true;
    if (info.bigEndian) this.#swap = new ByteSwapper(false);
  }

  /** Big-endian input: each record is byte-swapped in place once, before it is read. */
  #swap: ByteSwapper | undefined = undefined;
  /** Input offset of the last record swapped (a record can be looked at twice). */
  #swappedAt = -1;
  /** Record types of a big-endian input left unswapped (perf has no conversion for them). */
  readonly #unswapped = new Map<number, number>();
  readonly #eventOf = (v: DataView, s: number, type: number, size: number) =>
    this.#matcher.match(v, s, type, size);

  /** Whether the record at `offset` is still in the big-endian input's byte order. */
  #raw(offset: number): boolean {
    return this.#swap !== undefined && offset !== this.#swappedAt;
  }

  /** Byte-swap one whole record in place (big-endian input). */
  #swapRecord(view: DataView, s: number, offset: number): void {
    const sw = this.#swap!;
    const { type, misc, size } = sw.header(view, s);
    const sampleIdAll = this.info.events[0]?.sampleIdAll ?? false;
    if (size >= 8 && !sw.body(view, s, type, misc, size, this.#eventOf, sampleIdAll, offset)) {
      this.#unswapped.set(type, (this.#unswapped.get(type) ?? 0) + 1);
    }
    if (type === RecordType.HEADER_FEATURE && size >= 16) {
      sw.feature(getU64(view, s + 8), view, s + 16, size - 16);
    }
  }

  get bytesRead(): number {
    return this.#input.bytesRead;
  }

  warn(warning: ReadWarning): void {
    this.#nWarnings++;
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(warning);
    this.#options.onWarning?.(warning);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#decompressor.close();
    this.#closer.close();
  }

  /** Pipe mode: read the leading user records so `info.events` is known. */
  async prefetchPipeHeader(): Promise<void> {
    const input = this.#input;
    const start = input.position;
    while (input.position - start < MAX_HEADER_AREA) {
      if (!(await input.ensure(8))) break;
      const type = input.view.getUint32(input.start, !this.#raw(input.position));
      if (type < RecordType.HEADER_ATTR || type === RecordType.FINISHED_ROUND) break;
      if (type === RecordType.COMPRESSED || type === RecordType.COMPRESSED2) break;
      if (!(await this.#readOne(true))) break;
    }
    this.#matcher.validate(this.#source, (e) => this.#attrOffsets.get(e.index) ?? -1);
  }

  #start(): void {
    if (this.#started) throw new Error("records() can be called once per open perf.data input");
    this.#started = true;
  }

  records(): AsyncIterableIterator<ReadRecord> {
    this.#start();
    const done: IteratorResult<ReadRecord> = { value: undefined, done: true };
    const it: AsyncIterableIterator<ReadRecord> = {
      next: (): Promise<IteratorResult<ReadRecord>> => {
        if (this.#readyHead < this.#ready.len) {
          return Promise.resolve({ value: this.#deliver(), done: false });
        }
        return this.#nextSlow(done);
      },
      return: (): Promise<IteratorResult<ReadRecord>> => {
        this.#stop();
        return Promise.resolve(done);
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  async #nextSlow(done: IteratorResult<ReadRecord>): Promise<IteratorResult<ReadRecord>> {
    if (this.#finished) return done;
    try {
      await this.#refill();
    } catch (e) {
      this.#stop();
      throw e;
    }
    if (this.#readyHead < this.#ready.len) return { value: this.#deliver(), done: false };
    return done;
  }

  async forEachRecord(visit: (record: RawRecord) => void | Promise<void>): Promise<void> {
    this.#start();
    const cur = new RawRecord();
    const ready = this.#ready;
    try {
      while (true) {
        while (this.#readyHead < ready.len) {
          const slot = ready.a[this.#readyHead++]!;
          this.#fillRaw(cur, slot);
          try {
            const p = visit(cur);
            if (p !== undefined) await p;
          } finally {
            this.#recycle(slot);
          }
        }
        ready.len = this.#readyHead = 0;
        if (this.#finished) break;
        await this.#refill();
        if (ready.len === 0) break;
      }
    } finally {
      this.#stop();
    }
  }

  /** Refill the (drained) ready list; at the end, finish (warnings, pending error). */
  async #refill(): Promise<void> {
    this.#ready.len = this.#readyHead = 0;
    if (!this.#ended) await this.#fill();
    if (this.#ready.len > 0) return;
    this.#finished = true;
    if (this.#hasError) {
      this.#hasError = false;
      throw this.#error;
    }
    if (this.#unknownIds) {
      this.warn(
        new ReadWarning(
          "skipped",
          `${this.#source}: ${this.#unknownIds} records with an id not in the header skipped`,
          { count: this.#unknownIds },
        ),
      );
      this.#unknownIds = 0;
    }
  }

  /** End delivery: unpin and forget everything still queued. */
  #stop(): void {
    this.#finished = true;
    this.#ended = true;
    const ready = this.#ready;
    for (let i = this.#readyHead; i < ready.len; i++) this.#recycle(ready.a[i]!);
    this.#pending.flushAll((slot) => this.#recycle(slot));
    ready.len = this.#readyHead = 0;
  }

  #lastChunkId = -1;
  #lastChunk: InputChunk | undefined = undefined;

  /** The input buffer with this id (consecutive records mostly share one). */
  #chunk(id: number): InputChunk {
    if (id === this.#lastChunkId) return this.#lastChunk!;
    const c = this.#input.chunkById(id);
    this.#lastChunkId = id;
    this.#lastChunk = c;
    return c;
  }

  #eventAt(index: number): PerfDataEvent | undefined {
    return index < 0 ? undefined : this.#matcher.events[index];
  }

  #deliver(): ReadRecord {
    const slots = this.#slots;
    const slot = this.#ready.a[this.#readyHead++]!;
    const event = this.#eventAt(slots.event[slot]!);
    const fileOffset = slots.fileOffset[slot]!;
    let record = slots.record[slot];
    if (record === undefined) {
      const view = this.#chunk(slots.chunk[slot]!).view, s = slots.at[slot]!;
      record = {
        type: RecordType.SAMPLE,
        misc: view.getUint16(s + 4, true),
        size: view.getUint16(s + 6, true),
        sample: this.#state(event!).decoder.decode(view, s, fileOffset),
      };
    }
    const t = slots.time[slot]!;
    const out: ReadRecord = { record, event, offset: fileOffset, time: t === t ? t : undefined };
    this.#recycle(slot);
    if (this.#readyHead === this.#ready.len) this.#ready.len = this.#readyHead = 0;
    return out;
  }

  #fillRaw(cur: RawRecord, slot: number): void {
    const slots = this.#slots;
    cur.fileOffset = slots.fileOffset[slot]!;
    cur.timeOrNaN = slots.time[slot]!;
    const event = this.#eventAt(slots.event[slot]!);
    cur.event = event;
    const record = slots.record[slot];
    cur.decoded = record;
    if (record === undefined) {
      const view = this.#chunk(slots.chunk[slot]!).view, s = slots.at[slot]!;
      cur.view = view;
      cur.offset = s;
      cur.type = RecordType.SAMPLE;
      cur.misc = view.getUint16(s + 4, true);
      cur.size = view.getUint16(s + 6, true);
      cur.decoder = this.#state(event!).decoder;
    } else {
      cur.type = record.type;
      cur.misc = record.misc;
      cur.size = record.size;
      cur.decoder = undefined;
    }
  }

  #lastEvent: PerfDataEvent | undefined = undefined;
  #lastState: EventState | undefined = undefined;

  #state(event: PerfDataEvent): EventState {
    if (event === this.#lastEvent && this.#lastState!.format === event.format) {
      return this.#lastState!;
    }
    let st = this.#states[event.index];
    if (st === undefined || st.format !== event.format) {
      st = eventState(event);
      this.#states[event.index] = st;
    }
    this.#lastEvent = event;
    this.#lastState = st;
    return st;
  }

  #recycle(slot: number): void {
    const slots = this.#slots;
    const chunk = slots.chunk[slot]!;
    if (chunk >= 0) this.#input.release(this.#chunk(chunk));
    else slots.record[slot] = undefined;
    slots.release(slot);
  }

  #useQueue(): boolean {
    return this.#queueing ??= this.#ordered && (this.info.events[0]?.sampleIdAll ?? false);
  }

  /** Route a read record: queued for its round, or ready now. */
  #route(slot: number, kernel: boolean): void {
    const time = this.#slots.time[slot]!;
    if (kernel && !OrderedEvents.immediate(time) && this.#useQueue()) {
      this.#pending.push(time, slot);
    } else {
      this.#ready.push(slot);
    }
  }

  /** Read records until enough are ready, the input ends or a read error is stashed. */
  async #fill(): Promise<void> {
    try {
      while (this.#ready.len - this.#readyHead < READY_TARGET) {
        if (this.#scanBuffered()) continue;
        if (!(await this.#readOne(false))) break;
      }
    } catch (e) {
      this.#ended = true;
      this.#error = e;
      this.#hasError = true;
      return;
    }
  }

  /**
   * Process the records that are wholly in the buffer, without waiting;
   * anything unusual (end of buffer, a bad size, a trailing payload, a stop)
   * is left to {@linkcode Session.#readOne}.
   *
   * @returns Whether any record was processed.
   */
  #scanBuffered(): boolean {
    const input = this.#input;
    let any = false;
    if (this.#swap !== undefined) return false; // big-endian input: one record at a time
    while (this.#ready.len - this.#readyHead < READY_TARGET && !this.#ended) {
      const start = input.start;
      const avail = input.end - start;
      if (avail < 8) break;
      const view = input.view;
      const size = view.getUint16(start + 6, true);
      if (size < 8 || avail < size) break;
      const type = view.getUint32(start, true);
      if (
        type === RecordType.HEADER_TRACING_DATA || type === RecordType.AUXTRACE ||
        type === RecordType.COMPRESSED || type === RecordType.COMPRESSED2
      ) break;
      if (this.#process(view, start, type, size, input.position, false, false) < 0) break;
      any = true;
    }
    return any;
  }

  /** Mark the end of input: everything queued becomes ready. */
  #end(): void {
    this.#ended = true;
    const left = this.#decompressor.leftover;
    if (left > 0) {
      this.warn(
        new ReadWarning(
          "truncated",
          `${this.#source}: compressed data ends inside a record (${left} bytes left): dropped`,
          { bytes: left },
        ),
      );
    }
    this.#pending.flushAll(this.#toReady);
    for (const [type, count] of this.#unswapped) {
      this.warn(
        new ReadWarning(
          "unsupported",
          `${this.#source}: big-endian file: ${count} record(s) of type ${type} have no ` +
            "byte-order conversion and were read as they are",
          { count },
        ),
      );
    }
    for (const msg of this.#auxTally?.warnings() ?? []) {
      const a = this.info.aux!;
      this.warn(
        new ReadWarning("aux", `${this.#source}: ${msg}`, { bytes: a.bytes, count: a.records }),
      );
    }
  }

  /** AUX area data seen (PERF_RECORD_AUXTRACE payloads). */
  #auxTally: AuxTally | undefined = undefined;
  get #aux(): AuxTally {
    return this.#auxTally ??= new AuxTally(this.info);
  }

  /**
   * Read one record, waiting for input as needed. Returns false at the end
   * of the input, and before a user record that changes the event list
   * while records read earlier are still undelivered (so they are delivered
   * under the state they were read in).
   */
  async #readOne(prefetch: boolean): Promise<boolean> {
    if (this.#ended) return false;
    const input = this.#input;
    const source = this.#source;
    if (input.end - input.start < 8 && !(await input.ensure(8))) {
      if (input.available > 0) {
        this.warn(
          new ReadWarning(
            "truncated",
            `${source}: data ends inside a record header at offset ${input.position} ` +
              `(${input.available} bytes left): stopping`,
            { offset: input.position, bytes: input.available, stops: true },
          ),
        );
      }
      this.#end();
      return false;
    }
    const offset = input.position;
    let view = input.view;
    let s = input.start;
    const raw = this.#raw(offset);
    const type = view.getUint32(s, !raw);
    const size = view.getUint16(s + 6, !raw);
    if (size < 8) {
      throw new FormatError(
        `Record type ${type} has size ${size}, below the 8-byte header`,
        offset,
        source,
      );
    }
    if (input.end - input.start < size && !(await input.ensure(size))) {
      if (!this.info.pipe && !this.truncatedFile) {
        throw new FormatError(
          `Record type ${type} of ${size} bytes runs past the end of the data section ` +
            `(${input.available} bytes left)`,
          offset,
          source,
        );
      }
      this.warn(
        new ReadWarning(
          "truncated",
          `${source}: data truncated: record type ${type} of ${size} bytes at offset ${offset} ` +
            `is incomplete (${input.available} bytes left): stopping`,
          { offset, bytes: input.available, stops: true },
        ),
      );
      this.#end();
      return false;
    }
    view = input.view;
    s = input.start;
    if (raw) {
      this.#swapRecord(view, s, offset);
      this.#swappedAt = offset;
    }
    if (type === RecordType.COMPRESSED || type === RecordType.COMPRESSED2) {
      await this.#decompress(view, s, type, size, offset);
      return true;
    }
    const trailing = this.#process(view, s, type, size, offset, prefetch, false);
    if (trailing < 0) return false;
    if (trailing > 0) {
      const slot = this.#deferred;
      this.#deferred = -1;
      if (type === RecordType.HEADER_TRACING_DATA && trailing <= MAX_HEADER_AREA) {
        const bytes = await input.take(trailing);
        if (bytes === null) {
          throw new FormatError(
            `Tracing data of ${trailing} bytes after record type ${type} runs past the end of the data`,
            offset,
            source,
          );
        }
        try {
          this.info.tracingData = parseTracingData(bytes, offset + size, source);
          nameTracepoints(this.info);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
          this.warn(
            new ReadWarning(
              "unsupported",
              `${source}: ${e.message}: tracepoint payloads will not be printed`,
              { offset },
            ),
          );
        }
      } else {
        if (type === RecordType.AUXTRACE) this.#aux.add(trailing);
        await this.#skipBytes(trailing, type, offset);
      }
      this.#route(slot, false);
    }
    return true;
  }

  readonly #decompressor = new Decompressor();

  /**
   * A COMPRESSED / COMPRESSED2 record: decompress its payload (one zstd
   * stream per file) and process the records in it, in place of the record,
   * as perf's `perf_session__process_compressed_event` does.
   */
  async #decompress(view: DataView, s: number, type: number, size: number, offset: number) {
    const payload = compressedPayload(view, s, type, size, offset, this.#source);
    this.#input.skip(size);
    const bytes = await this.#decompressor.push(payload, offset, this.#source);
    const inner = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let p = 0; p < bytes.length;) {
      if (this.#swap !== undefined) {
        if (p + 8 > bytes.length) break;
        const n = inner.getUint16(p + 6, false);
        if (n < 8 || p + n > bytes.length) break;
        this.#swapRecord(inner, p, offset);
      }
      const t = inner.getUint32(p, true);
      const n = inner.getUint16(p + 6, true);
      const trailing = this.#process(inner, p, t, n, offset, true, true);
      if (trailing > 0) {
        const slot = this.#deferred;
        this.#deferred = -1;
        this.#route(slot, false);
        this.warn(
          new ReadWarning(
            "damaged",
            `${this.#source}: record type ${t} inside PERF_RECORD_COMPRESSED at offset ${offset} ` +
              `announces ${trailing} bytes of payload outside it: payload ignored`,
            { offset, bytes: trailing },
          ),
        );
      }
      p += n;
    }
  }

  /** Stream offset of each HEADER_ATTR's `sample_type` by event index (pipe mode). */
  readonly #attrOffsets = new Map<number, number>();

  /** A user record routed only after its trailing payload was skipped. */
  #deferred = -1;

  /**
   * Process the record at the input's start (all `size` bytes buffered) and
   * consume it. Returns the bytes of payload that follow it (its slot is
   * then in `#deferred`), or -1 to stop before it (nothing consumed).
   */
  #process(
    view: DataView,
    s: number,
    type: number,
    size: number,
    offset: number,
    prefetch: boolean,
    inner: boolean,
  ): number {
    const input = this.#input;
    const source = this.#source;
    const slots = this.#slots;
    if (type <= KERNEL_RECORD_MAX && type !== 0) {
      if (!inner) input.skip(size);
      const event = this.#matcher.match(view, s, type, size);
      if (!event) {
        this.#unknownIds++;
        return 0;
      }
      let time: number;
      let record: PerfRecord | undefined;
      if (type === RecordType.SAMPLE) {
        const st = this.#state(event);
        if (inner) {
          // Decompressed bytes are not pinned input: decode now.
          const sample = st.decoder.simple && !st.decoder.fits(view, s)
            ? decodeSample(view, s, event.format, offset)
            : st.decoder.decode(view, s, offset);
          record = { type, misc: view.getUint16(s + 4, true), size, sample };
          time = sample.time ?? NaN;
        } else if (st.decoder.fits(view, s)) {
          const t = st.timeAt;
          time = t >= 0
            ? view.getUint32(s + t + 4, true) * 0x1_0000_0000 + view.getUint32(s + t, true)
            : NaN;
        } else {
          const sample = st.decoder.simple
            ? decodeSample(view, s, event.format, offset) // throws: the record is malformed
            : st.decoder.decode(view, s, offset);
          record = { type, misc: view.getUint16(s + 4, true), size, sample };
          time = sample.time ?? NaN;
        }
      } else {
        record = decodeRecord(view, s, event.format, event.sampleIdAll, offset);
        time = record.sampleId?.time ?? NaN;
        if (type === RecordType.AUX && size >= 32) {
          this.#aux.auxRecord(view.getUint32(s + 24, true));
        }
      }
      const slot = slots.alloc();
      if (record === undefined) {
        slots.chunk[slot] = input.pin().id;
        slots.at[slot] = s;
      } else {
        slots.chunk[slot] = -1;
        slots.record[slot] = record;
      }
      slots.fileOffset[slot] = offset;
      slots.time[slot] = time;
      slots.event[slot] = event.index;
      this.#route(slot, true);
      return 0;
    }
    if (type < RecordType.HEADER_ATTR || type > PERF_USER_RECORD_MAX) {
      if (!inner) input.skip(size);
      this.warn(
        new ReadWarning(
          "skipped",
          `${source}: unknown record type ${type} (${size} bytes) at offset ${offset}: skipped`,
          { offset, bytes: size, count: 1 },
        ),
      );
      return 0;
    }
    if (type === RecordType.COMPRESSED || type === RecordType.COMPRESSED2) {
      // Only inside decompressed data (the reader decompresses the outer ones).
      throw new FormatError(
        `PERF_RECORD_COMPRESSED${
          type === RecordType.COMPRESSED2 ? "2" : ""
        } nested in compressed data`,
        offset,
        source,
      );
    }
    if (
      !prefetch && this.#readyHead < this.#ready.len &&
      (type === RecordType.HEADER_ATTR || type === RecordType.EVENT_UPDATE ||
        type === RecordType.HEADER_FEATURE)
    ) {
      return -1; // deliver what was read before it first
    }
    let record: PerfRecord;
    let trailing: number;
    try {
      record = decodeRecord(view, s, DUMMY_FORMAT, false, offset);
      this.#userRecord(type, view, s, size, offset);
      trailing = this.#trailingPayload(type, view, s, size);
    } finally {
      if (!inner) input.skip(size);
    }
    if (type === RecordType.FINISHED_ROUND && this.#useQueue()) {
      this.#pending.finishedRound(this.#toReady);
    }
    const slot = slots.alloc();
    slots.chunk[slot] = -1;
    slots.record[slot] = record;
    slots.fileOffset[slot] = offset;
    slots.time[slot] = NaN;
    slots.event[slot] = -1;
    if (trailing > 0) {
      this.#deferred = slot;
      return trailing;
    }
    this.#route(slot, false);
    return 0;
  }

  #trailingPayload(type: number, view: DataView, s: number, size: number): number {
    // perf <= 4.x writes the record as 12 bytes (header + u32 size), later 16 (padded).
    if (type === RecordType.HEADER_TRACING_DATA && size >= 12) return view.getUint32(s + 8, true);
    if (type === RecordType.AUXTRACE && size >= 16) return getU64(view, s + 8);
    return 0;
  }

  async #skipBytes(n: number, type: number, offset: number): Promise<void> {
    const input = this.#input;
    let left = n;
    while (left > 0) {
      const step = Math.min(left, 0x8000);
      if (!(await input.ensure(step))) {
        throw new FormatError(
          `Payload of ${n} bytes after record type ${type} runs past the end of the data`,
          offset,
          this.#source,
        );
      }
      input.skip(step);
      left -= step;
    }
  }

  #userRecord(type: number, view: DataView, s: number, size: number, offset: number): void {
    const info = this.info;
    const matcher = this.#matcher;
    switch (type) {
      case RecordType.AUXTRACE_INFO:
        if (size >= 16) this.#aux.type = view.getUint32(s + 8, true);
        break;
      case RecordType.AUXTRACE_ERROR:
        if (size >= 12) this.#aux.error(view.getUint32(s + 8, true));
        break;
      case RecordType.HEADER_ATTR: {
        const attr = decodeAttr(view, s + 8, size - 8, offset + 8);
        const attrSize = attr.size === 0 ? 64 : attr.size;
        const ids: number[] = [];
        for (let p = s + 8 + attrSize; p + 8 <= s + size; p += 8) ids.push(getU64(view, p));
        this.#attrOffsets.set(matcher.events.length, offset + 8 + 24);
        matcher.add(makeEvent(matcher.events.length, attr, ids, defaultEventName(attr)));
        info.events = matcher.events;
        nameTracepoints(info);
        this.#queueing = undefined;
        break;
      }
      case RecordType.EVENT_UPDATE: {
        if (size < 24 || getU64(view, s + 8) !== EVENT_UPDATE_NAME) break;
        const event = matcher.byId(getU64(view, s + 16));
        if (!event) break;
        const bytes = new Uint8Array(view.buffer, view.byteOffset + s + 24, size - 24);
        const nul = bytes.indexOf(0);
        event.name = utf8.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
        break;
      }
      case RecordType.HEADER_FEATURE: {
        if (size < 16) break;
        const bit = getU64(view, s + 8);
        if (bit >= FEATURE_BITS || bit === HeaderFeature.LAST_FEATURE) break;
        if (!info.features.includes(bit)) info.features.push(bit);
        (info.featurePayloads ??= []).push({
          bit,
          bytes: new Uint8Array(view.buffer, view.byteOffset + s + 16, size - 16).slice(),
          fileOffset: offset + 16,
        });
        const msg = applyFeature(info, matcher, bit, view, s + 16, size - 16, offset + 16);
        if (msg) this.warn(new ReadWarning("feature", `${this.#source}: ${msg}`, { offset }));
        break;
      }
    }
  }
}
