/**
 * perf.data feature sections (`HEADER_*` bits of `adds_features`): their bit
 * numbers, decoders for the ones callring reads and encoders for the ones the
 * writer emits. The payload encodings are the same in a file's feature
 * sections and in pipe-mode `PERF_RECORD_HEADER_FEATURE` records.
 *
 * @module
 */

import {
  ATTR_SIZE_VER7,
  ByteWriter,
  decodeAttr,
  encodeAttr,
  FormatError,
  getU64,
  type PerfEventAttr,
} from "../abi/mod.ts";

/** Feature bit numbers (`enum HEADER_*` in perf's `util/header.h`). */
export const HeaderFeature = {
  TRACING_DATA: 1,
  BUILD_ID: 2,
  HOSTNAME: 3,
  OSRELEASE: 4,
  VERSION: 5,
  ARCH: 6,
  NRCPUS: 7,
  CPUDESC: 8,
  CPUID: 9,
  TOTAL_MEM: 10,
  CMDLINE: 11,
  EVENT_DESC: 12,
  CPU_TOPOLOGY: 13,
  NUMA_TOPOLOGY: 14,
  BRANCH_STACK: 15,
  PMU_MAPPINGS: 16,
  GROUP_DESC: 17,
  AUXTRACE: 18,
  STAT: 19,
  CACHE: 20,
  SAMPLE_TIME: 21,
  MEM_TOPOLOGY: 22,
  CLOCKID: 23,
  DIR_FORMAT: 24,
  BPF_PROG_INFO: 25,
  BPF_BTF: 26,
  COMPRESSED: 27,
  CPU_PMU_CAPS: 28,
  CLOCK_DATA: 29,
  HYBRID_TOPOLOGY: 30,
  PMU_CAPS: 31,
  /** `HEADER_LAST_FEATURE` in perf 6.1: pipe mode sends it to end the feature list. */
  LAST_FEATURE: 32,
} as const;

/** Number of bits in the `adds_features` bitmap. */
export const FEATURE_BITS = 256;

/** Alignment perf pads header strings to (`NAME_ALIGN`). */
export const NAME_ALIGN = 64;

/** One entry of the `HEADER_EVENT_DESC` feature. */
export interface EventDesc {
  /** The event's attr. */
  attr: PerfEventAttr;
  /** perf's event name, e.g. `cpu-clock`. */
  name: string;
  /** Sample ids of the event. */
  ids: number[];
}

/** One `build_id_event` of the `HEADER_BUILD_ID` feature. */
export interface BuildIdEntry {
  /** Process id (-1 for the kernel). */
  pid: number;
  /** DSO path. */
  filename: string;
  /** Build id in lower-case hex. */
  buildId: string;
  /** The record's `misc` (cpumode and `PERF_RECORD_MISC_BUILD_ID_SIZE`). */
  misc: number;
}

/** `PERF_RECORD_MISC_BUILD_ID_SIZE`: `build_id[20]` holds the real length. */
export const MISC_BUILD_ID_SIZE = 1 << 15;

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** Bounds-checked cursor over one feature payload. */
export class FeatureCursor {
  readonly #view: DataView;
  readonly #end: number;
  readonly #fileOffset: number;
  readonly #what: string;
  #start: number;
  /** Current position in the view. */
  pos: number;

  /**
   * Create a cursor over one payload.
   *
   * @param view The view holding the payload.
   * @param start Offset of the payload in the view.
   * @param size Payload size.
   * @param fileOffset File offset of the payload (for messages).
   * @param what Feature name (for messages).
   */
  constructor(view: DataView, start: number, size: number, fileOffset: number, what: string) {
    this.#view = view;
    this.#start = start;
    this.pos = start;
    this.#end = start + size;
    this.#fileOffset = fileOffset;
    this.#what = what;
  }

  /** Bytes left in the payload. */
  get remaining(): number {
    return this.#end - this.pos;
  }

  #need(n: number, field: string): number {
    if (n < 0 || this.pos + n > this.#end) {
      throw new FormatError(
        `Cannot decode feature ${this.#what}: ${field} needs ${n} bytes, ${this.remaining} left`,
        this.#fileOffset + (this.pos - this.#start),
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /**
   * Read a u32.
   *
   * @returns The next u32.
   */
  u32(): number {
    return this.#view.getUint32(this.#need(4, "u32"), true);
  }
  /**
   * Read an s32.
   *
   * @returns The next s32.
   */
  i32(): number {
    return this.#view.getInt32(this.#need(4, "s32"), true);
  }
  /**
   * Read a u64.
   *
   * @returns The next u64 as a number.
   */
  u64(): number {
    return getU64(this.#view, this.#need(8, "u64"));
  }
  /**
   * Take raw bytes.
   *
   * @param n Byte count.
   * @returns A view of the next `n` bytes (not copied).
   */
  bytes(n: number): Uint8Array {
    const at = this.#need(n, `${n}-byte field`);
    return new Uint8Array(this.#view.buffer, this.#view.byteOffset + at, n);
  }
  /**
   * Read a `perf_header_string`.
   *
   * @returns The next `perf_header_string` (u32 len + NUL-padded chars).
   */
  string(): string {
    const len = this.u32();
    const b = this.bytes(len);
    const nul = b.indexOf(0);
    return utf8.decode(nul < 0 ? b : b.subarray(0, nul));
  }
  /**
   * Take a sub-range for a nested decoder.
   *
   * @param n Byte count.
   * @returns A DataView of the next `n` bytes and its offset in that view.
   */
  sub(n: number): { view: DataView; offset: number; fileOffset: number } {
    const fileOffset = this.#fileOffset + (this.pos - this.#start);
    const at = this.#need(n, `${n}-byte field`);
    return { view: this.#view, offset: at, fileOffset };
  }
}

/**
 * Decode a `perf_header_string` payload (HOSTNAME, OSRELEASE, VERSION, ARCH, CPUDESC, CPUID).
 *
 * @param c The payload cursor.
 * @returns The string.
 */
export function decodeStringFeature(c: FeatureCursor): string {
  return c.string();
}

/**
 * Decode a string list (CMDLINE): u32 nr, then nr strings. The count is checked
 * against the payload size before anything is allocated.
 *
 * @param c The payload cursor.
 * @returns The strings.
 */
export function decodeStringList(c: FeatureCursor): string[] {
  const nr = c.u32();
  if (nr * 4 > c.remaining) {
    throw new FormatError(`Cannot decode string list: ${nr} entries in ${c.remaining} bytes`);
  }
  const out: string[] = [];
  for (let i = 0; i < nr; i++) out.push(c.string());
  return out;
}

/**
 * Decode NRCPUS: `{u32 nr_cpus_avail, u32 nr_cpus_online}` (perf's `write_nrcpus`).
 *
 * @param c The payload cursor.
 * @returns Available and online CPU counts.
 */
export function decodeNrCpus(c: FeatureCursor): { available: number; online: number } {
  const available = c.u32();
  const online = c.u32();
  return { available, online };
}

/**
 * Decode SAMPLE_TIME: `{u64 first, u64 last}` in nanoseconds.
 *
 * @param c The payload cursor.
 * @returns First and last sample times.
 */
export function decodeSampleTime(c: FeatureCursor): { first: number; last: number } {
  const first = c.u64();
  const last = c.u64();
  return { first, last };
}

/**
 * Decode EVENT_DESC: u32 nr, u32 attr_size, then per event {attr, u32 nr_ids,
 * string name, u64 ids[nr_ids]}.
 *
 * @param c The payload cursor.
 * @returns One entry per event, in evsel index order.
 */
export function decodeEventDesc(c: FeatureCursor): EventDesc[] {
  const nr = c.u32();
  const attrSize = c.u32();
  if (attrSize < 64 || attrSize > 4096) {
    throw new FormatError(`Cannot decode EVENT_DESC: attr size ${attrSize}`);
  }
  if (nr * (attrSize + 8) > c.remaining) {
    throw new FormatError(`Cannot decode EVENT_DESC: ${nr} events in ${c.remaining} bytes`);
  }
  const out: EventDesc[] = [];
  for (let i = 0; i < nr; i++) {
    const { view, offset, fileOffset } = c.sub(attrSize);
    const attr = decodeAttr(view, offset, attrSize, fileOffset);
    const nrIds = c.u32();
    const name = c.string();
    if (nrIds * 8 > c.remaining) {
      throw new FormatError(`Cannot decode EVENT_DESC: ${nrIds} ids in ${c.remaining} bytes`);
    }
    const ids: number[] = [];
    for (let j = 0; j < nrIds; j++) ids.push(c.u64());
    out.push({ attr, name, ids });
  }
  return out;
}

/** One GROUP_DESC entry: a group's leader and how many events it holds. */
export interface GroupDesc {
  /** Group name (`anon_group` for an unnamed `{a,b}`, perf prints "anon group"). */
  name: string;
  /** Event index of the leader. */
  leader: number;
  /** Number of events in the group, the leader included. */
  members: number;
}

/**
 * Decode GROUP_DESC: u32 nr_groups, then per group {string name, u32
 * leader_idx, u32 nr_members} (perf's `write_group_desc`).
 *
 * @param c The payload cursor.
 * @returns The groups.
 */
export function decodeGroupDesc(c: FeatureCursor): GroupDesc[] {
  const nr = c.u32();
  if (nr * 12 > c.remaining) {
    throw new FormatError(`Cannot decode GROUP_DESC: ${nr} groups in ${c.remaining} bytes`);
  }
  const out: GroupDesc[] = [];
  for (let i = 0; i < nr; i++) {
    const name = c.string();
    const leader = c.u32();
    const members = c.u32();
    out.push({ name, leader, members });
  }
  return out;
}

/**
 * Decode BUILD_ID: a sequence of `build_id_event` {header, s32 pid, u8
 * build_id[24], char filename[]}, each `header.size` bytes long.
 *
 * @param c The payload cursor.
 * @returns The entries.
 */
export function decodeBuildIds(c: FeatureCursor): BuildIdEntry[] {
  const out: BuildIdEntry[] = [];
  while (c.remaining >= 8) {
    const { view, offset, fileOffset } = c.sub(8);
    const misc = view.getUint16(offset + 4, true);
    const size = view.getUint16(offset + 6, true);
    if (size < 36 || size - 8 > c.remaining) {
      throw new FormatError(`Cannot decode BUILD_ID: entry size ${size}`, fileOffset);
    }
    const pid = c.i32();
    const id = c.bytes(24);
    const len = misc & MISC_BUILD_ID_SIZE ? Math.min(id[20]!, 20) : 20;
    let hex = "";
    for (let i = 0; i < len; i++) hex += id[i]!.toString(16).padStart(2, "0");
    const name = c.bytes(size - 36);
    const nul = name.indexOf(0);
    out.push({
      pid,
      buildId: hex,
      misc,
      filename: utf8.decode(nul < 0 ? name : name.subarray(0, nul)),
    });
  }
  return out;
}

/**
 * Append a `perf_header_string`: u32 len, then the string, NUL and zero padding
 * to a multiple of 64 (perf's `do_write_string`).
 *
 * @param w The writer.
 * @param s The string.
 */
export function writeHeaderString(w: ByteWriter, s: string): void {
  const bytes = utf8Encoder.encode(s);
  const len = Math.ceil((bytes.length + 1) / NAME_ALIGN) * NAME_ALIGN;
  w.u32(len);
  w.bytes(bytes);
  w.bytes(new Uint8Array(len - bytes.length));
}

/**
 * Encode a string feature payload.
 *
 * @param s The string.
 * @returns The payload.
 */
export function encodeStringFeature(s: string): Uint8Array {
  const w = new ByteWriter(NAME_ALIGN + 4);
  writeHeaderString(w, s);
  return w.finish();
}

/**
 * Encode a string list payload (CMDLINE).
 *
 * @param list The strings.
 * @returns The payload.
 */
export function encodeStringList(list: readonly string[]): Uint8Array {
  const w = new ByteWriter();
  w.u32(list.length);
  for (const s of list) writeHeaderString(w, s);
  return w.finish();
}

/**
 * Encode NRCPUS.
 *
 * @param available `nr_cpus_avail`.
 * @param online `nr_cpus_online`.
 * @returns The 8-byte payload.
 */
export function encodeNrCpus(available: number, online: number): Uint8Array {
  const w = new ByteWriter(8);
  w.u32(available);
  w.u32(online);
  return w.finish();
}

/**
 * Encode SAMPLE_TIME.
 *
 * @param first First sample time (ns).
 * @param last Last sample time (ns).
 * @returns The 16-byte payload.
 */
export function encodeSampleTime(first: number, last: number): Uint8Array {
  const w = new ByteWriter(16);
  w.u64(first);
  w.u64(last);
  return w.finish();
}

/**
 * Encode EVENT_DESC. Attrs are written at {@linkcode ATTR_SIZE_VER7} (what perf 6.1 reads).
 *
 * @param events The events in index order.
 * @returns The payload.
 */
export function encodeEventDesc(events: readonly EventDesc[]): Uint8Array {
  const w = new ByteWriter();
  w.u32(events.length);
  w.u32(ATTR_SIZE_VER7);
  for (const e of events) {
    w.bytes(encodeAttr({ ...e.attr, size: ATTR_SIZE_VER7 }));
    w.u32(e.ids.length);
    writeHeaderString(w, e.name);
    for (const id of e.ids) w.u64(id);
  }
  return w.finish();
}

/**
 * Encode BUILD_ID entries. `misc`'s cpumode must be right: perf treats
 * `PERF_RECORD_MISC_KERNEL` entries as kernel images (and crashes on a user
 * DSO marked so).
 *
 * @param entries The entries (`buildId` in hex, at most 20 bytes).
 * @returns The payload.
 */
export function encodeBuildIds(entries: readonly BuildIdEntry[]): Uint8Array {
  const w = new ByteWriter();
  for (const e of entries) {
    const name = utf8Encoder.encode(e.filename);
    const nameLen = Math.ceil((name.length + 1) / NAME_ALIGN) * NAME_ALIGN;
    const id = new Uint8Array(24);
    const n = Math.min(e.buildId.length >> 1, 20);
    for (let i = 0; i < n; i++) id[i] = parseInt(e.buildId.slice(2 * i, 2 * i + 2), 16);
    id[20] = n;
    w.u32(0); // perf leaves the type 0 in the feature section
    w.u16((e.misc & 7) | MISC_BUILD_ID_SIZE);
    w.u16(36 + nameLen);
    w.i32(e.pid);
    w.bytes(id);
    w.bytes(name);
    w.bytes(new Uint8Array(nameLen - name.length));
  }
  return w.finish();
}
