/**
 * Sample predicates for perf-report-style filters: `--cpu`, `--pid`, `--tid`,
 * `--comm`, `--context`, `--time START,END`. Pass the combined predicate as
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

/** A predicate over samples. */
export type SamplePredicate = (sample: StackSample) => boolean;

/** A malformed filter argument; `argument` names the option. */
export class FilterSyntaxError extends SyntaxError {
  /** The option name (`--cpu`, `--time`, ...). */
  readonly argument: string;
  /**
   * Creates the instance.
   * @param argument Option name.
   * @param value Offending text.
   * @param why Explanation.
   */
  constructor(argument: string, value: string, why: string) {
    super(`${argument} "${value}": ${why}`);
    this.name = "FilterSyntaxError";
    this.argument = argument;
  }
}

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

/** A closed-open-ended time window in nanoseconds (inclusive bounds, like perf). */
export interface TimeRange {
  /** Start (ns), or -Infinity for an open start. */
  start: number;
  /** End (ns), or Infinity for an open end. */
  end: number;
}

function secondsToNs(argument: string, whole: string, text: string): number {
  const m = /^(\d+)(?:\.(\d{0,9}))?$/.exec(text.trim());
  if (!m) {
    throw new FilterSyntaxError(argument, whole, `bad time "${text}" (want seconds[.fraction])`);
  }
  return Number(m[1]) * 1e9 + Number((m[2] ?? "").padEnd(9, "0"));
}

/**
 * Parses perf's `--time` syntax: `START,END` in seconds with up to nanosecond
 * fractions, either end may be empty (`10.5,` / `,20`); several windows may be
 * given separated by spaces (percent forms: {@linkcode parsePercentTimeRanges}).
 * @param text The argument.
 * @returns The windows.
 */
export function parseTimeRanges(text: string): TimeRange[] {
  const out: TimeRange[] = [];
  for (const part of text.trim().split(/\s+/)) {
    const comma = part.indexOf(",");
    if (comma < 0 || part.indexOf(",", comma + 1) >= 0) {
      throw new FilterSyntaxError(
        "--time",
        text,
        `Invalid time string: window "${part}" must be START,END`,
      );
    }
    const a = part.slice(0, comma);
    const b = part.slice(comma + 1);
    const start = a === "" ? -Infinity : secondsToNs("--time", text, a);
    const end = b === "" ? Infinity : secondsToNs("--time", text, b);
    if (end < start) {
      throw new FilterSyntaxError("--time", text, "Invalid time string: end is before start");
    }
    out.push({ start, end });
  }
  return out;
}

/**
 * perf's `parse_percent`: `N%` (a decimal number, then `%`) as a fraction.
 * @returns The fraction, or undefined when the text is not of that form.
 */
function parsePercent(text: string): number | undefined {
  const c = text.indexOf("%");
  if (c < 0) return undefined;
  const num = text.slice(0, c);
  // strtod over the whole text before the `%`.
  if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) return undefined;
  return Number(num) / 100;
}

/** perf's `set_percent_time`. */
function percentRange(startPct: number, endPct: number, first: number, last: number): TimeRange {
  const total = last - first;
  const start = first + Math.round(startPct * total);
  let end = first + Math.round(endPct * total);
  if (end > start && end !== last) end -= 1;
  return { start, end };
}

/**
 * Parses perf's percent `--time` forms (`perf_time__percent_parse_str`):
 * `10%/2` (the second 10 % slice; several joined by commas), `0%-10%,30%-40%`
 * (ranges) and `50%` (the first half), relative to the first and last sample
 * times of the file.
 * @param text The argument (contains `%`).
 * @param first The first sample time (ns).
 * @param last The last sample time (ns).
 * @returns The windows, as perf computes them.
 * @throws {FilterSyntaxError} Where perf says "Invalid time string".
 */
export function parsePercentTimeRanges(text: string, first: number, last: number): TimeRange[] {
  const bad = () => new FilterSyntaxError("--time", text, "Invalid time string");
  const slash = (part: string): TimeRange => {
    const p = part.indexOf("/");
    if (p < 0) throw bad();
    const pct = parsePercent(part.slice(0, p));
    const idxText = part.slice(p + 1);
    // strtol(..., 10) must consume everything.
    if (pct === undefined || !/^\s*[+-]?\d*$/.test(idxText)) throw bad();
    const i = idxText.trim() === "" ? 0 : Math.trunc(Number(idxText));
    if (pct <= 0) throw bad();
    const s = pct * (i - 1), e = pct * i;
    if (s < 0 || s > 1 || e < 0 || e > 1) throw bad();
    return percentRange(s, e, first, last);
  };
  const dash = (part: string): TimeRange => {
    const d = part.indexOf("-");
    if (d < 0) throw bad();
    const s = parsePercent(part.slice(0, d).trim()), e = parsePercent(part.slice(d + 1).trim());
    if (s === undefined || e === undefined) throw bad();
    if (s < 0 || s > 1 || e < 0 || e > 1 || s > e) throw bad();
    return percentRange(s, e, first, last);
  };
  const pieces = (split: (p: string) => TimeRange) =>
    text.split(",").filter((p) => p.length > 0).map(split);
  if (text.includes("/")) return pieces(slash);
  if (text.includes("-")) return pieces(dash);
  const c = text.indexOf("%");
  if (c < 0 || c !== text.length - 1) throw bad();
  return [slash(`${text}/1`)];
}

/**
 * Whether perf drops a sample at `time` for these windows
 * (`perf_time__ranges_skip_sample`): time 0 is never dropped; one window
 * includes both ends; of several, only the last includes its end.
 * @param ranges The windows (open ends as +-Infinity).
 * @param time The sample time (ns).
 * @returns True when the sample is outside.
 */
export function skipByTimeRanges(ranges: readonly TimeRange[], time: number): boolean {
  if (time === 0 || ranges.length === 0) return false;
  if (ranges.length === 1) return time < ranges[0]!.start || time > ranges[0]!.end;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (time >= r.start && (time < r.end || (i === ranges.length - 1 && time <= r.end))) {
      return false;
    }
  }
  return true;
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
  /** perf `--time` windows. */
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
    const ranges = parseTimeRanges(options.time);
    tests.push((s) => ranges.some((r) => s.time >= r.start && s.time <= r.end));
  }
  if (tests.length === 0) return () => true;
  return (s) => tests.every((t) => t(s));
}
