/**
 * Symbolize callchains into shared {@linkcode FrameRef} objects, as perf 6.1
 * does (`thread__resolve_callchain_sample` / `add_callchain_ip`):
 * `PERF_CONTEXT_*` markers switch the cpumode used to resolve the following
 * entries and are dropped; an unknown marker discards the whole chain (the
 * sample then keeps only its own ip); at most `maxStack` (default 127) entries
 * are used. `--call-graph dwarf` samples are unwound from their user-stack
 * copy ({@linkcode unwindUserDetailed}) and joined with the kernel part of the
 * chain. The self frame of a sample is its first frame.
 *
 * Frames without a map take their `[k]`/`[.]` level from the sample's first
 * frame, as perf prints them. `FrameRef` objects are reused per (level, dso,
 * symbol) and tagged ({@linkcode tagFrame}) so the profile builder interns
 * them without building keys.
 *
 * @module
 */

import { ChainWalk, CpuMode, type PerfEventAttr, type Sample, SampleType } from "../abi/mod.ts";
import { inferContext } from "./context.ts";
import { lbrCallchain } from "./lbr.ts";
import { type FrameRef, type MapRange, newTagSource, tagFrame } from "./profile.ts";
import type { InlineNode } from "./inlines.ts";
import { PerfSession } from "./session.ts";
import {
  DEFAULT_MAX_STACK,
  ElfCache,
  fullCallchain,
  unwinderRegistered,
  unwindUserDetailed,
} from "./unwind.ts";
import {
  AddressCache,
  ChainCache,
  type ResolvedChain,
  SHARED_SPACE,
  UnresolvedFrames,
} from "./chain_cache.ts";
import type { Resolution } from "./symbolize.ts";
import { mapIp } from "../input/maps.ts";

/** A capture's own symbol table (simulated machines), consulted before maps and kallsyms. */
/**
 * Resolves an address without a map: `(pid, ip, cpumode) -> {sym, dso}`.
 *
 * @param pid Process id of the sample.
 * @param ip The address.
 * @param cpumode `PERF_RECORD_MISC_*` cpumode in effect for the address.
 * @returns Symbol and object name, or undefined.
 */
export type UnmappedResolver = (
  pid: number,
  ip: bigint,
  cpumode: number,
) => { sym: string; dso?: string } | undefined;

export type OwnSymbols = (ip: bigint) => { sym: string; dso: string } | undefined;

/** The two parts of a `--call-graph dwarf` chain before symbolization. */
interface UnwoundChain {
  kernel: bigint[];
  user: readonly bigint[];
  truncated: boolean;
}

const NO_INLINES: readonly InlineNode[] = Object.freeze([]);

/**
 * Symbolizes callchains into shared {@linkcode FrameRef} objects.
 *
 * DWARF-unwound user frames are expanded into inline frames as perf 6.1's
 * `unwind_entry` -> `append_inlines` does (an asynchronous addr2line lookup,
 * cached per DSO and address by the session); then {@linkcode resolve}
 * returns a promise. Frame-pointer and kernel entries are never expanded and
 * resolve synchronously, so such inputs never wait for addr2line.
 */
export class ChainResolver {
  readonly #session: PerfSession;
  readonly #symbolize: boolean;
  readonly #inline: boolean;
  readonly #maxStack: number;
  /** User entries unwound per DWARF sample. */
  readonly #userMaxStack: number;
  /** One frame per (symbol, runtime address) instead of per symbol (pprof locations). */
  readonly #perAddress: boolean;
  /** The runtime address of the entry being pushed (the frame's address with `perAddress`). */
  #rawIp = 0n;
  #rawPid = 0;
  #rawMode = 0;
  readonly #walk = new ChainWalk();
  /**
   * The tag source of this resolver's frames: one per (level, inlined, dso, symbol or
   * address), distinct as a frame table keys them. Per-address frames (several per symbol)
   * have none: tables key them.
   */
  readonly #tagSource: number;
  /** Frames with a symbol: [level * 2 + inlined] -> dso -> symbol -> frame. */
  readonly #frames: Map<string, Map<string, FrameRef>>[] = [
    new Map(),
    new Map(),
    new Map(),
    new Map(),
  ];
  /** Frames of unresolved addresses of 2^53 and above: [level] -> dso -> address -> frame. */
  readonly #unresolved: Map<string, Map<bigint, FrameRef>>[] = [new Map(), new Map()];
  /** Frames of the other unresolved addresses. */
  readonly #unresolvedFrames = new UnresolvedFrames();
  readonly #elfs = new ElfCache({ resolvePath: (f) => this.#session.symbolizer.dataPath(f) });
  readonly #out: FrameRef[] = [];
  readonly #hasMap: boolean[] = [];
  readonly #unmapped: UnmappedResolver | undefined;
  /** The leaf's callchain node when it is a mapped but unresolved user address, and its self frame. */
  #leafNode: FrameRef | undefined;
  /** The address of the first frame pushed for the chain being resolved (-1: none yet). */
  #leafIp = -1n;
  #leafSelf: FrameRef | undefined;
  readonly #own: OwnSymbols | undefined;
  /** Resolved frame-pointer chains; off with `resolveUnmapped`. */
  readonly #chains: ChainCache | undefined;
  /** Resolved callchain entries (used with the chain cache). */
  readonly #addrs = new AddressCache();
  #nextKey = 0;
  #rawBuffer: ArrayBufferLike | undefined;
  #rawWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  #rawView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #wordsBuffer: ArrayBufferLike | undefined;
  #words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  #wordsView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  constructor(
    session: PerfSession,
    symbolize: boolean,
    inline: boolean,
    maxStack: number,
    unmapped: UnmappedResolver | undefined,
    own: OwnSymbols | undefined,
    perAddress = false,
    userMaxStack = maxStack,
  ) {
    this.#session = session;
    this.#userMaxStack = userMaxStack;
    this.#perAddress = perAddress;
    this.#tagSource = perAddress ? 0 : newTagSource();
    this.#symbolize = symbolize;
    this.#inline = inline && symbolize;
    this.#maxStack = maxStack;
    this.#unmapped = unmapped;
    this.#own = own;
    // A caller's resolver may answer differently over time: its chains are never reused.
    this.#chains = unmapped === undefined ? new ChainCache() : undefined;
  }

  /** Forget resolved chains (kernel maps or the capture's own symbols changed). */
  invalidate(): void {
    this.#chains?.clear();
    this.#addrs.clear();
  }

  /** Forget the resolved chains of one process (its maps changed). */
  invalidateProcess(pid: number): void {
    this.#chains?.invalidateProcess(pid);
    this.#addrs.invalidateProcess(pid);
  }

  /** {@linkcode #push} of the entry at byte `at` of `view` (words `lo`, `hi`), address cache first. */
  #pushWord(
    pid: number,
    cpumode: number,
    view: DataView,
    at: number,
    lo: number,
    hi: number,
  ): void {
    if (this.#chains === undefined) return this.#push(pid, cpumode, view.getBigUint64(at, true));
    const addrs = this.#addrs;
    // Only user addresses resolve through the process's maps: others are shared by all pids.
    const hit = addrs.find(cpumode === CpuMode.USER ? pid : SHARED_SPACE, cpumode, hi, lo);
    if (hit >= 0) {
      const f = addrs.frame(hit);
      if (this.#out.length === 0) this.#leafIp = toBig(hi, lo);
      // an unresolved leaf with a map (user, or a kernel module's) also needs its map-relative
      // self frame: resolve it again
      if (this.#out.length > 0 || f.sym !== undefined || !addrs.hasMap(hit)) {
        this.#out.push(f);
        this.#hasMap.push(addrs.hasMap(hit));
        return;
      }
      this.#push(pid, cpumode, view.getBigUint64(at, true));
      return;
    }
    this.#push(pid, cpumode, view.getBigUint64(at, true));
    const last = this.#out.length - 1;
    addrs.add(this.#out[last], this.#hasMap[last]);
  }

  /**
   * The chain resolved before for frame-pointer callchain words still in
   * their bytes (`u32` words `[base, base + len)` of `buffer`), or undefined
   * (then decode the sample and call {@linkcode resolve}).
   */
  cached(
    buffer: ArrayBufferLike,
    base: number,
    len: number,
    pid: number,
    mode: number,
    attr: PerfEventAttr,
  ): ResolvedChain | undefined {
    const cache = this.#chains;
    if (cache === undefined) return undefined;
    if (buffer !== this.#rawBuffer) {
      this.#rawBuffer = buffer;
      this.#rawWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
      this.#rawView = new DataView(buffer);
    }
    const words = this.#rawWords;
    if (base + len > words.length) return undefined;
    return cache.get(
      ChainCache.hash(words, base, len, pid, mode),
      words,
      base,
      len,
      pid,
      mode,
      attr,
    );
  }

  /** Resolve one sample (a promise only for DWARF samples whose inline frames are looked up). */
  resolve(
    sample: Sample,
    misc: number,
    attr: PerfEventAttr,
  ): ResolvedChain | Promise<ResolvedChain> {
    const pid = sample.pid ?? -1;
    const sampleMode = misc & 7;
    const dwarf = sample.regsUser !== undefined && sample.stackUser !== undefined &&
      sample.regsUser.regs.length > 0 && (attr.sampleType & SampleType.STACK_USER) !== 0;
    if (dwarf) {
      const unwound = this.#unwind(sample, attr, pid);
      if (!this.#inline || unwound.user.length === 0) {
        return this.#dwarfChain(sample, sampleMode, pid, unwound, undefined);
      }
      return this.#inlineNodes(pid, unwound.user).then((nodes) =>
        this.#dwarfChain(sample, sampleMode, pid, unwound, nodes)
      );
    }
    // --call-graph lbr: the user part comes from the branch stack (lbr.ts)
    const chain = lbrCallchain(sample, attr, this.#maxStack) ?? sample.callchain;
    if (chain === undefined) {
      this.#out.length = 0;
      this.#hasMap.length = 0;
      // no PERF_SAMPLE_CALLCHAIN: the sampled ip is the whole stack
      return this.#finish(sample.ip ?? 0n, sampleMode, pid, false, true);
    }
    // One view per buffer (decoders often keep many chains in one): none per sample.
    if (chain.buffer !== this.#wordsBuffer) {
      this.#wordsBuffer = chain.buffer;
      this.#words = new Uint32Array(chain.buffer, 0, chain.buffer.byteLength >>> 2);
      this.#wordsView = new DataView(chain.buffer);
    }
    return this.#resolveWords(
      this.#words,
      chain.byteOffset >>> 2,
      chain.length,
      this.#wordsView,
      pid,
      sampleMode,
      attr,
      sample.ip ?? 0n,
    );
  }

  /**
   * Resolve a frame-pointer callchain of the sample with pid `pid`, header
   * cpumode `sampleMode` and ip `sampleIp` whose `n` entries are the u32
   * pairs `words[base, base + 2n)` (`view` holds the same bytes: entry `i`
   * at byte `4 * base + 8 * i`). Cached chains come back as they were.
   */
  #resolveWords(
    words: Uint32Array,
    base: number,
    n: number,
    view: DataView,
    pid: number,
    sampleMode: number,
    attr: PerfEventAttr,
    sampleIp: bigint,
  ): ResolvedChain {
    const limit = attr.sampleMaxStack > 0 ? attr.sampleMaxStack : DEFAULT_MAX_STACK;
    const out = this.#out;
    const hasMap = this.#hasMap;
    out.length = 0;
    hasMap.length = 0;
    const len = n * 2;
    const cache = this.#chains;
    let hash = 0;
    if (cache !== undefined) {
      // Most samples repeat a callchain seen before: hash the raw words, reuse its frames.
      hash = ChainCache.hash(words, base, len, pid, sampleMode);
      const hit = cache.get(hash, words, base, len, pid, sampleMode, attr);
      if (hit !== undefined) return hit;
    }
    let entries = 0;
    const walk = this.#walk;
    walk.reset(view, 4 * base, n, sampleMode);
    while (walk.next()) {
      entries++;
      if (out.length < this.#maxStack) {
        this.#pushWord(pid, walk.cpumode, view, 4 * base + 8 * walk.index, walk.lo, walk.hi);
      }
    }
    const discarded = walk.discarded;
    if (discarded) {
      out.length = 0;
      hasMap.length = 0;
      this.#leafIp = -1n;
    }
    const truncated = entries >= limit || entries > this.#maxStack;
    // Chains that fall back to the sample's own ip depend on more than their words.
    if (cache === undefined || out.length === 0) {
      return this.#finish(sampleIp, sampleMode, pid, truncated);
    }
    const resolved = this.#finish(sampleIp, sampleMode, pid, truncated);
    const frozen: ResolvedChain = {
      frames: Object.freeze(resolved.frames),
      key: this.#nextKey++,
      truncated,
      context: inferContext(resolved.frames),
    };
    if (resolved.self !== undefined) frozen.self = resolved.self;
    if (resolved.leafHi !== undefined) {
      frozen.leafLo = resolved.leafLo;
      frozen.leafHi = resolved.leafHi;
      frozen.leafIp = resolved.leafIp;
    }
    cache.set(hash, words, base, len, pid, sampleMode, attr, frozen);
    return frozen;
  }

  /**
   * {@linkcode resolve} for a frame-pointer sample still in its bytes: `n`
   * callchain entries at byte `at` of `view` (4-aligned in its buffer).
   */
  resolveRaw(
    view: DataView,
    at: number,
    n: number,
    pid: number,
    sampleMode: number,
    attr: PerfEventAttr,
    sampleIp: bigint,
  ): ResolvedChain {
    const buffer = view.buffer;
    if (buffer !== this.#rawBuffer) {
      this.#rawBuffer = buffer;
      this.#rawWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
      this.#rawView = new DataView(buffer);
    }
    const byte = view.byteOffset + at;
    return this.#resolveWords(
      this.#rawWords,
      byte >>> 2,
      n,
      this.#rawView,
      pid,
      sampleMode,
      attr,
      sampleIp,
    );
  }

  /** The sample's own ip when nothing was pushed; the level of frames without a map. */
  #finish(
    sampleIp: bigint,
    sampleMode: number,
    pid: number,
    truncated: boolean,
    noChain = false,
  ): ResolvedChain & { frames: FrameRef[] } {
    const out = this.#out;
    const hasMap = this.#hasMap;
    if (out.length === 0) {
      this.#push(pid, sampleMode, sampleIp);
      if (!noChain) {
        // A callchain with no entry left (only context markers, a DWARF sample with nothing
        // unwound): perf's entry comes from the sample's ip (al) and there is no chain at all.
        const own = out[0] === this.#leafNode ? this.#leafSelf! : out[0];
        this.#leafNode = undefined;
        this.#leafSelf = undefined;
        this.#leafIp = -1n;
        out.length = 0;
        hasMap.length = 0;
        return { frames: [], truncated, self: own };
      }
    }
    const leafIp = this.#leafIp;
    this.#leafIp = -1n;
    const leafSelf = out[0] === this.#leafNode ? this.#leafSelf : undefined;
    this.#leafNode = undefined;
    this.#leafSelf = undefined;
    // Frames without a map print with the sample's own level (that of the first frame).
    const firstKernel = out[0].kernel;
    for (let i = 1; i < out.length; i++) {
      if (!hasMap[i] && out[i].kernel !== firstKernel) {
        out[i] = this.#frame(firstKernel, undefined, undefined, out[i].ip ?? 0n);
      }
    }
    const chain: ResolvedChain & { frames: FrameRef[] } = { frames: out.slice(), truncated };
    if (leafSelf !== undefined && leafSelf !== out[0]) chain.self = leafSelf;
    if (leafIp >= 0n) {
      chain.leafLo = Number(leafIp & 0xffffffffn);
      chain.leafHi = Number(leafIp >> 32n);
      chain.leafIp = leafIp;
    }
    return chain;
  }

  #unwind(sample: Sample, attr: PerfEventAttr, pid: number): UnwoundChain {
    const spaces = this.#session.spaces;
    // perf's evsel__parse_sample keeps dyn_size as the stack size, and
    // thread__resolve_callchain_unwind bails out on 0: no user frames at all.
    // ... and a process without a readable map has no unwinder registered (unwind__prepare_access).
    if (sample.stackUser!.dynSize === 0 || !unwinderRegistered(spaces, this.#elfs, pid)) {
      return {
        kernel: fullCallchain(sample.callchain, [], this.#maxStack),
        user: [],
        truncated: false,
      };
    }
    const result = unwindUserDetailed(
      { mask: attr.sampleRegsUser, regs: sample.regsUser!.regs },
      sample.stackUser!,
      (addr) => spaces.lookup(pid, addr, CpuMode.USER),
      this.#elfs.loader,
      { maxStack: this.#userMaxStack },
    );
    const kernel = fullCallchain(sample.callchain, [], this.#maxStack);
    return { kernel, user: result.frames, truncated: result.stop === "max-stack" };
  }

  /** Inline nodes of unwound user frames (none for frames the capture's own table names). */
  #inlineNodes(pid: number, user: readonly bigint[]): Promise<(readonly InlineNode[])[]> {
    const own = this.#own;
    return Promise.all(
      user.map((ip) =>
        own?.(ip) !== undefined
          ? NO_INLINES
          : this.#session.inlineNodes(pid, CpuMode.USER, ip).catch(() => NO_INLINES)
      ),
    );
  }

  /** Symbolize a DWARF chain: kernel part, then the user frames (each replaced by its inline nodes, if any). */
  #dwarfChain(
    sample: Sample,
    sampleMode: number,
    pid: number,
    unwound: UnwoundChain,
    inlines: readonly (readonly InlineNode[])[] | undefined,
  ): ResolvedChain {
    this.#out.length = 0;
    this.#hasMap.length = 0;
    for (const ip of unwound.kernel) this.#push(pid, CpuMode.KERNEL, ip);
    const user = unwound.user;
    let self: FrameRef | undefined;
    for (let i = 0; i < user.length; i++) {
      const nodes = inlines?.[i];
      if (nodes === undefined || nodes.length === 0) this.#push(pid, CpuMode.USER, user[i]);
      else {
        const own = this.#pushInlines(pid, user[i], nodes);
        // The leaf's own symbol (perf's `al->sym`) carries the sample's self time.
        if (i === 0 && this.#out.length === nodes.length && own !== this.#out[0]) self = own;
      }
    }
    const chain: ResolvedChain = this.#finish(sample.ip ?? 0n, sampleMode, pid, unwound.truncated);
    if (self !== undefined) chain.self = self;
    return chain;
  }

  /**
   * perf's `append_inlines`: one frame per node, at the entry's address, in
   * the entry's dso. Returns the entry's own (non-inlined) symbol's frame.
   */
  #pushInlines(pid: number, ip: bigint, nodes: readonly InlineNode[]): FrameRef {
    if (this.#out.length === 0) this.#leafIp = ip;
    this.#rawIp = ip;
    this.#rawPid = pid;
    this.#rawMode = CpuMode.USER;
    const r = this.#session.symbolizer.resolve(this.#session.spaces, pid, ip, CpuMode.USER);
    const dso = r.map ? r.dso : undefined;
    for (const node of nodes) {
      this.#hasMap.push(true);
      // the node of the address's own function is that symbol; an inlined one has its range
      // (new_inline_sym: "a symbol with the start and end of the base_sym")
      const range = node.inlined || node.sym === r.sym ? r : undefined;
      this.#out.push(
        this.#frame(false, dso, node.sym, r.printedIp, node.inlined, undefined, range),
      );
    }
    return this.#frame(false, dso, r.sym, r.printedIp, false, undefined, r);
  }

  /**
   * A branch target as perf's branch-mode report keys it (`ip__resolve_ams`
   * through `thread__find_cpumode_addr_location`: the user maps first, then
   * the kernel's): its symbol and object when a map covers it, else the
   * absolute address; `[k]` / `[.]` is the sample's own cpumode (`he->level`).
   * @param pid The sample's process.
   * @param ip The branch's target address.
   * @param cpumode The sample's cpumode.
   * @returns The frame.
   */
  branchTarget(pid: number, ip: bigint, cpumode: number): FrameRef {
    const kernel = cpumode === CpuMode.KERNEL || cpumode === CpuMode.GUEST_KERNEL;
    for (const mode of [CpuMode.USER, CpuMode.KERNEL]) {
      if (!this.#symbolize) {
        const map = this.#session.spaces.lookup(pid, ip, mode);
        if (map !== undefined) return this.#frame(kernel, map.dso, undefined, ip);
        continue;
      }
      const r = this.#session.symbolizer.resolve(this.#session.spaces, pid, ip, mode);
      if (r.map !== undefined) {
        return r.sym === undefined
          ? this.#frame(kernel, r.dso, undefined, ip)
          : this.#frame(kernel, r.dso, r.sym, r.printedIp, false, undefined, r);
      }
    }
    return this.#frame(kernel, undefined, undefined, ip);
  }

  /**
   * One end of a branch as perf's default branch view prints it
   * (`ip__resolve_ams`, `thread__find_cpumode_addr_location`): the user maps
   * first, then the kernel's; the end's own level (`.` user, `k` kernel,
   * `H` when no map covers it: the last cpumode tried, a guest one, is
   * perf's hypervisor level); its address map-relative when mapped.
   * @param pid The sample's process.
   * @param ip The branch's source or target address.
   * @returns The end.
   */
  branchEnd(pid: number, ip: bigint): BranchEnd {
    for (const mode of [CpuMode.USER, CpuMode.KERNEL]) {
      const kernel = mode === CpuMode.KERNEL;
      const level = kernel ? "k" : ".";
      if (!this.#symbolize) {
        const map = this.#session.spaces.lookup(pid, ip, mode);
        if (map === undefined) continue;
        const addr = mapIp(map, ip);
        return { frame: this.#frame(kernel, map.dso, undefined, addr), level, addr, ip };
      }
      const r = this.#session.symbolizer.resolve(this.#session.spaces, pid, ip, mode);
      if (r.map === undefined) continue;
      const frame = r.sym === undefined
        ? this.#frame(kernel, r.dso, undefined, r.mapRelativeIp)
        : this.#frame(kernel, r.dso, r.sym, r.printedIp, false, r.objectOffset, r);
      return { frame, level, addr: r.mapRelativeIp, ip };
    }
    return { frame: this.#frame(false, undefined, undefined, ip), level: "H", addr: ip, ip };
  }

  /**
   * perf's `al` of a sample (`machine__resolve`): its ip in its own cpumode,
   * as the self entry of `perf report` prints it (map-relative when no symbol
   * covers it), for samples whose leaf frame came from another address.
   * @param pid The sample's process.
   * @param ip The sample's ip.
   * @param cpumode The sample's cpumode.
   * @returns The frame.
   */
  selfAt(pid: number, ip: bigint, cpumode: number): FrameRef {
    const kernel = cpumode === CpuMode.KERNEL || cpumode === CpuMode.GUEST_KERNEL;
    this.#rawIp = ip;
    this.#rawPid = pid;
    this.#rawMode = cpumode;
    if (!this.#symbolize) {
      const map = this.#session.spaces.lookup(pid, ip, cpumode);
      return this.#frame(kernel, map?.dso, undefined, ip);
    }
    const own = this.#own?.(ip);
    if (own !== undefined) return this.#frame(kernel, own.dso, own.sym, ip);
    const r = this.#session.symbolizer.resolve(this.#session.spaces, pid, ip, cpumode);
    if (r.map === undefined && this.#unmapped !== undefined) {
      const named = this.#unmapped(pid, ip, cpumode);
      if (named !== undefined) return this.#frame(kernel, named.dso, named.sym, ip);
    }
    if (r.map !== undefined && r.sym === undefined && (!kernel || r.map.kind === "module")) {
      return this.#frame(kernel, r.dso, undefined, r.mapRelativeIp);
    }
    return this.#frame(
      kernel,
      r.map ? r.dso : undefined,
      r.sym,
      r.printedIp,
      false,
      undefined,
      r,
    );
  }

  #push(pid: number, cpumode: number, ip: bigint): void {
    if (this.#out.length === 0) this.#leafIp = ip;
    this.#rawIp = ip;
    this.#rawPid = pid;
    this.#rawMode = cpumode;
    const kernel = cpumode === CpuMode.KERNEL || cpumode === CpuMode.GUEST_KERNEL;
    if (!this.#symbolize) {
      const map = this.#session.spaces.lookup(pid, ip, cpumode);
      this.#hasMap.push(map !== undefined);
      this.#out.push(this.#frame(kernel, map?.dso, undefined, ip));
      return;
    }
    const own = this.#own?.(ip);
    if (own !== undefined) {
      this.#hasMap.push(true);
      this.#out.push(this.#frame(kernel, own.dso, own.sym, ip));
      return;
    }
    const r = this.#session.symbolizer.resolve(this.#session.spaces, pid, ip, cpumode);
    if (r.map === undefined && this.#unmapped !== undefined) {
      const named = this.#unmapped(pid, ip, cpumode);
      if (named !== undefined) {
        this.#hasMap.push(true);
        this.#out.push(this.#frame(kernel, named.dso, named.sym, ip));
        return;
      }
    }
    this.#hasMap.push(r.map !== undefined);
    if (r.map !== undefined && r.sym === undefined && (!kernel || r.map.kind === "module")) {
      // perf report: an unresolved callchain node is keyed by its absolute address, while the
      // sample's own entry uses the map-relative one (he->ip = al->addr; module-relative for a
      // kernel module, the identity for the kernel itself)
      const node = this.#frame(kernel, r.dso, undefined, r.callchainIp);
      if (this.#out.length === 0) {
        this.#leafNode = node;
        this.#leafSelf = this.#frame(kernel, r.dso, undefined, r.mapRelativeIp);
      }
      this.#out.push(node);
      return;
    }
    this.#out.push(
      this.#frame(
        kernel,
        r.map ? r.dso : undefined,
        r.sym,
        r.printedIp,
        false,
        r.objectOffset,
        r,
      ),
    );
  }

  /** The runtime range of the map the entry being pushed fell in. */
  #rawMap(): MapRange | undefined {
    const m = this.#session.spaces.lookup(this.#rawPid, this.#rawIp, this.#rawMode);
    return m && { start: m.start, end: m.end, pgoff: m.pgoff, filename: m.filename };
  }

  #frame(
    kernel: boolean,
    dso: string | undefined,
    sym: string | undefined,
    ip: bigint,
    inlined = false,
    objectOffset?: bigint,
    symbol?: Resolution,
  ): FrameRef {
    const level = kernel ? 1 : 0;
    const object = dso ?? "";
    if (sym === undefined) {
      // (most addresses are below 2^53: found without hashing a BigInt)
      const table = this.#unresolvedFrames;
      let f = table.get(object, level, ip);
      let byIp: Map<bigint, FrameRef> | undefined;
      if (f === null) {
        const byDso = this.#unresolved[level];
        byIp = byDso.get(object);
        if (byIp === undefined) byDso.set(object, byIp = new Map());
        f = byIp.get(ip);
      }
      if (f === undefined) {
        // per address: the mapping of a runtime address (not of a map-relative self frame)
        const map = this.#perAddress && ip === this.#rawIp ? this.#rawMap() : undefined;
        // (object literals without a spread: one shape, made without a runtime call)
        f = tagFrame(
          map !== undefined
            ? inlined ? { sym, dso, ip, kernel, inlined, map } : { sym, dso, ip, kernel, map }
            : inlined
            ? { sym, dso, ip, kernel, inlined }
            : { sym, dso, ip, kernel },
          this.#tagSource,
        );
        if (byIp !== undefined) byIp.set(ip, f);
        else table.add(f);
      }
      return f!;
    }
    const byDso = this.#frames[level * 2 + (inlined ? 1 : 0)];
    let bySym = byDso.get(object);
    if (bySym === undefined) byDso.set(object, bySym = new Map());
    if (this.#perAddress) {
      // pprof: the frame at its runtime address, as recorded
      const raw = this.#rawIp;
      const key = sym + "\u0000" + raw.toString(16);
      let f = bySym.get(key);
      if (f === undefined) {
        const map = this.#rawMap();
        f = tagFrame(
          inlined
            ? { sym, dso, ip: raw, kernel, inlined, map }
            : { sym, dso, ip: raw, kernel, map },
          this.#tagSource,
        );
        bySym.set(key, f);
      }
      return f;
    }
    // two symbols of one name (C++ overloads, printed without their parameters) are two
    // frames, as perf's _sort__sym_cmp and match_chain compare symbol starts
    const start = symbol === undefined ? undefined : symStart(symbol);
    const key = start === undefined ? sym : sym + "\u0000" + start.toString(16);
    let f = bySym.get(key);
    if (f === undefined) {
      const size = symbol?.symSize;
      const symEnd = start === undefined || size === undefined ? undefined : start + size;
      f = tagFrame(
        inlined
          ? start !== undefined
            ? { sym, dso, ip, kernel, inlined, symStart: start, symEnd }
            : { sym, dso, ip, kernel, inlined }
          : objectOffset !== undefined
          ? { sym, dso, ip, kernel, objectOffset, symStart: start, symEnd }
          : start !== undefined
          ? { sym, dso, ip, kernel, symStart: start, symEnd }
          : { sym, dso, ip, kernel },
        this.#tagSource,
      );
      bySym.set(key, f);
    }
    return f;
  }
}

/** One end of a branch ({@linkcode ChainResolver.branchEnd}). */
export interface BranchEnd {
  /** Its frame: object and symbol, or the address without a symbol. */
  readonly frame: FrameRef;
  /** perf's `al_level`: `.` user, `k` kernel, `H` no map. */
  readonly level: "." | "k" | "H";
  /** perf's `al_addr`: map-relative when a map covers it, else the address. */
  readonly addr: bigint;
  /** The address as recorded (perf's `addr`, which orders unresolved ends). */
  readonly ip: bigint;
}

/** A branch-stack entry as perf's default branch view keys it. */
export interface BranchPair {
  /** The branch's source. */
  readonly from: BranchEnd;
  /** The branch's target. */
  readonly to: BranchEnd;
  /** The entry's cycle count (`branch_flags.cycles`, 0 when not recorded). */
  readonly cycles: number;
}

/** A resolved symbol's start (map-relative, as perf's `sym->start`); undefined when unresolved. */
function symStart(r: Resolution): bigint | undefined {
  return r.sym === undefined ? undefined : r.mapRelativeIp - r.symoff;
}

function toBig(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
