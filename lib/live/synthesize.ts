/**
 * perf's synthesize step (`perf_event__synthesize_threads()`,
 * `perf_event__synthesize_mmap_events()`, `perf_event__synthesize_kernel_mmap()`
 * in tools/perf/util/synthetic-events.c): the side-band of what already runs
 * when a recording starts, read from /proc, so its samples resolve as the
 * kernel's own COMM / MMAP2 records make later ones resolve.
 *
 * - a `PERF_RECORD_MMAP` of `[kernel.kallsyms]_text` at the address of
 *   `_text` (from /proc/kallsyms), pid -1;
 * - per thread a `PERF_RECORD_COMM` (pid, tid, /proc/PID/task/TID/comm);
 * - per executable mapping of /proc/PID/maps a `PERF_RECORD_MMAP2` (pid and
 *   tid both the process id, as perf writes them), with the file's build id
 *   when the caller can read it (`perf record --buildid-mmap`), else
 *   maj/min/ino as perf writes by default.
 *
 * Synthesized records carry a zeroed `sample_id` trailer (time 0), as perf's do.
 *
 * @module
 */

import {
  type CommRecord,
  MISC_MMAP_BUILD_ID,
  type Mmap2Record,
  type PerfRecord,
  RecordType,
} from "../abi/mod.ts";
import { kernelMmapRecord } from "../perfdata/writer.ts";

/** One line of /proc/PID/maps. */
export interface ProcMap {
  /** Start address. */
  start: bigint;
  /** End address (exclusive). */
  end: bigint;
  /** `rwxp` / `rwxs` permissions. */
  perms: string;
  /** File offset. */
  pgoff: bigint;
  /** Device major. */
  maj: number;
  /** Device minor. */
  min: number;
  /** Inode. */
  ino: bigint;
  /** Path or pseudo name (`[vdso]`), empty for anonymous memory. */
  path: string;
}

/**
 * Parse /proc/PID/maps text.
 *
 * @param text The file's text.
 * @returns The mappings, in file order (malformed lines are skipped).
 */
export function parseProcMaps(text: string): ProcMap[] {
  const out: ProcMap[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)\s*(.*)$/
      .exec(line);
    if (!m) continue;
    out.push({
      start: BigInt("0x" + m[1]),
      end: BigInt("0x" + m[2]),
      perms: m[3]!,
      pgoff: BigInt("0x" + m[4]),
      maj: parseInt(m[5]!, 16),
      min: parseInt(m[6]!, 16),
      ino: BigInt(m[7]!),
      path: m[8]!,
    });
  }
  return out;
}

/**
 * Parse a CPU list (`/sys/devices/system/cpu/online`, `-C 0,2-3`).
 *
 * @param text The list.
 * @returns The CPUs, ascending, without duplicates.
 * @throws {RangeError} When the list is malformed.
 */
export function parseCpuList(text: string): number[] {
  const set = new Set<number>();
  for (const part of text.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new RangeError(`Cannot parse CPU list "${text.trim()}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 1 << 16) throw new RangeError(`Cannot parse CPU list "${text.trim()}"`);
    for (let c = a; c <= b; c++) set.add(c);
  }
  return [...set].sort((x, y) => x - y);
}

/**
 * The online CPUs of this machine.
 *
 * @returns The CPU numbers.
 */
export function onlineCpus(): number[] {
  try {
    return parseCpuList(Deno.readTextFileSync("/sys/devices/system/cpu/online"));
  } catch {
    return Array.from({ length: navigator.hardwareConcurrency ?? 1 }, (_, i) => i);
  }
}

/** Reads a file's GNU build id (hex), or undefined. Supplied by the caller (e.g. from lib/analyze/elf.ts). */
export type BuildIdReader = (path: string) => string | undefined;

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function protOf(perms: string): number {
  return (perms[0] === "r" ? 1 : 0) | (perms[1] === "w" ? 2 : 0) | (perms[2] === "x" ? 4 : 0);
}

/**
 * The MMAP2 records perf synthesizes for one process's executable mappings.
 *
 * @param pid The process id.
 * @param maps Its mappings.
 * @param buildIdOf Build-id reader (perf's `--buildid-mmap`); without it maj/min/ino are kept.
 * @returns The records.
 */
export function mmapRecordsOf(
  pid: number,
  maps: ProcMap[],
  buildIdOf?: BuildIdReader,
): Mmap2Record[] {
  const out: Mmap2Record[] = [];
  const ids = new Map<string, string | undefined>();
  for (const m of maps) {
    if (m.perms[2] !== "x") continue;
    const path = m.path === "" ? "//anon" : m.path;
    let buildId: string | undefined;
    if (buildIdOf && m.path.startsWith("/")) {
      if (!ids.has(path)) ids.set(path, buildIdOf(path));
      buildId = ids.get(path);
    }
    out.push({
      type: RecordType.MMAP2,
      misc: 2 | (buildId ? MISC_MMAP_BUILD_ID : 0), // PERF_RECORD_MISC_USER
      size: 0,
      pid,
      tid: pid,
      addr: m.start,
      len: m.end - m.start,
      pgoff: m.pgoff,
      maj: m.maj,
      min: m.min,
      ino: m.ino,
      inoGeneration: 0n,
      buildId: buildId ? hexBytes(buildId) : undefined,
      prot: protOf(m.perms),
      flags: m.perms[3] === "s" ? 1 : 2, // MAP_SHARED / MAP_PRIVATE
      filename: path,
      sampleId: {},
    });
  }
  return out;
}

/** Counters of a synthesize pass. */
export interface SynthesizeStats {
  /** Processes whose maps were read. */
  processes: number;
  /** Threads named. */
  threads: number;
  /** Processes or threads that vanished (or were unreadable) while being read. */
  vanished: number;
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Synthesize COMM and MMAP2 records for processes, as perf does at start.
 *
 * @param pids The processes (`"all"` = every process in /proc).
 * @param buildIdOf Build-id reader for the mapped files.
 * @param procRoot The proc mount (tests may point it elsewhere).
 * @returns The records and counters.
 */
export function synthesizeProcesses(
  pids: number[] | "all",
  buildIdOf?: BuildIdReader,
  procRoot = "/proc",
): { records: PerfRecord[]; stats: SynthesizeStats } {
  const records: PerfRecord[] = [];
  const stats: SynthesizeStats = { processes: 0, threads: 0, vanished: 0 };
  let list: number[];
  if (pids === "all") {
    list = [];
    for (const e of Deno.readDirSync(procRoot)) if (/^\d+$/.test(e.name)) list.push(Number(e.name));
    list.sort((a, b) => a - b);
  } else list = pids;
  for (const pid of list) {
    const maps = readText(`${procRoot}/${pid}/maps`);
    if (maps === undefined) {
      stats.vanished++;
      continue;
    }
    let tids: number[] = [];
    try {
      for (const e of Deno.readDirSync(`${procRoot}/${pid}/task`)) {
        if (/^\d+$/.test(e.name)) tids.push(Number(e.name));
      }
    } catch {
      tids = [pid];
    }
    tids.sort((a, b) => a - b);
    for (const tid of tids) {
      const comm = readText(`${procRoot}/${pid}/task/${tid}/comm`);
      if (comm === undefined) {
        stats.vanished++;
        continue;
      }
      const rec: CommRecord = {
        type: RecordType.COMM,
        misc: 0,
        size: 0,
        pid,
        tid,
        comm: comm.replace(/\n$/, ""),
        sampleId: {},
      };
      records.push(rec);
      stats.threads++;
    }
    records.push(...mmapRecordsOf(pid, parseProcMaps(maps), buildIdOf));
    stats.processes++;
  }
  return { records, stats };
}

/**
 * The threads of a process (/proc/PID/task).
 *
 * @param pid The process.
 * @param procRoot The proc mount.
 * @returns The thread ids, or undefined when the process does not exist.
 */
export function threadsOf(pid: number, procRoot = "/proc"): number[] | undefined {
  try {
    const out: number[] = [];
    for (const e of Deno.readDirSync(`${procRoot}/${pid}/task`)) {
      if (/^\d+$/.test(e.name)) out.push(Number(e.name));
    }
    return out.sort((a, b) => a - b);
  } catch {
    return undefined;
  }
}

/**
 * The kernel map record perf writes first, at `_text` of /proc/kallsyms
 * (`perf_event__synthesize_kernel_mmap`).
 *
 * @param kallsymsPath Where to read `_text` from.
 * @returns The record, or undefined when `_text` is not readable (kptr_restrict).
 */
export function kernelMapRecord(kallsymsPath = "/proc/kallsyms"): PerfRecord | undefined {
  const text = readText(kallsymsPath);
  if (text === undefined) return undefined;
  const m = /^([0-9a-f]+) [Tt] _text$/m.exec(text);
  if (!m) return undefined;
  const start = BigInt("0x" + m[1]);
  if (start === 0n) return undefined;
  const rec = kernelMmapRecord(start, 0xffffffffffffffffn - start);
  rec.sampleId = {};
  return rec;
}
