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
 * the binary itself), with the binary itself as the runtime image; the
 * binary's `.dynsym` is used when no `.symtab` exists. Kernel symbols come
 * from kallsyms (`--kallsyms FILE`, default `/proc/kallsyms`).
 *
 * @module
 */

import { ElfFile, elfSymbolTable, SHT_DYNSYM, SHT_SYMTAB } from "./elf.ts";
import { type KernelSymbols, loadKallsyms } from "./kallsyms.ts";
import { type AddressSpaces, CPUMODE_KERNEL, type MapEntry, mapIp } from "./maps.ts";
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
}

/** Options for {@linkcode Symbolizer}. */
export interface SymbolizerOptions {
  /** kallsyms file (perf's `--kallsyms`) or pre-parsed symbols; default `/proc/kallsyms`. */
  kallsyms?: string | KernelSymbols;
  /** Debug-info roots searched like perf's `/usr/lib/debug`; default `["/usr/lib/debug"]`. */
  debugRoots?: string[];
  /** perf build-id cache directory; default `$HOME/.debug`; "" disables it. */
  buildIdCache?: string;
  /** Image to use for `[vdso]`; default: this process's own vdso (same kernel). */
  vdso?: string;
  /** Expected build-ids by file name (from the perf.data header or MMAP2). */
  buildIds?: Map<string, string>;
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
 * import { AddressSpaces, CPUMODE_USER } from "./maps.ts";
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
  readonly #tables = new Map<string, SymbolTable>();
  #kernel: KernelSymbols | undefined;

  /**
   * Create a symbolizer.
   *
   * @param options Where to find symbols.
   */
  constructor(options: SymbolizerOptions = {}) {
    this.#options = options;
    if (typeof options.kallsyms === "object") this.#kernel = options.kallsyms;
  }

  /**
   * Kernel symbols, loaded on first use. A missing or unreadable kallsyms
   * file yields empty tables (perf then prints `[unknown]`).
   *
   * @returns The kernel symbols.
   */
  kernelSymbols(): KernelSymbols {
    if (this.#kernel === undefined) {
      const path = typeof this.#options.kallsyms === "string"
        ? this.#options.kallsyms
        : "/proc/kallsyms";
      try {
        this.#kernel = loadKallsyms(path);
      } catch {
        this.#kernel = { kernel: EMPTY, modules: new Map(), allZero: false };
      }
    }
    return this.#kernel;
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
        table = this.#loadUser(map.filename);
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
    const lookupAddr = map.kind === "module" ? ip : rel;
    const table = this.tableFor(map);
    const i = table.find(lookupAddr);
    let sym: string | undefined, symoff = 0n;
    if (i >= 0) {
      sym = table.nameAt(i);
      const start = table.startAt(i), end = table.endAt(i);
      // __symbol__fprintf_symname_offs
      symoff = lookupAddr < end
        ? lookupAddr - start
        : BigInt.asUintN(64, lookupAddr - map.start - start);
    }
    return {
      map,
      sym,
      symoff,
      dso: map.dso,
      mapRelativeIp: rel,
      printedIp: kernel ? ip : rel,
      callchainIp: ip,
      kernel,
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
    const start = table.startAt(0), end = table.endAt(table.length - 1);
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

  #expectedBuildId(filename: string, runtime: ElfFile | undefined): string | undefined {
    return this.#options.buildIds?.get(filename) ?? runtime?.buildId();
  }

  #candidates(filename: string, runtime: ElfFile | undefined, buildId: string | undefined) {
    const roots = this.#options.debugRoots ?? ["/usr/lib/debug"];
    const cache = this.#options.buildIdCache ?? (Deno.env.get("HOME") ?? "") + "/.debug";
    const out: string[] = [];
    const dir = filename.slice(0, Math.max(0, filename.lastIndexOf("/")));
    const link = runtime?.debugLink();
    if (link !== undefined) {
      out.push(link, `${dir}/${link}`, `${dir}/.debug/${link}`);
      for (const r of roots) out.push(`${r}${dir}/${link}`);
    }
    if (buildId !== undefined && buildId.length > 2) {
      const rel = `.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}`;
      if (cache !== "" && cache !== "/.debug") {
        out.push(`${cache}/${rel}/elf`, `${cache}/${rel}/debug`);
      }
      for (const r of roots) {
        out.push(`${r}${filename}.debug`, `${r}${filename}`, `${r}/${rel}.debug`);
      }
    } else {
      for (const r of roots) out.push(`${r}${filename}.debug`, `${r}${filename}`);
    }
    out.push(filename);
    return out;
  }

  #loadUser(filename: string): SymbolTable {
    const runtimeFile = tryOpenElf(filename);
    const opened: ElfFile[] = runtimeFile ? [runtimeFile] : [];
    try {
      const buildId = this.#expectedBuildId(filename, runtimeFile);
      let syms: ElfFile | undefined, runtime: ElfFile | undefined;
      for (const path of this.#candidates(filename, runtimeFile, buildId)) {
        const elf = path === filename ? runtimeFile : tryOpenElf(path);
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
      return elfSymbolTable(syms, runtime);
    } catch {
      return EMPTY;
    } finally {
      for (const f of opened) f.close();
    }
  }

  #loadVdso(): SymbolTable {
    try {
      const path = this.#options.vdso;
      const elf = path !== undefined ? ElfFile.open(path) : ownVdso();
      if (elf === undefined) return EMPTY;
      try {
        return elfSymbolTable(elf, elf);
      } finally {
        elf.close();
      }
    } catch {
      return EMPTY;
    }
  }
}

/** Read this process's `[vdso]` image via /proc/self/maps and /proc/self/mem. */
function ownVdso(): ElfFile | undefined {
  const maps = Deno.readTextFileSync("/proc/self/maps");
  const line = maps.split("\n").find((l) => l.endsWith("[vdso]"));
  if (line === undefined) return undefined;
  const [lo, hi] = line.split(" ")[0].split("-").map((h) => parseInt(h, 16));
  const mem = Deno.openSync("/proc/self/mem", { read: true });
  try {
    const buf = new Uint8Array(hi - lo);
    mem.seekSync(lo, Deno.SeekMode.Start);
    let got = 0;
    while (got < buf.length) {
      const n = mem.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    return ElfFile.parse({
      name: "[vdso]",
      size: got,
      read: (o, l) => buf.subarray(o, Math.min(got, o + l)),
      close: () => {},
    });
  } finally {
    mem.close();
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
