/**
 * Capture writer: appends drained ring bytes to a capture file as per-CPU
 * chunks of whole records, each behind a self-validating chunk header. The
 * file is append-only, so a capture cut off at any byte stays readable up to
 * the cut. Memory is bounded by one output buffer (default 1 MiB).
 *
 * Sub-buffer streams: the unused end of a header-padded sub-buffer (its header's `used` says
 * where records stop) is left out of the file; the chunk ends there and the next one starts at
 * the next sub-buffer's stream position, which the reader expects from the same header.
 *
 * @module
 */

import { AttrFlag, hasFlag, HEADER_SIZE } from "../abi/mod.ts";
import { crc32 } from "../ring/crc32.ts";
import type { RingReader } from "../ring/reader.ts";
import { SubbufWalker } from "../ring/subbuf.ts";
import {
  type CaptureHeader,
  CHUNK_FLAG_OOB,
  CHUNK_FLAG_SIDEBAND,
  CHUNK_HEADER_SIZE,
  encodeChunkHeader,
  encodeFileHeader,
  isSidebandType,
  recordTime,
} from "./format.ts";

/** Where the capture bytes go. */
export interface CaptureSink {
  /** Write all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  /** Release the sink. */
  close(): Promise<void> | void;
}

/**
 * A {@linkcode CaptureSink} over a file opened for writing.
 *
 * @param path File path (created or truncated).
 * @returns The sink.
 */
export async function captureFileSink(path: string): Promise<CaptureSink> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  return {
    async write(bytes: Uint8Array): Promise<void> {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
    },
    close(): void {
      file.close();
    },
  };
}

/** Options of a {@linkcode CaptureWriter}. */
export type CaptureWriterHeader = Omit<CaptureHeader, "size" | "version">;

/** Counters of a {@linkcode CaptureWriter}. */
export interface CaptureWriterStats {
  /** Bytes written (header included). */
  bytes: number;
  /** Chunks written. */
  chunks: number;
  /** Records written. */
  records: number;
}

/** Appends chunks of ring bytes to a capture. */
export class CaptureWriter {
  /** The header written. */
  readonly header: CaptureWriterHeader;
  /** Counters. */
  readonly stats: CaptureWriterStats = { bytes: 0, chunks: 0, records: 0 };
  readonly #sink: CaptureSink;
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #used = 0;
  #fileOffset = 0;
  #seq = 0;
  #round = 0;
  #cumMax = 0;
  readonly #lastTime = new Map<number, number>();
  readonly #staging = new Uint8Array(0x10000 * 2);
  readonly #sampleType: number;
  readonly #sampleIdAll: boolean;
  readonly #walkers = new Map<number, SubbufWalker>();
  /** Header-style sub-buffer padding left out of the file, in bytes. */
  paddingOmitted = 0;

  /**
   * Create a writer and write the file header.
   *
   * @param sink Destination.
   * @param header Header fields.
   * @param bufferSize Output buffer size (default 1 MiB; at least 2 chunks).
   * @returns The writer.
   */
  static async create(
    sink: CaptureSink,
    header: CaptureWriterHeader,
    bufferSize = 1 << 20,
  ): Promise<CaptureWriter> {
    const w = new CaptureWriter(sink, header, bufferSize);
    const bytes = encodeFileHeader(header);
    await w.#append(bytes);
    return w;
  }

  private constructor(sink: CaptureSink, header: CaptureWriterHeader, bufferSize: number) {
    this.#sink = sink;
    this.header = header;
    const size = Math.max(bufferSize, 2 * (header.maxChunk + 0x10000 + CHUNK_HEADER_SIZE));
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
    this.#sampleType = header.events[0].attr.sampleType;
    this.#sampleIdAll = hasFlag(header.events[0].attr, AttrFlag.sampleIdAll);
  }

  /** Current drain round (chunks carry it; the reader flushes its reorder queue per round). */
  get round(): number {
    return this.#round;
  }

  /** Start the next drain round (call after draining every CPU once). */
  endRound(): void {
    this.#round++;
  }

  async #append(bytes: Uint8Array): Promise<void> {
    if (this.#used + bytes.length > this.#buf.length) await this.flush();
    if (bytes.length > this.#buf.length) {
      await this.#sink.write(bytes);
    } else {
      this.#buf.set(bytes, this.#used);
      this.#used += bytes.length;
    }
    this.#fileOffset += bytes.length;
    this.stats.bytes += bytes.length;
  }

  /** Write buffered bytes to the sink. */
  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await this.#sink.write(this.#buf.subarray(0, this.#used));
    this.#used = 0;
  }

  /**
   * Append whole records of one CPU stream, split into chunks of at most
   * `maxChunk` payload bytes at record boundaries.
   *
   * @param cpu CPU of the stream.
   * @param bytes Whole records, back to back.
   * @param position Stream position of `bytes[0]`.
   * @param flags Chunk flags for the first chunk (e.g. CHUNK_FLAG_GAP).
   * @throws {RangeError} When the bytes do not tile into records.
   */
  async addRecords(cpu: number, bytes: Uint8Array, position: number, flags = 0): Promise<void> {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const max = this.header.maxChunk;
    let start = 0;
    let p = 0;
    let minTime = Infinity;
    let maxTime = -1;
    let n = 0;
    let walker = this.#walkers.get(cpu);
    if (!walker) this.#walkers.set(cpu, walker = new SubbufWalker());
    // side-band (task and symbol records) goes in chunks of its own, flagged, so a time-window
    // reader can read it without reading the samples around it
    let side = false;
    const kind = () => side ? CHUNK_FLAG_SIDEBAND : 0;
    while (p < bytes.length) {
      const skip = walker.paddingAt(position + p);
      if (skip > 0) {
        if (p > start) {
          await this.#chunk(cpu, bytes, start, p, position, minTime, maxTime, n, flags | kind());
          flags = 0;
        }
        const end = Math.min(bytes.length, p + skip);
        this.paddingOmitted += end - p;
        p = start = end;
        minTime = Infinity;
        maxTime = -1;
        n = 0;
        continue;
      }
      if (p + HEADER_SIZE > bytes.length) {
        throw new RangeError(
          `Cannot add records: ${bytes.length - p} trailing bytes at stream ${position + p}`,
        );
      }
      const size = v.getUint16(p + 6, true);
      if (size < HEADER_SIZE || size % 8 || p + size > bytes.length) {
        throw new RangeError(
          `Cannot add records: impossible record size ${size} at stream ${position + p}`,
        );
      }
      const isSide = isSidebandType(v.getUint32(p, true));
      if (p > start && (p + size - start > max || isSide !== side)) {
        await this.#chunk(cpu, bytes, start, p, position, minTime, maxTime, n, flags | kind());
        flags = 0;
        start = p;
        minTime = Infinity;
        maxTime = -1;
        n = 0;
      }
      side = isSide;
      walker.see(v, p, position + p);
      const t = recordTime(v, p, size, this.#sampleType, this.#sampleIdAll);
      if (t >= 0) {
        if (t < minTime) minTime = t;
        if (t > maxTime) maxTime = t;
      }
      n++;
      p += size;
    }
    if (p > start) {
      await this.#chunk(cpu, bytes, start, p, position, minTime, maxTime, n, flags | kind());
    }
  }

  async #chunk(
    cpu: number,
    bytes: Uint8Array,
    start: number,
    end: number,
    position: number,
    minTime: number,
    maxTime: number,
    records: number,
    flags: number,
  ): Promise<void> {
    const len = end - start;
    if (this.#used + CHUNK_HEADER_SIZE + len > this.#buf.length) await this.flush();
    const last = this.#lastTime.get(cpu) ?? 0;
    if (maxTime >= 0) this.#lastTime.set(cpu, maxTime);
    if (maxTime > this.#cumMax) this.#cumMax = maxTime;
    encodeChunkHeader(this.#view, this.#used, {
      cpu,
      length: len,
      fileOffset: this.#fileOffset,
      position: position + start,
      seq: this.#seq++,
      round: this.#round,
      flags,
      minTime: minTime === Infinity ? last : minTime,
      cumMaxTime: this.#cumMax,
      payloadCrc: crc32(bytes, start, end),
    });
    this.#used += CHUNK_HEADER_SIZE;
    this.#fileOffset += CHUNK_HEADER_SIZE;
    this.stats.bytes += CHUNK_HEADER_SIZE;
    this.#buf.set(bytes.subarray(start, end), this.#used);
    this.#used += len;
    this.#fileOffset += len;
    this.stats.bytes += len;
    this.stats.chunks++;
    this.stats.records += records;
  }

  /**
   * Append records about a CPU's ring that are not part of its stream (e.g. a flight recorder's
   * `CALLRING_OVERWRITTEN` counts) as one chunk flagged OOB and SIDEBAND: the stream continuity
   * of the CPU is not affected.
   *
   * @param cpu The CPU they are about.
   * @param bytes Whole records, back to back (at most `maxChunk` bytes).
   * @throws {RangeError} When the bytes do not tile into records or exceed `maxChunk`.
   */
  async addOutOfBand(cpu: number, bytes: Uint8Array): Promise<void> {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length > this.header.maxChunk) {
      throw new RangeError(`Cannot add ${bytes.length} out-of-band bytes: over maxChunk`);
    }
    let minTime = Infinity;
    let maxTime = -1;
    let n = 0;
    for (let p = 0; p < bytes.length;) {
      const size = p + HEADER_SIZE <= bytes.length ? v.getUint16(p + 6, true) : 0;
      if (size < HEADER_SIZE || size % 8 || p + size > bytes.length) {
        throw new RangeError(`Cannot add out-of-band records: impossible record size at ${p}`);
      }
      const t = recordTime(v, p, size, this.#sampleType, this.#sampleIdAll);
      if (t >= 0) {
        if (t < minTime) minTime = t;
        if (t > maxTime) maxTime = t;
      }
      n++;
      p += size;
    }
    await this.#chunk(
      cpu,
      bytes,
      0,
      bytes.length,
      0,
      minTime,
      maxTime,
      n,
      CHUNK_FLAG_OOB | CHUNK_FLAG_SIDEBAND,
    );
  }

  /**
   * Drain a consume-mode ring into the capture.
   *
   * @param cpu CPU of the ring.
   * @param reader The ring's reader.
   * @param closedOnly Take only closed sub-buffers (header-padded sub-buffer rings).
   * @returns Bytes drained.
   */
  async drainRing(cpu: number, reader: RingReader, closedOnly = false): Promise<number> {
    const pieces: { bytes: Uint8Array; position: number }[] = [];
    let total = 0;
    const sink = (bytes: Uint8Array, position: number) => {
      pieces.push({ bytes: bytes.slice(), position });
      total += bytes.length;
    };
    const n = closedOnly ? reader.drainClosed(sink) : reader.drain(sink);
    if (n === 0) return 0;
    const joined = pieces.length === 1
      ? pieces[0].bytes
      : concat(pieces[0].bytes, pieces[1].bytes, this.#staging);
    await this.addRecords(cpu, joined, pieces[0].position);
    return total;
  }

  /** Flush and close the sink. */
  async close(): Promise<void> {
    await this.flush();
    await this.#sink.close();
  }
}

function concat(a: Uint8Array, b: Uint8Array, staging: Uint8Array): Uint8Array {
  const out = a.length + b.length <= staging.length
    ? staging.subarray(0, a.length + b.length)
    : new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
