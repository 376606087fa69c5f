/**
 * pprof output: a {@linkcode Profile} as a gzipped `profile.proto`
 * (github.com/google/pprof/proto/profile.proto), the format `go tool pprof`,
 * Pyroscope, Parca and Grafana ingest. Encoded with the `pprof-format` npm
 * package (Datadog's pure-JS encoder), gzipped with `node:zlib`.
 *
 * Mapping of the model onto the proto:
 * - sample types: `samples/count`, then the event (`cpu-clock/nanoseconds`
 *   for the clock events, whose period is in ns; `<event>/count` otherwise);
 *   the event is the default sample type;
 * - one `Sample` per distinct (stack, thread, comm) record, labels `comm`
 *   (string), `pid`, `tid` and `cpu` (numbers whose unit is their key, as
 *   pprof keeps a numeric label of 0 only with a unit; cpu left out when
 *   unknown);
 * - one `Function` per frame name (symbol, or `0x<addr>` for an unresolved
 *   address, with `[k]` never part of it: kernel frames are told by their
 *   mapping, `[kernel.kallsyms]`);
 * - one `Location` per callchain entry of the profile: a non-inlined frame
 *   plus the inlined frames perf expanded above it (perf's `append_inlines`)
 *   become ONE location whose `line` entries list the inlined functions
 *   leaf-first and the containing function last, as pprof expects (an
 *   inlined frame perf left without its containing function, at an address
 *   or in an object of its own, is a location by itself). Its
 *   address is the frame's address: with a per-address profile (loaded with
 *   `perAddress: true`, what `report --pprof` does) that is the instruction
 *   address as recorded, one location per address; with a function-level
 *   profile it is the function's representative address;
 * - one `Mapping` per (object file, runtime range, file offset) of the frames
 *   (`FrameTable.maps`, the MMAP/MMAP2 record each address fell in; frames
 *   without one share a mapping per object with zero range), `build_id` from
 *   the caller's table (`LoadResult.buildIds`: the perf.data build-id table
 *   and MMAP2 build-ids) by object name or recorded file name; `has_functions`
 *   when a frame on it has a symbol, `has_inline_frames` when one is inlined;
 *   `[kernel.kallsyms]` carries the kernel map's range;
 * - marker frames (`[truncated]`, `[nmi]`, ...) become functions of their own
 *   without a mapping, so `-traces` shows them where `report` does.
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import {
  Function as PprofFunction,
  Line,
  Location,
  Mapping,
  Profile as PprofProfile,
  Sample,
  StringTable,
  ValueType,
} from "pprof-format";
import type { Profile } from "../analyze/profile.ts";

/** Options of {@linkcode pprofBytes}. */
export interface PprofOptions {
  /** Event name for the second sample type (default `cpu-clock`). */
  eventName?: string;
  /**
   * Unit of the event's period. Default: `nanoseconds` for `cpu-clock` and
   * `task-clock` (their period is in ns), `count` otherwise.
   */
  unit?: string;
  /**
   * Build ids (hex) by object file name, e.g. `LoadResult.buildIds` (the perf.data
   * build-id table and MMAP2 build-ids); looked up by the frames' object and, for a
   * mapping from an MMAP record, by the file name it recorded.
   */
  buildIds?: ReadonlyMap<string, string>;
  /** Profile start time (ns since the epoch); default 0 (unknown). */
  timeNanos?: number;
  /** Comments stored in the profile (`go tool pprof -comments`). */
  comments?: readonly string[];
}

/**
 * The unit of an event's period as pprof names it.
 * @param eventName perf event name (`cpu-clock`, `cpu-clock:u`, `cycles`, ...).
 * @returns `nanoseconds` for the clock events, else `count`.
 */
export function pprofUnit(eventName: string): string {
  const base = eventName.split(":")[0];
  return base === "cpu-clock" || base === "task-clock" ? "nanoseconds" : "count";
}

/**
 * Builds the pprof message (not yet encoded).
 * @param profile The profile.
 * @param options Event, unit, build ids.
 * @returns The `pprof-format` profile object.
 */
function pprofProfile(profile: Profile, options: PprofOptions = {}): PprofProfile {
  const strings = new StringTable();
  const str = (s: string) => strings.dedup(s);
  const eventName = options.eventName ?? "cpu-clock";
  const unit = options.unit ?? pprofUnit(eventName);
  const t = profile.frames;

  const mappings: Mapping[] = [];
  const mappingOf = new Map<string, number>();
  /** Mapping of a frame: by object and, when the frame knows it, its runtime range. */
  const mappingId = (frame: number): number => {
    const dso = t.dsos[frame];
    if (dso === undefined) return 0;
    const range = t.maps[frame];
    const key = range === undefined
      ? dso
      : `${dso}\u0000${range.start.toString(16)}\u0000${range.end.toString(16)}\u0000${
        range.pgoff.toString(16)
      }`;
    let id = mappingOf.get(key);
    if (id === undefined) {
      id = mappings.length + 1;
      mappingOf.set(key, id);
      // by the object's name, else the file its MMAP record names (`[kernel.kallsyms]_text`)
      const buildId = options.buildIds?.get(dso) ??
        (range === undefined ? undefined : options.buildIds?.get(range.filename));
      mappings.push(
        new Mapping({
          id,
          memoryStart: range?.start ?? 0n,
          memoryLimit: range?.end ?? 0n,
          fileOffset: range?.pgoff ?? 0n,
          filename: str(dso),
          buildId: buildId === undefined ? 0 : str(buildId),
          hasFunctions: false,
          hasInlineFrames: false,
        }),
      );
    }
    return id;
  };

  const functions: PprofFunction[] = [];
  const functionOf = new Map<string, number>();
  const functionId = (frame: number): number => {
    const name = t.names[frame];
    const dso = t.dsos[frame] ?? "";
    const key = `${name}\u0000${dso}`;
    let id = functionOf.get(key);
    if (id === undefined) {
      id = functions.length + 1;
      functionOf.set(key, id);
      const n = str(name);
      functions.push(new PprofFunction({ id, name: n, systemName: n, filename: str(dso) }));
    }
    return id;
  };

  const locations: Location[] = [];
  const locationOf = new Map<string, number>();
  /** Location of one callchain entry: frames leaf-first, inlined ones first. */
  const locationId = (entry: readonly number[]): number => {
    const key = entry.join(",");
    let id = locationOf.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      locationOf.set(key, id);
      const outer = entry[entry.length - 1];
      const mapping = mappingId(outer);
      if (mapping > 0) {
        // Truthful flags: symbols resolved, inlined frames expanded on this mapping.
        const m = mappings[mapping - 1];
        if (entry.some((f) => t.syms[f] !== undefined)) m.hasFunctions = true;
        if (entry.some((f) => t.inlined[f])) m.hasInlineFrames = true;
      }
      locations.push(
        new Location({
          id,
          mappingId: mapping,
          address: t.addrs[outer] ?? 0n,
          line: entry.map((f) => new Line({ functionId: functionId(f) })),
        }),
      );
    }
    return id;
  };

  /**
   * Whether two frames of a callchain can share a location: same object and, in a per-address
   * table, the same address (function-level tables only know a representative one).
   */
  const sameSite = (a: number, b: number): boolean =>
    t.dsos[a] === t.dsos[b] && (!t.perAddress || t.addrs[a] === t.addrs[b]);

  const labelKeys = { comm: str("comm"), pid: str("pid"), tid: str("tid"), cpu: str("cpu") };
  const samples: Sample[] = [];
  const mappingWeight = new Map<number, number>();
  const entry: number[] = [];
  for (let i = 0; i < profile.stackCount; i++) {
    const ids: number[] = [];
    entry.length = 0;
    // Leaf-first walk of the trie path: inlined frames collect until their containing frame,
    // at the same address (an inlined frame perf left without one is a location of its own).
    for (let node = profile.stackNode[i]; node > 0; node = profile.nodeParent[node]) {
      const f = profile.nodeFrame[node];
      if (entry.length > 0 && !sameSite(entry[entry.length - 1], f)) {
        ids.push(locationId(entry));
        entry.length = 0;
      }
      entry.push(f);
      if (!t.inlined[f]) {
        ids.push(locationId(entry));
        entry.length = 0;
      }
    }
    if (entry.length > 0) ids.push(locationId(entry)); // inlined frames without their caller
    for (const id of new Set(ids.map((l) => Number(locations[l - 1].mappingId)))) {
      mappingWeight.set(id, (mappingWeight.get(id) ?? 0) + profile.stackWeight[i]);
    }
    const c = profile.classes[profile.stackClass[i]];
    const label = [
      { key: labelKeys.comm, str: str(c.comm) },
      // a unit on every number: pprof drops a numeric label of 0 without one (swapper, cpu 0)
      { key: labelKeys.pid, num: c.pid, numUnit: labelKeys.pid },
      { key: labelKeys.tid, num: c.tid, numUnit: labelKeys.tid },
    ];
    if (c.cpu >= 0) label.push({ key: labelKeys.cpu, num: c.cpu, numUnit: labelKeys.cpu });
    samples.push(
      new Sample({
        locationId: ids,
        value: [profile.stackSamples[i], profile.stackWeight[i]],
        label,
      }),
    );
  }
  // pprof takes the first mapping for the main binary: the heaviest user object, then the
  // others, `[kernel.kallsyms]` and other pseudo objects last.
  const pseudo = (m: Mapping) => strings.strings[Number(m.filename)].startsWith("[") ? 1 : 0;
  const weightOf = (m: Mapping) => mappingWeight.get(Number(m.id)) ?? 0;
  mappings.sort((a, b) => pseudo(a) - pseudo(b) || weightOf(b) - weightOf(a));
  const eventType = new ValueType({ type: str(eventName), unit: str(unit) });
  const first = Number.isFinite(profile.timeMin) ? profile.timeMin : 0;
  const last = Number.isFinite(profile.timeMax) ? profile.timeMax : first;
  return new PprofProfile({
    sampleType: [new ValueType({ type: str("samples"), unit: str("count") }), eventType],
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: options.timeNanos ?? 0,
    durationNanos: Math.max(0, last - first),
    periodType: new ValueType({ type: str(eventName), unit: str(unit) }),
    comment: (options.comments ?? []).map(str),
    defaultSampleType: str(eventName),
  });
}

/**
 * Encodes a profile as gzipped `profile.proto` bytes (what `--pprof` writes).
 * @param profile The profile.
 * @param options Event, unit, build ids.
 * @returns The `.pb.gz` bytes.
 * @example
 * ```ts
 * import { ProfileBuilder } from "../analyze/profile.ts";
 * import { pprofBytes } from "./pprof.ts";
 * const b = new ProfileBuilder();
 * b.add({ frames: [{ sym: "leaf", dso: "/bin/x", kernel: false }], weight: 1000, pid: 1,
 *   tid: 1, cpu: 0, comm: "x", time: 0, context: "task", truncated: false });
 * pprofBytes(b.build()).length > 0; // true
 * ```
 */
export function pprofBytes(profile: Profile, options: PprofOptions = {}): Uint8Array {
  return gzipSync(pprofProfile(profile, options).encode());
}
