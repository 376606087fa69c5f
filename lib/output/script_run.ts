/**
 * `perf script` over a perf.data file: read records in perf's order, track
 * threads and maps, check the requested fields against each event, and
 * print every sample.
 *
 * @module
 */

import { PerfContext, RecordType, type Sample, SampleType } from "../abi/mod.ts";
import { CPUMODE_USER } from "../analyze/maps.ts";
import { ElfCache, unwindUser } from "../analyze/unwind.ts";
import type { PerfDataEvent } from "../perfdata/evlist.ts";
import { PerfSession } from "../analyze/session.ts";
import { openPerfData, type PerfDataFile, type ReadOptions } from "../perfdata/reader.ts";
import {
  checkScriptFields,
  enablePipeCallchainFields,
  parseScriptFields,
  type ScriptFields,
  ScriptPrinter,
} from "./perf_script.ts";

/** Options of {@linkcode runPerfScript}. */
export interface RunScriptOptions {
  /** perf script's `-F` argument; undefined for perf's defaults. */
  fields?: string;
  /** Largest number of callchain entries per sample (default 127). */
  maxStack?: number;
  /** Hide callchains (perf's `-G`). */
  hideCallGraph?: boolean;
  /** kallsyms file for kernel symbols (default /proc/kallsyms). */
  kallsyms?: string;
  /** Reader options (chunk size, warnings). */
  read?: ReadOptions;
  /** Receives output text in order. */
  write: (text: string) => void;
}

/** What a run printed and found. */
export interface ScriptRunSummary {
  /** Samples printed. */
  samples: number;
  /** Records read in total. */
  records: number;
  /** Records lost according to PERF_RECORD_LOST / LOST_SAMPLES. */
  lost: number;
  /** Reader warnings (truncation, unknown records, ...). */
  warnings: string[];
  /** Bytes read from the input. */
  bytesRead: number;
}

/**
 * Print the samples of a perf.data file as `perf script` does.
 *
 * @param path The perf.data path, or `-` for stdin.
 * @param options Fields and output.
 * @returns A summary.
 * @throws {import("./perf_script.ts").ScriptFieldError} When a field cannot be printed.
 * @throws {import("../abi/mod.ts").FormatError} When the input is malformed.
 *
 * @example
 * ```ts ignore
 * import { runPerfScript } from "./script_run.ts";
 * await runPerfScript("perf.data", { fields: "comm,tid,ip", write: (s) => console.log(s) });
 * ```
 */
export async function runPerfScript(
  path: string,
  options: RunScriptOptions,
): Promise<ScriptRunSummary> {
  const file = await openPerfData(path, options.read);
  try {
    return await printRecords(file, options);
  } finally {
    file.close();
  }
}

async function printRecords(
  file: PerfDataFile,
  options: RunScriptOptions,
): Promise<ScriptRunSummary> {
  const selection: ScriptFields = parseScriptFields(options.fields);
  const checked = new Set<number>();
  const check = () => {
    for (const ev of file.info.events) {
      if (checked.has(ev.index)) continue;
      checkScriptFields(selection, ev.attr, ev.name);
      if (file.info.pipe && !options.hideCallGraph && recordsCallchains(ev)) {
        enablePipeCallchainFields(selection);
      }
      checked.add(ev.index);
    }
  };
  check();
  const session = new PerfSession(options.kallsyms ? { kallsyms: options.kallsyms } : {});
  const withSymbols = () => selection.fields.has("sym") || selection.fields.has("dso");
  const printer = new ScriptPrinter(selection, session.resolver(withSymbols), {
    maxStack: options.maxStack ?? 127,
    eventNameWidth: Math.max(0, ...file.info.events.map((e) => e.name.length)),
  });
  const summary: ScriptRunSummary = { samples: 0, records: 0, lost: 0, warnings: [], bytesRead: 0 };
  const elfCache = new ElfCache();
  const maxStack = options.maxStack ?? 127;
  let out = "";
  for await (const { record, event } of file.records()) {
    summary.records++;
    if (record.type === RecordType.SAMPLE && "sample" in record) {
      if (!event) continue;
      if (!checked.has(event.index)) check();
      let s = record.sample;
      const tid = s.tid ?? -1;
      if (s.regsUser && s.stackUser && s.regsUser.abi !== 0 && hasDwarfStack(event)) {
        s = withUnwoundUserStack(s, event, session, elfCache, maxStack);
      }
      const hasCallchain = !options.hideCallGraph &&
        (event.attr.sampleType & SampleType.CALLCHAIN) !== 0;
      out += printer.format(s, record.misc, session.threads.comm(tid), event.name, hasCallchain);
      summary.samples++;
      if (out.length > 1 << 16) {
        options.write(out);
        out = "";
      }
    } else if (record.type === RecordType.LOST && "lost" in record) {
      summary.lost += record.lost;
    } else if (record.type === RecordType.LOST_SAMPLES && "lost" in record) {
      summary.lost += record.lost;
    } else {
      session.apply(record);
    }
  }
  if (out) options.write(out);
  elfCache.close();
  summary.warnings = [...file.warnings];
  summary.bytesRead = file.bytesRead;
  return summary;
}

function recordsCallchains(ev: PerfDataEvent): boolean {
  const t = ev.attr.sampleType;
  return (t & SampleType.CALLCHAIN) !== 0 || (t & SampleType.BRANCH_STACK) !== 0 ||
    ((t & SampleType.REGS_USER) !== 0 && (t & SampleType.STACK_USER) !== 0);
}

function hasDwarfStack(ev: PerfDataEvent): boolean {
  const t = ev.attr.sampleType;
  return (t & SampleType.REGS_USER) !== 0 && (t & SampleType.STACK_USER) !== 0;
}

/**
 * Replace the user part of a `--call-graph dwarf` sample's callchain by the
 * frames unwound from its register and stack copy, as perf does (kernel part
 * first, then the user frames).
 */
function withUnwoundUserStack(
  s: Sample,
  ev: PerfDataEvent,
  session: PerfSession,
  elfCache: ElfCache,
  maxStack: number,
): Sample {
  const pid = s.pid ?? -1;
  const user = unwindUser(
    { mask: ev.attr.sampleRegsUser, regs: s.regsUser!.regs },
    s.stackUser!,
    (addr) => session.spaces.lookup(pid, addr, CPUMODE_USER),
    elfCache.loader,
    { maxStack },
  );
  const kernel: bigint[] = [];
  for (const ip of s.callchain ?? []) {
    if (ip === PerfContext.USER) break;
    kernel.push(ip);
  }
  return { ...s, callchain: BigUint64Array.from([...kernel, PerfContext.USER, ...user]) };
}
