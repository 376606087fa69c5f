/**
 * Symbols over a recording's side-band state: address resolution
 * ({@linkcode AddressResolver}) and inline frames through the threads and
 * maps of a {@linkcode SideBand}, which the input layer fills as it reads
 * (or {@linkcode PerfSession.apply} for records fed by hand).
 *
 * @module
 */

import { type PerfRecord, ReadWarning } from "../abi/mod.ts";
import type { Input } from "../input/open.ts";
import type { SymbolSourceOptions } from "./buildid_cache.ts";
import type { AddressResolver, ResolvedAddress, ResolverScope } from "./resolver.ts";
import {
  type InlineNode,
  inlineNodes,
  InlineResolver,
  type InlineResolverOptions,
  type InlineTarget,
  SRCLINE_UNKNOWN,
  srclineText,
} from "./inlines.ts";
import { type AddressSpaces, CPUMODE_KERNEL, CPUMODE_USER, mapIp } from "../input/maps.ts";
import { SideBand } from "../input/side_band.ts";
import { Symbolizer, type SymbolizerOptions } from "./symbolize.ts";
import type { ThreadTable } from "../input/threads.ts";

/** The scope of addresses no map list covers (they print raw and unresolved). */
const NO_MAPS_SCOPE: ResolverScope = Object.freeze({ version: 0 });

/**
 * Threads, maps and symbols of one recording.
 *
 * @example
 * ```ts
 * import { PerfSession } from "./session.ts";
 * const session = new PerfSession();
 * session.apply({ type: 3, misc: 0, size: 0, pid: 5, tid: 5, comm: "burn" });
 * console.log(session.threads.comm(5)); // "burn"
 * ```
 */
export class PerfSession {
  /** The side-band state resolved through. */
  readonly sideBand: SideBand;
  readonly #symbolizerOptions: SymbolizerOptions;
  #symbolizer: Symbolizer | undefined;
  readonly #inlineOptions: InlineResolverOptions;
  #inliner: InlineResolver | undefined;
  readonly #inlineTargets = new Map<string, InlineTarget>();

  /**
   * Create a session.
   *
   * @param options Symbolizer options (kallsyms file, debug roots, build ids).
   * @param inlineOptions addr2line program and pool size for {@linkcode PerfSession.inlineNodes}.
   * @param sideBand The threads and maps to resolve through (an input's; default empty).
   */
  constructor(
    options: SymbolizerOptions = {},
    inlineOptions: InlineResolverOptions = {},
    sideBand: SideBand = new SideBand(),
  ) {
    this.#symbolizerOptions = options;
    this.#inlineOptions = inlineOptions;
    this.sideBand = sideBand;
  }

  /** Thread names (of {@linkcode PerfSession.sideBand}). */
  get threads(): ThreadTable {
    return this.sideBand.threads;
  }

  /** Per-process maps (of {@linkcode PerfSession.sideBand}). */
  get spaces(): AddressSpaces {
    return this.sideBand.spaces;
  }

  /** The symbolizer, created on first use (loading kallsyms is not free). */
  get symbolizer(): Symbolizer {
    this.#symbolizer ??= new Symbolizer(this.#symbolizerOptions);
    return this.#symbolizer;
  }

  /**
   * The kernel symbol an address falls in, as perf's tracepoint function
   * resolver (`machine__resolve_kernel_addr`: the kernel's and modules'
   * maps) finds it for `%pS`-style payload conversions.
   *
   * @param addr A kernel address.
   * @returns The symbol's name and the address's offset in it, or undefined.
   */
  kernelSymbol(addr: bigint): { name: string; offset: bigint } | undefined {
    const r = this.symbolizer.resolve(this.spaces, -1, addr, CPUMODE_KERNEL);
    return r.map === undefined || r.sym === undefined || !r.kernel
      ? undefined
      : { name: r.sym, offset: r.symoff };
  }

  /**
   * Apply a side-band record (COMM, FORK, MMAP, MMAP2) by hand; others are
   * ignored. Inputs opened through the input layer apply their own.
   *
   * @param record The record.
   */
  apply(record: PerfRecord): void {
    this.sideBand.apply(record);
  }

  /**
   * An {@linkcode AddressResolver} over this session's maps. Its scopes
   * ({@linkcode AddressResolver.scope}) are the machine's kernel map list
   * and each process's map list: every address resolves the same while the
   * list's `version` stays the same (and, with a function `withSymbols`,
   * while its answer stays the same: callers that change it clear their
   * caches).
   *
   * @param withSymbols Resolve symbols and dsos (loads ELF files and kallsyms);
   *   false resolves only the map-relative address perf prints. A function is
   *   asked on every lookup (for selections that change while reading).
   * @returns The resolver.
   */
  resolver(withSymbols: boolean | (() => boolean)): AddressResolver {
    const symbols = typeof withSymbols === "function" ? withSymbols : () => withSymbols;
    return {
      scope: (pid, _tid, cpumode): ResolverScope => {
        if (cpumode === CPUMODE_KERNEL) return this.spaces.kernel;
        if (cpumode === CPUMODE_USER) return this.spaces.existingProcess(pid) ?? NO_MAPS_SCOPE;
        return NO_MAPS_SCOPE;
      },
      resolve: (pid, _tid, cpumode, addr): ResolvedAddress | undefined => {
        if (symbols()) {
          const r = this.symbolizer.resolve(this.spaces, pid, addr, cpumode);
          return {
            mapIp: r.printedIp,
            sym: r.sym,
            symoff: r.symoff,
            dso: r.map ? r.dso : undefined,
          };
        }
        const map = this.spaces.lookup(pid, addr, cpumode);
        if (map === undefined) return undefined;
        const kernel = map.kind === "kernel" || map.kind === "module";
        return {
          mapIp: kernel ? addr : mapIp(map, addr),
          sym: undefined,
          symoff: 0n,
          dso: undefined,
        };
      },
    };
  }

  /**
   * perf 6.1's `append_inlines` for one DWARF-unwound frame: the nodes that
   * replace the frame in the printed callchain, innermost first. Empty when
   * the frame has no map or symbol, its DSO has no `.debug_line`, addr2line
   * is missing or knows nothing: the frame then prints as usual.
   *
   * @param pid Process id of the sample.
   * @param cpumode cpumode of the frame.
   * @param ip Runtime address of the frame.
   * @returns The nodes (cached per DSO file and address).
   */
  async inlineNodes(pid: number, cpumode: number, ip: bigint): Promise<readonly InlineNode[]> {
    const r = this.symbolizer.resolve(this.spaces, pid, ip, cpumode);
    if (r.map === undefined || r.map.kind !== "file" || r.sym === undefined) return [];
    let target = this.#inlineTargets.get(r.map.filename);
    if (target === undefined) {
      target = this.symbolizer.inlineTarget(r.map);
      this.#inlineTargets.set(r.map.filename, target);
    }
    if (target.file === undefined) return [];
    this.#inliner ??= new InlineResolver(this.#inlineOptions);
    const addr = BigInt.asUintN(64, r.mapRelativeIp + target.textOffset);
    const records = await this.#inliner.lookup(target.file, addr);
    // perf's new_inline_sym demangles addr2line's names before comparing them.
    const named = records.map((x) => ({ ...x, func: this.symbolizer.demangleName(x.func) }));
    return inlineNodes(named, r.sym);
  }

  /**
   * perf 6.1's `map__fprintf_srcline` text of one address (`-F srcline`): the
   * first addr2line record's `file.c:12` (`get_srcline` through the DSO's
   * addr2line subprocess, the one {@linkcode PerfSession.inlineNodes} uses),
   * else `dso[objdump address]` (`[kernel.kallsyms][ffffffff81000c82]`,
   * `libc.so.6[29d90]`). Undefined when the address has no map (perf prints
   * nothing then) or the answer is perf's `??:0`.
   *
   * @param pid Process id of the sample.
   * @param cpumode cpumode of the address.
   * @param ip Runtime address.
   * @returns The text printed after `\n  `, or undefined.
   */
  async srcline(pid: number, cpumode: number, ip: bigint): Promise<string | undefined> {
    const r = this.symbolizer.resolve(this.spaces, pid, ip, cpumode);
    const map = r.map;
    if (map === undefined) return undefined;
    let addr = r.mapRelativeIp;
    if (map.kind === "file") {
      let target = this.#inlineTargets.get(map.filename);
      if (target === undefined) {
        target = this.symbolizer.inlineTarget(map);
        this.#inlineTargets.set(map.filename, target);
      }
      addr = BigInt.asUintN(64, r.mapRelativeIp + target.textOffset);
      if (target.file !== undefined) {
        this.#inliner ??= new InlineResolver(this.#inlineOptions);
        const first = (await this.#inliner.lookup(target.file, addr))[0];
        if (first !== undefined) {
          const text = srclineText(first.file, first.line);
          return text.startsWith(SRCLINE_UNKNOWN) ? undefined : text;
        }
      }
    }
    // perf's dso->short_name: the base name of a file, the bracketed name of the others
    const dso = map.kind === "file" || map.kind === "nodso"
      ? map.dso.slice(map.dso.lastIndexOf("/") + 1)
      : map.dso;
    return `${dso}[${addr.toString(16)}]`;
  }

  /** End the addr2line subprocesses started by {@linkcode PerfSession.inlineNodes}. */
  async close(): Promise<void> {
    await this.#inliner?.close();
  }
}

/** Where the symbols of {@linkcode sessionFor} come from. */
export interface SessionSymbolOptions {
  /** kallsyms file for kernel symbols (perf's `--kallsyms`). */
  kallsyms?: string;
  /** perf's `--symfs`, `--vmlinux`, build-id cache. */
  symbols?: SymbolSourceOptions;
  /** The addr2line program for inline frames (default `addr2line` from PATH). */
  addr2line?: string;
  /** Called with symbolization warnings (missing kernel symbols, ...), as `symbol` warnings. */
  onWarning?: (warning: ReadWarning) => void;
}

/**
 * The session over an open input: its side band, the build-ids it records,
 * and the symbol sources the options name.
 *
 * @param input The open input.
 * @param options Symbol sources and the warning hook.
 * @returns The session.
 */
export function sessionFor(input: Input, options: SessionSymbolOptions): PerfSession {
  const onWarning = options.onWarning;
  return new PerfSession(
    {
      ...options.symbols,
      ...(options.kallsyms ? { kallsyms: options.kallsyms } : {}),
      buildIdTable: () => input.info.perf.buildIds,
      onWarning: onWarning && ((m) => onWarning(new ReadWarning("symbol", m))),
    },
    options.addr2line !== undefined ? { program: options.addr2line } : {},
    input.sideBand,
  );
}
