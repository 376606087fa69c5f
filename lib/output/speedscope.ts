/**
 * speedscope file format (https://www.speedscope.app/file-format-schema.json):
 * shared frames (`name`, `file` = dso), one `sampled` profile per thread or per
 * process, named after the thread's last comm (after an exec, the program it
 * became), stacks root-first, weights = summed period (or sample counts).
 * Each distinct stack becomes one weighted sample, so the file size grows with
 * distinct stacks, not samples.
 *
 * @module
 */

import type { Profile, SampleClass } from "../analyze/profile.ts";

/** speedscope frame. */
export interface SpeedscopeFrame {
  /** Function name. */
  name: string;
  /** Source/object file. */
  file?: string;
}

/** speedscope sampled profile. */
export interface SpeedscopeSampledProfile {
  /** Always "sampled". */
  type: "sampled";
  /** Profile name (thread or process). */
  name: string;
  /** Unit of weights. */
  unit: "none" | "nanoseconds" | "microseconds" | "milliseconds" | "seconds" | "bytes";
  /** Start value. */
  startValue: number;
  /** End value (sum of weights). */
  endValue: number;
  /** Stacks as frame indices, root-first. */
  samples: number[][];
  /** Weight per sample. */
  weights: number[];
}

/** speedscope file. */
export interface SpeedscopeFile {
  /** Schema URL. */
  $schema: "https://www.speedscope.app/file-format-schema.json";
  /** Shared frame table. */
  shared: { frames: SpeedscopeFrame[] };
  /** Profiles. */
  profiles: SpeedscopeSampledProfile[];
  /** Display name. */
  name?: string;
  /** Profile shown first. */
  activeProfileIndex?: number;
  /** Producer. */
  exporter?: string;
}

/** Options of {@linkcode speedscopeFile}. */
export interface SpeedscopeOptions {
  /** One profile per thread (default) or per process. */
  groupBy?: "thread" | "process";
  /** Weight by period (default) or by sample count. */
  weight?: "period" | "samples";
  /** Unit of period weights (default "nanoseconds", right for cpu-clock/task-clock). */
  unit?: SpeedscopeSampledProfile["unit"];
  /** File name shown by speedscope. */
  name?: string;
}

/**
 * Converts a profile to a speedscope file object (serialise with JSON.stringify).
 * @param profile The profile.
 * @param options Grouping, weighting, unit, name.
 * @returns The file object; profiles sorted by weight, heaviest first.
 * @example
 * ```ts
 * import { ProfileBuilder } from "../analyze/profile.ts";
 * import { speedscopeFile } from "./speedscope.ts";
 * const b = new ProfileBuilder();
 * b.add({ frames: [{ sym: "leaf", dso: "/bin/x", kernel: false }], weight: 1, pid: 1, tid: 1,
 *   cpu: 0, comm: "x", time: 0, context: "task", truncated: false });
 * JSON.stringify(speedscopeFile(b.build()));
 * ```
 */
export function speedscopeFile(profile: Profile, options: SpeedscopeOptions = {}): SpeedscopeFile {
  const t = profile.frames;
  const frames: SpeedscopeFrame[] = [];
  for (let i = 0; i < t.size; i++) {
    const dso = t.dsos[i];
    const name = t.kinds[i] === "kernel" ? `${t.names[i]} [k]` : t.names[i];
    frames.push(dso === undefined ? { name } : { name, file: dso });
  }
  const byProcess = options.groupBy === "process";
  const keyOf = (c: SampleClass) => byProcess ? `${c.pid}` : `${c.pid}/${c.tid}`;
  // A thread is named after its last comm (what it exec'd: `gzip`, not the `sh` it was forked
  // from), as perf's thread__comm_str does; classes are numbered in order of first appearance,
  // a process after the comm of its main thread (pid == tid) when it has samples.
  const names = new Map<string, { comm: string; main: boolean }>();
  for (const c of profile.classes) {
    const key = keyOf(c);
    const main = c.pid === c.tid;
    const seen = names.get(key);
    if (seen === undefined || main || !seen.main) names.set(key, { comm: c.comm, main });
  }
  const groups = new Map<string, SpeedscopeSampledProfile>();
  for (let i = 0; i < profile.stackCount; i++) {
    const c = profile.classes[profile.stackClass[i]];
    const key = keyOf(c);
    let g = groups.get(key);
    if (!g) {
      const comm = names.get(key)!.comm;
      g = {
        type: "sampled",
        name: byProcess ? `${comm} [${c.pid}]` : `${comm} [${c.pid}/${c.tid}]`,
        unit: options.weight === "samples" ? "none" : options.unit ?? "nanoseconds",
        startValue: 0,
        endValue: 0,
        samples: [],
        weights: [],
      };
      groups.set(key, g);
    }
    const w = options.weight === "samples" ? profile.stackSamples[i] : profile.stackWeight[i];
    g.samples.push(profile.pathOf(profile.stackNode[i]));
    g.weights.push(w);
    g.endValue += w;
  }
  const profiles = [...groups.values()].sort((a, b) => b.endValue - a.endValue);
  return {
    $schema: "https://www.speedscope.app/file-format-schema.json",
    shared: { frames },
    profiles,
    name: options.name ?? "callring profile",
    activeProfileIndex: 0,
    exporter: "callring",
  };
}
