/**
 * The symbol table a simulated capture carries in `CALLRING_SYMBOL` records: address ranges
 * with names, shared by every process of the simulated machine. Consulted for addresses no
 * MMAP covers.
 *
 * @module
 */
import type { SymbolRecord } from "../abi/extensions.ts";

/** Address-range symbol table filled from `CALLRING_SYMBOL` records. */
export class CaptureSymbols {
  readonly #ranges: SymbolRecord[] = [];
  #sorted = true;

  /** Number of symbols. */
  get size(): number {
    return this.#ranges.length;
  }

  /**
   * Add one symbol.
   * @param symbol The decoded record.
   */
  add(symbol: SymbolRecord): void {
    const last = this.#ranges[this.#ranges.length - 1];
    if (last !== undefined && symbol.start < last.start) this.#sorted = false;
    this.#ranges.push(symbol);
  }

  /**
   * Name an address.
   *
   * @param ip The address.
   * @returns Symbol and object name, or undefined outside every range.
   * @example
   * ```ts
   * import { CaptureSymbols } from "./capture_symbols.ts";
   * const t = new CaptureSymbols();
   * t.add({ start: 0x400000n, end: 0x400100n, kernel: false, name: "main", dso: "app" });
   * console.log(t.resolve(0x400010n)?.sym); // "main"
   * ```
   */
  resolve(ip: bigint): { sym: string; dso: string } | undefined {
    const s = this.lookup(ip);
    return s === undefined ? undefined : { sym: s.name, dso: s.dso };
  }

  /**
   * The symbol record containing an address.
   *
   * @param ip The address.
   * @returns The record (start, end, name, dso), or undefined outside every range.
   */
  lookup(ip: bigint): SymbolRecord | undefined {
    const r = this.#ranges;
    if (r.length === 0) return undefined;
    if (!this.#sorted) {
      r.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      this.#sorted = true;
    }
    let lo = 0;
    let hi = r.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = r[mid];
      if (ip < s.start) hi = mid - 1;
      else if (ip >= s.end) lo = mid + 1;
      else return s;
    }
    return undefined;
  }
}
