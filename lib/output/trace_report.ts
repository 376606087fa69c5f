/**
 * The texts of perf's `trace` sort key: a tracepoint sample's payload as
 * `tep_print_event(TEP_PRINT_INFO)` prints it (`get_trace_output`, here
 * {@linkcode TracepointPrinter.format}). perf report's default view of a
 * recording whose every event is a tracepoint is `--sort trace`
 * (`get_default_sort_order`: `default_tracepoint_sort_order`); the entries,
 * their order (`sort__trace_cmp`), the column (`%-.*s`, as wide as the texts
 * perf compared) and the call graphs are the histogram's and the text
 * report's, as for every other key.
 *
 * @module
 */

import { AttrType } from "../abi/mod.ts";
import type { InputInfo } from "../input/open.ts";
import { type KernelSymbolizer, TracepointPrinter } from "./tracepoint_print.ts";

/**
 * Makes each tracepoint sample's payload text (the load's `traceText`) and
 * counts the payloads it cannot print.
 */
export class TraceTexts {
  #printer: TracepointPrinter | undefined;
  #untraced = 0;

  /** Tracepoint samples whose payload could not be printed (see {@linkcode TraceTexts.undecoded}). */
  get untraced(): number {
    return this.#untraced;
  }

  /** Payloads not printed, by `system:name (reason)`. */
  get undecoded(): ReadonlyMap<string, number> {
    return this.#printer?.undecoded ?? new Map();
  }

  /**
   * The payload text of a sample (undefined for other than tracepoint events,
   * and without tracing data).
   * @param event The sample's event index.
   * @param raw Its PERF_SAMPLE_RAW bytes.
   * @param info The input's info (its events and tracing data).
   * @param kernelSymbol Finds the kernel functions of `%pS`-style conversions.
   * @returns The text, or `[undecoded system:name]` when it could not be
   *   printed (counted in {@linkcode TraceTexts.untraced}).
   */
  text(
    event: number,
    raw: Uint8Array,
    info: InputInfo,
    kernelSymbol?: KernelSymbolizer,
  ): string | undefined {
    const ev = info.events[event];
    const data = info.perf?.tracingData;
    if (ev === undefined || ev.attr.type !== AttrType.TRACEPOINT || data === undefined) {
      return undefined;
    }
    this.#printer ??= new TracepointPrinter(data, kernelSymbol);
    const text = this.#printer.format(Number(ev.attr.config), raw);
    if (text !== undefined) return text;
    this.#untraced++;
    return `[undecoded ${ev.name}]`;
  }
}
