/**
 * `callring record --live`: record real callchains through the kernel's perf
 * rings (Deno FFI, no native code) into a callring capture or a perf.data,
 * with perf record's target options.
 *
 *     deno run -A cli/record.ts --live -g -F 1000 -- ./burn 500
 *     deno run -A cli/record.ts --live -g -a --duration 2000 --format perf -o perf.data
 *     deno run -A cli/record.ts --live -p 1234 -e sched:sched_switch -c 1
 *     deno run -A cli/record.ts --live --overwrite -a   # kill -USR2 for a snapshot, Ctrl-C to end
 *
 * Exit status: 0 ok (or the workload's exit status, as perf record), 1 when an
 * event cannot be opened (one line with perf's hint), 2 usage error.
 *
 * @module
 */

import { Command, InvalidArgumentError } from "commander";
import { AttrType } from "../lib/abi/mod.ts";
import { ElfFile, findBuildIdNote, memorySource, readOwnVdso } from "../lib/analyze/elf.ts";
import { parseEvent, UnknownEventError } from "../lib/live/events.ts";
import {
  CaptureOutput,
  type KnownBuildId,
  type LiveOutput,
  PerfOutput,
} from "../lib/live/output.ts";
import {
  formatLiveSummary,
  LiveOpenError,
  LiveRecorder,
  type LiveTarget,
} from "../lib/live/recorder.ts";
import { parseCpuList } from "../lib/live/synthesize.ts";
import { LiveUnavailableError } from "../lib/live/sys.ts";
import { formatVerification, verifyLiveCapture } from "../lib/live/verify.ts";
import { backupOutput, cliProgram, ExitCode, fail, failOn, warn } from "./_common.ts";

const COMMAND = "record";

function int(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`want an integer in [${min}, ${max}]`);
    }
    return n;
  };
}

function buildIdOf(path: string): string | undefined {
  try {
    const elf = ElfFile.open(path);
    try {
      return elf.buildId();
    } finally {
      elf.close();
    }
  } catch {
    return undefined;
  }
}

/** The running kernel's build id (/sys/kernel/notes) and the vdso's, as perf records them. */
function knownBuildIds(): KnownBuildId[] {
  const out: KnownBuildId[] = [];
  try {
    const id = findBuildIdNote(Deno.readFileSync("/sys/kernel/notes"));
    if (id) out.push({ filename: "[kernel.kallsyms]", buildId: id, misc: 1 });
  } catch {
    // no notes: perf then records no kernel build id either
  }
  const vdso = readOwnVdso();
  if (vdso) {
    try {
      const elf = ElfFile.parse(memorySource(vdso, "[vdso]"));
      const id = elf.buildId();
      elf.close();
      if (id) out.push({ filename: "[vdso]", buildId: id, misc: 2 });
    } catch {
      // unreadable vdso image: left out
    }
  }
  return out;
}

/**
 * Parse the `--live` command line, record, print the summary, exit.
 *
 * @param args The arguments after `record`.
 */
export async function recordLive(args: string[]): Promise<void> {
  const program = new Command(`${COMMAND} --live`)
    .description(
      "Record real callchains through the kernel's perf mmap rings into a callring capture " +
        "(or a perf.data), as perf record does.",
    )
    .argument("[command...]", "workload to spawn (after --); events are enabled at its exec")
    .option("--live", "record for real (this mode)")
    .option("-e, --event <name>", "cpu-clock, task-clock, another software event, or subsys:name")
    .option("-F, --freq <hz>", "samples per second", int(1, 1_000_000))
    .option("-c, --count <n>", "sample every n events", int(1, 2 ** 40))
    .option("-g", "frame-pointer callchains, kernel and user")
    .option("-p, --pid <pid>", "record an existing process (all its threads)", int(1, 2 ** 22))
    .option("-t, --tid <tid>", "record an existing thread", int(1, 2 ** 22))
    .option("-a, --all-cpus", "system-wide, every CPU")
    .option("-C, --cpu <list>", "only these CPUs (e.g. 0,2-3); system-wide without a target")
    .option("--duration <ms>", "stop after this many ms", int(1, 2 ** 31))
    .option("-m, --mmap-pages <n>", "data pages per ring (power of two)", int(1, 1 << 20), 128)
    .option("--overwrite", "flight recorder: write_backward rings, snapshot on SIGUSR2 and at exit")
    .option("--poll <ms>", "ring drain interval", int(1, 10_000), 10)
    .option("-o, --output <file>", "output file", "callring.data")
    .option("--format <fmt>", "callring (capture) or perf (perf.data)", "callring")
    .option("-q, --quiet", "no summary")
    .option("--no-verify", "skip reading the capture back against what was drained")
    .addHelpText(
      "after",
      "\nExit status: 0 ok (or the workload's status), 1 an event cannot be opened, 2 usage error.",
    )
    .showHelpAfterError();
  cliProgram(program, COMMAND).parse(args, { from: "user" });
  const o = program.opts<{
    event?: string;
    freq?: number;
    count?: number;
    g?: boolean;
    pid?: number;
    tid?: number;
    allCpus?: boolean;
    cpu?: string;
    duration?: number;
    mmapPages: number;
    overwrite?: boolean;
    poll: number;
    output: string;
    format: string;
    quiet?: boolean;
    verify: boolean;
  }>();
  const argv = program.args;
  const usage = (m: string): never => fail(COMMAND, m, ExitCode.USAGE);
  if (o.format !== "callring" && o.format !== "perf") {
    usage(`--format must be callring or perf: current "${o.format}"`);
  }
  if ((o.mmapPages & (o.mmapPages - 1)) !== 0) {
    usage(`--mmap-pages must be a power of two: current ${o.mmapPages}`);
  }
  if (o.freq !== undefined && o.count !== undefined) usage("give -F or -c, not both");
  const targets = [argv.length > 0, o.pid !== undefined, o.tid !== undefined, !!o.allCpus]
    .filter(Boolean).length;
  if (targets > 1) usage("give one target: -- COMMAND, -p PID, -t TID or -a");
  let target: LiveTarget;
  if (argv.length) target = { kind: "command", argv };
  else if (o.pid !== undefined) target = { kind: "pid", pid: o.pid };
  else if (o.tid !== undefined) target = { kind: "tid", tid: o.tid };
  else if (o.allCpus || o.cpu !== undefined) target = { kind: "system" };
  else {
    return usage("no target: give -- COMMAND, -p PID, -t TID, -a or -C CPUS");
  }
  let cpus: number[] | undefined;
  if (o.cpu !== undefined) {
    try {
      cpus = parseCpuList(o.cpu);
    } catch (e) {
      usage(`-C: ${(e as Error).message}`);
    }
  }
  let event;
  try {
    event = parseEvent(o.event ?? "cpu-clock");
  } catch (e) {
    if (e instanceof UnknownEventError) fail(COMMAND, e.message, ExitCode.DATA);
    throw e;
  }

  if (event.type === AttrType.TRACEPOINT && o.format === "perf") {
    usage(
      `--format perf with the tracepoint ${event.name}: perf needs the tracing data feature ` +
        "(HEADER_TRACING_DATA) to read it, which callring does not write; record a capture",
    );
  }
  let rec: LiveRecorder;
  try {
    rec = await LiveRecorder.open({
      target,
      cpus,
      event,
      frequency: o.freq,
      period: o.count,
      callchain: o.g ?? false,
      overwrite: o.overwrite ?? false,
      mmapPages: o.mmapPages,
      durationMs: o.duration,
      pollMs: o.poll,
      buildIdOf,
      cmdline: ["callring", "record", ...args],
      // perf record --overwrite --switch-output=signal prints a line per dump; so do we.
      onStarted: o.overwrite && !o.quiet
        ? () =>
          console.error(
            "[ callring record: flight recorder running: SIGUSR2 takes a snapshot, Ctrl-C ends ]",
          )
        : undefined,
      onSnapshot: o.overwrite && !o.quiet
        ? (i, records, bytes) =>
          console.error(`[ callring record: snapshot ${i}: ${records} records, ${bytes} bytes ]`)
        : undefined,
    });
  } catch (e) {
    if (e instanceof LiveOpenError || e instanceof LiveUnavailableError) {
      fail(COMMAND, e.message, ExitCode.DATA);
    }
    failOn(COMMAND, e);
  }
  for (const w of rec.warnings) warn(COMMAND, w);
  try {
    backupOutput(o.output);
    // Signals are handled from before the output file exists: a script that waits for the
    // file can send SIGUSR2 / SIGINT safely.
    const onInt = () => rec.stop();
    const onUsr2 = () => rec.requestSnapshot();
    Deno.addSignalListener("SIGINT", onInt);
    Deno.addSignalListener("SIGTERM", onInt);
    if (o.overwrite) Deno.addSignalListener("SIGUSR2", onUsr2);
    let result;
    try {
      const out: LiveOutput = o.format === "perf"
        ? await PerfOutput.create(o.output, rec.info, knownBuildIds())
        : await CaptureOutput.create(o.output, rec.info);
      result = await rec.run(out);
    } finally {
      Deno.removeSignalListener("SIGINT", onInt);
      Deno.removeSignalListener("SIGTERM", onInt);
      if (o.overwrite) Deno.removeSignalListener("SIGUSR2", onUsr2);
    }
    const check = o.verify && o.format === "callring"
      ? await verifyLiveCapture(o.output, result)
      : undefined;
    if (!o.quiet) {
      console.error(
        formatLiveSummary(result, o.output) + (check ? "\n" + formatVerification(check) : ""),
      );
    }
    if (check && !check.balanced) {
      warn(COMMAND, "read-back check failed: the capture differs from what was drained");
      Deno.exit(ExitCode.DATA);
    }
    const ws = result.workloadStatus;
    Deno.exit(ws && !ws.success ? (ws.code || ExitCode.DATA) : ExitCode.OK);
  } catch (e) {
    rec.close();
    failOn(COMMAND, e);
  }
}
