/**
 * The simulated `perf record`: a {@link Machine} whose NMI handler writes each sample into its
 * CPU's perf mmap ring (the thread's "reserve the exact size, copy, commit"), side-band COMM /
 * FORK records and the machine's symbol table beside them, rings drained into a callring capture
 * every `drainIntervalNs` of simulated time (consume mode) or snapshotted at the end (overwrite,
 * flight-recorder mode). Optionally reads the capture back and checks it against the ground
 * truth: every sample read equals its true stack, and per CPU
 * `written = read + reported lost` (or `+ overwritten` in overwrite mode).
 *
 * Ring options (the seed thread's ring-buffer debate, seed-spec section 4):
 *
 * - `ring: "subbuf"` cuts each ring into `subbufSize`-byte sub-buffers (NOP or header padding);
 *   header-padded rings are drained a closed sub-buffer at a time and closed at the end.
 * - `overwriteDesign` picks the flight recorder: perf's `write_backward` ("backward"), Peter's
 *   tail pushed ahead of the reservation ("tail-push", L9212-9220), Mathieu's reader-owned spare
 *   sub-buffer ("spare-subbuf", L9871-9890) or Peter's swivel of the whole buffer ("swivel",
 *   L9627-9630: two `write_backward` rings per CPU, the snapshot retires the active one and the
 *   writer goes on in the other). Each is snapshotted every `snapshotIntervalNs` while the machine
 *   keeps running, and once at the end; what a snapshot takes goes into the capture as a chunk
 *   flagged GAP when the CPU stream skipped overwritten bytes. Loss accounting: backward —
 *   records committed minus records the snapshots took (the writer cannot tell which of its bytes
 *   it overwrote); tail-push — the reader's count from the records-pushed counter the writer
 *   publishes with `data_tail`; spare-subbuf — the writer's count of records in untaken
 *   sub-buffers it reused; swivel — per retired ring, records committed since its previous
 *   retirement minus records taken. After each snapshot the counts that changed go into the
 *   capture as `CALLRING_OVERWRITTEN` records (out-of-band chunks), every CPU's at the end, so
 *   `report` can print them.
 * - `fragmentSpread` sends fragment `i` of a sample taken on CPU `c` into CPU `(c + i) % cpus`'s
 *   ring, so fragments interleave with other CPUs' records ("they may even be on different CPU
 *   buffers", L7946-7957); `compactFragments` uses the 16-byte fragment header.
 *
 * @module
 */
import {
  AttrFlag,
  CpuMode,
  decodeRecord,
  defaultAttr,
  encodeRecord,
  RecordType,
  SampleType,
} from "../abi/mod.ts";
import { encodeOverwrittenRecord, encodeSymbolRecord } from "../abi/extensions.ts";
import { CaptureReader, type CaptureReadSummary, type CaptureSource } from "../capture/reader.ts";
import { CHUNK_FLAG_GAP } from "../capture/format.ts";
import { convertCapture, type ConvertSummary } from "../capture/convert.ts";
import { kernelMmapRecord, PerfDataWriter } from "../perfdata/writer.ts";
import { KERNEL_BASE, type SimSymbolTable } from "./workload.ts";
import { type CaptureSink, CaptureWriter } from "../capture/writer.ts";
import { createRingMemory, loadTail } from "../ring/layout.ts";
import { RingReader, snapshotOverwrite, TailPushReader } from "../ring/reader.ts";
import { type SampleFields, SampleWriter } from "../ring/sample_writer.ts";
import { createSpareRing, SpareSubbufReader, SpareSubbufWriter } from "../ring/spare.ts";
import { RingWriter } from "../ring/writer.ts";
import { createSwivelRing, SwivelReader, SwivelWriter } from "../ring/swivel.ts";
import { UnlimitedWriter } from "../ring/unlimited.ts";
import { OverwriteDesign, RingLayout } from "../capture/format.ts";
import type { Strategy } from "./cpu.ts";
import { Machine, type MachineOptions, type SimMetrics } from "./machine.ts";
import type { SampleSink, SimSample, SimTruth } from "./sink.ts";

/** `sample_type` of simulated captures: what `perf record -e cpu-clock -g` writes. */
export const SIM_SAMPLE_TYPE: number = SampleType.IP | SampleType.TID | SampleType.TIME |
  SampleType.CPU | SampleType.PERIOD | SampleType.CALLCHAIN;

/** Event id of the simulated cpu-clock event (LOST records carry it). */
export const SIM_EVENT_ID = 1;

/** Callchain entries per continuation fragment: one callchain buffer's worth (L2639-2653). */
export const SIM_FRAGMENT_ENTRIES = 255;

/** Options of {@link recordSimulation}. */
export interface SimRecordOptions
  extends Omit<MachineOptions, "samples" | "periodNs" | "maxStack" | "cpus"> {
  /** Number of CPUs (default 4). */
  readonly cpus?: number;
  /** Simulated run time in ms (default 250). */
  readonly durationMs?: number;
  /** PMU overflows per second per CPU (default 10,000 = a 100 us period). */
  readonly frequencyHz?: number;
  /** Deep callchains go out as head sample + continuation fragments instead of being cut at 255. */
  readonly fragments?: boolean;
  /** Emit a sync record at least every this many ring bytes (default 65536; 0 = none). */
  readonly syncDistance?: number;
  /** Flight-recorder rings (`overwriteDesign`, default `write_backward`). */
  readonly overwrite?: boolean;
  /** Which flight recorder (implies `overwrite`). */
  readonly overwriteDesign?: "backward" | "tail-push" | "spare-subbuf" | "swivel";
  /** Snapshot flight-recorder rings every this many ns while running (default: drain interval). */
  readonly snapshotIntervalNs?: number;
  /** Stream rings (default) or rings cut into sub-buffers. */
  readonly ring?: "stream" | "subbuf";
  /** Sub-buffer size in bytes (default 16384; at least 4096, at most half the ring). */
  readonly subbufSize?: number;
  /** Sub-buffer end padding: NOP records (default) or the size in the sub-buffer header. */
  readonly subbufPadding?: "nop" | "header";
  /** Fragment `i` of a CPU `c` sample goes into CPU `(c + i) % cpus`'s ring. */
  readonly fragmentSpread?: boolean;
  /** 16-byte fragment headers instead of 32. */
  readonly compactFragments?: boolean;
  /**
   * Write every sample through Steven's `reserve_unlimited` / `assign` / `commit`
   * (`ring/unlimited.ts`): reserved before its size is known, callchains of any depth continued
   * in compact fragments (stream and sub-buffer rings, `backward` and `tail-push`).
   */
  readonly unlimited?: boolean;
  /** Bytes each `reserve_unlimited` piece reserves (default 1024). */
  readonly pieceSize?: number;
  /** Data pages per ring, a power of two (default 128 = 512 KiB, perf record's default). */
  readonly ringPages?: number;
  /** Drain the rings every this many ns of simulated time (default 10 ms). */
  readonly drainIntervalNs?: number;
  /** Keep the ground truth of written samples for a read-back check (default true). */
  readonly verify?: boolean;
  /** Reopens the finished capture for the read-back check (none: no check). */
  readonly readBack?: () => CaptureSource | Promise<CaptureSource>;
  /** Called after each drain round with overflows simulated so far and in total. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Receives the ground truth of every PMU overflow as it happens, with the sample delivered for
   * it (undefined when none was). Both are only valid during the call.
   */
  readonly onTruth?: (truth: SimTruth, sample: SimSample | undefined) => void;
}

/** Ring accounting of one CPU. */
export interface SimCpuAccounting {
  /** CPU number. */
  readonly cpu: number;
  /** Records the writer tried to put into the ring (samples, fragments, side-band). */
  readonly written: number;
  /** Records dropped for lack of room (reported by `PERF_RECORD_LOST`). */
  readonly dropped: number;
  /** Records an overwrite ring overwrote before a snapshot took them. */
  readonly overwritten: number;
  /** Sub-buffers opened (sub-buffer rings and the spare-sub-buffer recorder). */
  readonly subbufs: number;
  /** Sub-buffer padding bytes (NOP records or unused header-padded ends). */
  readonly paddingBytes: number;
  /** LOST records emitted and the sum of their counts. */
  readonly lostRecords: number;
  /** Sum of the counts carried by LOST records. */
  readonly lostReported: number;
  /** Sync records emitted. */
  readonly syncRecords: number;
  /**
   * Records read back (stream records before reassembly, minus side-band the tool wrote straight
   * into the capture; undefined without verify).
   */
  readonly read?: number;
  /** LOST counts read back (undefined without verify). */
  readonly lostRead?: number;
}

/** Read-back check against the ground truth. */
export interface SimVerification {
  /** Samples read back (after reassembly). */
  readonly samples: number;
  /** Samples whose callchain equals the true stack exactly. */
  readonly exact: number;
  /** Samples read back that the recorder never wrote (must be 0). */
  readonly unexpected: number;
  /** Fragmented events the reader gave up incomplete. */
  readonly incompleteEvents: number;
  /** Fragmented events reassembled. */
  readonly defragmented: number;
  /** Whether `written = read + lost (+ overwritten)` held on every CPU. */
  readonly balanced: boolean;
  /** Reader warnings (must be empty for a clean run). */
  readonly warnings: readonly string[];
  /** The reader's full summary. */
  readonly summary: CaptureReadSummary;
}

/** What {@link recordSimulation} did. */
export interface SimRecordResult {
  /** The machine's metrics (attempted, delivered, exact, lost NMIs, corruptions, faults). */
  readonly metrics: SimMetrics;
  /** Per-CPU ring accounting. */
  readonly cpus: readonly SimCpuAccounting[];
  /** Samples handed to the ring writers. */
  readonly samplesWritten: number;
  /** Samples written whole (every record of it committed). */
  readonly samplesCommitted: number;
  /** Samples split into head + fragments. */
  readonly fragmentedSamples: number;
  /** Fragment records written. */
  readonly fragmentRecords: number;
  /** Bytes of sample and fragment records written into the rings. */
  readonly sampleBytes: number;
  /** Capture bytes written. */
  readonly captureBytes: number;
  /** Simulated time covered, ns. */
  readonly simulatedNs: number;
  /** Read-back check (undefined when `verify` is false). */
  readonly verification?: SimVerification;
  /** The simulated machine's symbol table (also in the capture as CALLRING_SYMBOL records). */
  readonly symbols: SimSymbolTable;
}

/**
 * FNV-1a over the u32 halves of a callchain: a stack fingerprint for the ground-truth check.
 * @param words callchain entries as u32 pairs (low, high)
 * @param n entries
 * @returns 32-bit hash
 */
function hashWords(words: Uint32Array, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 2 * n; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return (h ^ n) >>> 0;
}

/** The sink the simulated NMI handler writes through: one ring (and sample writer) per CPU. */
class RingSink implements SampleSink {
  readonly wantsWords = true;
  readonly writers: (RingWriter | SpareSubbufWriter | SwivelWriter)[];
  readonly samplers: SampleWriter[];
  /** Per CPU: the `reserve_unlimited` writer, when samples go through it. */
  readonly unlimited: UnlimitedWriter[] = [];
  /** Written samples awaiting read-back: key -> true-stack hashes. */
  readonly expected = new Map<string, number[]>();
  samples = 0;
  sampleBytes = 0;
  #pendingSample: SimSample | undefined;
  readonly #wordCache = new WeakMap<readonly bigint[], Uint32Array>();
  readonly #fields: SampleFields = {
    misc: 0,
    ipLo: 0,
    ipHi: 0,
    pid: 0,
    tid: 0,
    time: 0,
    id: SIM_EVENT_ID,
    cpu: 0,
    period: 0,
  };
  readonly #verify: boolean;
  readonly #onTruth: SimRecordOptions["onTruth"];
  /** Side-band records held back until the capture starts (the tool's synthesized events). */
  sideband: Uint8Array[] | null = [];

  constructor(cpus: number, dataSize: number, o: SimRecordOptions, design: string) {
    this.#verify = o.verify ?? true;
    this.#onTruth = o.onTruth;
    this.writers = [];
    this.samplers = [];
    const subbuf = o.ring === "subbuf" ? o.subbufSize ?? SIM_SUBBUF_SIZE : 0;
    for (let cpu = 0; cpu < cpus; cpu++) {
      if (design === "spare-subbuf") {
        const sb = o.subbufSize ?? SIM_SUBBUF_SIZE;
        this.writers.push(new SpareSubbufWriter(createSpareRing(dataSize / sb, sb), cpu));
        continue;
      }
      if (design === "swivel") {
        this.writers.push(
          new SwivelWriter(createSwivelRing(dataSize), {
            cpu,
            lostId: SIM_EVENT_ID,
            sampleType: SIM_SAMPLE_TYPE,
            sampleIdAll: true,
          }),
        );
        continue;
      }
      const ring = createRingMemory(dataSize, {
        overwrite: design === "backward",
        tailPush: design === "tail-push",
      });
      this.writers.push(
        new RingWriter(ring, {
          cpu,
          lostId: SIM_EVENT_ID,
          sampleType: SIM_SAMPLE_TYPE,
          sampleIdAll: true,
          syncDistance: design !== "none" || subbuf ? 0 : o.syncDistance ?? 65536,
          subbufSize: subbuf,
          subbufPadding: o.subbufPadding,
        }),
      );
    }
    if (o.unlimited) {
      for (const w of this.writers) {
        this.unlimited.push(
          new UnlimitedWriter(w as RingWriter, SIM_SAMPLE_TYPE, { pieceSize: o.pieceSize }),
        );
      }
    }
    for (let cpu = 0; cpu < cpus; cpu++) {
      this.samplers.push(
        new SampleWriter(this.writers[cpu], SIM_SAMPLE_TYPE, {
          headEntries: o.fragments ? SIM_FRAGMENT_ENTRIES : 0xfff8 / 8 - 8,
          fragmentEntries: SIM_FRAGMENT_ENTRIES,
          compactFragments: o.compactFragments,
          fragmentWriter: o.fragmentSpread ? (i) => this.writers[(cpu + i) % cpus] : undefined,
        }),
      );
    }
  }

  sample(s: SimSample): void {
    this.samples++;
    const n = s.callchain.length;
    const words = s.words ?? this.#wordsOf(s.callchain);
    const f = this.#fields;
    f.misc = s.ip >= 0xffff800000000000n ? CpuMode.KERNEL : CpuMode.USER;
    if (n > 1 && s.callchain[1] === s.ip) {
      f.ipLo = words[2];
      f.ipHi = words[3];
    } else {
      f.ipLo = Number(s.ip & 0xffffffffn);
      f.ipHi = Number(s.ip >> 32n);
    }
    f.pid = s.pid;
    f.tid = s.tid;
    f.time = s.time;
    f.cpu = s.cpu;
    f.period = s.period;
    const uw = this.unlimited[s.cpu];
    if (uw !== undefined) {
      // the unwinder's frames are assigned as they come, the size is known at commit
      const e = uw.reserveUnlimited(f);
      uw.assignWords(e, words, 0, n);
      this.sampleBytes += uw.commit(e);
    } else {
      const sw = this.samplers[s.cpu];
      sw.write(f, words, n);
      this.sampleBytes += sw.bytesFor(n);
    }
    this.#pendingSample = this.#verify || this.#onTruth ? s : undefined;
  }

  /**
   * The callchain as u32 pairs. A thread's chain array is reused until its stack changes, so
   * the conversion (BigInt arithmetic, the slow part) is cached per array.
   */
  #wordsOf(chain: readonly bigint[]): Uint32Array {
    let words = this.#wordCache.get(chain);
    if (words === undefined) {
      words = new Uint32Array(2 * chain.length);
      for (let i = 0; i < chain.length; i++) {
        const v = chain[i];
        words[2 * i] = Number(v & 0xffffffffn);
        words[2 * i + 1] = Number(v >> 32n);
      }
      this.#wordCache.set(chain, words);
    }
    return words;
  }

  truth(t: SimTruth): void {
    this.#onTruth?.(t, this.#pendingSample);
    const s = this.#pendingSample;
    if (!t.delivered || s === undefined) return;
    this.#pendingSample = undefined;
    const key = `${s.cpu}:${s.time}:${s.tid}`;
    const list = this.expected.get(key);
    const words = t.words ?? this.#wordsOf(t.stack);
    const h = hashWords(words, words.length >> 1);
    if (list) list.push(h);
    else this.expected.set(key, [h]);
  }

  comm(pid: number, tid: number, comm: string, time: number): void {
    this.#side(
      encodeRecord(
        {
          type: RecordType.COMM,
          misc: 0,
          size: 0,
          pid,
          tid,
          comm,
          sampleId: this.#id(pid, tid, time),
        },
        SIM_SAMPLE_TYPE,
      ),
      time,
    );
  }

  #side(record: Uint8Array, time: number): void {
    if (this.sideband) this.sideband.push(record);
    else this.writers[0].write(record, time);
  }

  fork(pid: number, ppid: number, tid: number, ptid: number, time: number): void {
    this.#task(RecordType.FORK, pid, ppid, tid, ptid, time);
  }

  exit(pid: number, ppid: number, tid: number, ptid: number, time: number): void {
    this.#task(RecordType.EXIT, pid, ppid, tid, ptid, time);
  }

  #task(
    type: typeof RecordType.FORK | typeof RecordType.EXIT,
    pid: number,
    ppid: number,
    tid: number,
    ptid: number,
    time: number,
  ): void {
    this.#side(
      encodeRecord(
        {
          type,
          misc: 0,
          size: 0,
          pid,
          ppid,
          tid,
          ptid,
          time,
          sampleId: this.#id(pid, tid, time),
        },
        SIM_SAMPLE_TYPE,
      ),
      time,
    );
  }

  #id(pid: number, tid: number, time: number) {
    return { pid, tid, time, cpu: 0 };
  }
}

/**
 * Free bytes of a consume-mode ring.
 * @param w the writer
 * @returns bytes that can be reserved now
 */
function ringRoom(w: RingWriter): number {
  return w.ring.dataSize - (w.head - loadTail(w.ring));
}

/** Default sub-buffer size of simulated sub-buffer rings (4 per 64 KiB). */
export const SIM_SUBBUF_SIZE = 16384;

const OVERWRITE_CODE: Record<string, number> = {
  none: OverwriteDesign.NONE,
  backward: OverwriteDesign.BACKWARD,
  "tail-push": OverwriteDesign.TAIL_PUSH,
  "spare-subbuf": OverwriteDesign.SPARE_SUBBUF,
  swivel: OverwriteDesign.SWIVEL,
};

/** Data records (sync, LOST and sub-buffer framing excluded) in back-to-back record bytes. */
function countRecords(bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  for (let p = 0; p + 8 <= bytes.length;) {
    const type = v.getUint32(p, true);
    if (type !== RecordType.LOST && (type < 0x4c01 || type > 0x4c04 || type === 0x4c02)) n++;
    p += v.getUint16(p + 6, true) || bytes.length;
  }
  return n;
}

/**
 * Simulate a seeded workload under one NMI strategy and record it into a callring capture.
 *
 * @param strategy the NMI strategy installed on every CPU
 * @param sink where the capture bytes go
 * @param options run, ring and capture parameters
 * @returns metrics, ring accounting and the read-back check
 * @throws {RangeError} On impossible parameters (ring size, frequency, duration).
 * @example
 * ```ts
 * import { recordSimulation } from "./recorder.ts";
 * import { getStrategy } from "./strategies/mod.ts";
 * const parts: Uint8Array[] = [];
 * const r = await recordSimulation(getStrategy("mainline"), {
 *   write: (b) => { parts.push(b.slice()); return Promise.resolve(); },
 *   close: () => {},
 * }, { seed: 1, durationMs: 20 });
 * console.log(r.verification?.exact === r.metrics.exact); // true
 * ```
 */
export async function recordSimulation(
  strategy: Strategy,
  sink: CaptureSink,
  options: SimRecordOptions,
): Promise<SimRecordResult> {
  const cpus = options.cpus ?? 4;
  const frequency = options.frequencyHz ?? 10_000;
  const durationMs = options.durationMs ?? 250;
  const pages = options.ringPages ?? 128;
  if (!(frequency > 0 && frequency <= 1e8)) {
    throw new RangeError(`Cannot record: frequency must be in (0, 1e8] Hz: current ${frequency}`);
  }
  if (!(durationMs > 0)) {
    throw new RangeError(`Cannot record: duration must be positive: current ${durationMs} ms`);
  }
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 1024) {
    throw new RangeError(`Cannot record: CPU count must be in [1, 1024]: current ${cpus}`);
  }
  if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0 || pages > 65536) {
    throw new RangeError(
      `Cannot record: ring pages must be a power of two in [1, 65536]: current ${pages}`,
    );
  }
  const periodNs = Math.round(1e9 / frequency);
  const samples = Math.max(1, Math.round((durationMs * 1e6 / periodNs) * cpus));
  const verify = options.verify ?? true;
  const design = options.overwriteDesign ?? (options.overwrite ? "backward" : "none");
  const overwrite = design !== "none";
  const subbuf = design === "spare-subbuf" || options.ring === "subbuf";
  const subbufSize = options.subbufSize ?? SIM_SUBBUF_SIZE;
  if (
    subbuf &&
    (subbufSize < 4096 || subbufSize > pages * 2048 || (subbufSize & (subbufSize - 1)) !== 0)
  ) {
    throw new RangeError(
      `Cannot record: sub-buffer size must be a power of two in [4096, ${
        pages * 2048
      }] (half the ring): current ${subbufSize}`,
    );
  }
  if (
    options.unlimited &&
    (design === "spare-subbuf" || design === "swivel" || options.fragmentSpread)
  ) {
    throw new RangeError(
      `Cannot record: reserve_unlimited keeps an event's pieces in its own CPU's ring reservation (not with ${
        options.fragmentSpread ? "fragment spreading" : `--overwrite ${design}`
      })`,
    );
  }
  if (
    options.ring === "subbuf" &&
    (design === "backward" || design === "tail-push" || design === "swivel")
  ) {
    throw new RangeError(`Cannot record: --overwrite ${design} runs on stream rings only`);
  }
  const headerPad = design === "spare-subbuf" ||
    (options.ring === "subbuf" && options.subbufPadding === "header");
  const syncDistance = overwrite || subbuf ? 0 : options.syncDistance ?? 65536;
  const rs = new RingSink(cpus, pages * 4096, options, design);
  const attr = defaultAttr({
    type: 1,
    config: 0n,
    samplePeriod: periodNs,
    sampleType: SIM_SAMPLE_TYPE,
    flags: 2 ** AttrFlag.sampleIdAll + 2 ** AttrFlag.comm + 2 ** AttrFlag.task,
    sampleMaxStack: options.fragments || options.unlimited ? 0 : 255,
  });
  const cw = await CaptureWriter.create(sink, {
    events: [{ attr, ids: [SIM_EVENT_ID] }],
    cpus,
    clockid: 1,
    startTime: 0,
    syncDistance,
    maxChunk: 1 << 16,
    ring: {
      layout: !subbuf
        ? RingLayout.STREAM
        : headerPad
        ? RingLayout.SUBBUF_HEADER
        : RingLayout.SUBBUF_NOP,
      overwrite: OVERWRITE_CODE[design],
      subbufSize: subbuf ? subbufSize : 0,
    },
  });
  const machine = new Machine(strategy, {
    ...options,
    cpus,
    samples,
    periodNs,
    maxStack: options.fragments || options.unlimited ? Infinity : 255,
  }, rs);
  const ringWriters = rs.writers.filter((w): w is RingWriter => w instanceof RingWriter);
  const readers = design === "none" ? ringWriters.map((w) => new RingReader(w.ring)) : [];
  const tailReaders = design === "tail-push"
    ? ringWriters.map((w) => new TailPushReader(w.ring))
    : [];
  const spareReaders = rs.writers.map((w) =>
    w instanceof SpareSubbufWriter ? new SpareSubbufReader(w.memory) : undefined
  );
  const swivelReaders = rs.writers.map((w) =>
    w instanceof SwivelWriter ? new SwivelReader(w.memory) : undefined
  );
  /** Records of CPU `c`'s ring overwritten before a snapshot took them, so far. */
  const overwrittenSoFar = (c: number): number => {
    const w = rs.writers[c];
    if (w instanceof SpareSubbufWriter) return w.stats.overwritten;
    if (w instanceof SwivelWriter) return swivelReaders[c]!.overwritten;
    if (design === "backward") return w.stats.committed - snapRecords[c];
    if (design === "tail-push") return tailReaders[c].overwritten;
    return 0;
  };
  /** Per CPU: the overwritten count last written into the capture (-1: none yet). */
  const countWritten = new Array<number>(cpus).fill(-1);
  /** A CALLRING_OVERWRITTEN record per CPU whose count changed (every CPU at the end). */
  const writeOverwritten = async (final: boolean) => {
    for (let c = 0; c < cpus; c++) {
      const n = overwrittenSoFar(c);
      if (n === countWritten[c] && !final) continue;
      countWritten[c] = n;
      await cw.addOutOfBand(
        c,
        encodeOverwrittenRecord({
          time: machine.time,
          cpu: c,
          design: OVERWRITE_CODE[design],
          overwritten: n,
        }),
      );
    }
  };
  /** Per CPU: stream position where the capture's stream continues (overwrite snapshots). */
  const nextPos = new Array<number>(cpus).fill(0);
  const snapRecords = new Array<number>(cpus).fill(0);
  const addSnapshot = async (c: number, bytes: Uint8Array, position: number, next: number) => {
    if (bytes.length === 0) return;
    await cw.addRecords(c, bytes, position, position !== nextPos[c] ? CHUNK_FLAG_GAP : 0);
    nextPos[c] = next;
  };
  const snapshotAll = async (final = false) => {
    for (let c = 0; c < cpus; c++) {
      const w = rs.writers[c];
      if (design === "backward") {
        const snap = snapshotOverwrite((w as RingWriter).ring);
        // records before the previous snapshot's head were taken already
        const start = snap.head - snap.bytes.length;
        const skip = Math.max(0, nextPos[c] - start);
        const fresh = snap.bytes.subarray(skip);
        snapRecords[c] += countRecords(fresh);
        await addSnapshot(c, fresh, start + skip, snap.head);
      } else if (design === "tail-push") {
        const snap = tailReaders[c].snapshot();
        await addSnapshot(c, snap.bytes, snap.position, snap.position + snap.bytes.length);
      } else if (design === "swivel") {
        const t = swivelReaders[c]!.swivel()!;
        await addSnapshot(c, t.bytes, t.position, t.position + t.bytes.length);
      } else {
        for (const t of spareReaders[c]!.snapshot()) {
          await addSnapshot(c, t.bytes, t.position, t.position + subbufSize);
        }
      }
    }
    // what the snapshots could not take, counted into the capture (report prints it)
    await writeOverwritten(final);
    cw.endRound();
  };
  const drainAll = async () => {
    if (overwrite) return;
    for (let c = 0; c < cpus; c++) {
      const w = ringWriters[c];
      await cw.drainRing(c, readers[c], headerPad);
      // the LOST record goes in once there is room again, as perf_output_begin does
      if (w.pendingLost > 0 && w.flushLost(machine.time)) {
        // a header-padded ring hands out the LOST record once its sub-buffer is closed
        if (headerPad) w.closeSubbuf(machine.time);
        await cw.drainRing(c, readers[c], headerPad);
      }
    }
    cw.endRound();
  };
  // The tool's synthesized side-band: the machine's symbol table (as perf synthesizes MMAPs at
  // start) and the processes that exist before recording starts.
  let directRecords = 0;
  const side = [...machine.symbols.ranges.map((sym) => encodeSymbolRecord(sym)), ...rs.sideband!];
  rs.sideband = null;
  if (overwrite) {
    // an overwrite ring would lose it: it goes straight into the capture, as perf writes it
    const bytes = new Uint8Array(side.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of side) {
      bytes.set(b, at);
      at += b.length;
    }
    // its own stream: the ring's records follow as CPU 0 chunks flagged GAP
    await cw.addRecords(0, bytes, 0);
    directRecords = side.length;
    nextPos[0] = -1;
    cw.endRound();
  } else {
    for (const rec of side) {
      if (ringRoom(ringWriters[0]) < rec.length + 128 + (subbuf ? subbufSize : 0)) {
        if (headerPad) ringWriters[0].closeSubbuf(0);
        await drainAll();
      }
      ringWriters[0].write(rec, 0);
    }
    await drainAll();
  }
  const interval = options.drainIntervalNs ?? 10_000_000;
  const batch = Math.max(1, Math.round(interval / periodNs) * cpus);
  const snapEvery = options.snapshotIntervalNs ?? interval;
  let nextSnap = snapEvery;
  while (!machine.done) {
    machine.advance(batch);
    if (!overwrite) await drainAll();
    else if (machine.time >= nextSnap) {
      await snapshotAll();
      nextSnap = machine.time + snapEvery;
    }
    options.onProgress?.(machine.overflows, samples);
  }
  if (headerPad && !overwrite) {
    // the final "switch": close every open sub-buffer so the reader can take it
    for (let c = 0; c < cpus; c++) {
      if (!ringWriters[c].closeSubbuf(machine.time)) {
        await drainAll();
        ringWriters[c].closeSubbuf(machine.time);
      }
    }
    await drainAll();
  }
  if (overwrite) {
    for (const w of rs.writers) {
      if (w instanceof SpareSubbufWriter) w.flush();
      // drops not yet reported go out in a LOST record before the last snapshot (a tail-push
      // ring makes room for it; a write_backward ring never drops)
      else if (w instanceof RingWriter && w.pendingLost > 0) w.flushLost(machine.time);
    }
    await snapshotAll(true);
  }
  await cw.close();
  const metrics = machine.metrics();

  let verification: SimVerification | undefined;
  const readCpu = new Map<number, { read: number; lost: number }>();
  if (verify && options.readBack) {
    verification = await verifyCapture(await options.readBack(), rs.expected);
    for (const [cpu, s] of verification.summary.cpus) {
      const direct = cpu === 0 ? directRecords : 0;
      readCpu.set(cpu, { read: s.streamRecords - direct, lost: s.lost });
    }
  }
  const acc: SimCpuAccounting[] = rs.writers.map((w, cpu) => {
    const back = readCpu.get(cpu);
    let overwritten = 0;
    if (w instanceof SpareSubbufWriter) {
      const st = w.stats;
      return {
        cpu,
        written: st.attempted,
        dropped: 0,
        overwritten: st.overwritten,
        subbufs: st.subbufs,
        paddingBytes: st.paddingBytes,
        lostRecords: 0,
        lostReported: 0,
        syncRecords: 0,
        read: back?.read ?? (verification ? 0 : undefined),
        lostRead: back?.lost ?? (verification ? 0 : undefined),
      };
    }
    if (w instanceof SwivelWriter) {
      return {
        cpu,
        written: w.attempted,
        dropped: 0,
        overwritten: overwrittenSoFar(cpu),
        subbufs: 0,
        paddingBytes: 0,
        lostRecords: 0,
        lostReported: 0,
        syncRecords: 0,
        read: back?.read ?? (verification ? 0 : undefined),
        lostRead: back?.lost ?? (verification ? 0 : undefined),
      };
    }
    const st = w.stats;
    if (design === "backward" || design === "tail-push") overwritten = overwrittenSoFar(cpu);
    return {
      cpu,
      written: st.attempted,
      dropped: st.dropped,
      overwritten,
      subbufs: st.subbufs,
      paddingBytes: st.paddingBytes,
      lostRecords: st.lostRecords,
      lostReported: st.lostReported,
      syncRecords: st.syncRecords,
      read: back?.read ?? (verification ? 0 : undefined),
      lostRead: back?.lost ?? (verification ? 0 : undefined),
    };
  });
  if (verification) {
    // a tail-push ring may push a LOST record out: its drops are then counted as overwritten
    const balanced = acc.every((a) =>
      a.written === (a.read ?? 0) + (a.lostRead ?? 0) + a.overwritten &&
      (design === "tail-push" ? (a.lostRead ?? 0) <= a.dropped : a.lostRead === a.dropped)
    );
    verification = { ...verification, balanced };
  }
  let committed = 0;
  let fragmented = 0;
  let fragments = 0;
  for (const s of rs.samplers) {
    committed += s.stats.contiguous + s.stats.fragmented;
    fragmented += s.stats.fragmented + s.stats.fragmentDropped;
    fragments += s.stats.fragments;
  }
  for (const u of rs.unlimited) {
    committed += u.stats.contiguous + u.stats.fragmented;
    fragmented += u.stats.fragmented + u.stats.truncated;
    fragments += u.stats.pieces;
  }
  return {
    metrics,
    cpus: acc,
    samplesWritten: rs.samples,
    samplesCommitted: committed,
    fragmentedSamples: fragmented,
    fragmentRecords: fragments,
    sampleBytes: rs.sampleBytes,
    captureBytes: cw.stats.bytes,
    simulatedNs: machine.time,
    verification,
    symbols: machine.symbols,
  };
}

/**
 * Read a simulated capture back and match every sample with the stack the recorder wrote.
 * @param source the capture bytes
 * @param expected key `cpu:time:tid` -> true-stack hashes (consumed)
 * @returns the verification (with `balanced` to be filled in by the caller)
 */
async function verifyCapture(
  source: CaptureSource,
  expected: Map<string, number[]>,
): Promise<SimVerification> {
  const reader = await CaptureReader.open(source);
  let samples = 0;
  let exact = 0;
  let unexpected = 0;
  try {
    const format = reader.format;
    const summary = await reader.read((rec) => {
      const v = new DataView(rec.bytes.buffer, rec.bytes.byteOffset, rec.bytes.byteLength);
      if (v.getUint32(0, true) !== RecordType.SAMPLE) return;
      const r = decodeRecord(v, 0, format, true, rec.position);
      if (!("sample" in r)) return;
      const s = r.sample;
      samples++;
      const key = `${s.cpu}:${s.time}:${s.tid}`;
      const list = expected.get(key);
      if (!list || list.length === 0 || s.callchain === undefined) {
        unexpected++;
        return;
      }
      const chain = s.callchain;
      const h = hashWords(
        new Uint32Array(chain.buffer, chain.byteOffset, 2 * chain.length),
        chain.length,
      );
      const i = list.indexOf(h);
      if (i >= 0) {
        exact++;
        list.splice(i, 1);
      } else list.shift();
    });
    return {
      samples,
      exact,
      unexpected,
      incompleteEvents: summary.incompleteEvents,
      defragmented: summary.defragmented,
      balanced: false,
      warnings: summary.warnings.map((w) => w.message),
      summary,
    };
  } finally {
    reader.close();
  }
}

/**
 * Format a recording's summary the way `perf record` ends (`[ perf record: Captured and wrote
 * ... ]`), followed by the ground-truth check and the per-CPU ring accounting.
 *
 * @param r the result of {@link recordSimulation}
 * @param output the file written
 * @returns lines of text (no trailing newline)
 */
export function formatRecordSummary(r: SimRecordResult, output: string): string {
  const m = r.metrics;
  const mb = (r.captureBytes / (1 << 20)).toFixed(3);
  const lines = [
    `[ callring record: strategy ${m.strategy}, ${r.cpus.length} CPUs, ` +
    `${(r.simulatedNs / 1e6).toFixed(1)} ms simulated ]`,
    `[ callring record: Captured and wrote ${mb} MB ${output} (${r.samplesWritten} samples) ]`,
    `  overflows ${m.attempted}, delivered ${m.delivered}, exact callchains ${m.exact}, ` +
    `truncated ${m.truncated}`,
    `  NMIs lost beyond latch ${m.nmisLostBeyondLatch}, IST frame corruptions ${m.istCorruptions}, ` +
    `cr2 corruptions ${m.cr2Corruptions}, faults in NMI ${m.faultsInNmi} (#PF ${m.pageFaultsInNmi})`,
    `  ring bytes per sample ${(r.sampleBytes / Math.max(1, r.samplesWritten)).toFixed(1)}` +
    (r.fragmentedSamples > 0
      ? `, ${r.fragmentedSamples} samples in ${r.fragmentRecords} continuation fragments`
      : ""),
  ];
  const subbufs = r.cpus.reduce((n, c) => n + c.subbufs, 0);
  if (subbufs > 0) {
    const pad = r.cpus.reduce((n, c) => n + c.paddingBytes, 0);
    lines.push(`  sub-buffers ${subbufs}, end padding ${pad} bytes`);
  }
  const v = r.verification;
  if (v) {
    lines.push(
      `  read back: ${v.samples} samples, ${v.exact} equal their ground truth` +
        (v.unexpected ? `, ${v.unexpected} UNEXPECTED` : "") +
        (v.defragmented ? `, ${v.defragmented} reassembled from fragments` : "") +
        (v.incompleteEvents ? `, ${v.incompleteEvents} incomplete (lost)` : ""),
    );
    for (const w of v.warnings) lines.push(`  warning: ${w}`);
  }
  const head = ["cpu", "written", "read", "lost", "overwritten", "LOST recs", "sync recs", ""];
  const rows = r.cpus.map((c) => {
    const ok = c.read === undefined
      ? "not verified"
      : c.written === c.read + (c.lostRead ?? 0) + c.overwritten
      ? "written = read + lost" + (c.overwritten ? " + overwritten" : "")
      : "MISMATCH";
    return [
      String(c.cpu),
      String(c.written),
      c.read === undefined ? "-" : String(c.read),
      String(c.lostRead ?? c.lostReported),
      String(c.overwritten),
      String(c.lostRecords),
      String(c.syncRecords),
      ok,
    ];
  });
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const fmt = (cells: string[]) =>
    "  " + cells.map((c, i) => i === cells.length - 1 ? c : c.padStart(w[i])).join("  ");
  lines.push(fmt(head).trimEnd(), ...rows.map(fmt));
  return lines.join("\n");
}

/**
 * Convert a simulated capture into a perf.data that real `perf script` and `perf report` read
 * without warnings: the kernel map record `perf record` writes first (without it perf report
 * warns that kernel address maps were restricted), then every record in time order with
 * fragments reassembled and callring extension records (sync points, symbols) dropped.
 *
 * perf has no way to read the simulated machine's symbol table, so it prints simulated
 * addresses as `[unknown]`; callring's own report and script name them.
 *
 * @param capture path of the capture
 * @param output path of the perf.data to write
 * @returns the conversion summary
 */
export async function exportSimulationPerfData(
  capture: string,
  output: string,
): Promise<ConvertSummary> {
  const reader = await CaptureReader.open(capture);
  try {
    const h = reader.header;
    const writer = await PerfDataWriter.create(output, {
      events: h.events.map((e) => ({ attr: e.attr, ids: e.ids, name: "cpu-clock" })),
      nrCpusOnline: h.cpus,
      nrCpusAvailable: h.cpus,
      hostname: "callring-sim",
      osRelease: "callring-sim",
      cmdline: ["callring", "record"],
    });
    await writer.writeRecord(kernelMmapRecord(KERNEL_BASE));
    return await convertCapture(reader, writer);
  } finally {
    reader.close();
  }
}

/**
 * The simulated kernel's symbols in `/proc/kallsyms` format, for `perf report --kallsyms FILE`
 * on an exported perf.data (perf otherwise names simulated kernel addresses after the host's
 * kernel). `_text` sits at the simulated kernel base, where the exported kernel map says.
 *
 * @param symbols the machine's symbol table ({@link Machine.symbols})
 * @returns the file's text
 * @example
 * ```ts
 * import { simulationKallsyms } from "./recorder.ts";
 * import { Image } from "./workload.ts";
 * console.log(simulationKallsyms(new Image().symbols).split("\n")[0]); // "ffffffff81000000 T _text"
 * ```
 */
export function simulationKallsyms(symbols: SimSymbolTable): string {
  const kernel = symbols.ranges.filter((r) => r.kernel);
  const lines = [`${KERNEL_BASE.toString(16)} T _text`];
  for (const r of kernel) lines.push(`${r.start.toString(16)} T ${r.name}`);
  const end = kernel.length ? kernel[kernel.length - 1].end : KERNEL_BASE;
  lines.push(`${end.toString(16)} T _etext`);
  return lines.join("\n") + "\n";
}

/**
 * One ground-truth line (JSON) for a PMU overflow: where and when, whether a sample was
 * delivered, the true stack and, when a sample was delivered but differs, its callchain.
 * Addresses are hex strings, kernel order (leaf first) with the PERF_CONTEXT markers.
 *
 * @param truth the overflow's ground truth
 * @param sample the sample delivered for it, if any
 * @returns one line of NDJSON (no newline)
 * @example
 * ```ts
 * import { truthLine } from "./recorder.ts";
 * console.log(truthLine({ cpu: 0, time: 5, pid: 1, tid: 1, stack: [0x400000n], delivered: false }, undefined));
 * ```
 */
export function truthLine(truth: SimTruth, sample: SimSample | undefined): string {
  const hex = (v: bigint) => v.toString(16);
  const line: Record<string, unknown> = {
    cpu: truth.cpu,
    time: truth.time,
    pid: truth.pid,
    tid: truth.tid,
    delivered: truth.delivered,
    stack: truth.stack.map(hex),
  };
  if (sample && truth.delivered) {
    const a = sample.callchain;
    const b = truth.stack;
    const same = a.length === b.length && a.every((v, i) => v === b[i]);
    if (!same) line.sampled = a.map(hex);
    line.sampleTime = sample.time;
    if (sample.truncated) line.truncated = true;
  }
  return JSON.stringify(line);
}
