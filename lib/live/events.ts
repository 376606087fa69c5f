/**
 * Event names and the `perf_event_attr` of a live recording, as `perf record`
 * builds it (`evsel__config()`, tools/perf/util/evsel.c): software and
 * hardware events by their perf names, tracepoints as `subsystem:name` (id
 * from tracefs), frequency (`-F`) or period (`-c`) sampling, `-g` for
 * frame-pointer callchains (kernel and user), side-band tracking (COMM with
 * `comm_exec`, MMAP2 with build ids, FORK/EXIT) on every event, and
 * `write_backward` for flight-recorder rings.
 *
 * @module
 */

import {
  AttrFlag,
  AttrType,
  defaultAttr,
  type PerfEventAttr,
  SampleType,
  SoftwareEvent,
} from "../abi/mod.ts";

/** A parsed event name. */
export interface LiveEvent {
  /** The name as perf prints it (`cpu-clock`, `sched:sched_switch`). */
  name: string;
  /** `attr.type`. */
  type: number;
  /** `attr.config`. */
  config: bigint;
}

/** The name is not an event perf knows (perf: `event syntax error`). */
export class UnknownEventError extends Error {
  /**
   * Create the error.
   *
   * @param message What is wrong, with perf's hint.
   */
  constructor(message: string) {
    super(message);
    this.name = "UnknownEventError";
  }
}

const SOFTWARE: Record<string, [string, number]> = {
  "cpu-clock": ["cpu-clock", SoftwareEvent.CPU_CLOCK],
  "task-clock": ["task-clock", SoftwareEvent.TASK_CLOCK],
  "page-faults": ["page-faults", SoftwareEvent.PAGE_FAULTS],
  "faults": ["page-faults", SoftwareEvent.PAGE_FAULTS],
  "context-switches": ["context-switches", SoftwareEvent.CONTEXT_SWITCHES],
  "cs": ["context-switches", SoftwareEvent.CONTEXT_SWITCHES],
  "cpu-migrations": ["cpu-migrations", SoftwareEvent.CPU_MIGRATIONS],
  "migrations": ["cpu-migrations", SoftwareEvent.CPU_MIGRATIONS],
  "minor-faults": ["minor-faults", SoftwareEvent.PAGE_FAULTS_MIN],
  "major-faults": ["major-faults", SoftwareEvent.PAGE_FAULTS_MAJ],
  "dummy": ["dummy", SoftwareEvent.DUMMY],
};

const HARDWARE: Record<string, [string, number]> = {
  "cycles": ["cycles", 0],
  "cpu-cycles": ["cycles", 0],
  "instructions": ["instructions", 1],
  "cache-references": ["cache-references", 2],
  "cache-misses": ["cache-misses", 3],
  "branch-instructions": ["branch-instructions", 4],
  "branches": ["branch-instructions", 4],
  "branch-misses": ["branch-misses", 5],
  "bus-cycles": ["bus-cycles", 6],
};

/** Where tracefs may be mounted, in the order perf tries them. */
export const TRACEFS_ROOTS: readonly string[] = [
  "/sys/kernel/tracing",
  "/sys/kernel/debug/tracing",
];

/**
 * Parse an event name the way `perf record -e` does for the common forms.
 *
 * @param spec `cpu-clock`, `task-clock`, another software or hardware event, or `subsys:name`.
 * @param tracefsRoots Directories to look tracepoint ids up in.
 * @returns The event.
 * @throws {UnknownEventError} When the name is not an event, or the tracepoint does not exist.
 */
export function parseEvent(spec: string, tracefsRoots = TRACEFS_ROOTS): LiveEvent {
  const name = spec;
  const sw = SOFTWARE[name];
  if (sw) return { name: sw[0], type: AttrType.SOFTWARE, config: BigInt(sw[1]) };
  const hw = HARDWARE[name];
  if (hw) return { name: hw[0], type: AttrType.HARDWARE, config: BigInt(hw[1]) };
  const tp = /^([A-Za-z0-9_]+):([A-Za-z0-9_]+)$/.exec(spec);
  if (tp) {
    for (const root of tracefsRoots) {
      let text: string;
      try {
        text = Deno.readTextFileSync(`${root}/events/${tp[1]}/${tp[2]}/id`);
      } catch {
        continue;
      }
      const id = Number(text.trim());
      if (Number.isInteger(id) && id >= 0) {
        return { name: spec, type: AttrType.TRACEPOINT, config: BigInt(id) };
      }
    }
    throw new UnknownEventError(
      `event syntax error: '${spec}': unknown tracepoint (no ${tp[1]}/${tp[2]} under ` +
        `${tracefsRoots.join(" or ")}/events); Run 'perf list' for a list of valid events`,
    );
  }
  throw new UnknownEventError(
    `event syntax error: '${spec}': parser error; Run 'perf list' for a list of valid events`,
  );
}

/** How an event samples and what it tracks. */
export interface LiveAttrOptions {
  /** The event. */
  event: LiveEvent;
  /** Samples per second (`-F`); ignored when `period` is set. */
  frequency?: number;
  /** Sample every this many events (`-c`). */
  period?: number;
  /** Record callchains (`-g`). */
  callchain?: boolean;
  /** Flight-recorder ring (`write_backward`). */
  overwrite?: boolean;
  /** Follow children (`inherit`). */
  inherit?: boolean;
  /** Enable at the target's exec (a spawned workload). */
  enableOnExec?: boolean;
  /** Ask the kernel for build ids in MMAP2 records (kernel >= 5.12). */
  buildId?: boolean;
  /** User space only (`exclude_kernel`, `exclude_hv`): perf's fallback under perf_event_paranoid 2. */
  excludeKernel?: boolean;
  /** Side-band tracking (COMM, MMAP2, FORK/EXIT); default true. */
  tracking?: boolean;
  /** Add `PERF_SAMPLE_IDENTIFIER` (several events in one file). */
  identifier?: boolean;
}

/** `PERF_SAMPLE_*` of a live recording without callchains (perf record's default plus CPU). */
export const LIVE_SAMPLE_TYPE: number = SampleType.IP | SampleType.TID | SampleType.TIME |
  SampleType.CPU | SampleType.PERIOD;

/** `CLOCK_MONOTONIC`: the clock a live recording's timestamps use (`perf record -k mono`). */
export const LIVE_CLOCKID = 1;

function bits(...flags: number[]): number {
  return flags.reduce((n, b) => n + 2 ** b, 0);
}

/**
 * The attr `perf record` would open for these options (per CPU or per task;
 * all share it). Timestamps use `CLOCK_MONOTONIC` (`use_clockid`), as
 * `perf record -k mono`, so a capture header can name its clock.
 *
 * @param o The options.
 * @returns The attr (size VER7, 128 bytes).
 */
export function liveAttr(o: LiveAttrOptions): PerfEventAttr {
  const tracepoint = o.event.type === AttrType.TRACEPOINT;
  let sampleType = LIVE_SAMPLE_TYPE;
  if (o.callchain) sampleType |= SampleType.CALLCHAIN;
  if (tracepoint) sampleType |= SampleType.RAW;
  const usePeriod = o.period !== undefined || tracepoint;
  if (o.identifier) sampleType |= SampleType.IDENTIFIER;
  const flags: number[] = [
    AttrFlag.disabled,
    AttrFlag.sampleIdAll,
    AttrFlag.useClockid,
    AttrFlag.excludeGuest,
  ];
  const tracking = o.tracking ?? true;
  if (tracking) {
    flags.push(AttrFlag.mmap, AttrFlag.comm, AttrFlag.task, AttrFlag.mmap2, AttrFlag.commExec);
  }
  if (!usePeriod) flags.push(AttrFlag.freq);
  if (o.inherit) flags.push(AttrFlag.inherit);
  if (o.enableOnExec) flags.push(AttrFlag.enableOnExec);
  if (o.overwrite) flags.push(AttrFlag.writeBackward);
  if (o.buildId && tracking) flags.push(AttrFlag.buildId);
  if (o.excludeKernel) flags.push(AttrFlag.excludeKernel, AttrFlag.excludeHv);
  return defaultAttr({
    type: o.event.type,
    config: o.event.config,
    samplePeriod: usePeriod ? (o.period ?? 1) : (o.frequency ?? 4000),
    sampleType,
    flags: bits(...flags),
    clockid: LIVE_CLOCKID,
    // wakeup_events 0: the recorder polls on a timer and never sleeps in poll().
  });
}
