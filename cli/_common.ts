/**
 * Helpers shared by the command-line entry points: stdout writing that
 * survives a closed pipe, one-line errors with exit codes, colour that
 * respects NO_COLOR and non-TTY output.
 *
 * @module
 */

import pc from "picocolors";
import type { Command } from "commander";
import { FormatError } from "../lib/abi/mod.ts";
import denoJson from "../deno.json" with { type: "json" };

/** callring's version (`deno.json`), printed by every command's `--version`. */
export const VERSION: string = denoJson.version;

/** The `--version` text, in perf's form (`perf version 6.1.187`). */
export const VERSION_TEXT = `callring version ${VERSION}`;

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
  console.error(errorText(command, message));
  Deno.exit(code);
}

/**
 * The one error line every command prints: `callring <command>: error: <what>`
 * (the prefix in red on a TTY). Several lines of `message` are joined into one.
 *
 * @param command The command name (`""` for `callring` itself).
 * @param message The message.
 * @returns The line, without a newline.
 */
export function errorText(command: string, message: string): string {
  const prefix = command === "" ? "callring: error:" : `callring ${command}: error:`;
  const what = message.split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ");
  return `${useColor() ? pc.red(prefix) : prefix} ${what}`;
}

/**
 * Make a commander program report usage errors as one `callring <command>:
 * error:` line with exit status 2 (commander's own `error: ...` text and its
 * suggestion are folded into that line), exit 0 after `--help`, and answer
 * `--version`.
 *
 * @param program The program.
 * @param command The command name.
 * @returns The same program.
 */
export function cliProgram(program: Command, command: string): Command {
  return program
    .version(VERSION_TEXT, "--version", "print the version and exit")
    .configureOutput({
      outputError: (text, write) =>
        write(errorText(command, text.replace(/^error:\s*/, "")) + "\n"),
    })
    .exitOverride((err) => Deno.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE));
}

/**
 * Check that an input path can be read as a file, failing with one line that
 * names it (`x: Is a directory`, `x: No such file or directory`) and exit 1.
 * `-` (stdin) always passes.
 *
 * @param command The command name.
 * @param path The input path.
 */
export function checkInputFile(command: string, path: string): void {
  const why = inputProblem(path);
  if (why !== undefined) fail(command, why, ExitCode.DATA);
}

/**
 * Why an input path cannot be read as a file, as one line naming it, or
 * undefined when it can (or is `-`).
 *
 * @param path The input path.
 * @returns The problem, or undefined.
 */
export function inputProblem(path: string): string | undefined {
  if (path === "-") return undefined;
  try {
    if (Deno.statSync(path).isDirectory) return `${path}: Is a directory`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return `${path}: No such file or directory`;
    if (e instanceof Deno.errors.PermissionDenied) return `${path}: Permission denied`;
    return `${path}: ${errorLine(e)}`;
  }
  return undefined;
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

/**
 * perf record's `check_backup` (tools/perf/util/data.c): an existing
 * non-empty output file is renamed to `NAME.old`, replacing an older
 * `NAME.old`, so a new recording never destroys the last one. A directory
 * is refused (perf would move it; `-o /tmp` should not).
 *
 * @param path The output path.
 * @returns The `.old` path when something was moved, else undefined.
 */
export function backupOutput(path: string): string | undefined {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (st.isDirectory) throw new Deno.errors.IsADirectory(`${path}: Is a directory`);
  if (st.size === 0) return undefined;
  const old = `${path}.old`;
  try {
    Deno.removeSync(old, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  Deno.renameSync(path, old);
  return old;
}

/** The kinds of text file the commands write. */
export type OutputKind = "svg" | "html" | "json";

/**
 * What kind of file `head` (the first bytes of an existing file) is: one of
 * the {@linkcode OutputKind}s, `empty`, or `other` (a perf.data, a capture,
 * anything else).
 *
 * @param head The first bytes (64 are enough).
 * @returns The kind.
 */
export function sniffOutputKind(head: Uint8Array): OutputKind | "empty" | "other" {
  const text = new TextDecoder().decode(head).trimStart().toLowerCase();
  if (text === "") return "empty";
  if (text.startsWith("<?xml") || text.startsWith("<svg")) return "svg";
  if (text.startsWith("<!doctype html") || text.startsWith("<html")) return "html";
  if (text.startsWith("{") || text.startsWith("[")) return "json";
  return "other";
}

/**
 * Refuse (one line, exit 1) to overwrite an existing file that is not of the
 * kind about to be written (say `--speedscope perf.data`) unless `force`
 * (`-f`); a directory is always refused.
 *
 * @param command The command name.
 * @param path The output path.
 * @param kind What will be written.
 * @param force Overwrite whatever is there.
 */
export function checkOutputFile(
  command: string,
  path: string,
  kind: OutputKind,
  force: boolean,
): void {
  let file: Deno.FsFile;
  try {
    if (Deno.statSync(path).isDirectory) fail(command, `${path}: Is a directory`);
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    fail(command, `${path}: ${errorLine(e)}`);
  }
  const head = new Uint8Array(64);
  let n: number | null;
  try {
    n = file.readSync(head);
  } finally {
    file.close();
  }
  const found = sniffOutputKind(head.subarray(0, n ?? 0));
  if (found === kind || found === "empty" || force) return;
  fail(
    command,
    `${path} exists and is not ${kind === "json" ? "a JSON" : `an ${kind.toUpperCase()}`} ` +
      "file: not overwritten (use -f to overwrite it)",
  );
}

/** A progress bar on stderr (see {@linkcode progressBar}). */
export interface ProgressBar {
  /** Show `value` of `total`; the bar appears on the first call. */
  update(value: number, total: number): void;
  /** Remove the bar and show the cursor again. */
  stop(): void;
}

/** Show the terminal cursor (cli-progress hides it while a bar is shown). */
const SHOW_CURSOR = new TextEncoder().encode("\x1b[?25h");

/**
 * A progress bar on stderr (`cli-progress`, loaded only here). While it is
 * shown, Ctrl-C (SIGINT) removes it and shows the cursor again before the
 * process exits with status 130, as a shell reports a SIGINT.
 *
 * @param format cli-progress format (`reading {bar} {percentage}%`).
 * @returns The bar.
 */
export async function progressBar(format: string): Promise<ProgressBar> {
  const { default: progress } = await import("cli-progress");
  const bar = new progress.SingleBar({
    format,
    clearOnComplete: true,
    hideCursor: true,
  }, progress.Presets.shades_classic);
  let shown = false;
  const stop = () => {
    if (!shown) return;
    shown = false;
    bar.stop();
    Deno.removeSignalListener("SIGINT", interrupted);
    Deno.stderr.writeSync(SHOW_CURSOR);
  };
  const interrupted = () => {
    stop();
    Deno.exit(130);
  };
  return {
    update(value, total) {
      if (!shown) {
        bar.start(total, value);
        Deno.addSignalListener("SIGINT", interrupted);
        shown = true;
      } else {
        bar.setTotal(total);
        bar.update(value);
      }
    },
    stop,
  };
}
