/**
 * What {@linkcode "./load.ts".loadProfile} takes and returns, shared by every
 * profile importer (perf.data and captures, perf script text).
 *
 * @module
 */

import type { ReadWarning } from "../abi/mod.ts";
import type { InputInfo } from "../input/open.ts";
import type { ThreadNames } from "../input/threads.ts";
import type { FilterOptions } from "./filter.ts";
import type { Profile } from "./profile.ts";
import type { OpenRecordsOptions } from "./symbolized.ts";
import type { BranchPair } from "./chains.ts";

/** How samples are weighted. */
export type WeightMode = "period" | "samples";

/** Options of {@linkcode loadProfile}. */
export interface LoadOptions extends Omit<OpenRecordsOptions, "prefilter"> {
  /** perf-report filters (`--cpu`, `--pid`, `--tid`, `--comm`, `--context`, `--time`). */
  filter?: FilterOptions;
  /** Weight samples by period (perf report's default "Event count") or count them. Default period. */
  weight?: WeightMode;
  /** Event to build the profile of (name or index); default the first event with samples. */
  event?: string | number;
  /** Add root-most `[nmi]` / `[hardirq]` / `[softirq]` frames where the context is known. */
  contextMarkers?: boolean;
  /** Keep each sample's time and stack (the flame chart of the HTML flamegraph). */
  timeline?: boolean;
  /**
   * Keep each sample's stack record and weight in arrival order (12 bytes
   * per sample): perf report's histogram, under sort keys whose comparisons
   * are not a strict weak order (`--sort sym` with unresolved addresses),
   * depends on it ({@linkcode import("./profile.ts").ProfileSampleOrder}).
   */
  sampleOrder?: boolean;
  /** Called now and then with bytes read and the total (undefined for streams). */
  onProgress?: (bytesRead: number, total: number | undefined) => void;
  /**
   * In branch mode ({@linkcode LoadOptions.branchMode}): called with each
   * kept branch-stack entry's event, comm, thread and ends (perf's default branch
   * view is built from them).
   */
  onBranch?: (event: number, comm: string, tid: number, branch: BranchPair) => void;
  /**
   * The text of a sample's PERF_SAMPLE_RAW bytes (a tracepoint's payload),
   * perf's `trace` sort key: called with each sample that has them, its
   * event, the bytes (valid during the call only) and the input's info,
   * whose tracing data is read by then, and the kernel symbol finder of
   * `%pS`-style conversions. The text becomes the sample's `trace`
   * ({@linkcode Profile.classes} keep it; undefined: none).
   */
  traceText?: (
    event: number,
    raw: Uint8Array,
    info: InputInfo,
    kernelSymbol: (addr: bigint) => { name: string; offset: bigint } | undefined,
  ) => string | undefined;
}

/** Per-event totals of a load. */
export interface EventSummary {
  /** Event index. */
  index: number;
  /** Event name. */
  name: string;
  /** Samples of this event that passed the filters. */
  samples: number;
  /** Summed weight of those samples. */
  weight: number;
}

/** What {@linkcode loadProfile} returns. */
export interface LoadResult {
  /** The profile of the selected event. */
  profile: Profile;
  /**
   * The profile of every event, by event index (an empty one for an event
   * without samples): what a report of all events prints, one section each.
   */
  eventProfiles: ReadonlyMap<number, Profile>;
  /** Every event with its totals (events without samples included). */
  events: EventSummary[];
  /** Index of the event `profile` belongs to (-1 when the input had no samples). */
  event: number;
  /** Reader warnings (typed; `String(w)` is the message). */
  warnings: ReadWarning[];
  /** Header information. */
  info: InputInfo;
  /** Bytes read. */
  bytesRead: number;
  /** Whether the profiles count branch-stack entries (perf report's branch mode), not samples. */
  branchMode: boolean;
  /**
   * Build-ids (hex) by file name the recording names: the perf.data build-id
   * table and MMAP2 records that carry one (`perf record --buildid-mmap`, live
   * captures), as the side band holds them after reading.
   */
  buildIds: ReadonlyMap<string, string>;
  /**
   * The threads' names once the input was read (a report's Command column needs them);
   * absent for perf script text, whose lines carry each sample's comm.
   */
  threadNames?: ThreadNames;
  /** The order perf creates the recording's dso objects in (see `SideBand.dsoOrder`). */
  dsoOrder?: ReadonlyMap<string, number>;
}

/** Thrown when {@linkcode LoadOptions.event} names no event of the input. */
export class UnknownEventError extends RangeError {
  /**
   * Creates the instance.
   * @param event The requested event.
   * @param known The input's event names.
   */
  constructor(event: string | number, known: readonly string[]) {
    super(`Event ${JSON.stringify(event)} is not in the input (events: ${known.join(", ")})`);
    this.name = "UnknownEventError";
  }
}
