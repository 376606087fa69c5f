/**
 * Structure-aware fuzz layouts ({@linkcode FuzzLayout}) of the two binary
 * inputs callring reads: perf.data (file and pipe mode) and callring
 * captures. Each builder walks a clean input directly (no reader involved, so
 * a reader bug cannot hide a field) and names the length, count, offset and
 * type fields worth setting to odd values, plus the record and chunk spans
 * worth duplicating or deleting. {@linkcode resealCapture} recomputes a
 * mutated capture's CRCs so mutations reach the parsing behind them.
 *
 * @example Layout of a perf.data file
 * ```ts ignore
 * import { perfDataLayouts } from "./fuzz_layouts.ts";
 * const bytes = await Deno.readFile("testdata/fp.data");
 * const { header, records } = perfDataLayouts(bytes);
 * console.log(header.fields.length, records.spans.length);
 * ```
 *
 * @module
 */

import { RecordType, SampleType } from "../abi/constants.ts";
import { SampleLayout } from "../abi/layout.ts";
import { crc32 } from "../ring/crc32.ts";
import {
  type FuzzField,
  type FuzzLayout,
  type FuzzRng,
  type FuzzSpan,
  mutateBytes,
  type Mutation,
  readUint,
} from "./fuzz.ts";

/** Layouts of one input, by where the mutations should strike. */
export interface FuzzLayouts {
  /** File header, attrs, ids, feature table and feature sections (capture: file and chunk headers). */
  header: FuzzLayout;
  /** Record headers and record fields (sizes, types, counts), spans = records. */
  records: FuzzLayout;
  /** Spans only (capture: whole chunks; perf.data: the records), for duplicate / delete. */
  spans: FuzzLayout;
}

const PIPE_HEADER_SIZE = 16;
const FILE_HEADER_SIZE = 104;
const FEATURE_BITS = 256;

/** Fields of a `perf_event_attr` at `at` of `size` bytes (only those inside it). */
function attrFields(at: number, size: number, name: string): FuzzField[] {
  const all: [number, 2 | 4 | 8, string][] = [
    [0, 4, "type"],
    [4, 4, "size"],
    [16, 8, "sample_period"],
    [24, 8, "sample_type"],
    [32, 8, "read_format"],
    [40, 8, "flags"],
    [72, 8, "branch_sample_type"],
    [80, 8, "sample_regs_user"],
    [88, 4, "sample_stack_user"],
    [92, 4, "clockid"],
    [96, 8, "sample_regs_intr"],
    [108, 2, "sample_max_stack"],
  ];
  return all.filter(([o, w]) => o + w <= size).map(([o, w, n]) => ({
    offset: at + o,
    width: w,
    name: `${name} ${n}`,
  }));
}

function popcount(x: bigint): number {
  let n = 0;
  for (; x; x &= x - 1n) n++;
  return n;
}

/** What the sample fields of an event look like (enough to find the counts in a sample). */
interface SampleShape {
  sampleType: number;
  regsUser: number;
  sampleIdAll: boolean;
}

function shapeOf(bytes: Uint8Array, at: number, size: number): SampleShape {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sampleType = size >= 32 ? readUint(bytes, at + 24, 4) : 0;
  const flags = size >= 48 ? readUint(bytes, at + 40, 4) : 0;
  const regsUser = size >= 88 ? popcount(v.getBigUint64(at + 80, true)) : 0;
  return { sampleType, regsUser, sampleIdAll: ((flags >>> 18) & 1) === 1 };
}

/**
 * Count fields inside one sample (callchain `nr`, raw size, user regs ABI,
 * user stack size and `dyn_size`), as far as the sample_type is simple
 * enough to walk (no READ, no BRANCH_STACK).
 */
function sampleFields(
  bytes: Uint8Array,
  at: number,
  size: number,
  shape: SampleShape,
  name: string,
): FuzzField[] {
  const st = shape.sampleType;
  const out: FuzzField[] = [];
  if (st & (SampleType.READ | SampleType.BRANCH_STACK)) return out;
  let p = at + SampleLayout.ofType(st).fixedEnd;
  const end = at + size;
  if (st & SampleType.CALLCHAIN) {
    if (p + 8 > end) return out;
    out.push({ offset: p, width: 8, name: `${name} callchain nr` });
    p += 8 + 8 * readUint(bytes, p, 4);
  }
  if (st & SampleType.RAW) {
    if (p + 4 > end) return out;
    out.push({ offset: p, width: 4, name: `${name} raw size` });
    p += 4 + readUint(bytes, p, 4);
  }
  if (st & SampleType.REGS_USER) {
    if (p + 8 > end) return out;
    out.push({ offset: p, width: 8, name: `${name} regs_user abi` });
    p += 8 + (readUint(bytes, p, 4) ? 8 * shape.regsUser : 0);
  }
  if (st & SampleType.STACK_USER) {
    if (p + 8 > end) return out;
    out.push({ offset: p, width: 8, name: `${name} stack_user size` });
    const n = readUint(bytes, p, 4);
    p += 8 + n;
    if (n && p + 8 <= end) out.push({ offset: p, width: 8, name: `${name} stack_user dyn_size` });
  }
  return out;
}

/** Fields of one record of a perf.data data section or capture payload. */
function recordFields(
  bytes: Uint8Array,
  at: number,
  size: number,
  shape: SampleShape | undefined,
  name: string,
): FuzzField[] {
  const type = readUint(bytes, at, 4);
  const out: FuzzField[] = [
    { offset: at, width: 4, name: `${name} type` },
    { offset: at + 4, width: 2, name: `${name} misc` },
    { offset: at + 6, width: 2, name: `${name} size` },
  ];
  const add = (o: number, w: 2 | 4 | 8, n: string) => {
    if (o + w <= size) out.push({ offset: at + o, width: w, name: `${name} ${n}` });
  };
  switch (type) {
    case RecordType.SAMPLE:
      if (shape) out.push(...sampleFields(bytes, at, size, shape, name));
      break;
    case RecordType.MMAP:
    case RecordType.MMAP2:
      add(8, 4, "pid");
      add(16, 8, "addr");
      add(24, 8, "len");
      add(32, 8, "pgoff");
      break;
    case RecordType.COMM:
    case RecordType.FORK:
    case RecordType.EXIT:
      add(8, 4, "pid");
      add(12, 4, "tid");
      break;
    case RecordType.LOST:
      add(8, 8, "id");
      add(16, 8, "lost");
      break;
    case RecordType.HEADER_ATTR:
      add(8 + 4, 4, "attr size");
      out.push(...attrFields(at + 8, Math.min(size - 8, 136), name).slice(2));
      break;
    case RecordType.HEADER_FEATURE:
      add(8, 8, "feature id");
      add(16, 4, "first u32 of payload");
      break;
    case RecordType.EVENT_UPDATE:
      add(8, 8, "update type");
      add(16, 8, "id");
      break;
    case RecordType.HEADER_TRACING_DATA:
    case RecordType.AUXTRACE:
      add(8, type === RecordType.AUXTRACE ? 8 : 4, "payload size");
      break;
    case RecordType.ID_INDEX:
    case RecordType.THREAD_MAP:
    case RecordType.CPU_MAP:
      add(8, 8, "nr");
      break;
    case RecordType.CALLRING_FRAGMENT:
      add(8, 8, "event id");
      add(16, 4, "index");
      add(20, 4, "flags");
      add(24, 4, "total entries");
      add(28, 4, "count");
      break;
    case RecordType.CALLRING_SYNC:
      add(24, 8, "seq");
      add(32, 8, "time");
      add(40, 8, "own stream offset");
      add(48, 8, "previous sync offset");
      add(56, 4, "cpu");
      break;
    case RecordType.CALLRING_SYMBOL:
      add(8, 8, "start");
      add(16, 8, "end");
      add(24, 4, "flags");
      add(28, 2, "name length");
      add(30, 2, "dso length");
      break;
  }
  return out;
}

/**
 * Walk records in `[start, end)` of `bytes` (sizes from the record headers),
 * stopping at the first impossible size.
 */
function walkRecords(
  bytes: Uint8Array,
  start: number,
  end: number,
  visit: (at: number, size: number) => void,
): void {
  for (let p = start; p + 8 <= end;) {
    const size = readUint(bytes, p + 6, 2);
    if (size < 8 || p + size > end) return;
    visit(p, size);
    p += size;
  }
}

/**
 * Layouts of a perf.data file (file or pipe mode) made by perf.
 *
 * @param bytes The clean file.
 * @returns Header-, record- and span-focused layouts.
 */
export function perfDataLayouts(bytes: Uint8Array): FuzzLayouts {
  const header: FuzzField[] = [{ offset: 8, width: 8, name: "header size" }];
  const headerSpans: FuzzSpan[] = [];
  const records: FuzzField[] = [];
  const spans: FuzzSpan[] = [];
  const shapes: SampleShape[] = [];
  const headerSize = readUint(bytes, 8, 8);
  let dataStart = PIPE_HEADER_SIZE;
  let dataEnd = bytes.length;
  if (headerSize !== PIPE_HEADER_SIZE && bytes.length >= FILE_HEADER_SIZE) {
    const names = [
      "attr_size",
      "attrs.offset",
      "attrs.size",
      "data.offset",
      "data.size",
      "event_types.offset",
      "event_types.size",
    ];
    names.forEach((n, i) => header.push({ offset: 16 + 8 * i, width: 8, name: n }));
    for (let i = 0; i < 4; i++) {
      header.push({ offset: 72 + 8 * i, width: 8, name: `adds_features[${i}]` });
    }
    const attrSize = readUint(bytes, 16, 8);
    const attrsOffset = readUint(bytes, 24, 8);
    const attrsSize = readUint(bytes, 32, 8);
    dataStart = readUint(bytes, 40, 8);
    dataEnd = dataStart + readUint(bytes, 48, 8);
    for (let i = 0; attrSize >= 80 && (i + 1) * attrSize <= attrsSize; i++) {
      const at = attrsOffset + i * attrSize;
      header.push(...attrFields(at, attrSize - 16, `attr ${i}`));
      header.push({ offset: at + attrSize - 16, width: 8, name: `attr ${i} ids.offset` });
      header.push({ offset: at + attrSize - 8, width: 8, name: `attr ${i} ids.size` });
      headerSpans.push({ start: at, end: at + attrSize, name: `attr ${i}` });
      shapes.push(shapeOf(bytes, at, attrSize - 16));
    }
    let table = dataEnd;
    for (let bit = 0; bit < FEATURE_BITS; bit++) {
      if (!((bytes[72 + (bit >> 3)]! >> (bit & 7)) & 1)) continue;
      if (table + 16 > bytes.length) break;
      header.push({ offset: table, width: 8, name: `feature ${bit} offset` });
      header.push({ offset: table + 8, width: 8, name: `feature ${bit} size` });
      const off = readUint(bytes, table, 8);
      const size = readUint(bytes, table + 8, 8);
      if (size >= 4 && off + size <= bytes.length) {
        header.push({ offset: off, width: 4, name: `feature ${bit} first u32` });
        if (size >= 12) {
          header.push({ offset: off + 8, width: 4, name: `feature ${bit} third u32` });
        }
        headerSpans.push({ start: off, end: off + size, name: `feature ${bit} section` });
      }
      table += 16;
    }
  }
  let n = 0;
  walkRecords(bytes, dataStart, Math.min(dataEnd, bytes.length), (at, size) => {
    const type = readUint(bytes, at, 4);
    if (type === RecordType.HEADER_ATTR) shapes.push(shapeOf(bytes, at + 8, size - 8));
    const name = `record ${n++} (type ${type})`;
    const fields = recordFields(bytes, at, size, shapes[0], name);
    // Header records of pipe mode belong to both layouts.
    if (type >= RecordType.HEADER_ATTR && type !== RecordType.FINISHED_ROUND) {
      header.push(...fields);
    }
    records.push(...fields);
    spans.push({ start: at, end: at + size, name });
  });
  return {
    header: { fields: header, spans: headerSpans.length ? headerSpans : spans.slice(0, 8) },
    records: { fields: records, spans },
    spans: { fields: [], spans },
  };
}

const CAPTURE_FIXED = 64;
const CHUNK_HEADER = 64;

/**
 * Layouts of a callring capture.
 *
 * @param bytes The clean capture.
 * @returns Header- (file and chunk headers), record- and chunk-span-focused layouts.
 */
export function captureLayouts(bytes: Uint8Array): FuzzLayouts {
  const header: FuzzField[] = [
    { offset: 8, width: 4, name: "version" },
    { offset: 12, width: 4, name: "header size" },
    { offset: 16, width: 4, name: "cpus" },
    { offset: 20, width: 4, name: "events" },
    { offset: 24, width: 4, name: "clockid" },
    { offset: 28, width: 4, name: "flags" },
    { offset: 40, width: 4, name: "sync distance" },
    { offset: 44, width: 4, name: "maxChunk" },
  ];
  const size = readUint(bytes, 12, 4);
  const nEvents = readUint(bytes, 20, 4);
  let shape: SampleShape | undefined;
  for (let i = 0, p = CAPTURE_FIXED; i < nEvents && p + 8 <= size; i++) {
    const attrSize = readUint(bytes, p, 4);
    const nIds = readUint(bytes, p + 4, 4);
    header.push({ offset: p, width: 4, name: `event ${i} attr_size` });
    header.push({ offset: p + 4, width: 4, name: `event ${i} nr_ids` });
    header.push(...attrFields(p + 8, attrSize, `event ${i} attr`));
    shape ??= shapeOf(bytes, p + 8, attrSize);
    p += 8 + attrSize + 8 * nIds;
  }
  const records: FuzzField[] = [];
  const recordSpans: FuzzSpan[] = [];
  const chunks: FuzzSpan[] = [];
  for (let p = size, k = 0; p + CHUNK_HEADER <= bytes.length; k++) {
    const length = readUint(bytes, p + 12, 4);
    const end = p + CHUNK_HEADER + length;
    if (end > bytes.length) break;
    const c = `chunk ${k}`;
    header.push(
      { offset: p + 8, width: 4, name: `${c} cpu` },
      { offset: p + 12, width: 4, name: `${c} length` },
      { offset: p + 16, width: 8, name: `${c} own offset` },
      { offset: p + 24, width: 8, name: `${c} position` },
      { offset: p + 32, width: 4, name: `${c} seq` },
      { offset: p + 36, width: 2, name: `${c} round` },
      { offset: p + 38, width: 2, name: `${c} flags` },
      { offset: p + 40, width: 8, name: `${c} minTime` },
      { offset: p + 48, width: 8, name: `${c} cumMaxTime` },
    );
    chunks.push({ start: p, end, name: c });
    let n = 0;
    walkRecords(bytes, p + CHUNK_HEADER, end, (at, rsize) => {
      const name = `${c} record ${n++} (type ${readUint(bytes, at, 4)})`;
      records.push(...recordFields(bytes, at, rsize, shape, name));
      recordSpans.push({ start: at, end: at + rsize, name });
    });
    p = end;
  }
  return {
    header: { fields: header, spans: chunks },
    records: { fields: records, spans: recordSpans },
    spans: { fields: [], spans: chunks },
  };
}

/**
 * Make a mutated capture's checksums agree again, so that a mutation reaches
 * the code behind the CRC checks: the file header CRC, and for every chunk
 * header found by walking the chunk chain from the header (magic intact,
 * length within the file) its own-offset field, payload CRC and header CRC.
 * The walk stops at the first chunk that does not fit.
 *
 * @param bytes The capture (modified in place).
 * @returns Number of chunks resealed.
 */
export function resealCapture(bytes: Uint8Array): number {
  if (bytes.length < CAPTURE_FIXED) return 0;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = v.getUint32(12, true);
  if (size >= CAPTURE_FIXED && size <= bytes.length) {
    v.setUint32(60, crc32(bytes, CAPTURE_FIXED, size, crc32(bytes, 0, 60)), true);
  }
  let n = 0;
  for (let p = size; p >= CAPTURE_FIXED && p + CHUNK_HEADER <= bytes.length; n++) {
    if (v.getUint32(p, true) !== 0x474e5243 || v.getUint32(p + 4, true) !== 0x4b4e4843) break;
    const length = v.getUint32(p + 12, true);
    const end = Math.min(bytes.length, p + CHUNK_HEADER + length);
    v.setUint32(p + 16, p, true);
    v.setUint32(p + 20, Math.floor(p / 2 ** 32), true);
    v.setUint32(p + 56, crc32(bytes, p + CHUNK_HEADER, end), true);
    v.setUint32(p + 60, crc32(bytes, p, p + 60), true);
    if (length % 8) break;
    p += CHUNK_HEADER + length;
  }
  return n;
}

/** A mutated input and a description of every mutation applied. */
export interface MutatedCase {
  /** The mutated bytes. */
  bytes: Uint8Array;
  /** The mutations in order. */
  mutations: Mutation[];
  /** Which layout they aimed at. */
  focus: keyof FuzzLayouts | "raw";
}

/**
 * Apply one to three mutations, each aimed at one of the layouts (header
 * fields 35%, record fields 35%, span duplicate/delete 10%, unstructured
 * byte mutations 20%).
 *
 * @param input The clean input (not modified).
 * @param layouts Its layouts.
 * @param rng The generator.
 * @returns The mutated case.
 */
export function mutateStructured(
  input: Uint8Array,
  layouts: FuzzLayouts,
  rng: FuzzRng,
): MutatedCase {
  const r = rng.int(100);
  const focus: MutatedCase["focus"] = r < 35
    ? "header"
    : r < 70
    ? "records"
    : r < 80
    ? "spans"
    : "raw";
  const layout = focus === "raw" ? { fields: [], spans: [] } : layouts[focus];
  const count = rng.chance(0.75) ? 1 : 2 + rng.int(2);
  let bytes = input;
  const mutations: Mutation[] = [];
  for (let i = 0; i < count; i++) {
    const kind = focus === "spans"
      ? rng.pick(["duplicate", "delete"] as const)
      : focus === "raw"
      ? undefined
      : rng.chance(0.6)
      ? (focus === "records" && rng.chance(0.3) ? "u16" : "field")
      : undefined;
    const m = mutateBytes(bytes, rng, layout, kind);
    bytes = m.bytes;
    mutations.push(m.mutation);
  }
  return { bytes, mutations, focus };
}

/**
 * One line describing a case's mutations.
 *
 * @param c The case.
 * @returns E.g. `header: field@16 attr_size := 0`.
 */
export function describeCase(c: MutatedCase): string {
  return `${c.focus}: ` +
    c.mutations.map((m) => `${m.kind}@${m.offset} ${m.detail}`.trim()).join("; ");
}
