/**
 * `record --live`: open one perf event per CPU (per CPU and thread for
 * `-p` / `-t`, redirected with `PERF_EVENT_IOC_SET_OUTPUT` into one ring per
 * CPU, as `perf record` does), map each ring, synthesize the side-band of
 * what already runs, enable, and drain every ring on a timer through the
 * project's {@linkcode RingReader} into a {@linkcode LiveOutput} until the
 * workload exits, the duration ends or {@linkcode LiveRecorder.stop} is
 * called (Ctrl-C). Models `__cmd_record()` (tools/perf/builtin-record.c):
 * `evlist__prepare_workload()` (spawn, hold before exec, `enable_on_exec`),
 * `record__synthesize()`, `record__mmap_read_all()` + FINISHED_ROUND per pass.
 *
 * Flight-recorder mode (`--overwrite`) maps the rings read-only with
 * `write_backward` and, as perf does, moves the side-band (COMM, MMAP2,
 * FORK/EXIT) to a `dummy` event per CPU with its own consume-mode ring, so
 * the flight recorder cannot overwrite the maps its samples need
 * (`PERF_SAMPLE_IDENTIFIER` tells the two events apart); {@linkcode LiveRecorder.snapshot} (SIGUSR2, and at the end)
 * pauses each ring (`PERF_EVENT_IOC_PAUSE_OUTPUT`), copies it with
 * {@linkcode snapshotOverwrite}, and keeps only the records written since the
 * previous snapshot, as perf's `overwrite_rb_find_range()` does. Bytes the
 * kernel overwrote before a snapshot could copy them are counted.
 *
 * Loss is accounted per ring: the kernel's `PERF_RECORD_LOST` (records it
 * could not write: ring full) and `PERF_RECORD_LOST_SAMPLES`, `THROTTLE` /
 * `UNTHROTTLE`, and the recorder's own drops (ring bytes that did not parse
 * as records, counted in bytes).
 *
 * Kernel records never exceed the 64 KiB record limit (the kernel bounds a
 * sample by `perf_event_max_stack`), so live rings never need continuation
 * fragments; the kernel writes no callring sync records either: the capture's
 * chunk headers are its sync points.
 *
 * @module
 */

import { encodeAttr, type PerfEventAttr, type PerfRecord, RecordType } from "../abi/mod.ts";
import { snapshotOverwrite } from "../ring/reader.ts";
import { liveAttr, type LiveEvent, parseEvent } from "./events.ts";
import type { LiveOutput, LiveOutputInfo } from "./output.ts";
import { KernelRing } from "./ring.ts";
import {
  type BuildIdReader,
  kernelMapRecord,
  onlineCpus,
  synthesizeProcesses,
  type SynthesizeStats,
  threadsOf,
} from "./synthesize.ts";
import {
  closeFd,
  Errno,
  eventId,
  ioctl,
  mkfifo,
  perfEventOpen,
  PerfIoc,
  strerror,
  SysError,
} from "./sys.ts";

/** What to record. */
export type LiveTarget =
  | { kind: "command"; argv: string[] }
  | { kind: "pid"; pid: number }
  | { kind: "tid"; tid: number }
  | { kind: "system" };

/** Options of a live recording. */
export interface LiveRecordOptions {
  /** The target (`-- CMD`, `-p`, `-t`, `-a` / `-C`). */
  target: LiveTarget;
  /** CPUs to record on (`-C`); default every online CPU. */
  cpus?: number[];
  /** The event (`-e`). */
  event: LiveEvent;
  /** Samples per second (`-F`, default 4000). */
  frequency?: number;
  /** Sample period (`-c`). */
  period?: number;
  /** Frame-pointer callchains (`-g`). */
  callchain?: boolean;
  /** Flight-recorder rings. */
  overwrite?: boolean;
  /** Data pages per ring (a power of two; default 128 = 512 KiB, perf's default). */
  mmapPages?: number;
  /** Stop after this many ms. */
  durationMs?: number;
  /** Drain interval in ms (default 10). */
  pollMs?: number;
  /** Build ids of mapped files for the synthesized MMAP2 records. */
  buildIdOf?: BuildIdReader;
  /** Command line to store in a perf.data. */
  cmdline?: string[];
  /** Called once the events are enabled (or the workload released to exec). */
  onStarted?: () => void;
  /** Called after each flight-recorder snapshot with its number and what it kept. */
  onSnapshot?: (index: number, records: number, bytes: number) => void;
}

/** Accounting of one ring. */
export interface LiveRingStats {
  /** Ring index. */
  ring: number;
  /** CPU of the ring. */
  cpu: number;
  /** Capture stream of the ring (its CPU for a sampling ring). */
  stream: number;
  /** A flight recording's side-band ring (the `dummy` tracking event, consume mode). */
  tracking: boolean;
  /** PERF_RECORD_SAMPLE records read. */
  samples: number;
  /** Records read (all types). */
  records: number;
  /** Ring bytes read. */
  bytes: number;
  /** Bytes of samples read (for bytes per sample). */
  sampleBytes: number;
  /** PERF_RECORD_LOST records. */
  lostRecords: number;
  /** Sum of their `lost` counts (records the kernel dropped: ring full). */
  lost: number;
  /** PERF_RECORD_LOST_SAMPLES records. */
  lostSamplesRecords: number;
  /** Sum of their counts. */
  lostSamples: number;
  /** PERF_RECORD_THROTTLE records. */
  throttle: number;
  /** PERF_RECORD_UNTHROTTLE records. */
  unthrottle: number;
  /** Ring bytes the recorder dropped (did not parse as records). */
  droppedBytes: number;
  /** Overwrite mode: bytes the kernel overwrote before a snapshot copied them. */
  overwrittenBytes: number;
  /** Overwrite mode: snapshots taken. */
  snapshots: number;
}

/** The result of a live recording. */
export interface LiveRecordResult {
  /** Per ring accounting. */
  rings: LiveRingStats[];
  /** Event fds opened. */
  events: number;
  /** Wall time from enable to stop, ms. */
  elapsedMs: number;
  /** Bytes of the output. */
  outputBytes: number;
  /** What the synthesize step read. */
  synthesized: SynthesizeStats & { records: number };
  /** Side-band records written besides the synthesized ones (the kernel map record). */
  sidebandExtra: number;
  /** Capture stream of the synthesized side-band. */
  sidebandStream: number;
  /** Exit status of a spawned workload (undefined for other targets or when killed by us). */
  workloadStatus?: Deno.CommandStatus;
  /** Why the recording stopped. */
  stopReason: "workload exited" | "duration" | "stopped" | "target exited";
  /** The attr used. */
  attr: PerfEventAttr;
  /** The event's name. */
  eventName: string;
}

/** perf_event_open failed; the message is perf's, on one line, with its hint. */
export class LiveOpenError extends Error {
  /** The errno value. */
  readonly errno: number;

  /**
   * Create the error.
   *
   * @param message The one-line message.
   * @param errnoValue The errno value.
   */
  constructor(message: string, errnoValue: number) {
    super(message);
    this.name = "LiveOpenError";
    this.errno = errnoValue;
  }
}

function paranoid(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/perf_event_paranoid").trim();
  } catch {
    return "unknown";
  }
}

/**
 * perf's `evsel__open_strerror()` for the errors a recording meets, on one line.
 *
 * @param e The errno.
 * @param event The event name.
 * @param target What was opened (`pid 12`, `CPU 3`).
 * @returns The message.
 */
export function openErrorMessage(e: number, event: string, target: string): string {
  switch (e) {
    case Errno.EPERM:
    case Errno.EACCES:
      return `Access to performance monitoring and observability operations is limited ` +
        `(perf_event_open for ${event} on ${target}: ${strerror(e)}): ` +
        `perf_event_paranoid setting is ${paranoid()}; consider adjusting ` +
        `/proc/sys/kernel/perf_event_paranoid (-1: no restriction, 0: allow kernel and CPU ` +
        `profiling, 1: allow kernel profiling, 2: user-space measurements only) or running ` +
        `with CAP_PERFMON (see https://www.kernel.org/doc/html/latest/admin-guide/perf-security.html)`;
    case Errno.ESRCH:
      return `The sys_perf_event_open() syscall returned with 3 (No such process) for event ` +
        `(${event}): ${target} does not exist`;
    case Errno.ENOENT:
    case Errno.ENODEV:
    case Errno.EOPNOTSUPP:
      return `The ${event} event is not supported (sys_perf_event_open() returned ${e} ` +
        `(${strerror(e)}) on ${target})`;
    case Errno.EMFILE:
      return `Too many events are opened (${target}): try again after reducing the number of ` +
        `events or raising the open file limit (ulimit -n)`;
    default:
      return `The sys_perf_event_open() syscall returned with ${e} (${strerror(e)}) for ` +
        `event (${event}) on ${target}; /bin/dmesg | grep -i perf may provide additional information`;
  }
}

function newStats(ring: number, cpu: number, stream: number, tracking: boolean): LiveRingStats {
  return {
    ring,
    cpu,
    stream,
    tracking,
    samples: 0,
    records: 0,
    bytes: 0,
    sampleBytes: 0,
    lostRecords: 0,
    lost: 0,
    lostSamplesRecords: 0,
    lostSamples: 0,
    throttle: 0,
    unthrottle: 0,
    droppedBytes: 0,
    overwrittenBytes: 0,
    snapshots: 0,
  };
}

/**
 * Count the records of drained bytes; returns how many bytes tile into whole
 * records (the rest cannot be parsed and is the recorder's own drop).
 */
function account(s: LiveRingStats, bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  while (p + 8 <= bytes.length) {
    const size = v.getUint16(p + 6, true);
    if (size < 8 || (size & 7) !== 0 || p + size > bytes.length) break;
    const type = v.getUint32(p, true);
    s.records++;
    switch (type) {
      case RecordType.SAMPLE:
        s.samples++;
        s.sampleBytes += size;
        break;
      case RecordType.LOST:
        s.lostRecords++;
        s.lost += v.getUint32(p + 16, true) + v.getUint32(p + 20, true) * 0x1_0000_0000;
        break;
      case RecordType.LOST_SAMPLES:
        s.lostSamplesRecords++;
        s.lostSamples += v.getUint32(p + 8, true) + v.getUint32(p + 12, true) * 0x1_0000_0000;
        break;
      case RecordType.THROTTLE:
        s.throttle++;
        break;
      case RecordType.UNTHROTTLE:
        s.unthrottle++;
        break;
    }
    p += size;
  }
  s.bytes += p;
  s.droppedBytes += bytes.length - p;
  return p;
}

/** Data pages of a flight recording's side-band (tracking) ring per CPU. */
const TRACKING_PAGES = 16;

interface Ring {
  kernel: KernelRing;
  cpu: number;
  tracking: boolean;
  stats: LiveRingStats;
  staging: Uint8Array;
  /** Overwrite mode: bytes written backwards at the previous snapshot. */
  prevHead: number;
}

const HOLD_SCRIPT = 'read _ < "$0"; exec "$@"';

/** A live recording: {@linkcode LiveRecorder.open}, then {@linkcode LiveRecorder.run}. */
export class LiveRecorder {
  /** The attr every event was opened with. */
  readonly attr: PerfEventAttr;
  /** Fallbacks taken while opening (perf prints them as warnings). */
  readonly warnings: string[];
  readonly #o: LiveRecordOptions;
  readonly #fds: number[];
  readonly #ids: number[];
  readonly #rings: Ring[];
  readonly #trackAttr: PerfEventAttr | undefined;
  readonly #trackIds: number[];
  readonly #sidebandStream: number;
  readonly #child: Deno.ChildProcess | undefined;
  readonly #fifo: string | undefined;
  #stopRequested = false;
  #snapshotsPending = 0;
  #childDone = false;
  #snapshots = 0;
  #wake: (() => void) | undefined;

  private constructor(
    o: LiveRecordOptions,
    attr: PerfEventAttr,
    fds: number[],
    ids: number[],
    rings: Ring[],
    child: Deno.ChildProcess | undefined,
    fifo: string | undefined,
    warnings: string[],
    extra: { trackAttr?: PerfEventAttr; trackIds: number[]; sideband: number },
  ) {
    this.warnings = warnings;
    this.#trackAttr = extra.trackAttr;
    this.#trackIds = extra.trackIds;
    this.#sidebandStream = extra.sideband;
    this.#o = o;
    this.attr = attr;
    this.#fds = fds;
    this.#ids = ids;
    this.#rings = rings;
    this.#child = child;
    this.#fifo = fifo;
  }

  /**
   * Spawn the workload (held before its exec), open and map the events.
   *
   * @param o The options.
   * @returns The recorder, events disabled.
   * @throws {LiveOpenError} When an event cannot be opened (permission, no such task or event).
   */
  static async open(o: LiveRecordOptions): Promise<LiveRecorder> {
    const cpus = o.cpus ?? onlineCpus();
    const pages = o.mmapPages ?? 128;
    if (pages < 1 || (pages & (pages - 1)) !== 0) {
      throw new RangeError(`Cannot record: mmap pages must be a power of two: current ${pages}`);
    }
    let tids: number[];
    let child: Deno.ChildProcess | undefined;
    let fifo: string | undefined;
    const t = o.target;
    if (t.kind === "command") {
      const dir = await Deno.makeTempDir({ prefix: "callring-live-" });
      fifo = `${dir}/go`;
      mkfifo(fifo);
      child = new Deno.Command("/bin/sh", {
        args: ["-c", HOLD_SCRIPT, fifo, ...t.argv],
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      tids = [child.pid];
    } else if (t.kind === "pid") {
      const list = threadsOf(t.pid);
      if (!list?.length) {
        throw new LiveOpenError(
          `Couldn't create thread/CPU maps: No such process (pid ${t.pid})`,
          Errno.ESRCH,
        );
      }
      tids = list;
    } else if (t.kind === "tid") {
      tids = [t.tid];
    } else tids = [-1];
    try {
      let withBuildId = true;
      let excludeKernel = false;
      const warnings: string[] = [];
      const overwrite = o.overwrite ?? false;
      const inherit = t.kind === "command" || t.kind === "pid";
      // A flight recorder keeps only the newest records, so the side-band goes, as perf does it,
      // through a `dummy` event with its own consume-mode ring; IDENTIFIER tells the two apart.
      const make = () =>
        liveAttr({
          event: o.event,
          frequency: o.frequency,
          period: o.period,
          callchain: o.callchain,
          overwrite,
          inherit,
          enableOnExec: t.kind === "command",
          buildId: withBuildId,
          excludeKernel,
          tracking: !overwrite,
          identifier: overwrite,
        });
      const makeTrack = (main: PerfEventAttr) => {
        const a = liveAttr({
          event: parseEvent("dummy"),
          period: 1,
          inherit,
          enableOnExec: t.kind === "command",
          buildId: withBuildId,
          excludeKernel,
        });
        a.sampleType = main.sampleType;
        return a;
      };
      let attr = make();
      let trackAttr = makeTrack(attr);
      // perf's evsel__detect_missing_features() and evsel__fallback(), tried on the first open:
      // kernels before 5.12 refuse build_id; perf_event_paranoid 2 refuses kernel samples.
      const openOne = (tid: number, cpu: number, track: boolean): number | SysError => {
        for (;;) {
          try {
            return perfEventOpen(encodeAttr(track ? trackAttr : attr), tid, cpu);
          } catch (e) {
            if (!(e instanceof SysError)) throw e;
            if (fds.length === 0 && e.errno === Errno.EINVAL && withBuildId) {
              withBuildId = false;
            } else if (
              fds.length === 0 && (e.errno === Errno.EACCES || e.errno === Errno.EPERM) &&
              !excludeKernel && t.kind !== "system"
            ) {
              excludeKernel = true;
              warnings.push(
                `kernel.perf_event_paranoid=${paranoid()}, trying to fall back to excluding ` +
                  "kernel and hypervisor samples",
              );
            } else return e;
            attr = make();
            trackAttr = makeTrack(attr);
          }
        }
      };
      const fds: number[] = [];
      const ids: number[] = [];
      const trackIds: number[] = [];
      const rings: Ring[] = [];
      const sideband = cpus.reduce((m, c) => Math.max(m, c), -1) + 1;
      const cleanup = () => {
        for (const r of rings) r.kernel.close();
        for (const fd of fds) closeFd(fd);
        if (child) {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }
        if (fifo) Deno.removeSync(fifo.slice(0, fifo.lastIndexOf("/")), { recursive: true });
      };
      const openCpu = (cpu: number, track: boolean) => {
        let leader = -1;
        for (const tid of tids) {
          const fd = openOne(tid, cpu, track);
          if (fd instanceof SysError) {
            // A thread of a -p target that exited while its siblings were opened.
            if (fd.errno === Errno.ESRCH && t.kind === "pid" && tids.length > 1) continue;
            throw new LiveOpenError(
              openErrorMessage(fd.errno, track ? "dummy" : o.event.name, where(tid, cpu)),
              fd.errno,
            );
          }
          fds.push(fd);
          (track ? trackIds : ids).push(eventId(fd));
          if (leader < 0) {
            leader = fd;
            const kernel = new KernelRing(fd, track ? TRACKING_PAGES : pages, overwrite && !track);
            const stream = track ? sideband + 1 + rings.filter((r) => r.tracking).length : cpu;
            rings.push({
              kernel,
              cpu,
              tracking: track,
              stats: newStats(rings.length, cpu, stream, track),
              staging: new Uint8Array(kernel.memory.dataSize),
              prevHead: 0,
            });
          } else {
            ioctl(fd, PerfIoc.SET_OUTPUT, leader);
          }
        }
      };
      try {
        for (const cpu of cpus) {
          openCpu(cpu, false);
          if (overwrite) openCpu(cpu, true);
        }
      } catch (e) {
        cleanup();
        if (e instanceof SysError && e.call === "mmap" && e.errno === Errno.EPERM) {
          throw new LiveOpenError(
            "Permission error mapping pages: consider increasing " +
              "/proc/sys/kernel/perf_event_mlock_kb, or try again with a smaller value of " +
              `-m/--mmap-pages (current value: ${pages})`,
            e.errno,
          );
        }
        if (e instanceof SysError) throw new LiveOpenError(e.message, e.errno);
        throw e;
      }
      return new LiveRecorder(o, attr, fds, ids, rings, child, fifo, warnings, {
        trackAttr: overwrite ? trackAttr : undefined,
        trackIds,
        sideband,
      });
    } catch (e) {
      // Whatever failed after the spawn, the held workload must not outlive us.
      if (child) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      if (fifo) {
        try {
          Deno.removeSync(fifo.slice(0, fifo.lastIndexOf("/")), { recursive: true });
        } catch {
          // removed by the inner cleanup
        }
      }
      throw e;
    }
  }

  /** What an output needs to know (attr, ids, ring count). */
  get info(): LiveOutputInfo {
    return {
      attr: this.attr,
      eventName: this.#o.event.name,
      ids: this.#ids,
      tracking: this.#trackAttr
        ? { attr: this.#trackAttr, ids: this.#trackIds, name: "dummy" }
        : undefined,
      ringStreams: this.#rings.map((r) => r.stats.stream),
      sidebandStream: this.#sidebandStream,
      cmdline: this.#o.cmdline ?? ["callring", "record", "--live"],
    };
  }

  /** Pid of the spawned workload (command targets). */
  get workloadPid(): number | undefined {
    return this.#child?.pid;
  }

  /** Ask the run loop to stop (Ctrl-C); it drains what is left and returns. */
  stop(): void {
    this.#stopRequested = true;
    this.#wake?.();
  }

  /** Ask the run loop for a flight-recorder snapshot (SIGUSR2). */
  requestSnapshot(): void {
    this.#snapshotsPending++;
    this.#wake?.();
  }

  /**
   * Synthesize, enable, and drain until the end; then disable, drain the
   * rest (or take the final snapshot), and release everything.
   *
   * @param out Where the records go (closed at the end).
   * @returns The accounting.
   */
  async run(out: LiveOutput): Promise<LiveRecordResult> {
    const o = this.#o;
    const t = o.target;
    let synthesized: SynthesizeStats & { records: number } = {
      processes: 0,
      threads: 0,
      vanished: 0,
      records: 0,
    };
    let stopReason: LiveRecordResult["stopReason"] = "stopped";
    let sidebandExtra = 0;
    let workloadStatus: Deno.CommandStatus | undefined;
    let t0 = performance.now();
    try {
      const side: PerfRecord[] = [];
      const kmap = kernelMapRecord();
      if (kmap) side.push(kmap);
      sidebandExtra = side.length;
      if (t.kind !== "command") {
        const pid = t.kind === "pid" ? t.pid : t.kind === "tid" ? pidOfTid(t.tid) : undefined;
        const syn = synthesizeProcesses(
          t.kind === "system" ? "all" : pid !== undefined ? [pid] : [],
          o.buildIdOf,
        );
        side.push(...syn.records);
        synthesized = { ...syn.stats, records: syn.records.length };
      }
      await out.sideband(side);

      let exited = false;
      const status = this.#child?.status.then((s) => {
        exited = true;
        this.#childDone = true;
        workloadStatus = s;
        this.#wake?.();
        return s;
      });
      t0 = performance.now();
      if (this.#child && this.#fifo) {
        const go = await Promise.race([
          Deno.open(this.#fifo, { write: true }),
          status!.then(() => undefined),
        ]);
        if (go) {
          await go.write(new Uint8Array([10]));
          go.close();
        }
      } else {
        for (const fd of this.#fds) ioctl(fd, PerfIoc.ENABLE);
      }
      o.onStarted?.();
      const deadline = o.durationMs !== undefined ? t0 + o.durationMs : Infinity;
      const poll = o.pollMs ?? 10;
      for (;;) {
        while (this.#snapshotsPending > 0 && o.overwrite) {
          this.#snapshotsPending--;
          await this.#snapshotAll(out);
        }
        await this.#drainAll(out);
        if (this.#stopRequested) break;
        if (exited) {
          stopReason = "workload exited";
          break;
        }
        const now = performance.now();
        if (now >= deadline) {
          stopReason = "duration";
          break;
        }
        if (t.kind === "pid" || t.kind === "tid") {
          const id = t.kind === "pid" ? t.pid : t.tid;
          try {
            Deno.statSync(`/proc/${id}`);
          } catch {
            stopReason = "target exited";
            break;
          }
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(poll, Math.max(0, deadline - now)));
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.#wake = done;
        });
        this.#wake = undefined;
      }
      for (const fd of this.#fds) ioctl(fd, PerfIoc.DISABLE);
      await this.#drainAll(out);
      if (o.overwrite) await this.#snapshotAll(out);
      const elapsedMs = performance.now() - t0;
      if (this.#child && !exited) {
        try {
          this.#child.kill("SIGTERM");
        } catch {
          // exited meanwhile
        }
      }
      if (this.#child) {
        const s = await this.#child.status;
        this.#childDone = true;
        if (exited) workloadStatus = s;
      }
      await out.close();
      return {
        rings: this.#rings.map((r) => r.stats),
        events: this.#fds.length,
        elapsedMs,
        outputBytes: out.bytes,
        synthesized,
        sidebandExtra,
        sidebandStream: this.#sidebandStream,
        workloadStatus,
        stopReason,
        attr: this.attr,
        eventName: o.event.name,
      };
    } finally {
      this.close();
    }
  }

  /** Unmap the rings, close the fds, end a workload still running, remove the hold FIFO (idempotent). */
  close(): void {
    if (this.#child && !this.#childDone) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // exited meanwhile
      }
    }
    for (const r of this.#rings) r.kernel.close();
    for (const fd of this.#fds.splice(0)) closeFd(fd);
    if (this.#fifo) {
      try {
        Deno.removeSync(this.#fifo.slice(0, this.#fifo.lastIndexOf("/")), { recursive: true });
      } catch {
        // removed already
      }
    }
  }

  async #drainAll(out: LiveOutput): Promise<void> {
    let any = false;
    for (const r of this.#rings) {
      const reader = r.kernel.reader;
      if (!reader) continue; // overwrite rings are snapshotted
      let n = 0;
      let position = -1;
      reader.drain((bytes, pos) => {
        if (position < 0) position = pos;
        r.staging.set(bytes, n);
        n += bytes.length;
      });
      if (n === 0) continue;
      const whole = account(r.stats, r.staging.subarray(0, n));
      if (whole > 0) {
        await out.records(r.stats.ring, r.staging.subarray(0, whole), position, false);
        any = true;
      }
    }
    if (any) await out.endRound();
  }

  async #snapshotAll(out: LiveOutput): Promise<void> {
    let records = 0;
    let kept = 0;
    for (const r of this.#rings) {
      if (r.kernel.reader) continue; // consume-mode side-band rings are drained
      r.kernel.pause(true);
      let snap;
      try {
        snap = snapshotOverwrite(r.kernel.memory);
      } finally {
        r.kernel.pause(false);
      }
      r.stats.snapshots++;
      const fresh = snap.head - r.prevHead;
      let bytes = snap.bytes;
      if (fresh < bytes.length) bytes = bytes.subarray(bytes.length - fresh);
      else r.stats.overwrittenBytes += fresh - bytes.length;
      r.prevHead = snap.head;
      if (!bytes.length) continue;
      const before = r.stats.records;
      const whole = account(r.stats, bytes);
      records += r.stats.records - before;
      kept += whole;
      if (whole > 0) {
        await out.records(r.stats.ring, bytes.subarray(0, whole), snap.head - bytes.length, true);
      }
    }
    await out.endRound();
    this.#snapshots++;
    this.#o.onSnapshot?.(this.#snapshots, records, kept);
  }
}

function where(tid: number, cpu: number): string {
  return tid < 0 ? `CPU ${cpu}` : cpu < 0 ? `tid ${tid}` : `tid ${tid} CPU ${cpu}`;
}

function pidOfTid(tid: number): number | undefined {
  try {
    const m = /^Tgid:\s+(\d+)$/m.exec(Deno.readTextFileSync(`/proc/${tid}/status`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The end-of-recording summary: perf's `[ perf record: Captured and wrote ... ]`
 * line, rates, and the per-CPU loss table (like the simulator's).
 *
 * @param r The result.
 * @param output The file written.
 * @returns Lines of text (no trailing newline).
 */
export function formatLiveSummary(r: LiveRecordResult, output: string): string {
  const sum = (f: (s: LiveRingStats) => number) => r.rings.reduce((n, s) => n + f(s), 0);
  const samples = sum((s) => s.samples);
  const lost = sum((s) => s.lost) + sum((s) => s.lostSamples);
  const lines = [
    `[ callring record: ${r.eventName}, ${r.events} events on ${r.rings.length} rings, ` +
    `${(r.elapsedMs / 1000).toFixed(3)} s, ${r.stopReason} ]`,
    `[ callring record: Captured and wrote ${(r.outputBytes / (1 << 20)).toFixed(3)} MB ` +
    `${output} (${samples} samples) ]`,
    `  ${(samples / Math.max(r.elapsedMs / 1000, 1e-9)).toFixed(0)} samples/s, ` +
    `${(sum((s) => s.sampleBytes) / Math.max(1, samples)).toFixed(1)} ring bytes per sample, ` +
    `${lost} lost` +
    (r.synthesized.records
      ? `, ${r.synthesized.records} side-band records synthesized for ${r.synthesized.processes} ` +
        `processes`
      : ""),
  ];
  const overwrite = r.rings.some((s) => s.snapshots > 0 || s.tracking);
  const head = [
    "cpu",
    "samples",
    "records",
    "LOST recs",
    "lost",
    "LOST_SAMPLES",
    "throttle",
    "unthrottle",
    "dropped B",
    ...(overwrite ? ["snapshots", "overwritten B"] : []),
  ];
  const rows = r.rings.map((s) => [
    s.tracking ? `${s.cpu} side-band` : String(s.cpu),
    String(s.samples),
    String(s.records),
    String(s.lostRecords),
    String(s.lost),
    String(s.lostSamples),
    String(s.throttle),
    String(s.unthrottle),
    String(s.droppedBytes),
    ...(overwrite
      ? (s.tracking ? ["-", "-"] : [String(s.snapshots), String(s.overwrittenBytes)])
      : []),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const fmt = (cells: string[]) => "  " + cells.map((c, i) => c.padStart(w[i]!)).join("  ");
  lines.push(fmt(head), ...rows.map(fmt));
  return lines.join("\n");
}
