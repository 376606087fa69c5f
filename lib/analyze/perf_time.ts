/**
 * perf's `--time` argument as `perf script` parses and applies it (tools/perf/util/time-utils.c,
 * `perf_time__parse_for_ranges` and `perf_time__ranges_skip_sample`):
 *
 * - absolute windows `START,END` in seconds with up to 9 fraction digits, either end empty (or 0)
 *   for open; several windows separated by spaces (`1.5,2 3,3.5`), which must not overlap;
 * - percent slices of the recording's sample-time span (perf's SAMPLE_TIME feature: first and
 *   last sample time): `10%/2` (the second 10 % slice), `10%/2,10%/4`, `0%-10%,30%-40%`, `50%`
 *   (the first half).
 *
 * A sample is kept when its time is inside a window (every window includes both ends, as since
 * perf 5.3); a sample with time 0 (no PERF_SAMPLE_TIME) is never dropped, as in perf.
 *
 * The one `--time` parser of the project: perf script and perf report on perf.data
 * (`filter.ts`, `lib/output/script_filter.ts`) and captures read through their time index.
 *
 * @example
 * ```ts
 * import { parsePerfTime, perfTimeKeeps } from "./perf_time.ts";
 * const r = parsePerfTime("10%/2", { first: 1_000, last: 2_000 });
 * console.log(r.ranges[0], perfTimeKeeps(r, 1_150)); // { start: 1100, end: 1199 } true
 * ```
 *
 * @module
 */

import { FilterSyntaxError } from "./filter_error.ts";

/** One window as perf keeps it: nanoseconds, 0 meaning "no bound" at that end. */
export interface PerfTimeRange {
  /** Start (ns; 0: none). */
  start: number;
  /** End (ns, inclusive; 0: none). */
  end: number;
}

/** A parsed `--time` argument. */
export interface PerfTime {
  /** The text as given. */
  readonly text: string;
  /** The windows, in order. */
  readonly ranges: readonly PerfTimeRange[];
  /** Whether the text used percent forms (it then needed the first and last sample times). */
  readonly percent: boolean;
}

/** The recording's first and last sample time (perf's SAMPLE_TIME feature). */
export interface SampleTimeSpan {
  /** Time of the first sample (ns). */
  first: number;
  /** Time of the last sample (ns). */
  last: number;
}

/** A percent `--time` on an input that does not say when its first and last samples were. */
export class MissingSampleTimeError extends RangeError {
  /**
   * Create the error.
   *
   * @param text The `--time` argument.
   * @param input The input name.
   */
  constructor(text: string, input: string) {
    super(
      `--time "${text}": ${input} has no first/last sample time (perf's SAMPLE_TIME feature), ` +
        "which percent slices are taken of",
    );
    this.name = "MissingSampleTimeError";
  }
}

const INVALID = "Invalid time string";

function invalid(text: string): never {
  throw new FilterSyntaxError("--time", text, INVALID);
}

/** perf's `parse_nsec_time` (strtoul seconds, then up to 9 fraction digits). */
function nsecTime(text: string, whole: string): number {
  const m = /^\s*(\d*)(?:\.(\d{0,9}))?$/.exec(text);
  if (!m) invalid(whole);
  return Number(m[1] || "0") * 1e9 + Number((m[2] ?? "").padEnd(9, "0"));
}

/** perf's `perf_time__parse_str`: `START,END`, each end optional. */
function parseOne(text: string, whole: string): PerfTimeRange {
  const comma = text.indexOf(",");
  const a = comma < 0 ? text : text.slice(0, comma);
  const b = comma < 0 ? undefined : text.slice(comma + 1);
  const r = { start: 0, end: 0 };
  if (a !== "") r.start = nsecTime(a, whole);
  if (b !== undefined && b !== "") r.end = nsecTime(b, whole);
  if (r.end && r.end < r.start) invalid(whole);
  return r;
}

/** perf's `perf_time__parse_strs`: one window per comma, separated by spaces, no overlap. */
function parseAbsolute(text: string): PerfTimeRange[] {
  const num = text.split(",").length - 1;
  if (num === 0) invalid(text);
  const out: PerfTimeRange[] = [];
  let p = 0;
  for (let i = 0; i < num - 1; i++) {
    const arg = p;
    p = text.indexOf(",", p) + 1;
    while (p < text.length && /\s/.test(text[p]!)) p++;
    while (p < text.length && !/\s/.test(text[p]!)) {
      if (text[p++] === ",") invalid(text);
    }
    out.push(parseOne(text.slice(arg, p), text));
    if (p < text.length) p++;
  }
  out.push(parseOne(text.slice(p), text));
  for (let i = 0; i + 1 < out.length; i++) {
    if (out[i]!.end >= out[i + 1]!.start) invalid(text);
  }
  return out;
}

/** perf's `parse_percent` (strtod up to the `%`). */
function percent(text: string, whole: string): number {
  const at = text.indexOf("%");
  if (at < 0) invalid(whole);
  const num = text.slice(0, at);
  if (num !== "" && !/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) invalid(whole);
  return Number(num || "0") / 100;
}

/** perf's `set_percent_time`. */
function percentRange(a: number, b: number, span: SampleTimeSpan, whole: string): PerfTimeRange {
  if (a < 0 || a > 1 || b < 0 || b > 1) invalid(whole);
  const total = span.last - span.first;
  const r = { start: span.first + Math.round(a * total), end: span.first + Math.round(b * total) };
  if (r.end > r.start && r.end !== span.last) r.end -= 1;
  return r;
}

/** perf's `percent_slash_split`: `P%/N`, the N-th slice of P %. */
function slash(text: string, span: SampleTimeSpan, whole: string): PerfTimeRange {
  const at = text.indexOf("/");
  if (at < 0) invalid(whole);
  const p = percent(text.slice(0, at), whole);
  const nText = text.slice(at + 1);
  if (!/^\s*[+-]?\d*$/.test(nText)) invalid(whole);
  const n = Number.parseInt(nText, 10) || 0;
  if (p <= 0) invalid(whole);
  return percentRange(p * (n - 1), p * n, span, whole);
}

/** perf's `percent_dash_split`: `A%-B%`. */
function dash(text: string, span: SampleTimeSpan, whole: string): PerfTimeRange {
  const at = text.indexOf("-");
  if (at < 0) invalid(whole);
  return percentRange(
    percent(text.slice(0, at), whole),
    percent(text.slice(at + 1), whole),
    span,
    whole,
  );
}

/**
 * Whether a `--time` argument uses percent forms, which need the first and last sample times.
 *
 * @param text The argument.
 * @returns True for percent forms.
 */
export function needsSampleSpan(text: string): boolean {
  return text.includes("%");
}

/**
 * Parse a `--time` argument with perf's rules.
 *
 * @param text The argument.
 * @param span The first and last sample time (percent forms only).
 * @param input The input name for {@linkcode MissingSampleTimeError}.
 * @returns The windows.
 * @throws {FilterSyntaxError} "Invalid time string" where perf says so.
 * @throws {MissingSampleTimeError} When a percent form has no (non-zero) span.
 */
export function parsePerfTime(text: string, span?: SampleTimeSpan, input = "the input"): PerfTime {
  if (text === "") invalid(text);
  if (!text.includes("%")) return { text, ranges: parseAbsolute(text), percent: false };
  if (span === undefined || (span.first === 0 && span.last === 0)) {
    throw new MissingSampleTimeError(text, input);
  }
  const pieces = text.split(",");
  const split = text.includes("/") ? slash : text.includes("-") ? dash : undefined;
  let ranges: PerfTimeRange[];
  if (split !== undefined) {
    ranges = pieces.filter((p, i) => p !== "" || i < pieces.length - 1).map((p) =>
      split(p, span, text)
    );
  } else {
    // one percent: "P%" is "P%/1", and the % must be the last character
    if (text.indexOf("%") !== text.length - 1) invalid(text);
    ranges = [slash(`${text}/1`, span, text)];
  }
  if (ranges.length === 0) invalid(text);
  return { text, ranges, percent: true };
}

/**
 * Whether perf keeps a sample of this time (`!perf_time__ranges_skip_sample`).
 *
 * @param t The parsed argument.
 * @param time The sample time (ns; 0: none).
 * @returns True when kept.
 */
export function perfTimeKeeps(t: PerfTime, time: number): boolean {
  const r = t.ranges;
  if (time === 0 || r.length === 0) return true;
  if (r.length === 1) {
    const w = r[0]!;
    return !((w.start && time < w.start) || (w.end && time > w.end));
  }
  for (const w of r) if (time >= w.start && (time <= w.end || !w.end)) return true;
  return false;
}

/**
 * The one window a time-indexed read can seek to (inclusive ns, open ends infinite), when the
 * argument has exactly one.
 *
 * @param t The parsed argument.
 * @returns The window, or undefined for several windows.
 */
export function singleWindow(t: PerfTime): { start: number; end: number } | undefined {
  if (t.ranges.length !== 1) return undefined;
  const w = t.ranges[0]!;
  return { start: w.start || -Infinity, end: w.end || Infinity };
}

/**
 * perf's `--reltime` windows (`perf_time__parse_for_ranges_reltime`): both ends of every
 * window moved by the first sample time, an open end (0) too.
 *
 * @param t The parsed argument.
 * @param first The first sample time (ns).
 * @returns The moved windows.
 */
export function shiftPerfTime(t: PerfTime, first: number): PerfTime {
  return {
    ...t,
    ranges: t.ranges.map((r) => ({ start: r.start + first, end: r.end + first })),
  };
}
