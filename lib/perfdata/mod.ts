/**
 * perf.data input and output: a streaming reader for file and pipe mode with
 * perf's ordered-events order, a fast allocation-free sample walker, and
 * writers whose files real `perf script` / `perf report` read without warnings.
 *
 * @example Print each sample's time and callchain depth in `perf script` order
 * ```ts ignore
 * import { openPerfData } from "./mod.ts";
 * const file = await openPerfData("perf.data");
 * for await (const { record, time } of file.records()) {
 *   if ("sample" in record) console.log(time, record.sample.callchain?.length);
 * }
 * file.close();
 * ```
 *
 * @module
 */

export * from "./reader.ts";
export * from "./walker.ts";
export * from "./writer.ts";
export * from "./features.ts";
export * from "./feature_info.ts";
export * from "./tracing_data.ts";
export { compressedPayload, Decompressor } from "./compressed.ts";
export { defaultEventName, EventMatcher, makeEvent } from "./evlist.ts";
export { OrderedEvents } from "./ordered_events.ts";
export { type ReadDelivery, SampleReadSplitter } from "./sample_read.ts";
export {
  type ByteReader,
  ChunkedInput,
  DEFAULT_CHUNK_SIZE,
  type InputChunk,
  readerFromStream,
} from "./chunked.ts";
export { type RewriteOptions, rewritePerfData, type RewriteSummary } from "./rewrite.ts";
export { ByteSwapper, type EventOf } from "./swap.ts";
