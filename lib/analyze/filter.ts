/**
 * Sample predicates for perf-report-style filters: `--cpu`, `--pid`, `--tid`,
 * `--comm`, `--context`, `--time START,END` (perf's rules, `perf_time.ts`). Pass the combined predicate as
 * `new ProfileBuilder({ filter })` so filters apply while building.
 *
 * @example
 * ```ts
 * import { sampleFilter } from "./filter.ts";
 * const keep = sampleFilter({ cpu: "0-1,3", time: "10.5,", comm: "burn" });
 * ```
 *
 * @module
 */

import type { SampleContext, StackSample } from "./profile.ts";
import { FilterSyntaxError } from "./filter_error.ts";
import { needsSampleSpan, parsePerfTime, perfTimeKeeps } from "./perf_time.ts";

/** A predicate over samples. */
export type SamplePredicate = (sample: StackSample) => boolean;

export { FilterSyntaxError } from "./filter_error.ts";

/**
 * Parses a perf CPU list (`0-3,5`).
 * @param text The list.
 * @returns The set of CPUs.
 */
export function parseCpuList(text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new FilterSyntaxError("--cpu", text, `bad element "${part}" (want N or N-M)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new FilterSyntaxError("--cpu", text, `range ${lo}-${hi} is reversed`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return out;
}

/** libperf's `MAX_NR_CPUS` in perf 6.1. */
export const PERF_MAX_NR_CPUS = 2048;

/** What {@linkcode parsePerfCpuMap} read. */
export interface PerfCpuMap {
  /** The CPUs, sorted, without duplicates. */
  cpus: number[];
  /** An element reached {@linkcode PERF_MAX_NR_CPUS} (perf warns once: "Perf can support ..."). */
  beyondMax: boolean;
}

/** C's `strtoul(s, &end, 0)` on `text` from `at`: leading spaces, a sign, 0x / 0 prefixes. */
function strtoul(text: string, at: number): { value: number; end: number } {
  let i = at;
  while (i < text.length && " \t\n\v\f\r".includes(text[i]!)) i++;
  let neg = false;
  if (text[i] === "+" || text[i] === "-") neg = text[i++] === "-";
  let base = 10;
  if (
    text[i] === "0" && (text[i + 1] === "x" || text[i + 1] === "X") &&
    /[0-9a-f]/i.test(text[i + 2] ?? "")
  ) {
    base = 16;
    i += 2;
  } else if (text[i] === "0") base = 8;
  const digits = base === 16 ? /[0-9a-f]/i : base === 8 ? /[0-7]/ : /[0-9]/;
  const from = i;
  let value = 0;
  while (i < text.length && digits.test(text[i]!)) {
    value = value * base + parseInt(text[i++]!, base);
  }
  if (i === from && base !== 8) return { value: 0, end: at }; // no digits: nothing consumed
  // a negative value wraps around (ULONG_MAX and below): larger than any CPU number
  return { value: neg && value !== 0 ? Number.MAX_SAFE_INTEGER : value, end: i };
}

const INT_MAX = 0x7fffffff;

/**
 * Parses a CPU list as perf 6.1's `perf_cpu_map__new` does (`-C/--cpu` of
 * perf script): elements `N` or `N-M` (C `strtoul` numbers, so `0x1` and
 * `010` too) separated by commas, reading stops at the first element that
 * does not start with a digit; duplicates and reversed ranges are invalid.
 * An empty list selects no CPU.
 * @param text The list.
 * @returns The CPUs.
 * @throws {FilterSyntaxError} Where perf says "Invalid cpu_list".
 */
export function parsePerfCpuMap(text: string): PerfCpuMap {
  const bad = () => new FilterSyntaxError("--cpu", text, "Invalid cpu_list");
  const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
  if (text !== "" && !isDigit(text[0])) throw bad();
  const seen = new Set<number>();
  let beyondMax = false;
  let at = 0;
  while (isDigit(text[at])) {
    const a = strtoul(text, at);
    let p = a.end;
    const start = a.value;
    if (start >= INT_MAX || (p < text.length && text[p] !== "," && text[p] !== "-")) throw bad();
    let end = start;
    if (text[p] === "-") {
      const b = strtoul(text, p + 1);
      p = b.end;
      end = b.value;
      if (end >= INT_MAX || (p < text.length && text[p] !== ",")) throw bad();
      if (end < start) throw bad();
    }
    if (end >= PERF_MAX_NR_CPUS) beyondMax = true;
    for (let c = start; c <= end; c++) {
      if (seen.has(c)) throw bad();
      seen.add(c);
    }
    if (p < text.length) p++;
    at = p;
  }
  return { cpus: [...seen].sort((x, y) => x - y), beyondMax };
}

/**
 * Parses a comma-separated list of integers (`--pid`, `--tid`).
 * @param argument Option name for errors.
 * @param text The list.
 * @returns The set.
 */
export function parseIdList(argument: string, text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    if (!/^\s*\d+\s*$/.test(part)) throw new FilterSyntaxError(argument, text, `bad id "${part}"`);
    out.add(Number(part));
  }
  return out;
}

/** Filter options as given on the command line (all optional; all must match). */
export interface FilterOptions {
  /** CPU list (`0-3,5`). */
  cpu?: string;
  /** Process ids (`12,13`). */
  pid?: string;
  /** Thread ids. */
  tid?: string;
  /** Command names, comma-separated. */
  comm?: string;
  /** Contexts, comma-separated: task, softirq, hardirq, nmi. */
  context?: string;
  /** perf `--time` windows (absolute ones: `START,END`, several separated by spaces; see `perf_time.ts`). */
  time?: string;
}

const CONTEXTS: readonly SampleContext[] = ["task", "softirq", "hardirq", "nmi"];

/**
 * Combines the given filters into one predicate (AND of all given options).
 * @param options The filters.
 * @returns A predicate; accepts everything when no option is set.
 */
export function sampleFilter(options: FilterOptions): SamplePredicate {
  const tests: SamplePredicate[] = [];
  if (options.cpu !== undefined) {
    const set = parseCpuList(options.cpu);
    tests.push((s) => set.has(s.cpu));
  }
  if (options.pid !== undefined) {
    const set = parseIdList("--pid", options.pid);
    tests.push((s) => set.has(s.pid));
  }
  if (options.tid !== undefined) {
    const set = parseIdList("--tid", options.tid);
    tests.push((s) => set.has(s.tid));
  }
  if (options.comm !== undefined) {
    const set = new Set(options.comm.split(","));
    tests.push((s) => set.has(s.comm));
  }
  if (options.context !== undefined) {
    const set = new Set<string>();
    for (const c of options.context.split(",")) {
      if (!(CONTEXTS as readonly string[]).includes(c)) {
        throw new FilterSyntaxError(
          "--context",
          options.context,
          `unknown context "${c}" (want ${CONTEXTS.join(", ")})`,
        );
      }
      set.add(c);
    }
    tests.push((s) => s.context !== undefined && set.has(s.context));
  }
  if (options.time !== undefined) {
    // percent slices need the first and last sample times, which a predicate built
    // before the input is read does not have
    if (needsSampleSpan(options.time)) {
      throw new FilterSyntaxError(
        "--time",
        options.time,
        "percent slices are not supported here (absolute START,END windows are)",
      );
    }
    const time = parsePerfTime(options.time);
    tests.push((s) => perfTimeKeeps(time, s.time));
  }
  if (tests.length === 0) return () => true;
  return (s) => tests.every((t) => t(s));
}
