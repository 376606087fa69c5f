/**
 * `name@plt` symbols as perf 6.1 synthesizes them
 * (`dso__synthesize_plt_symbols` in tools/perf/util/symbol-elf.c, the 6.1
 * version, before `.plt.sec` and the `.plt` header symbol were added in 6.2):
 *
 * - it needs the runtime image's `.dynsym`, a `.rela.plt` (else `.rel.plt`)
 *   whose `sh_link` is the `.dynsym` section, and a `.plt` section;
 * - entries start at `.plt`'s file offset plus one header; header and entry
 *   size are `.plt`'s `sh_entsize` on x86 (fixed sizes on ARM, AArch64, SPARC);
 * - the n-th relocation names the n-th entry: `<dynsym name>@plt`, in
 *   relocation order (no sorting in 6.1), each one entry long;
 * - `.plt.sec` (IBT) is not looked at: calls that land there stay with the
 *   symbols of the ELF tables.
 *
 * The synthesized symbols are inserted after the ELF symbols were fixed up,
 * so a zero-sized symbol before `.plt` (`_init`) still covers the stubs:
 * which of the two an address there gets is decided by perf's rb-tree walk,
 * reproduced by {@linkcode PltTree}.
 *
 * @module
 */

import { ElfFile, SHT_DYNSYM } from "./elf.ts";
import type { SymbolTable } from "./symbols.ts";

/** One synthesized PLT symbol (file-offset addresses, like the DSO's other symbols). */
export interface PltSymbol {
  /** Start (file offset of the entry). */
  start: bigint;
  /** End (exclusive). */
  end: bigint;
  /** `name@plt`. */
  name: string;
}

const SHT_RELA = 4;
const SHT_REL = 9;
const EM_ARM = 40, EM_AARCH64 = 183, EM_SPARC = 2, EM_SPARCV9 = 43;

/**
 * The PLT symbols perf 6.1 adds for a runtime image.
 *
 * @param runtime The image that was mapped (its `.dynsym`, `.rela.plt`, `.plt`).
 * @param demangle Turns a dynsym name into the name perf prints (perf demangles here).
 * @returns The symbols (empty when perf would add none).
 */
export function pltSymbols(
  runtime: ElfFile,
  demangle: (name: string) => string = (n) => n,
): PltSymbol[] {
  const secs = runtime.sections;
  const dynsymIndex = secs.findIndex((s) => s.type === SHT_DYNSYM);
  if (dynsymIndex < 0) return [];
  let rel = runtime.sectionIndex(".rela.plt");
  if (rel < 0) rel = runtime.sectionIndex(".rel.plt");
  const plt = runtime.sectionIndex(".plt");
  if (rel < 0 || plt < 0) return [];
  const relSec = secs[rel]!, pltSec = secs[plt]!;
  if (relSec.link !== dynsymIndex) return [];
  if (relSec.type !== SHT_RELA && relSec.type !== SHT_REL) return [];
  const entsize = Number(relSec.entsize);
  if (entsize <= 0) return [];
  const dynsym = runtime.readSymbols(SHT_DYNSYM);
  if (dynsym === undefined || dynsym.strings.length === 0) return [];
  let header: bigint, entry: bigint;
  switch (runtime.header.machine) {
    case EM_ARM:
      [header, entry] = [20n, 12n];
      break;
    case EM_AARCH64:
      [header, entry] = [32n, 16n];
      break;
    case EM_SPARC:
      [header, entry] = [48n, 12n];
      break;
    case EM_SPARCV9:
      [header, entry] = [128n, 32n];
      break;
    default:
      [header, entry] = [pltSec.entsize, pltSec.entsize];
  }
  const bytes = runtime.readSection(rel);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const is64 = entsize >= 16;
  const n = Math.floor(bytes.length / entsize);
  const out: PltSymbol[] = [];
  let at = pltSec.offset + header;
  const decoder = new TextDecoder();
  for (let i = 0; i < n; i++) {
    // r_info: ELF64 high 32 bits are the symbol index; ELF32 the high 24 bits.
    const info = is64
      ? view.getUint32(i * entsize + 12, true)
      : view.getUint32(i * entsize + 4, true) >>> 8;
    const sym = dynsym.symbols[info];
    let name = "";
    if (sym !== undefined) {
      let end = sym.nameOffset;
      while (end < dynsym.strings.length && dynsym.strings[end] !== 0) end++;
      name = decoder.decode(dynsym.strings.subarray(sym.nameOffset, end));
    }
    out.push({ start: at, end: at + entry, name: `${demangle(name)}@plt` });
    at += entry;
  }
  return out;
}

/** What a lookup in a DSO with PLT symbols finds. */
export type PltLookup =
  | { /** An ELF symbol of the table. */ kind: "elf"; /** Its index in the table. */ index: number }
  | { /** A synthesized PLT symbol. */ kind: "plt"; /** The symbol. */ symbol: PltSymbol }
  | { /** Nothing (perf's walk can miss an overlapped symbol). */ kind: "none" };

const RED = 0, BLACK = 1, NIL = -1;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * perf 6.1's lookup among overlapping symbols: the DSO's rb-tree
 * (lib/rbtree.c insert and erase, as `__symbols__insert` and
 * `symbols__fixup_duplicate` leave it, then the PLT symbols inserted) walked
 * as `symbols__find` walks it. Where a zero-sized symbol was fixed up over
 * the PLT, the walk, not the address order, decides which symbol an address
 * gets (`_init+0x30` for one stub, `strlen@plt+0x0` for the next), and it
 * can miss the overlapped symbol altogether. Outside {@linkcode PltTree.contains}
 * no symbols overlap and a binary search gives the same answer.
 */
export class PltTree {
  /**
   * Starts and ends: numbers when every address of the DSO is below 2^53 (compared
   * without a runtime call), else bigints.
   */
  #start: Float64Array | bigint[] = [];
  #end: Float64Array | bigint[] = [];
  #exact = false;
  /** Nodes inserted. */
  #count = 0;
  /** >= 0: index in the table; < 0: -1 - index in `plt`. */
  #ref = new Int32Array(0);
  #left = new Int32Array(0);
  #right = new Int32Array(0);
  #parent = new Int32Array(0);
  #color = new Uint8Array(0);
  #root = NIL;
  readonly #plt: readonly PltSymbol[];
  /** Lowest start and highest end of the symbols that overlap a PLT entry. */
  readonly #lo: bigint;
  readonly #hi: bigint;
  /** What {@linkcode #build} inserts (undefined once built). */
  #table: SymbolTable | undefined;
  #insertion: readonly { start: bigint; nameRef: number }[] | undefined;

  /**
   * Build the tree.
   *
   * @param table The DSO's ELF symbols after perf's fix-ups (name refs as inserted).
   * @param insertion Every kept ELF symbol in file order (see `elfSymbolTable`).
   * @param plt The synthesized PLT symbols, in insertion order.
   */
  constructor(
    table: SymbolTable,
    insertion: readonly { start: bigint; nameRef: number }[],
    plt: readonly PltSymbol[],
  ) {
    this.#plt = plt;
    this.#table = table;
    this.#insertion = insertion;
    let lo = plt[0]?.start ?? 0n, hi = plt[plt.length - 1]?.end ?? 0n;
    const pltLo = lo, pltHi = hi;
    for (let i = 0; i < table.length; i++) {
      const s = table.startAt(i), e = table.endAt(i);
      if (s < pltHi && e > pltLo) {
        if (s < lo) lo = s;
        if (e > hi) hi = e;
      }
    }
    this.#lo = lo;
    this.#hi = hi;
  }

  /**
   * Insert the symbols as perf does (built on the first {@linkcode find}: most
   * DSOs never see an address where their symbols overlap the PLT).
   */
  #build(): void {
    const table = this.#table!, insertion = this.#insertion!, plt = this.#plt;
    this.#table = this.#insertion = undefined;
    // The first table entry of each (start, name ref) survives, once: by name ref (names
    // rarely repeat), keys with a ref first seen at another start in a string-keyed map.
    const starts: bigint[] = [];
    const byRef = new Map<number, number>();
    const other = new Map<string, number>();
    for (let i = 0; i < table.length; i++) {
      const start = table.startAt(i), ref = table.nameRefAt(i);
      starts.push(start);
      const j = byRef.get(ref);
      if (j === undefined) byRef.set(ref, i);
      else if (starts[j] !== start) {
        const key = `${start}:${ref}`;
        if (!other.has(key)) other.set(key, i);
      }
    }
    let top = this.#hi;
    for (const sym of insertion) if (sym.start > top) top = sym.start;
    for (let i = 0; i < starts.length; i++) {
      const e = table.endAt(i);
      if (e > top) top = e;
    }
    this.#exact = top <= MAX_SAFE;
    const capacity = insertion.length + plt.length;
    this.#start = this.#exact ? new Float64Array(capacity) : new Array<bigint>(capacity);
    this.#end = this.#exact ? new Float64Array(capacity) : new Array<bigint>(capacity);
    this.#ref = new Int32Array(capacity);
    this.#left = new Int32Array(capacity);
    this.#right = new Int32Array(capacity);
    this.#parent = new Int32Array(capacity);
    this.#color = new Uint8Array(capacity);
    const used = new Uint8Array(table.length);
    const erased: number[] = [];
    for (const sym of insertion) {
      let i = byRef.get(sym.nameRef);
      if (i !== undefined && starts[i] !== sym.start) i = other.get(`${sym.start}:${sym.nameRef}`);
      if (i !== undefined && used[i] === 0) {
        used[i] = 1;
        this.#insert(sym.start, table.endAt(i), i);
      } else {
        erased.push(this.#insert(sym.start, sym.start, -0x4000_0000));
      }
    }
    // symbols__fixup_duplicate erases the losers in address (in-order) order.
    erased.sort((
      a,
      b,
    ) => (this.#start[a]! < this.#start[b]! ? -1 : this.#start[a]! > this.#start[b]! ? 1 : a - b));
    for (const n of erased) this.#erase(n);
    plt.forEach((p, k) => this.#insert(p.start, p.end, -1 - k));
  }

  /**
   * Whether an address lies where symbols overlap (only there the walk matters).
   *
   * @param addr File-offset address.
   * @returns True inside the overlapped range.
   */
  contains(addr: bigint): boolean {
    return addr >= this.#lo && addr < this.#hi;
  }

  /**
   * perf's `symbols__find` walk.
   *
   * @param address File-offset address.
   * @returns The symbol found.
   */
  find(address: bigint): PltLookup {
    if (this.#table !== undefined) this.#build();
    // (above 2^53 a bigint address compares with number keys exactly, and equals none)
    const addr = this.#exact && address <= MAX_SAFE ? Number(address) : address;
    let n = this.#root;
    while (n !== NIL) {
      const s = this.#start[n]!, e = this.#end[n]!;
      if (addr < s) n = this.#left[n]!;
      else if (addr > e || (addr === e && addr !== s)) n = this.#right[n]!;
      else {
        const ref = this.#ref[n]!;
        return ref >= 0
          ? { kind: "elf", index: ref }
          : { kind: "plt", symbol: this.#plt[-1 - ref]! };
      }
    }
    return { kind: "none" };
  }

  #insert(startAddress: bigint, endAddress: bigint, ref: number): number {
    const z = this.#count++;
    let start: number | bigint;
    if (this.#exact) {
      start = Number(startAddress);
      this.#start[z] = start;
      this.#end[z] = Number(endAddress);
    } else {
      start = startAddress;
      (this.#start as bigint[])[z] = startAddress;
      (this.#end as bigint[])[z] = endAddress;
    }
    this.#ref[z] = ref;
    this.#left[z] = NIL;
    this.#right[z] = NIL;
    this.#color[z] = RED;
    // __symbols__insert: smaller starts go left, equal or larger right.
    const starts = this.#start, left = this.#left, right = this.#right;
    let y = NIL, x = this.#root;
    while (x !== NIL) {
      y = x;
      x = start < starts[x]! ? left[x]! : right[x]!;
    }
    this.#parent[z] = y;
    if (y === NIL) this.#root = z;
    else if (start < this.#start[y]!) this.#left[y] = z;
    else this.#right[y] = z;
    this.#insertFixup(z);
    return z;
  }

  #rotateLeft(x: number): void {
    const y = this.#right[x]!;
    this.#right[x] = this.#left[y]!;
    if (this.#left[y] !== NIL) this.#parent[this.#left[y]!] = x;
    this.#replace(x, y);
    this.#left[y] = x;
    this.#parent[x] = y;
  }

  #rotateRight(x: number): void {
    const y = this.#left[x]!;
    this.#left[x] = this.#right[y]!;
    if (this.#right[y] !== NIL) this.#parent[this.#right[y]!] = x;
    this.#replace(x, y);
    this.#right[y] = x;
    this.#parent[x] = y;
  }

  /** Put `v` where `u` hangs from its parent (or the root). */
  #replace(u: number, v: number): void {
    const p = this.#parent[u]!;
    if (p === NIL) this.#root = v;
    else if (this.#left[p] === u) this.#left[p] = v;
    else this.#right[p] = v;
    if (v !== NIL) this.#parent[v] = p;
  }

  #isRed(n: number): boolean {
    return n !== NIL && this.#color[n] === RED;
  }

  #insertFixup(z: number): void {
    const c = this.#color, p = this.#parent;
    while (this.#isRed(p[z]!)) {
      const parent = p[z]!, g = p[parent]!;
      if (parent === this.#left[g]) {
        const u = this.#right[g]!;
        if (this.#isRed(u)) {
          c[parent] = BLACK, c[u] = BLACK, c[g] = RED;
          z = g;
          continue;
        }
        if (z === this.#right[parent]) {
          z = parent;
          this.#rotateLeft(z);
        }
        c[p[z]!] = BLACK;
        c[p[p[z]!]!] = RED;
        this.#rotateRight(p[p[z]!]!);
      } else {
        const u = this.#left[g]!;
        if (this.#isRed(u)) {
          c[parent] = BLACK, c[u] = BLACK, c[g] = RED;
          z = g;
          continue;
        }
        if (z === this.#left[parent]) {
          z = parent;
          this.#rotateRight(z);
        }
        c[p[z]!] = BLACK;
        c[p[p[z]!]!] = RED;
        this.#rotateLeft(p[p[z]!]!);
      }
    }
    c[this.#root] = BLACK;
  }

  /** rb_erase: a node with two children is replaced by its successor, which takes its colour. */
  #erase(z: number): void {
    const c = this.#color;
    let yColor = c[z]!;
    let x: number, xParent: number;
    if (this.#left[z] === NIL) {
      x = this.#right[z]!;
      xParent = this.#parent[z]!;
      this.#replace(z, x);
    } else if (this.#right[z] === NIL) {
      x = this.#left[z]!;
      xParent = this.#parent[z]!;
      this.#replace(z, x);
    } else {
      let y = this.#right[z]!;
      while (this.#left[y] !== NIL) y = this.#left[y]!;
      yColor = c[y]!;
      x = this.#right[y]!;
      if (this.#parent[y] === z) {
        xParent = y;
      } else {
        xParent = this.#parent[y]!;
        this.#replace(y, x);
        this.#right[y] = this.#right[z]!;
        this.#parent[this.#right[y]!] = y;
      }
      this.#replace(z, y);
      this.#left[y] = this.#left[z]!;
      this.#parent[this.#left[y]!] = y;
      c[y] = c[z]!;
    }
    if (yColor === BLACK) this.#eraseFixup(x, xParent);
  }

  #eraseFixup(x: number, parent: number): void {
    const c = this.#color;
    while (x !== this.#root && !this.#isRed(x) && parent !== NIL) {
      if (x === this.#left[parent]) {
        let w = this.#right[parent]!;
        if (this.#isRed(w)) {
          c[w] = BLACK;
          c[parent] = RED;
          this.#rotateLeft(parent);
          w = this.#right[parent]!;
        }
        if (!this.#isRed(this.#left[w]!) && !this.#isRed(this.#right[w]!)) {
          c[w] = RED;
          x = parent;
          parent = this.#parent[x]!;
        } else {
          if (!this.#isRed(this.#right[w]!)) {
            c[this.#left[w]!] = BLACK;
            c[w] = RED;
            this.#rotateRight(w);
            w = this.#right[parent]!;
          }
          c[w] = c[parent]!;
          c[parent] = BLACK;
          c[this.#right[w]!] = BLACK;
          this.#rotateLeft(parent);
          x = this.#root;
          parent = NIL;
        }
      } else {
        let w = this.#left[parent]!;
        if (this.#isRed(w)) {
          c[w] = BLACK;
          c[parent] = RED;
          this.#rotateRight(parent);
          w = this.#left[parent]!;
        }
        if (!this.#isRed(this.#right[w]!) && !this.#isRed(this.#left[w]!)) {
          c[w] = RED;
          x = parent;
          parent = this.#parent[x]!;
        } else {
          if (!this.#isRed(this.#left[w]!)) {
            c[this.#right[w]!] = BLACK;
            c[w] = RED;
            this.#rotateLeft(w);
            w = this.#left[parent]!;
          }
          c[w] = c[parent]!;
          c[parent] = BLACK;
          c[this.#left[w]!] = BLACK;
          this.#rotateRight(parent);
          x = this.#root;
          parent = NIL;
        }
      }
    }
    if (x !== NIL) c[x] = BLACK;
  }
}
