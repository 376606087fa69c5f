/**
 * The input layer: format detection, perf.data (file, pipe, stdin) and
 * callring captures as one ordered record stream, side-band records applied
 * once to one {@linkcode SideBand} (threads, maps, build-ids), loss counted
 * from typed warnings. Every consumer (script, report, diff, the API) reads
 * through {@linkcode openInput}.
 *
 * @module
 */

export * from "./format.ts";
export * from "./open.ts";
export * from "./capture_input.ts";
export * from "./capture_symbols.ts";
export * from "./loss.ts";
export * from "./pull.ts";
export * from "./side_band.ts";
export * from "./threads.ts";
export * from "./maps.ts";
