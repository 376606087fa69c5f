/**
 * Whether perf events can be opened and mapped here: what live tests and
 * benchmarks check before they run (and print when they skip).
 *
 * @module
 */

import { encodeAttr } from "../abi/mod.ts";
import { liveAttr, parseEvent } from "./events.ts";
import { openErrorMessage } from "./recorder.ts";
import { KernelRing } from "./ring.ts";
import { closeFd, LiveUnavailableError, perfEventOpen, SysError } from "./sys.ts";

let cached: string | null | undefined;

/**
 * Open a `cpu-clock` sampling event on the calling thread, map a one-page
 * ring, and release both.
 *
 * @returns Undefined when that works, else the one-line reason it does not.
 */
export function liveUnavailableReason(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  try {
    const attr = liveAttr({ event: parseEvent("cpu-clock"), frequency: 100, callchain: true });
    const fd = perfEventOpen(encodeAttr(attr), 0, -1);
    try {
      new KernelRing(fd, 1, false).close();
    } finally {
      closeFd(fd);
    }
  } catch (e) {
    if (e instanceof SysError && e.call === "perf_event_open") {
      cached = openErrorMessage(e.errno, "cpu-clock", "this thread");
    } else if (e instanceof SysError || e instanceof LiveUnavailableError) {
      cached = e.message;
    } else if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      cached = `no FFI permission (${e.message})`;
    } else throw e;
  }
  return cached ?? undefined;
}
