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
import { closeFd, Errno, LiveUnavailableError, perfEventOpen, SysError } from "./sys.ts";

let cached: string | null | undefined;

/**
 * Open a `cpu-clock` sampling event on the calling thread (user space only
 * when perf_event_paranoid refuses kernel samples, as the recorder falls
 * back), map a one-page ring, and release both.
 *
 * @returns Undefined when that works, else the one-line reason it does not.
 */
export function liveUnavailableReason(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  try {
    const event = parseEvent("cpu-clock");
    let fd: number;
    try {
      fd = perfEventOpen(encodeAttr(liveAttr({ event, frequency: 100, callchain: true })), 0, -1);
    } catch (e) {
      // The recorder's fallback under perf_event_paranoid 2: user space only.
      if (!(e instanceof SysError) || (e.errno !== Errno.EACCES && e.errno !== Errno.EPERM)) {
        throw e;
      }
      const attr = liveAttr({ event, frequency: 100, callchain: true, excludeKernel: true });
      fd = perfEventOpen(encodeAttr(attr), 0, -1);
    }
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
