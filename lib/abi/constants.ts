/**
 * Constants of the perf ABI (`include/uapi/linux/perf_event.h`) and of perf's
 * user-space records (`tools/lib/perf/include/perf/event.h`), plus the
 * callring extension record types.
 *
 * @module
 */

/** `PERF_RECORD_*` record types emitted by the kernel (1-21) and by perf (64+). */
export const RecordType = {
  MMAP: 1,
  LOST: 2,
  COMM: 3,
  EXIT: 4,
  THROTTLE: 5,
  UNTHROTTLE: 6,
  FORK: 7,
  READ: 8,
  SAMPLE: 9,
  MMAP2: 10,
  AUX: 11,
  ITRACE_START: 12,
  LOST_SAMPLES: 13,
  SWITCH: 14,
  SWITCH_CPU_WIDE: 15,
  NAMESPACES: 16,
  KSYMBOL: 17,
  BPF_EVENT: 18,
  CGROUP: 19,
  TEXT_POKE: 20,
  AUX_OUTPUT_HW_ID: 21,
  HEADER_ATTR: 64,
  HEADER_EVENT_TYPE: 65,
  HEADER_TRACING_DATA: 66,
  HEADER_BUILD_ID: 67,
  FINISHED_ROUND: 68,
  ID_INDEX: 69,
  AUXTRACE_INFO: 70,
  AUXTRACE: 71,
  AUXTRACE_ERROR: 72,
  THREAD_MAP: 73,
  CPU_MAP: 74,
  STAT_CONFIG: 75,
  STAT: 76,
  STAT_ROUND: 77,
  EVENT_UPDATE: 78,
  TIME_CONV: 79,
  HEADER_FEATURE: 80,
  COMPRESSED: 81,
  FINISHED_INIT: 82,
  COMPRESSED2: 83,
  BPF_METADATA: 84,
  /** callring extension: one continuation fragment of a large callchain. */
  CALLRING_FRAGMENT: 0x4c00,
  /** callring extension: a sync point (magic cookie, stream offset, CRC). */
  CALLRING_SYNC: 0x4c01,
  /** callring extension: a symbol of the simulated machine (address range and name). */
  CALLRING_SYMBOL: 0x4c02,
  /** callring extension: the header of a sub-buffer (start time, used bytes, CRC). */
  CALLRING_SUBBUF: 0x4c03,
  /** callring extension: padding to the end of a sub-buffer (Ingo's NOP event, seed L8142). */
  CALLRING_PAD: 0x4c04,
  /** callring extension: a continuation fragment with a 16-byte header. */
  CALLRING_FRAGMENT_COMPACT: 0x4c05,
  /** callring extension: records a flight recorder overwrote before a snapshot took them. */
  CALLRING_OVERWRITTEN: 0x4c06,
} as const;

/** First record type of the range reserved for callring extensions (never written to perf.data). */
export const CALLRING_RECORD_MIN = 0x4c00;
/** Last record type (inclusive) of the callring extension range. */
export const CALLRING_RECORD_MAX = 0x4cff;

/** Human-readable names of {@linkcode RecordType} values, as perf prints them. */
export const RECORD_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(RecordType).map(([name, value]) => [value, name])),
);

/** Largest record type number the kernel emits (`PERF_RECORD_MAX - 1` in 6.x). */
export const KERNEL_RECORD_MAX = 21;
/** Largest user-space record type number perf 6.1 knows (`PERF_RECORD_HEADER_MAX - 1`). */
export const PERF_USER_RECORD_MAX = 84;

/** `PERF_SAMPLE_*` bits of `perf_event_attr.sample_type`. */
export const SampleType = {
  IP: 1 << 0,
  TID: 1 << 1,
  TIME: 1 << 2,
  ADDR: 1 << 3,
  READ: 1 << 4,
  CALLCHAIN: 1 << 5,
  ID: 1 << 6,
  CPU: 1 << 7,
  PERIOD: 1 << 8,
  STREAM_ID: 1 << 9,
  RAW: 1 << 10,
  BRANCH_STACK: 1 << 11,
  REGS_USER: 1 << 12,
  STACK_USER: 1 << 13,
  WEIGHT: 1 << 14,
  DATA_SRC: 1 << 15,
  IDENTIFIER: 1 << 16,
  TRANSACTION: 1 << 17,
  REGS_INTR: 1 << 18,
  PHYS_ADDR: 1 << 19,
  AUX: 1 << 20,
  CGROUP: 1 << 21,
  DATA_PAGE_SIZE: 1 << 22,
  CODE_PAGE_SIZE: 1 << 23,
  WEIGHT_STRUCT: 1 << 24,
} as const;

/** One past the highest defined sample_type bit (`PERF_SAMPLE_MAX`). */
export const SAMPLE_TYPE_MAX = 1 << 25;

/** `PERF_FORMAT_*` bits of `perf_event_attr.read_format`. */
export const ReadFormat = {
  TOTAL_TIME_ENABLED: 1 << 0,
  TOTAL_TIME_RUNNING: 1 << 1,
  ID: 1 << 2,
  GROUP: 1 << 3,
  LOST: 1 << 4,
} as const;

/** `PERF_SAMPLE_BRANCH_HW_INDEX` bit of `branch_sample_type`. */
export const BRANCH_HW_INDEX = 1 << 17;

/** `PERF_SAMPLE_BRANCH_CALL_STACK` bit of `branch_sample_type` (`--call-graph lbr`). */
export const BRANCH_CALL_STACK = 1 << 11;

/** Bit numbers of the flag bitfield at offset 40 of `perf_event_attr`. */
export const AttrFlag = {
  disabled: 0,
  inherit: 1,
  pinned: 2,
  exclusive: 3,
  excludeUser: 4,
  excludeKernel: 5,
  excludeHv: 6,
  excludeIdle: 7,
  mmap: 8,
  comm: 9,
  freq: 10,
  inheritStat: 11,
  enableOnExec: 12,
  task: 13,
  watermark: 14,
  /** two bits: 15-16 */
  preciseIp: 15,
  mmapData: 17,
  sampleIdAll: 18,
  excludeHost: 19,
  excludeGuest: 20,
  excludeCallchainKernel: 21,
  excludeCallchainUser: 22,
  mmap2: 23,
  commExec: 24,
  useClockid: 25,
  contextSwitch: 26,
  writeBackward: 27,
  namespaces: 28,
  ksymbol: 29,
  bpfEvent: 30,
  auxOutput: 31,
  cgroup: 32,
  textPoke: 33,
  buildId: 34,
  inheritThread: 35,
  removeOnExec: 36,
  sigtrap: 37,
} as const;

/** `perf_event_attr.type` values. */
export const AttrType = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
  BREAKPOINT: 5,
} as const;

/** `PERF_COUNT_SW_*` config values for `AttrType.SOFTWARE`. */
export const SoftwareEvent = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
  ALIGNMENT_FAULTS: 7,
  EMULATION_FAULTS: 8,
  DUMMY: 9,
  BPF_OUTPUT: 10,
  CGROUP_SWITCHES: 11,
} as const;

/** Sizes of `perf_event_attr` that perf has shipped (`PERF_ATTR_SIZE_VER0..VER8`). */
export const ATTR_SIZES: readonly number[] = [64, 72, 80, 96, 104, 112, 120, 128, 136];
/** `PERF_ATTR_SIZE_VER7`: the largest attr perf 6.1 accepts. */
export const ATTR_SIZE_VER7 = 128;
/** `PERF_ATTR_SIZE_VER8`: the current kernel's attr size (adds `config3`). */
export const ATTR_SIZE_VER8 = 136;

/** `header.misc` cpumode values (`misc & PERF_RECORD_MISC_CPUMODE_MASK`). */
export const CpuMode = {
  UNKNOWN: 0,
  KERNEL: 1,
  USER: 2,
  HYPERVISOR: 3,
  GUEST_KERNEL: 4,
  GUEST_USER: 5,
} as const;

/** `PERF_RECORD_MISC_CPUMODE_MASK`. */
export const MISC_CPUMODE_MASK = 7;
/** `PERF_RECORD_MISC_MMAP_DATA` / `COMM_EXEC` / `FORK_EXEC` / `SWITCH_OUT` (bit 13). */
export const MISC_MMAP_DATA = 1 << 13;
/** Alias of bit 13 for COMM records. */
export const MISC_COMM_EXEC = 1 << 13;
/** Alias of bit 13 for SWITCH records. */
export const MISC_SWITCH_OUT = 1 << 13;
/** `PERF_RECORD_MISC_EXACT_IP` (bit 14) on samples. */
export const MISC_EXACT_IP = 1 << 14;
/** `PERF_RECORD_MISC_MMAP_BUILD_ID` (bit 14) on MMAP2 records. */
export const MISC_MMAP_BUILD_ID = 1 << 14;
/** `PERF_RECORD_MISC_SWITCH_OUT_PREEMPT` (bit 14) on SWITCH records. */
export const MISC_SWITCH_OUT_PREEMPT = 1 << 14;

/**
 * `PERF_CONTEXT_*` callchain markers as the low u32 of a u64 whose high u32 is 0xffffffff.
 * A callchain entry `e` is a marker when `e >= PERF_CONTEXT_MAX` (as unsigned u64).
 */
export const ContextMarkerLo = {
  HV: 0xffffffe0,
  KERNEL: 0xffffff80,
  USER: 0xfffffe00,
  USER_DEFERRED: 0xfffffd80,
  GUEST: 0xfffff800,
  GUEST_KERNEL: 0xfffff780,
  GUEST_USER: 0xfffff600,
  MAX: 0xfffff001,
} as const;

/** `PERF_CONTEXT_*` callchain markers as u64 bigints. */
export const PerfContext = {
  HV: 0xffffffffffffffe0n,
  KERNEL: 0xffffffffffffff80n,
  USER: 0xfffffffffffffe00n,
  USER_DEFERRED: 0xfffffffffffffd80n,
  GUEST: 0xfffffffffffff800n,
  GUEST_KERNEL: 0xfffffffffffff780n,
  GUEST_USER: 0xfffffffffffff600n,
  MAX: 0xfffffffffffff001n,
} as const;

/** `PERF_MAX_STACK_DEPTH`: perf's default sysctl_perf_event_max_stack. */
export const PERF_MAX_STACK_DEPTH = 127;
/** `PERF_MAX_CONTEXTS_PER_STACK`: default sysctl_perf_event_max_contexts_per_stack. */
export const PERF_MAX_CONTEXTS_PER_STACK = 8;

/** Execution contexts of a sample (`interrupt_context_level()`): task, softirq, hardirq, NMI. */
export const ExecContext = { TASK: 0, SOFTIRQ: 1, HARDIRQ: 2, NMI: 3 } as const;
/** Names of {@linkcode ExecContext} values, indexed by level. */
export const EXEC_CONTEXT_NAMES: readonly string[] = ["task", "softirq", "hardirq", "nmi"];

/** Size of `struct perf_event_header`. */
export const HEADER_SIZE = 8;
