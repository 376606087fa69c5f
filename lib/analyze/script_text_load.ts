/**
 * A profile from `perf script` text ({@linkcode readPerfScriptText}), shaped
 * like {@linkcode loadProfile}'s result so `report` treats it like a
 * recording: one profile per event, the first event with samples chosen
 * unless one is named, perf-report filters applied.
 *
 * Until the input layer (lib/input) detects formats itself, `report` asks
 * {@linkcode isPerfScriptTextFile} first and calls this for text.
 *
 * What text cannot say is left unknown, never guessed: the execution context
 * (so `--context` keeps nothing), pid when perf printed the tid only (-1),
 * build ids (none), truncation (none marked).
 *
 * @module
 */

import { defaultAttr } from "../abi/attr.ts";
import { ReadWarning, SampleType } from "../abi/mod.ts";
import { makeEvent } from "../perfdata/evlist.ts";
import { readPerfScriptText } from "../input/perf_script_text.ts";
import { sampleFilter } from "./filter.ts";
import { type LoadOptions, type LoadResult, UnknownEventError } from "./load_options.ts";
import { type Profile, ProfileBuilder } from "./profile.ts";

/** Options of {@linkcode loadScriptTextProfile}: those of {@linkcode loadProfile} that apply to text. */
export type ScriptTextLoadOptions = Pick<LoadOptions, "filter" | "weight" | "event" | "timeline">;

/**
 * Reads `perf script` text into a profile.
 * @param path The text file.
 * @param options Filters, weighting, event.
 * @returns The result; `info.events` carries attrs with just the sample bits the text showed
 * (CALLCHAIN when frame lines were printed, PERIOD when a period was).
 * @throws {import("../input/perf_script_text.ts").ScriptTextSyntaxError} On a line that is no
 * sample header outside a sample.
 */
export async function loadScriptTextProfile(
  path: string,
  options: ScriptTextLoadOptions = {},
): Promise<LoadResult> {
  const given = options.filter !== undefined &&
    Object.values(options.filter).some((v) => v !== undefined);
  const filter = given ? sampleFilter(options.filter!) : undefined;
  const events = new Map<
    string,
    { index: number; builder: ProfileBuilder; samples: number; weight: number; bits: number }
  >();
  const bySamples = options.weight === "samples";
  const { warnings } = await readPerfScriptText(path, (s) => {
    let e = events.get(s.eventName);
    if (e === undefined) {
      e = {
        index: events.size,
        builder: new ProfileBuilder({ filter, timeline: options.timeline }),
        samples: 0,
        weight: 0,
        bits: 0,
      };
      events.set(s.eventName, e);
    }
    if (s.period !== undefined) e.bits |= SampleType.PERIOD;
    if (s.callchain) e.bits |= SampleType.CALLCHAIN;
    const sample = bySamples ? { ...s, weight: 1 } : s;
    if (e.builder.add(sample)) {
      e.samples++;
      e.weight += sample.weight;
    }
  });
  const list = [...events.entries()];
  const summaries = list.map(([name, e]) => ({
    index: e.index,
    name,
    samples: e.samples,
    weight: e.weight,
  }));
  let chosen = list.findIndex(([, e]) => e.builder.samplesRead > 0);
  if (options.event !== undefined) {
    const want = options.event;
    chosen = list.findIndex(([name, e]) =>
      typeof want === "number" ? e.index === want : name === want || name.split(":")[0] === want
    );
    if (chosen < 0) throw new UnknownEventError(want, list.map(([n]) => n));
  }
  const builder = chosen >= 0 ? list[chosen][1].builder : new ProfileBuilder();
  let size: number | undefined;
  try {
    size = (await Deno.stat(path)).size;
  } catch {
    size = undefined;
  }
  const inputEvents = list.map(([name, e]) =>
    makeEvent(e.index, defaultAttr({ sampleType: e.bits }), [], name)
  );
  const eventProfiles = new Map<number, Profile>();
  const profile = builder.build();
  list.forEach(([, e], i) =>
    eventProfiles.set(e.index, i === chosen ? profile : e.builder.build())
  );
  return {
    profile,
    eventProfiles,
    events: summaries,
    event: chosen,
    warnings: warnings.map((m) => new ReadWarning("skipped", m)),
    info: {
      // perf script text is perf.data's samples rendered by perf: no header, no side band.
      format: "perf.data",
      source: path,
      pipe: false,
      events: inputEvents,
      size,
      perf: { pipe: false, events: inputEvents, dataOffset: 0, dataSize: size ?? 0, features: [] },
    },
    bytesRead: size ?? 0,
    branchMode: false,
    buildIds: new Map(), // perf script text names no build-ids
  };
}
