/**
 * The tracing data of a perf.data file with tracepoint events: the
 * HEADER_TRACING_DATA feature section (file mode) or the payload after a
 * PERF_RECORD_HEADER_TRACING_DATA record (pipe mode), as perf's
 * `trace_report()` (util/trace-event-read.c) reads it: magic
 * `\x17\x08\x44tracing`, version, endianness, long and page size, the
 * header_page and header_event files, the ftrace formats, then per system
 * the event `format` files (name, ID, fields, print fmt), kallsyms,
 * ftrace_printk and (version >= 0.6) saved cmdlines. The event formats and
 * the printk strings are kept: they are what decodes a tracepoint's
 * PERF_SAMPLE_RAW payload.
 *
 * @module
 */

import { FormatError } from "../abi/mod.ts";

/** One field of a tracepoint's `format` file. */
export interface TraceField {
  /** C type as written, e.g. `unsigned short`, `char`, `__data_loc char[]`. */
  type: string;
  /** Field name. */
  name: string;
  /** Byte offset in the raw payload. */
  offset: number;
  /** Byte size. */
  size: number;
  /** `signed:1`. */
  signed: boolean;
  /** Declared as an array (`name[N]`). */
  array: boolean;
  /** Element count of a fixed array (0 when dynamic or not an array). */
  arrayLength: number;
  /** `__data_loc`: the field holds `u32 (len << 16 | offset)` of dynamic data. */
  dynamic: boolean;
  /** A `char` array or `__data_loc char[]`: printed as a string. */
  string: boolean;
  /** Whether the field belongs to the common header (`common_*`). */
  common: boolean;
}

/** One tracepoint's `format` file. */
export interface TraceEventFormat {
  /** Subsystem (`sched`), `ftrace` for the ftrace formats. */
  system: string;
  /** Event name (`sched_switch`). */
  name: string;
  /** Tracepoint id (`attr.config` of its perf event). */
  id: number;
  /** Fields in order, common ones first. */
  fields: TraceField[];
  /** The text after `print fmt: `, undefined when the file has none. */
  printFmt: string | undefined;
}

/** What the tracing data says. */
export interface TracingData {
  /** The version string (`0.5`, `0.6`). */
  version: string;
  /** The traced machine was big-endian. */
  bigEndian: boolean;
  /** `sizeof(long)` of the traced machine. */
  longSize: number;
  /** Page size of the traced machine. */
  pageSize: number;
  /** Event formats by tracepoint id. */
  events: Map<number, TraceEventFormat>;
  /**
   * The kernel's printk format strings by address (the ftrace_printk
   * section: a `const char *` field printed with `%s` shows the string at
   * its address, libtraceevent's `find_printk`); empty when absent.
   */
  printk: Map<bigint, string>;
}

const MAGIC = [0x17, 0x08, 0x44, ...new TextEncoder().encode("tracing")];
const latin1 = new TextDecoder("latin1");

/**
 * Parse tracing data.
 *
 * @param bytes The tracing data (exactly its bytes, or more after it).
 * @param fileOffset File offset of `bytes[0]` (for errors).
 * @param source Input name (for errors).
 * @returns The parsed data.
 * @throws {FormatError} When the data is malformed (with the file offset).
 */
export function parseTracingData(
  bytes: Uint8Array,
  fileOffset: number,
  source: string,
): TracingData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const fail = (what: string): never => {
    throw new FormatError(`Tracing data: ${what}`, fileOffset + p, source);
  };
  const need = (n: number, what: string) => {
    if (n < 0 || p + n > bytes.length) fail(`${what} runs past the end (${n} bytes)`);
  };
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) fail("bad magic (expected \\x17\\x08Dtracing)");
  }
  p = MAGIC.length;
  const cstr = (what: string): string => {
    const end = bytes.indexOf(0, p);
    if (end < 0) fail(`${what} is not NUL-terminated`);
    const s = latin1.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const version = cstr("version");
  need(6, "endianness and sizes");
  const bigEndian = bytes[p] !== 0;
  const little = !bigEndian;
  const longSize = bytes[p + 1]!;
  p += 2;
  const pageSize = view.getUint32(p, little);
  p += 4;
  const u32 = (what: string) => {
    need(4, what);
    const v = view.getUint32(p, little);
    p += 4;
    return v;
  };
  const u64 = (what: string) => {
    need(8, what);
    const hi = view.getUint32(p + (little ? 4 : 0), little);
    const lo = view.getUint32(p + (little ? 0 : 4), little);
    p += 8;
    if (hi > 0x1fffff) fail(`${what} ${hi} * 2^32 is implausible`);
    return hi * 0x1_0000_0000 + lo;
  };
  const header = (name: string) => {
    const got = cstr(`${name} header`);
    if (got !== name) fail(`expected "${name}", found ${JSON.stringify(got)}`);
    const size = u64(`${name} size`);
    need(size, name);
    p += size;
  };
  header("header_page");
  header("header_event");
  const events = new Map<number, TraceEventFormat>();
  const formatFile = (system: string) => {
    const size = u64("format file size");
    need(size, "format file");
    const text = latin1.decode(bytes.subarray(p, p + size));
    const at = fileOffset + p;
    p += size;
    const ev = parseFormatFile(text, system, at, source);
    events.set(ev.id, ev);
  };
  const ftraceCount = u32("ftrace format count");
  for (let i = 0; i < ftraceCount; i++) formatFile("ftrace");
  const systems = u32("event system count");
  for (let i = 0; i < systems; i++) {
    const system = cstr("system name");
    const count = u32("event count");
    for (let j = 0; j < count; j++) formatFile(system);
  }
  // kallsyms (not needed: kernel symbols come from the session), then ftrace_printk; the
  // sections are optional to the reader: a cut-short file keeps the formats read
  const printk = new Map<bigint, string>();
  const section = (): Uint8Array | undefined => {
    if (p + 4 > bytes.length) return undefined;
    const size = view.getUint32(p, little);
    if (p + 4 + size > bytes.length) return undefined;
    p += 4 + size;
    return bytes.subarray(p - size, p);
  };
  section();
  const printkText = section();
  if (printkText !== undefined) {
    for (const line of latin1.decode(printkText).split("\n")) {
      // parse_ftrace_printk: `0xADDR : "format"`; tep_register_print_string drops the
      // quotes and a trailing \n
      const m = /^\s*(0x[0-9a-fA-F]+|[0-9a-fA-F]+)\s*:\s*"(.*)"\s*$/.exec(line);
      if (m === null) continue;
      let text = m[2]!;
      if (text.endsWith("\\n")) text = text.slice(0, -2);
      const addr = m[1]!.startsWith("0x") ? BigInt(m[1]!) : BigInt("0x" + m[1]);
      printk.set(addr, text);
    }
  }
  return { version, bigEndian, longSize, pageSize, events, printk };
}

/**
 * Parse one event `format` file (libtraceevent's `tep_parse_format` input).
 *
 * @param text The file text.
 * @param system The subsystem name.
 * @param fileOffset File offset of the text (for errors).
 * @param source Input name (for errors).
 * @returns The format.
 * @throws {FormatError} Without a name or ID line.
 */
export function parseFormatFile(
  text: string,
  system: string,
  fileOffset: number,
  source: string,
): TraceEventFormat {
  let name: string | undefined;
  let id: number | undefined;
  let printFmt: string | undefined;
  const fields: TraceField[] = [];
  let common = true;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") {
      if (fields.length > 0) common = false;
      continue;
    }
    if (line.startsWith("name:")) name = line.slice(5).trim();
    else if (line.startsWith("ID:")) id = Number(line.slice(3).trim());
    else if (line.startsWith("print fmt:")) {
      printFmt = raw.slice(raw.indexOf("print fmt:") + 10).trim();
    } else if (line.startsWith("field:")) {
      const f = parseField(line, common);
      if (f) fields.push(f);
    }
  }
  if (name === undefined || id === undefined || !Number.isInteger(id)) {
    throw new FormatError(
      `Tracing data: event format of system ${system} has no name or ID`,
      fileOffset,
      source,
    );
  }
  return { system, name, id, fields, printFmt };
}

/** `field:TYPE NAME[N];\toffset:O;\tsize:S;\tsigned:G;` */
function parseField(line: string, common: boolean): TraceField | undefined {
  const parts = line.split(";").map((s) => s.trim()).filter((s) => s !== "");
  const decl = parts[0]?.slice(6).trim();
  if (decl === undefined) return undefined;
  const attrs: Record<string, number> = {};
  for (const part of parts.slice(1)) {
    const c = part.indexOf(":");
    if (c > 0) attrs[part.slice(0, c).trim()] = Number(part.slice(c + 1).trim());
  }
  let type = decl;
  let name = decl;
  let array = false, arrayLength = 0;
  const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(\[([^\]]*)\])?$/.exec(decl);
  if (m) {
    type = m[1]!.trim();
    name = m[2]!;
    if (m[3] !== undefined) {
      array = true;
      const n = Number(m[4]);
      arrayLength = Number.isInteger(n) ? n : 0;
    }
  }
  const dynamic = type.startsWith("__data_loc") || type.startsWith("__rel_loc");
  if (dynamic) {
    array = true;
    // "__data_loc char[]": the element type keeps the brackets.
    type = type.replace(/\[\]$/, "").trim();
  }
  const elem = type.replace(/^__data_loc\s+|^__rel_loc\s+/, "").replace(/\[\]$/, "").trim();
  const string = array && /^(unsigned\s+|signed\s+)?char$/.test(elem);
  return {
    type,
    name,
    offset: attrs.offset ?? 0,
    size: attrs.size ?? 0,
    signed: attrs.signed === 1,
    array,
    arrayLength,
    dynamic,
    string,
    common: common && name.startsWith("common_"),
  };
}
