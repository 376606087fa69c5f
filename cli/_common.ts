/**
 * Helpers shared by the command-line entry points: stdout writing that
 * survives a closed pipe, one-line errors with exit codes, colour that
 * respects NO_COLOR and non-TTY output.
 *
 * @module
 */

import pc from "picocolors";
import { FormatError } from "../lib/abi/mod.ts";

const encoder = new TextEncoder();

/** Exit codes used by every command. */
export const ExitCode = {
  OK: 0,
  /** Bad input data (malformed file). */
  DATA: 1,
  /** Bad command-line usage. */
  USAGE: 2,
} as const;

/**
 * Write text to stdout synchronously; a closed pipe (e.g. `| head`) ends the
 * process quietly with status 0.
 *
 * @param text The text.
 */
export function writeStdout(text: string): void {
  let bytes = encoder.encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    throw e;
  }
}

/**
 * Whether colour may be used on stderr.
 *
 * @returns True on a TTY without NO_COLOR.
 */
export function useColor(): boolean {
  return Deno.stderr.isTerminal() && !Deno.env.get("NO_COLOR");
}

/**
 * Print a one-line error to stderr and exit.
 *
 * @param command The command name (`script`, `report`, ...).
 * @param message The message.
 * @param code Exit status.
 * @returns Never.
 */
export function fail(command: string, message: string, code: number = ExitCode.DATA): never {
  const prefix = `callring ${command}: error:`;
  console.error(`${useColor() ? pc.red(prefix) : prefix} ${message}`);
  Deno.exit(code);
}

/**
 * Print a warning line to stderr.
 *
 * @param command The command name.
 * @param message The warning.
 */
export function warn(command: string, message: string): void {
  const prefix = `callring ${command}: warning:`;
  console.error(`${useColor() ? pc.yellow(prefix) : prefix} ${message}`);
}

/** Set to `1` to re-throw unexpected errors with their stack instead of a one-line message. */
export const DEBUG_ENV = "CALLRING_DEBUG";

/** The `Deno.errors` classes (NotFound, IsADirectory, PermissionDenied, ...). */
const DENO_ERRORS: ReadonlyArray<new (...args: never[]) => Error> = Object.values(Deno.errors);

/**
 * The one-line message `failOn` prints for a caught value.
 *
 * Data errors (malformed input: `FormatError` and other `SyntaxError`s,
 * `RangeError`s, errors carrying a byte `offset`) and operating-system errors
 * (`Deno.errors.*`: missing file, a directory given as input, permissions)
 * print their message; anything else is a bug in callring and prints as
 * `internal error: <name>: <message>`. Only the first line of a message is
 * kept.
 *
 * @param e The caught value.
 * @returns The message.
 */
export function errorLine(e: unknown): string {
  const first = (s: string) => s.split("\n")[0]!.trim();
  if (e instanceof FormatError || e instanceof SyntaxError || e instanceof RangeError) {
    return first(e.message);
  }
  if (e instanceof Error && DENO_ERRORS.some((c) => e instanceof c)) return first(e.message);
  if (e instanceof Error && e.name.endsWith("Error") && "offset" in e) return first(e.message);
  if (e instanceof Error) return `internal error: ${e.name}: ${first(e.message)}`;
  let text: string;
  try {
    text = String(e);
  } catch {
    text = typeof e;
  }
  return `internal error: ${first(text)}`;
}

/**
 * Turn an exception into a one-line error and exit with status 1: data and
 * operating-system errors print their message, anything else prints as an
 * `internal error:` (see {@linkcode errorLine}). With `CALLRING_DEBUG=1` in
 * the environment the error is re-thrown instead (stack trace included).
 *
 * @param command The command name.
 * @param e The caught value.
 * @returns Never.
 */
export function failOn(command: string, e: unknown): never {
  const line = errorLine(e);
  let debug = false;
  try {
    debug = Deno.env.get(DEBUG_ENV) === "1";
  } catch {
    // no env permission: not debugging
  }
  if (debug) throw e;
  fail(command, line, ExitCode.DATA);
}
