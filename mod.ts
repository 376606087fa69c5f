/**
 * callring: a toolkit for Linux perf callchains. Decode and encode the perf
 * ABI, read perf.data, symbolize callchains, build profiles and write every
 * output format (perf-report text, perf-script text, folded stacks,
 * flamegraphs, speedscope, diffs).
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

export * from "./lib/analyze/profile.ts";
export * from "./lib/analyze/call_tree.ts";
export * from "./lib/analyze/filter.ts";
export * from "./lib/analyze/diff.ts";
export * from "./lib/analyze/session.ts";
export * from "./lib/analyze/load.ts";
export * from "./lib/analyze/context.ts";
export * from "./lib/analyze/sim_symbols.ts";
export {
  type Addr2lineRecord,
  type InlineNode,
  InlineResolver,
  type InlineResolverOptions,
  type InlineTarget,
  type InlineTargetOptions,
} from "./lib/analyze/inlines.ts";
export * from "./lib/analyze/threads.ts";
export * from "./lib/analyze/symbolize.ts";
export * from "./lib/analyze/maps.ts";
export * from "./lib/analyze/kallsyms.ts";
export * from "./lib/analyze/elf.ts";
export * from "./lib/analyze/symbols.ts";
export * from "./lib/analyze/buildid_cache.ts";
export * from "./lib/analyze/demangle.ts";
export * from "./lib/analyze/plt.ts";

export * from "./lib/output/text_report.ts";
export * from "./lib/output/folded.ts";
export * from "./lib/output/speedscope.ts";
export * from "./lib/output/pprof.ts";
export * from "./lib/output/flame_layout.ts";
export * from "./lib/output/flamegraph_svg.ts";
export * from "./lib/output/flamegraph_html.ts";
export * from "./lib/output/flamegraph_data.ts";
export { formatPercent } from "./lib/output/format.ts";
export * from "./lib/output/perf_script.ts";
export * from "./lib/output/script_run.ts";
export * from "./lib/perfdata/mod.ts";

export {
  Machine,
  type MachineOptions,
  type ReplayResult,
  replaySchedule,
  type SimMetrics,
} from "./lib/sim/machine.ts";
export {
  type ComparisonOptions,
  comparisonVerdicts,
  formatComparison,
  runComparison,
} from "./lib/sim/compare.ts";
export * from "./lib/sim/recorder.ts";
export {
  CountingSink,
  MemorySink,
  type SampleSink,
  type SimSample,
  type SimTruth,
} from "./lib/sim/sink.ts";
export {
  check,
  checkAll,
  type CheckOptions,
  type CheckResult,
  type Choice,
  type Profile as CheckProfile,
  PROFILES as CHECK_PROFILES,
  type Violation,
} from "./lib/sim/check.ts";
export { formatTraces, formatVerdictTable } from "./lib/sim/verdicts.ts";
export { CHECK_STRATEGIES, getStrategy, SIM_STRATEGIES } from "./lib/sim/strategies/mod.ts";
export * from "./lib/sim/cpu.ts";
export {
  DEPTH_PRESETS,
  type DepthPreset,
  type SymbolRange as SimSymbolRange,
  SymbolTable as SimSymbolTable,
} from "./lib/sim/workload.ts";
export * from "./lib/analyze/eh_frame.ts";
export * from "./lib/analyze/unwind.ts";

export * from "./lib/abi/extensions.ts";
export * from "./lib/ring/layout.ts";
export {
  MAX_NEST,
  RingWriter,
  type RingWriterOptions,
  type RingWriterStats,
} from "./lib/ring/writer.ts";
export * from "./lib/ring/reader.ts";
export * from "./lib/ring/sample_writer.ts";
export {
  Defragmenter,
  type DefragOptions,
  type DefragStats,
  type StreamRecord,
} from "./lib/ring/defrag.ts";
export * from "./lib/ring/sync.ts";
export * from "./lib/ring/crc32.ts";
export * from "./lib/capture/format.ts";
export {
  type CaptureSink,
  CaptureWriter,
  type CaptureWriterHeader,
  type CaptureWriterStats,
  fileSink as captureFileSink,
} from "./lib/capture/writer.ts";
export {
  type ByteSource as CaptureByteSource,
  CaptureReader,
  type CaptureWarning,
  type CpuStats as CaptureCpuStats,
  fileSource as captureFileSource,
  memorySource as captureMemorySource,
  type ReadOptions as CaptureReadOptions,
  type ReadSummary as CaptureReadSummary,
  type SeekResult,
} from "./lib/capture/reader.ts";
export * from "./lib/capture/convert.ts";
