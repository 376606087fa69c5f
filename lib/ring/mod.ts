/**
 * The perf mmap ring: the writer (nested reserve/commit, head publish,
 * `PERF_RECORD_LOST`, write-backward overwrite), the reader (`data_tail`,
 * wrap), the control page layout, continuation fragments and their
 * defragmenter, Steven's `reserve_unlimited` / `assign` / `commit` writer, sync points, CRC-32.
 *
 * @module
 */

export * from "./layout.ts";
export { MAX_NEST, RingWriter, type RingWriterOptions, type RingWriterStats } from "./writer.ts";
export * from "./reader.ts";
export * from "./sample_writer.ts";
export { Defragmenter, type DefragOptions, type DefragStats, type StreamRecord } from "./defrag.ts";
export * from "./sync.ts";
export * from "./subbuf.ts";
export * from "./spare.ts";
export * from "./unlimited.ts";
export * from "./crc32.ts";
