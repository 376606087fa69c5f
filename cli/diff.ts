/**
 * `callring diff [OLD] [NEW]`: `perf diff` of two recordings (perf.data or
 * callring captures), with perf diff's defaults (`perf.data.old` and
 * `perf.data`) and columns (`Baseline`, `Delta Abs`; `-c delta|ratio|wdiff`).
 *
 *     callring diff before.data after.data
 *     callring diff -c ratio --sort dso
 *
 * Exit status: 0 ok, 1 bad or missing input, 2 usage error.
 *
 * @module
 */

import { Command } from "commander";
import { loadProfile, type LoadResult } from "../lib/analyze/load.ts";
import { type DiffCompute, perfDiff } from "../lib/output/perf_diff.ts";
import { parseSortKeys, ReportOptionError, type SortKey } from "../lib/output/text_report.ts";
import {
  checkInputFile,
  cliProgram,
  ExitCode,
  fail,
  failOn,
  warn,
  writeStdout,
} from "./_common.ts";

const COMMAND = "diff";

/**
 * Parse perf diff's `-c` argument: `delta`, `delta-abs`, `ratio`, `wdiff:W1,W2`.
 * @param text The argument.
 * @returns The computation and wdiff weights, or an error message.
 */
export function parseCompute(
  text: string,
): { compute: DiffCompute; weights?: [number, number] } | string {
  if (text === "delta" || text === "delta-abs" || text === "ratio") return { compute: text };
  const m = /^wdiff:(-?\d+),(-?\d+)$/.exec(text);
  if (m) return { compute: "wdiff", weights: [Number(m[1]), Number(m[2])] };
  if (text.startsWith("wdiff")) return `-c ${text}: want wdiff:W1,W2 (two integer weights)`;
  return `-c ${text}: want delta, delta-abs, ratio or wdiff:W1,W2`;
}

/**
 * Run `callring diff` with the given arguments.
 *
 * @param args The command-line arguments (without the command name).
 */
export async function main(args: string[]): Promise<void> {
  const program = new Command(COMMAND)
    .description("Compare two recordings as `perf diff` does: OLD is the baseline.")
    .argument("[old]", "baseline (default perf.data.old)")
    .argument("[new]", "comparison (default perf.data)")
    .option(
      "-c, --compute <how>",
      "delta-abs (default), delta, ratio or wdiff:W1,W2",
      "delta-abs",
    )
    .option("-s, --sort <keys>", "sort keys: dso,sym,comm,pid,cpu", "dso,sym")
    .option("--kallsyms <file>", "kallsyms file for kernel symbols (default: by build-id, as perf)")
    .option("--symfs <dir>", "look for symbol files relative to this directory (as perf)")
    .option("-q, --quiet", "no warnings");
  cliProgram(program, COMMAND).parse(args, { from: "user" });
  const opts = program.opts<
    { compute: string; sort: string; kallsyms?: string; symfs?: string; quiet?: boolean }
  >();
  const [oldPath = "perf.data.old", newPath = "perf.data"] = program.args;

  const computed = parseCompute(opts.compute);
  if (typeof computed === "string") fail(COMMAND, computed, ExitCode.USAGE);
  let sort: SortKey[] = [];
  try {
    sort = parseSortKeys(opts.sort);
  } catch (e) {
    if (e instanceof ReportOptionError) fail(COMMAND, e.message, ExitCode.USAGE);
    throw e;
  }

  const load = (path: string): Promise<LoadResult> => {
    checkInputFile(COMMAND, path);
    return loadProfile(path, {
      kallsyms: opts.kallsyms,
      symbols: opts.symfs !== undefined ? { symfs: opts.symfs } : undefined,
      onWarning: opts.quiet ? undefined : (w) => warn(COMMAND, w.message),
    });
  };
  try {
    const [a, b] = [await load(oldPath), await load(newPath)];
    const others = a.events.filter((e) => e.index !== a.event);
    if (others.some((e) => e.samples > 0) && !opts.quiet) {
      warn(COMMAND, `${oldPath}: only event '${a.events[a.event]?.name}' is compared`);
    }
    writeStdout(perfDiff(a.profile, b.profile, {
      ...computed,
      sort,
      eventName: a.events[a.event]?.name,
      emptyEvents: others.filter((e) => e.samples === 0).map((e) => e.name),
    }));
  } catch (e) {
    failOn(COMMAND, e);
  }
}

if (import.meta.main) await main(Deno.args);
