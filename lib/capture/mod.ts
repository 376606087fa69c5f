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
export {
  type CaptureCpuStats,
  captureFileSource,
  captureMemorySource,
  CaptureReader,
  type CaptureReadOptions,
  type CaptureReadSummary,
  type CaptureSource,
  type CaptureWarning,
  type SeekResult,
  type WindowSummary,
} from "./reader.ts";
export * from "./convert.ts";
