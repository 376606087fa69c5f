/**
 * The simulated perf subsystem: CPUs with the NMI latch and IST frames,
 * memory with lazy vmalloc faults, the NMI return strategies of the 2010
 * thread, workloads, the recorder through per-CPU rings into a capture, the
 * strategy comparison and the exhaustive NMI model checker.
 *
 * @module
 */

export {
  Machine,
  type MachineOptions,
  type ReplayResult,
  replaySchedule,
  type SimMetrics,
} from "./machine.ts";
export {
  type ComparisonOptions,
  comparisonVerdicts,
  formatComparison,
  runComparison,
} from "./compare.ts";
export * from "./recorder.ts";
export {
  CountingSink,
  MemorySink,
  type SampleSink,
  type SimSample,
  type SimTruth,
} from "./sink.ts";
export {
  check,
  CHECK_PROFILES,
  checkAll,
  type CheckOptions,
  type CheckProfile,
  type CheckResult,
  type Choice,
  type Violation,
} from "./check.ts";
export { formatTraces, formatVerdictTable } from "./verdicts.ts";
export { CHECK_STRATEGIES, getStrategy, SIM_STRATEGIES } from "./strategies/mod.ts";
export * from "./cpu.ts";
export {
  DEPTH_PRESETS,
  type DepthPreset,
  type SimSymbolRange,
  SimSymbolTable,
} from "./workload.ts";
export {
  SYNC_ARCHES,
  SYNC_ENTRY_NS_ASSUMED,
  SYNC_LAYOUT,
  type SyncArch,
  type SyncCostModel,
  vmallocSyncNsPerMm,
  vmallocSyncWalkNs,
} from "./sync_cost.ts";
