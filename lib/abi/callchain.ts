/**
 * The one walk over a callchain's `PERF_CONTEXT_*` markers. perf's
 * `thread__resolve_callchain_sample` / `add_callchain_ip` switch the cpumode
 * at each marker and skip it; a marker perf 6.1 does not know discards the
 * whole chain. {@linkcode ChainWalk} does that over the raw u64 words, as
 * (hi, lo) u32 halves, without allocating: script, report and the unwinder
 * all step through it.
 *
 * @example
 * ```ts
 * import { ChainWalk, CpuMode } from "./mod.ts";
 * const words = BigUint64Array.of(0xffffffffffffff80n, 0xffffffff81000000n,
 *   0xfffffffffffffe00n, 0x401000n);
 * const walk = new ChainWalk();
 * walk.reset(new DataView(words.buffer), 0, words.length, CpuMode.USER);
 * const modes = [];
 * while (walk.next()) modes.push(walk.cpumode);
 * console.log(modes, walk.discarded); // [ 1, 2 ] false
 * ```
 *
 * @module
 */

import { ContextMarkerLo, CpuMode } from "./constants.ts";

/** High u32 of every `PERF_CONTEXT_*` marker. */
export const MARKER_HI = 0xffffffff;

/**
 * The cpumode a callchain marker switches to (perf's `add_callchain_ip`).
 *
 * @param lo Low 32 bits of the marker.
 * @returns The cpumode after it, or -1 for a marker perf 6.1 does not know
 *   (perf then discards the whole callchain).
 */
export function markerCpuMode(lo: number): number {
  switch (lo) {
    case ContextMarkerLo.HV:
      return CpuMode.HYPERVISOR;
    case ContextMarkerLo.KERNEL:
      return CpuMode.KERNEL;
    case ContextMarkerLo.USER:
      return CpuMode.USER;
    case ContextMarkerLo.GUEST_KERNEL:
      return CpuMode.GUEST_KERNEL;
    case ContextMarkerLo.GUEST_USER:
      return CpuMode.GUEST_USER;
    default:
      return -1;
  }
}

/**
 * Whether a callchain entry, given as (hi, lo) u32 halves, is a PERF_CONTEXT_* marker.
 *
 * @param hi High 32 bits.
 * @param lo Low 32 bits.
 * @returns True for markers (`entry >= PERF_CONTEXT_MAX`).
 */
export function isContextMarker(hi: number, lo: number): boolean {
  return hi === MARKER_HI && lo >>> 0 >= ContextMarkerLo.MAX;
}

/**
 * A reusable cursor over the address entries of a callchain: markers are
 * consumed (they set {@linkcode ChainWalk.cpumode}), an unknown marker ends the
 * walk with {@linkcode ChainWalk.discarded} set.
 */
export class ChainWalk {
  /** Index of the current entry in the chain. */
  index: number = -1;
  /** High u32 of the current entry. */
  hi: number = 0;
  /** Low u32 of the current entry. */
  lo: number = 0;
  /** cpumode of the current entry. */
  cpumode: number = 0;
  /** Whether the walk met an unknown marker (perf discards the chain). */
  discarded: boolean = false;
  /** Number of context markers consumed so far. */
  markers: number = 0;
  #view: DataView = new DataView(new ArrayBuffer(0));
  #at = 0;
  #n = 0;

  /**
   * Start a walk.
   *
   * @param view View holding the entries.
   * @param at Offset of the first entry (just past `nr`).
   * @param n Number of entries.
   * @param cpumode The sample's cpumode (header misc & 7).
   */
  reset(view: DataView, at: number, n: number, cpumode: number): void {
    this.#view = view;
    this.#at = at;
    this.#n = n;
    this.index = -1;
    this.cpumode = cpumode;
    this.discarded = false;
    this.markers = 0;
  }

  /**
   * Step to the next address entry.
   *
   * @returns False at the end of the chain or when it is discarded.
   */
  next(): boolean {
    const view = this.#view;
    while (++this.index < this.#n) {
      const p = this.#at + 8 * this.index;
      const lo = view.getUint32(p, true);
      const hi = view.getUint32(p + 4, true);
      if (hi === MARKER_HI && lo >= ContextMarkerLo.MAX) {
        const mode = markerCpuMode(lo);
        this.markers++;
        if (mode < 0) {
          this.discarded = true;
          this.index = this.#n;
          return false;
        }
        this.cpumode = mode;
        continue;
      }
      this.hi = hi;
      this.lo = lo;
      return true;
    }
    return false;
  }
}
