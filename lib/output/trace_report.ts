/**
 * perf report's default view of a recording whose every event is a
 * tracepoint (`get_default_sort_order`: `default_tracepoint_sort_order`,
 * the `trace` key): one entry per distinct payload text, the text
 * `tep_print_event(TEP_PRINT_INFO)` makes of it (here
 * {@linkcode TracepointPrinter.format}), output-sorted by weight and then
 * by text as `sort__trace_cmp` orders them, printed `%-.*s` in a column as
 * wide as the longest text, or as its header when perf never made a text:
 * `hists__calc_col_len` measures `he->trace_output`, which only
 * `sort__trace_cmp` fills, so a lone sample's entry, never compared, keeps
 * the header's width.
 *
 * @module
 */

import { AttrType } from "../abi/mod.ts";
import type { Profile } from "../analyze/profile.ts";
import type { InputInfo } from "../input/open.ts";
import { formatPercent } from "./format.ts";
import { TracepointPrinter } from "./tracepoint_print.ts";
import { reportPreamble, type TextReportOptions } from "./text_report.ts";

/** One entry of the trace view. */
export interface TraceEntry {
  /** The payload text. */
  readonly text: string;
  /** Weight (period) of its samples. */
  weight: number;
}

/** The trace view's histogram: add each sample's payload text, then read the entries. */
export class TraceHistogram {
  readonly #byText = new Map<string, TraceEntry>();
  #total = 0;
  #samples = 0;

  /** Samples added. */
  get samples(): number {
    return this.#samples;
  }

  /** The weight of every sample added. */
  get total(): number {
    return this.#total;
  }

  /**
   * Count one sample.
   * @param text Its payload text.
   * @param weight Its weight (period).
   */
  add(text: string, weight: number): void {
    let e = this.#byText.get(text);
    if (e === undefined) this.#byText.set(text, e = { text, weight: 0 });
    e.weight += weight;
    this.#total += weight;
    this.#samples++;
  }

  /**
   * The entries in perf's output order: greatest weight first, equal ones
   * by text in strcmp order (`sort__trace_cmp`).
   * @returns The entries.
   */
  entries(): TraceEntry[] {
    return [...this.#byText.values()].sort((a, b) =>
      b.weight - a.weight || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0)
    );
  }
}

/**
 * The trace view's histograms of a recording, one per tracepoint event,
 * filled sample by sample as the input is read ({@linkcode TraceViews.add},
 * the load's `onRaw`).
 */
export class TraceViews {
  /** Histograms by event index. */
  readonly hists: Map<number, TraceHistogram> = new Map();
  #printer: TracepointPrinter | undefined;
  #untraced = 0;

  /** Samples whose payload could not be printed (see {@linkcode TraceViews.undecoded}). */
  get untraced(): number {
    return this.#untraced;
  }

  /** Payloads not printed, by `system:name (reason)`. */
  get undecoded(): ReadonlyMap<string, number> {
    return this.#printer?.undecoded ?? new Map();
  }

  /**
   * Count a sample's payload (samples of other than tracepoint events are left out).
   * @param event The sample's event index.
   * @param raw Its PERF_SAMPLE_RAW bytes.
   * @param weight Its weight.
   * @param info The input's info (its events and tracing data).
   */
  add(event: number, raw: Uint8Array, weight: number, info: InputInfo): void {
    const ev = info.events[event];
    const data = info.perf?.tracingData;
    if (ev === undefined || ev.attr.type !== AttrType.TRACEPOINT || data === undefined) return;
    this.#printer ??= new TracepointPrinter(data);
    const text = this.#printer.format(Number(ev.attr.config), raw);
    if (text === undefined) {
      this.#untraced++;
      return;
    }
    let h = this.hists.get(event);
    if (h === undefined) this.hists.set(event, h = new TraceHistogram());
    h.add(text, weight);
  }
}

/** The column's header; its width is the column's. */
const HEADER = "Trace output";

/**
 * The text of perf report's trace view of one event.
 * @param profile The event's profile (its sample count and loss accounting).
 * @param hist The event's trace histogram.
 * @param options The report options (header, quiet, event name, percent limit).
 * @returns The section's text, ending with the blank lines perf prints.
 */
export function traceReportText(
  profile: Profile,
  hist: TraceHistogram,
  options: TextReportOptions = {},
): string {
  const total = hist.total;
  const limit = Math.fround(options.percentLimit ?? 0);
  const percent = (v: number) => (total ? (100 * v) / total : 0);
  const out = reportPreamble(
    profile,
    options,
    [],
    profile.samples,
    total,
    `event '${options.eventName ?? ""}'`,
  );
  const entries = hist.entries();
  // a second sample's walk compares, which makes the texts perf measures
  let width = HEADER.length;
  if (hist.samples > 1) { for (const e of entries) width = Math.max(width, e.text.length); }
  if (!options.quiet) {
    out.push(`# Overhead  ${HEADER.padEnd(width)}`);
    out.push(`# ........  ${".".repeat(width)}`);
    out.push("#");
  }
  for (const e of entries) {
    if (Math.fround(percent(e.weight)) < limit) continue;
    out.push(
      "  " + (formatPercent(percent(e.weight)) + "%").padStart(8) + "  " + e.text.slice(0, width),
    );
  }
  out.push("");
  out.push("");
  return out.join("\n") + "\n";
}
