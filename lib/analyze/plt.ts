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
 * so a zero-sized symbol before `.plt` (`_init`) still covers the stubs; a
 * lookup inside an entry returns the entry (what perf prints), see
 * {@linkcode findPlt}.
 *
 * @module
 */

import { ElfFile, SHT_DYNSYM } from "./elf.ts";

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

/**
 * perf looks a PLT entry up before the ELF symbols that overlap it (a
 * zero-sized `_init` fixed up over `.plt`): the entry containing an address.
 *
 * @param plt Entries in address order (as {@linkcode pltSymbols} returns them).
 * @param addr File-offset address.
 * @returns The entry, or undefined.
 */
export function findPlt(plt: readonly PltSymbol[], addr: bigint): PltSymbol | undefined {
  let lo = 0, hi = plt.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const p = plt[mid]!;
    if (addr < p.start) hi = mid - 1;
    else if (addr >= p.end) lo = mid + 1;
    else return p;
  }
  return undefined;
}
