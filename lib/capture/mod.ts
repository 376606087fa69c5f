/**
 * The callring capture file: format (file header, chunks, record time),
 * writer, resyncing time-merged reader with damage accounting and time
 * seek, and conversion to perf.data.
 *
 * @module
 */

export * from "./format.ts";
export {
  captureFileSink,
  type CaptureSink,
  CaptureWriter,
  type CaptureWriterHeader,
  type CaptureWriterStats,
} from "./writer.ts";
export { captureFileSource, captureMemorySource, type CaptureSource } from "./source.ts";
export {
  type CaptureCpuStats,
  CaptureReader,
  type CaptureReadOptions,
  type CaptureReadSummary,
  type CaptureWarning,
  type ReverseSummary,
  type SeekResult,
  type WindowSummary,
} from "./reader.ts";
export * from "./convert.ts";
