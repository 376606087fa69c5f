/**
 * Synthetic workload: processes and threads with named functions at kernel addresses
 * (0xffffffff81000000..), program text (0x400000..) and a shared library (0x7f0000000000..),
 * call stacks whose depths follow Ingo's histograms (seed L8677-8727: one machine 4-31 deep,
 * mean ~16.4; the other 2-18 deep, mean ~8.2), and the symbol table the analyzer uses.
 * @module
 */
import type { Prng } from "./prng.ts";
import { PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER } from "./sink.ts";

/** Start of simulated kernel text. */
export const KERNEL_BASE = 0xffffffff81000000n;
/** Start of simulated program text. */
export const USER_BASE = 0x400000n;
/** Start of the simulated shared library. */
export const LIB_BASE = 0x7f0000000000n;

/** One symbol: an address range and a name. */
export interface SymbolRange {
  /** First address. */
  readonly start: bigint;
  /** One past the last address. */
  readonly end: bigint;
  /** Function name. */
  readonly name: string;
  /** Kernel symbol? */
  readonly kernel: boolean;
  /** Object it lives in ("[kernel.kallsyms]", "app", "libc.so.6"). */
  readonly dso: string;
}

const KERNEL_FUNCS = [
  "entry_SYSCALL_64",
  "do_syscall_64",
  "__x64_sys_read",
  "ksys_read",
  "vfs_read",
  "new_sync_read",
  "ext4_file_read_iter",
  "generic_file_read_iter",
  "filemap_read",
  "filemap_get_pages",
  "copy_page_to_iter",
  "__x64_sys_write",
  "ksys_write",
  "vfs_write",
  "ext4_buffered_write_iter",
  "generic_perform_write",
  "schedule",
  "__schedule",
  "pick_next_task_fair",
  "try_to_wake_up",
  "net_rx_action",
  "napi_poll",
  "__netif_receive_skb",
  "ip_rcv",
  "tcp_v4_rcv",
  "tcp_recvmsg",
  "do_page_fault",
  "handle_mm_fault",
  "__handle_mm_fault",
  "do_anonymous_page",
  "alloc_pages",
  "get_page_from_freelist",
  "kmem_cache_alloc",
  "__kmalloc",
  "memcpy",
  "memset",
  "_raw_spin_lock",
  "mutex_lock",
];
/**
 * Root-side kernel frames of a stack interrupted in softirq / hardirq context, leaf first: the
 * interrupt entry the context runs on. Kept out of the random pool, so a stack holds them only
 * when its context says so and the analyzer can tell the context from the symbols.
 */
const CONTEXT_FRAMES: readonly (readonly string[])[] = [
  [],
  [
    "__do_softirq",
    "irq_exit_rcu",
    "sysvec_apic_timer_interrupt",
    "asm_sysvec_apic_timer_interrupt",
  ],
  ["__handle_irq_event_percpu", "handle_irq_event", "handle_edge_irq", "common_interrupt"],
];
const USER_FUNCS = [
  "main",
  "run_server",
  "event_loop",
  "handle_request",
  "parse_headers",
  "route",
  "render",
  "json_encode",
  "json_decode",
  "hash_insert",
  "hash_lookup",
  "compress_block",
  "crc32_update",
  "sort_records",
  "merge_runs",
  "read_config",
  "log_line",
  "format_number",
  "worker_thread",
  "task_run",
  "queue_pop",
  "queue_push",
  "db_query",
  "db_fetch_row",
  "btree_search",
];
const LIB_FUNCS = [
  "malloc",
  "free",
  "memcpy",
  "memmove",
  "strlen",
  "read",
  "write",
  "pthread_mutex_lock",
  "pthread_cond_wait",
  "__libc_start_main",
  "qsort",
  "printf",
];

/** Sorted symbol table with binary-search lookup. */
export class SymbolTable {
  /** All ranges, sorted by start. */
  readonly ranges: readonly SymbolRange[];

  /**
   * Sort the ranges for lookup.
   * @param ranges symbol ranges (any order)
   */
  constructor(ranges: readonly SymbolRange[]) {
    this.ranges = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  /**
   * Find the symbol containing an address.
   * @param ip address
   * @returns the range, or undefined
   */
  lookup(ip: bigint): SymbolRange | undefined {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid];
      if (ip < r.start) hi = mid - 1;
      else if (ip >= r.end) lo = mid + 1;
      else return r;
    }
    return undefined;
  }
}

/** The simulated program image: function addresses and the symbol table. */
export class Image {
  /** Kernel function entry points. */
  readonly kernel: bigint[] = [];
  /** Entry points of the softirq / hardirq entry frames, by context (see CONTEXT_FRAMES). */
  readonly contextEntry: (readonly bigint[])[] = [];
  /** User function entry points (program text, then the shared library). */
  readonly user: bigint[] = [];
  /** Symbol table covering both. */
  readonly symbols: SymbolTable;
  /**
   * Every frame value a stack can hold (function + call site, markers), interned: stacks are
   * drawn as ids, so no BigInt arithmetic runs per frame. `frames[id]` is the address,
   * `frameLo[id]` / `frameHi[id]` its u32 halves (what a ring writer copies).
   */
  readonly frames: bigint[] = [];
  /** Low u32 half of each interned frame. */
  frameLo: Uint32Array = new Uint32Array(0);
  /** High u32 half of each interned frame. */
  frameHi: Uint32Array = new Uint32Array(0);
  /** Frame ids: kernel function i at call site j is `kernelSite[i * 60 + j]`. */
  readonly kernelSite: number[] = [];
  /** Frame ids: user function i at call site j is `userSite[i * 30 + j]`. */
  readonly userSite: number[] = [];
  /** Frame ids of the context entry frames (entry + 0x10), by context. */
  readonly contextEntryIds: (readonly number[])[] = [];
  /** Frame id of PERF_CONTEXT_KERNEL. */
  readonly kernelMarker: number;
  /** Frame id of PERF_CONTEXT_USER. */
  readonly userMarker: number;
  readonly #ids = new Map<bigint, number>();

  /**
   * The id of a frame value, interning it when new.
   * @param value the address (or marker)
   * @returns its id
   */
  frameId(value: bigint): number {
    let id = this.#ids.get(value);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(value);
      this.#ids.set(value, id);
      if (id >= this.frameLo.length) {
        const lo = new Uint32Array(Math.max(1024, 2 * this.frameLo.length));
        const hi = new Uint32Array(lo.length);
        lo.set(this.frameLo);
        hi.set(this.frameHi);
        this.frameLo = lo;
        this.frameHi = hi;
      }
      this.frameLo[id] = Number(value & 0xffffffffn);
      this.frameHi[id] = Number(value >> 32n);
    }
    return id;
  }

  constructor() {
    const r: SymbolRange[] = [];
    KERNEL_FUNCS.forEach((name, i) => {
      const start = KERNEL_BASE + BigInt(i) * 0x400n;
      this.kernel.push(start);
      r.push({ start, end: start + 0x400n, name, kernel: true, dso: "[kernel.kallsyms]" });
    });
    let k = KERNEL_FUNCS.length;
    for (const names of CONTEXT_FRAMES) {
      const entry: bigint[] = [];
      for (const name of names) {
        const start = KERNEL_BASE + BigInt(k++) * 0x400n;
        entry.push(start);
        r.push({ start, end: start + 0x400n, name, kernel: true, dso: "[kernel.kallsyms]" });
      }
      this.contextEntry.push(entry);
    }
    USER_FUNCS.forEach((name, i) => {
      const start = USER_BASE + BigInt(i) * 0x100n;
      this.user.push(start);
      r.push({ start, end: start + 0x100n, name, kernel: false, dso: "app" });
    });
    LIB_FUNCS.forEach((name, i) => {
      const start = LIB_BASE + BigInt(i) * 0x200n;
      this.user.push(start);
      r.push({ start, end: start + 0x200n, name, kernel: false, dso: "libc.so.6" });
    });
    this.symbols = new SymbolTable(r);
    this.kernelMarker = this.frameId(PERF_CONTEXT_KERNEL);
    this.userMarker = this.frameId(PERF_CONTEXT_USER);
    for (const f of this.kernel) {
      for (const off of SITE_OFFSETS) this.kernelSite.push(this.frameId(f + off));
    }
    for (const f of this.user) {
      for (let j = 0; j < 30; j++) this.userSite.push(this.frameId(f + SITE_OFFSETS[j]));
    }
    for (const entry of this.contextEntry) {
      this.contextEntryIds.push(entry.map((e) => this.frameId(e + 0x10n)));
    }
  }
}

/**
 * Kernel part depth: 2..18, mean ~8.2 (Ingo's second histogram, L8677-8727).
 * @param r PRNG
 * @returns depth
 */
export function kernelDepth(r: Prng): number {
  return 2 + KERNEL_DEPTH.draw(r);
}

/**
 * User part depth: 4..31, mean ~16.4 (Ingo's first histogram, L8677-8727).
 * @param r PRNG
 * @returns depth
 */
export function userDepth(r: Prng): number {
  return 4 + USER_DEPTH.draw(r);
}

/** Binomial(n, p) drawn by inverting its CDF: one PRNG draw instead of n. */
class Binomial {
  readonly #cdf: Float64Array;

  constructor(n: number, p: number) {
    this.#cdf = new Float64Array(n + 1);
    let pk = (1 - p) ** n;
    let sum = 0;
    for (let k = 0; k <= n; k++) {
      sum += pk;
      this.#cdf[k] = sum;
      pk *= ((n - k) / (k + 1)) * (p / (1 - p));
    }
    this.#cdf[n] = 1;
  }

  draw(r: Prng): number {
    const u = r.float();
    const cdf = this.#cdf;
    let k = 0;
    while (u >= cdf[k]) k++;
    return k;
  }
}

/** Call-site offsets 4, 8, ..., 240 into a function, as bigints made once. */
const SITE_OFFSETS: readonly bigint[] = Array.from({ length: 60 }, (_, i) => BigInt(4 + 4 * i));

const KERNEL_DEPTH = new Binomial(16, (8.2 - 2) / 16);
const USER_DEPTH = new Binomial(27, (16.4 - 4) / 27);

/**
 * One drawn call stack, immutable: interned frame ids (see {@link Image.frames}), with the
 * BigInt callchain built only when asked for. The simulator hands these around instead of
 * BigInt arrays, so the hot path does no BigInt work at all.
 */
export class SimStack {
  #chain: bigint[] | undefined;

  /**
   * @param img the image the ids belong to
   * @param kernelIds kernel frame ids, leaf first
   * @param userIds user frame ids, leaf first
   */
  constructor(
    readonly img: Image,
    readonly kernelIds: readonly number[],
    readonly userIds: readonly number[],
  ) {}

  /** Entries of the callchain, markers included. */
  get length(): number {
    return (this.kernelIds.length ? this.kernelIds.length + 1 : 0) + this.userIds.length + 1;
  }

  /**
   * The callchain in kernel order with PERF_CONTEXT markers (built once).
   * @returns the callchain
   */
  chain(): bigint[] {
    if (this.#chain) return this.#chain;
    const f = this.img.frames;
    const out: bigint[] = new Array(this.length);
    let p = 0;
    if (this.kernelIds.length) {
      out[p++] = PERF_CONTEXT_KERNEL;
      for (const id of this.kernelIds) out[p++] = f[id];
    }
    out[p++] = PERF_CONTEXT_USER;
    for (const id of this.userIds) out[p++] = f[id];
    this.#chain = out;
    return out;
  }

  /**
   * Write the callchain as u32 pairs (low, high) into `out`: no BigInt arithmetic, no allocation.
   * @param out destination, at least `2 * length` words
   * @returns entries written
   */
  fillWords(out: Uint32Array): number {
    const img = this.img;
    const lo = img.frameLo;
    const hi = img.frameHi;
    const k = this.kernelIds;
    const u = this.userIds;
    let p = 0;
    if (k.length) {
      out[p++] = lo[img.kernelMarker];
      out[p++] = hi[img.kernelMarker];
      for (let i = 0; i < k.length; i++) {
        out[p++] = lo[k[i]];
        out[p++] = hi[k[i]];
      }
    }
    out[p++] = lo[img.userMarker];
    out[p++] = hi[img.userMarker];
    for (let i = 0; i < u.length; i++) {
      out[p++] = lo[u[i]];
      out[p++] = hi[u[i]];
    }
    return p >> 1;
  }
}

const EMPTY_IDS: readonly number[] = Object.freeze([]);

/** A simulated thread and its current call stack. */
export class SimThread {
  /** Context level the thread is sampled in: 0 task, 1 softirq, 2 hardirq. */
  context = 0;
  /** The current call stack (replaced, never mutated, by {@link SimThread.reshape}). */
  stack: SimStack | undefined;

  /**
   * A thread with an empty stack (call {@link SimThread.reshape}).
   * @param pid process id
   * @param tid thread id
   * @param comm name
   * @param mm address-space id
   */
  constructor(
    readonly pid: number,
    readonly tid: number,
    readonly comm: string,
    public mm: number,
  ) {}

  /** Kernel frames, leaf first (empty when running in user mode). */
  get kernel(): bigint[] {
    return (this.stack?.kernelIds ?? EMPTY_IDS).map((id) => this.stack!.img.frames[id]);
  }

  /** User frames, leaf first. */
  get user(): bigint[] {
    return (this.stack?.userIds ?? EMPTY_IDS).map((id) => this.stack!.img.frames[id]);
  }

  /**
   * Draw a fresh call stack.
   * @param r PRNG
   * @param img program image
   * @param pDeep chance of a deep recursion (256-1279 user frames, beyond the kernel's 255-entry
   *   callchain buffer); 0 draws nothing extra from the PRNG
   */
  reshape(r: Prng, img: Image, pDeep = 0): void {
    const inKernel = r.float() < 0.6;
    const kd = inKernel ? kernelDepth(r) : 0;
    let ud = userDepth(r);
    const deep = pDeep > 0 && r.float() < pDeep;
    if (deep) ud = 256 + r.int(1024);
    const kernel = new Array<number>(kd);
    // one draw per frame: the function from the high bits, the call site from the low byte
    const nk = img.kernel.length;
    for (let i = 0; i < kd; i++) {
      const x = r.next();
      kernel[i] = img.kernelSite[((x >>> 8) % nk) * 60 + (x & 0xff) % 60];
    }
    const user = new Array<number>(ud);
    const nu = img.user.length;
    if (deep) {
      // a recursive descent: one function calling itself from one call site
      const fn = img.userSite[r.int(nu) * 30 + r.int(30)];
      for (let i = 0; i < ud; i++) user[i] = fn;
    } else {
      for (let i = 0; i < ud; i++) {
        const x = r.next();
        user[i] = img.userSite[((x >>> 8) % nu) * 30 + (x & 0xff) % 30];
      }
    }
    const c = r.float();
    this.context = !inKernel ? 0 : c < 0.8 ? 0 : c < 0.93 ? 1 : 2;
    // interrupted in softirq / hardirq: the root-most frames are the interrupt entry (innermost
    // first), replacing drawn frames so the depth keeps Ingo's histogram
    const entry = img.contextEntryIds[this.context];
    const n = Math.min(entry.length, kd - 1);
    for (let i = 0; i < n; i++) kernel[kd - n + i] = entry[i];
    this.stack = new SimStack(img, kernel, user);
  }

  /**
   * The true callchain in kernel order with markers (built once per stack).
   * @returns the callchain
   */
  chain(): bigint[] {
    return this.stack!.chain();
  }

  /**
   * Write {@link SimThread.chain} as u32 pairs (low, high) into `out`.
   * @param out destination, at least `2 * chain().length` words
   * @returns entries written
   */
  fillWords(out: Uint32Array): number {
    return this.stack!.fillWords(out);
  }
}
