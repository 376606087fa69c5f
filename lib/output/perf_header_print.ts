/**
 * perf 6.1's header text (`perf_session__fprintf_info` and the features'
 * `print_*` functions of `util/header.c`, `perf_event_attr__fprintf`), as
 * `perf script --header` / `--header-only` and `perf report --header` /
 * `--header-only` print it: the `# ========` block with the file's
 * `captured on` time (its mtime, as perf's fstat), offsets, one or more
 * lines per feature in bit order (topologies as `info available, use -I
 * to display` unless `-I`), and the missing features. In pipe mode the
 * block holds only the offsets (all 0) and the features print as their
 * HEADER_FEATURE records arrive ({@linkcode perfHeaderFeatureText}).
 *
 * @module
 */

import { type PerfEventAttr, SampleType } from "../abi/mod.ts";
import type { EventDesc } from "../perfdata/features.ts";
import type { PerfDataInfo } from "../perfdata/header.ts";
import { openPerfData } from "../perfdata/reader.ts";
import { detectInputFormat } from "../input/format.ts";
import { HeaderFeature } from "../perfdata/features.ts";
import {
  type BpfProgInfo,
  btfTypeName,
  decodeFeaturePayload,
  featureBitName,
  type FeatureInfo,
  type FeaturePayload,
} from "../perfdata/feature_info.ts";

/** What the header printer needs of an input. */
export interface PerfHeaderSource {
  /** Pipe-mode data. */
  pipe: boolean;
  /** Data section offset (file mode). */
  dataOffset: number;
  /** Data section size (file mode). */
  dataSize: number;
  /** Feature bits set (file mode: the header's bitmap). */
  features: readonly number[];
  /** The features' payloads, in perf's processing order. */
  payloads: readonly FeaturePayload[];
  /** Event names in index order (GROUP_DESC prints them). */
  eventNames: readonly string[];
}

/** Options of the header printer. */
export interface PerfHeaderOptions {
  /** The input's modification time (perf's `captured on`: fstat of the input). */
  mtime: Date;
  /** perf's `-I` / `--show-info`: the topologies in full. */
  full?: boolean;
}

/** The printed text and what could not be printed. */
export interface PerfHeaderText {
  /** The text, lines ending in `\n`. */
  text: string;
  /** Features that could not be decoded (named, with their file offsets): left out. */
  warnings: string[];
}

/** `HEADER_LAST_FEATURE` of perf 6.1: bits at or past it are neither printed nor missing. */
const LAST_FEATURE = HeaderFeature.LAST_FEATURE;

/** perf 6.1's `full_only` features: one "info available" line without `-I`. */
const FULL_ONLY = new Set<number>([
  HeaderFeature.CPU_TOPOLOGY,
  HeaderFeature.NUMA_TOPOLOGY,
  HeaderFeature.CACHE,
  HeaderFeature.MEM_TOPOLOGY,
  HeaderFeature.HYBRID_TOPOLOGY,
]);

/** Features without a print function in perf 6.1. */
const NOT_PRINTED = new Set<number>([0, HeaderFeature.TRACING_DATA, HeaderFeature.BUILD_ID]);

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad2 = (n: number) => String(n).padStart(2, "0");

/**
 * C's `ctime()` of a time, in local time: `Wed Dec  2 17:35:47 2026\n`.
 *
 * @param d The time.
 * @returns The text with its newline.
 */
export function ctimeText(d: Date): string {
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}\n`;
}

function bitNames(value: number, names: readonly (readonly [number, string])[]): string {
  return names.filter(([bit]) => (value & bit) !== 0).map(([, n]) => n).join("|");
}

const S = SampleType;
/** perf 6.1's `__p_sample_type` list (TRANSACTION is not in it). */
const SAMPLE_TYPE_NAMES: readonly (readonly [number, string])[] = [
  [S.IP, "IP"],
  [S.TID, "TID"],
  [S.TIME, "TIME"],
  [S.ADDR, "ADDR"],
  [S.READ, "READ"],
  [S.CALLCHAIN, "CALLCHAIN"],
  [S.ID, "ID"],
  [S.CPU, "CPU"],
  [S.PERIOD, "PERIOD"],
  [S.STREAM_ID, "STREAM_ID"],
  [S.RAW, "RAW"],
  [S.BRANCH_STACK, "BRANCH_STACK"],
  [S.REGS_USER, "REGS_USER"],
  [S.STACK_USER, "STACK_USER"],
  [S.IDENTIFIER, "IDENTIFIER"],
  [S.REGS_INTR, "REGS_INTR"],
  [S.DATA_SRC, "DATA_SRC"],
  [S.WEIGHT, "WEIGHT"],
  [S.PHYS_ADDR, "PHYS_ADDR"],
  [S.AUX, "AUX"],
  [S.CGROUP, "CGROUP"],
  [S.DATA_PAGE_SIZE, "DATA_PAGE_SIZE"],
  [S.CODE_PAGE_SIZE, "CODE_PAGE_SIZE"],
  [S.WEIGHT_STRUCT, "WEIGHT_STRUCT"],
];

/** perf 6.1's `__p_branch_sample_type` list (bit i is `1 << i`). */
const BRANCH_TYPE_NAMES: readonly (readonly [number, string])[] = [
  "USER",
  "KERNEL",
  "HV",
  "ANY",
  "ANY_CALL",
  "ANY_RETURN",
  "IND_CALL",
  "ABORT_TX",
  "IN_TX",
  "NO_TX",
  "COND",
  "CALL_STACK",
  "IND_JUMP",
  "CALL",
  "NO_FLAGS",
  "NO_CYCLES",
  "TYPE_SAVE",
  "HW_INDEX",
  "PRIV_SAVE",
].map((n, i) => [1 << i, n] as const);

/** perf 6.1's `__p_read_format` list. */
const READ_FORMAT_NAMES: readonly (readonly [number, string])[] = [
  "TOTAL_TIME_ENABLED",
  "TOTAL_TIME_RUNNING",
  "ID",
  "GROUP",
  "LOST",
].map((n, i) => [1 << i, n] as const);

/** The attr bitfield flags `perf_event_attr__fprintf` prints, in its order, with their bits. */
const FLAG_FIELDS: readonly (readonly [string, number, number])[] = [
  ["disabled", 0, 1],
  ["inherit", 1, 1],
  ["pinned", 2, 1],
  ["exclusive", 3, 1],
  ["exclude_user", 4, 1],
  ["exclude_kernel", 5, 1],
  ["exclude_hv", 6, 1],
  ["exclude_idle", 7, 1],
  ["mmap", 8, 1],
  ["comm", 9, 1],
  ["freq", 10, 1],
  ["inherit_stat", 11, 1],
  ["enable_on_exec", 12, 1],
  ["task", 13, 1],
  ["watermark", 14, 1],
  ["precise_ip", 15, 2],
  ["mmap_data", 17, 1],
  ["sample_id_all", 18, 1],
  ["exclude_host", 19, 1],
  ["exclude_guest", 20, 1],
  ["exclude_callchain_kernel", 21, 1],
  ["exclude_callchain_user", 22, 1],
  ["mmap2", 23, 1],
  ["comm_exec", 24, 1],
  ["use_clockid", 25, 1],
  ["context_switch", 26, 1],
  ["write_backward", 27, 1],
  ["namespaces", 28, 1],
  ["ksymbol", 29, 1],
  ["bpf_event", 30, 1],
  ["aux_output", 31, 1],
  ["cgroup", 32, 1],
  ["text_poke", 33, 1],
  ["build_id", 34, 1],
  ["inherit_thread", 35, 1],
  ["remove_on_exec", 36, 1],
  ["sigtrap", 37, 1],
];

/** Bits `from`..`from+width-1` of a flags number of up to 53 bits. */
function flagBits(flags: number, from: number, width: number): number {
  return Math.floor(flags / 2 ** from) % 2 ** width;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/**
 * perf 6.1's `perf_event_attr__fprintf` with `__desc_attr__fprintf`: `, name = value`
 * for every non-zero field, in perf's order.
 *
 * @param attr The attr.
 * @returns The text (starting with `, ` when any field is non-zero).
 */
export function attrFieldsText(attr: PerfEventAttr): string {
  const out: string[] = [];
  const put = (name: string, value: string) => out.push(`, ${name} = ${value}`);
  if (attr.type) put("type", String(attr.type));
  if (attr.size) put("size", String(attr.size));
  if (attr.config) put("config", hex(attr.config));
  if (attr.samplePeriod) put("{ sample_period, sample_freq }", String(attr.samplePeriod));
  if (attr.sampleType) put("sample_type", bitNames(attr.sampleType, SAMPLE_TYPE_NAMES));
  if (attr.readFormat) put("read_format", bitNames(attr.readFormat, READ_FORMAT_NAMES));
  for (const [name, from, width] of FLAG_FIELDS) {
    const v = flagBits(attr.flags, from, width);
    if (v) put(name, String(v));
  }
  if (attr.wakeupEvents) put("{ wakeup_events, wakeup_watermark }", String(attr.wakeupEvents));
  if (attr.bpType) put("bp_type", String(attr.bpType));
  if (attr.config1) put("{ bp_addr, config1 }", hex(attr.config1));
  if (attr.config2) put("{ bp_len, config2 }", hex(attr.config2));
  if (attr.branchSampleType) {
    put("branch_sample_type", bitNames(attr.branchSampleType, BRANCH_TYPE_NAMES));
  }
  if (attr.sampleRegsUser) put("sample_regs_user", hex(attr.sampleRegsUser));
  if (attr.sampleStackUser) put("sample_stack_user", String(attr.sampleStackUser));
  if (attr.clockid) put("clockid", String(attr.clockid));
  if (attr.sampleRegsIntr) put("sample_regs_intr", hex(attr.sampleRegsIntr));
  if (attr.auxWatermark) put("aux_watermark", String(attr.auxWatermark));
  if (attr.sampleMaxStack) put("sample_max_stack", String(attr.sampleMaxStack));
  if (attr.auxSampleSize) put("aux_sample_size", String(attr.auxSampleSize));
  if (attr.sigData) put("sig_data", String(attr.sigData));
  return out.join("");
}

/** perf 6.1's `perf_attr_check`: attrs it refuses to print (unknown bits set). */
function attrCheck(attr: PerfEventAttr): boolean {
  if (attr.flags >= 2 ** 38) return false;
  if (attr.sampleType >= 2 ** 25) return false;
  if (attr.readFormat >= 2 ** 5) return false;
  if ((attr.sampleType & S.BRANCH_STACK) && attr.branchSampleType >= 2 ** 19) return false;
  return true;
}

function eventDescLines(events: EventDesc[] | null | undefined): string {
  if (!events || !events.every((e) => attrCheck(e.attr))) {
    return "# event desc: not available or unable to read\n";
  }
  let s = "";
  for (const e of events) {
    // perf 6.1 stops at an attr of size 0 (its array's end marker)
    if (e.attr.size === 0) break;
    s += `# event : name = ${e.name}, `;
    if (e.ids.length > 0) s += `, id = {${e.ids.map((id) => ` ${id}`).join(",")} }`;
    s += attrFieldsText(e.attr) + "\n";
  }
  return s;
}

/** perf's `cpu_map__snprint` of a list perf parsed: sorted, ranges joined by commas. */
function cpuListText(list: string): string {
  const cpus = new Set<number>();
  for (const part of list.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi && c - lo < 1 << 16; c++) cpus.add(c);
  }
  return rangesText([...cpus].sort((a, b) => a - b));
}

/** Sorted integers as `a-b,c` (perf's cpu map and bitmap printers). */
function rangesText(sorted: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** perf's `unit_number__scnprintf`: `24G`. */
function unitNumber(n: number): string {
  const units = "BKMG";
  let i = 0;
  let v = n;
  while (Math.floor(v / 1024) > 1 && i < 3) {
    v = Math.floor(v / 1024);
    i++;
  }
  return `${v}${units[i]}`;
}

/** perf's `timestamp__scnprintf_usec`. */
function usecText(ns: number): string {
  const sec = Math.floor(ns / 1e9);
  const usec = Math.floor((ns % 1e9) / 1e3);
  return `${sec}.${String(usec).padStart(6, "0")}`;
}

/** Clock names of perf's `clockid_name` (`-k` clocks). */
const CLOCK_NAMES: Record<number, string> = {
  0: "realtime",
  1: "monotonic",
  4: "monotonic_raw",
  7: "boottime",
  11: "tai",
};

/** perf's `synthesize_bpf_prog_name`: `bpf_prog_<tag>[_<name>]`. */
function bpfProgName(p: BpfProgInfo, btf: Uint8Array | undefined, sub: number): string {
  let name = `bpf_prog_${p.tags[sub] ?? ""}`;
  let short: string | undefined;
  if (btf !== undefined) short = btfTypeName(btf, p.funcTypeIds[sub] ?? 0) ?? "";
  else if (sub === 0 && p.nrJitedKsyms === 1) short = p.name !== "" ? p.name : undefined;
  else short = "F";
  if (short !== undefined) name += `_${short}`;
  return name;
}

/** perf 6.1's `print_bpf_prog_info`: the programs by id (`__bpf_event__print_bpf_prog_info`). */
function bpfProgLines(f: FeatureInfo): string {
  const progs = [...(f.bpfProgs ?? [])].sort((a, b) => a.id - b.id);
  let s = "";
  for (const p of progs) {
    const n = p.nrJitedKsyms;
    if (n !== p.nrProgTags || n !== p.nrJitedFuncLens) continue;
    // perf loads the program's BTF when BPF_BTF has it (libbpf refuses data it cannot parse)
    const btf = p.btfId ? f.btfs?.get(p.btfId) : undefined;
    const usable = btf !== undefined && btfTypeName(btf, 1) !== undefined ? btf : undefined;
    if (n === 1) {
      s += `# bpf_prog_info ${p.id}: ${bpfProgName(p, usable, 0)} addr ${hex(p.addrs[0]!)} ` +
        `size ${p.lens[0]}\n`;
      continue;
    }
    s += `# bpf_prog_info ${p.id}:\n`;
    for (let i = 0; i < n; i++) {
      s += `# \tsub_prog ${i}: ${bpfProgName(p, usable, i)} addr ${hex(p.addrs[i]!)} ` +
        `size ${p.lens[i]}\n`;
    }
  }
  return s;
}

function capsLine(pmu: string, caps: readonly string[]): string {
  if (caps.length === 0) return `# ${pmu} pmu capabilities: not available\n`;
  return `# ${pmu} pmu capabilities: ${caps.join(", ")}\n`;
}

/** One feature's lines (perf's `feat_ops[bit].print`), given what was decoded. */
function featureLines(
  bit: number,
  f: FeatureInfo,
  src: PerfHeaderSource,
  full: boolean,
): string {
  if (NOT_PRINTED.has(bit) || bit >= LAST_FEATURE) return "";
  if (FULL_ONLY.has(bit) && !full) {
    return `# ${featureBitName(bit)} info available, use -I to display\n`;
  }
  switch (bit) {
    case HeaderFeature.HOSTNAME:
      return `# hostname : ${f.hostname ?? "(null)"}\n`;
    case HeaderFeature.OSRELEASE:
      return `# os release : ${f.osRelease ?? "(null)"}\n`;
    case HeaderFeature.VERSION:
      return `# perf version : ${f.version ?? "(null)"}\n`;
    case HeaderFeature.ARCH:
      return `# arch : ${f.arch ?? "(null)"}\n`;
    case HeaderFeature.NRCPUS:
      return `# nrcpus online : ${f.nrCpus?.online ?? 0}\n` +
        `# nrcpus avail : ${f.nrCpus?.available ?? 0}\n`;
    case HeaderFeature.CPUDESC:
      return `# cpudesc : ${f.cpuDesc ?? "(null)"}\n`;
    case HeaderFeature.CPUID:
      return `# cpuid : ${f.cpuid ?? "(null)"}\n`;
    case HeaderFeature.TOTAL_MEM:
      return `# total memory : ${f.totalMem ?? 0} kB\n`;
    case HeaderFeature.CMDLINE:
      return `# cmdline : ${
        (f.cmdline ?? []).map((a) => a.replaceAll("'", "\\'") + " ").join("")
      }\n`;
    case HeaderFeature.EVENT_DESC:
      return eventDescLines(f.eventDesc);
    case HeaderFeature.CPU_TOPOLOGY: {
      const t = f.cpuTopology;
      if (t === undefined) return "# Core ID and Socket ID information is not available\n";
      let s = t.cores.map((c) => `# sibling sockets : ${c}\n`).join("");
      if (t.dies?.length) s += t.dies.map((d) => `# sibling dies    : ${d}\n`).join("");
      s += t.threads.map((c) => `# sibling threads : ${c}\n`).join("");
      if (t.dies?.length) {
        s += t.cpus
          ? t.cpus.map((c, i) =>
            `# CPU ${i}: Core ID ${c.core}, Die ID ${c.die ?? 0}, Socket ID ${c.socket}\n`
          ).join("")
          : "# Core ID, Die ID and Socket ID information is not available\n";
      } else {
        s += t.cpus
          ? t.cpus.map((c, i) => `# CPU ${i}: Core ID ${c.core}, Socket ID ${c.socket}\n`).join("")
          : "# Core ID and Socket ID information is not available\n";
      }
      return s;
    }
    case HeaderFeature.NUMA_TOPOLOGY:
      return (f.numa ?? []).map((n) =>
        `# node${n.node} meminfo  : total = ${n.memTotal} kB, free = ${n.memFree} kB\n` +
        `# node${n.node} cpu list : ${cpuListText(n.cpus)}\n`
      ).join("");
    case HeaderFeature.BRANCH_STACK:
      return "# contains samples with branch stack\n";
    case HeaderFeature.PMU_MAPPINGS: {
      const m = f.pmuMappings ?? [];
      if (m.length === 0) return "# pmu mappings: not available\n";
      return `# pmu mappings: ${m.map((p) => `${p.name} = ${p.type}`).join(", ")}\n`;
    }
    case HeaderFeature.GROUP_DESC:
      return (f.groups ?? []).filter((g) => g.members > 1).map((g) => {
        const name = g.name === "{anon_group}" ? "" : g.name;
        const names = src.eventNames.slice(g.leader, g.leader + g.members);
        return `# group: ${name}{${names.join(",")}}\n`;
      }).join("");
    case HeaderFeature.AUXTRACE:
      return "# contains AUX area data (e.g. instruction trace)\n";
    case HeaderFeature.STAT:
      return "# contains stat data\n";
    case HeaderFeature.CACHE:
      return "# CPU cache info:\n" +
        (f.caches ?? []).map((c) =>
          `#  L${c.level} ${c.type.padEnd(15)} ${c.size.padStart(8)} [${c.map}]\n`
        ).join("");
    case HeaderFeature.SAMPLE_TIME: {
      const t = f.sampleTime ?? { first: 0, last: 0 };
      const ms = (t.last - t.first) / 1e6;
      return `# time of first sample : ${usecText(t.first)}\n` +
        `# time of last sample : ${usecText(t.last)}\n` +
        `# sample duration : ${ms.toFixed(3).padStart(10)} ms\n`;
    }
    case HeaderFeature.MEM_TOPOLOGY: {
      const m = f.memTopology ?? { blockSize: 0, nodes: [] };
      return `# memory nodes (nr ${m.nodes.length}, block size ${hex(m.blockSize)}):\n` +
        m.nodes.map((n) =>
          `#  ${String(n.node).padStart(3)} [${unitNumber(m.blockSize * n.blocks.length)}]: ` +
          `${rangesText(n.blocks)}\n`
        ).join("");
    }
    case HeaderFeature.CLOCKID:
      return `# clockid frequency: ${(f.clockidResNs ?? 0) * 1000} MHz\n`;
    case HeaderFeature.DIR_FORMAT:
      return `# directory data version : ${f.dirFormat ?? 0}\n`;
    case HeaderFeature.BPF_PROG_INFO:
      return bpfProgLines(f);
    case HeaderFeature.BPF_BTF:
      return [...(f.btfIds ?? [])].sort((a, b) => a - b).map((id) => `# btf info of id ${id}\n`)
        .join("");
    case HeaderFeature.COMPRESSED: {
      const c = f.compressed ?? { type: 0, level: 0, ratio: 0 };
      return `# compressed : ${c.type === 1 ? "Zstd" : "Unknown"}, level = ${c.level}, ` +
        `ratio = ${c.ratio}\n`;
    }
    case HeaderFeature.CPU_PMU_CAPS:
      return capsLine("cpu", f.cpuPmuCaps ?? []);
    case HeaderFeature.CLOCK_DATA: {
      const c = f.clockData;
      if (c === undefined) return "# reference time disabled\n";
      const name = CLOCK_NAMES[c.clockid] ?? "(not found)";
      const todSec = c.todNs / 1_000_000_000n;
      const todUsec = (c.todNs % 1_000_000_000n) / 1000n;
      const clkSec = c.clockidNs / 1_000_000_000n;
      const clkNsec = c.clockidNs % 1_000_000_000n;
      const d = new Date(Number(todSec) * 1000);
      const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
        `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
      const us = String(todUsec).padStart(6, "0");
      return `# clockid: ${name} (${c.clockid})\n` +
        `# reference time: ${date}.${us} = ${todSec}.${us} (TOD) = ` +
        `${clkSec}.${String(clkNsec).padStart(9, "0")} (${name})\n`;
    }
    case HeaderFeature.HYBRID_TOPOLOGY:
      return "# hybrid cpu system:\n" +
        (f.hybrid ?? []).map((n) => `# ${n.pmu} cpu list : ${n.cpus}\n`).join("");
    case HeaderFeature.PMU_CAPS:
      return (f.pmuCaps ?? []).map((p) => capsLine(p.pmu, p.caps)).join("");
  }
  return "";
}

/**
 * Decode the payloads in order (NRCPUS before CPU_TOPOLOGY, as perf's bit order has it).
 * Like perf's `perf_header__process_sections`, the first malformed payload ends the
 * decoding: later features print as perf's empty environment has them, but EVENT_DESC,
 * which perf's printer reads again from the file.
 */
function decodeAll(payloads: readonly FeaturePayload[], warnings: string[]): FeatureInfo {
  const info: FeatureInfo = {};
  let failed = false;
  for (const p of payloads) {
    if (failed && p.bit !== HeaderFeature.EVENT_DESC) continue;
    const msg = decodeFeaturePayload(info, p);
    if (msg === undefined) continue;
    warnings.push(msg);
    if (p.bit !== HeaderFeature.EVENT_DESC) failed = true;
  }
  return info;
}

function linesOf(
  bits: readonly number[],
  src: PerfHeaderSource,
  opts: PerfHeaderOptions,
  warnings: string[],
): string {
  const info = decodeAll(src.payloads, warnings);
  return bits.map((bit) => featureLines(bit, info, src, opts.full === true)).join("");
}

/**
 * perf's `perf_session__fprintf_info`: the `# ========` block. File mode: offsets,
 * features in bit order and the missing features; pipe mode: the offsets (0) only.
 *
 * @param src The input.
 * @param opts The mtime and `-I`.
 * @returns The text and the features left out.
 */
export function perfHeaderText(src: PerfHeaderSource, opts: PerfHeaderOptions): PerfHeaderText {
  const warnings: string[] = [];
  let s = "# ========\n";
  s += `# captured on    : ${ctimeText(opts.mtime)}`;
  s += "# header version : 1\n";
  const [off, size] = src.pipe ? [0, 0] : [src.dataOffset, src.dataSize];
  s += `# data offset    : ${off}\n`;
  s += `# data size      : ${size}\n`;
  s += `# feat offset    : ${src.pipe ? 0 : off + size}\n`;
  if (!src.pipe) {
    const set = [...new Set(src.features)].filter((b) => b < LAST_FEATURE).sort((a, b) => a - b);
    s += linesOf(set, src, opts, warnings);
    s += "# missing features: ";
    for (let bit = 1; bit < LAST_FEATURE; bit++) {
      if (!set.includes(bit)) s += `${featureBitName(bit)} `;
    }
    s += "\n";
  }
  s += "# ========\n#\n";
  return { text: s, warnings };
}

/**
 * The features of a pipe-mode input as perf prints them while it processes their
 * HEADER_FEATURE records (`perf_event__process_feature` with `show_feat_hdr`).
 *
 * @param src The input (pipe mode).
 * @param opts `-I` (the mtime is not used).
 * @returns The lines and the features left out.
 */
export function perfHeaderFeatureText(
  src: PerfHeaderSource,
  opts: PerfHeaderOptions,
): PerfHeaderText {
  const warnings: string[] = [];
  const bits = src.payloads.map((p) => p.bit).filter((b) => b < LAST_FEATURE);
  return { text: linesOf(bits, src, opts, warnings), warnings };
}

/**
 * The header printer's view of a read perf.data header.
 *
 * @param info The header, attrs and features (`featurePayloads` as the reader kept them).
 * @returns The source.
 */
export function perfHeaderSource(info: PerfDataInfo): PerfHeaderSource {
  return {
    pipe: info.pipe,
    dataOffset: info.dataOffset,
    dataSize: info.dataSize,
    features: info.features,
    payloads: info.featurePayloads ?? [],
    eventNames: info.events.map((e) => e.name),
  };
}

/**
 * An input's modification time, as perf's fstat of the file it reads.
 *
 * @param path The path, or `-` for stdin.
 * @returns The mtime (the epoch when the system does not say).
 */
export function inputMtime(path: string): Date {
  const st = Deno.statSync(path === "-" ? "/dev/stdin" : path);
  return st.mtime ?? new Date(0);
}

/** Which header text a command prints ({@linkcode perfHeaderOutputText}). */
export interface PerfHeaderRequest {
  /** `--header` (`"header"`) or `--header-only` (`"only"`); undefined for neither. */
  header?: "header" | "only";
  /** `-I` / `--show-info`. */
  full?: boolean;
  /**
   * perf report goes on reading a pipe's records after `--header-only` (printing their
   * features); perf script stops before (default false: script's way).
   */
  pipeFeaturesWhenOnly?: boolean;
}

/**
 * What perf prints of the header for a request: the `# ========` block for
 * `--header` / `--header-only`, and in pipe mode the features (as perf prints
 * them when their records arrive, before any sample), also for `-I` alone.
 *
 * @param info The input's header (as read, with `featurePayloads`).
 * @param path The input path (`-` for stdin): its mtime is `captured on`.
 * @param request The options.
 * @returns The text (empty when nothing is printed) and the features left out.
 */
export function perfHeaderOutputText(
  info: PerfDataInfo,
  path: string,
  request: PerfHeaderRequest,
): PerfHeaderText {
  const src = perfHeaderSource(info);
  const opts = { mtime: inputMtime(path), full: request.full === true };
  const parts: PerfHeaderText[] = [];
  if (request.header !== undefined) parts.push(perfHeaderText(src, opts));
  const pipeFeatures = request.header !== "only"
    ? request.header !== undefined || opts.full
    : request.pipeFeaturesWhenOnly === true;
  if (info.pipe && pipeFeatures) parts.push(perfHeaderFeatureText(src, opts));
  return {
    text: parts.map((p) => p.text).join(""),
    warnings: parts.flatMap((p) => p.warnings),
  };
}

/** `--header` / `--header-only` asked of an input without a perf.data header. */
export class PerfHeaderInputError extends Error {
  /**
   * Create the error.
   *
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "PerfHeaderInputError";
  }
}

/**
 * Read only the header of a perf.data input (file or pipe mode: the leading header
 * records, with their features), for `--header-only`.
 *
 * @param path The path, or `-` for stdin.
 * @returns The header.
 * @throws {PerfHeaderInputError} When the input is a callring capture or perf script text.
 * @throws {import("../abi/mod.ts").FormatError} When the input is malformed.
 */
export async function readPerfHeaderInfo(path: string): Promise<PerfDataInfo> {
  const format = path === "-" ? "perf.data" : await detectInputFormat(path);
  if (format !== "perf.data") {
    throw new PerfHeaderInputError(`${path} is a ${format} input, which has no perf.data header`);
  }
  const file = await openPerfData(path);
  try {
    return file.info;
  } finally {
    file.close();
  }
}
