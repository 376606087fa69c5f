/**
 * The simulated machine's programs: three programs with real call structure (a server loop `httpd`,
 * the compressor `xz` on liblzma, the database `postgres`), their system calls entering the kernel through the real x86-64 entry
 * paths (`entry_SYSCALL_64` -> `do_syscall_64` -> `__x64_sys_*`), user page faults through
 * `asm_exc_page_fault`, and softirq / hardirq interrupts through `asm_sysvec_apic_timer_interrupt`
 * / `asm_common_interrupt`, so a flamegraph of a simulated run reads like one of a real machine.
 *
 * Whole-chain lengths (`nr`, context markers included, what `perf report -D` prints as
 * `chain: nr:`) follow one of Ingo Molnar's two histograms, quoted count by count from seed
 * L8677-8727 ("aldebaran": 739 chains, 4-31 entries, mean 16.4, peaks at 15 and 23; "phoenix":
 * 1953 chains, 2-18 entries, mean 8.2). A draw picks the length first, then a kernel path and
 * its depth, then a user path of exactly the remaining depth through the program's call graph
 * (recursive functions make any depth reachable), so the histogram is matched exactly.
 *
 * Also the symbol table the analyzer uses (simulated captures carry it as CALLRING_SYMBOL
 * records).
 * @module
 */
import type { Prng } from "./prng.ts";
import { PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER } from "./sink.ts";

/** Start of simulated kernel text. */
export const KERNEL_BASE = 0xffffffff81000000n;
/** Start of the first simulated program's text (each program gets its own 1 MiB). */
export const USER_BASE = 0x400000n;
/** Start of the simulated shared library. */
export const LIB_BASE = 0x7f0000000000n;

/** One symbol: an address range and a name. */
export interface SimSymbolRange {
  /** First address. */
  readonly start: bigint;
  /** One past the last address. */
  readonly end: bigint;
  /** Function name. */
  readonly name: string;
  /** Kernel symbol? */
  readonly kernel: boolean;
  /** Object it lives in ("[kernel.kallsyms]", "httpd", "libc.so.6"). */
  readonly dso: string;
}

/** Ingo's two whole-chain length histograms (seed L8677-8727): [nr, count] pairs. */
export const DEPTH_PRESETS = {
  /** "aldebaran": 739 chains, nr 4-31, mean 16.4, peaks at 15 and 23. */
  aldebaran: [
    [4, 2],
    [6, 21],
    [8, 23],
    [9, 13],
    [10, 20],
    [11, 29],
    [12, 21],
    [13, 25],
    [14, 54],
    [15, 112],
    [16, 72],
    [17, 77],
    [18, 35],
    [19, 38],
    [20, 48],
    [21, 29],
    [22, 10],
    [23, 97],
    [24, 3],
    [25, 1],
    [26, 2],
    [28, 2],
    [29, 2],
    [30, 1],
    [31, 2],
  ],
  /** "phoenix": 1953 chains, nr 2-18, mean 8.2, peak at 7. */
  phoenix: [
    [2, 1],
    [3, 70],
    [4, 222],
    [5, 112],
    [6, 116],
    [7, 329],
    [8, 241],
    [9, 163],
    [10, 203],
    [11, 287],
    [12, 159],
    [13, 4],
    [14, 6],
    [15, 22],
    [16, 2],
    [17, 11],
    [18, 5],
  ],
} as const satisfies Record<string, readonly (readonly [number, number])[]>;

/** Name of a {@link DEPTH_PRESETS} histogram. */
export type DepthPreset = keyof typeof DEPTH_PRESETS;

/** Sampler for one whole-chain length histogram (one PRNG draw per sample). */
export class ChainLength {
  readonly #values: Int32Array;
  readonly #cdf: Float64Array;

  /**
   * @param histogram [nr, count] pairs
   */
  constructor(histogram: readonly (readonly [number, number])[]) {
    const total = histogram.reduce((a, [, c]) => a + c, 0);
    this.#values = Int32Array.from(histogram, ([v]) => v);
    this.#cdf = new Float64Array(histogram.length);
    let sum = 0;
    histogram.forEach(([, c], i) => this.#cdf[i] = (sum += c) / total);
    this.#cdf[histogram.length - 1] = 1;
  }

  /**
   * Draw a chain length.
   * @param r PRNG
   * @returns nr, context markers included
   */
  draw(r: Prng): number {
    const u = r.float();
    let i = 0;
    while (u >= this.#cdf[i]) i++;
    return this.#values[i];
  }

  /**
   * Mean of the histogram.
   * @param histogram [nr, count] pairs
   * @returns the mean nr
   */
  static mean(histogram: readonly (readonly [number, number])[]): number {
    let n = 0, s = 0;
    for (const [v, c] of histogram) {
      n += c;
      s += v * c;
    }
    return s / n;
  }
}

/** How a kernel path is entered from user space. */
type Entry = "syscall" | "fault" | "irq";

/** A kernel call path, root first (the entry code first). */
interface KernelPath {
  readonly entry: Entry;
  readonly frames: readonly string[];
}

const SYS = ["entry_SYSCALL_64", "do_syscall_64"];

/** Kernel paths by name (syscalls the programs make, the user fault path, interrupts). */
const KERNEL_PATHS: Readonly<Record<string, KernelPath>> = {
  recv: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_recvfrom",
      "__sys_recvfrom",
      "sock_recvmsg",
      "inet_recvmsg",
      "tcp_recvmsg",
      "tcp_recvmsg_locked",
      "skb_copy_datagram_iter",
      "__skb_datagram_iter",
      "_copy_to_iter",
      "copy_user_generic_string",
    ],
  },
  read: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_read",
      "ksys_read",
      "vfs_read",
      "ext4_file_read_iter",
      "generic_file_read_iter",
      "filemap_read",
      "filemap_get_pages",
      "page_cache_sync_ra",
      "ondemand_readahead",
      "copy_page_to_iter",
    ],
  },
  pread64: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_pread64",
      "vfs_read",
      "ext4_file_read_iter",
      "generic_file_read_iter",
      "filemap_read",
      "filemap_get_read_batch",
      "copy_page_to_iter",
      "copy_user_generic_string",
    ],
  },
  write: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_write",
      "ksys_write",
      "vfs_write",
      "ext4_buffered_write_iter",
      "generic_perform_write",
      "ext4_da_write_begin",
      "grab_cache_page_write_begin",
      "pagecache_get_page",
      "filemap_add_folio",
    ],
  },
  writev: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_writev",
      "do_writev",
      "vfs_writev",
      "sock_write_iter",
      "tcp_sendmsg",
      "tcp_sendmsg_locked",
      "tcp_push",
      "__tcp_push_pending_frames",
      "tcp_write_xmit",
      "__tcp_transmit_skb",
      "ip_queue_xmit",
      "ip_finish_output2",
      "__dev_queue_xmit",
    ],
  },
  epoll_wait: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_epoll_wait",
      "do_epoll_wait",
      "ep_poll",
      "schedule_hrtimeout_range",
      "schedule",
      "__schedule",
      "pick_next_task_fair",
    ],
  },
  futex: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_futex",
      "do_futex",
      "futex_wait",
      "futex_wait_queue",
      "schedule",
      "__schedule",
      "finish_task_switch",
    ],
  },
  fdatasync: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_fdatasync",
      "do_fsync",
      "ext4_sync_file",
      "jbd2_complete_transaction",
      "jbd2_log_wait_commit",
      "schedule",
      "__schedule",
    ],
  },
  openat: {
    entry: "syscall",
    frames: [
      ...SYS,
      "__x64_sys_openat",
      "do_sys_openat2",
      "do_filp_open",
      "path_openat",
      "link_path_walk",
      "walk_component",
      "lookup_fast",
    ],
  },
  fault: {
    entry: "fault",
    frames: [
      "asm_exc_page_fault",
      "exc_page_fault",
      "do_user_addr_fault",
      "handle_mm_fault",
      "__handle_mm_fault",
      "do_anonymous_page",
      "alloc_pages",
      "__alloc_pages",
      "get_page_from_freelist",
      "clear_page_erms",
    ],
  },
  softirq: {
    entry: "irq",
    frames: [
      "asm_common_interrupt",
      "common_interrupt",
      "irq_exit_rcu",
      "__do_softirq",
      "net_rx_action",
      "__napi_poll",
      "e1000_clean",
      "napi_gro_receive",
      "netif_receive_skb_list_internal",
      "__netif_receive_skb",
      "ip_rcv",
      "ip_local_deliver",
      "tcp_v4_rcv",
      "tcp_v4_do_rcv",
    ],
  },
  hardirq: {
    entry: "irq",
    frames: [
      "asm_sysvec_apic_timer_interrupt",
      "sysvec_apic_timer_interrupt",
      "__sysvec_apic_timer_interrupt",
      "hrtimer_interrupt",
      "__hrtimer_run_queues",
      "tick_sched_timer",
      "update_process_times",
      "scheduler_tick",
      "task_tick_fair",
    ],
  },
};

/** Longest kernel path. */
const MAX_KERNEL_PATH = Math.max(...Object.values(KERNEL_PATHS).map((p) => p.frames.length));

/** Kernel frames that enter softirq context (`preempt_count += SOFTIRQ_OFFSET`). */
const SOFTIRQ_ENTRY = new Set(["__do_softirq"]);
/** `preempt_count` bits of the interrupted context (include/linux/preempt.h). */
export const SOFTIRQ_OFFSET = 0x100;
/** `preempt_count` bits of hardirq context. */
export const HARDIRQ_OFFSET = 0x10000;

/** One function of a program's call graph (spec form). */
interface FnSpec {
  readonly name: string;
  /** Relative chance of calling this from its parent. */
  readonly w: number;
  readonly calls?: readonly FnSpec[];
  /** Calls itself (recursion makes any depth reachable). */
  readonly rec?: boolean;
  /** A libc system-call wrapper: its samples in the kernel enter through this path. */
  readonly sys?: string;
  /** Lives in libc.so.6, not the program. */
  readonly lib?: boolean;
}

const f = (name: string, w: number, calls?: FnSpec[], o: Partial<FnSpec> = {}): FnSpec => ({
  name,
  w,
  calls,
  ...o,
});
const libc = (name: string, w: number, sys?: string, calls?: FnSpec[]): FnSpec =>
  f(name, w, calls, { lib: true, sys });
const start = (main: FnSpec): FnSpec =>
  f("_start", 1, [libc("__libc_start_main", 1, undefined, [main])]);

const readFile = libc("read", 1, "read");
const writeFile = libc("write", 1, "write");
const malloc = libc("malloc", 1, undefined, [libc("_int_malloc", 1)]);
const memcpy = libc("memcpy", 1);

/** A simulated program: its name (the comm), its call graph and its kernel paths. */
export interface Program {
  /** Command name (`comm`) and DSO name. */
  readonly name: string;
  /** The call graph, `_start` first. */
  readonly root: FnSpec;
  /** Share of samples taken in the kernel, and how they split over fault / softirq / hardirq
   * (the rest are system calls, through the wrappers in the call graph). */
  readonly kernel: {
    readonly p: number;
    readonly fault: number;
    readonly softirq: number;
    readonly hardirq: number;
  };
}

/** The server: an event loop handling connections (epoll, recv, template rendering, writev). */
const HTTPD: Program = {
  name: "httpd",
  kernel: { p: 0.55, fault: 0.1, softirq: 0.12, hardirq: 0.06 },
  root: start(f("main", 1, [
    f("server_run", 1, [
      f("event_loop", 1, [
        libc("epoll_wait", 3, "epoll_wait"),
        f("ev_invoke_pending", 6, [
          f("conn_io_cb", 1, [
            f("handle_connection", 1, [
              f("http_read_request", 2, [f("buffer_fill", 1, [libc("recv", 1, "recv")])]),
              f("http_parse_request", 2, [
                f("parse_headers", 2, [f("header_lookup", 1, [libc("strcasecmp", 1)])]),
                f("parse_uri", 1, [f("url_decode", 1)]),
              ]),
              f("route_request", 4, [
                f("middleware_next", 1, [
                  f("auth_check", 1, [f("session_load", 1, [f("cache_get", 1, [
                    f("hash_lookup", 2, [libc("memcmp", 1)]),
                    f("cache_fill", 1, [readFile]),
                  ])])]),
                  f("app_dispatch", 3, [
                    f("controller_call", 1, [
                      f("render_page", 1, [
                        f("template_render", 1, [
                          f("json_encode", 2, [f("format_number", 1), memcpy], { rec: true }),
                          f("escape_html", 1, [libc("strlen", 1)]),
                          f("include_file", 1, [readFile]),
                          malloc,
                        ], { rec: true }),
                      ]),
                    ]),
                  ]),
                ], { rec: true }),
              ]),
              f("http_send_response", 2, [f("buffer_flush", 1, [libc("writev", 1, "writev")])]),
              f("log_request", 1, [libc("vfprintf", 1, undefined, [writeFile])]),
            ]),
          ]),
        ]),
      ]),
    ]),
  ])),
};

/** The compressor: xz (liblzma) compressing a file through its filter chain. */
const XZ: Program = {
  name: "xz",
  kernel: { p: 0.3, fault: 0.3, softirq: 0.05, hardirq: 0.08 },
  root: start(f("main", 1, [
    f("coder_run", 1, [
      f("io_open_src", 1, [libc("open", 1, "openat")]),
      f("coder_normal", 12, [
        f("io_read", 2, [readFile]),
        f("io_write", 1, [writeFile]),
        f("lzma_code", 10, [
          f("stream_encode", 1, [
            f("block_encode", 1, [
              f("simple_code", 1, [
                f("lz_encode", 1, [
                  f("fill_window", 2, [memcpy, f("lzma_mf_bt4_skip", 1, [f("bt_skip_func", 1)])]),
                  f("lzma2_encode", 6, [
                    f("lzma_lzma_encode", 1, [
                      f("encode_symbol", 1, [f("rc_encode", 1, [f("rc_shift_low", 1)])]),
                      f("lzma_lzma_optimum_normal", 4, [
                        f("helper1", 1, [
                          f("lzma_mf_find", 1, [
                            f("lzma_mf_bt4_find", 1, [f("bt_find_func", 1)]),
                          ]),
                        ]),
                        f("get_literal_price", 1),
                      ]),
                    ]),
                  ]),
                  f("lzma_check_update", 1, [f("lzma_crc64", 1)]),
                ]),
              ], { rec: true }),
            ]),
          ]),
        ]),
      ]),
    ]),
  ])),
};

const pread = libc("pread64", 1, "pread64");
const execNode: FnSpec = f("ExecProcNode", 1, [
  f("ExecSeqScan", 3, [
    f("heap_getnextslot", 1, [
      f("heapgettup_pagemode", 1, [
        f("heapgetpage", 1, [
          f("ReadBufferExtended", 1, [
            f("ReadBuffer_common", 1, [
              f("smgrread", 1, [f("mdread", 1, [f("FileRead", 1, [pread])])]),
              f("BufTableLookup", 1, [f("hash_search_with_hash_value", 1)]),
            ]),
          ]),
        ]),
        f("heap_page_prune_opt", 1),
      ]),
    ]),
    f("ExecQual", 2, [f("int4eq", 1)]),
  ]),
  f("ExecIndexScan", 2, [
    f("index_getnext_slot", 1, [
      f("btgettuple", 1, [
        f("_bt_first", 1, [
          f("_bt_search", 1, [f("_bt_binsrch", 1, [f("_bt_compare", 1, [f("int4cmp", 1)])])], {
            rec: true,
          }),
        ]),
      ]),
    ]),
  ]),
  f("ExecHashJoin", 2, [f("ExecScanHashBucket", 1, [f("hash_uint32", 1)])]),
  f("ExecAgg", 1, [f("advance_aggregates", 1, [f("int8inc", 1)])]),
], { rec: true });

/** The database: a Postgres backend running queries (executor recursion, btree, WAL fsync). */
const POSTGRES: Program = {
  name: "postgres",
  kernel: { p: 0.4, fault: 0.15, softirq: 0.05, hardirq: 0.06 },
  root: start(f("main", 1, [
    f("PostmasterMain", 1, [
      f("ServerLoop", 1, [
        f("BackendRun", 1, [
          f("PostgresMain", 1, [
            f("ReadCommand", 1, [
              f("pq_getbyte", 1, [f("secure_read", 1, [libc("recv", 1, "recv")])]),
            ]),
            f("exec_simple_query", 8, [
              f("pg_parse_query", 1, [
                f("raw_parser", 1, [f("base_yyparse", 1, [f("core_yylex", 1)])]),
              ]),
              f("pg_plan_queries", 1, [
                f("planner", 1, [
                  f("standard_planner", 1, [
                    f("subquery_planner", 1, [
                      f("query_planner", 1, [
                        f("make_one_rel", 1, [
                          f("set_base_rel_pathlists", 1, [f("cost_seqscan", 1)]),
                        ]),
                      ]),
                    ], { rec: true }),
                  ]),
                ]),
              ]),
              f("PortalRun", 5, [
                f("PortalRunSelect", 1, [
                  f("standard_ExecutorRun", 1, [f("ExecutePlan", 1, [execNode])]),
                ]),
              ]),
              f("finish_xact_command", 1, [
                f("CommitTransaction", 1, [
                  f("RecordTransactionCommit", 1, [
                    f("XLogFlush", 1, [
                      f("XLogWrite", 1, [f("pg_fsync", 1, [libc("fdatasync", 1, "fdatasync")])]),
                    ]),
                  ]),
                ]),
              ]),
              f("LWLockAcquire", 1, [
                f("PGSemaphoreLock", 1, [
                  libc("sem_wait", 1, undefined, [libc("futex_wait", 1, "futex")]),
                ]),
              ]),
            ]),
          ]),
        ]),
      ]),
    ]),
  ])),
};

/** The programs the simulated machine runs, one process after another in this order. */
export const PROGRAMS: readonly Program[] = [HTTPD, XZ, POSTGRES];

/** Sorted symbol table with binary-search lookup. */
export class SimSymbolTable {
  /** All ranges, sorted by start. */
  readonly ranges: readonly SimSymbolRange[];

  /**
   * Sort the ranges for lookup.
   * @param ranges symbol ranges (any order)
   */
  constructor(ranges: readonly SimSymbolRange[]) {
    this.ranges = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  /**
   * Find the symbol containing an address.
   * @param ip address
   * @returns the range, or undefined
   */
  lookup(ip: bigint): SimSymbolRange | undefined {
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

/** Deepest exact user depth the reachability tables cover (deep recursions go beyond it). */
const MAXD = 48;
/** Call sites per function (offsets 4, 8, ..., 240). */
const SITES = 60;

/** A program's call graph, compiled: global function indexes and depth reachability. */
class Node {
  readonly children: Node[] = [];
  readonly weights: number[] = [];
  /** reachAny[d]: some path of d more calls exists below this node (stop anywhere). */
  readonly reachAny = new Uint8Array(MAXD);
  /** reachSys[d]: a system-call wrapper sits exactly d calls below (0: this is one). */
  readonly reachSys = new Uint8Array(MAXD);
  constructor(readonly fn: number, readonly sys: string | undefined, readonly rec: boolean) {}
}

/** A compiled {@link Program}. */
interface CompiledProgram {
  readonly program: Program;
  readonly root: Node;
  /** Recursive nodes with the path from the root to them (deep recursions start there). */
  readonly recPaths: readonly (readonly Node[])[];
  /** Deepest user stack without recursion (deeper ones take kernel samples where they can). */
  readonly natural: number;
}

/** The simulated program image: function addresses, frame ids, call graphs, symbol table. */
export class Image {
  /** Symbol table covering the kernel, every program and libc. */
  readonly symbols: SimSymbolTable;
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
  /** Frame id of PERF_CONTEXT_KERNEL. */
  readonly kernelMarker: number;
  /** Frame id of PERF_CONTEXT_USER. */
  readonly userMarker: number;
  /** Whole-chain length sampler (one of Ingo's histograms). */
  readonly chainLength: ChainLength;
  /** The programs, compiled, in {@link PROGRAMS} order. */
  readonly programs: readonly CompiledProgram[];
  /** Kernel paths by name, as function indexes root first. */
  readonly kernelPaths: ReadonlyMap<
    string,
    { readonly entry: Entry; readonly fns: readonly number[] }
  >;
  readonly #ids = new Map<bigint, number>();
  /** Frame id of function i at call site 0 (sites are consecutive ids). */
  readonly #site: number[] = [];
  readonly #fnNames: string[] = [];

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

  /**
   * Lay out the kernel, the programs and libc, and compile the call graphs.
   * @param preset which of Ingo's histograms whole-chain lengths follow (default aldebaran)
   */
  constructor(preset: DepthPreset = "aldebaran") {
    this.chainLength = new ChainLength(DEPTH_PRESETS[preset]);
    const ranges: SimSymbolRange[] = [];
    const byKey = new Map<string, number>();
    const fn = (
      key: string,
      name: string,
      start: bigint,
      size: bigint,
      kernel: boolean,
      dso: string,
    ) => {
      let i = byKey.get(key);
      if (i !== undefined) return i;
      i = this.#fnNames.length;
      byKey.set(key, i);
      this.#fnNames.push(name);
      ranges.push({ start, end: start + size, name, kernel, dso });
      this.#site.push(-1);
      starts.push(start);
      return i;
    };
    const starts: bigint[] = [];
    let k = 0;
    const kernelPaths = new Map<string, { entry: Entry; fns: number[] }>();
    for (const [pathName, p] of Object.entries(KERNEL_PATHS)) {
      const fns = p.frames.map((name) =>
        fn(
          `k:${name}`,
          name,
          KERNEL_BASE + BigInt(byKey.has(`k:${name}`) ? 0 : k++) * 0x400n,
          0x400n,
          true,
          "[kernel.kallsyms]",
        )
      );
      kernelPaths.set(pathName, { entry: p.entry, fns });
    }
    this.kernelPaths = kernelPaths;
    let lib = 0;
    const programs: CompiledProgram[] = [];
    PROGRAMS.forEach((prog, pi) => {
      const base = USER_BASE + BigInt(pi) * 0x100000n;
      let u = 0;
      const nodes = new Map<FnSpec, Node>();
      const compile = (s: FnSpec): Node => {
        let n = nodes.get(s);
        if (n) return n;
        const index = s.lib
          ? fn(
            `l:${s.name}`,
            s.name,
            LIB_BASE + BigInt(byKey.has(`l:${s.name}`) ? 0 : lib++) * 0x200n,
            0x200n,
            false,
            "libc.so.6",
          )
          : fn(
            `${prog.name}:${s.name}`,
            s.name,
            base + BigInt(byKey.has(`${prog.name}:${s.name}`) ? 0 : u++) * 0x100n,
            0x100n,
            false,
            prog.name,
          );
        n = new Node(index, s.sys, s.rec ?? false);
        nodes.set(s, n);
        for (const c of s.calls ?? []) {
          n.children.push(compile(c));
          n.weights.push(c.w);
        }
        if (n.rec) {
          n.children.push(n);
          n.weights.push(1);
        }
        return n;
      };
      const root = compile(prog.root);
      // reachability to a fixpoint (recursion makes the graph cyclic)
      const all = [...nodes.values()];
      for (const n of all) {
        n.reachAny[0] = 1;
        if (n.sys) n.reachSys[0] = 1;
      }
      for (let changed = true; changed;) {
        changed = false;
        for (const n of all) {
          for (const c of n.children) {
            for (let d = 1; d < MAXD; d++) {
              if (c.reachAny[d - 1] && !n.reachAny[d]) n.reachAny[d] = 1, changed = true;
              if (c.reachSys[d - 1] && !n.reachSys[d]) n.reachSys[d] = 1, changed = true;
            }
          }
        }
      }
      const recPaths: Node[][] = [];
      const seen = new Set<Node>();
      const dfs = (n: Node, path: Node[]) => {
        if (seen.has(n)) return;
        seen.add(n);
        const here = [...path, n];
        if (n.rec) recPaths.push(here);
        for (const c of n.children) if (c !== n) dfs(c, here);
      };
      dfs(root, []);
      const depthOf = new Map<Node, number>();
      const natural = (n: Node): number => {
        let d = depthOf.get(n);
        if (d !== undefined) return d;
        d = 1;
        for (const c of n.children) if (c !== n) d = Math.max(d, 1 + natural(c));
        depthOf.set(n, d);
        return d;
      };
      programs.push({ program: prog, root, recPaths, natural: natural(root) });
    });
    this.programs = programs;
    this.symbols = new SimSymbolTable(ranges);
    this.kernelMarker = this.frameId(PERF_CONTEXT_KERNEL);
    this.userMarker = this.frameId(PERF_CONTEXT_USER);
    starts.forEach((s, i) => {
      this.#site[i] = this.frames.length;
      for (let j = 0; j < SITES; j++) this.frameId(s + BigInt(4 + 4 * j));
    });
  }

  /** Names of all simulated functions, by function index. */
  get functionNames(): readonly string[] {
    return this.#fnNames;
  }

  /**
   * Frame id of a return address: function `caller` at the call site that calls `callee`.
   * @param caller function index
   * @param callee function index
   * @returns the frame id
   */
  callSite(caller: number, callee: number): number {
    return this.#site[caller] + 1 + (Math.imul(callee + 1, 0x9e3779b1) >>> 0) % (SITES - 1);
  }

  /**
   * Frame id of an instruction pointer inside a function (the sampled leaf).
   * @param fn function index
   * @param x a random u32
   * @returns the frame id
   */
  leafSite(fn: number, x: number): number {
    return this.#site[fn] + (x >>> 8) % SITES;
  }
}

/** Mean whole-chain length of a preset (for tests and docs). */
export function presetMean(preset: DepthPreset): number {
  return ChainLength.mean(DEPTH_PRESETS[preset]);
}

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

/** Pick a child of `n` whose table says the rest of the walk fits, weighted. */
function pickChild(
  r: Prng,
  n: Node,
  table: "reachAny" | "reachSys",
  left: number,
): Node | undefined {
  let total = 0;
  const cs = n.children;
  for (let i = 0; i < cs.length; i++) if (cs[i][table][left]) total += n.weights[i];
  if (total === 0) return undefined;
  let x = r.float() * total;
  for (let i = 0; i < cs.length; i++) {
    if (!cs[i][table][left]) continue;
    x -= n.weights[i];
    if (x < 0) return cs[i];
  }
  for (let i = cs.length - 1; i >= 0; i--) if (cs[i][table][left]) return cs[i];
  return undefined;
}

/** A simulated thread, the program it runs, and its current call stack. */
export class SimThread {
  /** Context level of the drawn stack: 0 task, 1 softirq, 2 hardirq. The machine turns an
   * interrupt stack into a real IRQ activation and reads the sample's context back from
   * `preempt_count` (`recursionContext`), so this only says which activation to build. */
  context = 0;
  /** `preempt_count` of the interrupted context (SOFTIRQ_OFFSET / HARDIRQ_OFFSET). */
  preemptCount = 0;
  /** RFLAGS.IF of the interrupted context (clear in hardirq). */
  irqsEnabled = true;
  /** How the sampled code was entered: user mode (no kernel frames), a system call, a page
   * fault from user space, or a hardware interrupt from user space. */
  entry: "user" | "syscall" | "fault" | "irq" = "user";
  /** The current call stack (replaced, never mutated, by {@link SimThread.reshape}). */
  stack: SimStack | undefined;

  /**
   * A thread with an empty stack (call {@link SimThread.reshape}).
   * @param pid process id
   * @param tid thread id
   * @param comm name
   * @param mm address-space id
   * @param program index into {@link PROGRAMS} (default 0)
   */
  constructor(
    readonly pid: number,
    readonly tid: number,
    readonly comm: string,
    public mm: number,
    readonly program = 0,
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
   * Draw a fresh call stack: a whole-chain length from the image's histogram, then (for a
   * kernel sample) an entry path and its depth, then a user path of exactly the remaining
   * depth through the program's call graph.
   * @param r PRNG
   * @param img program image
   * @param pDeep chance of a deep recursion (256-1279 user frames, beyond the kernel's 255-entry
   *   callchain buffer); 0 draws nothing extra from the PRNG
   */
  reshape(r: Prng, img: Image, pDeep = 0): void {
    const prog = img.programs[this.program % img.programs.length];
    this.context = 0;
    this.preemptCount = 0;
    this.irqsEnabled = true;
    this.entry = "user";
    if (pDeep > 0 && r.float() < pDeep && prog.recPaths.length) {
      this.stack = new SimStack(img, EMPTY_IDS, deepUser(r, img, prog.recPaths));
      return;
    }
    const n = img.chainLength.draw(r);
    const kp = prog.program.kernel;
    // a chain deeper than the program's own call graph is a kernel sample when it can be
    // (recursion fills the rest only where the kernel part cannot)
    const pKernel = n - 1 > prog.natural ? 1 : kp.p;
    if (n >= 4 && r.float() < pKernel) {
      const rest = n - 2;
      const c = r.float();
      let path = c < kp.fault
        ? "fault"
        : c < kp.fault + kp.softirq
        ? "softirq"
        : c < kp.fault + kp.softirq + kp.hardirq
        ? "hardirq"
        : "syscall";
      if (path === "syscall") {
        // a wrapper at exactly depth u whose kernel path is long enough for the rest
        const us: number[] = [];
        for (let u = Math.max(1, rest - MAX_KERNEL_PATH); u < rest; u++) {
          if (u <= MAXD && prog.root.reachSys[u - 1]) us.push(u);
        }
        for (let tries = 0; tries < 6 && us.length; tries++) {
          const u = us[r.int(us.length)];
          const walk = walkTo(r, prog.root, u, "reachSys");
          const leaf = walk && walk[walk.length - 1];
          const kpath = leaf?.sys ? img.kernelPaths.get(leaf.sys) : undefined;
          if (!walk || !kpath || rest - u > kpath.fns.length) continue;
          this.stack = new SimStack(
            img,
            kernelIds(r, img, kpath.fns, rest - u),
            userIds(r, img, walk),
          );
          this.entry = "syscall";
          return;
        }
        // no wrapper fits: the sample is in user mode, or (too deep for that) in a page fault
        if (n - 1 <= prog.natural) {
          this.stack = new SimStack(
            img,
            EMPTY_IDS,
            userIds(r, img, walkTo(r, prog.root, n - 1, "reachAny")!),
          );
          return;
        }
        path = "fault";
      }
      const kpath = img.kernelPaths.get(path)!;
      const hi = Math.min(kpath.fns.length, rest - 1);
      const lo = Math.min(hi, Math.max(1, rest - prog.natural));
      const k = lo + r.int(hi - lo + 1);
      const walk = walkTo(r, prog.root, rest - k, "reachAny")!;
      const kernel = kernelIds(r, img, kpath.fns, k);
      this.entry = kpath.entry === "irq" ? "irq" : "fault";
      if (kpath.entry === "irq") {
        const names = img.functionNames;
        const soft = kpath.fns.slice(0, k).some((fn) => SOFTIRQ_ENTRY.has(names[fn]));
        this.context = soft ? 1 : 2;
        this.preemptCount = soft ? SOFTIRQ_OFFSET : HARDIRQ_OFFSET;
        this.irqsEnabled = soft;
      }
      this.stack = new SimStack(img, kernel, userIds(r, img, walk));
      return;
    }
    this.stack = new SimStack(
      img,
      EMPTY_IDS,
      userIds(r, img, walkTo(r, prog.root, n - 1, "reachAny")!),
    );
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

/** A root-first walk of exactly `u` functions, or undefined when the table forbids it. */
function walkTo(
  r: Prng,
  root: Node,
  u: number,
  table: "reachAny" | "reachSys",
): Node[] | undefined {
  if (u < 1 || u > MAXD || !root[table][u - 1]) return undefined;
  const out: Node[] = [root];
  let cur = root;
  while (out.length < u) {
    const next = pickChild(r, cur, table, u - out.length - 1);
    if (!next) return undefined;
    out.push(next);
    cur = next;
  }
  return out;
}

/** User frame ids, leaf first, for a root-first walk. */
function userIds(r: Prng, img: Image, walk: readonly Node[]): number[] {
  const n = walk.length;
  const ids = new Array<number>(n);
  ids[0] = img.leafSite(walk[n - 1].fn, r.next());
  for (let i = 1; i < n; i++) ids[i] = img.callSite(walk[n - 1 - i].fn, walk[n - i].fn);
  return ids;
}

/** Kernel frame ids, leaf first, for the first `k` functions of a root-first path. */
function kernelIds(r: Prng, img: Image, fns: readonly number[], k: number): number[] {
  const ids = new Array<number>(k);
  ids[0] = img.leafSite(fns[k - 1], r.next());
  for (let i = 1; i < k; i++) ids[i] = img.callSite(fns[k - 1 - i], fns[k - i]);
  return ids;
}

/** A recursive descent of 256-1279 user frames: one function calling itself. */
function deepUser(r: Prng, img: Image, recPaths: readonly (readonly Node[])[]): number[] {
  const path = recPaths[r.int(recPaths.length)];
  const u = 256 + r.int(1024);
  const rec = path[path.length - 1];
  const walk: Node[] = [...path];
  while (walk.length < u) walk.push(rec);
  return userIds(r, img, walk);
}
