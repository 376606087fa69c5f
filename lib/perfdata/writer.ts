/**
 * perf.data writers that real `perf script` / `perf report` (6.1) read
 * without warnings:
 *
 * - {@linkcode PerfDataWriter}: file mode. Writes a placeholder header, the ids
 *   and attrs (at 128 bytes, `PERF_ATTR_SIZE_VER7`, the largest perf 6.1
 *   accepts), streams the data section, then the feature sections, and patches
 *   the header last.
 * - {@linkcode PerfDataPipeWriter}: pipe mode (`perf record -o -` layout), no
 *   seeking: a 16-byte header, HEADER_ATTR and HEADER_FEATURE records, then data.
 *
 * Both emit `PERF_RECORD_FINISHED_ROUND` (when the first event has
 * `sample_id_all`) every `roundBytes` of data and at the end, so perf sorts
 * with a bounded queue. Records should be written in time order within a few
 * rounds, as perf's own writer does.
 *
 * @example Write a file with one COMM and one sample
 * ```ts ignore
 * import { defaultAttr, RecordType, SampleType } from "../abi/mod.ts";
 * import { PerfDataWriter } from "./writer.ts";
 * const attr = defaultAttr({ type: 1, sampleType: SampleType.IP | SampleType.TID, samplePeriod: 1 });
 * const w = await PerfDataWriter.create("out.data", { events: [{ attr, name: "cpu-clock" }] });
 * await w.writeRecord({ type: RecordType.COMM, misc: 0, size: 0, pid: 1, tid: 1, comm: "a" });
 * await w.writeSample({ ip: 0x401000n, pid: 1, tid: 1 });
 * await w.close();
 * ```
 *
 * @module
 */

import {
  ATTR_SIZE_VER7,
  ByteWriter,
  encodeAttr,
  encodeRecord,
  encodeSample,
  getU64,
  type PerfEventAttr,
  type PerfRecord,
  RecordType,
  type Sample,
  SampleLayout,
} from "../abi/mod.ts";
import { EventMatcher, makeEvent, type PerfDataEvent } from "./evlist.ts";
import {
  encodeBuildIds,
  encodeEventDesc,
  encodeNrCpus,
  encodeSampleTime,
  encodeStringFeature,
  encodeStringList,
  FEATURE_BITS,
  HeaderFeature,
} from "./features.ts";
import { FILE_HEADER_SIZE, PERF_MAGIC, PIPE_HEADER_SIZE } from "./reader.ts";
import { ByteSwapper } from "./swap.ts";

/** One event to declare in the written file. */
export interface WriterEvent {
  /** The attr (written at 128 bytes). */
  attr: PerfEventAttr;
  /** Sample ids (needed to tell several events apart; default none). */
  ids?: number[];
  /** perf's event name (default derived from the attr, e.g. `cpu-clock`). */
  name?: string;
}

/** Options of the writers. Unset host fields default to this machine's values. */
export interface PerfDataWriterOptions {
  /** The events, in index order (at least one). */
  events: WriterEvent[];
  /** HOSTNAME feature. */
  hostname?: string;
  /** OSRELEASE feature. */
  osRelease?: string;
  /** VERSION feature (perf prints it as "perf version"). */
  version?: string;
  /** ARCH feature. */
  arch?: string;
  /** NRCPUS online. */
  nrCpusOnline?: number;
  /** NRCPUS available. */
  nrCpusAvailable?: number;
  /** CMDLINE feature. */
  cmdline?: string[];
  /**
   * BUILD_ID feature entries (file mode only). `misc` cpumode defaults to
   * kernel (1) for `[kernel.kallsyms]` and user (2) otherwise.
   */
  buildIds?: { pid: number; filename: string; buildId: string; misc?: number }[];
  /** Emit FINISHED_ROUND automatically (when the first event has sample_id_all); default true. */
  autoFinishedRound?: boolean;
  /** Data bytes between automatic FINISHED_ROUNDs; default 1 MiB. */
  roundBytes?: number;
  /** Output buffer size; default 1 MiB. */
  bufferSize?: number;
  /**
   * Write the file a big-endian machine (ppc64, s390x) would have written:
   * every header, attr, feature and record field byte-swapped as perf reads
   * it back. Records are still given little-endian. Default false.
   */
  bigEndian?: boolean;
}

/**
 * The kernel map record `perf record` writes first: `PERF_RECORD_MMAP` for pid
 * -1 named `[kernel.kallsyms]_text`, with `pgoff` = the address of `_text`.
 * Without it `perf report` warns that kernel address maps were restricted.
 *
 * @param start Address of `_text` (default 0xffffffff81000000).
 * @param len Length of the kernel map (default up to the top of the address space).
 * @returns The record, ready for {@linkcode PerfDataWriter.writeRecord}.
 */
export function kernelMmapRecord(
  start = 0xffffffff81000000n,
  len = 0xffffffffffffffffn - 0xffffffff81000000n,
): PerfRecord {
  return {
    type: RecordType.MMAP,
    misc: 1, // PERF_RECORD_MISC_KERNEL
    size: 0,
    pid: -1,
    tid: 0,
    addr: start,
    len,
    pgoff: start,
    filename: "[kernel.kallsyms]_text",
    sampleId: { pid: -1, tid: 0, time: 0, cpu: 0 },
  };
}

/** Something records can be written to (`Deno.FsFile`, a `write()`-style writer). */
export interface ByteSink {
  /**
   * Write some bytes.
   *
   * @param p The bytes.
   * @returns How many were written.
   */
  write(p: Uint8Array): Promise<number>;
}

const FINISHED_ROUND_RECORD = (() => {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, RecordType.FINISHED_ROUND, true);
  v.setUint16(6, 8, true);
  return b;
})();

function archName(): string {
  return Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
}

function hostDefault(get: () => string, fallback: string): string {
  try {
    return get();
  } catch {
    return fallback;
  }
}

/**
 * The part both writers share: buffered output, FINISHED_ROUND pacing,
 * sample-time tracking (for SAMPLE_TIME) and the feature payloads.
 */
export abstract class RecordStream {
  /** The declared events. */
  readonly events: PerfDataEvent[];
  /** Bytes of data (records) written so far. */
  dataBytes = 0;
  /** Records written so far. */
  records = 0;
  /** The options the writer was created with. */
  protected readonly options: PerfDataWriterOptions;
  readonly #matcher = new EventMatcher();
  /** Set for a big-endian output. */
  protected readonly swap: ByteSwapper | undefined;
  readonly #sink: ByteSink;
  #buf: Uint8Array;
  #used = 0;
  #sinceRound = 0;
  #autoRound: boolean;
  #roundBytes: number;
  #firstTime = Infinity;
  #lastTime = 0;
  #closed = false;

  /**
   * Set up the stream (subclasses write their headers).
   *
   * @param sink Where bytes go.
   * @param options Events and host information.
   */
  protected constructor(sink: ByteSink, options: PerfDataWriterOptions) {
    if (!options.events.length) throw new RangeError("A perf.data writer needs at least one event");
    this.options = options;
    this.#sink = sink;
    this.swap = options.bigEndian ? new ByteSwapper(true) : undefined;
    options.events.forEach((e, i) =>
      this.#matcher.add(
        makeEvent(i, { ...e.attr, size: ATTR_SIZE_VER7 }, [...(e.ids ?? [])], e.name),
      )
    );
    this.#matcher.validate("<writer>");
    this.events = this.#matcher.events;
    this.#buf = new Uint8Array(Math.max(options.bufferSize ?? 1 << 20, 1 << 16));
    this.#autoRound = (options.autoFinishedRound ?? true) && this.events[0]!.sampleIdAll;
    this.#roundBytes = options.roundBytes ?? 1 << 20;
  }

  /**
   * Whether close() was called.
   *
   * @returns True after close().
   */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** Refuse further writes. */
  protected markClosed(): void {
    this.#closed = true;
  }

  /** Write bytes that are not records (headers). */
  protected async writeRaw(bytes: Uint8Array): Promise<void> {
    await this.flush();
    let off = 0;
    while (off < bytes.length) off += await this.#sink.write(bytes.subarray(off));
  }

  /** Flush the output buffer. */
  async flush(): Promise<void> {
    let off = 0;
    while (off < this.#used) off += await this.#sink.write(this.#buf.subarray(off, this.#used));
    this.#used = 0;
  }

  async #append(bytes: Uint8Array): Promise<void> {
    if (this.#used + bytes.length > this.#buf.length) await this.flush();
    this.#buf.set(bytes, this.#used);
    this.#used += bytes.length;
    this.dataBytes += bytes.length;
    this.records++;
  }

  /**
   * Write one encoded record (header included), e.g. from a reader or the ABI encoders.
   *
   * @param bytes The record; its header size must equal `bytes.length`.
   * @throws {RangeError} When the size field disagrees with the length or the writer is closed.
   */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new RangeError("Cannot write: the perf.data writer is closed");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = bytes.length >= 8 ? view.getUint16(6, true) : 0;
    if (size !== bytes.length || size < 8) {
      throw new RangeError(`Cannot write record: size field ${size} != ${bytes.length} bytes`);
    }
    const type = view.getUint32(0, true);
    if (type === RecordType.SAMPLE) this.#trackTime(view, size);
    if (type === RecordType.FINISHED_ROUND) this.#sinceRound = 0;
    else this.#sinceRound += size;
    await this.#append(this.swap === undefined ? bytes : this.bigEndianRecord(bytes));
    if (this.#autoRound && this.#sinceRound >= this.#roundBytes) await this.finishRound();
  }

  /**
   * Write a record followed by the payload its header announces but does
   * not count (PERF_RECORD_AUXTRACE's AUX data, PERF_RECORD_HEADER_TRACING_DATA's
   * tracing data), as perf record writes them.
   *
   * @param bytes The record; its header size must equal `bytes.length`.
   * @param payload The bytes after it.
   * @throws {RangeError} When the size field disagrees with the length or the writer is closed.
   */
  async writeWithPayload(bytes: Uint8Array, payload: Uint8Array): Promise<void> {
    await this.write(bytes);
    this.#sinceRound += payload.length;
    await this.#append(payload);
  }

  /**
   * A little-endian record as a big-endian machine writes it (a copy).
   *
   * @param bytes The record.
   * @returns The swapped copy.
   * @throws {RangeError} For a record type without a byte-order conversion.
   */
  protected bigEndianRecord(bytes: Uint8Array): Uint8Array {
    const out = bytes.slice();
    const v = new DataView(out.buffer);
    const type = v.getUint32(0, true), misc = v.getUint16(4, true), size = v.getUint16(6, true);
    const match = (view: DataView, s: number, t: number, n: number) =>
      this.#matcher.match(view, s, t, n);
    if (!this.swap!.body(v, 0, type, misc, size, match, this.events[0]!.sampleIdAll, 0)) {
      throw new RangeError(`Cannot write record type ${type} big-endian: no byte-order conversion`);
    }
    this.swap!.header(v, 0);
    return out;
  }

  #trackTime(view: DataView, size: number): void {
    const event = this.#matcher.match(view, 0, RecordType.SAMPLE, size);
    if (!event) return;
    const at = SampleLayout.of(event.format).time;
    if (at < 0 || at + 8 > size) return;
    const time = getU64(view, at);
    if (time < this.#firstTime) this.#firstTime = time;
    if (time > this.#lastTime) this.#lastTime = time;
  }

  /**
   * Encode and write a sample.
   *
   * @param sample The sample (fields its event's sample_type asks for).
   * @param eventIndex Index of its event; default 0.
   * @param misc Header misc (cpumode); default `PERF_RECORD_MISC_USER`.
   */
  async writeSample(sample: Sample, eventIndex = 0, misc = 2): Promise<void> {
    await this.write(encodeSample(sample, this.#event(eventIndex).format, misc));
  }

  /**
   * Encode and write a decoded record (samples included).
   *
   * @param record The record.
   * @param eventIndex Index of its event (for the sample format / trailer); default 0.
   */
  async writeRecord(record: PerfRecord, eventIndex = 0): Promise<void> {
    const event = this.#event(eventIndex);
    if (record.type === RecordType.SAMPLE && "sample" in record) {
      await this.write(encodeSample(record.sample, event.format, record.misc));
    } else {
      await this.write(encodeRecord(record, event.format.sampleType));
    }
  }

  /** Write a `PERF_RECORD_FINISHED_ROUND`. */
  async finishRound(): Promise<void> {
    await this.write(FINISHED_ROUND_RECORD);
  }

  /** End the data with a FINISHED_ROUND when rounds are automatic and data followed the last one. */
  protected async endRounds(): Promise<void> {
    if (this.#autoRound && this.#sinceRound > 0) await this.finishRound();
    await this.flush();
  }

  #event(index: number): PerfDataEvent {
    const e = this.events[index];
    if (!e) throw new RangeError(`No event ${index}: ${this.events.length} declared`);
    return e;
  }

  /** Feature payloads to write, by feature bit, ascending. */
  protected featurePayloads(fileMode: boolean): [number, Uint8Array][] {
    const o = this.options;
    const cpus = navigator.hardwareConcurrency ?? 1;
    const out: [number, Uint8Array][] = [];
    if (fileMode) {
      out.push([
        HeaderFeature.BUILD_ID,
        encodeBuildIds((o.buildIds ?? []).map((b) => ({
          ...b,
          misc: b.misc ?? (b.filename.startsWith("[kernel.kallsyms]") ? 1 : 2),
        }))),
      ]);
    }
    out.push([
      HeaderFeature.HOSTNAME,
      encodeStringFeature(o.hostname ?? hostDefault(() => Deno.hostname(), "localhost")),
    ]);
    out.push([
      HeaderFeature.OSRELEASE,
      encodeStringFeature(o.osRelease ?? hostDefault(() => Deno.osRelease(), "unknown")),
    ]);
    out.push([HeaderFeature.VERSION, encodeStringFeature(o.version ?? "callring")]);
    out.push([HeaderFeature.ARCH, encodeStringFeature(o.arch ?? archName())]);
    out.push([
      HeaderFeature.NRCPUS,
      encodeNrCpus(o.nrCpusAvailable ?? cpus, o.nrCpusOnline ?? o.nrCpusAvailable ?? cpus),
    ]);
    out.push([HeaderFeature.CMDLINE, encodeStringList(o.cmdline ?? ["callring"])]);
    out.push([
      HeaderFeature.EVENT_DESC,
      encodeEventDesc(this.events.map((e) => ({ attr: e.attr, name: e.name, ids: e.ids }))),
    ]);
    if (this.#firstTime <= this.#lastTime) {
      out.push([HeaderFeature.SAMPLE_TIME, encodeSampleTime(this.#firstTime, this.#lastTime)]);
    }
    return out;
  }
}

/** File-mode perf.data writer (seeks back to patch the header on close). */
export class PerfDataWriter extends RecordStream {
  readonly #file: Deno.FsFile;
  readonly #dataOffset: number;

  private constructor(file: Deno.FsFile, options: PerfDataWriterOptions, dataOffset: number) {
    super(file, options);
    this.#file = file;
    this.#dataOffset = dataOffset;
  }

  /**
   * Create (truncate) a perf.data file and write its header area.
   *
   * @param path Output path.
   * @param options Events and host information.
   * @returns The writer; call {@linkcode PerfDataWriter.close} to finish the file.
   */
  static async create(path: string, options: PerfDataWriterOptions): Promise<PerfDataWriter> {
    const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      const nIds = options.events.reduce((n, e) => n + (e.ids?.length ?? 0), 0);
      const attrsOffset = FILE_HEADER_SIZE + nIds * 8;
      const dataOffset = attrsOffset + options.events.length * (ATTR_SIZE_VER7 + 16);
      const writer = new PerfDataWriter(file, options, dataOffset);
      await writer.writeRaw(writer.#headerArea(0, []));
      return writer;
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Header + ids + attrs; data size and features are patched on close. */
  #headerArea(dataSize: number, features: number[]): Uint8Array {
    const w = new ByteWriter(this.#dataOffset);
    const idsStart = FILE_HEADER_SIZE;
    const attrsOffset = idsStart + this.events.reduce((n, e) => n + e.ids.length * 8, 0);
    w.bytes(new TextEncoder().encode(PERF_MAGIC));
    w.u64(FILE_HEADER_SIZE);
    w.u64(ATTR_SIZE_VER7 + 16);
    w.u64(attrsOffset);
    w.u64(this.events.length * (ATTR_SIZE_VER7 + 16));
    w.u64(this.#dataOffset);
    w.u64(dataSize);
    w.u64(0); // event_types
    w.u64(0);
    const bitmap = new Uint8Array(FEATURE_BITS / 8);
    for (const bit of features) bitmap[bit >> 3]! |= 1 << (bit & 7);
    w.bytes(bitmap);
    for (const e of this.events) for (const id of e.ids) w.u64(id);
    let idsAt = idsStart;
    for (const e of this.events) {
      w.bytes(encodeAttr(e.attr));
      w.u64(e.ids.length ? idsAt : 0);
      w.u64(e.ids.length * 8);
      idsAt += e.ids.length * 8;
    }
    const out = w.finish();
    const sw = this.swap;
    if (sw !== undefined) {
      // As a 64-bit big-endian perf writes it: magic and fields as u64, the bitmap as u64 words.
      const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
      sw.words(v, 0, attrsOffset);
      for (let at = attrsOffset; at < out.length; at += ATTR_SIZE_VER7 + 16) {
        sw.attr(v, at, ATTR_SIZE_VER7);
        sw.words(v, at + ATTR_SIZE_VER7, at + ATTR_SIZE_VER7 + 16);
      }
    }
    return out;
  }

  /** Finish: final FINISHED_ROUND, feature sections, header patch; closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.endRounds();
      this.markClosed();
      const features = this.featurePayloads(true);
      const tableAt = this.#dataOffset + this.dataBytes;
      const table = new ByteWriter(features.length * 16);
      let at = tableAt + features.length * 16;
      for (const [, payload] of features) {
        table.u64(at);
        table.u64(payload.length);
        at += payload.length;
      }
      const sw = this.swap;
      const tableBytes = table.finish();
      if (sw !== undefined) {
        sw.words(new DataView(tableBytes.buffer), 0, tableBytes.length);
        for (const [bit, payload] of features) {
          sw.feature(
            bit,
            new DataView(payload.buffer, payload.byteOffset, payload.length),
            0,
            payload.length,
          );
        }
      }
      await this.writeRaw(tableBytes);
      for (const [, payload] of features) await this.writeRaw(payload);
      await this.#file.seek(0, Deno.SeekMode.Start);
      await this.writeRaw(this.#headerArea(this.dataBytes, features.map(([bit]) => bit)));
    } finally {
      this.#file.close();
    }
  }
}

/** Pipe-mode perf.data writer (no seeking; what `perf record -o -` produces). */
export class PerfDataPipeWriter extends RecordStream {
  readonly #release: () => Promise<void>;

  private constructor(
    sink: ByteSink,
    options: PerfDataWriterOptions,
    release: () => Promise<void>,
  ) {
    super(sink, options);
    this.#release = release;
  }

  /**
   * Start a pipe-mode stream: writes the 16-byte header, HEADER_ATTR records
   * and HEADER_FEATURE records (hostname, os release, version, arch, nrcpus,
   * cmdline, event desc, then the end-of-features marker).
   *
   * @param out A `WritableStream` (e.g. `Deno.stdout.writable`) or a `write()`-style writer.
   * @param options Events and host information.
   * @returns The writer; call {@linkcode PerfDataPipeWriter.close} at the end.
   */
  static async create(
    out: WritableStream<Uint8Array> | ByteSink,
    options: PerfDataWriterOptions,
  ): Promise<PerfDataPipeWriter> {
    let sink: ByteSink;
    let release = () => Promise.resolve();
    if (out instanceof WritableStream) {
      const w = out.getWriter();
      sink = {
        async write(p: Uint8Array): Promise<number> {
          await w.write(p.slice());
          return p.length;
        },
      };
      release = () => w.close();
    } else {
      sink = out;
    }
    const writer = new PerfDataPipeWriter(sink, options, release);
    await writer.#start();
    return writer;
  }

  async #start(): Promise<void> {
    const h = new ByteWriter(16);
    h.bytes(new TextEncoder().encode(PERF_MAGIC));
    h.u64(PIPE_HEADER_SIZE);
    const head = h.finish();
    this.swap?.words(new DataView(head.buffer), 0, 16);
    await this.writeRaw(head);
    for (const e of this.events) {
      const w = new ByteWriter(8 + ATTR_SIZE_VER7 + e.ids.length * 8);
      w.u32(RecordType.HEADER_ATTR);
      w.u16(0);
      w.u16(8 + ATTR_SIZE_VER7 + e.ids.length * 8);
      w.bytes(encodeAttr(e.attr));
      for (const id of e.ids) w.u64(id);
      const rec = w.finish();
      await this.writeRaw(this.swap === undefined ? rec : this.bigEndianRecord(rec));
    }
    const features = this.featurePayloads(false);
    features.push([HeaderFeature.LAST_FEATURE, new Uint8Array(0)]);
    for (const [bit, payload] of features) {
      if (bit === HeaderFeature.SAMPLE_TIME) continue; // unknown before the data
      const w = new ByteWriter(16 + payload.length);
      w.u32(RecordType.HEADER_FEATURE);
      w.u16(0);
      w.u16(16 + payload.length);
      w.u64(bit);
      w.bytes(payload);
      const rec = w.finish();
      if (this.swap !== undefined) {
        this.swap.feature(bit, new DataView(rec.buffer), 16, payload.length);
        await this.writeRaw(this.bigEndianRecord(rec));
      } else {
        await this.writeRaw(rec);
      }
    }
  }

  /** Finish the stream (final FINISHED_ROUND, flush, close a WritableStream). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.endRounds();
    this.markClosed();
    await this.#release();
  }
}
