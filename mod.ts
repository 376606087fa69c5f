/**
 * callring: a toolkit for Linux perf callchains. Decode and encode the perf
 * ABI, read perf.data, symbolize callchains, build profiles and write every
 * output format (perf-report text, perf-script text, folded stacks,
 * flamegraphs, speedscope, diffs).
 *
 * Every folder is also its own entry point (`@callring/callring/abi`,
 * `/ring`, `/perfdata`, `/capture`, `/input`, `/analyze`, `/output`,
 * `/sim`); names are unique across them, so this module re-exports all.
 *
 * @example Decode a sample record
 * ```ts
 * import { decodeSample, encodeSample, SampleType } from "./mod.ts";
 * const format = { sampleType: SampleType.IP | SampleType.TID, readFormat: 0,
 *   regsUserCount: 0, regsIntrCount: 0, branchHwIndex: false };
 * const bytes = encodeSample({ ip: 0x401000n, pid: 1, tid: 1 }, format);
 * console.log(decodeSample(new DataView(bytes.buffer), 0, format).ip); // 4198400n
 * ```
 *
 * @module
 */

export * from "./lib/abi/mod.ts";
export * from "./lib/ring/mod.ts";
export * from "./lib/perfdata/mod.ts";
export * from "./lib/capture/mod.ts";
export * from "./lib/input/mod.ts";
export * from "./lib/analyze/mod.ts";
export * from "./lib/output/mod.ts";
export * from "./lib/sim/mod.ts";
