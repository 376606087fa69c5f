/**
 * `perf script` text as input: what speedscope, FlameGraph's
 * `stackcollapse-perf.pl` and inferno read, and often all a user has from
 * another machine. Parses perf's default output and `-F` variants, with
 * callchains (`-g` recordings: a header line, one TAB-indented line per
 * frame, a blank line) or without (`-G`: the ip, sym and dso on the header
 * line), into samples with leaf-first frames.
 *
 * The layout parsed is the one perf 6.1 prints (`perf_sample__fprintf_start`,
 * `sample__fprintf_callchain` in tools/perf/builtin-script.c and
 * util/evsel_fprintf.c; byte-level notes in testdata/PERF_FORMAT_NOTES.md):
 *
 * - header: `comm pid/tid [cpu] secs.usecs: period event: ` with every field
 *   optional but the event, in that order whatever the `-F` order; comm is
 *   unpadded with callchains and may contain spaces, so the line is read from
 *   the event token leftwards;
 * - frame: `\t%16lx[ sym[+0xoff]][ (dso)| (inlined)]`: the address, the symbol
 *   (`[unknown]` when unresolved), the object (`[unknown]` when unmapped;
 *   inline frames print none, and their object stays unknown: the text does
 *   not say which of the neighbouring objects holds the address);
 * - a callchain of 127 entries (what perf script prints at most) is marked
 *   truncated, as a perf.data chain cut at `--max-stack` is;
 * - lines that are neither (tracepoint payloads, `-F srcline` lines, `#`
 *   comments of `perf script --header`) are counted and named in warnings.
 *
 * Kernel frames are told as perf tells them (`[k]`): by their object
 * (`[kernel.kallsyms]`, `[kernel.*]`, a `.ko` module); frames without a map
 * take the leaf's mode, as perf prints them in the sample's cpumode
 * (`FrameRef.kernel`); a leaf without an object printed is kernel when its
 * address is in the upper half (x86-64 and arm64 kernel space).
 * Unresolved symbols keep the printed address; what perf printed as a
 * map-relative address stays map-relative.
 *
 * This module reads text only; the profile is built by the caller from the
 * samples (they are {@linkcode StackSample}-shaped).
 *
 * @module
 */

/** One frame of a text sample (the shape of the profile model's frame). */
export interface ScriptTextFrame {
  /** Symbol without `+0x..`; undefined when perf printed `[unknown]` or no symbol. */
  readonly sym?: string;
  /** Object as printed; undefined when `[unknown]` or not printed. */
  readonly dso?: string;
  /** The printed address. */
  readonly ip: bigint;
  /** Kernel frame (see the module notes). */
  readonly kernel: boolean;
  /** perf printed ` (inlined)`. */
  readonly inlined?: boolean;
}

/** One sample of `perf script` text (the shape of the profile model's sample). */
export interface ScriptTextSample {
  /** Frames, leaf-first as printed. */
  readonly frames: readonly ScriptTextFrame[];
  /** The period when printed, else 1. */
  readonly weight: number;
  /** The period when printed, else undefined. */
  readonly period: number | undefined;
  /** Process id (-1 when not printed; perf's default output prints the tid only). */
  readonly pid: number;
  /** Thread id (-1 when not printed). */
  readonly tid: number;
  /** CPU (-1 when not printed). */
  readonly cpu: number;
  /** Command name ("" when not printed). */
  readonly comm: string;
  /** Time in ns (0 when not printed). */
  readonly time: number;
  /** Unknown from text. */
  readonly context: undefined;
  /**
   * The callchain shows as many entries as perf script prints at most
   * (`PERF_MAX_STACK_DEPTH`, 127): perf cut it there, as callring's own
   * reader marks chains cut at `--max-stack`.
   */
  readonly truncated: boolean;
  /** Event name as printed (`cpu-clock`, `cycles:u`). */
  readonly eventName: string;
  /** Frames came from callchain lines (false: the ip on the header line, `perf script -G`). */
  readonly callchain: boolean;
  /** 1-based line number of the header line. */
  readonly line: number;
}

/** A header line could not be read (the input is not perf script text). */
export class ScriptTextSyntaxError extends SyntaxError {
  /** 1-based line number. */
  readonly line: number;
  /**
   * Creates the instance.
   * @param source Input name.
   * @param line Line number.
   * @param text The line.
   * @param reason What is wrong with it.
   */
  constructor(
    source: string,
    line: number,
    text: string,
    reason = "not a perf script sample line",
  ) {
    super(`${source}: line ${line}: ${reason}: ${JSON.stringify(text.slice(0, 80))}`);
    this.name = "ScriptTextSyntaxError";
    this.line = line;
  }
}

/** Most callchain entries perf script prints (`scripting_max_stack`). */
const PERF_MAX_STACK_DEPTH = 127;

/** Most frames kept per sample (bounds the memory of one sample). */
export const MAX_FRAMES = 65536;

/** Longest line accepted (bounds the parser's memory on input without newlines). */
const MAX_LINE = 1 << 24;

const TIME = /^(\d+)\.(\d+):$/;
const CPU = /^\[(\d+)\]$/;
const PID_TID = /^(-?\d+)\/(-?\d+)$/;
const NUMBER = /^-?\d+$/;
const FRAME = /^\s*([0-9a-f]+)(?: (.*))?$/;

/** Header fields of a sample line. */
interface Header {
  comm: string;
  pid: number;
  tid: number;
  cpu: number;
  time: number;
  period: number | undefined;
  event: string;
  /** Text after `event: ` (the ip/sym/dso of a sample without callchain). */
  rest: string;
}

/**
 * Reads a sample header line, or returns undefined when it is not one.
 * @param line The line (no newline).
 * @returns The fields.
 */
export function parseHeaderLine(line: string): Header | undefined {
  // Tokens with their start offsets.
  const tokens: string[] = [];
  const starts: number[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    tokens.push(m[0]);
    starts.push(m.index);
  }
  // The event is the first "name:" token that follows the numeric columns.
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!t.endsWith(":") || t.length < 2 || TIME.test(t)) continue;
    let j = i - 1;
    let period: number | undefined;
    let time = 0;
    let cpu = -1;
    let pid = -1;
    let tid = -1;
    const numericBefore = (k: number) =>
      k >= 0 && (TIME.test(tokens[k]) || CPU.test(tokens[k]) || PID_TID.test(tokens[k]) ||
        NUMBER.test(tokens[k]));
    if (j >= 0 && /^\d+$/.test(tokens[j]) && numericBefore(j - 1)) period = Number(tokens[j--]);
    let m: RegExpExecArray | null;
    if (j >= 0 && (m = TIME.exec(tokens[j])) !== null) {
      time = Number(m[1]) * 1e9 + Number(m[2].padEnd(9, "0").slice(0, 9));
      j--;
    }
    if (j >= 0 && (m = CPU.exec(tokens[j])) !== null) {
      cpu = Number(m[1]);
      j--;
    }
    if (j >= 0 && (m = PID_TID.exec(tokens[j])) !== null) {
      pid = Number(m[1]);
      tid = Number(m[2]);
      j--;
    } else if (j >= 0 && NUMBER.test(tokens[j])) {
      tid = Number(tokens[j--]);
    }
    // At least one of the sample columns must be there, or this is not a header.
    if (j === i - 1) continue;
    const comm = j >= 0 ? line.slice(starts[0], starts[j] + tokens[j].length) : "";
    const restAt = starts[i] + t.length;
    return {
      comm,
      pid,
      tid,
      cpu,
      time,
      period,
      event: t.slice(0, -1),
      rest: line.slice(restAt).replace(/^ /, ""),
    };
  }
  return undefined;
}

/** True for objects perf shows as kernel (`[k]`). */
function kernelDso(dso: string): boolean {
  return dso.startsWith("[kernel.") || dso.startsWith("[guest.kernel") ||
    /\.ko(\.\w+)?$/.test(dso) ||
    /^\[[\w-]+\]$/.test(dso) && dso !== "[vdso]" && dso !== "[vsyscall]" && dso !== "[unknown]" &&
      dso !== "[heap]" && dso !== "[stack]" && dso !== "[vvar]" && dso !== "[anon]";
}

/**
 * Reads one frame (a callchain line without its TAB, or the text after the
 * event of a sample without callchain).
 * @param text The frame text.
 * @returns The frame, or undefined when the text is not one.
 */
export function parseFrameText(text: string): ScriptTextFrame | undefined {
  const m = FRAME.exec(text);
  if (m === null) return undefined;
  const ip = BigInt("0x" + m[1]);
  let rest = m[2] ?? "";
  let inlined = false;
  let dso: string | undefined;
  if (rest.endsWith(" (inlined)") || rest === "(inlined)") {
    inlined = true;
    rest = rest.slice(0, Math.max(0, rest.length - " (inlined)".length));
  } else if (rest.endsWith(")")) {
    // The object is the last balanced "(...)": paths may hold " (deleted)".
    let depth = 0;
    let k = rest.length - 1;
    for (; k >= 0; k--) {
      if (rest[k] === ")") depth++;
      else if (rest[k] === "(" && --depth === 0) break;
    }
    if (k >= 0 && (k === 0 || rest[k - 1] === " ")) {
      dso = rest.slice(k + 1, -1);
      rest = rest.slice(0, Math.max(0, k - 1));
    }
  }
  let sym: string | undefined = rest === "" ? undefined : rest.replace(/\+0x[0-9a-f]+$/, "");
  if (sym === "[unknown]") sym = undefined;
  if (dso === "[unknown]") dso = undefined;
  const kernel = dso !== undefined ? kernelDso(dso) : ip >= 0x8000_0000_0000_0000n;
  return { sym, dso, ip, kernel, ...(inlined ? { inlined } : {}) };
}

/** Options of {@linkcode ScriptTextParser}. */
export interface ScriptTextParserOptions {
  /** Input name for messages. */
  source?: string;
  /** Called with each sample (the object is not reused). */
  onSample: (sample: ScriptTextSample) => void;
}

/** Kinds of lines the parser skipped, with counts (named in {@linkcode ScriptTextParser.warnings}). */
export interface SkippedLines {
  /** `#` lines (`perf script --header`). */
  comments: number;
  /** Lines inside a sample that are not frames (`-F srcline`, tracepoint payloads). */
  other: number;
  /** Frame lines beyond {@linkcode MAX_FRAMES} of one sample (such samples are marked truncated). */
  deep: number;
}

/**
 * Incremental parser: feed text with {@linkcode push} in chunks of any size,
 * then {@linkcode end}. Memory stays bounded by the longest sample.
 */
export class ScriptTextParser {
  readonly #source: string;
  readonly #onSample: (sample: ScriptTextSample) => void;
  #carry = "";
  #line = 0;
  #header: Header | undefined;
  #headerLine = 0;
  #frames: ScriptTextFrame[] = [];
  #callchain = false;
  /** Skipped lines by kind. */
  readonly skipped: SkippedLines = { comments: 0, other: 0, deep: 0 };
  #firstOther = 0;
  #firstDeep = 0;
  /** Samples delivered. */
  samples = 0;

  /**
   * Creates the instance.
   * @param options Callback and input name.
   */
  constructor(options: ScriptTextParserOptions) {
    this.#source = options.source ?? "perf script text";
    this.#onSample = options.onSample;
  }

  /**
   * Feeds a chunk of text.
   * @param text The chunk.
   * @throws {ScriptTextSyntaxError} On a line outside a sample that is no sample header.
   */
  push(text: string): void {
    let data = this.#carry + text;
    let at = 0;
    for (;;) {
      const nl = data.indexOf("\n", at);
      if (nl < 0) break;
      this.#lineOf(data.slice(at, nl));
      at = nl + 1;
    }
    data = data.slice(at);
    if (data.length > MAX_LINE) {
      throw new ScriptTextSyntaxError(
        this.#source,
        this.#line + 1,
        data,
        "line longer than 16 MiB",
      );
    }
    this.#carry = data;
  }

  /** Ends the input (a last line without newline, the last sample). */
  end(): void {
    if (this.#carry !== "") this.#lineOf(this.#carry);
    this.#carry = "";
    this.#flush();
  }

  /** Warnings naming what was skipped. */
  get warnings(): string[] {
    const out: string[] = [];
    if (this.skipped.other > 0) {
      out.push(
        `${this.#source}: ${this.skipped.other} lines inside samples are not callchain frames ` +
          `and were skipped (first at line ${this.#firstOther})`,
      );
    }
    if (this.skipped.deep > 0) {
      out.push(
        `${this.#source}: ${this.skipped.deep} frame lines beyond ${MAX_FRAMES} in one sample ` +
          `were skipped and their samples marked truncated (first at line ${this.#firstDeep})`,
      );
    }
    return out;
  }

  #lineOf(raw: string): void {
    this.#line++;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.startsWith("\t")) {
      const frame = this.#header === undefined ? undefined : parseFrameText(line.slice(1));
      if (frame === undefined) this.#other();
      else if (this.#frames.length < MAX_FRAMES) this.#frames.push(frame);
      else this.#cut();
      return;
    }
    if (line.trim() === "") {
      this.#flush();
      return;
    }
    if (line.startsWith("#")) {
      this.skipped.comments++;
      return;
    }
    const header = parseHeaderLine(line);
    if (header === undefined) {
      if (this.#header !== undefined) {
        this.#other();
        return;
      }
      throw new ScriptTextSyntaxError(this.#source, this.#line, line);
    }
    this.#flush();
    this.#header = header;
    this.#headerLine = this.#line;
    this.#callchain = header.rest.trim() === "";
    if (!this.#callchain) {
      // No callchain: the sample's ip (absolute) and symbol follow the event.
      const frame = parseFrameText(header.rest.trimStart());
      if (frame !== undefined) this.#frames.push(frame);
    }
  }

  #cut(): void {
    if (this.skipped.deep++ === 0) this.#firstDeep = this.#line;
  }

  #other(): void {
    if (this.skipped.other++ === 0) this.#firstOther = this.#line;
  }

  #flush(): void {
    const h = this.#header;
    if (h === undefined) return;
    this.#header = undefined;
    const frames = this.#frames;
    this.#frames = [];
    // perf prints frames with no map in the sample's own cpumode: that of the leaf.
    const leafKernel = frames.length > 0 && frames[0].kernel;
    for (let i = 1; i < frames.length; i++) {
      const f = frames[i];
      if (f.dso === undefined && !f.inlined && f.kernel !== leafKernel) {
        frames[i] = { ...f, kernel: leafKernel };
      }
    }
    this.samples++;
    this.#onSample({
      frames,
      weight: h.period ?? 1,
      period: h.period,
      pid: h.pid,
      tid: h.tid,
      cpu: h.cpu,
      comm: h.comm,
      time: h.time,
      context: undefined,
      truncated: this.#callchain && frames.length >= PERF_MAX_STACK_DEPTH,
      eventName: h.event,
      callchain: this.#callchain,
      line: this.#headerLine,
    });
  }
}

/**
 * Whether the start of an input is `perf script` text: UTF-8 without NULs
 * whose first line that is neither blank nor a `#` comment is a sample
 * header. perf.data and callring captures start with binary magics and fail.
 * @param head The first bytes (a few KiB suffice).
 * @returns True for perf script text.
 */
export function looksLikePerfScriptText(head: Uint8Array): boolean {
  if (head.length === 0 || head.includes(0)) return false;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(0, cutUtf8(head)));
  } catch {
    return false;
  }
  const lines = text.split("\n");
  if (lines.length > 1) lines.pop(); // may be cut mid-line
  for (const raw of lines) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) continue;
    return !line.startsWith("\t") && parseHeaderLine(line) !== undefined;
  }
  return false;
}

/** Length of `bytes` without a UTF-8 sequence cut at the end. */
function cutUtf8(bytes: Uint8Array): number {
  let n = bytes.length;
  let back = 0;
  while (n > 0 && back < 4 && (bytes[n - 1] & 0xc0) === 0x80) {
    n--;
    back++;
  }
  if (n > 0 && bytes[n - 1] >= 0xc0) n--;
  else n += back;
  return n;
}

/**
 * Whether the file at `path` is `perf script` text (reads its first 4 KiB).
 * @param path The file (`-` is never text here: stdin is perf.data).
 * @returns True for perf script text.
 */
export async function isPerfScriptTextFile(path: string): Promise<boolean> {
  if (path === "-") return false;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return false;
  }
  try {
    const head = new Uint8Array(4096);
    let n = 0;
    while (n < head.length) {
      const r = await file.read(head.subarray(n));
      if (r === null) break;
      n += r;
    }
    return looksLikePerfScriptText(head.subarray(0, n));
  } finally {
    file.close();
  }
}

/**
 * Reads a `perf script` text file in chunks and hands each sample to `onSample`.
 * @param path The file.
 * @param onSample Called per sample.
 * @returns Warnings (skipped lines) and the number of samples.
 * @throws {ScriptTextSyntaxError} When a line outside samples is no sample header.
 */
export async function readPerfScriptText(
  path: string,
  onSample: (sample: ScriptTextSample) => void,
): Promise<{ warnings: string[]; samples: number }> {
  const parser = new ScriptTextParser({ source: path, onSample });
  const file = await Deno.open(path, { read: true });
  const decoder = new TextDecoder();
  const buf = new Uint8Array(1 << 20);
  try {
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      parser.push(decoder.decode(buf.subarray(0, n), { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  } finally {
    file.close();
  }
  return { warnings: parser.warnings, samples: parser.samples };
}
