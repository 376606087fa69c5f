/**
 * perf script's time column options: `--ns` (nanoseconds, `%5lu.%09llu`),
 * `--reltime` (time since the first line printed) and `--deltatime` (time
 * since the previous line printed), as `perf_sample__fprintf_start` prints
 * them. One clock is shared by every line of a run, as perf's statics are.
 *
 * @module
 */

import { padStart } from "../abi/mod.ts";

/** The time options. */
export interface ScriptTimeOptions {
  /** `--ns`: nanoseconds instead of microseconds. */
  ns?: boolean;
  /** `--reltime`: time relative to the first line printed. */
  reltime?: boolean;
  /** `--deltatime`: time since the previous line printed. */
  deltatime?: boolean;
}

/** Why time options cannot be used together (perf's message, exit 255). */
export class ScriptTimeOptionError extends Error {
  /**
   * Create the error.
   *
   * @param message perf's message.
   */
  constructor(message: string) {
    super(message);
    this.name = "ScriptTimeOptionError";
  }
}

/**
 * Whether any time option is set (printers without one keep their fast path).
 *
 * @param o The options.
 * @returns True when `--ns`, `--reltime` or `--deltatime` is given.
 */
export function hasTimeOptions(o: ScriptTimeOptions | undefined): boolean {
  return o !== undefined && (o.ns === true || o.reltime === true || o.deltatime === true);
}

/** The time column of one run with time options. */
export class ScriptClock {
  readonly #ns: boolean;
  readonly #rel: boolean;
  readonly #delta: boolean;
  #initial = 0;
  #previous = 0;

  /**
   * Create the clock.
   *
   * @param o The options.
   * @throws {ScriptTimeOptionError} For `--reltime` with `--deltatime`, as perf refuses them.
   */
  constructor(o: ScriptTimeOptions) {
    if (o.reltime && o.deltatime) {
      throw new ScriptTimeOptionError(
        "reltime and deltatime - the two don't get along well. Please limit to --reltime or --deltatime.",
      );
    }
    this.#ns = o.ns === true;
    this.#rel = o.reltime === true;
    this.#delta = o.deltatime === true;
  }

  /**
   * The time column of a line printed now, with its `: ` (advances the
   * reltime / deltatime state, as perf does for each line with a time).
   *
   * @param time The line's time (ns).
   * @returns `%5lu.%09llu: ` with `--ns`, `%12s: ` of microseconds otherwise.
   */
  text(time: number): string {
    let t = time;
    if (this.#rel) {
      if (this.#initial === 0) this.#initial = time;
      t = time - this.#initial;
    } else if (this.#delta) {
      t = this.#previous !== 0 ? time - this.#previous : 0;
      this.#previous = time;
    }
    const secs = Math.floor(t / 1e9);
    const rest = t - secs * 1e9;
    if (this.#ns) return `${padStart(String(secs), 5)}.${String(rest).padStart(9, "0")}: `;
    return `${padStart(`${secs}.${String(Math.floor(rest / 1e3)).padStart(6, "0")}`, 12)}: `;
  }
}
