/**
 * `deno task demo`: the main job on built-in defaults.
 *
 * 1. Runs every NMI strategy of the seed thread on the same seeded workload and prints the
 *    comparison table (which ones corrupt the IST frame, lose NMIs, fault inside the NMI).
 * 2. Records the mainline strategy through the perf mmap rings into `DIR/callring.data`, with
 *    continuation fragments for deep recursions, and checks the capture against the ground
 *    truth.
 * 3. Reports on it like `perf report --no-children --sort sym`, and writes an interactive
 *    flamegraph (`DIR/flamegraph.html`) and a speedscope profile (`DIR/speedscope.json`).
 *
 * DIR is `--out`, by default a new temporary directory: the demo writes nothing where it runs.
 *
 *     deno task demo [--seed N] [--out DIR]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { captureFileSource } from "../lib/capture/reader.ts";
import { captureFileSink } from "../lib/capture/writer.ts";
import { loadProfile } from "../lib/analyze/load.ts";
import { flamegraphHtml } from "../lib/output/flamegraph_html.ts";
import { speedscopeFile } from "../lib/output/speedscope.ts";
import { textReport } from "../lib/output/text_report.ts";
import { comparisonReport } from "../lib/sim/compare.ts";
import { formatRecordSummary, recordSimulation } from "../lib/sim/recorder.ts";
import { mainline } from "../lib/sim/strategies/mod.ts";
import { ExitCode, fail, failOn, VERSION_TEXT, writeStdout } from "./_common.ts";

const COMMAND = "demo";
const HELP = `usage: callring demo [--seed N] [--out DIR] [--lines N]

Simulate every NMI strategy of "x86: NMI-safe trap handlers" (LKML 2010) on one seeded
workload, record the mainline one through perf mmap rings into callring.data, check it
against the ground truth, and report on it (text, flamegraph HTML, speedscope JSON).

  --seed N    PRNG seed (default 1)
  --out DIR   where callring.data, the flamegraph and the speedscope file go
              (default: a new temporary directory, printed at the end)
  --lines N   lines of the text report to print (default 40)
  -h, --help  this text
  --version   print the version`;

/**
 * Run `callring demo` with the given arguments.
 *
 * @param argv The command-line arguments (without the command name).
 */
export async function main(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        seed: { type: "string", default: "1" },
        out: { type: "string" },
        lines: { type: "string", default: "40" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    }).values;
  } catch (e) {
    fail(COMMAND, (e as Error).message, ExitCode.USAGE);
  }
  if (args.help) {
    console.log(HELP);
    Deno.exit(ExitCode.OK);
  }
  if (args.version) {
    console.log(VERSION_TEXT);
    Deno.exit(ExitCode.OK);
  }
  const seed = Number(args.seed);
  const lines = Number(args.lines);
  if (!Number.isInteger(seed) || seed < 0) fail(COMMAND, `--seed must be an integer >= 0`, 2);
  if (!Number.isInteger(lines) || lines < 0) fail(COMMAND, `--lines must be an integer >= 0`, 2);

  // Everything goes into one directory (a new temporary one unless --out), never the current one.
  const out = args.out ?? await Deno.makeTempDir({ prefix: "callring-demo-" });
  await Deno.mkdir(out, { recursive: true });
  const capture = `${out}/callring.data`;
  try {
    // the same table as `record --compare --seed N` on its defaults
    writeStdout(
      `== 1. Every NMI strategy on the same workload (= deno task record --compare --seed ${seed})` +
        `\n\n${comparisonReport(seed)}\n\n`,
    );

    writeStdout(`== 2. Recording mainline through the perf mmap rings into ${capture}\n\n`);
    const result = await recordSimulation(mainline, await captureFileSink(capture), {
      seed,
      fragments: true,
      pDeepStack: 0.002,
      readBack: () => captureFileSource(capture),
    });
    writeStdout(formatRecordSummary(result, capture) + "\n\n");
    const v = result.verification;
    if (!v || !v.balanced || v.unexpected > 0 || v.exact !== result.metrics.exact) {
      fail(COMMAND, "the capture does not read back as written", ExitCode.DATA);
    }

    writeStdout(`== 3. deno task report -i ${capture} --stdio --no-children --sort sym\n\n`);
    const loaded = await loadProfile(capture, {
      onWarning: (m) => console.error(m),
      timeline: true, // the flamegraph page's per-thread timeline
    });
    const report = textReport(loaded.profile, {
      children: false,
      sort: ["sym"],
      callGraph: "none",
    });
    const shown = report.split("\n");
    writeStdout(shown.slice(0, lines).join("\n") + (shown.length > lines ? "\n    ...\n" : "\n"));
    const html = `${out}/flamegraph.html`;
    const json = `${out}/speedscope.json`;
    await Deno.writeTextFile(
      html,
      flamegraphHtml(loaded.profile, { title: `${capture} (mainline)` }),
    );
    await Deno.writeTextFile(
      json,
      JSON.stringify(speedscopeFile(loaded.profile, { name: capture })),
    );
    writeStdout(
      `\nwrote ${html} (open it in a browser: zoom, search, tooltips) and ${json} ` +
        `(load it at https://www.speedscope.app)\n` +
        `next: deno task report -i ${capture} --context softirq\n` +
        `      deno task script -i ${capture}\n` +
        `      deno task record --compare --int3 0.01   (kprobes single-stepping inside the NMI)\n` +
        `      deno task nmi-check                      (every NMI arrival point, model-checked)\n`,
    );
  } catch (e) {
    failOn(COMMAND, e);
  }
}

if (import.meta.main) await main(Deno.args);
