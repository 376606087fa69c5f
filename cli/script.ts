/**
 * `callring script`: one line per sample, as `perf script` prints it.
 *
 *     deno run -A cli/script.ts -i perf.data -F comm,pid,tid,cpu,time,period,event,ip
 *
 * @module
 */

import { Command } from "commander";
import { runPerfScript } from "../lib/output/script_run.ts";
import { PERF_SCRIPT_FIELDS, ScriptFieldError } from "../lib/output/perf_script.ts";
import { ExitCode, fail, failOn, warn, writeStdout } from "./_common.ts";

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
      PERF_SCRIPT_FIELDS.join(",")
    }`,
  )
  .option("--max-stack <n>", "largest number of callchain entries printed", "127")
  .option("-G, --hide-call-graph", "do not print callchains")
  .option("--kallsyms <file>", "kallsyms file for kernel symbols (default /proc/kallsyms)")
  .option("-q, --quiet", "do not print warnings")
  .exitOverride((err) => Deno.exit(err.exitCode === 0 ? 0 : ExitCode.USAGE))
  .parse(Deno.args, { from: "user" });

const opts = program.opts<{
  input: string;
  fields?: string;
  maxStack: string;
  hideCallGraph?: boolean;
  kallsyms?: string;
  quiet?: boolean;
}>();

const maxStack = Number(opts.maxStack);
if (!Number.isInteger(maxStack) || maxStack < 0) {
  fail(
    "script",
    `--max-stack must be a non-negative integer: current "${opts.maxStack}"`,
    ExitCode.USAGE,
  );
}

try {
  const summary = await runPerfScript(opts.input, {
    fields: opts.fields,
    maxStack,
    hideCallGraph: opts.hideCallGraph,
    kallsyms: opts.kallsyms,
    write: writeStdout,
    read: { onWarning: opts.quiet ? undefined : (m) => warn("script", m) },
  });
  if (summary.lost > 0 && !opts.quiet) {
    warn("script", `${summary.lost} events were lost (PERF_RECORD_LOST / LOST_SAMPLES)`);
  }
} catch (e) {
  if (e instanceof ScriptFieldError) {
    console.error(e.message);
    if (e.exitCode === 129) console.error("\n" + program.helpInformation());
    Deno.exit(e.exitCode);
  }
  failOn("script", e);
}
