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

/**
 * Turn an exception into a one-line error and exit: data errors and missing
 * files exit 1 with their message; anything else is re-thrown (a bug).
 *
 * @param command The command name.
 * @param e The caught value.
 * @returns Never.
 */
export function failOn(command: string, e: unknown): never {
  if (e instanceof FormatError || e instanceof SyntaxError || e instanceof RangeError) {
    fail(command, e.message.split("\n")[0]!, ExitCode.DATA);
  }
  if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
    fail(command, e.message, ExitCode.DATA);
  }
  if (e instanceof Error && e.name.endsWith("Error") && "offset" in e) {
    fail(command, e.message.split("\n")[0]!, ExitCode.DATA);
  }
  throw e;
}
