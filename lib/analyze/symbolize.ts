/**
 * Resolve sample and callchain addresses to `(sym, symoff, dso)` the way
 * perf 6.1 `perf script -F ip,sym,symoff,dso` prints them, and format those
 * fields byte for byte.
 *
 * Findings (perf 6.1 `sample__fprintf_callchain`, confirmed against real
 * `perf script` output in the fixtures): a callchain line prints
 * `map->map_ip(ip)` (the DSO-relative address, a file offset) when the
 * address has a map whose DSO is not a kernel DSO, and the raw ip for kernel
 * DSOs and for addresses without a map. `symoff` is
 * `map_ip(ip) - sym->start` (as `+0x%lx`, also for `+0x0`). Unresolved
 * symbols print `[unknown]`, unresolved maps print dso `[unknown]`.
 *
 * User symbols come from the first of perf's candidate files that has a
 * `.symtab` (debuglink targets, the build-id cache, `/usr/lib/debug/...`,
 * the binary itself, all under `--symfs`; see {@linkcode userCandidates}),
 * with the first that has a `.dynsym` as the runtime image. A DSO's build-id
 * is the one the recording names (the header's build-id table, else its
 * MMAP2 record), else the local file's; a candidate whose build-id differs
 * is never used (perf's `symsrc__init`). `[vdso]` is this process's own vdso
 * only when its build-id is the recorded one (perf's `vdso__dso_findnew`
 * writes its own vdso to a file), after the build-id cache's `vdso`.
 *
 * Kernel symbols come from the kallsyms or vmlinux {@linkcode kernelSource}
 * picks by the recorded kernel build-id, relocated as perf's `ref_reloc_sym`
 * does: the recorded kernel MMAP names `_text` (or `_stext`) and its address
 * (pgoff); symbols move by that address minus the symbol's in the file.
 * The kernel DSO is named by the first kernel entry of the build-id table
 * that is not a module (perf's `machine__process_kernel_mmap_event`), a
 * module by its table entry (`__event_process_build_id`), else
 * `[kernel.kallsyms]` and `[module]`.
 *
 * @module
 */

import {
  joinSymfs,
  type KernelSource,
  kernelSource,
  type SymbolSourceOptions,
  userCandidates,
} from "./buildid_cache.ts";
import {
  cString,
  ElfFile,
  elfSymbolTable,
  memorySource,
  readOwnVdso,
  SHT_DYNSYM,
  SHT_SYMTAB,
} from "./elf.ts";
import { Demangler } from "./demangle.ts";
import { type InlineTarget, inlineTarget } from "./inlines.ts";
import { pltSymbols, PltTree } from "./plt.ts";
import { type KernelSymbols, loadKallsyms } from "./kallsyms.ts";
import {
  type AddressSpaces,
  CPUMODE_KERNEL,
  kernelModuleDsoName,
  type MapEntry,
  mapIp,
} from "../input/maps.ts";
import { type RawSymbol, STB_GLOBAL, STT_FUNC, SymbolTable } from "./symbols.ts";

/** The result of resolving one address. */
export interface Resolution {
  /** The mapping that contains the address, if any. */
  map: MapEntry | undefined;
  /** Symbol name, or undefined when unresolved. */
  sym: string | undefined;
  /** Offset from the symbol start as perf computes it (0 when unresolved). */
  symoff: bigint;
  /** DSO name as perf prints it (`[unknown]` without a map). */
  dso: string;
  /** `map->map_ip(ip)` (the raw ip without a map). */
  mapRelativeIp: bigint;
  /** The address `perf script` prints in a callchain line for this ip. */
  printedIp: bigint;
  /**
   * The address `perf report` keys and prints an unresolved callchain entry
   * by: perf 6.1 `add_callchain_ip` stores the raw runtime ip in the
   * callchain cursor node (`callchain_list.ip`, and `al->addr` of
   * `--children` entries via `fill_callchain_info`), so an unresolved frame
   * of a mapped user DSO shows as the absolute address there, while the
   * sample's own entry (`he->ip = al->addr`) and `perf script` use
   * {@linkcode Resolution.mapRelativeIp}.
   */
  callchainIp: bigint;
  /** Whether the DSO is a kernel DSO (`[kernel.kallsyms]` or a module). */
  kernel: boolean;
  /**
   * Set when the symbol is a data object (ELF STT_OBJECT, kallsyms D or B): the offset
   * perf's report Symbol column prints after its name, `he->ip - map->unmap_ip(map,
   * sym->start)` (`_hist_entry__sym_snprintf`), with `he->ip` the map-relative address,
   * modulo 2^64.
   */
  objectOffset?: bigint;
  /**
   * The symbol's size after perf's fix-ups (`sym->end - sym->start`), when it
   * came from a symbol table; perf compares inlined symbols by the range of
   * the function they sit in (`_sort__sym_cmp`).
   */
  symSize?: bigint;
}

/** One entry of a recording's build-id table (perf.data `HEADER_BUILD_ID`). */
export interface BuildIdTableEntry {
  /** The DSO path (or `[kernel.kallsyms]`, `[vdso]`, a module path). */
  filename: string;
  /** Hex build-id ("" when none was recorded). */
  buildId: string;
  /** `misc & 7` is the cpumode: 1 kernel, 2 user. */
  misc: number;
}

/** Options for {@linkcode Symbolizer}. */
export interface SymbolizerOptions extends Omit<SymbolSourceOptions, "kallsyms"> {
  /**
   * kallsyms file (perf's `--kallsyms`) or pre-parsed symbols; default: what
   * {@linkcode kernelSource} picks by the recorded kernel build-id.
   */
  kallsyms?: string | KernelSymbols;
  /** perf build-id cache directory (older name of `buildIdDir`). */
  buildIdCache?: string;
  /** Image to use for `[vdso]`; default: the build-id cache, then this process's own vdso. */
  vdso?: string;
  /** Expected build-ids by file name (overrides the build-id table). */
  buildIds?: Map<string, string>;
  /** The recording's build-id table, asked on first use (its header is read by then). */
  buildIdTable?: () => readonly BuildIdTableEntry[] | undefined;
  /** Receives each warning perf prints on stderr (e.g. a missing kernel symbol file). */
  onWarning?: (message: string) => void;
  /** The demangler (default: one c++filt-backed {@linkcode Demangler} per symbolizer). */
  demangler?: Demangler;
}

/** The build-id table, indexed the way perf's dsos use it. */
interface BuildIdIndex {
  /** User DSO build-ids by path. */
  user: Map<string, string>;
  /** The kernel entry (first kernel entry that is not a module). */
  kernel: { filename: string; buildId: string | undefined } | undefined;
  /** Module table entries by `[name]`. */
  modules: Map<string, string>;
}

const EMPTY = SymbolTable.build([], () => "");

function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function tryOpenElf(path: string): ElfFile | undefined {
  if (!isRegularFile(path)) return undefined;
  try {
    return ElfFile.open(path);
  } catch {
    return undefined;
  }
}

/**
 * Caching symbolizer: one symbol table per DSO, loaded on first use with
 * synchronous positioned reads.
 *
 * @example
 * ```ts
 * import { AddressSpaces, CPUMODE_USER } from "../input/maps.ts";
 * import { formatCallchainLine, Symbolizer } from "./symbolize.ts";
 * const spaces = new AddressSpaces();
 * spaces.processMmap({ pid: 1, tid: 1, addr: 0x555555554000n, len: 0x1000n, pgoff: 0x1000n,
 *   filename: "/usr/bin/true", cpumode: CPUMODE_USER });
 * const r = new Symbolizer().resolve(spaces, 1, 0x555555554010n, CPUMODE_USER);
 * console.log(formatCallchainLine(r));
 * ```
 */
export class Symbolizer {
  readonly #options: SymbolizerOptions;
  readonly #sources: SymbolSourceOptions;
  readonly #tables = new Map<string, SymbolTable>();
  /** perf's rb-tree of DSOs with synthesized `name@plt` symbols (dso__synthesize_plt_symbols). */
  readonly #plt = new Map<string, PltTree>();
  #kernel: KernelSymbols | undefined;
  #index: BuildIdIndex | undefined;
  /** Added to kernel addresses before lookup (ref_reloc_sym relocation); undefined until known. */
  #kernelDelta: bigint | undefined;
  #kernelSource: KernelSource | undefined;
  #demangler: Demangler | undefined;

  /**
   * Create a symbolizer.
   *
   * @param options Where to find symbols.
   */
  constructor(options: SymbolizerOptions = {}) {
    this.#options = options;
    const { kallsyms: _k, buildIdCache, ...rest } = options;
    this.#sources = {
      ...rest,
      kallsyms: typeof options.kallsyms === "string" ? options.kallsyms : undefined,
      buildIdDir: options.buildIdDir ?? buildIdCache,
    };
    if (typeof options.kallsyms === "object") {
      this.#kernel = options.kallsyms;
      this.#kernelDelta = 0n;
    }
  }

  /** The build-id table, indexed on first use. */
  #ids(): BuildIdIndex {
    if (this.#index !== undefined) return this.#index;
    const index: BuildIdIndex = { user: new Map(), kernel: undefined, modules: new Map() };
    for (const e of this.#options.buildIdTable?.() ?? []) {
      const id = /^[0-9a-f]+$/.test(e.buildId) && /[1-9a-f]/.test(e.buildId)
        ? e.buildId
        : undefined;
      if ((e.misc & 7) === CPUMODE_KERNEL) {
        const mod = e.filename.startsWith("[kernel") ? undefined : kernelModuleDsoName(e.filename);
        if (mod !== undefined) {
          if (!index.modules.has(mod)) index.modules.set(mod, e.filename);
        } else index.kernel ??= { filename: e.filename, buildId: id };
      } else if ((e.misc & 7) === 2 && id !== undefined) {
        if (!index.user.has(e.filename)) index.user.set(e.filename, id);
      }
    }
    return this.#index = index;
  }

  /**
   * Where the kernel symbols come from for this recording (decided on first use).
   *
   * @returns The source.
   */
  kernelSource(): KernelSource {
    if (this.#kernelSource === undefined) {
      this.#kernelSource = kernelSource(this.#ids().kernel?.buildId, this.#sources, elfBuildId);
      if (this.#kernelSource.kind === "none" && this.#kernelSource.warning !== undefined) {
        this.#options.onWarning?.(this.#kernelSource.warning);
      }
    }
    return this.#kernelSource;
  }

  /**
   * Kernel symbols, loaded on first use from {@linkcode Symbolizer.kernelSource}.
   * A missing or unreadable file yields empty tables (perf then prints `[unknown]`).
   *
   * @returns The kernel symbols.
   */
  kernelSymbols(): KernelSymbols {
    if (this.#kernel === undefined) {
      const src = this.kernelSource();
      try {
        this.#kernel = src.kind === "kallsyms"
          ? loadKallsyms(src.path)
          : src.kind === "vmlinux"
          ? vmlinuxSymbols(src.path)
          : { kernel: EMPTY, modules: new Map(), allZero: false };
      } catch {
        this.#kernel = { kernel: EMPTY, modules: new Map(), allZero: false };
      }
    }
    return this.#kernel;
  }

  /**
   * perf's `kallsyms__delta`: the kernel MMAP record names the relocation
   * symbol (`[kernel.kallsyms]_text`) and its recorded address (pgoff); the
   * symbol file's address of that name minus it moves every kernel symbol.
   */
  #delta(spaces: AddressSpaces | undefined): bigint {
    if (this.#kernelDelta !== undefined) return this.#kernelDelta;
    const recorded = spaces?.kernel.entries().find((m) => m.kind === "kernel");
    if (spaces === undefined || recorded === undefined) return 0n;
    let delta = 0n;
    const at = recorded.filename.indexOf("]_");
    if (at >= 0 && recorded.pgoff !== 0n) {
      const name = recorded.filename.slice(at + 1);
      const src = this.kernelSource();
      // kallsyms__get_function_start reads the file itself (the name may have lost
      // symbols__fixup_duplicate to an alias at its address, e.g. _text to startup_64).
      const start = src.kind === "kallsyms" ? kallsymsFunctionStart(src.path, name) : undefined;
      if (start !== undefined) delta = start - recorded.pgoff;
      else {
        const table = this.kernelSymbols().kernel;
        for (let i = 0; i < table.length; i++) {
          if (table.nameAt(i) === name) {
            delta = table.startAt(i) - recorded.pgoff;
            break;
          }
        }
      }
    }
    return this.#kernelDelta = delta;
  }

  /**
   * The DSO name perf prints for a map: kernel and module maps take their
   * build-id table names; the rest keep the map's.
   *
   * @param map The mapping.
   * @returns The name.
   */
  dsoName(map: MapEntry): string {
    if (map.kind === "kernel") return this.#ids().kernel?.filename ?? map.dso;
    if (map.kind === "module") return this.#ids().modules.get(map.dso) ?? map.dso;
    return map.dso;
  }

  /**
   * The symbol table of the DSO behind a map (cached per DSO name).
   *
   * @param map The mapping.
   * @returns Its symbols (empty when none can be loaded).
   */
  tableFor(map: MapEntry): SymbolTable {
    const key = map.kind === "file" ? map.filename : map.dso;
    let table = this.#tables.get(key);
    if (table !== undefined) return table;
    switch (map.kind) {
      case "kernel":
        table = this.kernelSymbols().kernel;
        break;
      case "module":
        table = this.kernelSymbols().modules.get(map.dso.slice(1, -1)) ?? EMPTY;
        break;
      case "file":
        table = this.#loadUser(map.filename, map.buildId);
        break;
      case "vdso":
        table = this.#loadVdso();
        break;
      case "anon":
        table = loadPerfMap(map.dso);
        break;
      default:
        table = EMPTY;
    }
    this.#tables.set(key, table);
    return table;
  }

  /**
   * Resolve one address of a process.
   *
   * @param spaces Address spaces built from the recording's MMAP/FORK events.
   * @param pid Process id of the sample.
   * @param ip Runtime address.
   * @param cpumode CPUMODE_* for this address (sample header or callchain context).
   * @returns The resolution.
   */
  resolve(spaces: AddressSpaces, pid: number, ip: bigint, cpumode: number): Resolution {
    let map = spaces.lookup(pid, ip, cpumode);
    if (map === undefined && cpumode === CPUMODE_KERNEL) {
      map = this.#kernelTextMapFor(spaces, ip) ?? this.#moduleMapFor(ip);
    }
    if (map !== undefined && (map.kind === "kernel" || map.kind === "module")) this.#delta(spaces);
    return this.resolveInMap(map, ip);
  }

  /**
   * Resolve an address whose map is already known.
   *
   * @param map The containing map, or undefined.
   * @param ip Runtime address.
   * @returns The resolution.
   */
  resolveInMap(map: MapEntry | undefined, ip: bigint): Resolution {
    if (map === undefined) {
      return {
        map,
        sym: undefined,
        symoff: 0n,
        dso: "[unknown]",
        mapRelativeIp: ip,
        printedIp: ip,
        callchainIp: ip,
        kernel: false,
      };
    }
    const kernel = map.kind === "kernel" || map.kind === "module";
    const rel = mapIp(map, ip);
    // Module symbols are kept absolute; look them up by ip (map_ip is an offset).
    let lookupAddr = map.kind === "module" ? ip : rel;
    if (kernel) lookupAddr = BigInt.asUintN(64, lookupAddr + (this.#kernelDelta ?? 0n));
    const table = this.tableFor(map);
    const plt = map.kind === "file" ? this.#plt.get(map.filename) : undefined;
    const walk = plt !== undefined && plt.contains(lookupAddr) ? plt.find(lookupAddr) : undefined;
    const i = walk === undefined ? table.find(lookupAddr) : walk.kind === "elf" ? walk.index : -1;
    let sym: string | undefined, symoff = 0n, objectOffset: bigint | undefined;
    let symSize: bigint | undefined;
    if (walk?.kind === "plt") {
      sym = walk.symbol.name;
      symoff = lookupAddr - walk.symbol.start;
    } else if (i >= 0) {
      sym = table.nameAt(i);
      const start = table.startAt(i), end = table.endAt(i);
      symSize = end - start;
      // __symbol__fprintf_symname_offs
      symoff = lookupAddr < end
        ? lookupAddr - start
        : BigInt.asUintN(64, lookupAddr - map.start - start);
      if (table.isObjectAt(i)) {
        // unmap_ip of the start: the kernel's and modules' symbols sit at their runtime
        // addresses (kallsyms moved by the relocation delta), a user DSO's are map-relative
        const runtimeStart = kernel
          ? start - (this.#kernelDelta ?? 0n)
          : start + map.start - map.pgoff;
        objectOffset = BigInt.asUintN(64, (map.kind === "kernel" ? ip : rel) - runtimeStart);
      }
    }
    return {
      map,
      sym,
      symoff,
      dso: kernel ? this.dsoName(map) : map.dso,
      mapRelativeIp: rel,
      printedIp: kernel ? ip : rel,
      callchainIp: ip,
      kernel,
      objectOffset,
      symSize,
    };
  }

  /**
   * perf replaces the recorded kernel map by the kernel text ranges of
   * kcore/kallsyms, so addresses past the MMAP event's length (init text,
   * for instance) still resolve: accept anything inside the kernel symbols'
   * span.
   */
  #kernelTextMapFor(spaces: AddressSpaces, ip: bigint): MapEntry | undefined {
    const table = this.kernelSymbols().kernel;
    if (table.length === 0) return undefined;
    const delta = this.#delta(spaces);
    const start = table.startAt(0) - delta, end = table.endAt(table.length - 1) - delta;
    if (ip < start || ip >= end) return undefined;
    const recorded = spaces.kernel.entries().find((m) => m.kind === "kernel");
    return {
      start,
      end,
      pgoff: recorded?.pgoff ?? start,
      filename: recorded?.filename ?? "[kernel.kallsyms]",
      kind: "kernel",
      dso: "[kernel.kallsyms]",
    };
  }

  #moduleMapFor(ip: bigint): MapEntry | undefined {
    for (const [name, table] of this.kernelSymbols().modules) {
      if (table.find(ip) >= 0) {
        return {
          start: table.startAt(0),
          end: table.endAt(table.length - 1),
          pgoff: 0n,
          filename: `[${name}]`,
          kind: "module",
          dso: `[${name}]`,
        };
      }
    }
    return undefined;
  }

  /**
   * Where the bytes of a mapped file are read from (perf's `dso__data_fd`:
   * the build-id cache copy, then the path under `--symfs`), for unwinding.
   *
   * @param filename The recorded file name (or `[vdso]`).
   * @returns A path; `null` when no file may stand in for it (a recorded
   *   vdso build-id that this process's vdso does not have); undefined for
   *   the default (the path itself, this process's vdso).
   */
  dataPath(filename: string): string | null | undefined {
    const cache = this.#sources.buildIdDir ?? (Deno.env.get("HOME") ?? "") + "/.debug";
    const cached = (id: string | undefined, name: string) => {
      if (id === undefined || cache === "" || cache === "/.debug") return undefined;
      const p = `${cache}/.build-id/${id.slice(0, 2)}/${id.slice(2)}/${name}`;
      return isRegularFile(p) ? p : undefined;
    };
    if (filename === "[vdso]") {
      if (this.#options.vdso !== undefined) return this.#options.vdso;
      const id = this.#ids().user.get("[vdso]");
      const hit = cached(id, "vdso");
      if (hit !== undefined) return hit;
      if (id === undefined) return undefined;
      const own = ownVdso();
      try {
        return own?.buildId() === id ? undefined : null;
      } finally {
        own?.close();
      }
    }
    if (!filename.startsWith("/") || filename.startsWith("//")) return undefined;
    const local = joinSymfs(this.#sources.symfs, filename);
    const id = this.#options.buildIds?.get(filename) ?? this.#ids().user.get(filename);
    return cached(id, "elf") ?? local;
  }

  /**
   * The file addr2line reads for a user DSO's inline frames (perf's
   * `dso->symsrc_filename`), found as the DSO's symbols are.
   *
   * @param map A file-backed mapping.
   * @returns The target.
   */
  inlineTarget(map: MapEntry): InlineTarget {
    const local = tryOpenElf(joinSymfs(this.#sources.symfs, map.filename));
    try {
      const buildId = this.#expectedBuildId(map.filename, map.buildId, local);
      return inlineTarget(map.filename, { ...this.#sources, buildId });
    } finally {
      local?.close();
    }
  }

  /**
   * A user-space name as perf prints it (demangled unless `demangle: false`),
   * e.g. the function names addr2line reports for inline frames.
   *
   * @param name The name from the ELF file or addr2line.
   * @returns The printed name.
   */
  demangleName(name: string): string {
    return this.#options.demangle === false ? name : this.#getDemangler().demangle(name);
  }

  #getDemangler(): Demangler {
    return this.#demangler ??= this.#options.demangler ?? new Demangler();
  }

  #expectedBuildId(
    filename: string,
    mmapBuildId: string | undefined,
    runtime: ElfFile | undefined,
  ): string | undefined {
    return this.#options.buildIds?.get(filename) ?? this.#ids().user.get(filename) ??
      mmapBuildId ?? runtime?.buildId();
  }

  #loadUser(filename: string, mmapBuildId: string | undefined): SymbolTable {
    const local = joinSymfs(this.#sources.symfs, filename);
    const runtimeFile = tryOpenElf(local);
    const opened: ElfFile[] = runtimeFile ? [runtimeFile] : [];
    try {
      const buildId = this.#expectedBuildId(filename, mmapBuildId, runtimeFile);
      let syms: ElfFile | undefined, runtime: ElfFile | undefined;
      const candidates = userCandidates(
        filename,
        buildId,
        runtimeFile?.debugLink(),
        this.#sources,
      );
      for (const path of candidates) {
        const elf = path === local ? runtimeFile : tryOpenElf(path);
        if (elf === undefined) continue;
        if (elf !== runtimeFile) opened.push(elf);
        if (buildId !== undefined && elf.buildId() !== buildId) continue;
        if (syms === undefined && elf.hasSymbols(SHT_SYMTAB)) syms = elf;
        if (runtime === undefined && elf.hasSymbols(SHT_DYNSYM)) runtime = elf;
        if (syms !== undefined && runtime !== undefined) break;
      }
      if (syms === undefined && runtime === undefined) return EMPTY;
      syms ??= runtime!;
      runtime ??= syms;
      const insertion: { start: bigint; nameRef: number }[] = [];
      let table = elfSymbolTable(syms, runtime, insertion);
      const demangler = this.#options.demangle === false ? undefined : this.#getDemangler();
      if (table.length > 0) {
        const plt = pltSymbols(runtime, (n) => demangler?.demangle(n) ?? n);
        if (plt.length > 0) this.#plt.set(filename, new PltTree(table, insertion, plt));
      }
      if (demangler !== undefined) table = table.renamed((names) => demangler.demangleAll(names));
      return table;
    } catch {
      return EMPTY;
    } finally {
      for (const f of opened) f.close();
    }
  }

  #loadVdso(): SymbolTable {
    const expected = this.#ids().user.get("[vdso]") ?? this.#options.buildIds?.get("[vdso]");
    const images: (() => ElfFile | undefined)[] = [];
    if (this.#options.vdso !== undefined) images.push(() => tryOpenElf(this.#options.vdso!));
    else {
      const cache = this.#sources.buildIdDir ?? (Deno.env.get("HOME") ?? "") + "/.debug";
      if (expected !== undefined && cache !== "" && cache !== "/.debug") {
        images.push(() =>
          tryOpenElf(`${cache}/.build-id/${expected.slice(0, 2)}/${expected.slice(2)}/vdso`)
        );
      }
      images.push(ownVdso);
    }
    for (const open of images) {
      let elf: ElfFile | undefined;
      try {
        elf = open();
        if (elf === undefined) continue;
        if (expected !== undefined && elf.buildId() !== expected) continue;
        return elfSymbolTable(elf, elf);
      } catch {
        continue;
      } finally {
        elf?.close();
      }
    }
    return EMPTY;
  }
}

/** This process's `[vdso]` image (what perf writes to a file for its vdso dso). */
function ownVdso(): ElfFile | undefined {
  const bytes = readOwnVdso();
  return bytes === undefined ? undefined : ElfFile.parse(memorySource(bytes, "[vdso]"));
}

/**
 * perf's `kallsyms__get_function_start`: the address of the first function
 * symbol (type t, T, w or W) of that name in a kallsyms file.
 */
function kallsymsFunctionStart(path: string, name: string): bigint | undefined {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^([0-9a-fA-F]+) [tTwW] ${escaped}$`, "m");
  // Read in chunks of whole lines up to the first match (`_text` is near the start of
  // /proc/kallsyms, which the kernel generates anew on every read).
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const buf = new Uint8Array(1 << 16);
    const decoder = new TextDecoder();
    let rest = "";
    for (;;) {
      const n = file.readSync(buf);
      const text = rest + (n === null ? decoder.decode() : decoder.decode(buf.subarray(0, n), {
        stream: true,
      }));
      const cut = n === null ? text.length : text.lastIndexOf("\n") + 1;
      const m = re.exec(text.slice(0, cut));
      if (m !== null) return BigInt("0x" + m[1]);
      if (n === null) return undefined;
      rest = text.slice(cut);
    }
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/** The build-id of an ELF file, undefined when it is not one. */
function elfBuildId(path: string): string | undefined {
  const elf = tryOpenElf(path);
  try {
    return elf?.buildId();
  } catch {
    return undefined;
  } finally {
    elf?.close();
  }
}

/**
 * Kernel symbols of a vmlinux image: its `.symtab` function and object
 * symbols at their link addresses, ended as kallsyms symbols are.
 */
function vmlinuxSymbols(path: string): KernelSymbols {
  const elf = ElfFile.open(path);
  try {
    const table = elf.readSymbols(SHT_SYMTAB);
    if (table === undefined) return { kernel: EMPTY, modules: new Map(), allZero: false };
    const raw: RawSymbol[] = [];
    for (const sym of table.symbols) {
      const type = sym.info & 0xf;
      if (sym.shndx === 0 || sym.nameOffset === 0 || (type !== STT_FUNC && type !== 1)) continue;
      raw.push({
        start: sym.value,
        size: sym.size,
        binding: sym.info >> 4,
        type,
        nameRef: sym.nameOffset,
      });
    }
    const strings = table.strings;
    return {
      kernel: SymbolTable.build(raw, (ref) => cString(strings, ref)),
      modules: new Map(),
      allZero: false,
    };
  } finally {
    elf.close();
  }
}

/**
 * Load a JIT symbol file (`/tmp/perf-PID.map`: lines `START SIZE name`, hex).
 *
 * @param path File path.
 * @returns Its symbols (empty when missing).
 */
export function loadPerfMap(path: string): SymbolTable {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return EMPTY;
  }
  const raw: RawSymbol[] = [];
  const names: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(?:0x)?([0-9a-fA-F]+)\s+(?:0x)?([0-9a-fA-F]+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    raw.push({
      start: BigInt("0x" + m[1]),
      size: BigInt("0x" + m[2]),
      binding: STB_GLOBAL,
      type: STT_FUNC,
      nameRef: names.length,
    });
    names.push(m[3]);
  }
  return SymbolTable.build(raw, (r) => names[r]);
}

/** Which fields a callchain line prints, like `perf script -F`. */
export interface LineFields {
  /** Print the address. */
  ip?: boolean;
  /** Print the symbol name. */
  sym?: boolean;
  /** Append `+0x<off>` to resolved symbols. */
  symoff?: boolean;
  /** Print ` (dso)`. */
  dso?: boolean;
}

/**
 * perf's `ip` column in a callchain line: `%16lx` of {@linkcode Resolution.printedIp}.
 *
 * @param r The resolution.
 * @returns The padded hex address.
 */
export function formatIp(r: Resolution): string {
  return r.printedIp.toString(16).padStart(16, " ");
}

/**
 * perf's `sym` (+ `symoff`) field: `name+0x1d`, `name`, or `[unknown]`.
 *
 * @param r The resolution.
 * @param withOffset Whether `symoff` is selected.
 * @returns The field text.
 */
export function formatSym(r: Resolution, withOffset = true): string {
  if (r.sym === undefined) return "[unknown]";
  return withOffset ? `${r.sym}+0x${r.symoff.toString(16)}` : r.sym;
}

/**
 * perf's `dso` field including its parentheses: `(/usr/lib/libc.so.6)`.
 *
 * @param r The resolution.
 * @returns The field text.
 */
export function formatDso(r: Resolution): string {
  return `(${r.dso})`;
}

/**
 * One callchain line as `perf script` prints it (tab, then fields joined by
 * one space), without the trailing newline.
 *
 * @param r The resolution.
 * @param fields Selected fields; default ip, sym, symoff, dso.
 * @returns e.g. `\t            1183 leaf+0x2a (/tmp/callring-fixture/burn)`.
 */
export function formatCallchainLine(
  r: Resolution,
  fields: LineFields = { ip: true, sym: true, symoff: true, dso: true },
): string {
  let out = "\t";
  if (fields.ip) out += formatIp(r);
  if (fields.sym) out += " " + formatSym(r, fields.symoff === true);
  if (fields.dso) out += " " + formatDso(r);
  return out;
}
