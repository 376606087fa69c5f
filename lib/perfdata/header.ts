/**
 * The perf.data header side: magic, `struct perf_file_header`, the attrs
 * and their id lists, and the feature sections (perf's `util/header.c`:
 * `perf_session__read_header`, `perf_header__process_sections`), including
 * the pipe-mode header records' features. No record framing here: the
 * reader (`reader.ts`) reads the data section.
 *
 * @module
 */

import { decodeAttr, FormatError, getU64, ReadWarning } from "../abi/mod.ts";
import { defaultEventName, EventMatcher, makeEvent, type PerfDataEvent } from "./evlist.ts";
import {
  type BuildIdEntry,
  decodeBuildIds,
  decodeEventDesc,
  decodeGroupDesc,
  decodeNrCpus,
  decodeSampleTime,
  decodeStringFeature,
  decodeStringList,
  FEATURE_BITS,
  FeatureCursor,
  type GroupDesc,
  HeaderFeature,
} from "./features.ts";
import { parseTracingData, type TracingData } from "./tracing_data.ts";

/** `"PERFILE2"` as the first 8 bytes of a little-endian file. */
export const PERF_MAGIC = "PERFILE2";
/** Size of `struct perf_file_header` with the feature bitmap. */
export const FILE_HEADER_SIZE = 104;
/** Size of the pre-feature-bitmap header perf still accepts (`offsetof(adds_features)`). */
export const LEGACY_FILE_HEADER_SIZE = 72;
/** Size of the pipe-mode header `{magic, size}`. */
export const PIPE_HEADER_SIZE = 16;
/** What the header, attrs and feature sections (or pipe-mode header records) say. */
export interface PerfDataInfo {
  /** Pipe-mode data (`perf record -o -`). */
  pipe: boolean;
  /** The events (evsels) in index order. In pipe mode, those seen so far. */
  events: PerfDataEvent[];
  /** File offset of the data section (16 in pipe mode). */
  dataOffset: number;
  /** Size of the data section (bytes available after the header in pipe mode). */
  dataSize: number;
  /** Feature bits that are set (file: `adds_features`; pipe: HEADER_FEATURE records). */
  features: number[];
  /** HOSTNAME. */
  hostname?: string;
  /** OSRELEASE. */
  osRelease?: string;
  /** VERSION (perf's version). */
  version?: string;
  /** ARCH. */
  arch?: string;
  /** NRCPUS online. */
  nrCpusOnline?: number;
  /** NRCPUS available. */
  nrCpusAvailable?: number;
  /** CMDLINE (argv of perf record). */
  cmdline?: string[];
  /** BUILD_ID entries (`misc & 7` is the cpumode: 1 kernel, 2 user). */
  buildIds?: { pid: number; filename: string; buildId: string; misc: number }[];
  /** SAMPLE_TIME. */
  sampleTime?: { first: number; last: number };
  /** GROUP_DESC: the event groups (`{a,b}`) the recording names. */
  groups?: GroupDesc[];
  /**
   * AUX area data seen so far (PERF_RECORD_AUXTRACE payloads, not decoded):
   * the AUXTRACE_INFO type's name (`intel_pt`, `cs_etm`...), records, bytes.
   */
  aux?: { pmu: string; records: number; bytes: number };
  /** Tracepoint formats (TRACING_DATA feature, or the pipe-mode HEADER_TRACING_DATA payload). */
  tracingData?: TracingData;
}

const ascii = new TextDecoder("latin1");

/**
 * The `perf_file_attr` sizes a version-1 file may have: PERF_ATTR_SIZE_VER0-4 (64, 72, 80, 96,
 * 104) plus the 16-byte ids section (perf's `attr_file_abi_sizes`).
 */
const V1_ATTR_SIZES = [80, 88, 96, 112, 120];

export function checkMagic(bytes: Uint8Array, source: string): void {
  const magic = ascii.decode(bytes.subarray(0, 8));
  if (magic === PERF_MAGIC) return;
  if (magic === "2ELIFREP") {
    throw new FormatError(
      "Big-endian perf.data (byte-swapped PERFILE2 magic) is not supported",
      0,
      source,
    );
  }
  // Version 1 (the old magic): perf reads it as version 2 once its attr_size is one of the
  // early ABI sizes (`check_magic_endian` -> `try_all_file_abis`), checked by readFileHeader.
  if (magic === "PERFFILE") return;
  throw new FormatError(
    `Not a perf.data file: magic ${JSON.stringify(magic)}, expected "PERFILE2"`,
    0,
    source,
  );
}

export function emptyInfo(pipe: boolean, dataOffset: number, dataSize: number): PerfDataInfo {
  return { pipe, events: [], dataOffset, dataSize, features: [] };
}

/** Files whose header areas are read synchronously (regular files). */
export const syncFiles = new WeakSet<Deno.FsFile>();

export async function readAt(
  file: Deno.FsFile,
  offset: number,
  length: number,
  fileSize: number,
  what: string,
  source: string,
): Promise<Uint8Array> {
  if (offset < 0 || length < 0 || offset + length > fileSize) {
    throw new FormatError(
      `${what} (${length} bytes at ${offset}) lies outside the ${fileSize}-byte file`,
      offset,
      source,
    );
  }
  const sync = syncFiles.has(file);
  if (sync) file.seekSync(offset, Deno.SeekMode.Start);
  else await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = sync ? file.readSync(out.subarray(filled)) : await file.read(out.subarray(filled));
    if (n === null) throw new FormatError(`File ends inside ${what}`, offset + filled, source);
    filled += n;
  }
  return out;
}

/** Largest attrs/ids/feature area read into memory at once (sanity bound). */
export const MAX_HEADER_AREA = 64 << 20;

/** What {@linkcode readFileHeader} found. */
export interface FileHeader {
  /** Header, attrs, features. */
  info: PerfDataInfo;
  /** The events by id. */
  matcher: EventMatcher;
  /** Problems found (malformed features, truncation). */
  warnings: ReadWarning[];
  /** The data section ends past the end of the file. */
  truncated: boolean;
}

/**
 * Read a file-mode header (after its first 16 bytes said so): attrs and ids,
 * the data section's place, and the feature sections.
 *
 * @param file The open file.
 * @param fileSize Its size.
 * @param headerSize The header size from bytes 8-15.
 * @param source Input name (for errors).
 * @returns The header.
 * @throws {FormatError} When the header, attrs or ids are malformed.
 */
export async function readFileHeader(
  file: Deno.FsFile,
  fileSize: number,
  headerSize: number,
  source: string,
): Promise<FileHeader> {
  if (headerSize !== FILE_HEADER_SIZE && headerSize !== LEGACY_FILE_HEADER_SIZE) {
    throw new FormatError(
      `Header size ${headerSize} is neither ${FILE_HEADER_SIZE} nor ${LEGACY_FILE_HEADER_SIZE} ` +
        "(perf: incompatible file format)",
      8,
      source,
    );
  }
  const hb = await readAt(file, 0, headerSize, fileSize, "file header", source);
  const hv = new DataView(hb.buffer);
  const attrSize = getU64(hv, 16);
  const attrsOffset = getU64(hv, 24);
  const attrsSize = getU64(hv, 32);
  const dataOffset = getU64(hv, 40);
  const dataSize = getU64(hv, 48);
  if (attrSize === 0) throw new FormatError("attr_size is 0", 16, source);
  if (ascii.decode(hb.subarray(0, 8)) === "PERFFILE" && !V1_ATTR_SIZES.includes(attrSize)) {
    throw new FormatError(
      `Version 1 perf.data (PERFFILE magic) with attr_size ${attrSize}, not one of ` +
        `${V1_ATTR_SIZES.join(", ")} (perf: incompatible file format)`,
      16,
      source,
    );
  }
  if (attrSize < 64 + 16 || attrSize % 8 !== 0 || attrSize > 4096) {
    throw new FormatError(`attr_size ${attrSize} is not a perf_file_attr size`, 16, source);
  }
  if (attrsSize > MAX_HEADER_AREA) {
    throw new FormatError(`Attrs section of ${attrsSize} bytes is implausible`, 32, source);
  }
  const nrAttrs = Math.floor(attrsSize / attrSize);
  const attrBytes = await readAt(file, attrsOffset, nrAttrs * attrSize, fileSize, "attrs", source);
  const av = new DataView(attrBytes.buffer);
  const matcher = new EventMatcher();
  for (let i = 0; i < nrAttrs; i++) {
    const at = i * attrSize;
    const attr = decodeAttr(av, at, attrSize - 16, attrsOffset + at);
    const idsOffset = getU64(av, at + attrSize - 16);
    const idsSize = getU64(av, at + attrSize - 8);
    if (idsSize % 8 !== 0 || idsSize > MAX_HEADER_AREA) {
      throw new FormatError(
        `ids section of attr ${i} has size ${idsSize}`,
        attrsOffset + at + attrSize - 8,
        source,
      );
    }
    const idBytes = await readAt(file, idsOffset, idsSize, fileSize, `ids of attr ${i}`, source);
    const iv = new DataView(idBytes.buffer);
    const ids: number[] = [];
    for (let j = 0; j < idsSize; j += 8) ids.push(getU64(iv, j));
    matcher.add(makeEvent(i, attr, ids, defaultEventName(attr)));
  }
  // sample_type sits 24 bytes into each attr.
  matcher.validate(source, (e) => attrsOffset + e.index * attrSize + 24);
  if (dataOffset < headerSize || dataOffset > fileSize) {
    throw new FormatError(
      `Data section offset ${dataOffset} lies outside the ${fileSize}-byte file`,
      40,
      source,
    );
  }
  const info = emptyInfo(false, dataOffset, dataSize);
  info.events = matcher.events;
  const warnings: ReadWarning[] = [];
  const dataEnd = dataOffset + dataSize;
  const truncated = dataEnd > fileSize;
  if (truncated) {
    warnings.push(
      new ReadWarning(
        "truncated-file",
        `${source}: data section ends at ${dataEnd} but the file has ${fileSize} bytes ` +
          "(truncated file): reading what is there",
        { offset: fileSize, bytes: dataEnd - fileSize },
      ),
    );
  }
  if (dataSize === 0) {
    // perf warns the same and then fails ("failed to process sample", exit 255).
    throw new FormatError(
      "The file's data size field is 0 which is unexpected: " +
        "was the 'perf record' command properly terminated?",
      48,
      source,
    );
  }
  if (headerSize === FILE_HEADER_SIZE) {
    for (let bit = 0; bit < FEATURE_BITS; bit++) {
      if ((hb[72 + (bit >> 3)]! >> (bit & 7)) & 1) info.features.push(bit);
    }
    if (!truncated && info.features.length) {
      await readFeatureSections(file, fileSize, dataEnd, info, matcher, warnings, source);
    }
  }
  return { info, matcher, warnings, truncated };
}

async function readFeatureSections(
  file: Deno.FsFile,
  fileSize: number,
  tableOffset: number,
  info: PerfDataInfo,
  matcher: EventMatcher,
  warnings: ReadWarning[],
  source: string,
): Promise<void> {
  const n = info.features.length;
  if (tableOffset + n * 16 > fileSize) {
    warnings.push(
      new ReadWarning(
        "feature",
        `${source}: feature table at ${tableOffset} runs past the end of the file`,
        { offset: tableOffset },
      ),
    );
    return;
  }
  const table = new DataView(
    (await readAt(file, tableOffset, n * 16, fileSize, "feature table", source)).buffer,
  );
  for (let i = 0; i < n; i++) {
    const bit = info.features[i]!;
    if (!FEATURE_DECODERS.has(bit)) continue;
    const offset = getU64(table, i * 16);
    const size = getU64(table, i * 16 + 8);
    if (offset + size > fileSize || size > MAX_HEADER_AREA) {
      warnings.push(
        new ReadWarning(
          "feature",
          `${source}: feature ${featureName(bit)} section (${size} bytes at ${offset}) ` +
            "lies outside the file: ignored",
          { offset, bytes: size },
        ),
      );
      continue;
    }
    const bytes = await readAt(file, offset, size, fileSize, "feature section", source);
    const msg = applyFeature(info, matcher, bit, new DataView(bytes.buffer), 0, size, offset);
    if (msg) warnings.push(new ReadWarning("feature", `${source}: ${msg}`, { offset }));
  }
}

const FEATURE_DECODERS = new Set<number>([
  HeaderFeature.TRACING_DATA,
  HeaderFeature.EVENT_DESC,
  HeaderFeature.HOSTNAME,
  HeaderFeature.OSRELEASE,
  HeaderFeature.VERSION,
  HeaderFeature.ARCH,
  HeaderFeature.NRCPUS,
  HeaderFeature.CMDLINE,
  HeaderFeature.BUILD_ID,
  HeaderFeature.SAMPLE_TIME,
  HeaderFeature.GROUP_DESC,
]);

function featureName(bit: number): string {
  return Object.entries(HeaderFeature).find(([, v]) => v === bit)?.[0] ?? `#${bit}`;
}

/** Apply one feature payload to `info`; returns a warning message on malformed payloads. */
export function applyFeature(
  info: PerfDataInfo,
  matcher: EventMatcher,
  bit: number,
  view: DataView,
  start: number,
  size: number,
  fileOffset: number,
): string | undefined {
  const c = new FeatureCursor(view, start, size, fileOffset, featureName(bit));
  try {
    switch (bit) {
      case HeaderFeature.TRACING_DATA:
        info.tracingData = parseTracingData(
          new Uint8Array(view.buffer, view.byteOffset + start, size),
          fileOffset,
          "",
        );
        nameTracepoints(info);
        break;
      case HeaderFeature.HOSTNAME:
        info.hostname = decodeStringFeature(c);
        break;
      case HeaderFeature.OSRELEASE:
        info.osRelease = decodeStringFeature(c);
        break;
      case HeaderFeature.VERSION:
        info.version = decodeStringFeature(c);
        break;
      case HeaderFeature.ARCH:
        info.arch = decodeStringFeature(c);
        break;
      case HeaderFeature.NRCPUS: {
        const n = decodeNrCpus(c);
        info.nrCpusAvailable = n.available;
        info.nrCpusOnline = n.online;
        break;
      }
      case HeaderFeature.CMDLINE:
        info.cmdline = decodeStringList(c);
        break;
      case HeaderFeature.SAMPLE_TIME:
        info.sampleTime = decodeSampleTime(c);
        break;
      case HeaderFeature.GROUP_DESC:
        info.groups = decodeGroupDesc(c);
        break;
      case HeaderFeature.BUILD_ID:
        info.buildIds = decodeBuildIds(c).map((e: BuildIdEntry) => ({
          pid: e.pid,
          filename: e.filename,
          buildId: e.buildId,
          misc: e.misc,
        }));
        break;
      case HeaderFeature.EVENT_DESC: {
        const descs = decodeEventDesc(c);
        descs.forEach((d, i) => {
          const event = matcher.events[i];
          if (!event) return;
          if (d.name) event.name = d.name;
          matcher.addIds(event, d.ids);
        });
        break;
      }
    }
  } catch (e) {
    if (e instanceof FormatError) return `${e.message}: feature ignored`;
    throw e;
  }
  return undefined;
}

/**
 * Tracepoint events without a recorded name take `system:name` from the
 * tracing data, as perf's `evsel__name` does through the event's tp_format.
 */
export function nameTracepoints(info: PerfDataInfo): void {
  const data = info.tracingData;
  if (data === undefined) return;
  for (const ev of info.events) {
    if (ev.attr.type !== PERF_TYPE_TRACEPOINT || ev.name !== defaultEventName(ev.attr)) continue;
    const f = data.events.get(Number(ev.attr.config));
    if (f !== undefined) ev.name = `${f.system}:${f.name}`;
  }
}

/** `PERF_TYPE_TRACEPOINT`. */
const PERF_TYPE_TRACEPOINT = 2;
