/**
 * Streaming capture reader: reads a capture with chunked reads into one reused
 * buffer (memory is bounded by that buffer, the reorder queue and the
 * defragmenter's limits), validates every chunk (header CRC + own file offset,
 * payload CRC), merges the per-CPU streams in time order like perf's ordered
 * events (flushing per drain round), reassembles continuation fragments,
 * resynchronises over damage with a warning naming the damaged byte range, and
 * seeks to a time by searching the chunk headers (the file's sync points).
 *
 * @module
 */

import {
  AttrFlag,
  FormatError,
  hasFlag,
  HEADER_SIZE,
  RecordType,
  type SampleFormat,
  sampleFormatOf,
} from "../abi/mod.ts";
import { crc32 } from "../ring/crc32.ts";
import { Defragmenter, type DefragOptions, type StreamRecord } from "../ring/defrag.ts";
import {
  type CaptureHeader,
  CHUNK_FLAG_GAP,
  CHUNK_HEADER_SIZE,
  type ChunkHeader,
  decodeFileHeader,
  fileHeaderSize,
  findNextChunk,
  MAX_CHUNK_PAYLOAD,
  recordTime,
  validChunkAt,
} from "./format.ts";

/** Random-access byte source (a file, or bytes in memory for tests). */
export interface ByteSource {
  /** Read into `buf` at file offset `position`; returns bytes read (0 at end of file). */
  readAt(buf: Uint8Array, position: number): Promise<number>;
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Release the source. */
  close(): void;
}

/**
 * A {@linkcode ByteSource} over a file (Deno.open, seek + read; never whole-file).
 *
 * @param path File path.
 * @returns The source.
 */
export async function fileSource(path: string): Promise<ByteSource> {
  const file = await Deno.open(path, { read: true });
  return {
    async readAt(buf: Uint8Array, position: number): Promise<number> {
      await file.seek(position, Deno.SeekMode.Start);
      let n = 0;
      while (n < buf.length) {
        const r = await file.read(buf.subarray(n));
        if (r === null) break;
        n += r;
      }
      return n;
    },
    async size(): Promise<number> {
      return (await file.stat()).size;
    },
    close(): void {
      file.close();
    },
  };
}

/**
 * A {@linkcode ByteSource} over bytes in memory.
 *
 * @param bytes The bytes.
 * @returns The source.
 */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    readAt(buf: Uint8Array, position: number): Promise<number> {
      const n = Math.max(0, Math.min(buf.length, bytes.length - position));
      buf.set(bytes.subarray(position, position + n));
      return Promise.resolve(n);
    },
    size: () => Promise.resolve(bytes.length),
    close(): void {},
  };
}

/** A damaged or missing byte range, reported once. */
export interface CaptureWarning {
  /** First damaged file byte. */
  start: number;
  /** One past the last damaged file byte. */
  end: number;
  /** What happened. */
  message: string;
}

/** Per-CPU accounting of a read. */
export interface CpuStats {
  /** Records delivered (extension records excluded). */
  records: number;
  /** Sum of PERF_RECORD_LOST counts. */
  lost: number;
  /** Stream bytes read. */
  bytes: number;
  /** Records found in the CPU's stream before reassembly (sync and LOST records excluded). */
  streamRecords: number;
}

/** Summary of a read. */
export interface ReadSummary {
  /** File bytes read. */
  bytesRead: number;
  /** Valid chunks read. */
  chunks: number;
  /** Records delivered. */
  records: number;
  /** Warnings (damage, gaps, truncation). */
  warnings: CaptureWarning[];
  /** Per-CPU accounting. */
  cpus: Map<number, CpuStats>;
  /** Sync records seen (and dropped). */
  syncRecords: number;
  /** Fragmented events reassembled. */
  defragmented: number;
  /** Fragmented events given up incomplete (counted as lost samples). */
  incompleteEvents: number;
  /** Duplicate fragment pieces ignored. */
  duplicatePieces: number;
  /** Records released early because the reorder queue was full. */
  reorderOverflows: number;
}

/** Options of {@linkcode CaptureReader.read}. */
export interface ReadOptions {
  /** File offset to start at (a chunk header, e.g. from seekTime); default: after the header. */
  from?: number;
  /** Skip records older than this time. */
  minTime?: number;
  /** Keep callring extension records other than sync/fragment (e.g. symbols); default true. */
  keepExtensions?: boolean;
  /** Most records held in the reorder queue (default 1,000,000). */
  maxReorder?: number;
  /** Defragmenter bounds. */
  defrag?: DefragOptions;
  /** Stop after the first warning instead of resynchronising. */
  strict?: boolean;
}

/** Result of {@linkcode CaptureReader.seekTime}. */
export interface SeekResult {
  /** File offset of the first chunk whose cumulative max time is >= the target (file size if none). */
  offset: number;
  /** Bytes read by the search. */
  bytesRead: number;
  /** Probe reads made. */
  probes: number;
}

class RecordHeap {
  #a: StreamRecord[] = [];
  #serial: number[] = [];
  #next = 0;
  get size(): number {
    return this.#a.length;
  }
  peekTime(): number {
    return this.#a[0].time;
  }
  #less(i: number, j: number): boolean {
    const a = this.#a[i].time, b = this.#a[j].time;
    return a < b || (a === b && this.#serial[i] < this.#serial[j]);
  }
  #swap(i: number, j: number): void {
    const a = this.#a, s = this.#serial;
    [a[i], a[j]] = [a[j], a[i]];
    [s[i], s[j]] = [s[j], s[i]];
  }
  push(r: StreamRecord): void {
    this.#a.push(r);
    this.#serial.push(this.#next++);
    let i = this.#a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }
  pop(): StreamRecord {
    const top = this.#a[0];
    const lastR = this.#a.pop()!;
    const lastS = this.#serial.pop()!;
    if (this.#a.length) {
      this.#a[0] = lastR;
      this.#serial[0] = lastS;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.#a.length && this.#less(l, m)) m = l;
        if (r < this.#a.length && this.#less(r, m)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Reads one capture. */
export class CaptureReader {
  /** The file header. */
  readonly header: CaptureHeader;
  /** The sample format of the events. */
  readonly format: SampleFormat;
  /** The source's size in bytes when opened. */
  readonly fileSize: number;
  readonly #src: ByteSource;
  readonly #sampleIdAll: boolean;
  readonly #name: string;

  private constructor(src: ByteSource, header: CaptureHeader, fileSize: number, name: string) {
    this.#src = src;
    this.header = header;
    this.fileSize = fileSize;
    this.format = sampleFormatOf(header.events[0].attr);
    this.#sampleIdAll = hasFlag(header.events[0].attr, AttrFlag.sampleIdAll);
    this.#name = name;
  }

  /**
   * Open a capture.
   *
   * @param source A path or a {@linkcode ByteSource}.
   * @returns The reader.
   * @throws {FormatError} When the header is not a valid capture header.
   */
  static async open(source: string | ByteSource): Promise<CaptureReader> {
    const name = typeof source === "string" ? source : "<capture>";
    const src = typeof source === "string" ? await fileSource(source) : source;
    try {
      const size = await src.size();
      const head = new Uint8Array(16);
      if ((await src.readAt(head, 0)) < 16) {
        throw new FormatError("Capture is shorter than 16 bytes", 0, name);
      }
      const hsize = fileHeaderSize(head);
      const hb = new Uint8Array(hsize);
      if ((await src.readAt(hb, 0)) < hsize) {
        throw new FormatError(`Capture header of ${hsize} bytes is cut off`, 0, name);
      }
      return new CaptureReader(src, decodeFileHeader(hb), size, name);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Close the source. */
  close(): void {
    this.#src.close();
  }

  /**
   * Stream every record in merged time order.
   *
   * @param onRecord Called per record (the bytes are owned by the caller); a returned promise is awaited.
   * @param options Start offset, time filter, bounds.
   * @returns The read summary.
   * @throws {FormatError} In `strict` mode, at the first damage.
   */
  async read(
    onRecord: (rec: StreamRecord) => unknown,
    options: ReadOptions = {},
  ): Promise<ReadSummary> {
    const sum: ReadSummary = {
      bytesRead: 0,
      chunks: 0,
      records: 0,
      warnings: [],
      cpus: new Map(),
      syncRecords: 0,
      defragmented: 0,
      incompleteEvents: 0,
      duplicatePieces: 0,
      reorderOverflows: 0,
    };
    const keepExt = options.keepExtensions ?? true;
    const minTime = options.minTime ?? -Infinity;
    const maxReorder = options.maxReorder ?? 1_000_000;
    const defrag = new Defragmenter(this.format, options.defrag);
    const heap = new RecordHeap();
    const expected = new Map<number, number>();
    const lastTime = new Map<number, number>();
    let round = -1;
    let cumPrev = -Infinity;
    let cumCur = -Infinity;
    const warn = (start: number, end: number, message: string) => {
      if (options.strict) throw new FormatError(message, start, this.#name);
      sum.warnings.push({ start, end, message: `${message} (bytes ${start}-${end})` });
    };
    const cpuStats = (cpu: number): CpuStats => {
      let s = sum.cpus.get(cpu);
      if (!s) sum.cpus.set(cpu, s = { records: 0, lost: 0, bytes: 0, streamRecords: 0 });
      return s;
    };
    const emit = (rec: StreamRecord) => {
      const v = new DataView(rec.bytes.buffer, rec.bytes.byteOffset, rec.bytes.byteLength);
      const type = v.getUint32(0, true);
      if (type === RecordType.CALLRING_SYNC) {
        sum.syncRecords++;
        return;
      }
      if (type >= 0x4c00 && type <= 0x4cff && !keepExt) return;
      if (rec.time < minTime) return;
      const cs = cpuStats(rec.cpu);
      if (type === RecordType.LOST) {
        cs.lost += v.getUint32(16, true) + v.getUint32(20, true) * 2 ** 32;
      }
      cs.records++;
      sum.records++;
      out.push(rec);
    };
    const out: StreamRecord[] = [];
    const deliver = async () => {
      for (let i = 0; i < out.length; i++) {
        const p = onRecord(out[i]);
        if (p instanceof Promise) await p;
      }
      out.length = 0;
    };
    const release = (limit: number) => {
      while (heap.size && heap.peekTime() <= limit) {
        defrag.push(heap.pop());
        for (let r = defrag.pop(); r; r = defrag.pop()) emit(r);
      }
    };

    const bufSize = Math.max(1 << 20, 2 * (MAX_CHUNK_PAYLOAD + CHUNK_HEADER_SIZE));
    const buf = new Uint8Array(bufSize);
    let bufStart = options.from ?? this.header.size;
    let bufLen = 0;
    let eof = false;
    let pos = bufStart;
    const fill = async (need: number): Promise<number> => {
      if (pos + need <= bufStart + bufLen) return need;
      const keep = bufStart + bufLen - pos;
      buf.copyWithin(0, pos - bufStart, pos - bufStart + keep);
      bufStart = pos;
      bufLen = keep;
      while (!eof && bufLen < buf.length) {
        const n = await this.#src.readAt(buf.subarray(bufLen), bufStart + bufLen);
        if (n === 0) eof = true;
        bufLen += n;
        sum.bytesRead += n;
        if (bufLen >= need) break;
      }
      return Math.min(need, bufStart + bufLen - pos);
    };

    let damageStart = -1;
    for (;;) {
      const avail = await fill(CHUNK_HEADER_SIZE);
      if (avail < CHUNK_HEADER_SIZE) {
        if (damageStart >= 0) warn(damageStart, pos + avail, "Damaged bytes before end of capture");
        else if (avail > 0) warn(pos, pos + avail, "Capture cut off inside a chunk header");
        break;
      }
      const c = validChunkAt(buf, pos - bufStart, pos);
      if (!c) {
        if (damageStart < 0) damageStart = pos;
        const found = findNextChunk(buf.subarray(0, bufLen), pos - bufStart + 8, bufStart);
        if (found.offset >= 0) pos = bufStart + found.offset;
        else pos = Math.max(pos + 8, bufStart + bufLen - CHUNK_HEADER_SIZE + 8) & ~7;
        continue;
      }
      if (damageStart >= 0) {
        warn(damageStart, pos, "Damaged bytes skipped: no valid chunk header");
        damageStart = -1;
      }
      const total = CHUNK_HEADER_SIZE + c.length;
      const got = await fill(total);
      const payloadOff = pos - bufStart + CHUNK_HEADER_SIZE;
      if (got < total) {
        warn(
          pos + got,
          pos + total,
          `Capture cut off in chunk ${c.seq} (cpu ${c.cpu}); records before the cut salvaged`,
        );
        this.#records(
          buf,
          payloadOff,
          got - CHUNK_HEADER_SIZE,
          c,
          true,
          expected,
          lastTime,
          heap,
          cpuStats,
          warn,
        );
        break;
      }
      if (crc32(buf, payloadOff, payloadOff + c.length) !== c.payloadCrc) {
        warn(
          pos + CHUNK_HEADER_SIZE,
          pos + total,
          `Payload CRC mismatch in chunk ${c.seq} (cpu ${c.cpu})`,
        );
        expected.delete(c.cpu);
        pos += total;
        continue;
      }
      if (c.round !== round) {
        if (round >= 0) {
          release(cumPrev);
          cumPrev = Math.max(cumPrev, cumCur);
          cumCur = -Infinity;
        }
        round = c.round;
      }
      sum.chunks++;
      const exp = expected.get(c.cpu);
      if (exp !== undefined && exp !== c.position && !(c.flags & CHUNK_FLAG_GAP)) {
        warn(
          pos,
          pos,
          `CPU ${c.cpu} stream jumps from ${exp} to ${c.position}: ${
            c.position - exp
          } stream bytes missing`,
        );
      }
      const maxT = this.#records(
        buf,
        payloadOff,
        c.length,
        c,
        false,
        expected,
        lastTime,
        heap,
        cpuStats,
        warn,
      );
      if (maxT > cumCur) cumCur = maxT;
      pos += total;
      while (heap.size > maxReorder) {
        sum.reorderOverflows++;
        release(heap.peekTime());
      }
      if (out.length) await deliver();
    }
    release(Infinity);
    defrag.finish();
    for (let r = defrag.pop(); r; r = defrag.pop()) emit(r);
    await deliver();
    sum.defragmented = defrag.stats.completed;
    sum.incompleteEvents = defrag.stats.incomplete;
    sum.duplicatePieces = defrag.stats.duplicates;
    return sum;
  }

  #records(
    buf: Uint8Array,
    off: number,
    len: number,
    c: ChunkHeader,
    salvage: boolean,
    expected: Map<number, number>,
    lastTime: Map<number, number>,
    heap: RecordHeap,
    cpuStats: (cpu: number) => CpuStats,
    warn: (s: number, e: number, m: string) => void,
  ): number {
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let t = lastTime.get(c.cpu) ?? c.minTime;
    let maxT = -Infinity;
    let p = 0;
    const cs = cpuStats(c.cpu);
    while (p + HEADER_SIZE <= len) {
      const size = v.getUint16(off + p + 6, true);
      if (size < HEADER_SIZE || size % 8 || p + size > len) {
        if (!salvage) {
          const fileAt = c.fileOffset + CHUNK_HEADER_SIZE + p;
          warn(
            fileAt,
            c.fileOffset + CHUNK_HEADER_SIZE + len,
            `Impossible record size ${size} in chunk ${c.seq}`,
          );
        }
        break;
      }
      const rt = recordTime(v, off + p, size, this.format.sampleType, this.#sampleIdAll);
      if (rt >= 0) t = rt;
      if (t > maxT) maxT = t;
      const type = v.getUint32(off + p, true);
      if (type !== RecordType.CALLRING_SYNC && type !== RecordType.LOST) cs.streamRecords++;
      heap.push({
        bytes: buf.slice(off + p, off + p + size),
        cpu: c.cpu,
        time: t,
        position: c.position + p,
      });
      p += size;
    }
    lastTime.set(c.cpu, t);
    expected.set(c.cpu, c.position + p);
    cs.bytes += p;
    return maxT;
  }

  /**
   * Find the first chunk whose cumulative max time is >= `time` (monotone in
   * file order, so the search is exact), by an interpolation search on the
   * chunks' min times, every third step a bisection, over chunk headers: each
   * probe reads one window of `maxChunk + 2 * 64` bytes and takes the first
   * valid chunk header in it.
   *
   * @param time Target time (ns).
   * @returns Offset to pass to {@linkcode read} as `from`, and the bytes read.
   */
  async seekTime(time: number): Promise<SeekResult> {
    const window = this.header.maxChunk + 2 * CHUNK_HEADER_SIZE + 64;
    const buf = new Uint8Array(Math.max(window, 0x10000 + 2 * CHUNK_HEADER_SIZE));
    let bytesRead = 0;
    let probes = 0;
    const step = 1024;
    const probe = async (at: number): Promise<ChunkHeader | undefined> => {
      // Read small steps until a chunk header shows up (chunks are <= maxChunk,
      // a single record may make one larger). Each step keeps the previous
      // 64 bytes so a header straddling two steps is still seen.
      const base = at & ~7;
      let have = 0;
      while (base + have < this.fileSize) {
        const want = Math.min(step, this.fileSize - base - have, buf.length - have);
        if (want <= 0) {
          // Window full without a header: slide it, keeping the last 64 bytes.
          const keep = CHUNK_HEADER_SIZE;
          buf.copyWithin(0, have - keep, have);
          return await probe(base + have - keep);
        }
        const n = await this.#src.readAt(buf.subarray(have, have + want), base + have);
        bytesRead += n;
        probes++;
        have += n;
        const found = findNextChunk(
          buf.subarray(0, have),
          Math.max(0, have - n - CHUNK_HEADER_SIZE),
          base,
        );
        if (found.chunk) return found.chunk;
        if (n < want) return undefined;
      }
      return undefined;
    };
    let lo = this.header.size; // no chunk starting before lo qualifies
    let tLo = -1;
    let best = this.fileSize; // a qualifying chunk (or EOF)
    let tBest = Infinity;
    let upper = this.fileSize; // chunks starting in [upper, best) do not exist
    // Endpoints first, so interpolation has times to work with.
    const firstChunk = await probe(lo);
    if (firstChunk) {
      if (firstChunk.cumMaxTime >= time) {
        return { offset: firstChunk.fileOffset, bytesRead, probes };
      }
      lo = firstChunk.fileOffset + CHUNK_HEADER_SIZE + firstChunk.length;
      tLo = firstChunk.minTime;
    }
    if (this.fileSize - window > lo) {
      const late = await probe(this.fileSize - window);
      if (late && late.cumMaxTime >= time) {
        best = late.fileOffset;
        tBest = late.minTime;
        upper = this.fileSize - window;
      } else if (late) {
        lo = late.fileOffset + CHUNK_HEADER_SIZE + late.length;
        tLo = late.minTime;
      }
    }
    let round = 0;
    while (upper - lo > window) {
      let mid: number;
      if (round++ % 3 !== 2 && tLo >= 0 && Number.isFinite(tBest) && tBest > tLo) {
        const f = (time - tLo) / (tBest - tLo);
        mid = lo + Math.floor(Math.min(0.98, Math.max(0.02, f)) * (upper - lo));
      } else {
        mid = lo + Math.floor((upper - lo) / 2);
      }
      const c = await probe(mid);
      if (!c || c.fileOffset >= best) {
        upper = mid;
      } else if (c.cumMaxTime >= time) {
        best = c.fileOffset;
        tBest = c.minTime;
        upper = mid;
      } else {
        lo = c.fileOffset + CHUNK_HEADER_SIZE + c.length;
        tLo = c.minTime;
      }
    }
    // Linear walk over the few chunks left in [lo, upper).
    for (let at = lo; at < best;) {
      const c = await probe(at);
      if (!c || c.fileOffset >= best) break;
      if (c.cumMaxTime >= time) {
        best = c.fileOffset;
        break;
      }
      at = c.fileOffset + CHUNK_HEADER_SIZE + c.length;
    }
    return { offset: best, bytesRead, probes };
  }
}
