/**
 * `callring record`: simulate the perf subsystem sampling a seeded workload through one NMI
 * strategy and write the samples, through per-CPU perf mmap rings, into a callring capture
 * (or a perf.data that real perf reads).
 *
 *     deno run -A cli/record.ts                          # mainline, 4 CPUs, 250 ms -> callring.data
 *     deno run -A cli/record.ts --strategy naive-iret --seed 7 -o naive.data
 *     deno run -A cli/record.ts --fragments --deep-stacks 0.01
 *     deno run -A cli/record.ts --format perf -o perf.data && perf script -i perf.data
 *     deno run -A cli/record.ts --compare --seed 1       # every strategy, one table
 *     deno run -A cli/record.ts --ring subbuf --subbuf-size 16384 --subbuf-padding header
 *     deno run -A cli/record.ts --overwrite tail-push     # or backward, spare-subbuf, swivel
 *     deno run -A cli/record.ts --unlimited --deep-stacks 0.01   # reserve_unlimited/assign/commit
 *
 * Exit status: 0 ok, 1 when the read-back check fails (a sample differs from what was written,
 * or written != read + lost on a CPU), 2 usage error.
 *
 * @module
 */

import { Command, InvalidArgumentError } from "commander";
import { captureFileSink, captureFileSource } from "../mod.ts";
import { comparisonReport } from "../lib/sim/compare.ts";
import {
  exportSimulationPerfData,
  formatRecordSummary,
  recordSimulation,
  simulationKallsyms,
  truthLine,
} from "../lib/sim/recorder.ts";
import { CHECK_STRATEGIES, SIM_STRATEGIES } from "../lib/sim/strategies/mod.ts";
import { SYNC_ARCHES, SYNC_ENTRY_NS_ASSUMED, type SyncArch } from "../lib/sim/sync_cost.ts";
import { backupOutput, cliProgram, ExitCode, fail, failOn, progressBar, warn } from "./_common.ts";

const COMMAND = "record";

function number(min: number, max: number, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `want ${integer ? "an integer" : "a number"} in [${min}, ${max}]`,
      );
    }
    return n;
  };
}

/**
 * Run `callring record` with the given arguments.
 *
 * @param args The command-line arguments (without the command name).
 */
export async function main(args: string[]): Promise<void> {
  // `--live` (before any `--`) records for real: cli/record_live.ts parses its own options.
  const dashes = args.indexOf("--");
  if ((dashes < 0 ? args : args.slice(0, dashes)).includes("--live")) {
    const { recordLive } = await import("./record_live.ts");
    return await recordLive(args);
  }
  const program = new Command(COMMAND)
    .description(
      'Simulate perf sampling callchains through an NMI strategy (seed thread "x86: NMI-safe ' +
        'trap handlers") and record them through perf mmap rings into a capture.',
    )
    .option("--cpus <n>", "simulated CPUs", number(1, 1024, true), 4)
    .option("--duration <ms>", "simulated run time in ms", number(0.001, 1e7), 250)
    .option("-F, --frequency <hz>", "PMU overflows per second per CPU", number(1, 1e8), 10_000)
    .option(
      "--strategy <name>",
      `NMI strategy: ${SIM_STRATEGIES.map((s) => s.name).join(", ")}`,
      "mainline",
    )
    .option(
      "--seed <n>",
      "PRNG seed (same seed, same capture byte for byte)",
      number(0, 2 ** 32, true),
      1,
    )
    .option("--fragments", "send callchains deeper than 255 entries as continuation fragments")
    .option(
      "--deep-stacks <p>",
      "chance per stack change of a 256-1279 frame recursion",
      number(0, 1),
      0.002,
    )
    .option(
      "--sync-distance <bytes>",
      "sync record at least every this many ring bytes (0 = off)",
      number(0, 2 ** 30, true),
      65536,
    )
    .option(
      "--overwrite [design]",
      "flight-recorder rings: backward (perf's write_backward, the default), tail-push (Peter), " +
        "spare-subbuf (Mathieu) or swivel (Peter: two rings per CPU, each snapshot retires the " +
        "active one while the writer goes on in the other), snapshotted while running and at the end",
    )
    .option(
      "--snapshot-interval <ms>",
      "flight recorder: snapshot every this many simulated ms",
      number(0.001, 1e7),
    )
    .option("--ring <layout>", "stream (perf) or subbuf (sub-buffers, Mathieu/Steven)", "stream")
    .option(
      "--subbuf-size <bytes>",
      "sub-buffer size (power of two, 4096 .. half the ring)",
      number(4096, 2 ** 30, true),
      16384,
    )
    .option("--subbuf-padding <style>", "sub-buffer end padding: nop (records) or header", "nop")
    .option("--fragment-spread", "fragment i of a CPU c sample goes to CPU (c + i) % cpus")
    .option("--compact-fragments", "16-byte fragment headers instead of 32")
    .option(
      "--unlimited",
      "write samples through Steven's reserve_unlimited/assign/commit (size known at commit; " +
        "deep callchains continue in compact fragments)",
    )
    .option(
      "--piece-size <bytes>",
      "--unlimited: bytes each reservation piece takes (multiple of 8)",
      number(64, 65528, true),
      1024,
    )
    .option(
      "-m, --mmap-pages <n>",
      "data pages per ring (power of two)",
      number(1, 65536, true),
      128,
    )
    .option(
      "--int3 <p>",
      "chance per exception-raising NMI-handler step of a kprobe int3 (single-stepped)",
      number(0, 1),
      0,
    )
    .option(
      "--db <p>",
      "chance per exception-raising NMI-handler step of a data-breakpoint #DB",
      number(0, 1),
      0,
    )
    .option(
      "--ibp <p>",
      "chance per exception-raising NMI-handler step of an instruction-breakpoint #DB (RF rule)",
      number(0, 1),
      0,
    )
    .option(
      "--mce <p>",
      "chance per step of C code in NMI context (handler, exception bodies) of a machine check",
      number(0, 1),
      0,
    )
    .option("--mce-anywhere", "let --mce hit the NMI entry/exit assembly too (the 2012 hole)")
    .option(
      "--sync-arch <layout>",
      "page tables an eager vmalloc_sync_all walks: x86-32 (4 MB pgd entries, 32 over the " +
        "vmalloc range), x86-32-pae (kernel pmd shared: nothing to copy) or x86-64 (512 GB " +
        "entries, 64, only the present ones walk every mm)",
      "x86-32",
    )
    .option(
      "--sync-entry-ns <ns>",
      `ns per pgd entry visited in one mm by the walk (ASSUMED default ${SYNC_ENTRY_NS_ASSUMED}: ` +
        "nobody in the thread measured a walk)",
      number(0, 1e9),
      SYNC_ENTRY_NS_ASSUMED,
    )
    .option(
      "--sync-populated <n>",
      "vmalloc-range pgd entries present in init_mm (ASSUMED default: all 32 on x86-32, 1 on " +
        "x86-64)",
      number(0, 64, true),
    )
    .option(
      "--module-load-ms <ms>",
      "load a module (module_alloc: a vmalloc; one eager sync walk) every this many simulated ms",
      number(0.001, 1e7),
    )
    .option("--extra-nmi <p>", "chance per NMI step of another NMI source", number(0, 1), 0.03)
    .option("-o, --output <file>", "output file", "callring.data")
    .option(
      "--format <fmt>",
      "callring (capture with fragments and sync points) or perf (perf.data)",
      "callring",
    )
    .option("--compare", "run every strategy on the same seeded workload and print one table")
    .option("--no-verify", "skip reading the capture back against the ground truth")
    .option("--truth <file>", "also write the ground truth of every PMU overflow (NDJSON)")
    .option("-q, --quiet", "no progress, no summary")
    .option("--live", "record real callchains through the kernel's perf rings (--live --help)")
    .addHelpText(
      "after",
      "\nExit status: 0 ok, 1 read-back check failed or bad output path, 2 usage error.",
    );
  cliProgram(program, COMMAND).parse(args, { from: "user" });
  const opts = program.opts<{
    cpus: number;
    duration: number;
    frequency: number;
    strategy: string;
    seed: number;
    fragments?: boolean;
    deepStacks: number;
    syncDistance: number;
    overwrite?: boolean | string;
    snapshotInterval?: number;
    ring: string;
    subbufSize: number;
    subbufPadding: string;
    fragmentSpread?: boolean;
    compactFragments?: boolean;
    unlimited?: boolean;
    pieceSize: number;
    mmapPages: number;
    int3: number;
    db: number;
    ibp: number;
    mce: number;
    mceAnywhere?: boolean;
    syncArch: string;
    syncEntryNs: number;
    syncPopulated?: number;
    moduleLoadMs?: number;
    extraNmi: number;
    output: string;
    format: string;
    compare?: boolean;
    verify: boolean;
    truth?: string;
    quiet?: boolean;
  }>();

  function usage(message: string): never {
    fail(COMMAND, message, ExitCode.USAGE);
  }

  if (opts.format !== "callring" && opts.format !== "perf") {
    usage(`--format must be callring or perf: current "${opts.format}"`);
  }
  if ((opts.mmapPages & (opts.mmapPages - 1)) !== 0) {
    usage(`--mmap-pages must be a power of two: current ${opts.mmapPages}`);
  }
  const designs = ["backward", "tail-push", "spare-subbuf", "swivel"] as const;
  const design = opts.overwrite === true ? "backward" : opts.overwrite || undefined;
  if (design !== undefined && !(designs as readonly string[]).includes(design)) {
    usage(`--overwrite must be ${designs.join(", ")}: current "${design}"`);
  }
  if (opts.ring !== "stream" && opts.ring !== "subbuf") {
    usage(`--ring must be stream or subbuf: current "${opts.ring}"`);
  }
  if (opts.subbufPadding !== "nop" && opts.subbufPadding !== "header") {
    usage(`--subbuf-padding must be nop or header: current "${opts.subbufPadding}"`);
  }
  if ((opts.subbufSize & (opts.subbufSize - 1)) !== 0) {
    usage(`--subbuf-size must be a power of two: current ${opts.subbufSize}`);
  }
  if (!(SYNC_ARCHES as readonly string[]).includes(opts.syncArch)) {
    usage(`--sync-arch must be ${SYNC_ARCHES.join(", ")}: current "${opts.syncArch}"`);
  }
  if (opts.syncDistance !== 0 && opts.syncDistance < 256) {
    usage(`--sync-distance must be 0 or at least 256 bytes: current ${opts.syncDistance}`);
  }

  const machine = {
    seed: opts.seed,
    cpus: opts.cpus,
    pInt3: opts.int3,
    pDb: opts.db,
    pIbp: opts.ibp,
    pMce: opts.mce,
    mceAnywhere: opts.mceAnywhere ?? false,
    syncArch: opts.syncArch as SyncArch,
    syncEntryNs: opts.syncEntryNs,
    syncPopulated: opts.syncPopulated ?? NaN,
    moduleLoadEveryNs: opts.moduleLoadMs === undefined ? Infinity : opts.moduleLoadMs * 1e6,
    pExtraNmi: opts.extraNmi,
    pDeepStack: opts.deepStacks,
  };

  if (opts.compare) {
    const periodNs = Math.round(1e9 / opts.frequency);
    const samples = Math.max(1, Math.round(opts.duration * 1e6 / periodNs) * opts.cpus);
    const { seed, ...rest } = machine;
    console.log(comparisonReport(seed, {
      ...rest,
      samples,
      periodNs,
      maxStack: opts.fragments ? Infinity : 255,
    }));
    Deno.exit(ExitCode.OK);
  }

  const strategy = SIM_STRATEGIES.find((s) => s.name === opts.strategy);
  if (strategy === undefined) {
    const known = SIM_STRATEGIES.map((s) => s.name).join(", ");
    usage(
      CHECK_STRATEGIES.some((s) => s.name === opts.strategy)
        ? `--strategy ${opts.strategy} is a model-checker variant (nmi-check); simulate one of ${known}`
        : `unknown strategy "${opts.strategy}" (known: ${known})`,
    );
  }

  async function progress(): Promise<
    { update: (done: number, total: number) => void; stop: () => void } | undefined
  > {
    if (opts.quiet || !Deno.stderr.isTerminal()) return undefined;
    return await progressBar("simulating {bar} {percentage}% | {value}/{total} overflows");
  }

  /** Buffered synchronous NDJSON writer for the ground truth (the simulator calls back synchronously). */
  function truthWriter(path: string) {
    const file = Deno.openSync(path, { write: true, create: true, truncate: true });
    const enc = new TextEncoder();
    let buf: string[] = [];
    let size = 0;
    const flush = () => {
      let bytes = enc.encode(buf.join(""));
      while (bytes.length) bytes = bytes.subarray(file.writeSync(bytes));
      buf = [];
      size = 0;
    };
    return {
      line(text: string) {
        buf.push(text, "\n");
        size += text.length + 1;
        if (size > 1 << 16) flush();
      },
      close() {
        flush();
        file.close();
      },
    };
  }

  const capturePath = opts.format === "perf" ? `${opts.output}.callring-tmp` : opts.output;
  try {
    // perf record keeps the previous recording as NAME.old instead of overwriting it.
    const old = backupOutput(opts.output);
    if (old !== undefined && !opts.quiet) {
      console.error(`callring record: kept the previous ${opts.output} as ${old}`);
    }
    const bar = await progress();
    const truth = opts.truth !== undefined ? truthWriter(opts.truth) : undefined;
    let result;
    try {
      result = await recordSimulation(strategy, await captureFileSink(capturePath), {
        ...machine,
        durationMs: opts.duration,
        frequencyHz: opts.frequency,
        fragments: opts.fragments ?? false,
        syncDistance: opts.syncDistance,
        overwriteDesign: design as (typeof designs)[number] | undefined,
        snapshotIntervalNs: opts.snapshotInterval === undefined
          ? undefined
          : opts.snapshotInterval * 1e6,
        ring: opts.ring as "stream" | "subbuf",
        subbufSize: opts.subbufSize,
        subbufPadding: opts.subbufPadding as "nop" | "header",
        fragmentSpread: opts.fragmentSpread,
        compactFragments: opts.compactFragments,
        unlimited: opts.unlimited,
        pieceSize: opts.pieceSize,
        ringPages: opts.mmapPages,
        verify: opts.verify,
        readBack: opts.verify ? () => captureFileSource(capturePath) : undefined,
        onProgress: bar?.update,
        onTruth: truth ? (t, sample) => truth.line(truthLine(t, sample)) : undefined,
      });
    } finally {
      bar?.stop();
      truth?.close();
    }
    if (opts.format === "perf") {
      try {
        const conv = await exportSimulationPerfData(capturePath, opts.output);
        const kallsyms = `${opts.output}.kallsyms`;
        await Deno.writeTextFile(kallsyms, simulationKallsyms(result.symbols));
        if (!opts.quiet) {
          console.error(
            `callring record: wrote perf.data ${opts.output}: ${conv.records} records, ` +
              `${conv.read.defragmented} fragmented samples reassembled, ` +
              `${conv.droppedExtensions} extension records dropped\n` +
              `callring record: simulated kernel symbols in ${kallsyms}: ` +
              `perf report -i ${opts.output} --kallsyms ${kallsyms}`,
          );
        }
      } finally {
        await Deno.remove(capturePath);
      }
    }
    if (!opts.quiet) console.error(formatRecordSummary(result, opts.output));
    const v = result.verification;
    const ringLoss = result.cpus.some((c) => c.dropped > 0 || c.overwritten > 0);
    if (v && (!v.balanced || v.unexpected > 0 || (v.exact !== result.metrics.exact && !ringLoss))) {
      warn(COMMAND, "read-back check failed: the capture differs from what was written");
      Deno.exit(ExitCode.DATA);
    }
  } catch (e) {
    failOn(COMMAND, e);
  }
}

if (import.meta.main) await main(Deno.args);
