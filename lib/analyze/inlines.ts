/**
 * Inline-frame expansion of callchain entries, the way perf 6.1 does it
 * without libbfd: a long-lived `addr2line -e FILE -i -f` subprocess per DSO,
 * fed `%016lx\n,\n` per query and read back record by record.
 *
 * What perf 6.1 does (tools/perf/util/srcline.c, util/machine.c; checked
 * against the real perf 6.1 binary with a logging `addr2line` wrapper):
 *
 * - `append_inlines()` runs for every frame the DWARF unwinder reports
 *   (`unwind_entry`), not for frame-pointer or kernel callchain entries
 *   (`add_callchain_ip` does not call it in 6.1). It needs a map and a
 *   symbol; `--no-inline` (`symbol_conf.inline_name = false`) turns it off.
 * - The queried address is `map__rip_2objdump(map, map__map_ip(map, ip))`:
 *   for user DSOs the file offset plus `text_offset` (`sh_addr - sh_offset`
 *   of the runtime image's `.text`). Answers are cached per (DSO, address).
 * - The file handed to addr2line is `dso->symsrc_filename` (the first
 *   symbol-source candidate that has a `.symtab`), else the DSO's own name;
 *   names starting with `[` or `/tmp/perf-` are never queried. The
 *   subprocess is only started when that file has a `.debug_line` section.
 * - After each address perf writes a `,` line: addr2line answers it with
 *   the sentinel record `??` / `??:0`. A first record that is itself
 *   invalid means "no answer" and one more record (the sentinel) is read
 *   and dropped. Otherwise every record up to the sentinel is an inline
 *   level, innermost first (at most {@linkcode MAX_INLINE_NEST} kept).
 * - A record whose function equals the frame's symbol name reuses that
 *   symbol (printed as usual, with its dso); any other name becomes an
 *   "inlined" symbol with the same start (same `+0x` offset), printed with
 *   ` (inlined)` and without the dso. When there is at least one record the
 *   nodes replace the frame; with none, the frame prints as usual.
 *
 * When `addr2line` cannot be started, perf shows no inline frames; so do we.
 *
 * @module
 */

import { joinSymfs, type SymbolSourceOptions, userCandidates } from "./buildid_cache.ts";
import { ElfFile, SHT_DYNSYM, SHT_SYMTAB } from "./elf.ts";

/** perf's `MAX_INLINE_NEST`: records kept after the first one. */
export const MAX_INLINE_NEST = 1024;

/** One genuine addr2line record: a function and its source position. */
export interface Addr2lineRecord {
  /** Function name as addr2line printed it (trimmed). */
  func: string;
  /** Source file name (text before the first `:`). */
  file: string;
  /** Line number (`strtoul(..., 0)` of the text after the `:`). */
  line: number;
}

/** One node that replaces a callchain entry (perf's `inline_list` entry). */
export interface InlineNode {
  /** Symbol name printed for the node. */
  sym: string;
  /** True for a synthesized inlined symbol (printed with ` (inlined)`, no dso). */
  inlined: boolean;
  /** The record's source position as perf prints it (`-F srcline`): `file.c:12`. */
  srcline?: string;
}

/**
 * perf's `srcline_from_fileline` (without `--full-source-path`): the file's
 * base name (`gnu_basename`, the text after the last `/`), `:`, the line.
 *
 * @param file The file name addr2line printed.
 * @param line The line number.
 * @returns `name.c:12`.
 */
export function srclineText(file: string, line: number): string {
  return `${file.slice(file.lastIndexOf("/") + 1)}:${line}`;
}

/** perf's `SRCLINE_UNKNOWN`: a source position perf does not print. */
export const SRCLINE_UNKNOWN = "??:0";

/** Reads addr2line's output one line at a time. */
export interface LineSource {
  /**
   * Next line, without its `\n`.
   *
   * @returns The line, or undefined at end of output.
   */
  readLine(): Promise<string | undefined>;
}

/** The result of perf's `read_addr2line_record`. */
export type RecordRead =
  | { status: 1; record: Addr2lineRecord }
  | { status: 0 }
  | { status: -1 };

/**
 * C's `strtoul(text, NULL, 0)` for the values addr2line prints: leading
 * blanks, optional sign, `0x` hex / `0` octal / decimal prefix; 0 when no
 * digits follow.
 *
 * @param text The text after the `:`.
 * @returns The parsed number (as an unsigned 32-bit value, like perf's `unsigned int`).
 */
export function strtoul0(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text);
  if (m === null) return 0;
  const digits = m[2]!;
  let value: bigint;
  if (/^0[xX]/.test(digits)) value = BigInt(digits);
  else if (digits.length > 1 && digits[0] === "0") value = BigInt("0o" + digits.slice(1));
  else value = BigInt(digits);
  if (m[1] === "-") value = -value;
  return Number(BigInt.asUintN(32, value));
}

/**
 * perf's `filename_split`: split addr2line's `FILE:LINE` line.
 *
 * @param text The second line of a record (a trailing `\n` is ignored).
 * @returns File and line, or undefined for `??:0` and lines without `:`
 *   (perf's "sentinel or ill-formed" result).
 *
 * @example
 * ```ts
 * import { splitFileLine } from "./inlines.ts";
 * console.log(splitFileLine("/src/a.c:41 (discriminator 3)")); // { file: "/src/a.c", line: 41 }
 * console.log(splitFileLine("??:0")); // undefined
 * ```
 */
export function splitFileLine(text: string): { file: string; line: number } | undefined {
  const nl = text.indexOf("\n");
  const s = nl >= 0 ? text.slice(0, nl) : text;
  if (s === "??:0") return undefined;
  const colon = s.indexOf(":");
  if (colon < 0) return undefined;
  return { file: s.slice(0, colon), line: strtoul0(s.slice(colon + 1)) };
}

/**
 * perf's `read_addr2line_record`: read two lines (function, `FILE:LINE`).
 *
 * @param src addr2line's output.
 * @returns 1 with the record, 0 for the sentinel or an ill-formed record
 *   (both lines consumed), -1 when the output ended.
 */
export async function readAddr2lineRecord(src: LineSource): Promise<RecordRead> {
  const func = await src.readLine();
  if (func === undefined) return { status: -1 };
  const fileLine = await src.readLine();
  if (fileLine === undefined) return { status: -1 };
  const split = splitFileLine(fileLine);
  if (split === undefined) return { status: 0 };
  return { status: 1, record: { func: func.trim(), file: split.file, line: split.line } };
}

/**
 * Read the answer to one query (`ADDR\n,\n`) exactly as perf 6.1's
 * `addr2line()` does with `unwind_inlines`: an invalid first record means
 * no answer (and the sentinel behind it is read and dropped); otherwise
 * records are read up to the first invalid one (the sentinel).
 *
 * @param src addr2line's output, positioned at the answer.
 * @returns The records, innermost first (empty when addr2line knew nothing).
 *
 * @example
 * ```ts
 * import { readInlineAnswer } from "./inlines.ts";
 * const lines = ["mix", "a.c:5", "outer", "a.c:13", "??", "??:0"];
 * const src = { readLine: () => Promise.resolve(lines.shift()) };
 * console.log((await readInlineAnswer(src)).map((r) => r.func)); // ["mix", "outer"]
 * ```
 */
export async function readInlineAnswer(src: LineSource): Promise<Addr2lineRecord[]> {
  const first = await readAddr2lineRecord(src);
  if (first.status === -1) return [];
  if (first.status === 0) {
    await readAddr2lineRecord(src); // the sentinel's answer
    return [];
  }
  const records = [first.record];
  let nested = 0;
  for (;;) {
    const next = await readAddr2lineRecord(src);
    if (next.status !== 1) break;
    if (nested++ < MAX_INLINE_NEST) records.push(next.record);
  }
  return records;
}

/**
 * perf's `new_inline_sym` over an answer: a record naming the frame's own
 * symbol reuses it; other names become inlined symbols.
 *
 * @param records The addr2line answer, innermost first.
 * @param baseSym The frame's symbol name.
 * @returns The nodes that replace the frame (empty: print the frame as usual).
 */
export function inlineNodes(records: readonly Addr2lineRecord[], baseSym: string): InlineNode[] {
  return records.map((r) => {
    const name = r.func;
    const srcline = srclineText(r.file, r.line);
    return name === baseSym
      ? { sym: baseSym, inlined: false, srcline }
      : { sym: name, inlined: true, srcline };
  });
}

/** Splits a byte stream into lines. */
export class StreamLineSource implements LineSource {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #done = false;

  /**
   * Wrap a stream.
   *
   * @param stream The bytes (addr2line's stdout).
   */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /**
   * Next line without its `\n`; a last line without `\n` is returned too.
   *
   * @returns The line, or undefined at the end.
   */
  async readLine(): Promise<string | undefined> {
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      if (this.#done) {
        if (this.#buffer === "") return undefined;
        const rest = this.#buffer;
        this.#buffer = "";
        return rest;
      }
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#done = true;
        this.#buffer += this.#decoder.decode();
      } else this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Stop reading and release the stream. */
  async cancel(): Promise<void> {
    this.#done = true;
    await this.#reader.cancel().catch(() => {});
  }
}

/** One `addr2line -e FILE -i -f` subprocess with queries pipelined in order. */
export class Addr2lineProcess {
  /** The file addr2line reads. */
  readonly file: string;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: StreamLineSource;
  readonly #encoder = new TextEncoder();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(file: string, child: Deno.ChildProcess) {
    this.file = file;
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = new StreamLineSource(child.stdout);
  }

  /**
   * Start addr2line for a file, with perf's arguments (`-e FILE -i -f`).
   *
   * @param file The ELF file to query.
   * @param program The addr2line binary (default `addr2line` from PATH).
   * @returns The process, or undefined when the program cannot be started.
   */
  static start(file: string, program = "addr2line"): Addr2lineProcess | undefined {
    try {
      const child = new Deno.Command(program, {
        args: ["-e", file, "-i", "-f"],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      return new Addr2lineProcess(file, child);
    } catch {
      return undefined;
    }
  }

  /**
   * Ask for the inline chain at an address. Queries are written at once and
   * answered in order, so several may be outstanding.
   *
   * @param addr The address in the file (`map_ip` + `text_offset`).
   * @returns The records, innermost first; empty on no answer or a dead process.
   */
  query(addr: bigint): Promise<Addr2lineRecord[]> {
    if (this.#closed) return Promise.resolve([]);
    const request = addr.toString(16).padStart(16, "0") + "\n,\n";
    const written = this.#writer.write(this.#encoder.encode(request));
    const answer = this.#queue.then(async () => {
      try {
        await written;
      } catch {
        return [];
      }
      return await readInlineAnswer(this.#lines);
    });
    this.#queue = answer.catch(() => {});
    return answer.catch(() => []);
  }

  /** Wait for outstanding answers, then end the process (perf kills it; we close its input). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    await this.#writer.close().catch(() => {});
    await this.#lines.cancel();
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.#child.status;
  }
}

/** Where perf would look an address of one DSO up. */
export interface InlineTarget {
  /** The file given to addr2line, or undefined when perf would not start it. */
  file: string | undefined;
  /** `.text` `sh_addr - sh_offset` of the runtime image (perf's `dso->text_offset`). */
  textOffset: bigint;
}

/** Options of {@linkcode inlineTarget}: the symbolizer's sources and the DSO's build-id. */
export interface InlineTargetOptions extends SymbolSourceOptions {
  /** perf build-id cache directory (older name of `buildIdDir`). */
  buildIdCache?: string;
  /** Expected build-ids by file name (from the perf.data header or MMAP2). */
  buildIds?: Map<string, string>;
  /** The DSO's build-id as the recording names it (wins over `buildIds`). */
  buildId?: string;
}

function tryOpenElf(path: string): ElfFile | undefined {
  try {
    if (!Deno.statSync(path).isFile) return undefined;
    return ElfFile.open(path);
  } catch {
    return undefined;
  }
}

/**
 * Decide, as perf 6.1 does, which file addr2line gets for a user DSO and
 * the `text_offset` added to map-relative addresses: the symbol source is
 * the first candidate with a `.symtab` (and the expected build-id), else
 * the DSO path itself; addr2line is only used when that file has a
 * `.debug_line` section (`filename__has_section`). Paths starting with `[`
 * or `/tmp/perf-` are never queried.
 *
 * @param filename The DSO path from the MMAP record.
 * @param options Search roots and build-ids.
 * @returns The target.
 */
export function inlineTarget(filename: string, options: InlineTargetOptions = {}): InlineTarget {
  if (filename.startsWith("[") || filename.startsWith("/tmp/perf-")) {
    return { file: undefined, textOffset: 0n };
  }
  const local = joinSymfs(options.symfs, filename);
  const runtimeFile = tryOpenElf(local);
  const opened: ElfFile[] = runtimeFile ? [runtimeFile] : [];
  try {
    const buildId = options.buildId ?? options.buildIds?.get(filename) ?? runtimeFile?.buildId();
    let syms: ElfFile | undefined, runtime: ElfFile | undefined;
    let symsPath: string | undefined;
    const candidates = userCandidates(filename, buildId, runtimeFile?.debugLink(), {
      ...options,
      buildIdDir: options.buildIdDir ?? options.buildIdCache,
    });
    for (const path of candidates) {
      const elf = path === local ? runtimeFile : tryOpenElf(path);
      if (elf === undefined) continue;
      if (elf !== runtimeFile) opened.push(elf);
      if (buildId !== undefined && elf.buildId() !== buildId) continue;
      if (syms === undefined && elf.hasSymbols(SHT_SYMTAB)) {
        syms = elf;
        symsPath = path;
      }
      if (runtime === undefined && elf.hasSymbols(SHT_DYNSYM)) runtime = elf;
      if (syms !== undefined && runtime !== undefined) break;
    }
    runtime ??= syms;
    let textOffset = 0n;
    const text = runtime?.sections.find((s) => s.name === ".text");
    if (text !== undefined) textOffset = BigInt.asUintN(64, text.addr - text.offset);
    const a2lPath = symsPath ?? local;
    const a2lElf = symsPath !== undefined ? syms : runtimeFile;
    const hasLines = a2lElf !== undefined && a2lElf.sectionIndex(".debug_line") >= 0;
    return { file: hasLines ? a2lPath : undefined, textOffset };
  } catch {
    return { file: undefined, textOffset: 0n };
  } finally {
    for (const f of opened) f.close();
  }
}

/** Options of {@linkcode InlineResolver}. */
export interface InlineResolverOptions {
  /** The addr2line program (default `addr2line` from PATH). */
  program?: string;
  /** Most addr2line subprocesses open at once (default 16); the least recently used is closed. */
  maxProcesses?: number;
}

/**
 * Cached inline lookups over a pool of addr2line subprocesses (one per file).
 *
 * @example
 * ```ts ignore
 * import { InlineResolver } from "./inlines.ts";
 * const inliner = new InlineResolver();
 * console.log(await inliner.lookup("/usr/lib/debug/.build-id/93/ac61.debug", 0x27304n));
 * await inliner.close();
 * ```
 */
export class InlineResolver {
  readonly #program: string;
  readonly #maxProcesses: number;
  readonly #processes = new Map<string, Addr2lineProcess>();
  readonly #cache = new Map<string, Map<bigint, Promise<Addr2lineRecord[]>>>();
  readonly #closing = new Set<Promise<void>>();
  #unavailable = false;
  #spawned = 0;

  /**
   * Create a resolver; no process starts before the first lookup.
   *
   * @param options Program and pool size.
   */
  constructor(options: InlineResolverOptions = {}) {
    this.#program = options.program ?? "addr2line";
    this.#maxProcesses = Math.max(1, options.maxProcesses ?? 16);
  }

  /** Whether the addr2line program could not be started (then every lookup is empty). */
  get unavailable(): boolean {
    return this.#unavailable;
  }

  /** Number of addr2line processes started so far. */
  get spawned(): number {
    return this.#spawned;
  }

  /**
   * The inline chain at an address of a file (cached per file and address).
   *
   * @param file The file for addr2line (see {@linkcode inlineTarget}).
   * @param addr The address (`map_ip` + `text_offset`).
   * @returns The records, innermost first.
   */
  lookup(file: string, addr: bigint): Promise<Addr2lineRecord[]> {
    let perFile = this.#cache.get(file);
    if (perFile === undefined) this.#cache.set(file, perFile = new Map());
    let answer = perFile.get(addr);
    if (answer === undefined) {
      const proc = this.#process(file);
      answer = proc ? proc.query(addr) : Promise.resolve([]);
      perFile.set(addr, answer);
    }
    return answer;
  }

  #process(file: string): Addr2lineProcess | undefined {
    if (this.#unavailable) return undefined;
    const open = this.#processes.get(file);
    if (open !== undefined) {
      this.#processes.delete(file); // move to the most recently used end
      this.#processes.set(file, open);
      return open;
    }
    if (this.#processes.size >= this.#maxProcesses) {
      const [oldest, proc] = this.#processes.entries().next().value!;
      this.#processes.delete(oldest);
      this.#retire(proc);
    }
    const proc = Addr2lineProcess.start(file, this.#program);
    if (proc === undefined) {
      this.#unavailable = true;
      return undefined;
    }
    this.#spawned++;
    this.#processes.set(file, proc);
    return proc;
  }

  #retire(proc: Addr2lineProcess): void {
    const closing: Promise<void> = proc.close().finally(() => this.#closing.delete(closing));
    this.#closing.add(closing);
  }

  /**
   * Close every subprocess (after their outstanding answers). Calls made
   * while another is under way wait for the same processes to end.
   */
  async close(): Promise<void> {
    for (const proc of this.#processes.values()) this.#retire(proc);
    this.#processes.clear();
    await Promise.all([...this.#closing]);
  }
}
