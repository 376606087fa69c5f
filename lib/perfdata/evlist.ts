/**
 * The event list of a perf.data file and perf's rule for matching a record to
 * its event (`evlist__event2evsel`): one event owns everything; otherwise the
 * id is read at `id_pos` (samples) or `is_pos` words from the end (other
 * records with `sample_id_all`), and id 0 (synthesized records) means the
 * first event.
 *
 * @module
 */

import {
  AttrFlag,
  AttrType,
  FormatError,
  hasFlag,
  type PerfEventAttr,
  RecordType,
  type SampleFormat,
  sampleFormatOf,
  sampleIdAll,
  sampleIdWordIndex,
  SampleType,
  trailerIdWordIndexFromEnd,
} from "../abi/mod.ts";

/** One event (evsel) of a perf.data file. */
export interface PerfDataEvent {
  /** Position in the file's attr list (perf's `evsel->core.idx`). */
  index: number;
  /** The attr. */
  attr: PerfEventAttr;
  /** Sample format derived from the attr. */
  format: SampleFormat;
  /** Whether non-sample records carry a `sample_id` trailer. */
  sampleIdAll: boolean;
  /** Sample ids of the event (from the attr's ids section, EVENT_DESC or HEADER_ATTR). */
  ids: number[];
  /** perf's evsel name, e.g. `cpu-clock`. */
  name: string;
}

const SOFTWARE_NAMES = [
  "cpu-clock",
  "task-clock",
  "page-faults",
  "context-switches",
  "cpu-migrations",
  "minor-faults",
  "major-faults",
  "alignment-faults",
  "emulation-faults",
  "dummy",
  "bpf-output",
  "cgroup-switches",
];
const HARDWARE_NAMES = [
  "cycles",
  "instructions",
  "cache-references",
  "cache-misses",
  "branches",
  "branch-misses",
  "bus-cycles",
  "stalled-cycles-frontend",
  "stalled-cycles-backend",
  "ref-cycles",
];

/** perf's `evsel__hw_cache` / `_op` / `_result` (first alias of each). */
const CACHE_TYPES = ["L1-dcache", "L1-icache", "LLC", "dTLB", "iTLB", "branch", "node"];
const CACHE_OPS = [["load", "loads"], ["store", "stores"], ["prefetch", "prefetches"]];
const CACHE_RESULTS = ["refs", "misses"];

/**
 * perf's `evsel__add_modifiers`: `:kuh` when some privilege level is
 * excluded, `p`s for `precise_ip`, `H`/`G` when host or guest is excluded
 * against the default.
 */
function modifiersOf(attr: PerfEventAttr): string {
  let m = "";
  const ex = (bit: number) => hasFlag(attr, bit);
  let guestDefault = false;
  if (ex(AttrFlag.excludeKernel) || ex(AttrFlag.excludeUser) || ex(AttrFlag.excludeHv)) {
    if (!ex(AttrFlag.excludeKernel)) m += "k";
    if (!ex(AttrFlag.excludeUser)) m += "u";
    if (!ex(AttrFlag.excludeHv)) m += "h";
    guestDefault = true;
  }
  const precise = Math.floor(attr.flags / 2 ** AttrFlag.preciseIp) % 4;
  if (precise) {
    m += "ppp".slice(0, precise);
    guestDefault = true;
  }
  if (ex(AttrFlag.excludeHost) || ex(AttrFlag.excludeGuest) === guestDefault) {
    if (!ex(AttrFlag.excludeHost)) m += "H";
    if (!ex(AttrFlag.excludeGuest)) m += "G";
  }
  return m ? ":" + m : "";
}

/**
 * The name perf gives an event that has no EVENT_DESC name (perf's
 * `evsel__name`: hardware, software, cache and raw events by config with
 * their modifiers, others as `type:config`).
 *
 * @param attr The attr.
 * @param withModifiers Append perf's modifiers (default true; false for
 *   the bare names writers give their events).
 * @returns The name.
 */
export function defaultEventName(attr: PerfEventAttr, withModifiers = true): string {
  const config = Number(attr.config);
  const modifiers = withModifiers ? modifiersOf : () => "";
  if (attr.type === AttrType.SOFTWARE && SOFTWARE_NAMES[config]) {
    return SOFTWARE_NAMES[config]! + modifiers(attr);
  }
  if (attr.type === AttrType.HARDWARE && HARDWARE_NAMES[config]) {
    return HARDWARE_NAMES[config]! + modifiers(attr);
  }
  if (attr.type === PERF_TYPE_HW_CACHE) {
    const type = config & 0xff, op = (config >>> 8) & 0xff, result = (config >>> 16) & 0xff;
    if (CACHE_TYPES[type] && CACHE_OPS[op] && CACHE_RESULTS[result] && attr.config < 2n ** 24n) {
      const name = result
        ? `${CACHE_TYPES[type]}-${CACHE_OPS[op]![0]}-${CACHE_RESULTS[result]}`
        : `${CACHE_TYPES[type]}-${CACHE_OPS[op]![1]}`;
      return name + modifiers(attr);
    }
  }
  if (attr.type === PERF_TYPE_RAW) return `raw 0x${attr.config.toString(16)}${modifiers(attr)}`;
  return `${attr.type}:0x${attr.config.toString(16)}`;
}

/** `PERF_TYPE_HW_CACHE`. */
const PERF_TYPE_HW_CACHE = 3;
/** `PERF_TYPE_RAW`. */
const PERF_TYPE_RAW = 4;

/**
 * Build a {@linkcode PerfDataEvent}.
 *
 * @param index Index in the attr list.
 * @param attr The attr.
 * @param ids Its sample ids.
 * @param name Its name (default: {@linkcode defaultEventName} without modifiers).
 * @returns The event.
 */
export function makeEvent(
  index: number,
  attr: PerfEventAttr,
  ids: number[],
  name?: string,
): PerfDataEvent {
  return {
    index,
    attr,
    format: sampleFormatOf(attr),
    sampleIdAll: sampleIdAll(attr),
    ids,
    name: name ?? defaultEventName(attr, false),
  };
}

/** Matches records to events the way perf does. */
export class EventMatcher {
  /** The events in index order. */
  readonly events: PerfDataEvent[] = [];
  #byId = new Map<number, PerfDataEvent>();
  #idPos = -1;
  #isPos = -1;

  /**
   * Add an event (in index order).
   *
   * @param event The event.
   */
  add(event: PerfDataEvent): void {
    this.events.push(event);
    for (const id of event.ids) this.#byId.set(id, event);
    const first = this.events[0]!;
    this.#idPos = sampleIdWordIndex(first.format.sampleType);
    this.#isPos = trailerIdWordIndexFromEnd(first.format.sampleType);
  }

  /**
   * Register more ids for an event (pipe mode, ID_INDEX).
   *
   * @param event The event.
   * @param ids The ids.
   */
  addIds(event: PerfDataEvent, ids: readonly number[]): void {
    for (const id of ids) {
      if (!event.ids.includes(id)) event.ids.push(id);
      this.#byId.set(id, event);
    }
  }

  /**
   * Look an event up by sample id.
   *
   * @param id The id.
   * @returns The event or undefined.
   */
  byId(id: number): PerfDataEvent | undefined {
    return this.#byId.get(id);
  }

  /**
   * Check perf's precondition for several events (`evlist__valid_sample_type`).
   *
   * @param source Input name for the message.
   * @param offsetOf Input offset of an event's attr (its `sample_type`), for
   *   the error; -1 when unknown.
   * @throws {FormatError} When several events exist but records carry no id.
   */
  validate(source?: string, offsetOf: (event: PerfDataEvent) => number = () => -1): void {
    if (this.events.length <= 1) return;
    const first = this.events[0]!;
    const t = first.format.sampleType;
    for (const e of this.events) {
      if (
        sampleIdWordIndex(e.format.sampleType) !== this.#idPos ||
        trailerIdWordIndexFromEnd(e.format.sampleType) !== this.#isPos
      ) {
        throw new FormatError(
          `Events ${first.name} and ${e.name} put the sample id at different positions ` +
            "(perf: non matching sample_type)",
          offsetOf(e),
          source,
        );
      }
    }
    if (this.#idPos < 0 || this.#isPos < 0 || !(t & (SampleType.ID | SampleType.IDENTIFIER))) {
      throw new FormatError(
        `${this.events.length} events but samples carry no ID or IDENTIFIER ` +
          "(perf: non matching sample_type)",
        offsetOf(first),
        source,
      );
    }
  }

  /**
   * The event a kernel record belongs to, or undefined when its id is unknown.
   *
   * @param view The view holding the record.
   * @param offset Offset of the record header.
   * @param type Record type.
   * @param size Record size.
   * @returns The event.
   */
  match(view: DataView, offset: number, type: number, size: number): PerfDataEvent | undefined {
    const events = this.events;
    if (events.length <= 1) return events[0];
    const first = events[0]!;
    if (!first.sampleIdAll && type !== RecordType.SAMPLE) return first;
    const n = (size - 8) >> 3;
    let at: number;
    if (type === RecordType.SAMPLE) {
      if (this.#idPos < 0 || this.#idPos >= n) return undefined;
      at = offset + 8 + this.#idPos * 8;
    } else {
      if (this.#isPos < 0 || this.#isPos > n) return undefined;
      at = offset + 8 + (n - this.#isPos) * 8;
    }
    const lo = view.getUint32(at, true);
    const hi = view.getUint32(at + 4, true);
    if (lo === 0 && hi === 0) return first;
    return this.#byId.get(hi * 0x1_0000_0000 + lo);
  }
}
