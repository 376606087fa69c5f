/**
 * Streaming perf.data reader: file mode (`PERFILE2` header, attrs, data,
 * feature sections) and pipe mode (`perf record -o -`: a 16-byte header, then
 * HEADER_ATTR / HEADER_FEATURE / EVENT_UPDATE records in the stream), from a
 * path, `-` (stdin) or any stream. The data section is read in chunks into
 * one reused buffer; records come out decoded, in perf's ordered-events order
 * by default (the order `perf script` prints) or in file order.
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
  FormatError,
  getU64,
  KERNEL_RECORD_MAX,
  PERF_USER_RECORD_MAX,
  type PerfRecord,
  RecordType,
} from "../abi/mod.ts";
import { type ByteReader, ChunkedInput, DEFAULT_CHUNK_SIZE, readerFromStream } from "./chunked.ts";
import { EventMatcher, makeEvent, type PerfDataEvent } from "./evlist.ts";
import {
  type BuildIdEntry,
  decodeBuildIds,
  decodeEventDesc,
  decodeNrCpus,
  decodeSampleTime,
  decodeStringFeature,
  decodeStringList,
  FEATURE_BITS,
  FeatureCursor,
  HeaderFeature,
} from "./features.ts";
import { OrderedQueue } from "./ordered.ts";

export type { PerfDataEvent } from "./evlist.ts";

/** `"PERFILE2"` as the first 8 bytes of a little-endian file. */
export const PERF_MAGIC = "PERFILE2";
/** Size of `struct perf_file_header` with the feature bitmap. */
export const FILE_HEADER_SIZE = 104;
/** Size of the pre-feature-bitmap header perf still accepts (`offsetof(adds_features)`). */
export const LEGACY_FILE_HEADER_SIZE = 72;
/** Size of the pipe-mode header `{magic, size}`. */
export const PIPE_HEADER_SIZE = 16;
/** Most warnings kept in {@linkcode PerfDataFile.warnings}. */
export const MAX_WARNINGS = 100;

/** What the header, attrs and feature sections (or pipe-mode header records) say. */
export interface PerfDataInfo {
  /** Pipe-mode data (`perf record -o -`). */
  pipe: boolean;
  /** The events (evsels) in index order. In pipe mode, those seen so far. */
  events: PerfDataEvent[];
  /** File offset of the data section (16 in pipe mode). */
  dataOffset: number;
  /** Size of the data section (bytes available after the header in pipe mode). */
  dataSize: number;
  /** Feature bits that are set (file: `adds_features`; pipe: HEADER_FEATURE records). */
  features: number[];
  /** HOSTNAME. */
  hostname?: string;
  /** OSRELEASE. */
  osRelease?: string;
  /** VERSION (perf's version). */
  version?: string;
  /** ARCH. */
  arch?: string;
  /** NRCPUS online. */
  nrCpusOnline?: number;
  /** NRCPUS available. */
  nrCpusAvailable?: number;
  /** CMDLINE (argv of perf record). */
  cmdline?: string[];
  /** BUILD_ID entries (`misc & 7` is the cpumode: 1 kernel, 2 user). */
  buildIds?: { pid: number; filename: string; buildId: string; misc: number }[];
  /** SAMPLE_TIME. */
  sampleTime?: { first: number; last: number };
}

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
  onWarning?: (message: string) => void;
  /** Name of the input in messages; default the path or `<stdin>` / `<stream>`. */
  source?: string;
}

/** An open perf.data input. */
export interface PerfDataFile {
  /** Header, attrs and features. */
  readonly info: PerfDataInfo;
  /** Warnings so far (first {@linkcode MAX_WARNINGS}). */
  readonly warnings: string[];
  /** Bytes read from the input so far. */
  readonly bytesRead: number;
  /**
   * Iterate the records of the data section (once).
   *
   * @returns The records.
   */
  records(): AsyncIterableIterator<ReadRecord>;
  /** Release the input. */
  close(): void;
}

const ascii = new TextDecoder("latin1");
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
  const file = await Deno.open(path, { read: true });
  try {
    const fileSize = (await file.stat()).size;
    return await openFile(file, fileSize, { ...options, source });
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
  checkMagic(bytes, source);
  const size = getU64(view, 8);
  if (size !== PIPE_HEADER_SIZE) {
    throw new FormatError(
      `File-mode perf.data (header size ${size}) needs a seekable file: pass its path, ` +
        "or record with `perf record -o -` for pipe mode",
      8,
      source,
    );
  }
  const info = emptyInfo(true, PIPE_HEADER_SIZE, Infinity);
  const session = new Session(info, new EventMatcher(), head, { ...options, source }, closer);
  await session.prefetchPipeHeader();
  return session;
}

function checkMagic(bytes: Uint8Array, source: string): void {
  const magic = ascii.decode(bytes.subarray(0, 8));
  if (magic === PERF_MAGIC) return;
  if (magic === "2ELIFREP") {
    throw new FormatError(
      "Big-endian perf.data (byte-swapped PERFILE2 magic) is not supported",
      0,
      source,
    );
  }
  if (magic === "PERFFILE") {
    throw new FormatError("Version 1 perf.data (PERFFILE magic) is not supported", 0, source);
  }
  throw new FormatError(
    `Not a perf.data file: magic ${JSON.stringify(magic)}, expected "PERFILE2"`,
    0,
    source,
  );
}

function emptyInfo(pipe: boolean, dataOffset: number, dataSize: number): PerfDataInfo {
  return { pipe, events: [], dataOffset, dataSize, features: [] };
}

async function readAt(
  file: Deno.FsFile,
  offset: number,
  length: number,
  fileSize: number,
  what: string,
  source: string,
): Promise<Uint8Array> {
  if (offset < 0 || length < 0 || offset + length > fileSize) {
    throw new FormatError(
      `${what} (${length} bytes at ${offset}) lies outside the ${fileSize}-byte file`,
      offset,
      source,
    );
  }
  await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) throw new FormatError(`File ends inside ${what}`, offset + filled, source);
    filled += n;
  }
  return out;
}

/** Largest attrs/ids/feature area read into memory at once (sanity bound). */
const MAX_HEADER_AREA = 64 << 20;

async function openFile(
  file: Deno.FsFile,
  fileSize: number,
  options: ReadOptions & { source: string },
): Promise<PerfDataFile> {
  const source = options.source;
  if (fileSize < PIPE_HEADER_SIZE) {
    throw new FormatError(
      `File of ${fileSize} bytes is too short for a perf.data header`,
      0,
      source,
    );
  }
  const first = await readAt(file, 0, PIPE_HEADER_SIZE, fileSize, "file header", source);
  checkMagic(first, source);
  const headerSize = getU64(new DataView(first.buffer), 8);
  if (headerSize === PIPE_HEADER_SIZE) {
    const input = new ChunkedInput(
      file,
      options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      PIPE_HEADER_SIZE,
      fileSize - PIPE_HEADER_SIZE,
    );
    await file.seek(PIPE_HEADER_SIZE, Deno.SeekMode.Start);
    const info = emptyInfo(true, PIPE_HEADER_SIZE, fileSize - PIPE_HEADER_SIZE);
    const session = new Session(info, new EventMatcher(), input, options, file);
    await session.prefetchPipeHeader();
    return session;
  }
  if (headerSize !== FILE_HEADER_SIZE && headerSize !== LEGACY_FILE_HEADER_SIZE) {
    throw new FormatError(
      `Header size ${headerSize} is neither ${FILE_HEADER_SIZE} nor ${LEGACY_FILE_HEADER_SIZE} ` +
        "(perf: incompatible file format)",
      8,
      source,
    );
  }
  const hb = await readAt(file, 0, headerSize, fileSize, "file header", source);
  const hv = new DataView(hb.buffer);
  const attrSize = getU64(hv, 16);
  const attrsOffset = getU64(hv, 24);
  const attrsSize = getU64(hv, 32);
  const dataOffset = getU64(hv, 40);
  const dataSize = getU64(hv, 48);
  if (attrSize === 0) throw new FormatError("attr_size is 0", 16, source);
  if (attrSize < 64 + 16 || attrSize % 8 !== 0 || attrSize > 4096) {
    throw new FormatError(`attr_size ${attrSize} is not a perf_file_attr size`, 16, source);
  }
  if (attrsSize > MAX_HEADER_AREA) {
    throw new FormatError(`Attrs section of ${attrsSize} bytes is implausible`, 32, source);
  }
  const nrAttrs = Math.floor(attrsSize / attrSize);
  const attrBytes = await readAt(file, attrsOffset, nrAttrs * attrSize, fileSize, "attrs", source);
  const av = new DataView(attrBytes.buffer);
  const matcher = new EventMatcher();
  for (let i = 0; i < nrAttrs; i++) {
    const at = i * attrSize;
    const attr = decodeAttr(av, at, attrSize - 16, attrsOffset + at);
    const idsOffset = getU64(av, at + attrSize - 16);
    const idsSize = getU64(av, at + attrSize - 8);
    if (idsSize % 8 !== 0 || idsSize > MAX_HEADER_AREA) {
      throw new FormatError(
        `ids section of attr ${i} has size ${idsSize}`,
        attrsOffset + at + attrSize - 8,
        source,
      );
    }
    const idBytes = await readAt(file, idsOffset, idsSize, fileSize, `ids of attr ${i}`, source);
    const iv = new DataView(idBytes.buffer);
    const ids: number[] = [];
    for (let j = 0; j < idsSize; j += 8) ids.push(getU64(iv, j));
    matcher.add(makeEvent(i, attr, ids));
  }
  matcher.validate(source);
  if (dataOffset < headerSize || dataOffset > fileSize) {
    throw new FormatError(
      `Data section offset ${dataOffset} lies outside the ${fileSize}-byte file`,
      40,
      source,
    );
  }
  const info = emptyInfo(false, dataOffset, dataSize);
  info.events = matcher.events;
  const warnings: string[] = [];
  const dataEnd = dataOffset + dataSize;
  const truncated = dataEnd > fileSize;
  if (truncated) {
    warnings.push(
      `${source}: data section ends at ${dataEnd} but the file has ${fileSize} bytes ` +
        "(truncated file): reading what is there",
    );
  }
  if (dataSize === 0) {
    warnings.push(
      `${source}: data size is 0 (was perf record properly terminated?): no records to read`,
    );
  }
  if (headerSize === FILE_HEADER_SIZE) {
    for (let bit = 0; bit < FEATURE_BITS; bit++) {
      if ((hb[72 + (bit >> 3)]! >> (bit & 7)) & 1) info.features.push(bit);
    }
    if (!truncated && info.features.length) {
      await readFeatureSections(file, fileSize, dataEnd, info, matcher, warnings, source);
    }
  }
  const input = new ChunkedInput(
    file,
    options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    dataOffset,
    Math.min(dataSize, fileSize - dataOffset),
  );
  await file.seek(dataOffset, Deno.SeekMode.Start);
  const session = new Session(info, matcher, input, options, file);
  session.truncatedFile = truncated;
  for (const w of warnings) session.warn(w);
  return session;
}

async function readFeatureSections(
  file: Deno.FsFile,
  fileSize: number,
  tableOffset: number,
  info: PerfDataInfo,
  matcher: EventMatcher,
  warnings: string[],
  source: string,
): Promise<void> {
  const n = info.features.length;
  if (tableOffset + n * 16 > fileSize) {
    warnings.push(`${source}: feature table at ${tableOffset} runs past the end of the file`);
    return;
  }
  const table = new DataView(
    (await readAt(file, tableOffset, n * 16, fileSize, "feature table", source)).buffer,
  );
  for (let i = 0; i < n; i++) {
    const bit = info.features[i]!;
    if (!FEATURE_DECODERS.has(bit)) continue;
    const offset = getU64(table, i * 16);
    const size = getU64(table, i * 16 + 8);
    if (offset + size > fileSize || size > MAX_HEADER_AREA) {
      warnings.push(
        `${source}: feature ${featureName(bit)} section (${size} bytes at ${offset}) ` +
          "lies outside the file: ignored",
      );
      continue;
    }
    const bytes = await readAt(file, offset, size, fileSize, "feature section", source);
    const msg = applyFeature(info, matcher, bit, new DataView(bytes.buffer), 0, size, offset);
    if (msg) warnings.push(`${source}: ${msg}`);
  }
}

const FEATURE_DECODERS = new Set<number>([
  HeaderFeature.EVENT_DESC,
  HeaderFeature.HOSTNAME,
  HeaderFeature.OSRELEASE,
  HeaderFeature.VERSION,
  HeaderFeature.ARCH,
  HeaderFeature.NRCPUS,
  HeaderFeature.CMDLINE,
  HeaderFeature.BUILD_ID,
  HeaderFeature.SAMPLE_TIME,
]);

function featureName(bit: number): string {
  return Object.entries(HeaderFeature).find(([, v]) => v === bit)?.[0] ?? `#${bit}`;
}

/** Apply one feature payload to `info`; returns a warning message on malformed payloads. */
function applyFeature(
  info: PerfDataInfo,
  matcher: EventMatcher,
  bit: number,
  view: DataView,
  start: number,
  size: number,
  fileOffset: number,
): string | undefined {
  const c = new FeatureCursor(view, start, size, fileOffset, featureName(bit));
  try {
    switch (bit) {
      case HeaderFeature.HOSTNAME:
        info.hostname = decodeStringFeature(c);
        break;
      case HeaderFeature.OSRELEASE:
        info.osRelease = decodeStringFeature(c);
        break;
      case HeaderFeature.VERSION:
        info.version = decodeStringFeature(c);
        break;
      case HeaderFeature.ARCH:
        info.arch = decodeStringFeature(c);
        break;
      case HeaderFeature.NRCPUS: {
        const n = decodeNrCpus(c);
        info.nrCpusAvailable = n.available;
        info.nrCpusOnline = n.online;
        break;
      }
      case HeaderFeature.CMDLINE:
        info.cmdline = decodeStringList(c);
        break;
      case HeaderFeature.SAMPLE_TIME:
        info.sampleTime = decodeSampleTime(c);
        break;
      case HeaderFeature.BUILD_ID:
        info.buildIds = decodeBuildIds(c).map((e: BuildIdEntry) => ({
          pid: e.pid,
          filename: e.filename,
          buildId: e.buildId,
          misc: e.misc,
        }));
        break;
      case HeaderFeature.EVENT_DESC: {
        const descs = decodeEventDesc(c);
        descs.forEach((d, i) => {
          const event = matcher.events[i];
          if (!event) return;
          if (d.name) event.name = d.name;
          matcher.addIds(event, d.ids);
        });
        break;
      }
    }
  } catch (e) {
    if (e instanceof FormatError) return `${e.message}: feature ignored`;
    throw e;
  }
  return undefined;
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

class Session implements PerfDataFile {
  readonly info: PerfDataInfo;
  readonly warnings: string[] = [];
  truncatedFile = false;
  readonly #matcher: EventMatcher;
  readonly #input: ChunkedInput;
  readonly #options: ReadOptions & { source?: string };
  readonly #closer: Closeable;
  readonly #source: string;
  #prefetched: ReadRecord[] = [];
  #started = false;
  #closed = false;
  #nWarnings = 0;
  #unknownIds = 0;

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
  }

  get bytesRead(): number {
    return this.#input.bytesRead;
  }

  warn(message: string): void {
    this.#nWarnings++;
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
    this.#options.onWarning?.(message);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closer.close();
  }

  /** Pipe mode: read the leading user records so `info.events` is known. */
  async prefetchPipeHeader(): Promise<void> {
    const input = this.#input;
    const start = input.position;
    while (input.position - start < MAX_HEADER_AREA) {
      if (!(await input.ensure(8))) break;
      const type = input.view.getUint32(input.start, true);
      if (type < RecordType.HEADER_ATTR || type === RecordType.FINISHED_ROUND) break;
      if (type === RecordType.COMPRESSED || type === RecordType.COMPRESSED2) break;
      const rec = await this.#next();
      if (rec === null) break;
      if (rec !== undefined) this.#prefetched.push(rec);
    }
    this.#matcher.validate(this.#source);
  }

  records(): AsyncIterableIterator<ReadRecord> {
    if (this.#started) throw new Error("records() can be called once per open perf.data input");
    this.#started = true;
    return this.#iterate();
  }

  async *#iterate(): AsyncIterableIterator<ReadRecord> {
    const ordered = this.#options.ordered ?? true;
    const queue = new OrderedQueue<ReadRecord>();
    const useQueue = () => ordered && (this.info.events[0]?.sampleIdAll ?? false);
    const prefetched = this.#prefetched;
    this.#prefetched = [];
    for (const r of prefetched) yield r;
    while (true) {
      const r = await this.#next();
      if (r === null) break;
      if (r === undefined) continue;
      const type = r.record.type;
      if (type === RecordType.FINISHED_ROUND) {
        if (useQueue()) { for (const q of queue.flushRound()) yield q; }
        yield r;
      } else if (type < RecordType.HEADER_ATTR && useQueue() && !OrderedQueue.immediate(r.time)) {
        queue.push(r.time!, r);
      } else {
        yield r;
      }
    }
    for (const q of queue.flushAll()) yield q;
    if (this.#unknownIds) {
      this.warn(
        `${this.#source}: ${this.#unknownIds} records with an id not in the header skipped`,
      );
    }
  }

  /** Read and decode the next record: null at the end, undefined when skipped. */
  async #next(): Promise<ReadRecord | null | undefined> {
    const input = this.#input;
    const source = this.#source;
    if (!(await input.ensure(8))) {
      if (input.available > 0) {
        this.warn(
          `${source}: data ends inside a record header at offset ${input.position} ` +
            `(${input.available} bytes left): stopping`,
        );
      }
      return null;
    }
    const offset = input.position;
    let view = input.view;
    let s = input.start;
    const type = view.getUint32(s, true);
    const size = view.getUint16(s + 6, true);
    if (size < 8) {
      throw new FormatError(
        `Record type ${type} has size ${size}, below the 8-byte header`,
        offset,
        source,
      );
    }
    if (!(await input.ensure(size))) {
      if (!this.info.pipe && !this.truncatedFile) {
        throw new FormatError(
          `Record type ${type} of ${size} bytes runs past the end of the data section ` +
            `(${input.available} bytes left)`,
          offset,
          source,
        );
      }
      this.warn(
        `${source}: data truncated: record type ${type} of ${size} bytes at offset ${offset} ` +
          `is incomplete (${input.available} bytes left): stopping`,
      );
      return null;
    }
    view = input.view;
    s = input.start;
    try {
      if (type <= KERNEL_RECORD_MAX && type !== 0) {
        const event = this.#matcher.match(view, s, type, size);
        if (!event) {
          this.#unknownIds++;
          return undefined;
        }
        const record = decodeRecord(view, s, event.format, event.sampleIdAll, offset);
        const time = "sample" in record ? record.sample.time : record.sampleId?.time;
        return { record, event, offset, time };
      }
      if (type < RecordType.HEADER_ATTR || type > PERF_USER_RECORD_MAX) {
        this.warn(
          `${source}: unknown record type ${type} (${size} bytes) at offset ${offset}: skipped`,
        );
        return undefined;
      }
      if (type === RecordType.COMPRESSED || type === RecordType.COMPRESSED2) {
        throw new FormatError(
          `PERF_RECORD_COMPRESSED${type === RecordType.COMPRESSED2 ? "2" : ""} (type ${type}): ` +
            "zstd-compressed data from `perf record -z` is not supported yet; re-record without -z",
          offset,
          source,
        );
      }
      const record = decodeRecord(view, s, DUMMY_FORMAT, false, offset);
      this.#userRecord(type, view, s, size, offset);
      const trailing = this.#trailingPayload(type, view, s, size);
      if (trailing > 0) await this.#skipBytes(trailing, type, offset);
      return { record, event: undefined, offset, time: undefined };
    } finally {
      // `s`/`size` refer to the buffer before any trailing payload was skipped.
      if (input.position === offset) input.skip(size);
    }
  }

  #trailingPayload(type: number, view: DataView, s: number, size: number): number {
    if (type === RecordType.HEADER_TRACING_DATA && size >= 16) return view.getUint32(s + 8, true);
    if (type === RecordType.AUXTRACE && size >= 16) return getU64(view, s + 8);
    return 0;
  }

  async #skipBytes(n: number, type: number, offset: number): Promise<void> {
    const input = this.#input;
    input.skip(input.view.getUint16(input.start + 6, true));
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
      case RecordType.HEADER_ATTR: {
        const attr = decodeAttr(view, s + 8, size - 8, offset + 8);
        const attrSize = attr.size === 0 ? 64 : attr.size;
        const ids: number[] = [];
        for (let p = s + 8 + attrSize; p + 8 <= s + size; p += 8) ids.push(getU64(view, p));
        matcher.add(makeEvent(matcher.events.length, attr, ids));
        info.events = matcher.events;
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
        const msg = applyFeature(info, matcher, bit, view, s + 16, size - 16, offset + 16);
        if (msg) this.warn(`${this.#source}: ${msg}`);
        break;
      }
    }
  }
}
