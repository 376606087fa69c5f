/**
 * The caches that make symbolization cost per distinct callchain, not per
 * sample: {@linkcode ChainCache} holds resolved frame-pointer callchains by
 * their raw words, pid, cpumode and event; {@linkcode AddressCache} holds
 * resolved frames by (pid, cpumode, address), kernel addresses shared by all
 * processes. A process's MMAP / FORK invalidates only its own entries.
 *
 * @module
 */

import { type PerfEventAttr } from "../abi/mod.ts";
import { type FrameRef, type SampleContext } from "./profile.ts";

/** A resolved callchain: frames (leaf-first) and whether it was cut. */
export interface ResolvedChain {
  frames: readonly FrameRef[];
  truncated: boolean;
  /** The context told from the frames (set on cached chains). */
  context?: SampleContext;
  /**
   * Cached chains: a number for their (frozen, shared) frames, unique per
   * resolver, for {@linkcode ProfileBuilder.add}'s `framesKey`.
   */
  key?: number;
  /**
   * DWARF samples whose leaf was expanded into inline frames: the symbol perf
   * charges the self time to (that of the sampled address itself), when it
   * is not the leaf frame.
   */
  self?: FrameRef;
  /**
   * The address the leaf frame was resolved from (the first callchain entry,
   * or the first unwound user frame). Where it is not the sample's ip (a
   * precise event's, `cycles:P`), perf's self entry is the sample ip's.
   * Its low and high u32 halves (numbers: compared without a BigInt per sample).
   */
  leafLo?: number;
  /** See {@linkcode ResolvedChain.leafLo}. */
  leafHi?: number;
  /** The same address as a bigint. */
  leafIp?: bigint;
}

/** Most distinct callchains kept before the cache starts over. */
const CHAIN_CACHE_LIMIT = 1 << 17;
/** Most callchain words kept before the cache starts over (16 MiB). */
const CHAIN_WORDS_LIMIT = 1 << 22;

/** Fields per entry in {@linkcode ChainCache}'s `#meta`. */
const META = 8;
const M_HASH = 0, M_PID = 1, M_MODE = 2, M_ATTR = 3, M_LEN = 4, M_START = 5, M_GEN = 6;

/**
 * Resolved frame-pointer callchains by their raw words, pid, cpumode and
 * event. An entry stays valid while its process's maps are as they were (a
 * generation per process); machine-wide changes clear the cache. Struct of
 * arrays: an open-addressing table of entry numbers, entry fields in one
 * Int32Array, the words of all chains in one pool, so a lookup touches few
 * cache lines and allocates nothing.
 */
export class ChainCache {
  /** Entry number + 1 per slot (0: empty). */
  #table = new Int32Array(8192);
  #mask = 8191;
  #meta = new Int32Array(4096 * META);
  #pool = new Uint32Array(1 << 15);
  #poolUsed = 0;
  #chains: ResolvedChain[] = [];
  /** Map generation per process: bumped when its maps change. */
  readonly #generations = new Map<number, number>();
  readonly #attrIds = new Map<PerfEventAttr, number>();
  #lastAttr: PerfEventAttr | undefined;
  #lastAttrId = -1;

  /** Hash of a chain's words (`u32[base, base + len)`), pid and cpumode. */
  static hash(u32: Uint32Array, base: number, len: number, pid: number, mode: number): number {
    let h = Math.imul(pid ^ 0x5bd1e995, 0x01000193) ^ mode;
    for (let i = base; i < base + len; i++) {
      h = Math.imul(h ^ u32[i], 0x01000193);
      h ^= h >>> 13;
    }
    return h;
  }

  #attrId(attr: PerfEventAttr): number {
    if (attr === this.#lastAttr) return this.#lastAttrId;
    let id = this.#attrIds.get(attr);
    if (id === undefined) this.#attrIds.set(attr, id = this.#attrIds.size);
    this.#lastAttr = attr;
    this.#lastAttrId = id;
    return id;
  }

  /** The slot of the entry for these words (valid or stale), or the empty slot for them. */
  #slot(
    hash: number,
    u32: Uint32Array,
    base: number,
    len: number,
    pid: number,
    mode: number,
    attrId: number,
  ): number {
    const table = this.#table;
    const meta = this.#meta;
    const pool = this.#pool;
    const mask = this.#mask;
    for (let s = (hash ^ (hash >>> 16)) & mask;; s = (s + 1) & mask) {
      const n = table[s];
      if (n === 0) return s;
      const m = (n - 1) * META;
      if (
        meta[m + M_HASH] !== hash || meta[m + M_LEN] !== len || meta[m + M_PID] !== pid ||
        meta[m + M_MODE] !== mode || meta[m + M_ATTR] !== attrId
      ) continue;
      const start = meta[m + M_START];
      let i = 0;
      while (i < len && pool[start + i] === u32[base + i]) i++;
      if (i === len) return s;
    }
  }

  /** The chain cached for the words `u32[base, base + len)`, if still valid. */
  get(
    hash: number,
    u32: Uint32Array,
    base: number,
    len: number,
    pid: number,
    mode: number,
    attr: PerfEventAttr,
  ): ResolvedChain | undefined {
    const n = this.#table[this.#slot(hash, u32, base, len, pid | 0, mode, this.#attrId(attr))];
    if (n === 0) return undefined;
    if (this.#meta[(n - 1) * META + M_GEN] !== (this.#generations.get(pid) ?? 0)) return undefined;
    return this.#chains[n - 1];
  }

  /** Cache a resolved chain (the words are copied; a stale entry for them is updated). */
  set(
    hash: number,
    u32: Uint32Array,
    base: number,
    len: number,
    pid: number,
    mode: number,
    attr: PerfEventAttr,
    chain: ResolvedChain,
  ): void {
    const generation = this.#generations.get(pid) ?? 0;
    const attrId = this.#attrId(attr);
    let slot = this.#slot(hash, u32, base, len, pid | 0, mode, attrId);
    const known = this.#table[slot];
    if (known !== 0) {
      this.#meta[(known - 1) * META + M_GEN] = generation;
      this.#chains[known - 1] = chain;
      return;
    }
    const count = this.#chains.length;
    if (count >= CHAIN_CACHE_LIMIT || this.#poolUsed + len > CHAIN_WORDS_LIMIT) {
      this.clear();
      slot = this.#slot(hash, u32, base, len, pid | 0, mode, attrId);
    }
    const n = this.#chains.length;
    if ((n + 1) * META > this.#meta.length) {
      const meta = new Int32Array(this.#meta.length * 2);
      meta.set(this.#meta);
      this.#meta = meta;
    }
    if (this.#poolUsed + len > this.#pool.length) {
      const pool = new Uint32Array(Math.max(this.#pool.length * 2, this.#poolUsed + len));
      pool.set(this.#pool.subarray(0, this.#poolUsed));
      this.#pool = pool;
    }
    const start = this.#poolUsed;
    this.#pool.set(u32.subarray(base, base + len), start);
    this.#poolUsed += len;
    const m = n * META;
    const meta = this.#meta;
    meta[m + M_HASH] = hash;
    meta[m + M_PID] = pid | 0;
    meta[m + M_MODE] = mode;
    meta[m + M_ATTR] = attrId;
    meta[m + M_LEN] = len;
    meta[m + M_START] = start;
    meta[m + M_GEN] = generation;
    this.#chains.push(chain);
    this.#table[slot] = n + 1;
    if ((n + 1) * 2 > this.#mask) this.#grow();
  }

  /** The maps of one process changed: its chains resolve anew. */
  invalidateProcess(pid: number): void {
    this.#generations.set(pid, (this.#generations.get(pid) ?? 0) + 1);
  }

  /** Forget everything. */
  clear(): void {
    if (this.#chains.length === 0) return;
    this.#table.fill(0);
    this.#chains = [];
    this.#poolUsed = 0;
  }

  #grow(): void {
    const len = this.#table.length * 2;
    const table = new Int32Array(len);
    const mask = len - 1;
    const meta = this.#meta;
    for (let n = 0; n < this.#chains.length; n++) {
      const hash = meta[n * META + M_HASH];
      let s = (hash ^ (hash >>> 16)) & mask;
      while (table[s] !== 0) s = (s + 1) & mask;
      table[s] = n + 1;
    }
    this.#table = table;
    this.#mask = mask;
  }
}

/** The {@linkcode AddressCache} "pid" of addresses outside any process's maps (kernel). */
export const SHARED_SPACE = -0x8000_0000;

/** Most resolved addresses kept before the address cache starts over. */
const ADDRESS_CACHE_LIMIT = 1 << 20;

/**
 * Resolved callchain entries by (pid, cpumode, address), for chains not in
 * the {@linkcode ChainCache} yet: open addressing over int32 keys, frames
 * in a parallel array. An entry stays valid while its process's map
 * generation is unchanged. Call {@linkcode find}, and after a miss
 * {@linkcode add} for the same address.
 */
export class AddressCache {
  /** Entry number + 1 per slot (0: empty). */
  #table = new Int32Array(16384);
  #mask = 16383;
  /** Per entry: pid, generation * 8 + cpumode, high word, low word. */
  #keys = new Int32Array(4 * 8192);
  #frames: FrameRef[] = [];
  #hasMap: boolean[] = [];
  readonly #generations = new Map<number, number>();
  #missSlot = -1;
  #missKey = [0, 0, 0, 0];

  /** The entry for the address: its number, or -1 (then {@linkcode add} may follow). */
  find(pid: number, mode: number, hi: number, lo: number): number {
    const p = pid | 0;
    const g = (this.#generations.get(pid) ?? 0) * 8 + mode;
    const h0 = lo | 0;
    const h1 = hi | 0;
    let h = Math.imul(h0, 0x9e3779b1) ^ Math.imul(h1 ^ p, 0x85ebca6b) ^ g;
    h ^= h >>> 15;
    const table = this.#table;
    const keys = this.#keys;
    const mask = this.#mask;
    for (let s = h & mask;; s = (s + 1) & mask) {
      const n = table[s];
      if (n === 0) {
        this.#missSlot = s;
        const k = this.#missKey;
        k[0] = p;
        k[1] = g;
        k[2] = h1;
        k[3] = h0;
        return -1;
      }
      const k = (n - 1) * 4;
      if (keys[k + 3] === h0 && keys[k + 2] === h1 && keys[k] === p && keys[k + 1] === g) {
        return n - 1;
      }
    }
  }

  /** The frame of entry `n`. */
  frame(n: number): FrameRef {
    return this.#frames[n];
  }

  /** Whether entry `n`'s address had a map. */
  hasMap(n: number): boolean {
    return this.#hasMap[n];
  }

  /** Cache what the address {@linkcode find} just missed resolved to. */
  add(frame: FrameRef, hasMap: boolean): void {
    if (this.#missSlot < 0) return;
    const n = this.#frames.length;
    if (n >= ADDRESS_CACHE_LIMIT) {
      this.clear();
      return;
    }
    const k = n * 4;
    if (k + 4 > this.#keys.length) {
      const keys = new Int32Array(this.#keys.length * 2);
      keys.set(this.#keys);
      this.#keys = keys;
    }
    this.#keys.set(this.#missKey, k);
    this.#frames.push(frame);
    this.#hasMap.push(hasMap);
    this.#table[this.#missSlot] = n + 1;
    this.#missSlot = -1;
    if ((n + 1) * 2 > this.#mask) this.#grow();
  }

  /** The maps of one process changed: its addresses resolve anew. */
  invalidateProcess(pid: number): void {
    this.#generations.set(pid, (this.#generations.get(pid) ?? 0) + 1);
    this.#missSlot = -1;
  }

  /** Forget everything. */
  clear(): void {
    this.#missSlot = -1;
    if (this.#frames.length === 0) return;
    this.#table.fill(0);
    this.#frames = [];
    this.#hasMap = [];
  }

  #grow(): void {
    const len = this.#table.length * 2;
    const table = new Int32Array(len);
    const mask = len - 1;
    const keys = this.#keys;
    for (let n = 0; n < this.#frames.length; n++) {
      const k = n * 4;
      let h = Math.imul(keys[k + 3], 0x9e3779b1) ^ Math.imul(keys[k + 2] ^ keys[k], 0x85ebca6b) ^
        keys[k + 1];
      h ^= h >>> 15;
      let s = h & mask;
      while (table[s] !== 0) s = (s + 1) & mask;
      table[s] = n + 1;
    }
    this.#table = table;
    this.#mask = mask;
  }
}

/**
 * Frames of unresolved addresses by (object, level, address), for the
 * resolver's one-object-per-frame rule: entries are never dropped (a frame
 * made again would be another frame). An open-addressing table of small
 * integers and u32 halves: no BigInt hashing per lookup. Addresses of 2^53
 * and above are not taken ({@linkcode UnresolvedFrames.get} says so).
 */
export class UnresolvedFrames {
  /** Per slot: owner (object id * 2 + level) + 1 (0: empty), address high and low halves. */
  #keys = new Int32Array(3 * 4096);
  #frames: (FrameRef | undefined)[] = new Array(4096).fill(undefined);
  #mask = 4095;
  #size = 0;
  readonly #objects = new Map<string, number>();
  #slot = -1;
  #owner = 0;
  #hi = 0;
  #lo = 0;

  /**
   * The frame for the address, or undefined (then {@linkcode UnresolvedFrames.add}
   * may follow); null when the address is not one this table takes (2^53 or above).
   * @param object The frame's object ("" for none).
   * @param level 1 for kernel frames, 0 for user frames.
   * @param ip The address.
   * @returns The frame, undefined, or null.
   */
  get(object: string, level: number, ip: bigint): FrameRef | undefined | null {
    if (ip >= 0x20000000000000n) return null;
    const n = Number(ip);
    const lo = n >>> 0, hi = (n - lo) / 0x100000000;
    let id = this.#objects.get(object);
    if (id === undefined) this.#objects.set(object, id = this.#objects.size);
    const owner = id * 2 + level + 1;
    const keys = this.#keys, mask = this.#mask;
    let s = UnresolvedFrames.#home(owner, hi, lo, mask);
    for (; keys[3 * s] !== 0; s = (s + 1) & mask) {
      if (keys[3 * s] === owner && keys[3 * s + 2] === (lo | 0) && keys[3 * s + 1] === hi) {
        return this.#frames[s];
      }
    }
    this.#slot = s;
    this.#owner = owner;
    this.#hi = hi;
    this.#lo = lo | 0;
    return undefined;
  }

  /** The first slot to probe for a key (`lo` as u32 or i32: the same bits). */
  static #home(owner: number, hi: number, lo: number, mask: number): number {
    return (Math.imul(lo ^ (lo >>> 16), 0x45d9f3b) ^ Math.imul(hi + owner, 0x119de1f3)) & mask;
  }

  /**
   * Keep the frame for the address {@linkcode UnresolvedFrames.get} just missed.
   * @param frame The frame.
   */
  add(frame: FrameRef): void {
    const s = this.#slot;
    if (s < 0) return;
    this.#slot = -1;
    this.#keys[3 * s] = this.#owner;
    this.#keys[3 * s + 1] = this.#hi;
    this.#keys[3 * s + 2] = this.#lo;
    this.#frames[s] = frame;
    if (++this.#size * 2 > this.#mask) this.#grow();
  }

  #grow(): void {
    const keys = this.#keys, frames = this.#frames;
    const len = (this.#mask + 1) * 2;
    this.#keys = new Int32Array(3 * len);
    this.#frames = new Array(len).fill(undefined);
    this.#mask = len - 1;
    for (let i = 0; i < frames.length; i++) {
      if (keys[3 * i] === 0) continue;
      const owner = keys[3 * i], hi = keys[3 * i + 1], lo = keys[3 * i + 2];
      let s = UnresolvedFrames.#home(owner, hi, lo, this.#mask);
      while (this.#keys[3 * s] !== 0) s = (s + 1) & this.#mask;
      this.#keys[3 * s] = owner;
      this.#keys[3 * s + 1] = hi;
      this.#keys[3 * s + 2] = lo;
      this.#frames[s] = frames[i];
    }
  }
}
