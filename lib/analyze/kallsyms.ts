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

import { STB_GLOBAL, STB_LOCAL, STB_WEAK, SymbolTable } from "./symbols.ts";

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

/** Growable u32 column. */
class U32s {
  a = new Uint32Array(1024);
  n = 0;
  reserve(capacity: number): void {
    if (capacity <= this.a.length) return;
    const next = new Uint32Array(capacity);
    next.set(this.a.subarray(0, this.n));
    this.a = next;
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const next = new Uint32Array(this.a.length * 2);
      next.set(this.a);
      this.a = next;
    }
    this.a[this.n++] = v;
  }
}

const PAGE = 4096;
/** Flag in a symbol's kind: its name has a `[` (a module symbol, for fixup_end). */
const MODULE = 0x100;
/** Flag in a symbol's kind: its name has a tab (`name\t[module]`). */
const TABBED = 0x200;
/** Flag in a symbol's kind: a data symbol (D or B), STT_OBJECT in perf's `kallsyms2elf_type`. */
const OBJECT = 0x400;
const TWO_32 = 0x1_0000_0000;
const utf8 = new TextDecoder();
const textEncoder = new TextEncoder();

/**
 * Incremental kallsyms parser: feed chunks (text or bytes), then
 * {@linkcode KallsymsParser.finish}. Lines are parsed as bytes, addresses
 * stay u32 halves (no BigInt) and names are decoded only when looked up,
 * so loading the ~120k symbols of a distribution kernel allocates almost
 * nothing but the text itself.
 */
export class KallsymsParser {
  /** Every byte fed so far (names point into it). */
  #text = new Uint8Array(1 << 23);
  #used = 0;
  /** Offset in `#text` of the first byte not yet parsed (start of a partial line). */
  #parsed = 0;
  readonly #hi = new U32s();
  readonly #lo = new U32s();
  /** binding | MODULE | TABBED per symbol. */
  readonly #kind = new U32s();
  /** Name start, and end of the whole name (`name\t[module]` included), per symbol. */
  readonly #nameStart = new U32s();
  readonly #nameEnd = new U32s();
  #allZero = true;
  #lines = 0;
  /** Whether the kept symbols came in address order so far. */
  #sorted = true;
  #lastHi = 0;
  #lastLo = 0;

  /**
   * Feed a chunk of kallsyms text (lines may span chunks).
   *
   * @param text The chunk.
   */
  push(text: string): void {
    this.pushBytes(textEncoder.encode(text));
  }

  /**
   * Feed a chunk of kallsyms bytes (lines may span chunks; the bytes are copied).
   *
   * @param bytes The chunk.
   */
  pushBytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length).set(bytes);
    this.#used += bytes.length;
  }

  /** Room for `n` more bytes at the end of the text (valid until the next call). */
  #reserve(n: number): Uint8Array {
    if (this.#used + n > this.#text.length) {
      const next = new Uint8Array(Math.max(this.#text.length * 2, this.#used + n));
      next.set(this.#text.subarray(0, this.#used));
      this.#text = next;
    }
    return this.#text.subarray(this.#used, this.#used + n);
  }

  /**
   * Read a whole file into the parser (the bytes go straight into its text).
   *
   * @param file An open file.
   */
  readAll(file: Deno.FsFile): void {
    for (;;) {
      const room = this.#reserve(Math.max(1 << 16, this.#text.length - this.#used));
      const n = file.readSync(room);
      if (n === null || n === 0) break;
      this.#used += n;
    }
  }

  /** Parse the lines fed since the last call (a final line may lack its newline). */
  #parse(final: boolean): void {
    const text = this.#text.subarray(0, this.#used);
    const used = this.#used;
    const cols = [this.#hi, this.#lo, this.#kind, this.#nameStart, this.#nameEnd];
    // A kallsyms line is at least 20 bytes ("%016lx t x\n"): room for every symbol.
    for (const c of cols) c.reserve(c.n + Math.ceil((used - this.#parsed) / 20) + 1);
    const hiA = this.#hi.a, loA = this.#lo.a, kindA = this.#kind.a;
    const startA = this.#nameStart.a, endA = this.#nameEnd.a;
    let n = this.#hi.n;
    let lines = this.#lines;
    let allZero = this.#allZero, sorted = this.#sorted;
    let lastHi = this.#lastHi, lastLo = this.#lastLo;
    // Next `[` and tab at or after the current line (native forward searches, never rescanned).
    let bracket = -1, tab = -1;
    let p = this.#parsed;
    while (p < used) {
      let end = text.indexOf(0x0a, p);
      if (end < 0) {
        if (!final) break; // incomplete line: wait for more
        end = used;
      }
      // kallsyms__parse: hex address, one space, type char, one space, name.
      const start = p;
      p = end + 1;
      let i = start, hi = 0, lo = 0, d = 0;
      // The usual line has 16 hex digits: two unrolled halves (-1 marks a non-digit).
      const h = start + 17 <= end ? hex8(text, start) : -1;
      const l = h >= 0 ? hex8(text, start + 8) : -1;
      if (l >= 0 && HEX_VALUE[text[start + 16]!]! < 0) {
        hi = h;
        lo = l;
        i = start + 16;
      } else {
        while (i < end && (d = HEX_VALUE[text[i]!]!) >= 0) {
          hi = ((hi << 4) | (lo >>> 28)) >>> 0;
          lo = ((lo << 4) | d) >>> 0;
          i++;
        }
      }
      const digits = i - start;
      if (digits === 0 || digits > 16 || i + 2 >= end || text[i] !== 0x20) continue;
      if (text[i + 2] !== 0x20) continue;
      const type = text[i + 1]!;
      lines++;
      if (hi !== 0 || lo !== 0) allZero = false;
      // symbol_type__filter: T, W, D, B in either case; no `$` names.
      const upper = type & ~0x20;
      if (upper !== 0x54 && upper !== 0x57 && upper !== 0x44 && upper !== 0x42) continue;
      const name = i + 3;
      if (name < end && text[name] === 0x24) continue;
      let kind = type === 0x57 ? STB_WEAK : type <= 0x5a ? STB_GLOBAL : STB_LOCAL;
      if (bracket < name) {
        bracket = text.indexOf(0x5b, name);
        if (bracket < 0) bracket = Infinity;
      }
      if (bracket < end) kind |= MODULE;
      if (tab < name) {
        tab = text.indexOf(0x09, name);
        if (tab < 0) tab = Infinity;
      }
      if (tab < end) kind |= TABBED;
      if (upper === 0x44 || upper === 0x42) kind |= OBJECT;
      if (hi < lastHi || (hi === lastHi && lo < lastLo)) sorted = false;
      lastHi = hi;
      lastLo = lo;
      hiA[n] = hi;
      loA[n] = lo;
      kindA[n] = kind;
      startA[n] = name;
      endA[n] = end;
      n++;
    }
    for (const c of cols) c.n = n;
    this.#parsed = p > used ? used : p;
    this.#lines = lines;
    this.#allZero = allZero;
    this.#sorted = sorted;
    this.#lastHi = lastHi;
    this.#lastLo = lastLo;
  }

  /**
   * Finish parsing and build the tables.
   *
   * @returns Kernel and module symbols.
   */
  finish(): KernelSymbols {
    this.#parse(true);
    if (this.#allZero) {
      return {
        kernel: SymbolTable.build([], () => ""),
        modules: new Map(),
        allZero: this.#lines > 0,
      };
    }
    const text = this.#text;
    const n = this.#hi.n;
    let sh = this.#hi.a, sl = this.#lo.a, kind = this.#kind.a;
    let ns = this.#nameStart.a, ne = this.#nameEnd.a;
    if (!this.#sorted) {
      // Stable sort by start (perf's rb-tree keeps equal starts in file order).
      const order: number[] = new Array(n);
      for (let k = 0; k < n; k++) order[k] = k;
      order.sort((a, b) => (sh[a]! - sh[b]!) || (sl[a]! - sl[b]!) || (a - b));
      const permute = (from: Uint32Array) => {
        const to = new Uint32Array(n);
        for (let k = 0; k < n; k++) to[k] = from[order[k]!]!;
        return to;
      };
      sh = permute(sh), sl = permute(sl), kind = permute(kind), ns = permute(ns), ne = permute(ne);
    }
    const fullName = (k: number) => utf8.decode(text.subarray(ns[k]!, ne[k]!));
    // symbols__fixup_end, kallsyms variant (every kallsyms symbol has size 0): a
    // symbol ends where the next starts, or on the next page after a
    // kernel/module boundary; the last one a page after its page.
    const eh = new Uint32Array(n), el = new Uint32Array(n);
    for (let k = 0; k + 1 < n; k++) {
      if ((kind[k]! & MODULE) !== (kind[k + 1]! & MODULE)) {
        pageAfter(eh, el, k, sh[k]!, sl[k]!, PAGE);
      } else {
        eh[k] = sh[k + 1]!;
        el[k] = sl[k + 1]!;
      }
    }
    if (n > 0) pageAfter(eh, el, n - 1, sh[n - 1]!, sl[n - 1]!, 0, PAGE);
    // symbols__fixup_duplicate (of symbols sharing a start, keep
    // choose_best_symbol's pick), then `name\t[module]` symbols go to their module.
    const kernel = new TableBuilder(n, text);
    const modules = new Map<string, TableBuilder>();
    let lastModule = "", lastBuilder: TableBuilder | undefined;
    const keep = (k: number) => {
      if (!(kind[k]! & TABBED)) {
        kernel.add(sh[k]!, sl[k]!, eh[k]!, el[k]!, ns[k]!, ne[k]!, (kind[k]! & OBJECT) !== 0);
        return;
      }
      const tab = text.indexOf(0x09, ns[k]!);
      const mod = utf8.decode(text.subarray(tab + 1, ne[k]!)).replace(/^\[/, "").replace(
        /\]$/,
        "",
      );
      let b = mod === lastModule ? lastBuilder : modules.get(mod);
      if (b === undefined) modules.set(mod, b = new TableBuilder(16, text));
      lastModule = mod;
      lastBuilder = b;
      b.add(sh[k]!, sl[k]!, eh[k]!, el[k]!, ns[k]!, tab, (kind[k]! & OBJECT) !== 0);
    };
    const prefersFirst = (a: number, b: number): boolean => {
      const za = eh[a] === sh[a] && el[a] === sl[a];
      const zb = eh[b] === sh[b] && el[b] === sl[b];
      if (zb && !za) return true;
      if (za && !zb) return false;
      const ba = kind[a]! & 0xff, bb = kind[b]! & 0xff;
      const wa = ba === STB_WEAK, wb = bb === STB_WEAK;
      if (wb && !wa) return true;
      if (wa && !wb) return false;
      const ga = ba === STB_GLOBAL, gb = bb === STB_GLOBAL;
      if (ga && !gb) return true;
      if (gb && !ga) return false;
      const na = fullName(a), nb = fullName(b);
      const ua = prefixUnderscores(na), ub = prefixUnderscores(nb);
      if (ub > ua) return true;
      if (ua > ub) return false;
      // perf compares strlen (bytes); names are ASCII in practice.
      if (na.length > nb.length) return true;
      if (na.length < nb.length) return false;
      // arch__choose_best_symbol: avoid "SyS" syscall aliases.
      if (na.startsWith("SyS") || na.startsWith("compat_SyS")) return false;
      return true;
    };
    let curr = 0;
    for (let k = 1; k < n; k++) {
      if (sh[curr] !== sh[k] || sl[curr] !== sl[k]) {
        keep(curr);
        curr = k;
      } else if (!prefersFirst(curr, k)) curr = k;
    }
    if (n > 0) keep(curr);
    const tables = new Map<string, SymbolTable>();
    for (const [mod, b] of modules) tables.set(mod, b.table());
    return { kernel: kernel.table(), modules: tables, allZero: false };
  }
}

/** Accumulates the symbols of one table in order; names stay bytes until looked up. */
class TableBuilder {
  readonly #text: Uint8Array;
  sh: Uint32Array;
  sl: Uint32Array;
  eh: Uint32Array;
  el: Uint32Array;
  /** Name start and end in the text, interleaved. */
  names: Uint32Array;
  /** 1 per data-object symbol, allocated at the first one. */
  objects: Uint8Array | undefined;
  n = 0;

  constructor(capacity: number, text: Uint8Array) {
    this.#text = text;
    this.sh = new Uint32Array(capacity);
    this.sl = new Uint32Array(capacity);
    this.eh = new Uint32Array(capacity);
    this.el = new Uint32Array(capacity);
    this.names = new Uint32Array(capacity * 2);
  }

  add(
    sh: number,
    sl: number,
    eh: number,
    el: number,
    nameStart: number,
    nameEnd: number,
    object: boolean,
  ): void {
    if (this.n === this.sh.length) {
      const grow = (a: Uint32Array) => {
        const b = new Uint32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.sh = grow(this.sh);
      this.sl = grow(this.sl);
      this.eh = grow(this.eh);
      this.el = grow(this.el);
      this.names = grow(this.names);
    }
    const k = this.n++;
    this.sh[k] = sh;
    this.sl[k] = sl;
    this.eh[k] = eh;
    this.el[k] = el;
    this.names[2 * k] = nameStart;
    this.names[2 * k + 1] = nameEnd;
    if (object) {
      if (this.objects === undefined || this.objects.length < this.sh.length) {
        const grown = new Uint8Array(this.sh.length);
        if (this.objects !== undefined) grown.set(this.objects);
        this.objects = grown;
      }
      this.objects[k] = 1;
    }
  }

  table(): SymbolTable {
    const n = this.n;
    const text = this.#text, names = this.names;
    return SymbolTable.fromSortedHalves(
      this.sh.slice(0, n),
      this.sl.slice(0, n),
      this.eh.slice(0, n),
      this.el.slice(0, n),
      (k) => utf8.decode(text.subarray(names[2 * k]!, names[2 * k + 1]!)),
      this.objects?.slice(0, n),
    );
  }
}

/**
 * Set symbol `k`'s end to `roundup(start + add, 4096) + extra` (perf's
 * `roundup(x, 4096)`), on u32 halves.
 */
function pageAfter(
  endHi: Uint32Array,
  endLo: Uint32Array,
  k: number,
  hi: number,
  lo: number,
  add: number,
  extra = 0,
): void {
  // x = start + add + 4095, then clear the low 12 bits, then + extra.
  let l = lo + add + (PAGE - 1);
  let h = hi;
  if (l >= TWO_32) {
    l -= TWO_32;
    h = (h + 1) >>> 0;
  }
  l = (l - (l % PAGE)) + extra;
  if (l >= TWO_32) {
    l -= TWO_32;
    h = (h + 1) >>> 0;
  }
  endHi[k] = h;
  endLo[k] = l;
}

function prefixUnderscores(name: string): number {
  let n = 0;
  while (n < name.length && name.charCodeAt(n) === 0x5f) n++;
  return n;
}

/** The value of the 8 hex digits at `at`, or -1 when one of them is not a hex digit. */
function hex8(text: Uint8Array, at: number): number {
  const t = HEX_VALUE;
  const a = t[text[at]!]!, b = t[text[at + 1]!]!, c = t[text[at + 2]!]!, d = t[text[at + 3]!]!;
  const e = t[text[at + 4]!]!, f = t[text[at + 5]!]!, g = t[text[at + 6]!]!, h = t[text[at + 7]!]!;
  if ((a | b | c | d | e | f | g | h) < 0) return -1;
  return ((a << 28) | (b << 24) | (c << 20) | (d << 16) | (e << 12) | (f << 8) | (g << 4) | h) >>>
    0;
}

/** Value of a hex digit by byte, -1 for other bytes. */
const HEX_VALUE = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) t[0x61 + c] = t[0x41 + c] = 10 + c;
  return t;
})();

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
  try {
    parser.readAll(file);
  } catch (e) {
    throw new KallsymsError(path, `read failed: ${(e as Error).message}`, { cause: e });
  } finally {
    file.close();
  }
  return parser.finish();
}
