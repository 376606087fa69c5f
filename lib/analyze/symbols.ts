/**
 * Sorted, immutable symbol tables with perf 6.1's fix-up rules.
 *
 * perf keeps a DSO's symbols in an rb-tree ordered by start address (equal
 * starts go right, so file order is kept), then runs `symbols__fixup_end`
 * (zero-sized symbols end where the next one starts) and
 * `symbols__fixup_duplicate` (of symbols sharing a start, keep the one
 * `choose_best_symbol` prefers). This module reproduces both and packs the
 * result into typed arrays so lookups compare u32 halves instead of BigInts.
 *
 * @module
 */

/** ELF symbol binding: local. */
export const STB_LOCAL = 0;
/** ELF symbol binding: global. */
export const STB_GLOBAL = 1;
/** ELF symbol binding: weak. */
export const STB_WEAK = 2;
/** ELF symbol type: data object. */
export const STT_OBJECT = 1;
/** ELF symbol type: function. */
export const STT_FUNC = 2;
/** ELF symbol type: GNU indirect function. */
export const STT_GNU_IFUNC = 10;

/** One symbol before fix-ups, as read from an ELF symbol table or kallsyms. */
export interface RawSymbol {
  /** Start address (map-relative for user DSOs, absolute for the kernel). */
  start: bigint;
  /** Size in bytes; 0 when unknown (perf then extends it to the next symbol). */
  size: bigint;
  /** ELF binding (STB_*). */
  binding: number;
  /** ELF type (STT_*). */
  type: number;
  /** Opaque reference resolved to a name by the table's name source. */
  nameRef: number;
}

/** Resolves a {@linkcode RawSymbol.nameRef} to the symbol's name. */
export type NameSource = (nameRef: number) => string;

/** Options for {@linkcode SymbolTable.build}. */
export interface BuildOptions {
  /**
   * Apply the kallsyms variant of `symbols__fixup_end`: the last zero-sized
   * symbol before a kernel/module boundary (a name containing `[`) ends at
   * the next page boundary instead of at the next symbol.
   */
  isKallsyms?: boolean;
}

const TWO_32 = 0x1_0000_0000;
const MASK_32 = 0xffff_ffffn;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

const SPLIT64 = new BigUint64Array(1);
const SPLIT32 = new Uint32Array(SPLIT64.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Split a u64 into [hi, lo] u32 halves (other values: their low 64 bits, two's complement). */
function halves(value: bigint): [number, number] {
  SPLIT64[0] = value; // ToBigUint64: modulo 2^64, no BigInt allocated
  return LITTLE_ENDIAN ? [SPLIT32[1]!, SPLIT32[0]!] : [SPLIT32[0]!, SPLIT32[1]!];
}

/** Count leading underscores, as perf's `prefix_underscores_count`. */
function prefixUnderscores(name: string): number {
  let n = 0;
  while (n < name.length && name.charCodeAt(n) === 0x5f) n++;
  return n;
}

function roundupPage(value: bigint): bigint {
  return (value + 4095n) / 4096n * 4096n;
}

interface Working {
  start: bigint;
  end: bigint;
  binding: number;
  type: number;
  nameRef: number;
  name?: string;
}

/**
 * A sorted symbol table. Lookups follow perf's `symbols__find`: a symbol
 * matches `ip` when `start <= ip < end`, or when it is zero-sized and
 * `ip == start`.
 *
 * @example
 * ```ts
 * import { SymbolTable, STB_GLOBAL, STT_FUNC } from "./symbols.ts";
 * const names = ["main", "leaf"];
 * const table = SymbolTable.build([
 *   { start: 0x1100n, size: 0x20n, binding: STB_GLOBAL, type: STT_FUNC, nameRef: 0 },
 *   { start: 0x1150n, size: 0n, binding: STB_GLOBAL, type: STT_FUNC, nameRef: 1 },
 * ], (i) => names[i]);
 * const i = table.find(0x1160n);
 * console.log(table.nameAt(i)); // "leaf"
 * ```
 */
export class SymbolTable {
  /** Number of symbols. */
  readonly length: number;
  readonly #startHi: Uint32Array;
  readonly #startLo: Uint32Array;
  readonly #endHi: Uint32Array;
  readonly #endLo: Uint32Array;
  readonly #nameRefs: Int32Array;
  readonly #names: (string | undefined)[];
  readonly #nameSource: NameSource;
  /** 1 per data-object (STT_OBJECT) symbol; undefined when the table has none. */
  readonly #objects: Uint8Array | undefined;

  private constructor(
    startHi: Uint32Array,
    startLo: Uint32Array,
    endHi: Uint32Array,
    endLo: Uint32Array,
    nameRefs: Int32Array,
    names: (string | undefined)[],
    nameSource: NameSource,
    objects?: Uint8Array,
  ) {
    this.length = startHi.length;
    this.#objects = objects;
    this.#startHi = startHi;
    this.#startLo = startLo;
    this.#endHi = endHi;
    this.#endLo = endLo;
    this.#nameRefs = nameRefs;
    this.#names = names;
    this.#nameSource = nameSource;
  }

  static #pack(symbols: Working[], nameSource: NameSource): SymbolTable {
    const n = symbols.length;
    const startHi = new Uint32Array(n), startLo = new Uint32Array(n);
    const endHi = new Uint32Array(n), endLo = new Uint32Array(n);
    const nameRefs = new Int32Array(n);
    const names: (string | undefined)[] = new Array(n);
    let objects: Uint8Array | undefined;
    for (let i = 0; i < n; i++) {
      const s = symbols[i];
      [startHi[i], startLo[i]] = halves(s.start);
      [endHi[i], endLo[i]] = halves(s.end);
      nameRefs[i] = s.nameRef;
      names[i] = s.name;
      if (s.type === STT_OBJECT) (objects ??= new Uint8Array(n))[i] = 1;
    }
    return new SymbolTable(startHi, startLo, endHi, endLo, nameRefs, names, nameSource, objects);
  }

  /**
   * Pack symbols whose `[start, end)` ranges, as u32 halves, are final and
   * sorted by start (the BigInt-free path of kallsyms loading). Symbol `i`
   * is named `nameSource(i)`, asked on first use.
   *
   * @param startHi High halves of the starts.
   * @param startLo Low halves of the starts.
   * @param endHi High halves of the (exclusive) ends.
   * @param endLo Low halves of the ends.
   * @param nameSource The name of symbol `i`.
   * @param objects 1 at the index of each data-object (STT_OBJECT) symbol (may be shorter
   *   than the table: missing entries are functions).
   * @returns The packed table.
   */
  static fromSortedHalves(
    startHi: Uint32Array,
    startLo: Uint32Array,
    endHi: Uint32Array,
    endLo: Uint32Array,
    nameSource: NameSource,
    objects?: Uint8Array,
  ): SymbolTable {
    const n = startHi.length;
    const nameRefs = new Int32Array(n);
    for (let i = 0; i < n; i++) nameRefs[i] = i;
    return new SymbolTable(
      startHi,
      startLo,
      endHi,
      endLo,
      nameRefs,
      new Array(n),
      nameSource,
      objects,
    );
  }

  /**
   * Sort raw symbols and apply perf's `symbols__fixup_end` then
   * `symbols__fixup_duplicate` (the order `dso__load_sym` and
   * `__dso__load_kallsyms` use).
   *
   * @param raw Symbols in file order.
   * @param nameSource Resolves `nameRef` to a name (called lazily).
   * @param options Fix-up variant.
   * @returns The packed table.
   */
  static build(raw: RawSymbol[], nameSource: NameSource, options: BuildOptions = {}): SymbolTable {
    const n = raw.length;
    // Work on u32 halves (BigInt only to split the inputs).
    const sh0 = new Uint32Array(n), sl0 = new Uint32Array(n);
    const zh0 = new Uint32Array(n), zl0 = new Uint32Array(n);
    const bind0 = new Uint8Array(n);
    const refs0 = new Int32Array(n);
    let type0: Uint8Array | undefined;
    for (let i = 0; i < n; i++) {
      const r = raw[i]!;
      if (r.start < 0n || r.start > MAX_U64 || r.size < 0n || r.size > MAX_U64) {
        return SymbolTable.#buildBig(raw, nameSource, options);
      }
      [sh0[i], sl0[i]] = halves(r.start);
      if (r.size !== 0n) [zh0[i], zl0[i]] = halves(r.size);
      bind0[i] = r.binding;
      refs0[i] = r.nameRef;
      if (r.type !== STT_FUNC) (type0 ??= new Uint8Array(n).fill(STT_FUNC))[i] = r.type;
    }
    return SymbolTable.buildHalves(sh0, sl0, zh0, zl0, bind0, type0, refs0, nameSource, options);
  }

  /**
   * {@linkcode SymbolTable.build} on symbols given as u32-half columns in
   * file order (the BigInt-free path of ELF symbol loading). The arrays
   * are not modified.
   *
   * @param sh0 High halves of the starts.
   * @param sl0 Low halves of the starts.
   * @param zh0 High halves of the sizes.
   * @param zl0 Low halves of the sizes.
   * @param bind0 ELF binding (STB_*) per symbol.
   * @param type0 ELF type (STT_*) per symbol; undefined when every one is a function.
   * @param refs0 Name reference per symbol, resolved by `nameSource`.
   * @param nameSource Resolves a name reference to a name (called lazily).
   * @param options Fix-up variant.
   * @returns The packed table.
   */
  static buildHalves(
    sh0: Uint32Array,
    sl0: Uint32Array,
    zh0: Uint32Array,
    zl0: Uint32Array,
    bind0: Uint8Array,
    type0: Uint8Array | undefined,
    refs0: Int32Array,
    nameSource: NameSource,
    options: BuildOptions = {},
  ): SymbolTable {
    const n = sh0.length;
    // Stable sort keeps file order among equal starts (rb-tree inserts equal keys to the right).
    const order: number[] = new Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      if (i > 0 && (sh0[i - 1]! > sh0[i]! || (sh0[i - 1] === sh0[i] && sl0[i - 1]! > sl0[i]!))) {
        sorted = false;
      }
    }
    if (!sorted) order.sort((a, b) => (sh0[a]! - sh0[b]!) || (sl0[a]! - sl0[b]!) || (a - b));
    const sh = new Uint32Array(n), sl = new Uint32Array(n);
    const eh = new Uint32Array(n), el = new Uint32Array(n);
    const binding = new Uint8Array(n);
    const nameRefs = new Int32Array(n);
    const names: (string | undefined)[] = new Array(n);
    let objects: Uint8Array | undefined;
    for (let k = 0; k < n; k++) {
      const o = order[k]!;
      if (type0 !== undefined && type0[o] === STT_OBJECT) (objects ??= new Uint8Array(n))[k] = 1;
      const h = sh0[o]!, l = sl0[o]!;
      sh[k] = h;
      sl[k] = l;
      // end = start + size (mod 2^64), start for size 0
      const lo = l + zl0[o]!;
      el[k] = lo >>> 0;
      eh[k] = (h + zh0[o]! + (lo >= TWO_32 ? 1 : 0)) >>> 0;
      binding[k] = bind0[o]!;
      nameRefs[k] = refs0[o]!;
    }
    const nameOf = (k: number): string => (names[k] ??= nameSource(nameRefs[k]!));
    const isZero = (k: number) => eh[k] === sh[k] && el[k] === sl[k];
    // symbols__fixup_end: a zero-sized symbol ends where the next one starts (the
    // kallsyms variant: a page past itself at a kernel/module boundary), the
    // last one a page past its page.
    const isKallsyms = options.isKallsyms === true;
    for (let k = 1; k < n; k++) {
      const prev = k - 1;
      if (!isZero(prev)) continue;
      if (isKallsyms && (nameOf(prev).includes("[") !== nameOf(k).includes("["))) {
        roundupPageAt(eh, el, prev, eh[prev]!, el[prev]!, 4096, 0);
      } else {
        eh[prev] = sh[k]!;
        el[prev] = sl[k]!;
      }
    }
    if (n > 0 && isZero(n - 1)) roundupPageAt(eh, el, n - 1, sh[n - 1]!, sl[n - 1]!, 0, 4096);
    // symbols__fixup_duplicate: of symbols sharing a start, keep choose_best_symbol's pick.
    const prefersFirst = (a: number, b: number): boolean => {
      const za = isZero(a), zb = isZero(b);
      if (zb && !za) return true;
      if (za && !zb) return false;
      const wa = binding[a] === STB_WEAK, wb = binding[b] === STB_WEAK;
      if (wb && !wa) return true;
      if (wa && !wb) return false;
      const ga = binding[a] === STB_GLOBAL, gb = binding[b] === STB_GLOBAL;
      if (ga && !gb) return true;
      if (gb && !ga) return false;
      return prefersByName(nameOf(a), nameOf(b));
    };
    const kept: number[] = [];
    let curr = 0;
    for (let k = 1; k < n; k++) {
      if (sh[curr] !== sh[k] || sl[curr] !== sl[k]) {
        kept.push(curr);
        curr = k;
      } else if (!prefersFirst(curr, k)) curr = k;
    }
    if (n > 0) kept.push(curr);
    if (kept.length === n) {
      return new SymbolTable(sh, sl, eh, el, nameRefs, names, nameSource, objects);
    }
    const m = kept.length;
    const a = new Uint32Array(m), b = new Uint32Array(m);
    const c = new Uint32Array(m), d = new Uint32Array(m);
    const refs = new Int32Array(m);
    const nm: (string | undefined)[] = new Array(m);
    const keptObjects = objects === undefined ? undefined : new Uint8Array(m);
    for (let q = 0; q < m; q++) {
      const k = kept[q]!;
      if (keptObjects !== undefined) keptObjects[q] = objects![k]!;
      a[q] = sh[k]!;
      b[q] = sl[k]!;
      c[q] = eh[k]!;
      d[q] = el[k]!;
      refs[q] = nameRefs[k]!;
      nm[q] = names[k];
    }
    return new SymbolTable(a, b, c, d, refs, nm, nameSource, keptObjects);
  }

  /** {@linkcode SymbolTable.build} on BigInts (inputs outside u64). */
  static #buildBig(raw: RawSymbol[], nameSource: NameSource, options: BuildOptions): SymbolTable {
    const syms: Working[] = raw.map((r) => ({
      start: r.start,
      end: r.size !== 0n ? r.start + r.size : r.start,
      binding: r.binding,
      type: r.type,
      nameRef: r.nameRef,
    }));
    syms.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const nameOf = (s: Working): string => (s.name ??= nameSource(s.nameRef));
    fixupEnd(syms, options.isKallsyms === true, nameOf);
    const kept = fixupDuplicate(syms, nameOf);
    return SymbolTable.#pack(kept, nameSource);
  }

  /**
   * Pack symbols whose ends are already final (no sorting or fix-ups beyond a
   * stable sort by start).
   *
   * @param fixed Symbols with final `[start, end)` ranges.
   * @param nameSource Resolves `nameRef` to a name.
   * @returns The packed table.
   */
  static fromFixed(
    fixed: { start: bigint; end: bigint; nameRef: number }[],
    nameSource: NameSource,
  ): SymbolTable {
    const syms: Working[] = fixed.map((f) => ({
      start: f.start,
      end: f.end,
      binding: STB_GLOBAL,
      type: STT_FUNC,
      nameRef: f.nameRef,
    }));
    syms.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    return SymbolTable.#pack(syms, nameSource);
  }

  /**
   * The same symbols with their names passed through `rename` (all names
   * at once, e.g. one demangler batch); addresses are shared.
   *
   * @param rename Maps every name, in table order, to the name to keep.
   * @returns The renamed table (this table when no name changes).
   */
  renamed(rename: (names: readonly string[]) => readonly string[]): SymbolTable {
    const before: string[] = [];
    for (let i = 0; i < this.length; i++) before.push(this.nameAt(i));
    const after = rename(before);
    if (after.every((n, i) => n === before[i])) return this;
    const refs = new Int32Array(this.length);
    for (let i = 0; i < this.length; i++) refs[i] = i;
    return new SymbolTable(
      this.#startHi,
      this.#startLo,
      this.#endHi,
      this.#endLo,
      refs,
      [...after],
      (ref) => after[ref]!,
      this.#objects,
    );
  }

  /**
   * Find the symbol containing an address.
   *
   * @param addr Address in the table's address space.
   * @returns The symbol index, or -1.
   */
  find(addr: bigint): number {
    return this.findHalves(Number(addr >> 32n), Number(addr & MASK_32));
  }

  /**
   * Find the symbol containing an address given as a number (exact only
   * below 2^53).
   *
   * @param addr Address as a safe integer.
   * @returns The symbol index, or -1.
   */
  findNumber(addr: number): number {
    const hi = Math.floor(addr / TWO_32);
    return this.findHalves(hi, addr - hi * TWO_32);
  }

  /**
   * Find the symbol containing the address `hi * 2^32 + lo`.
   *
   * @param hi Upper 32 bits.
   * @param lo Lower 32 bits.
   * @returns The symbol index, or -1.
   */
  findHalves(hi: number, lo: number): number {
    const sh = this.#startHi, sl = this.#startLo;
    // Last index whose start <= addr.
    let low = 0, high = this.length - 1, found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const h = sh[mid];
      if (h < hi || (h === hi && sl[mid] <= lo)) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (found < 0) return -1;
    const eh = this.#endHi[found], el = this.#endLo[found];
    if (hi < eh || (hi === eh && lo < el)) return found;
    // Zero-sized symbol: matches only its own start.
    if (eh === sh[found] && el === sl[found] && hi === eh && lo === el) return found;
    return -1;
  }

  /**
   * Name of a symbol.
   *
   * @param index Symbol index.
   * @returns The symbol's name.
   */
  nameAt(index: number): string {
    return (this.#names[index] ??= this.#nameSource(this.#nameRefs[index]));
  }

  /**
   * The name reference a symbol was built with (e.g. its string-table offset).
   *
   * @param index Symbol index.
   * @returns The reference passed to the name source.
   */
  nameRefAt(index: number): number {
    return this.#nameRefs[index]!;
  }

  /**
   * Start address of a symbol.
   *
   * @param index Symbol index.
   * @returns The symbol's start address.
   */
  startAt(index: number): bigint {
    return (BigInt(this.#startHi[index]) << 32n) | BigInt(this.#startLo[index]);
  }

  /**
   * Whether a symbol is a data object (ELF STT_OBJECT; kallsyms type D or B), which
   * perf's report prints with the sampled address's offset (`name+0x..`).
   *
   * @param index Symbol index.
   * @returns True for a data object.
   */
  isObjectAt(index: number): boolean {
    return this.#objects?.[index] === 1;
  }

  /**
   * End address of a symbol.
   *
   * @param index Symbol index.
   * @returns The symbol's (exclusive) end address after fix-ups.
   */
  endAt(index: number): bigint {
    return (BigInt(this.#endHi[index]) << 32n) | BigInt(this.#endLo[index]);
  }
}

/** perf 6.1 `symbols__fixup_end` over a start-sorted array. */
function fixupEnd(syms: Working[], isKallsyms: boolean, nameOf: (s: Working) => string): void {
  if (syms.length === 0) return;
  for (let i = 1; i < syms.length; i++) {
    const prev = syms[i - 1], curr = syms[i];
    if (prev.end !== prev.start) continue;
    if (isKallsyms && (nameOf(prev).includes("[") !== nameOf(curr).includes("["))) {
      prev.end = roundupPage(prev.end + 4096n);
    } else {
      prev.end = curr.start;
    }
  }
  const last = syms[syms.length - 1];
  if (last.end === last.start) last.end = roundupPage(last.start) + 4096n;
}

/** The name rules of perf 6.1 `choose_best_symbol`: true when `na` wins over `nb`. */
function prefersByName(na: string, nb: string): boolean {
  const ua = prefixUnderscores(na), ub = prefixUnderscores(nb);
  if (ub > ua) return true;
  if (ua > ub) return false;
  // perf compares strlen (bytes); names are ASCII in practice.
  if (na.length > nb.length) return true;
  if (na.length < nb.length) return false;
  // arch__choose_best_symbol: avoid "SyS" syscall aliases.
  if (na.startsWith("SyS") || na.startsWith("compat_SyS")) return false;
  return true;
}

/**
 * Set symbol `k`'s end to `roundup(x + add, 4096) + extra` for x = (hi, lo),
 * modulo 2^64, on u32 halves.
 */
function roundupPageAt(
  eh: Uint32Array,
  el: Uint32Array,
  k: number,
  hi: number,
  lo: number,
  add: number,
  extra: number,
): void {
  let l = lo + add + 4095;
  let h = hi;
  if (l >= TWO_32) {
    l -= TWO_32;
    h = (h + 1) >>> 0;
  }
  l = l - (l % 4096) + extra;
  if (l >= TWO_32) {
    l -= TWO_32;
    h = (h + 1) >>> 0;
  }
  eh[k] = h;
  el[k] = l;
}

/** perf 6.1 `choose_best_symbol`: true when `a` wins over `b`. */
function prefersFirst(a: Working, b: Working, nameOf: (s: Working) => string): boolean {
  const la = a.end - a.start, lb = b.end - b.start;
  if (lb === 0n && la > 0n) return true;
  if (la === 0n && lb > 0n) return false;
  const wa = a.binding === STB_WEAK, wb = b.binding === STB_WEAK;
  if (wb && !wa) return true;
  if (wa && !wb) return false;
  const ga = a.binding === STB_GLOBAL, gb = b.binding === STB_GLOBAL;
  if (ga && !gb) return true;
  if (gb && !ga) return false;
  const na = nameOf(a), nb = nameOf(b);
  const ua = prefixUnderscores(na), ub = prefixUnderscores(nb);
  if (ub > ua) return true;
  if (ua > ub) return false;
  // perf compares strlen (bytes); names are ASCII in practice.
  if (na.length > nb.length) return true;
  if (na.length < nb.length) return false;
  // arch__choose_best_symbol: avoid "SyS" syscall aliases.
  if (na.startsWith("SyS") || na.startsWith("compat_SyS")) return false;
  return true;
}

/** perf 6.1 `symbols__fixup_duplicate`: returns the kept symbols in order. */
function fixupDuplicate(syms: Working[], nameOf: (s: Working) => string): Working[] {
  const kept: Working[] = [];
  let curr: Working | undefined;
  for (const next of syms) {
    if (curr === undefined) {
      curr = next;
      continue;
    }
    if (curr.start !== next.start) {
      kept.push(curr);
      curr = next;
      continue;
    }
    if (!prefersFirst(curr, next, nameOf)) curr = next;
  }
  if (curr !== undefined) kept.push(curr);
  return kept;
}
