/**
 * `callring script`: one line per sample, as `perf script` prints it.
 *
 *     deno run -A cli/script.ts -i perf.data -F comm,pid,tid,cpu,time,period,event,ip
 *
 * Start-up is part of the run time, so the common command lines are parsed
 * here directly; commander (`--help`, usage errors, anything unusual) and
 * the shared CLI helpers (they load npm packages, hence Deno's Node layer)
 * are loaded only when needed.
 *
 * @module
 */

import { runPerfScript } from "../lib/output/script_run.ts";
import { FilterSyntaxError } from "../lib/analyze/filter.ts";
import { ScriptTimeOptionError } from "../lib/output/script_time.ts";
import { ReverseInputError } from "../lib/input/open.ts";
import { PerfHeaderInputError } from "../lib/output/perf_header_print.ts";
import {
  parseScriptFields,
  ScriptFieldError,
  SUPPORTED_SCRIPT_FIELDS,
} from "../lib/output/perf_script.ts";

/** The parsed options. */
interface ScriptOptions {
  input: string;
  fields?: string;
  maxStack: string;
  hideCallGraph?: boolean;
  kallsyms?: string;
  symfs?: string;
  demangle?: boolean;
  inline?: boolean;
  quiet?: boolean;
  time?: string;
  cpu?: string;
  pid?: string;
  tid?: string;
  comms?: string;
  showTaskEvents?: boolean;
  showMmapEvents?: boolean;
  showSwitchEvents?: boolean;
  symbols?: string;
  ns?: boolean;
  reltime?: boolean;
  deltatime?: boolean;
  reverse?: boolean;
  header?: boolean;
  headerOnly?: boolean;
  showInfo?: boolean;
}

/** The shared CLI helpers, loaded on first use. */
let common: Promise<typeof import("./_common.ts")> | undefined;
function loadCommon(): Promise<typeof import("./_common.ts")> {
  return common ??= import("./_common.ts");
}

/** The commander program: `--help`, usage errors and the usage text. */
async function program() {
  const [{ Command }, { cliProgram }] = await Promise.all([import("commander"), loadCommon()]);
  const program = new Command("script")
    .description("Print the samples of a perf.data file, byte for byte as `perf script` does.")
    .option(
      "-i, --input <file>",
      "input file (perf.data, pipe-mode data, or - for stdin)",
      "perf.data",
    )
    .option(
      "-F, --fields <list>",
      `comma-separated fields, perf script style (+field / -field edit the defaults). Fields: ${
        SUPPORTED_SCRIPT_FIELDS.join(",")
      }`,
    )
    .option("--max-stack <n>", "largest number of callchain entries printed", "127")
    .option("-G, --hide-call-graph", "do not print callchains")
    .option("--kallsyms <file>", "kallsyms file for kernel symbols (default: by build-id, as perf)")
    .option("--symfs <dir>", "look for symbol files relative to this directory (as perf)")
    .option("--no-demangle", "print C++ and Rust symbol names as they are in the ELF file")
    .option("--inline", "show inlined functions of DWARF-unwound frames (the default, as perf)")
    .option("--no-inline", "do not show inlined functions")
    .option("-q, --quiet", "do not print warnings")
    .option(
      "--reverse",
      "callring extension (perf has none): print a capture's samples newest first, each with " +
        "the threads and maps of its time (reads drain rounds backwards from the end)",
    )
    .option(
      "--time <str>",
      "only samples in these time windows: start,end in seconds (either end open; " +
        "several separated by spaces) or percent slices (10%/2, 0%-10%,30%-40%), as perf; " +
        "a capture is read through its time index and the bytes read are printed to stderr",
    )
    .option("-C, --cpu <list>", "only samples on these CPUs (0-3,5)")
    .option("--pid <list>", "only samples of these process ids")
    .option("--tid <list>", "only samples of these thread ids")
    .option("-c, --comms <list>", "only samples of these command names")
    .option(
      "-S, --symbols <list>",
      "only samples whose IP is in these symbols (names)",
    )
    .option("--show-task-events", "print PERF_RECORD_COMM, FORK and EXIT records (as perf)")
    .option("--show-mmap-events", "print PERF_RECORD_MMAP and MMAP2 records (as perf)")
    .option(
      "--show-switch-events",
      "print PERF_RECORD_SWITCH and SWITCH_CPU_WIDE records (as perf)",
    )
    .option("--ns", "print times in nanoseconds")
    .option(
      "--reltime",
      "print times relative to the first line (and --time relative to the first sample)",
    )
    .option("--deltatime", "print times since the previous line")
    .option("--header", "print perf's header of the file (its features) before the samples")
    .option("--header-only", "print perf's header of the file only")
    .option(
      "-I, --show-info",
      "with --header: the topologies in full; in pipe mode the features print without it too",
    );
  return cliProgram(program, "script");
}

const VALUED: Readonly<
  Record<
    string,
    | "input"
    | "fields"
    | "maxStack"
    | "kallsyms"
    | "symfs"
    | "time"
    | "cpu"
    | "pid"
    | "tid"
    | "comms"
    | "symbols"
  >
> = {
  "--time": "time",
  "-S": "symbols",
  "--symbols": "symbols",
  "-C": "cpu",
  "--cpu": "cpu",
  "--pid": "pid",
  "--tid": "tid",
  "-c": "comms",
  "--comms": "comms",
  "-i": "input",
  "--input": "input",
  "-F": "fields",
  "--fields": "fields",
  "--max-stack": "maxStack",
  "--kallsyms": "kallsyms",
  "--symfs": "symfs",
};
const FLAGS: Readonly<
  Record<
    string,
    | "hideCallGraph"
    | "quiet"
    | "showTaskEvents"
    | "showMmapEvents"
    | "showSwitchEvents"
    | "ns"
    | "reltime"
    | "deltatime"
    | "reverse"
    | "header"
    | "headerOnly"
    | "showInfo"
  >
> = {
  "--header": "header",
  "--header-only": "headerOnly",
  "-I": "showInfo",
  "--show-info": "showInfo",
  "--reverse": "reverse",
  "--ns": "ns",
  "--reltime": "reltime",
  "--deltatime": "deltatime",
  "--show-task-events": "showTaskEvents",
  "--show-mmap-events": "showMmapEvents",
  "--show-switch-events": "showSwitchEvents",
  "-G": "hideCallGraph",
  "--hide-call-graph": "hideCallGraph",
  "-q": "quiet",
  "--quiet": "quiet",
};

/**
 * The plain forms commander parses the same way (`-i FILE`, `--input FILE`,
 * `--input=FILE`, flags one per argument, values that do not start with a
 * dash); undefined for anything else, which commander then handles.
 */
function quickParse(args: readonly string[]): ScriptOptions | undefined {
  const o: ScriptOptions = { input: "perf.data", maxStack: "127" };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (Object.hasOwn(VALUED, name)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined || v === "" || (v.startsWith("-") && v !== "-")) return undefined;
      o[VALUED[name]!] = v;
    } else if (Object.hasOwn(FLAGS, name) && eq < 0) {
      o[FLAGS[name]!] = true;
    } else return undefined;
  }
  return o;
}

/**
 * Run `callring script` with the given arguments.
 *
 * @param args The command-line arguments (without the command name).
 */
export async function main(args: string[]): Promise<void> {
  const opts = quickParse(args) ??
    (await program()).parse(args, { from: "user" }).opts<ScriptOptions>();

  /** Warnings, printed once the helpers are loaded (in order). */
  const warnings: string[] = [];
  async function flushWarnings(): Promise<void> {
    if (warnings.length === 0) return;
    const { warn } = await loadCommon();
    for (const m of warnings.splice(0)) warn("script", m);
  }

  /**
   * Write output bytes to stdout synchronously; a closed pipe (e.g. `| head`)
   * ends the process quietly with status 0.
   */
  function writeStdoutBytes(chunk: Uint8Array): void {
    let bytes = chunk;
    try {
      while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
    } catch (e) {
      if (e instanceof Deno.errors.BrokenPipe) Deno.exit(0);
      throw e;
    }
  }

  const maxStack = Number(opts.maxStack);
  if (!Number.isInteger(maxStack) || maxStack < 0) {
    const { ExitCode, fail } = await loadCommon();
    fail(
      "script",
      `--max-stack must be a non-negative integer: current "${opts.maxStack}"`,
      ExitCode.USAGE,
    );
  }

  try {
    // perf checks -F before it opens the input, and warns about fields some types cannot print
    const ignored = parseScriptFields(opts.fields).ignored ?? [];
    if (!opts.quiet && ignored.length > 0) console.error(ignored.join("\n"));
  } catch (e) {
    if (!(e instanceof ScriptFieldError)) throw e;
    const { ExitCode, fail } = await loadCommon();
    if (e.exitCode === 129) fail("script", `${e.message} (-F ${opts.fields})`, ExitCode.USAGE);
    fail("script", e.message, ExitCode.USAGE);
  }
  if (opts.input !== "-") {
    let problem: string | undefined;
    try {
      if (Deno.statSync(opts.input).isDirectory) problem = `${opts.input}: Is a directory`;
    } catch {
      problem = (await loadCommon()).inputProblem(opts.input);
    }
    if (problem !== undefined) (await loadCommon()).fail("script", problem);
  }

  try {
    const summary = await runPerfScript(opts.input, {
      fields: opts.fields,
      maxStack,
      hideCallGraph: opts.hideCallGraph,
      kallsyms: opts.kallsyms,
      symbols: { symfs: opts.symfs, demangle: opts.demangle },
      inline: opts.inline !== false,
      events: {
        task: opts.showTaskEvents,
        mmap: opts.showMmapEvents,
        switches: opts.showSwitchEvents,
      },
      time: { ns: opts.ns, reltime: opts.reltime, deltatime: opts.deltatime },
      filter: {
        reltime: opts.reltime,
        time: opts.time,
        cpu: opts.cpu,
        pid: opts.pid,
        tid: opts.tid,
        comms: opts.comms,
        symbols: opts.symbols,
      },
      // --reltime moves the windows by the first sample's time: filtered after reading then
      captureTime: opts.reltime ? undefined : opts.time,
      reverse: opts.reverse,
      header: opts.headerOnly ? "only" : opts.header ? "header" : undefined,
      showInfo: opts.showInfo,
      writeBytes: writeStdoutBytes,
      read: {
        onWarning: opts.quiet ? undefined : (m) => {
          warnings.push(m.message);
          void flushWarnings();
        },
      },
    });
    await flushWarnings();
    if (
      opts.time !== undefined && summary.format === "capture" && !opts.quiet &&
      summary.inputSize !== undefined && summary.bytesRead < summary.inputSize
    ) {
      console.error(
        `callring script: --time ${opts.time}: read ${summary.bytesRead} of ` +
          `${summary.inputSize} bytes of ${opts.input}`,
      );
    }
    if (summary.lost > 0 && !opts.quiet) {
      (await loadCommon()).warn(
        "script",
        `${summary.lost} events were lost (PERF_RECORD_LOST / LOST_SAMPLES)`,
      );
    }
  } catch (e) {
    await flushWarnings();
    if (
      e instanceof FilterSyntaxError || e instanceof ScriptTimeOptionError ||
      e instanceof ReverseInputError
    ) {
      const { ExitCode, fail } = await loadCommon();
      fail("script", e.message, ExitCode.USAGE);
    }
    if (e instanceof PerfHeaderInputError) (await loadCommon()).fail("script", e.message);
    if (e instanceof ScriptFieldError) {
      // perf prints its usage after "Invalid field requested." (exit 129); one line is enough.
      const { ExitCode, fail } = await loadCommon();
      if (e.exitCode === 129) fail("script", `${e.message} (-F ${opts.fields})`, ExitCode.USAGE);
      fail("script", e.message, ExitCode.DATA);
    }
    (await loadCommon()).failOn("script", e);
  }
}

if (import.meta.main) await main(Deno.args);
