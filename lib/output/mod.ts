/**
 * Outputs: perf-report text, perf-script text, folded stacks,
 * flamegraphs (SVG, HTML), speedscope JSON.
 *
 * @module
 */

export * from "./text_report.ts";
export {
  type BranchEntry,
  BranchHistogram,
  branchReportText,
  BranchViews,
} from "./branch_report.ts";
export { TraceTexts } from "./trace_report.ts";
export { type KernelSymbolizer, TracepointPrinter } from "./tracepoint_print.ts";
export * from "./report_fields.ts";
export * from "./thread_counts_print.ts";
export * from "./folded.ts";
export * from "./speedscope.ts";
export * from "./flame_layout.ts";
export * from "./flamegraph_svg.ts";
export * from "./flamegraph_html.ts";
export * from "./flamegraph_data.ts";
export * from "./pprof.ts";
export { formatPercent } from "./format.ts";
export * from "./perf_script.ts";
export * from "./script_run.ts";
export * from "./script_filter.ts";
export * from "./script_events.ts";
export * from "./script_time.ts";
export * from "./perf_header_print.ts";
