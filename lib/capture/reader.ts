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
  decodeSample,
  FormatError,
  getU64,
  hasFlag,
  HEADER_SIZE,
  RecordType,
  type SampleFormat,
  sampleFormatOf,
  SampleLayout,
  SampleType,
} from "../abi/mod.ts";
import {
  decodeFragment,
  hasSyncShape,
  SYMBOL_HEADER_SIZE,
  SYNC_MAGIC_WORDS,
  SYNC_RECORD_SIZE,
} from "../abi/extensions.ts";
import { OrderedEvents } from "../perfdata/ordered_events.ts";
import { crc32 } from "../ring/crc32.ts";
import { Defragmenter, type DefragOptions, type StreamRecord } from "../ring/defrag.ts";
import { SubbufWalker } from "../ring/subbuf.ts";
import {
  type CaptureHeader,
  CHUNK_FLAG_GAP,
  CHUNK_FLAG_SIDEBAND,
  CHUNK_HEADER_SIZE,
  CHUNK_MAGIC,
  type ChunkHeader,
  decodeFileHeader,
  FILE_FLAG_SIDEBAND_CHUNKS,
  fileHeaderSize,
  findNextChunk,
  MAX_CHUNK_PAYLOAD,
  OverwriteDesign,
  recordTime,
  RingLayout,
  validChunkAt,
} from "./format.ts";

/** Random-access byte source (a file, or bytes in memory for tests). */
export interface CaptureSource {
  /** Read into `buf` at file offset `position`; returns bytes read (0 at end of file). */
  readAt(buf: Uint8Array, position: number): Promise<number>;
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Release the source. */
  close(): void;
}

/**
 * A {@linkcode CaptureSource} over a file (Deno.open, seek + read; never whole-file).
 *
 * @param path File path.
 * @returns The source.
 */
export async function captureFileSource(path: string): Promise<CaptureSource> {
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
 * A {@linkcode CaptureSource} over bytes in memory.
 *
 * @param bytes The bytes.
 * @returns The source.
 */
export function captureMemorySource(bytes: Uint8Array): CaptureSource {
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
/** Bits in which a damaged chunk header's magic and own offset may differ to be trusted. */
const MAX_HEADER_FLIPS = 2;
/** `sample_type` bits whose fields follow the callchain in a sample. */
const AFTER_CALLCHAIN = SampleType.RAW | SampleType.BRANCH_STACK | SampleType.REGS_USER |
  SampleType.STACK_USER | SampleType.WEIGHT | SampleType.DATA_SRC | SampleType.TRANSACTION |
  SampleType.REGS_INTR | SampleType.PHYS_ADDR | SampleType.AUX | SampleType.CGROUP |
  SampleType.DATA_PAGE_SIZE | SampleType.CODE_PAGE_SIZE | SampleType.WEIGHT_STRUCT;

/** Whether the sync magic follows the record header at `at`. */
function syncMagicAt(v: DataView, at: number): boolean {
  for (let i = 0; i < 4; i++) {
    if (v.getUint32(at + 8 + 4 * i, true) !== SYNC_MAGIC_WORDS[i]) return false;
  }
  return true;
}

function popcount8(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

function popcount32(x: number): number {
  let n = 0;
  for (x >>>= 0; x; x = (x & (x - 1)) >>> 0) n++;
  return n;
}

/**
 * Framing records a ring writer adds around the data records (sync points, LOST, sub-buffer
 * headers and NOP padding): never counted as stream records.
 */
function framing(type: number): boolean {
  return type === RecordType.CALLRING_SYNC || type === RecordType.LOST ||
    type === RecordType.CALLRING_SUBBUF || type === RecordType.CALLRING_PAD;
}

/** Fewest records counted around damage for their mean size to estimate the damaged part. */
const MIN_LOCAL_RECORDS = 8;

/** A record type perf or callring writes (kernel, perf user or callring extension records). */
function plausibleType(type: number): boolean {
  return (type > 0 && type < 128) || (type >= 0x4c00 && type <= 0x4cff);
}

/**
 * Chains of valid record headers that end exactly at `len` (offsets
 * relative to `off`, 8-aligned): `count[q / 8]` is the number of records
 * (sync and LOST excluded) on the chain from `q`, or -1 when no valid chain
 * starts there.
 */
function tailChains(bytes: Uint8Array, off: number, len: number): Int32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = new Int32Array((len >> 3) + 1).fill(-1);
  count[len >> 3] = 0;
  for (let q = len - HEADER_SIZE; q >= 0; q -= 8) {
    const type = v.getUint32(off + q, true);
    const size = v.getUint16(off + q + 6, true);
    if (size < HEADER_SIZE || size % 8 || q + size > len || !plausibleType(type)) continue;
    const rest = count[(q + size) >> 3]!;
    if (rest < 0) continue;
    count[q >> 3] = rest + (framing(type) ? 0 : 1);
  }
  return count;
}

/** A chunk found inside skipped bytes, its header trusted only for accounting. */
interface DamagedChunk {
  cpu: number;
  position: number;
  length: number;
  /** Its header has the GAP flag: the CPU stream restarts there (overwrite snapshot). */
  gap: boolean;
  /** Records counted in its payload. */
  records: RecordCount | undefined;
}

/** Records counted by walking damaged bytes. */
interface RecordCount {
  /** Records, sync and LOST excluded. */
  n: number;
  /** Whether every record's fields agree with its size (else the count is only likely). */
  consistent: boolean;
}

/**
 * Accounting of what damage lost, per CPU stream. Chunks lost behind a
 * damaged header are attributed when their CPU's stream resumes (the
 * position jump names the lost stream bytes exactly) or, at the end, when
 * they continue where their CPU's stream stopped.
 */
class DamageLedger {
  readonly #cpuStats: (cpu: number) => CaptureCpuStats;
  #pending: DamagedChunk[] = [];
  /** Payload bytes of skipped ranges that could not be split into chunks (one header each excluded). */
  #opaque = 0;
  /** Jump bytes no parsed chunk explained (they came from opaque ranges or bogus chunks). */
  #residual = 0;
  /** Per CPU: bytes and records of walks whose framing tiled but was not consistent. */
  readonly #tiled = new Map<number, { bytes: number; records: number }>();

  constructor(cpuStats: (cpu: number) => CaptureCpuStats) {
    this.#cpuStats = cpuStats;
  }

  /** Stream bytes of `cpu` lost, with the records counted in them (undefined: not countable). */
  lost(cpu: number, bytes: number, records: RecordCount | undefined): void {
    if (bytes <= 0) return;
    const cs = this.#cpuStats(cpu);
    cs.damagedStreamBytes += bytes;
    if (records?.consistent) {
      cs.damagedRecords += records.n;
      return;
    }
    cs.uncountedBytes += bytes;
    if (records) {
      const t = this.#tiled.get(cpu) ?? { bytes: 0, records: 0 };
      t.bytes += bytes;
      t.records += records.n;
      this.#tiled.set(cpu, t);
    }
  }

  /** A skipped range split into the chunks it held. */
  skipped(chunks: DamagedChunk[]): void {
    this.#pending.push(...chunks);
  }

  /** A skipped range whose chunks could not be told apart. */
  opaque(bytes: number): void {
    this.#opaque += Math.max(0, bytes - CHUNK_HEADER_SIZE);
  }

  /** The stream of `cpu` resumes at `to` after `from`: the bytes between were lost. */
  jump(cpu: number, from: number, to: number): void {
    let at = from;
    let covered = 0;
    let span = to - from;
    for (const d of this.#take((d) => d.cpu === cpu && d.position >= from)) {
      if (d.position >= at && d.position + d.length <= to) {
        // A lost GAP chunk restarted the stream: the bytes it skips were overwritten, not damaged.
        if (d.gap) span -= d.position - at;
        this.lost(cpu, d.length, d.records);
        covered += d.length;
        at = d.position + d.length;
      } else this.#pending.push(d);
    }
    this.lost(cpu, span - covered, undefined);
    this.#residual += span - covered;
  }

  /**
   * The first intact chunk of `cpu` starts at `to`: chunks lost just before
   * it count when they end exactly there, one after the other.
   */
  start(cpu: number, to: number): void {
    let at = to;
    for (const d of this.#take((d) => d.cpu === cpu && d.position < to).reverse()) {
      if (d.position + d.length === at) {
        this.lost(cpu, d.length, d.records);
        at = d.position;
      } else this.#pending.push(d);
    }
  }

  /** The stream of `cpu` restarts (GAP): its chunks lost before are taken as their headers say. */
  gap(cpu: number): void {
    for (const d of this.#take((d) => d.cpu === cpu)) this.lost(cpu, d.length, d.records);
  }

  /** Attribute what is left and fill in the estimates. */
  finish(expected: Map<number, number>, cpus: number, sum: CaptureReadSummary): void {
    let bogus = 0;
    for (let cpu = 0; cpu < cpus; cpu++) {
      let at = expected.get(cpu);
      for (const d of this.#take((d) => d.cpu === cpu)) {
        if (at === undefined || d.position === at || d.gap) {
          this.lost(cpu, d.length, d.records);
          at = d.position + d.length;
        } else bogus += d.length;
      }
    }
    const unattributed = Math.max(0, this.#opaque + bogus - this.#residual);
    let records = 0;
    let bytes = 0;
    for (const cs of sum.cpus.values()) {
      records += cs.streamRecords;
      bytes += cs.bytes;
    }
    const mean = bytes > 0 ? records / bytes : 0;
    for (const [cpu, cs] of sum.cpus) {
      const tiled = this.#tiled.get(cpu) ?? { bytes: 0, records: 0 };
      cs.damagedEstimate = tiled.records + Math.round(
        (cs.uncountedBytes - tiled.bytes) *
          (cs.streamRecords > 0 ? cs.streamRecords / cs.bytes : mean),
      );
      sum.damagedStreamBytes += cs.damagedStreamBytes;
      sum.damagedRecords += cs.damagedRecords;
      sum.uncountedBytes += cs.uncountedBytes;
      sum.damagedEstimate += cs.damagedEstimate;
    }
    sum.unattributedBytes = unattributed;
    sum.uncountedBytes += unattributed;
    sum.damagedEstimate += Math.round(unattributed * mean);
  }

  /** Remove and return the pending chunks matching `pred`, in stream order. */
  #take(pred: (d: DamagedChunk) => boolean): DamagedChunk[] {
    const hit = this.#pending.filter(pred).sort((a, b) => a.position - b.position);
    if (hit.length) this.#pending = this.#pending.filter((d) => !pred(d));
    return hit;
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
  readonly #src: CaptureSource;
  readonly #sampleIdAll: boolean;
  readonly #name: string;
  /** Event ids of the header (a LOST record names one). */
  readonly #ids: Set<number>;

  private constructor(src: CaptureSource, header: CaptureHeader, fileSize: number, name: string) {
    this.#src = src;
    this.header = header;
    this.fileSize = fileSize;
    this.format = sampleFormatOf(header.events[0].attr);
    this.#sampleIdAll = hasFlag(header.events[0].attr, AttrFlag.sampleIdAll);
    this.#name = name;
    this.#ids = new Set(header.events.flatMap((e) => e.ids));
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
      const chunks = bytes && this.#damagedChunks(bytes, start);
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
      // a header-padded sub-buffer's left-out end, when its header was not read (a read
      // starting inside the sub-buffer): the stream resumes at the next sub-buffer boundary
      const exp0 = expected.get(c.cpu);
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
        resume(c);
        damage.lost(c.cpu, c.length, this.#countRecords(buf, payloadOff, c.length));
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
      const exp = expected.get(c.cpu);
      resume(c);
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
        expected,
        lastTime,
        heap,
        cpuStats,
        warn,
        walkerOf(c.cpu),
      );
      if (res.bytes < c.length) {
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

  /**
   * Split skipped file bytes into the chunks they held, trusting chunk
   * headers that failed validation only as far as their fields agree: the
   * magic and own file offset may differ from the expected ones by at most
   * {@linkcode MAX_HEADER_FLIPS} bits, the CPU must exist, and the declared
   * lengths must tile the bytes exactly. When only the first header is
   * plausible and the lengths do not tile (a damaged length), or the bytes
   * hold exactly one chunk by the first header's length and its CPU exists
   * (a damaged magic or own offset), the bytes are taken as that one chunk.
   */
  #damagedChunks(bytes: Uint8Array, fileOffset: number): DamagedChunk[] | undefined {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const plausible = (q: number): boolean => {
      if (q + CHUNK_HEADER_SIZE > bytes.length) return false;
      let flips = 0;
      for (let i = 0; i < 8; i++) flips += popcount8(bytes[q + i] ^ CHUNK_MAGIC[i]);
      const own = fileOffset + q;
      flips += popcount32(v.getUint32(q + 16, true) ^ (own >>> 0));
      flips += popcount32(v.getUint32(q + 20, true) ^ Math.floor(own / 2 ** 32));
      return flips <= MAX_HEADER_FLIPS && v.getUint32(q + 8, true) < this.header.cpus;
    };
    const chunk = (q: number, length: number): DamagedChunk => ({
      cpu: v.getUint32(q + 8, true),
      position: getU64(v, q + 24),
      length,
      gap: (v.getUint16(q + 38, true) & CHUNK_FLAG_GAP) !== 0,
      records: this.#countRecords(bytes, q + CHUNK_HEADER_SIZE, length),
    });
    const chunks: DamagedChunk[] = [];
    for (let q = 0; q < bytes.length;) {
      const length = plausible(q) ? v.getUint32(q + 12, true) : -1;
      if (
        length < 0 || length % 8 || length > MAX_CHUNK_PAYLOAD ||
        q + CHUNK_HEADER_SIZE + length > bytes.length
      ) {
        const rest = bytes.length - CHUNK_HEADER_SIZE;
        // One chunk whose magic or own offset took the damage: its CPU and length still fit.
        const framed = rest >= 0 && v.getUint32(8, true) < this.header.cpus &&
          v.getUint32(12, true) === rest;
        return (plausible(0) || framed) && rest <= MAX_CHUNK_PAYLOAD ? [chunk(0, rest)] : undefined;
      }
      chunks.push(chunk(q, length));
      q += CHUNK_HEADER_SIZE + length;
    }
    return chunks;
  }

  /**
   * Count the records (sync and LOST excluded) in damaged stream bytes by
   * walking their headers. When a damaged record header breaks the walk,
   * the records before the damage and those on a chain of valid headers
   * that ends exactly at the end of the bytes are counted, and the gap
   * between them is estimated at the mean of those records; that is an
   * estimate (`consistent` false), made only from
   * {@linkcode MIN_LOCAL_RECORDS} records or more (else the bytes are left
   * to the CPU's mean).
   *
   * @returns The count, or undefined when the record sizes do not tile the bytes.
   */
  #countRecords(bytes: Uint8Array, off: number, len: number): RecordCount | undefined {
    const head = this.#walkRecords(bytes, off, len);
    const tiled = head.walked === len;
    if (tiled && head.consistent) return { n: head.n, consistent: true };
    // The head chain is right up to the damaged record (the first one whose
    // size disagrees with its fields, or the walk's end), then may follow
    // its damaged size: split it there or before, where head and tail
    // together count the most.
    const tail = tailChains(bytes, off, len);
    const next = new Int32Array(tail.length).fill(len);
    for (let i = tail.length - 2; i >= 0; i--) next[i] = tail[i]! >= 0 ? i * 8 : next[i + 1]!;
    let best = { counted: -1, start: 0, end: len };
    const marks = head.firstBad >= 0 ? head.marks.slice(0, head.firstBad + 1) : head.marks;
    for (const m of marks) {
      const q = next[(m.at >> 3) + 1]!;
      const counted = m.n + tail[q >> 3]!;
      if (counted > best.counted) best = { counted, start: m.at, end: q };
    }
    if (best.counted < MIN_LOCAL_RECORDS) {
      return tiled ? { n: head.n, consistent: false } : undefined;
    }
    const rate = best.counted / (best.start + len - best.end);
    const gap = Math.max(1, Math.round((best.end - best.start) * rate));
    return { n: best.counted + gap, consistent: false };
  }

  /** Walk record headers from the start of damaged bytes as far as they tile. */
  #walkRecords(
    bytes: Uint8Array,
    off: number,
    len: number,
  ): {
    n: number;
    consistent: boolean;
    walked: number;
    marks: { at: number; n: number }[];
    firstBad: number;
  } {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lostSize = 24 + (this.#sampleIdAll ? SampleLayout.of(this.format).trailer.size : 0);
    let n = 0;
    let consistent = true;
    let p = 0;
    const marks: { at: number; n: number }[] = [];
    let firstBad = -1;
    for (; p < len;) {
      if (!consistent && firstBad < 0) firstBad = marks.length - 1;
      marks.push({ at: p, n });
      if (p + HEADER_SIZE > len) break;
      const at = off + p;
      const type = v.getUint32(at, true);
      const size = v.getUint16(at + 6, true);
      if (size < HEADER_SIZE || size % 8 || p + size > len) break;
      if (type === RecordType.CALLRING_SYNC) {
        // The sync's own CRC may be what is damaged; its magic tells it from a flipped type.
        if (!hasSyncShape(v, at)) consistent = false;
      } else if (type === RecordType.LOST) {
        if (size !== lostSize || !this.#lostIdAt(v, at)) consistent = false;
      } else if (type === RecordType.CALLRING_SUBBUF || type === RecordType.CALLRING_PAD) {
        if (type === RecordType.CALLRING_SUBBUF && size !== 48) consistent = false;
      } else {
        // A sync or LOST record whose type took a flip would be counted wrongly.
        const nearSync = popcount32(type ^ RecordType.CALLRING_SYNC) === 1 &&
          size === SYNC_RECORD_SIZE && syncMagicAt(v, at);
        const nearLost = popcount32(type ^ RecordType.LOST) === 1 && size === lostSize &&
          this.#lostIdAt(v, at);
        if (nearSync || nearLost) consistent = false;
        if (type === RecordType.SAMPLE && !this.#sampleFits(bytes, at, size)) consistent = false;
        if (!this.#sizeFits(v, at, type, size)) consistent = false;
        if (type === RecordType.CALLRING_FRAGMENT) {
          try {
            decodeFragment(v, at);
          } catch {
            consistent = false;
          }
        }
        n++;
      }
      p += size;
    }
    if (!consistent && firstBad < 0) firstBad = marks.length - 1;
    return { n, consistent, walked: p, marks, firstBad };
  }

  /**
   * Whether a symbol, COMM, FORK or EXIT record has the size its own fields
   * imply (the side-band a recorder writes); other types are not checked here.
   */
  #sizeFits(v: DataView, at: number, type: number, size: number): boolean {
    const trailer = this.#sampleIdAll ? SampleLayout.of(this.format).trailer.size : 0;
    switch (type) {
      case RecordType.CALLRING_SYMBOL:
        return size === SYMBOL_HEADER_SIZE +
            ((v.getUint16(at + 28, true) + v.getUint16(at + 30, true) + 7) & ~7);
      case RecordType.FORK:
      case RecordType.EXIT:
        return size === HEADER_SIZE + 24 + trailer;
      case RecordType.COMM: {
        const start = at + HEADER_SIZE + 8;
        const end = at + size - trailer;
        let nul = start;
        while (nul < end && v.getUint8(nul) !== 0) nul++;
        return nul < end && size === HEADER_SIZE + 8 + ((nul - start + 8) & ~7) + trailer;
      }
    }
    return true;
  }

  /** Whether the u64 after the record header is an event id of the capture (any, without ids). */
  #lostIdAt(v: DataView, at: number): boolean {
    return this.#ids.size === 0 || this.#ids.has(getU64(v, at + 8));
  }

  /** Whether a sample record's fields fill exactly its size (at least fit when fields follow the callchain). */
  #sampleFits(bytes: Uint8Array, at: number, size: number): boolean {
    const rec = new DataView(bytes.buffer, bytes.byteOffset + at, size);
    try {
      decodeSample(rec, 0, this.format);
      if (!(this.format.sampleType & SampleType.CALLCHAIN)) return true;
      const cc = SampleLayout.of(this.format).callchainAt(rec, 0);
      const end = cc + 8 + getU64(rec, cc) * 8;
      return (this.format.sampleType & AFTER_CALLCHAIN) ? end <= size : end === size;
    } catch {
      return false;
    }
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
   * @returns Bytes read, rounds delivered and records delivered.
   */
  async readReverse(
    onRecord: (rec: StreamRecord) => unknown,
    options: Omit<CaptureReadOptions, "from" | "maxChunks"> = {},
  ): Promise<{ bytesRead: number; rounds: number; records: number; warnings: CaptureWarning[] }> {
    const WINDOW = 1 << 16;
    const buf = new Uint8Array(WINDOW + CHUNK_HEADER_SIZE);
    let bytesRead = 0;
    let rounds = 0;
    let records = 0;
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
      rounds++;
      // stable sort by time, then deliver from the end: newest first
      const order = got.map((_, i) => i).sort((a, b) => got[a].time - got[b].time || a - b);
      for (let i = order.length - 1; i >= 0 && !stop; i--) {
        records++;
        const r = onRecord(got[order[i]]);
        if ((r instanceof Promise ? await r : r) === false) stop = true;
      }
      group = [];
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
    return { bytesRead, rounds, records, warnings };
  }
}
