/**
 * Analysis: symbolization (ELF, kallsyms, build-id cache, DWARF
 * unwinding, inline frames), the session over an input's side-band state,
 * symbolized record streams and profiles, call trees, filters and diffs.
 *
 * @module
 */

export * from "./profile.ts";
export * from "./call_tree.ts";
export * from "./filter.ts";
export * from "./perf_time.ts";
export * from "./diff.ts";
export * from "./resolver.ts";
export * from "./session.ts";
export * from "./load.ts";
export * from "./thread_counts.ts";
export {
  type InputItem,
  type InputRecords,
  openRecords,
  type OpenRecordsOptions,
  type ResolvedSample,
} from "./symbolized.ts";
export type { BranchEnd, BranchPair, UnmappedResolver } from "./chains.ts";
export * from "./context.ts";
export {
  type Addr2lineRecord,
  type InlineNode,
  InlineResolver,
  type InlineResolverOptions,
  type InlineTarget,
  type InlineTargetOptions,
} from "./inlines.ts";
export * from "./symbolize.ts";
export * from "./kallsyms.ts";
export * from "./elf.ts";
export * from "./symbols.ts";
export * from "./buildid_cache.ts";
export * from "./demangle.ts";
export * from "./plt.ts";
export * from "./eh_frame.ts";
export * from "./unwind.ts";
