/**
 * The perf ABI: constants, `perf_event_header`, `perf_event_attr` (VER0-VER8),
 * `PERF_RECORD_SAMPLE` for every `sample_type` bit, the `sample_id` trailer,
 * the common non-sample records, `PERF_CONTEXT_*` markers, and the
 * `perf_event_mmap_page` offsets. Encoders and decoders; no I/O.
 *
 * callring extension records use the type range 0x4c00-0x4cff
 * ({@linkcode CALLRING_RECORD_MIN}..{@linkcode CALLRING_RECORD_MAX}), which no
 * perf version uses; they never go into an exported perf.data.
 *
 * @example
 * ```ts
 * import { decodeSample, encodeSample, SampleType } from "./mod.ts";
 * const format = { sampleType: SampleType.IP | SampleType.TIME, readFormat: 0,
 *   regsUserCount: 0, regsIntrCount: 0, branchHwIndex: false };
 * const bytes = encodeSample({ ip: 0x1000n, time: 42 }, format);
 * console.log(decodeSample(new DataView(bytes.buffer), 0, format).time); // 42
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export * from "./errors.ts";
export * from "./u64.ts";
export * from "./header.ts";
export * from "./attr.ts";
export * from "./sample.ts";
export * from "./records.ts";
export * from "./mmap_page.ts";
export * from "./layout.ts";
export * from "./callchain.ts";
export * from "./extensions.ts";
