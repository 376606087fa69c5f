/**
 * perf script's side-band lines (`--show-task-events`, `--show-mmap-events`,
 * `--show-switch-events`): `perf_event__fprintf` of COMM, FORK, EXIT, MMAP,
 * MMAP2, SWITCH and SWITCH_CPU_WIDE records, after the sample-style start
 * (`perf_sample__fprintf_start`) the caller prints.
 *
 * @module
 */

import {
  type CommRecord,
  MISC_COMM_EXEC,
  MISC_MMAP_BUILD_ID,
  MISC_MMAP_DATA,
  MISC_SWITCH_OUT,
  MISC_SWITCH_OUT_PREEMPT,
  type Mmap2Record,
  type MmapRecord,
  type PerfRecord,
  RecordType,
  type SwitchRecord,
  type TaskRecord,
} from "../abi/mod.ts";

/** Which side-band records perf script prints (its `--show-*-events` options). */
export interface ScriptEventOptions {
  /** `--show-task-events`: COMM, FORK, EXIT. */
  task?: boolean;
  /** `--show-mmap-events`: MMAP, MMAP2. */
  mmap?: boolean;
  /** `--show-switch-events`: SWITCH, SWITCH_CPU_WIDE. */
  switches?: boolean;
}

/**
 * Whether a record type is shown with these options.
 *
 * @param o The options.
 * @param type The record type.
 * @returns True when perf script prints records of the type.
 */
export function showsRecordType(o: ScriptEventOptions, type: number): boolean {
  switch (type) {
    case RecordType.COMM:
    case RecordType.FORK:
    case RecordType.EXIT:
      return o.task === true;
    case RecordType.MMAP:
    case RecordType.MMAP2:
      return o.mmap === true;
    case RecordType.SWITCH:
    case RecordType.SWITCH_CPU_WIDE:
      return o.switches === true;
  }
  return false;
}

/** C's `%#lx`: `0x` and hex digits, but plain `0` for zero. */
function hexAlt(v: bigint): string {
  return v === 0n ? "0" : `0x${v.toString(16)}`;
}

const NAMES: Record<number, string> = {
  [RecordType.COMM]: "COMM",
  [RecordType.FORK]: "FORK",
  [RecordType.EXIT]: "EXIT",
  [RecordType.MMAP]: "MMAP",
  [RecordType.MMAP2]: "MMAP2",
  [RecordType.SWITCH]: "SWITCH",
  [RecordType.SWITCH_CPU_WIDE]: "SWITCH_CPU_WIDE",
};

const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4, MAP_SHARED = 1;

/**
 * perf's `perf_event__fprintf` of a side-band record: `PERF_RECORD_<NAME>`
 * and the type's details, with the newline.
 *
 * @param r The decoded record (COMM, FORK, EXIT, MMAP, MMAP2, SWITCH or SWITCH_CPU_WIDE).
 * @returns The text, or undefined for other record types.
 */
export function sideBandText(record: PerfRecord): string | undefined {
  const name = NAMES[record.type];
  if (name === undefined) return undefined;
  const head = `PERF_RECORD_${name}`;
  switch (record.type) {
    case RecordType.COMM: {
      const r = record as CommRecord;
      return `${head}${r.misc & MISC_COMM_EXEC ? " exec" : ""}: ${r.comm}:${r.pid}/${r.tid}\n`;
    }
    case RecordType.FORK:
    case RecordType.EXIT: {
      const r = record as TaskRecord;
      return `${head}(${r.pid}:${r.tid}):(${r.ppid}:${r.ptid})\n`;
    }
    case RecordType.MMAP: {
      const r = record as MmapRecord;
      return `${head} ${r.pid}/${r.tid}: [${hexAlt(r.addr)}(${hexAlt(r.len)}) @ ${
        hexAlt(r.pgoff)
      }]: ${r.misc & MISC_MMAP_DATA ? "r" : "x"} ${r.filename}\n`;
    }
    case RecordType.MMAP2: {
      const r = record as Mmap2Record;
      const where = r.misc & MISC_MMAP_BUILD_ID
        ? ` <${[...(r.buildId ?? [])].map((b) => b.toString(16).padStart(2, "0")).join("")}>`
        : ` ${hex2(r.maj)}:${hex2(r.min)} ${r.ino} ${r.inoGeneration}`;
      const prot = `${r.prot & PROT_READ ? "r" : "-"}${r.prot & PROT_WRITE ? "w" : "-"}${
        r.prot & PROT_EXEC ? "x" : "-"
      }${r.flags & MAP_SHARED ? "s" : "p"}`;
      return `${head} ${r.pid}/${r.tid}: [${hexAlt(r.addr)}(${hexAlt(r.len)}) @ ${
        hexAlt(r.pgoff)
      }${where}]: ${prot} ${r.filename}\n`;
    }
    case RecordType.SWITCH:
    case RecordType.SWITCH_CPU_WIDE: {
      const r = record as SwitchRecord;
      const out = (r.misc & MISC_SWITCH_OUT) !== 0;
      const inOut = !out
        ? "IN         "
        : r.misc & MISC_SWITCH_OUT_PREEMPT
        ? "OUT preempt"
        : "OUT        ";
      if (r.type === RecordType.SWITCH) return `${head} ${inOut}\n`;
      return `${head} ${inOut}  ${out ? "next" : "prev"} pid/tid: ${
        String(r.nextPrevPid ?? 0).padStart(5)
      }/${String(r.nextPrevTid ?? 0).padEnd(5)}\n`;
    }
  }
  return undefined;
}

/** `%02x`. */
function hex2(v: number): string {
  return v.toString(16).padStart(2, "0");
}

/**
 * perf's `perf_event__fprintf_auxtrace_error`: the line `perf script` prints
 * for each PERF_RECORD_AUXTRACE_ERROR of the file, with the newline.
 *
 * @param raw The record's bytes (header included, little-endian).
 * @returns The text, or undefined when the record is shorter than its fixed part.
 */
export function auxtraceErrorText(raw: Uint8Array): string | undefined {
  if (raw.length < 40) return undefined;
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const type = v.getUint32(8, true), code = v.getUint32(12, true);
  const cpu = v.getInt32(16, true), pid = v.getInt32(20, true), tid = v.getInt32(24, true);
  const fmt = v.getUint32(28, true);
  const ip = v.getBigUint64(32, true);
  const name = type === 1 ? "instruction trace" : "unknown AUX";
  let text = ` ${name} error type ${type}`;
  const nsecs = fmt && raw.length >= 48 ? v.getBigUint64(40, true) : 0n;
  text += nsecs
    ? ` time ${nsecs / 1_000_000_000n}.${String(nsecs % 1_000_000_000n).padStart(9, "0")}`
    : " time 0";
  // fmt 0 has no time: the message starts where it would be
  const msgAt = fmt ? 48 : 40;
  if (fmt >= 2 && raw.length >= 120) {
    const machinePid = v.getInt32(112, true);
    if (machinePid) text += ` machine_pid ${machinePid} vcpu ${v.getInt32(116, true)}`;
  }
  const msg = raw.subarray(msgAt, Math.min(raw.length, msgAt + 64));
  const nul = msg.indexOf(0);
  const message = new TextDecoder().decode(nul < 0 ? msg : msg.subarray(0, nul));
  return `${text} cpu ${cpu} pid ${pid} tid ${tid} ip ${hexAlt(ip)} code ${code}: ${message}\n`;
}
