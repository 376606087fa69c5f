/**
 * Load a recording into a {@linkcode Profile}: stream the symbolized samples
 * of any input ({@linkcode openSymbolized}), apply the perf-report filters,
 * build one profile per event and count what was lost. Memory grows with
 * distinct callchains, not with samples.
 *
 * @example Build a profile and print its sample count
 * ```ts ignore
 * import { loadProfile } from "./load.ts";
 * const { profile, warnings } = await loadProfile("perf.data", { filter: { comm: "burn" } });
 * console.log(profile.samples, warnings.length);
 * ```
 *
 * @module
 */

import { type FilterOptions, sampleFilter } from "./filter.ts";
import { parsePerfTime, singleWindow } from "./perf_time.ts";
import { type Profile, ProfileBuilder } from "./profile.ts";
import { type MutableSample, openSymbolized } from "./symbolized.ts";

import { type LoadOptions, type LoadResult, UnknownEventError } from "./load_options.ts";
import { loadScriptTextProfile } from "./script_text_load.ts";
import { detectInputFormat } from "../input/format.ts";
export * from "./load_options.ts";

/** Captures at least this large are read by time window for a single `--time` window. */
export const WINDOW_READ_MIN_BYTES: number = 64 << 20;

/**
 * Read a whole recording into a profile, streaming (memory grows with the
 * number of distinct stacks, not with the input size).
 *
 * @param path perf.data, pipe-mode perf.data, `-` (stdin) or a callring capture.
 * @param options Filters, weighting, event selection, symbolization.
 * @returns The profile, per-event totals, warnings and header info.
 * @throws {FormatError} When the input is malformed beyond what the reader can skip.
 * @throws {import("./filter.ts").FilterSyntaxError} When a filter option is malformed.
 *
 * @example
 * ```ts ignore
 * import { loadProfile } from "./load.ts";
 * const { profile } = await loadProfile("perf.data", { filter: { cpu: "0" }, weight: "samples" });
 * console.log(`${profile.samples} samples on cpu 0`);
 * ```
 */
export async function loadProfile(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  // perf script text (told by content) holds symbolized samples: its own importer.
  if ((options.format ?? await detectInputFormat(path)) === "perf-script-text") {
    return await loadScriptTextProfile(path, options);
  }
  // Options that are all undefined filter nothing: no predicate to call per sample.
  const given = (f: FilterOptions | undefined): f is FilterOptions =>
    f !== undefined && Object.values(f).some((v) => v !== undefined);
  const filter = given(options.filter) ? sampleFilter(options.filter) : undefined;
  // The context is told from symbols, which the prefilter runs before: it tests the rest.
  const rest = options.filter && { ...options.filter, context: undefined };
  const prefilter = given(rest) ? sampleFilter(rest) : undefined;
  // one --time window on a large capture: seek to it instead of reading the file (the samples
  // read then count the window's chunks only, so smaller files keep the whole-file count)
  // (sampleFilter above checked the argument: absolute windows only)
  const window = options.filter?.time !== undefined
    ? singleWindow(parsePerfTime(options.filter.time))
    : undefined;
  const size = path !== "-" && window !== undefined
    ? (await Deno.stat(path).catch(() => undefined))?.size ?? 0
    : 0;
  const large = size >= WINDOW_READ_MIN_BYTES;
  const timeWindow = large ? window : undefined;
  const input = await openSymbolized(path, { ...options, prefilter, timeWindow });
  const builders = new Map<number, ProfileBuilder>();
  const byWeight = options.weight === "samples";
  const builderFor = (event: number) => {
    let b = builders.get(event);
    if (b === undefined) {
      b = new ProfileBuilder({
        filter,
        contextMarkers: options.contextMarkers,
        timeline: options.timeline,
        sampleOrder: options.sampleOrder,
        perAddress: options.perAddress,
      });
      builders.set(event, b);
    }
    return b;
  };
  const totals = new Map<number, { samples: number; weight: number }>();
  let n = 0;
  const progress = options.onProgress;
  const onBranch = options.onBranch;
  const traceText = options.traceText;
  const kernelSymbol = (addr: bigint) => input.session.kernelSymbol(addr);
  // The last event's builder and totals: consecutive samples nearly always share the event.
  let lastEvent = NaN;
  let current = new ProfileBuilder();
  let total = { samples: 0, weight: 0 };
  try {
    await input.drive((s, framesKey) => {
      if (s.event !== lastEvent) {
        lastEvent = s.event;
        current = builderFor(s.event);
        let t = totals.get(s.event);
        if (t === undefined) totals.set(s.event, t = { samples: 0, weight: 0 });
        total = t;
      }
      // The sink's object is reused per sample: counting samples rewrites its weight.
      if (byWeight) (s as MutableSample).weight = 1;
      if (traceText !== undefined) {
        (s as MutableSample).trace = s.raw === undefined
          ? undefined
          : traceText(s.event, s.raw, input.info, kernelSymbol);
      }
      if (current.add(s, framesKey)) {
        total.samples++;
        total.weight += s.weight;
        if (s.branch !== undefined) onBranch?.(s.event, s.comm, s.tid, s.branch);
      }
      if (progress && (++n & 1023) === 0) progress(input.bytesRead, input.info.size);
    });
  } finally {
    input.close();
  }
  progress?.(input.bytesRead, input.info.size);
  const events = input.info.events.map((e) => ({
    index: e.index,
    name: e.name,
    samples: totals.get(e.index)?.samples ?? 0,
    weight: totals.get(e.index)?.weight ?? 0,
  }));
  let chosen = -1;
  if (options.event !== undefined) {
    const want = options.event;
    const found = events.find((e) =>
      typeof want === "number" ? e.index === want : e.name === want || e.name.split(":")[0] === want
    );
    if (!found) throw new UnknownEventError(want, events.map((e) => e.name));
    chosen = found.index;
  } else {
    chosen = events.find((e) => builders.has(e.index) && builders.get(e.index)!.samplesRead > 0)
      ?.index ?? (builders.size ? [...builders.keys()][0] : -1);
  }
  const eventProfiles = new Map<number, Profile>();
  for (const e of [...events, { index: chosen }]) {
    if (eventProfiles.has(e.index)) continue;
    const b = builders.get(e.index) ?? new ProfileBuilder();
    Object.assign(b.lost, input.lost);
    eventProfiles.set(e.index, b.build());
  }
  return {
    profile: eventProfiles.get(chosen)!,
    eventProfiles,
    events,
    event: chosen,
    warnings: [...input.warnings],
    info: input.info,
    bytesRead: input.bytesRead,
    branchMode: input.branchMode,
    buildIds: input.session.sideBand.buildIds,
    threadNames: input.session.threads,
    dsoOrder: input.session.sideBand.dsoOrder,
  };
}

/** One section of a report of every event: an event, or an event group. */
export interface ReportedEvent {
  /** The event's index (a group's leader). */
  index: number;
  /** A group's other members' indexes, in group order (empty for a lone event). */
  members: number[];
  /** A group's description as perf's `evsel__group_desc` prints it (`anon group { a, b }`). */
  description?: string;
}

/**
 * The events a report of every event shows, in the file's event order, as
 * perf's `evlist__tty_browse_hists` picks them: events with samples kept
 * (`report.skip-empty`), and when the recording names event groups
 * (GROUP_DESC, perf's default group view) only the group leaders, each with
 * its members.
 * @param result What {@linkcode loadProfile} returned.
 * @returns The sections (the selected event alone when none qualifies).
 */
export function reportedEvents(result: LoadResult): ReportedEvent[] {
  const memberOf = new Set<number>();
  const groups = new Map<number, ReportedEvent>();
  const nameOf = (i: number) => result.events.find((e) => e.index === i)?.name ?? `#${i}`;
  for (const g of result.info.perf?.groups ?? []) {
    if (g.members < 2) continue;
    const members = Array.from({ length: g.members - 1 }, (_, k) => g.leader + 1 + k);
    for (const m of members) memberOf.add(m);
    // process_group_desc keeps a name other than "{anon_group}"
    const head = g.name === "{anon_group}" || g.name === "" ? "anon group" : g.name;
    const names = [g.leader, ...members].map(nameOf).join(", ");
    groups.set(g.leader, { index: g.leader, members, description: `${head} { ${names} }` });
  }
  const samplesOf = (i: number) => result.eventProfiles.get(i)?.samples ?? 0;
  const shown = result.events
    .filter((e) => !memberOf.has(e.index))
    .map((e) => groups.get(e.index) ?? { index: e.index, members: [] })
    .filter((r) => [r.index, ...r.members].some((i) => samplesOf(i) > 0));
  return shown.length > 0 || result.event < 0 ? shown : [{ index: result.event, members: [] }];
}
