/**
 * The feature sections perf prints with `--header` (perf's `process_*`
 * functions of `util/header.c`, 6.1), decoded from their raw payloads: the
 * strings and numbers of the machine (CPUDESC, CPUID, TOTAL_MEM...), the
 * topologies (CPU, NUMA, caches, memory, hybrid), PMU mappings and
 * capabilities, clocks, compression, directory format and BPF BTF ids.
 * Each decoder checks the payload size before it allocates.
 *
 * @module
 */

import { FormatError } from "../abi/mod.ts";
import {
  decodeEventDesc,
  decodeGroupDesc,
  decodeNrCpus,
  decodeSampleTime,
  decodeStringList,
  type EventDesc,
  FeatureCursor,
  type GroupDesc,
  HeaderFeature,
} from "./features.ts";

/** A feature's payload as the file (or a pipe's HEADER_FEATURE record) holds it. */
export interface FeaturePayload {
  /** The feature bit (`HEADER_*`). */
  bit: number;
  /** The payload bytes. */
  bytes: Uint8Array;
  /** File offset of the payload (for messages). */
  fileOffset: number;
}

/** CPU_TOPOLOGY (perf's `process_cpu_topology`). */
export interface CpuTopology {
  /** `sibling sockets` lists (perf's `sibling_cores`). */
  cores: string[];
  /** `sibling threads` lists. */
  threads: string[];
  /** Per CPU core and socket ids (absent in files of old perf). */
  cpus?: { core: number; socket: number; die?: number }[];
  /** `sibling dies` lists (perf >= 5.2). */
  dies?: string[];
}

/** One NUMA_TOPOLOGY node. */
export interface NumaNode {
  /** Node number. */
  node: number;
  /** Total memory (kB). */
  memTotal: number;
  /** Free memory (kB). */
  memFree: number;
  /** CPU list as recorded. */
  cpus: string;
}

/** One CACHE level entry (`struct cpu_cache_level`). */
export interface CacheLevel {
  /** Level (1, 2, 3). */
  level: number;
  /** Line size. */
  lineSize: number;
  /** Sets. */
  sets: number;
  /** Ways. */
  ways: number;
  /** Type (`Data`, `Instruction`, `Unified`). */
  type: string;
  /** Size text (`32K`). */
  size: string;
  /** CPU list sharing it. */
  map: string;
}

/** One MEM_TOPOLOGY node. */
export interface MemoryNode {
  /** Node number. */
  node: number;
  /** The memory blocks present (indices of set bits). */
  blocks: number[];
}

/** MEM_TOPOLOGY. */
export interface MemTopology {
  /** Block size in bytes. */
  blockSize: number;
  /** The nodes. */
  nodes: MemoryNode[];
}

/** CLOCK_DATA. */
export interface ClockData {
  /** The clock perf used (`-k`), a `clockid_t`. */
  clockid: number;
  /** Time of day of the reference point (ns). */
  todNs: bigint;
  /** The clock's time of the reference point (ns). */
  clockidNs: bigint;
}

/** COMPRESSED. */
export interface CompressedInfo {
  /** Compression type (1 = Zstd). */
  type: number;
  /** Level. */
  level: number;
  /** Ratio. */
  ratio: number;
}

/** One PMU's capabilities (`name=value` strings). */
export interface PmuCaps {
  /** The PMU. */
  pmu: string;
  /** Its capabilities, `name=value`. */
  caps: string[];
}

/** One BPF_PROG_INFO entry: what perf's `__bpf_event__print_bpf_prog_info` reads of it. */
export interface BpfProgInfo {
  /** Program id. */
  id: number;
  /** `name` (may be empty). */
  name: string;
  /** `btf_id` (0: none). */
  btfId: number;
  /** `nr_jited_ksyms`: the sub-programs. */
  nrJitedKsyms: number;
  /** `nr_jited_func_lens`. */
  nrJitedFuncLens: number;
  /** `nr_prog_tags`. */
  nrProgTags: number;
  /** Sub-program addresses (`jited_ksyms`). */
  addrs: bigint[];
  /** Sub-program sizes (`jited_func_lens`). */
  lens: number[];
  /** Sub-program tags in hex (`prog_tags`). */
  tags: string[];
  /** BTF type ids of the sub-programs' functions (`func_info` records' `type_id`). */
  funcTypeIds: number[];
}

/** What perf's `--header` prints of the features, as decoded; absent = not in the file. */
export interface FeatureInfo {
  /** HOSTNAME. */
  hostname?: string;
  /** OSRELEASE. */
  osRelease?: string;
  /** VERSION. */
  version?: string;
  /** ARCH. */
  arch?: string;
  /** NRCPUS. */
  nrCpus?: { available: number; online: number };
  /** CPUDESC. */
  cpuDesc?: string;
  /** CPUID. */
  cpuid?: string;
  /** TOTAL_MEM (kB). */
  totalMem?: number;
  /** CMDLINE. */
  cmdline?: string[];
  /** EVENT_DESC (undefined entries: the payload could not be read, as perf says). */
  eventDesc?: EventDesc[] | null;
  /** CPU_TOPOLOGY. */
  cpuTopology?: CpuTopology;
  /** NUMA_TOPOLOGY. */
  numa?: NumaNode[];
  /** PMU_MAPPINGS: type and name, in file order. */
  pmuMappings?: { type: number; name: string }[];
  /** GROUP_DESC. */
  groups?: GroupDesc[];
  /** CACHE. */
  caches?: CacheLevel[];
  /** SAMPLE_TIME. */
  sampleTime?: { first: number; last: number };
  /** MEM_TOPOLOGY. */
  memTopology?: MemTopology;
  /** CLOCKID: the clock's resolution in ns. */
  clockidResNs?: number;
  /** DIR_FORMAT version. */
  dirFormat?: number;
  /** BPF_PROG_INFO: the programs perf recorded, in file order. */
  bpfProgs?: BpfProgInfo[];
  /** BPF_BTF ids. */
  btfIds?: number[];
  /** BPF_BTF data by id (for the programs' function names). */
  btfs?: Map<number, Uint8Array>;
  /** COMPRESSED. */
  compressed?: CompressedInfo;
  /** CPU_PMU_CAPS. */
  cpuPmuCaps?: string[];
  /** CLOCK_DATA. */
  clockData?: ClockData;
  /** HYBRID_TOPOLOGY: PMU name and CPU list per node. */
  hybrid?: { pmu: string; cpus: string }[];
  /** PMU_CAPS. */
  pmuCaps?: PmuCaps[];
}

/** The `HEADER_*` name of a feature bit (`#N` for bits perf 6.1 does not name). */
export function featureBitName(bit: number): string {
  return Object.entries(HeaderFeature).find(([k, v]) => v === bit && k !== "LAST_FEATURE")?.[0] ??
    `#${bit}`;
}

function strings(c: FeatureCursor, what: string): string[] {
  const nr = c.u32();
  if (nr * 4 > c.remaining) {
    throw new FormatError(`Cannot decode ${what}: ${nr} strings in ${c.remaining} bytes`);
  }
  const out: string[] = [];
  for (let i = 0; i < nr; i++) out.push(c.string());
  return out;
}

/** A u64 without rounding (times of day in ns pass 2^53). */
function bigU64(c: FeatureCursor): bigint {
  const b = c.bytes(8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

function count(c: FeatureCursor, each: number, what: string): number {
  const nr = c.u32();
  if (nr * each > c.remaining) {
    throw new FormatError(`Cannot decode ${what}: ${nr} entries in ${c.remaining} bytes`);
  }
  return nr;
}

/** perf's `string_size`: what it assumes a string took (`PERF_ALIGN(len + 1, 64) + 4`). */
function stringSize(str: string): number {
  return Math.ceil((new TextEncoder().encode(str).length + 1) / 64) * 64 + 4;
}

function cpuTopology(c: FeatureCursor, nrCpus: number, payloadSize: number): CpuTopology {
  const t: CpuTopology = { cores: strings(c, "CPU_TOPOLOGY"), threads: strings(c, "CPU_TOPOLOGY") };
  // perf tells older files by the size it assumes the lists took, not by what they took
  let size = 8;
  for (const l of [...t.cores, ...t.threads]) size += stringSize(l);
  if (payloadSize <= size) return t;
  const cpus: { core: number; socket: number; die?: number }[] = [];
  for (let i = 0; i < nrCpus; i++) cpus.push({ core: c.u32(), socket: c.u32() });
  t.cpus = cpus;
  size += 8 * nrCpus;
  if (payloadSize <= size) return t;
  t.dies = strings(c, "CPU_TOPOLOGY");
  for (const cpu of cpus) cpu.die = c.u32();
  return t;
}

/** `sizeof(struct bpf_prog_info)` in perf 6.1's headers (228 bytes of fields, 8-aligned). */
const BPF_PROG_INFO_SIZE = 232;

/**
 * One `struct perf_bpil` as perf's `write_bpf_prog_info` stores it: u32 info_len,
 * u32 data_len, u64 arrays, `bpf_prog_info` (info_len bytes, array pointers as
 * offsets into data), data.
 */
function bpfProgInfo(c: FeatureCursor): BpfProgInfo {
  const infoLen = c.u32();
  const dataLen = c.u32();
  if (infoLen > BPF_PROG_INFO_SIZE) {
    throw new FormatError(
      `Cannot decode BPF_PROG_INFO: info_len ${infoLen} (detected invalid bpf_prog_info)`,
    );
  }
  c.u64(); // arrays
  const raw = new Uint8Array(BPF_PROG_INFO_SIZE);
  raw.set(c.bytes(infoLen));
  const data = c.bytes(dataLen);
  const v = new DataView(raw.buffer);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const u32 = (o: number) => v.getUint32(o, true);
  const offset = (o: number, n: number, each: number, what: string) => {
    const at = Number(v.getBigUint64(o, true));
    if (n > 0 && (at + n * each > dataLen || at < 0)) {
      throw new FormatError(`Cannot decode BPF_PROG_INFO: ${what} outside the program's data`);
    }
    return at;
  };
  const nameBytes = raw.subarray(64, 80);
  const nul = nameBytes.indexOf(0);
  const name = new TextDecoder().decode(nul < 0 ? nameBytes : nameBytes.subarray(0, nul));
  const nrKsyms = u32(104), nrLens = u32(108), nrTags = u32(180);
  const nrFuncInfo = u32(144), recSize = u32(132);
  const ksyms = offset(112, nrKsyms, 8, "jited_ksyms");
  const lens = offset(120, nrLens, 4, "jited_func_lens");
  const tags = offset(184, nrTags, 8, "prog_tags");
  const funcs = offset(136, nrFuncInfo, Math.max(recSize, 8), "func_info");
  const hex = (at: number) =>
    [...data.subarray(at, at + 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const out: BpfProgInfo = {
    id: u32(4),
    name,
    btfId: u32(128),
    nrJitedKsyms: nrKsyms,
    nrJitedFuncLens: nrLens,
    nrProgTags: nrTags,
    addrs: [],
    lens: [],
    tags: [],
    funcTypeIds: [],
  };
  for (let i = 0; i < nrKsyms; i++) out.addrs.push(dv.getBigUint64(ksyms + 8 * i, true));
  for (let i = 0; i < nrLens; i++) out.lens.push(dv.getUint32(lens + 4 * i, true));
  for (let i = 0; i < nrTags; i++) out.tags.push(hex(tags + 8 * i));
  // struct bpf_func_info { u32 insn_off; u32 type_id; }, func_info_rec_size apart
  for (let i = 0; i < nrFuncInfo; i++) {
    out.funcTypeIds.push(dv.getUint32(funcs + recSize * i + 4, true));
  }
  return out;
}

/** BTF kinds' extra bytes after `struct btf_type` (12 bytes), by kind, for `vlen` members. */
function btfExtra(kind: number, vlen: number): number | undefined {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return 12 * vlen;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return 8 * vlen;
    case 2: // PTR
    case 7: // FWD
    case 8: // TYPEDEF
    case 9: // VOLATILE
    case 10: // CONST
    case 11: // RESTRICT
    case 12: // FUNC
    case 16: // FLOAT
    case 18: // TYPE_TAG
      return 0;
  }
  return undefined;
}

/**
 * The name of a BTF type (libbpf's `btf__type_by_id` and `btf__name_by_offset`
 * over a standalone BTF object).
 *
 * @param btf The BTF data (header, types, strings).
 * @param id The type id (1-based).
 * @returns The name, or undefined when the data is not BTF perf could load or has no such type.
 */
export function btfTypeName(btf: Uint8Array, id: number): string | undefined {
  if (btf.length < 24) return undefined;
  const v = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (v.getUint16(0, true) !== 0xeb9f) return undefined;
  const hdrLen = v.getUint32(4, true);
  const typeOff = hdrLen + v.getUint32(8, true), typeLen = v.getUint32(12, true);
  const strOff = hdrLen + v.getUint32(16, true), strLen = v.getUint32(20, true);
  if (typeOff + typeLen > btf.length || strOff + strLen > btf.length) return undefined;
  let at = typeOff;
  for (let t = 1; at + 12 <= typeOff + typeLen; t++) {
    const nameOff = v.getUint32(at, true);
    const infoWord = v.getUint32(at + 4, true);
    if (t === id) {
      if (nameOff >= strLen) return undefined;
      const s = btf.subarray(strOff + nameOff, strOff + strLen);
      const nul = s.indexOf(0);
      return new TextDecoder().decode(nul < 0 ? s : s.subarray(0, nul));
    }
    const extra = btfExtra((infoWord >>> 24) & 0x1f, infoWord & 0xffff);
    if (extra === undefined) return undefined;
    at += 12 + extra;
  }
  return undefined;
}

function capsList(c: FeatureCursor, what: string): string[] {
  const nr = count(c, 8, what);
  const out: string[] = [];
  for (let i = 0; i < nr; i++) {
    const name = c.string();
    const value = c.string();
    out.push(`${name}=${value}`);
  }
  return out;
}

function decodeOne(info: FeatureInfo, bit: number, c: FeatureCursor): void {
  switch (bit) {
    case HeaderFeature.HOSTNAME:
      info.hostname = c.string();
      break;
    case HeaderFeature.OSRELEASE:
      info.osRelease = c.string();
      break;
    case HeaderFeature.VERSION:
      info.version = c.string();
      break;
    case HeaderFeature.ARCH:
      info.arch = c.string();
      break;
    case HeaderFeature.NRCPUS:
      info.nrCpus = decodeNrCpus(c);
      break;
    case HeaderFeature.CPUDESC:
      info.cpuDesc = c.string();
      break;
    case HeaderFeature.CPUID:
      info.cpuid = c.string();
      break;
    case HeaderFeature.TOTAL_MEM:
      info.totalMem = c.u64();
      break;
    case HeaderFeature.CMDLINE:
      info.cmdline = decodeStringList(c);
      break;
    case HeaderFeature.EVENT_DESC:
      info.eventDesc = decodeEventDesc(c);
      break;
    case HeaderFeature.CPU_TOPOLOGY:
      info.cpuTopology = cpuTopology(c, info.nrCpus?.available ?? 0, c.remaining);
      break;
    case HeaderFeature.NUMA_TOPOLOGY: {
      const nr = count(c, 24, "NUMA_TOPOLOGY");
      const nodes: NumaNode[] = [];
      for (let i = 0; i < nr; i++) {
        nodes.push({ node: c.u32(), memTotal: c.u64(), memFree: c.u64(), cpus: c.string() });
      }
      info.numa = nodes;
      break;
    }
    case HeaderFeature.PMU_MAPPINGS: {
      const nr = count(c, 8, "PMU_MAPPINGS");
      const out: { type: number; name: string }[] = [];
      for (let i = 0; i < nr; i++) out.push({ type: c.u32(), name: c.string() });
      info.pmuMappings = out;
      break;
    }
    case HeaderFeature.GROUP_DESC:
      info.groups = decodeGroupDesc(c);
      break;
    case HeaderFeature.CACHE: {
      c.u32(); // version
      const nr = count(c, 28, "CACHE");
      const out: CacheLevel[] = [];
      for (let i = 0; i < nr; i++) {
        out.push({
          level: c.u32(),
          lineSize: c.u32(),
          sets: c.u32(),
          ways: c.u32(),
          type: c.string(),
          size: c.string(),
          map: c.string(),
        });
      }
      info.caches = out;
      break;
    }
    case HeaderFeature.SAMPLE_TIME:
      info.sampleTime = decodeSampleTime(c);
      break;
    case HeaderFeature.MEM_TOPOLOGY: {
      c.u64(); // version
      const blockSize = c.u64();
      const nr = c.u64();
      if (nr * 24 > c.remaining) {
        throw new FormatError(`Cannot decode MEM_TOPOLOGY: ${nr} nodes in ${c.remaining} bytes`);
      }
      const nodes: MemoryNode[] = [];
      for (let i = 0; i < nr; i++) {
        const node = c.u64();
        c.u64(); // the node's size, then do_write_bitmap's own copy of it
        const bits = c.u64();
        const words = Math.ceil(bits / 64);
        if (words * 8 > c.remaining) {
          throw new FormatError(`Cannot decode MEM_TOPOLOGY: a ${bits}-bit map`);
        }
        const blocks: number[] = [];
        for (let w = 0; w < words; w++) {
          const lo = c.u32(), hi = c.u32();
          for (let b = 0; b < 64; b++) {
            const set = b < 32 ? (lo >>> b) & 1 : (hi >>> (b - 32)) & 1;
            if (set && w * 64 + b < bits) blocks.push(w * 64 + b);
          }
        }
        nodes.push({ node, blocks });
      }
      info.memTopology = { blockSize, nodes };
      break;
    }
    case HeaderFeature.CLOCKID:
      info.clockidResNs = c.u64();
      break;
    case HeaderFeature.DIR_FORMAT:
      info.dirFormat = c.u64();
      break;
    case HeaderFeature.BPF_PROG_INFO: {
      const nr = count(c, 16, "BPF_PROG_INFO");
      const progs: BpfProgInfo[] = [];
      for (let i = 0; i < nr; i++) progs.push(bpfProgInfo(c));
      info.bpfProgs = progs;
      break;
    }
    case HeaderFeature.BPF_BTF: {
      const nr = count(c, 8, "BPF_BTF");
      const ids: number[] = [];
      const btfs = new Map<number, Uint8Array>();
      for (let i = 0; i < nr; i++) {
        const id = c.u32();
        ids.push(id);
        btfs.set(id, c.bytes(c.u32()));
      }
      info.btfIds = ids;
      info.btfs = btfs;
      break;
    }
    case HeaderFeature.COMPRESSED: {
      c.u32(); // version
      info.compressed = { type: c.u32(), level: c.u32(), ratio: c.u32() };
      break;
    }
    case HeaderFeature.CPU_PMU_CAPS:
      info.cpuPmuCaps = capsList(c, "CPU_PMU_CAPS");
      break;
    case HeaderFeature.CLOCK_DATA: {
      c.u32(); // version
      info.clockData = { clockid: c.u32(), todNs: bigU64(c), clockidNs: bigU64(c) };
      break;
    }
    case HeaderFeature.HYBRID_TOPOLOGY: {
      const nr = count(c, 8, "HYBRID_TOPOLOGY");
      const out: { pmu: string; cpus: string }[] = [];
      for (let i = 0; i < nr; i++) out.push({ pmu: c.string(), cpus: c.string() });
      info.hybrid = out;
      break;
    }
    case HeaderFeature.PMU_CAPS: {
      const nr = count(c, 8, "PMU_CAPS");
      const out: PmuCaps[] = [];
      for (let i = 0; i < nr; i++) {
        const caps = capsList(c, "PMU_CAPS");
        out.push({ pmu: c.string(), caps });
      }
      info.pmuCaps = out;
      break;
    }
  }
}

/**
 * Decode one feature payload into `info` (NRCPUS first: CPU_TOPOLOGY needs
 * its CPU count, as perf's bit order gives it).
 *
 * @param info The features decoded so far (updated).
 * @param payload The payload.
 * @returns A message naming the feature and file offset when the payload is malformed,
 *   undefined otherwise.
 */
export function decodeFeaturePayload(
  info: FeatureInfo,
  payload: FeaturePayload,
): string | undefined {
  const { bit, bytes, fileOffset } = payload;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = new FeatureCursor(view, 0, bytes.byteLength, fileOffset, featureBitName(bit));
  try {
    decodeOne(info, bit, c);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    if (bit === HeaderFeature.EVENT_DESC) info.eventDesc = null;
    return `feature ${featureBitName(bit)}: ${e.message}: as perf, the features from there on ` +
      "print as if empty (EVENT_DESC excepted)";
  }
  return undefined;
}
