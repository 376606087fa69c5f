/**
 * callring: a toolkit for Linux perf callchains. Decode and encode the perf
 * ABI, read and write perf.data, and analyse callchains.
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
