/**
 * perf script's sample filters: `--time` (perf_time__ranges_skip_sample),
 * `-C/--cpu` (filter_cpu), and `--pid`, `--tid`, `-c/--comms`
 * (thread__is_filtered), checked in perf's order.
 *
 * @module
 */

import { parseIdList, parsePerfCpuMap, PERF_MAX_NR_CPUS } from "../analyze/filter.ts";
import {
  parsePerfTime,
  type PerfTime,
  perfTimeKeeps,
  shiftPerfTime,
} from "../analyze/perf_time.ts";
import { SampleType } from "../abi/mod.ts";
import type { PerfDataEvent } from "../perfdata/evlist.ts";
import { ScriptFieldError } from "./script_fields.ts";
import type { ResolvedAddress } from "../analyze/resolver.ts";

/** The filter options of `perf script` as given on the command line. */
export interface ScriptFilterOptions {
  /** `--time`: `start,end` windows in seconds (open ends allowed) or percent slices. */
  time?: string;
  /** `-C/--cpu`: a CPU list (`0-3,5`). */
  cpu?: string;
  /** `--pid`: process ids, comma-separated. */
  pid?: string;
  /** `--tid`: thread ids, comma-separated. */
  tid?: string;
  /** `-c/--comms`: command names, comma-separated. */
  comms?: string;
  /** `-S/--symbols`: symbol names, comma-separated (perf 6.1 matches names only). */
  symbols?: string;
  /**
   * `--reltime`: `--time` windows are relative to the first sample time
   * (perf adds it to both ends, open ends counting as 0, percent windows too).
   */
  reltime?: boolean;
}

/**
 * Whether any filter is given (runs without filters skip the per-sample check).
 *
 * @param o The options.
 * @returns True when at least one filter is set.
 */
export function hasScriptFilter(o: ScriptFilterOptions | undefined): boolean {
  return o !== undefined &&
    (o.time !== undefined || o.cpu !== undefined || o.pid !== undefined ||
      o.tid !== undefined || o.comms !== undefined || o.symbols !== undefined);
}

/** perf script's sample filters, built once per run. */
export class ScriptSampleFilter {
  readonly #time?: PerfTime;
  readonly #cpus?: ReadonlySet<number>;
  readonly #pids?: ReadonlySet<number>;
  readonly #tids?: ReadonlySet<number>;
  readonly #comms?: ReadonlySet<string>;
  readonly #symbols?: ReadonlySet<string>;

  /**
   * Parse the options as perf does before it reads samples.
   *
   * @param o The options.
   * @param events The file's events (`--cpu` needs PERF_SAMPLE_CPU in each).
   * @param sampleTime The file's first and last sample times (HEADER_SAMPLE_TIME), for percent slices.
   * @param cpuLimit What perf knows when it checks `--cpu`: `nrCpus`, the file's NRCPUS
   *   `nr_cpus_avail` (0 in pipe mode, where perf has read no feature and no event yet:
   *   `pipe`); undefined for inputs perf cannot read (captures), where only perf's
   *   MAX_NR_CPUS bounds the list.
   * @throws {import("../analyze/filter.ts").FilterSyntaxError} For a malformed list or time string.
   * @throws {ScriptFieldError} When `--cpu` is given and an event has no CPU, or a percent
   *   slice is asked of a file without sample times (perf's messages, exit 255).
   */
  constructor(
    o: ScriptFilterOptions,
    events: readonly PerfDataEvent[],
    sampleTime: { first: number; last: number } | undefined,
    cpuLimit?: { nrCpus: number; pipe: boolean },
  ) {
    if (o.time !== undefined) {
      if (o.time.includes("%") || o.reltime) {
        if (sampleTime === undefined || (sampleTime.first === 0 && sampleTime.last === 0)) {
          throw new ScriptFieldError(
            "HINT: no first/last sample time found in perf data.\n" +
              "Please use latest perf binary to execute 'perf record'\n" +
              "(if '--buildid-all' is enabled, please set '--timestamp-boundary').",
            255,
          );
        }
      }
      const time = parsePerfTime(o.time, sampleTime);
      this.#time = o.reltime ? shiftPerfTime(time, sampleTime?.first ?? 0) : time;
    }
    if (o.cpu !== undefined) {
      // (in pipe mode perf checks before it has read an event: nothing to refuse then)
      if (!cpuLimit?.pipe && events.some((e) => (e.attr.sampleType & SampleType.CPU) === 0)) {
        throw new ScriptFieldError(
          "File does not contain CPU events. Remove -C option to proceed.",
          255,
        );
      }
      // perf_session__cpu_bitmap: the first listed CPU at or past min(nr_cpus_avail, MAX_NR_CPUS)
      const map = parsePerfCpuMap(o.cpu);
      const limit = Math.min(cpuLimit?.nrCpus ?? PERF_MAX_NR_CPUS, PERF_MAX_NR_CPUS);
      const tooLarge = map.cpus.find((c) => c >= limit);
      if (tooLarge !== undefined) {
        throw new ScriptFieldError(
          (map.beyondMax
            ? `Perf can support ${PERF_MAX_NR_CPUS} CPUs. Consider raising MAX_NR_CPUS\n`
            : "") + `Requested CPU ${tooLarge} too large. Consider raising MAX_NR_CPUS`,
          255,
        );
      }
      this.#cpus = new Set(map.cpus);
    }
    if (o.pid !== undefined) this.#pids = parseIdList("--pid", o.pid);
    if (o.tid !== undefined) this.#tids = parseIdList("--tid", o.tid);
    if (o.comms !== undefined) this.#comms = new Set(o.comms.split(",").filter((c) => c !== ""));
    if (o.symbols !== undefined) {
      this.#symbols = new Set(o.symbols.split(",").filter((c) => c !== ""));
    }
  }

  /** Whether {@linkcode ScriptSampleFilter.keepSymbol} must be asked too (`-S`). */
  get bySymbol(): boolean {
    return this.#symbols !== undefined;
  }

  /**
   * perf's `-S` test of the sample address's symbol (`machine__resolve`):
   * kept when its name is listed.
   *
   * @param r The sample IP resolved (undefined or without a symbol: dropped).
   * @returns True to print.
   */
  keepSymbol(r: ResolvedAddress | undefined): boolean {
    const set = this.#symbols;
    if (set === undefined) return true;
    return r !== undefined && r.sym !== undefined && set.has(r.sym);
  }

  /**
   * perf's `filter_cpu` alone (side-band records): false when `--cpu` excludes the CPU.
   *
   * @param cpu The CPU (-1 when unknown: kept).
   * @returns True to print.
   */
  keepCpu(cpu: number): boolean {
    return this.#cpus === undefined || cpu === -1 || this.#cpus.has(cpu);
  }

  /**
   * Whether perf script prints a sample.
   *
   * @param time Sample time (ns; 0 when none).
   * @param cpu Sample CPU (-1 when none).
   * @param pid Process id.
   * @param tid Thread id.
   * @param comm The thread's command name now.
   * @returns True to print it.
   */
  keep(time: number, cpu: number, pid: number, tid: number, comm: () => string): boolean {
    if (this.#time !== undefined && !perfTimeKeeps(this.#time, time)) return false;
    if (this.#cpus !== undefined && cpu !== -1 && !this.#cpus.has(cpu)) return false;
    if (this.#comms !== undefined && !this.#comms.has(comm())) return false;
    if (this.#pids !== undefined && !this.#pids.has(pid)) return false;
    if (this.#tids !== undefined && !this.#tids.has(tid)) return false;
    return true;
  }
}
