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
import { OrderedEvents } from "../perfdata/ordered_events.ts";
import { crc32 } from "../ring/crc32.ts";
import { Defragmenter, type DefragOptions, type StreamRecord } from "../ring/defrag.ts";
import { SubbufWalker } from "../ring/subbuf.ts";
import { DamageCounter, DamageLedger, framing } from "./damage.ts";
import {
  type CaptureHeader,
  CHUNK_FLAG_GAP,
  CHUNK_FLAG_OOB,
  CHUNK_FLAG_SIDEBAND,
  CHUNK_HEADER_SIZE,
  type ChunkHeader,
  decodeFileHeader,
  FILE_FLAG_SIDEBAND_CHUNKS,
  fileHeaderSize,
  findNextChunk,
  isSidebandType,
  MAX_CHUNK_PAYLOAD,
  OverwriteDesign,
  recordTime,
  RingLayout,
  validChunkAt,
} from "./format.ts";

export { captureFileSource, captureMemorySource, type CaptureSource } from "./source.ts";
import { captureFileSource, type CaptureSource } from "./source.ts";

/** A damaged or missing byte range, reported once. */
export interface CaptureWarning {
  /** First damaged file byte. */
  start: number;
  /** One past the last damaged file byte. */
  end: number;
  /** What happened. */
  message: string;
}

/**
 * Per-CPU accounting of a read.
 *
 * Records lost to damage are counted on the same basis as `streamRecords`
 * (stream records before reassembly, sync and LOST records excluded), so for
 * a CPU stream read from its start `streamRecords + damagedRecords` (plus
 * about `damagedEstimate`) is what a clean read finds. A lost head or
 * fragment also makes its event incomplete (`CaptureReadSummary.incompleteEvents`).
 */
export interface CaptureCpuStats {
  /** Records delivered (extension records excluded). */
  records: number;
  /** Sum of PERF_RECORD_LOST counts. */
  lost: number;
  /** Stream bytes read. */
  bytes: number;
  /** Records found in the CPU's stream before reassembly (sync and LOST records excluded). */
  streamRecords: number;
  /**
   * Stream bytes of this CPU lost to damage, exact as far as intact chunk
   * headers tell: payloads failing their CRC, stream position jumps over
   * chunks whose header was damaged (GAP chunks excepted), bytes after an
   * impossible record size, and the missing part of a chunk cut off by the
   * end of the file.
   */
  damagedStreamBytes: number;
  /**
   * Records (sync and LOST excluded) counted inside `damagedStreamBytes` by
   * walking their record headers: counted only when the headers tile the
   * damaged bytes exactly and every sample, fragment, sync, LOST, symbol,
   * COMM, FORK and EXIT record has the size its own fields imply. Exact unless the damage itself left
   * such a consistent framing with a different record count.
   */
  damagedRecords: number;
  /** The part of `damagedStreamBytes` whose records could not be counted. */
  uncountedBytes: number;
  /**
   * An estimate, not a count: records (sync and LOST excluded) in
   * `uncountedBytes`. Where a damaged record header (or a record whose
   * fields disagree with its size) sits among headers that are still
   * valid, the records before it and those on the valid chain after it,
   * plus the damaged span at the mean size of those (when there are at least
   * 8 of them); where the headers tile but some record's fields disagree
   * with its size, and too few records surround it, their count; otherwise
   * the bytes at the CPU's mean `streamRecords / bytes` (the whole read's
   * mean when the CPU has no intact record; 0 when the read has none),
   * rounded. Over one chunk of mixed records it is typically within a few
   * records; it is never a bound.
   */
  damagedEstimate: number;
}

/** Summary of a read. */
export interface CaptureReadSummary {
  /** File bytes read. */
  bytesRead: number;
  /** Valid chunks read. */
  chunks: number;
  /** Records delivered. */
  records: number;
  /** File offset where reading stopped (the file size when it read to the end). */
  endOffset: number;
  /** Warnings (damage, gaps, truncation). */
  warnings: CaptureWarning[];
  /** Per-CPU accounting. */
  cpus: Map<number, CaptureCpuStats>;
  /** Sync records seen (and dropped). */
  syncRecords: number;
  /** Sub-buffer headers seen (and dropped). */
  subbufHeaders: number;
  /** Sub-buffer padding: NOP record bytes and header-style unused ends (not damage). */
  paddingBytes: number;
  /** Fragmented events reassembled. */
  defragmented: number;
  /** Fragmented events given up incomplete (counted as lost samples). */
  incompleteEvents: number;
  /** Duplicate fragment pieces ignored. */
  duplicatePieces: number;
  /** Records released early because the reorder queue was full. */
  reorderOverflows: number;
  /** Stream bytes lost to damage, summed over the CPUs (see {@linkcode CaptureCpuStats}). */
  damagedStreamBytes: number;
  /** Records counted in damaged bytes, summed over the CPUs (see {@linkcode CaptureCpuStats}). */
  damagedRecords: number;
  /**
   * Skipped file bytes that no CPU stream accounts for (beyond one chunk
   * header per skipped range): damage whose chunk headers cannot be read,
   * or the partial chunk before a `from` offset inside a chunk.
   */
  unattributedBytes: number;
  /** Damaged bytes whose records could not be counted: the CPUs' plus `unattributedBytes`. */
  uncountedBytes: number;
  /**
   * An estimate, not a count, of the records in `uncountedBytes`: the CPUs'
   * estimates plus `unattributedBytes` at the whole read's mean record size.
   */
  damagedEstimate: number;
}

/** Options of {@linkcode CaptureReader.read}. */
export interface CaptureReadOptions {
  /** File offset to start at (a chunk header, e.g. from seekTime); default: after the header. */
  from?: number;
  /** Skip records older than this time. */
  minTime?: number;
  /**
   * Skip records newer than this time, and stop reading two drain rounds after the first chunk
   * whose smallest time is past it (the FINISHED_ROUND rule the merge relies on: a later round
   * holds nothing older than the round before the previous one).
   */
  maxTime?: number;
  /** Stop before the first chunk of the (n+1)-th drain round read (default: read to the end). */
  rounds?: number;
  /** Bytes to read ahead per file read (default: fill the 1 MiB buffer). */
  readAhead?: number;
  /** Stop after this many valid chunks. */
  maxChunks?: number;
  /** Keep callring extension records other than sync/fragment (e.g. symbols); default true. */
  keepExtensions?: boolean;
  /** Most records held in the reorder queue (default 1,000,000). */
  maxReorder?: number;
  /** Defragmenter bounds. */
  defrag?: DefragOptions;
  /** Stop after the first warning instead of resynchronising. */
  strict?: boolean;
}

/** Summary of {@linkcode CaptureReader.readWindow}. */
export interface WindowSummary extends CaptureReadSummary {
  /** Bytes the time search read. */
  seekBytes: number;
  /** File bytes of sample chunks between the first drain round and the window, not read. */
  skippedBytes: number;
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

/** Skipped ranges larger than this are not parsed for the chunks they held. */
const MAX_SKIP_PARSE = 4 * (MAX_CHUNK_PAYLOAD + CHUNK_HEADER_SIZE);

/** Reads one capture. */
export class CaptureReader {
  /** The file header. */
  readonly header: CaptureHeader;
  /** The sample format of the events. */
  readonly format: SampleFormat;
  /** The source's size in bytes when opened. */
  readonly fileSize: number;
  readonly #src: CaptureSource;
  readonly #sampleIdAll: boolean;
  readonly #name: string;
  /** What damage cost, counted. */
  readonly #damage: DamageCounter;

  private constructor(src: CaptureSource, header: CaptureHeader, fileSize: number, name: string) {
    this.#src = src;
    this.header = header;
    this.fileSize = fileSize;
    this.format = sampleFormatOf(header.events[0].attr);
    this.#sampleIdAll = hasFlag(header.events[0].attr, AttrFlag.sampleIdAll);
    this.#name = name;
    this.#damage = new DamageCounter(header, this.format, this.#sampleIdAll);
  }

  /**
   * Open a capture.
   *
   * @param source A path or a {@linkcode CaptureSource}.
   * @returns The reader.
   * @throws {FormatError} When the header is not a valid capture header.
   */
  static async open(source: string | CaptureSource): Promise<CaptureReader> {
    const name = typeof source === "string" ? source : "<capture>";
    const src = typeof source === "string" ? await captureFileSource(source) : source;
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
   * Damage never loses records silently: the summary counts the stream bytes
   * lost per CPU and the records in them, counted from their record headers
   * where those can be trusted and otherwise estimated (see {@linkcode CaptureCpuStats}).
   *
   * @param onRecord Called per record (the bytes are owned by the caller); a returned promise is awaited.
   * @param options Start offset, time filter, bounds.
   * @returns The read summary.
   * @throws {FormatError} In `strict` mode, at the first damage.
   */
  async read(
    onRecord: (rec: StreamRecord) => unknown,
    options: CaptureReadOptions = {},
  ): Promise<CaptureReadSummary> {
    const sum: CaptureReadSummary = {
      bytesRead: 0,
      chunks: 0,
      records: 0,
      endOffset: 0,
      warnings: [],
      cpus: new Map(),
      syncRecords: 0,
      subbufHeaders: 0,
      paddingBytes: 0,
      defragmented: 0,
      incompleteEvents: 0,
      duplicatePieces: 0,
      reorderOverflows: 0,
      damagedStreamBytes: 0,
      damagedRecords: 0,
      unattributedBytes: 0,
      uncountedBytes: 0,
      damagedEstimate: 0,
    };
    const keepExt = options.keepExtensions ?? true;
    const minTime = options.minTime ?? -Infinity;
    const maxTime = options.maxTime ?? Infinity;
    const maxRounds = options.rounds ?? Infinity;
    const readAhead = options.readAhead ?? Infinity;
    const maxChunks = options.maxChunks ?? Infinity;
    const headerSubbuf = this.header.ring?.layout === RingLayout.SUBBUF_HEADER ||
        this.header.ring?.overwrite === OverwriteDesign.SPARE_SUBBUF
      ? this.header.ring.subbufSize
      : 0;
    let roundsSeen = 0;
    let pastRound = -1;
    const maxReorder = options.maxReorder ?? 1_000_000;
    const defrag = new Defragmenter(this.format, options.defrag);
    const heap = new OrderedEvents<StreamRecord>();
    const expected = new Map<number, number>();
    const lastTime = new Map<number, number>();
    const walkers = new Map<number, SubbufWalker>();
    const walkerOf = (cpu: number): SubbufWalker => {
      let w = walkers.get(cpu);
      if (!w) walkers.set(cpu, w = new SubbufWalker());
      return w;
    };
    let round = -1;
    let cumPrev = -Infinity;
    let cumCur = -Infinity;
    const warn = (start: number, end: number, message: string) => {
      if (options.strict) throw new FormatError(message, start, this.#name);
      sum.warnings.push({ start, end, message: `${message} (bytes ${start}-${end})` });
    };
    const cpuStats = (cpu: number): CaptureCpuStats => {
      let s = sum.cpus.get(cpu);
      if (!s) {
        sum.cpus.set(
          cpu,
          s = {
            records: 0,
            lost: 0,
            bytes: 0,
            streamRecords: 0,
            damagedStreamBytes: 0,
            damagedRecords: 0,
            uncountedBytes: 0,
            damagedEstimate: 0,
          },
        );
      }
      return s;
    };
    const damage = new DamageLedger(cpuStats);
    /** Account for the stream bytes of `c.cpu` lost before chunk `c`. */
    const resume = (c: ChunkHeader) => {
      const exp = expected.get(c.cpu);
      if (c.flags & CHUNK_FLAG_GAP) damage.gap(c.cpu);
      else if (exp === undefined) damage.start(c.cpu, c.position);
      else if (c.position > exp) damage.jump(c.cpu, exp, c.position);
    };
    const emit = (rec: StreamRecord) => {
      const v = new DataView(rec.bytes.buffer, rec.bytes.byteOffset, rec.bytes.byteLength);
      const type = v.getUint32(0, true);
      if (type === RecordType.CALLRING_SYNC) {
        sum.syncRecords++;
        return;
      }
      if (type === RecordType.CALLRING_SUBBUF) {
        sum.subbufHeaders++;
        return;
      }
      if (type === RecordType.CALLRING_PAD) {
        sum.paddingBytes += rec.bytes.length;
        return;
      }
      if (type >= 0x4c00 && type <= 0x4cff && !keepExt) return;
      if (rec.time < minTime || rec.time > maxTime) return;
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
      heap.flushUpTo(limit, (record) => {
        defrag.push(record);
        for (let r = defrag.pop(); r; r = defrag.pop()) emit(r);
      });
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
        const want = Math.min(buf.length - bufLen, Math.max(need - bufLen, readAhead));
        const n = await this.#src.readAt(
          buf.subarray(bufLen, bufLen + want),
          bufStart + bufLen,
        );
        if (n === 0) eof = true;
        bufLen += n;
        sum.bytesRead += n;
        if (bufLen >= need) break;
      }
      return Math.min(need, bufStart + bufLen - pos);
    };
    /** The file bytes [start, end): from the buffer when still there, else read again. */
    const skippedBytes = async (start: number, end: number): Promise<Uint8Array | undefined> => {
      if (end - start > MAX_SKIP_PARSE) return undefined;
      if (start >= bufStart && end <= bufStart + bufLen) {
        return buf.subarray(start - bufStart, end - bufStart);
      }
      const b = new Uint8Array(end - start);
      const n = await this.#src.readAt(b, start);
      sum.bytesRead += n;
      return n === b.length ? b : undefined;
    };
    const closeSkip = async (start: number, end: number) => {
      const bytes = await skippedBytes(start, end);
      // out-of-band chunks are no CPU's stream bytes (their loss is in the damage warning)
      const chunks = bytes && this.#damage.damagedChunks(bytes, start)?.filter((c) => !c.oob);
      if (chunks) damage.skipped(chunks);
      else damage.opaque(end - start);
    };

    let damageStart = -1;
    for (;;) {
      if (sum.chunks >= maxChunks) break;
      const avail = await fill(CHUNK_HEADER_SIZE);
      if (avail < CHUNK_HEADER_SIZE) {
        if (damageStart >= 0) {
          warn(damageStart, pos + avail, "Damaged bytes before end of capture");
          await closeSkip(damageStart, pos + avail);
        } else if (avail > 0) warn(pos, pos + avail, "Capture cut off inside a chunk header");
        break;
      }
      const c = validChunkAt(buf, pos - bufStart, pos);
      if (!c) {
        if (damageStart < 0) damageStart = pos;
        // The next 8-aligned offset after `pos` (which may be unaligned when `from` is).
        const found = findNextChunk(buf.subarray(0, bufLen), pos - bufStart + 1, bufStart);
        if (found.offset >= 0) pos = bufStart + found.offset;
        else {
          // 8-aligned without `& ~7`, which is 32-bit and breaks past 2 GiB
          const next = Math.max(pos + 8, bufStart + bufLen - CHUNK_HEADER_SIZE + 8);
          pos = next - (next % 8);
        }
        continue;
      }
      if (damageStart >= 0) {
        warn(damageStart, pos, "Damaged bytes skipped: no valid chunk header");
        await closeSkip(damageStart, pos);
        damageStart = -1;
      }
      // out of band (overwritten counts): not part of the CPU's stream, continuity untouched
      const oob = (c.flags & CHUNK_FLAG_OOB) !== 0;
      // a header-padded sub-buffer's left-out end, when its header was not read (a read
      // starting inside the sub-buffer): the stream resumes at the next sub-buffer boundary
      const exp0 = oob ? undefined : expected.get(c.cpu);
      if (
        headerSubbuf > 0 && exp0 !== undefined && c.position > exp0 &&
        c.position % headerSubbuf === 0 && c.position - exp0 < headerSubbuf
      ) {
        sum.paddingBytes += c.position - exp0;
        expected.set(c.cpu, c.position);
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
        if (oob) break;
        resume(c);
        const salvaged = this.#records(
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
          walkerOf(c.cpu),
        ).bytes;
        damage.lost(c.cpu, c.length - salvaged, undefined);
        break;
      }
      if (crc32(buf, payloadOff, payloadOff + c.length) !== c.payloadCrc) {
        warn(
          pos + CHUNK_HEADER_SIZE,
          pos + total,
          `Payload CRC mismatch in chunk ${c.seq} (cpu ${c.cpu})`,
        );
        if (oob) {
          pos += total;
          continue;
        }
        resume(c);
        damage.lost(c.cpu, c.length, this.#damage.countRecords(buf, payloadOff, c.length));
        expected.set(c.cpu, c.position + c.length);
        pos += total;
        continue;
      }
      if (c.round !== round && ++roundsSeen > maxRounds) break;
      if (c.minTime > maxTime && pastRound < 0) pastRound = c.round;
      if (pastRound >= 0 && ((c.round - pastRound) & 0xffff) >= 2) break;
      if (c.round !== round) {
        if (round >= 0) {
          release(cumPrev);
          cumPrev = Math.max(cumPrev, cumCur);
          cumCur = -Infinity;
        }
        round = c.round;
      }
      sum.chunks++;
      const exp = oob ? undefined : expected.get(c.cpu);
      if (!oob) resume(c);
      if (exp !== undefined && exp !== c.position && !(c.flags & CHUNK_FLAG_GAP)) {
        warn(
          pos,
          pos,
          `CPU ${c.cpu} stream jumps from ${exp} to ${c.position}: ${
            c.position - exp
          } stream bytes missing`,
        );
      }
      const res = this.#records(
        buf,
        payloadOff,
        c.length,
        c,
        false,
        oob ? new Map() : expected,
        oob ? new Map() : lastTime,
        heap,
        cpuStats,
        warn,
        oob ? new SubbufWalker() : walkerOf(c.cpu),
      );
      if (oob) cpuStats(c.cpu).bytes -= res.bytes; // not stream bytes
      if (res.bytes < c.length && !oob) {
        // An impossible record size: the rest of the payload is lost (and already reported).
        damage.lost(c.cpu, c.length - res.bytes, undefined);
        expected.set(c.cpu, c.position + c.length);
      }
      if (res.maxTime > cumCur) cumCur = res.maxTime;
      pos += total;
      while (heap.size > maxReorder) {
        sum.reorderOverflows++;
        release(heap.peekTime());
      }
      if (out.length) await deliver();
    }
    sum.endOffset = pos;
    release(Infinity);
    defrag.finish();
    for (let r = defrag.pop(); r; r = defrag.pop()) emit(r);
    await deliver();
    sum.defragmented = defrag.stats.completed;
    sum.incompleteEvents = defrag.stats.incomplete;
    sum.duplicatePieces = defrag.stats.duplicates;
    for (const w of walkers.values()) sum.paddingBytes += w.padding;
    damage.finish(expected, this.header.cpus, sum);
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
    heap: OrderedEvents<StreamRecord>,
    cpuStats: (cpu: number) => CaptureCpuStats,
    warn: (s: number, e: number, m: string) => void,
    walker: SubbufWalker,
  ): { maxTime: number; bytes: number } {
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let t = lastTime.get(c.cpu) ?? c.minTime;
    let maxT = -Infinity;
    let p = 0;
    const cs = cpuStats(c.cpu);
    let padded = 0;
    while (p + HEADER_SIZE <= len) {
      const skip = walker.paddingAt(c.position + p);
      if (skip > 0) {
        // header-style padding kept in the payload: not records, not damage
        const n = Math.min(skip, len - p);
        walker.skipped(n);
        padded += skip - n;
        p += n;
        continue;
      }
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
      if (!framing(type)) cs.streamRecords++;
      else if (type === RecordType.CALLRING_SUBBUF) walker.see(v, off + p, c.position + p);
      heap.push(t, {
        bytes: buf.slice(off + p, off + p + size),
        cpu: c.cpu,
        time: t,
        position: c.position + p,
      });
      p += size;
    }
    lastTime.set(c.cpu, t);
    // a chunk that ends where a header-padded sub-buffer's records end: the stream resumes at the
    // next sub-buffer (the capture writer leaves the padding out)
    const tailPad = p === len ? walker.paddingAt(c.position + p) : 0;
    walker.skipped(tailPad);
    expected.set(c.cpu, c.position + p + padded + tailPad);
    cs.bytes += p;
    return { maxTime: maxT, bytes: p };
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
    // maxChunk comes from the header: a chunk is never larger than MAX_CHUNK_PAYLOAD.
    const window = Math.min(this.header.maxChunk, MAX_CHUNK_PAYLOAD) + 2 * CHUNK_HEADER_SIZE + 64;
    const buf = new Uint8Array(Math.max(window, 0x10000 + 2 * CHUNK_HEADER_SIZE));
    let bytesRead = 0;
    let probes = 0;
    const step = 1024;
    const probe = async (at: number): Promise<ChunkHeader | undefined> => {
      // Read small steps until a chunk header shows up (chunks are <= maxChunk,
      // a single record may make one larger). Each step keeps the previous
      // 64 bytes so a header straddling two steps is still seen.
      const base = at - (at % 8); // not `& ~7`: offsets pass 2^31
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

  /**
   * Read the samples of a time window without reading the file: the first drain round (the
   * side-band a recorder synthesizes at start: symbols, existing tasks), then, from the chunk
   * {@linkcode seekTime} finds for `start`, the records up to `end` (see `maxTime`). Side-band
   * records (everything but samples) of what is read are delivered whatever their time; samples
   * only inside `[start, end]`, as perf's `--time` filters samples only. Side-band written between
   * the first round and the window (tasks forked or renamed there) is read too: the capture
   * writer keeps it in chunks flagged SIDEBAND, found by hopping over chunk headers (64 bytes
   * each); a capture without that file flag is read on from the first round.
   *
   * @param start Window start (ns).
   * @param end Window end (ns).
   * @param onRecord Called per record, as in {@linkcode read}.
   * @param options Read options (`from`, `minTime`, `maxTime` and `rounds` are set here).
   * @returns The window read's summary; `bytesRead` includes the first round and the seek.
   */
  async readWindow(
    start: number,
    end: number,
    onRecord: (rec: StreamRecord) => unknown,
    options: Omit<CaptureReadOptions, "from" | "minTime" | "maxTime" | "rounds"> = {},
  ): Promise<WindowSummary> {
    const isSample = (rec: StreamRecord) =>
      rec.bytes[0] === RecordType.SAMPLE && rec.bytes[1] === 0 && rec.bytes[2] === 0 &&
      rec.bytes[3] === 0;
    const inWindow = (rec: StreamRecord) =>
      !isSample(rec) || (rec.time >= start && rec.time <= end) ? onRecord(rec) : undefined;
    const ahead = { readAhead: 1 << 16, ...options };
    const first = await this.read(inWindow, { ...ahead, rounds: 1 });
    const seek = await this.seekTime(start);
    let from = Math.max(seek.offset, first.endOffset);
    let bytesRead = first.bytesRead + seek.bytesRead;
    const warnings = [...first.warnings];
    let records = first.records;
    let skipped = 0;
    if (!((this.header.flags ?? 0) & FILE_FLAG_SIDEBAND_CHUNKS)) {
      // side-band may sit in any chunk: read everything after the first round
      from = first.endOffset;
    } else {
      // the side-band between: hop over chunk headers, read the chunks flagged SIDEBAND
      const head = new Uint8Array(CHUNK_HEADER_SIZE);
      for (let at = first.endOffset; at < from;) {
        const n = await this.#src.readAt(head, at);
        bytesRead += n;
        const c = n === CHUNK_HEADER_SIZE ? validChunkAt(head, 0, at) : undefined;
        if (!c) {
          from = at; // damage: read on from here, the reader resynchronises
          break;
        }
        if (c.flags & CHUNK_FLAG_SIDEBAND) {
          const s = await this.read(onRecord, {
            ...options,
            readAhead: CHUNK_HEADER_SIZE + c.length,
            from: at,
            maxChunks: 1,
          });
          bytesRead += s.bytesRead;
          records += s.records;
          warnings.push(...s.warnings);
        } else skipped += CHUNK_HEADER_SIZE + c.length;
        at += CHUNK_HEADER_SIZE + c.length;
      }
    }
    const win = from >= this.fileSize
      ? { ...first, bytesRead: 0, records: 0, warnings: [] }
      : await this.read(inWindow, { ...ahead, from, maxTime: end });
    return {
      ...win,
      records: records + win.records,
      bytesRead: bytesRead + win.bytesRead,
      warnings: [...warnings, ...win.warnings],
      seekBytes: seek.bytesRead,
      skippedBytes: skipped,
    };
  }

  /**
   * Read newest first (Mathieu, seed L10575-10580: "the data we care about the most and want to
   * read ASAP is the last subbuffers"): scan backwards from the end of the file for chunk
   * headers (64 KiB windows), and deliver one drain round at a time, the newest round first, its
   * records in decreasing time (equal times newest in file order first). Each round is read
   * through {@linkcode read} (validation, reassembly, damage accounting); fragments that span two
   * rounds come out incomplete. Memory is bounded by one round.
   *
   * @param onRecord Called per record, newest first; return false to stop.
   * @param options Read options for each round (`from`, `maxChunks` are set here).
   * @param onRound Called after each round was delivered; return false to stop.
   * @returns Bytes read, rounds and records delivered, warnings and the loss the rounds' reads
   *   counted.
   */
  async readReverse(
    onRecord: (rec: StreamRecord) => unknown,
    options: Omit<CaptureReadOptions, "from" | "maxChunks"> = {},
    onRound?: () => unknown,
  ): Promise<ReverseSummary> {
    const WINDOW = 1 << 16;
    const buf = new Uint8Array(WINDOW + CHUNK_HEADER_SIZE);
    let bytesRead = 0;
    let rounds = 0;
    let records = 0;
    let incompleteEvents = 0;
    let damagedRecords = 0;
    let damagedEstimate = 0;
    const warnings: CaptureWarning[] = [];
    let group: { offset: number; round: number }[] = [];
    let stop = false;
    const flush = async () => {
      if (group.length === 0 || stop) return;
      const from = group[group.length - 1].offset;
      const got: StreamRecord[] = [];
      const sum = await this.read((r) => {
        got.push(r);
      }, { readAhead: 1 << 16, ...options, from, maxChunks: group.length });
      bytesRead += sum.bytesRead;
      warnings.push(...sum.warnings);
      incompleteEvents += sum.incompleteEvents;
      damagedRecords += sum.damagedRecords;
      damagedEstimate += sum.damagedEstimate;
      rounds++;
      // stable sort by time, then deliver from the end: newest first
      const order = got.map((_, i) => i).sort((a, b) => got[a].time - got[b].time || a - b);
      for (let i = order.length - 1; i >= 0 && !stop; i--) {
        records++;
        const r = onRecord(got[order[i]]);
        if ((r instanceof Promise ? await r : r) === false) stop = true;
      }
      group = [];
      if (!stop && onRound) {
        const r = onRound();
        if ((r instanceof Promise ? await r : r) === false) stop = true;
      }
    };
    let end = this.fileSize;
    let lowest = this.fileSize;
    while (end > this.header.size && !stop) {
      const start = Math.max(this.header.size, end - WINDOW);
      const len = Math.min(buf.length, this.fileSize - start);
      const n = await this.#src.readAt(buf.subarray(0, len), start);
      bytesRead += n;
      const found: ChunkHeader[] = [];
      for (let off = 0;;) {
        const f = findNextChunk(buf.subarray(0, n), off, start);
        if (!f.chunk) break;
        if (start + f.offset < lowest) found.push(f.chunk);
        off = f.offset + 8;
      }
      for (let i = found.length - 1; i >= 0 && !stop; i--) {
        const c = found[i];
        if (group.length && group[0].round !== c.round) await flush();
        group.push({ offset: c.fileOffset, round: c.round });
        lowest = c.fileOffset;
      }
      end = start;
    }
    await flush();
    return {
      bytesRead,
      rounds,
      records,
      warnings,
      incompleteEvents,
      damagedRecords,
      damagedEstimate,
    };
  }

  /**
   * Every side-band record (anything but samples, loss and framing records), in time order,
   * without reading the samples: the first drain round, then the chunks flagged SIDEBAND found by
   * hopping over chunk headers (64 bytes each). A capture without the SIDEBAND file flag is read
   * whole (its side-band may sit in any chunk).
   *
   * @param onRecord Called per side-band record.
   * @returns Bytes read and warnings.
   */
  async readSideBand(
    onRecord: (rec: StreamRecord) => unknown,
  ): Promise<{ bytesRead: number; warnings: CaptureWarning[] }> {
    const side = (rec: StreamRecord) => {
      const v = new DataView(rec.bytes.buffer, rec.bytes.byteOffset, 4);
      return isSidebandType(v.getUint32(0, true)) ? onRecord(rec) : undefined;
    };
    if (!((this.header.flags ?? 0) & FILE_FLAG_SIDEBAND_CHUNKS)) {
      const all = await this.read(side);
      return { bytesRead: all.bytesRead, warnings: all.warnings };
    }
    const first = await this.read(side, { readAhead: 1 << 16, rounds: 1 });
    let bytesRead = first.bytesRead;
    const warnings = [...first.warnings];
    const head = new Uint8Array(CHUNK_HEADER_SIZE);
    for (let at = first.endOffset; at < this.fileSize;) {
      const n = await this.#src.readAt(head, at);
      bytesRead += n;
      const c = n === CHUNK_HEADER_SIZE ? validChunkAt(head, 0, at) : undefined;
      if (!c) {
        // damage: read on from here (the reader resynchronises) for the side-band in it
        const rest = await this.read(side, { readAhead: 1 << 16, from: at });
        return { bytesRead: bytesRead + rest.bytesRead, warnings: [...warnings, ...rest.warnings] };
      }
      if (c.flags & CHUNK_FLAG_SIDEBAND) {
        const s = await this.read(side, {
          readAhead: CHUNK_HEADER_SIZE + c.length,
          from: at,
          maxChunks: 1,
        });
        bytesRead += s.bytesRead;
        warnings.push(...s.warnings);
      }
      at += CHUNK_HEADER_SIZE + c.length;
    }
    return { bytesRead, warnings };
  }

  /**
   * The first and last sample time (what perf keeps as its SAMPLE_TIME feature), from the first
   * two drain rounds that hold samples and, read newest first, the last two: a drain round holds
   * nothing older than the round before it (the rule the time-ordered merge relies on), so the
   * extremes are in those rounds.
   *
   * @returns The times and the bytes read, or undefined when the capture has no sample.
   */
  async sampleTimes(): Promise<{ first: number; last: number; bytesRead: number } | undefined> {
    let first = Infinity;
    let last = -Infinity;
    let bytesRead = 0;
    let inRound = false;
    const isSample = (rec: StreamRecord) =>
      rec.bytes[0] === RecordType.SAMPLE && rec.bytes[1] === 0 && rec.bytes[2] === 0 &&
      rec.bytes[3] === 0;
    let sampleRounds = 0;
    for (let from = this.header.size; from < this.fileSize && sampleRounds < 2;) {
      inRound = false;
      const s = await this.read((rec) => {
        if (!isSample(rec)) return;
        inRound = true;
        if (rec.time < first) first = rec.time;
      }, { from, rounds: 1, readAhead: 4096 });
      bytesRead += s.bytesRead;
      if (inRound) sampleRounds++;
      if (s.endOffset <= from) break;
      from = s.endOffset;
    }
    if (first === Infinity) return undefined;
    sampleRounds = 0;
    const rev = await this.readReverse(
      (rec) => {
        if (!isSample(rec)) return;
        inRound = true;
        if (rec.time > last) last = rec.time;
      },
      { readAhead: 4096 },
      () => {
        if (inRound) sampleRounds++;
        inRound = false;
        return sampleRounds < 2;
      },
    );
    bytesRead += rev.bytesRead;
    return { first, last, bytesRead };
  }
}

/** Summary of {@linkcode CaptureReader.readReverse}. */
export interface ReverseSummary {
  /** File bytes read (backward scans and rounds). */
  bytesRead: number;
  /** Drain rounds delivered. */
  rounds: number;
  /** Records delivered. */
  records: number;
  /** Warnings of the rounds' reads. */
  warnings: CaptureWarning[];
  /** Fragmented events given up incomplete (fragments spanning two rounds included). */
  incompleteEvents: number;
  /** Records counted in damaged bytes. */
  damagedRecords: number;
  /** Estimated records in damaged bytes that could not be counted. */
  damagedEstimate: number;
}
