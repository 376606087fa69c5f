/**
 * Where a live recording's records go: a callring capture (one stream per
 * ring, chunk headers as the file's sync points with CRCs, plus one stream for
 * the synthesized side-band) or a perf.data file that `perf report` reads,
 * written the way `perf record` writes one: the synthesized side-band first,
 * then each drain pass over the rings followed by `PERF_RECORD_FINISHED_ROUND`
 * (`record__mmap_read_all()`), and the BUILD_ID feature from the MMAP2 build
 * ids seen plus those known up front (the running kernel's, the vdso's).
 *
 * @module
 */

import {
  decodeRecord,
  encodeRecord,
  type PerfEventAttr,
  type PerfRecord,
  RecordType,
  sampleFormatOf,
} from "../abi/mod.ts";
import { CHUNK_FLAG_GAP } from "../capture/format.ts";
import { captureFileSink, CaptureWriter } from "../capture/writer.ts";
import { PerfDataWriter } from "../perfdata/writer.ts";
import { LIVE_CLOCKID } from "./events.ts";

/** A destination of a live recording. */
export interface LiveOutput {
  /** Write synthesized side-band records (before any ring data). */
  sideband(records: PerfRecord[]): Promise<void>;
  /**
   * Write whole records drained from one ring.
   *
   * @param stream Ring index.
   * @param bytes Whole records, back to back.
   * @param position Stream position of `bytes[0]`.
   * @param gap The stream is discontinuous before these bytes (an overwrite snapshot).
   */
  records(stream: number, bytes: Uint8Array, position: number, gap: boolean): Promise<void>;
  /** End one drain pass over every ring. */
  endRound(): Promise<void>;
  /** Finish the file. */
  close(): Promise<void>;
  /** Bytes written so far (headers included where known). */
  readonly bytes: number;
}

/** What an output needs to know about the recording. */
export interface LiveOutputInfo {
  /** The attr every event shares. */
  attr: PerfEventAttr;
  /** The event's name. */
  eventName: string;
  /** Kernel event ids, one per opened fd. */
  ids: number[];
  /** The side-band tracking event of a flight recording (perf's `dummy`), if any. */
  tracking?: { attr: PerfEventAttr; ids: number[]; name: string };
  /** The capture stream of each ring, by ring index. */
  ringStreams: number[];
  /** The capture stream of the synthesized side-band. */
  sidebandStream: number;
  /** Command line to store (perf.data CMDLINE). */
  cmdline: string[];
}

/** A BUILD_ID feature entry known before the data (the running kernel, the vdso). */
export interface KnownBuildId {
  /** `[kernel.kallsyms]`, `[vdso]`, or a path. */
  filename: string;
  /** Lower-case hex. */
  buildId: string;
  /** cpumode: 1 kernel, 2 user. */
  misc: number;
}

/**
 * Capture output: the stream of a sampling ring is its CPU number (as the
 * simulator's captures number them), the synthesized side-band is the stream
 * after the highest CPU, a flight recording's tracking rings follow it.
 */
export class CaptureOutput implements LiveOutput {
  readonly #w: CaptureWriter;
  readonly #sidebandStream: number;
  #sidebandPos = 0;

  readonly #ringStreams: number[];

  private constructor(w: CaptureWriter, info: LiveOutputInfo) {
    this.#w = w;
    this.#ringStreams = info.ringStreams;
    this.#sidebandStream = info.sidebandStream;
  }

  /**
   * Create the capture file.
   *
   * @param path Output path.
   * @param info The recording.
   * @returns The output.
   */
  static async create(path: string, info: LiveOutputInfo): Promise<CaptureOutput> {
    const w = await CaptureWriter.create(await captureFileSink(path), {
      events: [
        { attr: info.attr, ids: info.ids },
        ...(info.tracking ? [{ attr: info.tracking.attr, ids: info.tracking.ids }] : []),
      ],
      cpus: Math.max(info.sidebandStream, ...info.ringStreams) + 1,
      clockid: LIVE_CLOCKID,
      startTime: Date.now() * 1e6,
      syncDistance: 0,
      maxChunk: 1 << 16,
    });
    return new CaptureOutput(w, info);
  }

  /** @inheritdoc */
  get bytes(): number {
    return this.#w.stats.bytes;
  }

  /** @inheritdoc */
  async sideband(records: PerfRecord[]): Promise<void> {
    if (!records.length) return;
    const sampleType = this.#w.header.events[0]!.attr.sampleType;
    const parts = records.map((r) => encodeRecord(r, sampleType));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    await this.#w.addRecords(this.#sidebandStream, all, this.#sidebandPos);
    this.#sidebandPos += all.length;
    this.#w.endRound();
  }

  /** @inheritdoc */
  async records(stream: number, bytes: Uint8Array, position: number, gap: boolean): Promise<void> {
    await this.#w.addRecords(
      this.#ringStreams[stream]!,
      bytes,
      position,
      gap ? CHUNK_FLAG_GAP : 0,
    );
  }

  /** @inheritdoc */
  endRound(): Promise<void> {
    this.#w.endRound();
    return Promise.resolve();
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await this.#w.close();
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** perf.data output (file mode). */
export class PerfOutput implements LiveOutput {
  readonly #w: PerfDataWriter;
  readonly #buildIds: { pid: number; filename: string; buildId: string; misc?: number }[];
  readonly #seen: Set<string> = new Set();
  readonly #attr: PerfEventAttr;
  #sinceRound = 0;

  private constructor(
    w: PerfDataWriter,
    buildIds: { pid: number; filename: string; buildId: string; misc?: number }[],
    attr: PerfEventAttr,
  ) {
    this.#w = w;
    this.#buildIds = buildIds;
    this.#attr = attr;
  }

  /**
   * Create the perf.data file.
   *
   * @param path Output path.
   * @param info The recording.
   * @returns The output.
   */
  static async create(
    path: string,
    info: LiveOutputInfo,
    known: KnownBuildId[] = [],
  ): Promise<PerfOutput> {
    // The writer reads `buildIds` when it closes: entries are added as MMAP2 records pass.
    // perf writes the host machine's pid (-1) in every entry (machine__write_buildid_table).
    const buildIds: { pid: number; filename: string; buildId: string; misc?: number }[] = known
      .map((k) => ({ pid: -1, ...k }));
    const w = await PerfDataWriter.create(path, {
      events: [
        { attr: info.attr, ids: info.ids, name: info.eventName },
        ...(info.tracking ? [info.tracking] : []),
      ],
      cmdline: info.cmdline,
      buildIds,
      autoFinishedRound: false,
    });
    const out = new PerfOutput(w, buildIds, info.attr);
    for (const k of known) out.#seen.add(k.filename);
    return out;
  }

  /** @inheritdoc */
  get bytes(): number {
    return this.#w.dataBytes;
  }

  #noteBuildId(rec: PerfRecord): void {
    if (rec.type !== RecordType.MMAP2 || !("buildId" in rec) || !rec.buildId) return;
    const key = rec.filename;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const kernel = (rec.misc & 7) === 1;
    this.#buildIds.push({
      pid: -1,
      filename: rec.filename,
      buildId: hex(rec.buildId),
      misc: kernel ? 1 : 2,
    });
  }

  /** @inheritdoc */
  async sideband(records: PerfRecord[]): Promise<void> {
    for (const r of records) {
      this.#noteBuildId(r);
      await this.#w.writeRecord(r);
    }
    await this.#w.finishRound();
  }

  /** @inheritdoc */
  async records(_stream: number, bytes: Uint8Array, _position: number): Promise<void> {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const format = sampleFormatOf(this.#attr);
    let p = 0;
    while (p + 8 <= bytes.length) {
      const size = v.getUint16(p + 6, true);
      if (v.getUint32(p, true) === RecordType.MMAP2) {
        this.#noteBuildId(decodeRecord(v, p, format, true));
      }
      await this.#w.write(bytes.subarray(p, p + size));
      p += size;
    }
    this.#sinceRound += bytes.length;
  }

  /** @inheritdoc */
  async endRound(): Promise<void> {
    if (this.#sinceRound === 0) return;
    this.#sinceRound = 0;
    await this.#w.finishRound();
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await this.endRound();
    await this.#w.close();
  }
}
