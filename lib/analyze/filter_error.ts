/**
 * The error of a malformed filter argument (`--cpu`, `--pid`, `--time`...),
 * shared by the sample filters (`filter.ts`) and perf's `--time` parser
 * (`perf_time.ts`).
 *
 * @module
 */

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
