/**
 * Kernel symbols from `/proc/kallsyms` (or a copy), with perf 6.1's rules:
 * `kallsyms__parse` line splitting, `symbol_type__filter` (types T, W, D, B
 * in either case), `kallsyms2elf_binding`, then `symbols__fixup_end` in its
 * kallsyms variant and `symbols__fixup_duplicate` over kernel and module
 * symbols together, before splitting module symbols (`name\t[module]`) out.
 *
 * Reading `/proc/kallsyms` needs `deno run -A` (and root, or
 * `kernel.kptr_restrict=0`, for non-zero addresses).
 *
 * @module
 */

import {
  type RawSymbol,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FUNC,
  STT_OBJECT,
  SymbolTable,
} from "./symbols.ts";

/** Kernel and module symbol tables. */
export interface KernelSymbols {
  /** Built-in kernel symbols (`[kernel.kallsyms]`), absolute addresses. */
  kernel: SymbolTable;
  /** Module symbols keyed by module name (without brackets), absolute addresses. */
  modules: Map<string, SymbolTable>;
  /** True when every address was zero (kptr_restrict): perf then loads no symbols. */
  allZero: boolean;
}

/** A kallsyms file that cannot be read. */
export class KallsymsError extends Error {
  /** File path. */
  readonly path: string;
  /**
   * Create the error.
   *
   * @param path File path.
   * @param message What went wrong.
   * @param options Error cause.
   */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.name = "KallsymsError";
    this.path = path;
  }
}

/**
 * perf's `symbol_type__filter`.
 *
 * @param type kallsyms type letter.
 * @returns Whether perf keeps symbols of that type.
 */
export function keepsKallsymsType(type: string): boolean {
  const t = type.toUpperCase();
  return t === "T" || t === "W" || t === "D" || t === "B";
}

function bindingOf(type: string): number {
  if (type === "W") return STB_WEAK;
  return type >= "A" && type <= "Z" ? STB_GLOBAL : STB_LOCAL;
}

/** Incremental kallsyms parser: feed text chunks, then {@linkcode KallsymsParser.finish}. */
export class KallsymsParser {
  readonly #raw: RawSymbol[] = [];
  readonly #names: string[] = [];
  #pending = "";
  #allZero = true;
  #lines = 0;

  /**
   * Feed a chunk of kallsyms text (lines may span chunks).
   *
   * @param text The chunk.
   */
  push(text: string): void {
    const data = this.#pending + text;
    let start = 0;
    for (;;) {
      const nl = data.indexOf("\n", start);
      if (nl < 0) break;
      this.#line(data.slice(start, nl));
      start = nl + 1;
    }
    this.#pending = data.slice(start);
  }

  #line(line: string): void {
    // kallsyms__parse: hex address, one space, type char, one space, rest of line.
    let i = 0;
    while (i < line.length && isHex(line.charCodeAt(i))) i++;
    if (i === 0 || i > 16 || line[i] !== " " || i + 2 >= line.length + 1) return;
    const type = line[i + 1];
    if (type === undefined || line[i + 2] !== " ") return;
    const name = line.slice(i + 3);
    const addr = BigInt("0x" + line.slice(0, i));
    this.#lines++;
    if (addr !== 0n) this.#allZero = false;
    if (!keepsKallsymsType(type) || name.startsWith("$")) return;
    this.#raw.push({
      start: addr,
      size: 0n,
      binding: bindingOf(type),
      type: type.toUpperCase() === "T" || type.toUpperCase() === "W" ? STT_FUNC : STT_OBJECT,
      nameRef: this.#names.length,
    });
    this.#names.push(name);
  }

  /**
   * Finish parsing and build the tables.
   *
   * @returns Kernel and module symbols.
   */
  finish(): KernelSymbols {
    if (this.#pending !== "") this.#line(this.#pending);
    this.#pending = "";
    const names = this.#names;
    if (this.#allZero) {
      return {
        kernel: SymbolTable.build([], () => ""),
        modules: new Map(),
        allZero: this.#lines > 0,
      };
    }
    const all = SymbolTable.build(this.#raw, (r) => names[r], { isKallsyms: true });
    type Fixed = { start: bigint; end: bigint; nameRef: number };
    const kernelRaw: Fixed[] = [];
    const kernelNames: string[] = [];
    const moduleRaw = new Map<string, { raw: Fixed[]; names: string[] }>();
    for (let i = 0; i < all.length; i++) {
      const full = all.nameAt(i);
      const start = all.startAt(i), end = all.endAt(i);
      const tab = full.indexOf("\t");
      let name = full, target = { raw: kernelRaw, names: kernelNames };
      if (tab >= 0) {
        name = full.slice(0, tab);
        const mod = full.slice(tab + 1).replace(/^\[/, "").replace(/\]$/, "");
        let m = moduleRaw.get(mod);
        if (m === undefined) moduleRaw.set(mod, m = { raw: [], names: [] });
        target = m;
      }
      target.raw.push({ start, end, nameRef: target.names.length });
      target.names.push(name);
    }
    const modules = new Map<string, SymbolTable>();
    for (const [mod, m] of moduleRaw) {
      modules.set(mod, SymbolTable.fromFixed(m.raw, (r) => m.names[r]));
    }
    return {
      kernel: SymbolTable.fromFixed(kernelRaw, (r) => kernelNames[r]),
      modules,
      allZero: false,
    };
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * Parse kallsyms text held in memory.
 *
 * @param text Whole file contents.
 * @returns Kernel and module symbols.
 * @example
 * ```ts
 * import { parseKallsyms } from "./kallsyms.ts";
 * const k = parseKallsyms("ffffffff81000000 T _stext\nffffffff81000100 t foo\n");
 * console.log(k.kernel.nameAt(k.kernel.find(0xffffffff81000104n))); // "foo"
 * ```
 */
export function parseKallsyms(text: string): KernelSymbols {
  const p = new KallsymsParser();
  p.push(text);
  return p.finish();
}

/**
 * Read and parse a kallsyms file in chunks.
 *
 * @param path File to read; defaults to `/proc/kallsyms`.
 * @returns Kernel and module symbols.
 * @throws {KallsymsError} When the file cannot be read.
 */
export function loadKallsyms(path = "/proc/kallsyms"): KernelSymbols {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    throw new KallsymsError(path, `cannot open: ${(e as Error).message}`, { cause: e });
  }
  const parser = new KallsymsParser();
  const decoder = new TextDecoder();
  const buf = new Uint8Array(256 * 1024);
  try {
    for (;;) {
      const n = file.readSync(buf);
      if (n === null || n === 0) break;
      parser.push(decoder.decode(buf.subarray(0, n), { stream: true }));
    }
    parser.push(decoder.decode());
  } catch (e) {
    throw new KallsymsError(path, `read failed: ${(e as Error).message}`, { cause: e });
  } finally {
    file.close();
  }
  return parser.finish();
}
