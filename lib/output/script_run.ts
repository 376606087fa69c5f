/**
 * `perf script` over a perf.data file: read records in perf's order, track
 * threads and maps, check the requested fields against each event, and
 * print every sample.
 *
 * Inline frames: like perf 6.1 (whose `append_inlines` runs only in the
 * DWARF unwinder's `unwind_entry`), the user frames of `--call-graph dwarf`
 * samples are expanded through `addr2line -i -f` (see
 * {@linkcode PerfSession.inlineNodes}); inlined functions print with
 * ` (inlined)` and without their dso. Frame-pointer and kernel entries are
 * never expanded, so inputs without user-stack copies start no addr2line.
 * When `addr2line` (binutils) cannot be started, or a DSO has no
 * `.debug_line`, frames print unexpanded, as perf does then.
 *
 * @module
 */

import { PerfContext, RecordType, type Sample, SampleType } from "../abi/mod.ts";
import type { InlineNode } from "../analyze/inlines.ts";
import { CPUMODE_USER } from "../analyze/maps.ts";
import { ElfCache, unwindUser } from "../analyze/unwind.ts";
import type { PerfDataEvent } from "../perfdata/evlist.ts";
import { PerfSession } from "../analyze/session.ts";
import { openPerfData, type PerfDataFile, type ReadOptions } from "../perfdata/reader.ts";
import { detectInputFormat } from "../analyze/load.ts";
import { type CaptureAsPerfData, openCaptureAsPerfData } from "../capture/perfdata_view.ts";
import {
  type AddressResolver,
  checkScriptFields,
  enablePipeCallchainFields,
  type InlineExpansion,
  parseScriptFields,
  type ResolvedAddress,
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
  /** Expand DWARF-unwound user frames into inline frames (default true; false is perf's `--no-inline`). */
  inline?: boolean;
  /** The addr2line program for inline frames (default `addr2line` from PATH). */
  addr2line?: string;
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
 * Print the samples of a perf.data file (or a callring capture) as `perf script` does.
 *
 * @param path The perf.data path, `-` for stdin, or a callring capture (told by its magic).
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
  const capture = path !== "-" && (await detectInputFormat(path)) === "capture";
  const file = capture ? await openCaptureAsPerfData(path) : await openPerfData(path, options.read);
  try {
    return await printRecords(file, options);
  } finally {
    file.close();
  }
}

/** A capture's own symbols first (simulated machines), then the session's maps and kallsyms. */
function withOwnSymbols(
  file: PerfDataFile | CaptureAsPerfData,
  resolver: AddressResolver,
): AddressResolver {
  if (!("symbols" in file)) return resolver;
  const own = file.symbols;
  return {
    resolve: (pid, tid, cpumode, addr): ResolvedAddress | undefined => {
      const s = own.size > 0 ? own.lookup(addr) : undefined;
      if (s === undefined) return resolver.resolve(pid, tid, cpumode, addr);
      return { mapIp: addr, sym: s.name, symoff: addr - s.start, dso: s.dso };
    },
  };
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
  const session = new PerfSession(
    options.kallsyms ? { kallsyms: options.kallsyms } : {},
    options.addr2line !== undefined ? { program: options.addr2line } : {},
  );
  const inline = options.inline ?? true;
  const withSymbols = () => selection.fields.has("sym") || selection.fields.has("dso");
  const printer = new ScriptPrinter(
    selection,
    withOwnSymbols(file, session.resolver(withSymbols)),
    {
      maxStack: options.maxStack ?? 127,
      eventNameWidth: Math.max(0, ...file.info.events.map((e) => e.name.length)),
    },
  );
  const summary: ScriptRunSummary = { samples: 0, records: 0, lost: 0, warnings: [], bytesRead: 0 };
  const elfCache = new ElfCache();
  const maxStack = options.maxStack ?? 127;
  let out = "";
  try {
    for await (const { record, event } of file.records()) {
      summary.records++;
      if (record.type === RecordType.SAMPLE && "sample" in record) {
        if (!event) continue;
        if (!checked.has(event.index)) check();
        let s = record.sample;
        const tid = s.tid ?? -1;
        const hasCallchain = !options.hideCallGraph &&
          (event.attr.sampleType & SampleType.CALLCHAIN) !== 0;
        let inlines: InlineExpansion | undefined;
        if (s.regsUser && s.stackUser && s.regsUser.abi !== 0 && hasDwarfStack(event)) {
          const unwound = withUnwoundUserStack(s, event, session, elfCache, maxStack);
          s = unwound.sample;
          // Only a printed callchain shows inline frames (not -G, not without ip).
          if (inline && hasCallchain && selection.fields.has("ip")) {
            inlines = await inlineExpansion(session, s.pid ?? -1, s.callchain!, unwound.userStart);
          }
        }
        out += printer.format(
          s,
          record.misc,
          session.threads.comm(tid),
          event.name,
          hasCallchain,
          inlines,
        );
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
  } finally {
    elfCache.close();
    await session.close(); // ends the addr2line subprocesses
  }
  if (out) options.write(out);
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
 * first, then the user frames). `userStart` is the callchain index of the
 * first unwound frame.
 */
function withUnwoundUserStack(
  s: Sample,
  ev: PerfDataEvent,
  session: PerfSession,
  elfCache: ElfCache,
  maxStack: number,
): { sample: Sample; userStart: number } {
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
  return {
    sample: { ...s, callchain: BigUint64Array.from([...kernel, PerfContext.USER, ...user]) },
    userStart: kernel.length + 1,
  };
}

/**
 * The inline nodes of the unwound user frames `chain[from..]` (lookups are
 * cached per DSO and address by the session), keyed by callchain index;
 * frames that print unchanged (no answer, or just their own symbol) are left out.
 */
async function inlineExpansion(
  session: PerfSession,
  pid: number,
  chain: BigUint64Array,
  from: number,
): Promise<InlineExpansion | undefined> {
  const lookups: Promise<readonly InlineNode[]>[] = [];
  for (let i = from; i < chain.length; i++) {
    lookups.push(session.inlineNodes(pid, CPUMODE_USER, chain[i]!));
  }
  const answers = await Promise.all(lookups);
  let expansion: Map<number, readonly InlineNode[]> | undefined;
  for (let k = 0; k < answers.length; k++) {
    const nodes = answers[k]!;
    if (nodes.length > 1 || (nodes.length === 1 && nodes[0]!.inlined)) {
      (expansion ??= new Map()).set(from + k, nodes);
    }
  }
  return expansion;
}
