/**
 * The system calls a live recording needs, through Deno's FFI on the C
 * library: `syscall(__NR_perf_event_open, ...)`, `mmap` / `munmap` of the
 * ring, the `PERF_EVENT_IOC_*` ioctls, `close`, `mkfifo`, and `errno` (read
 * through `__errno_location()` right after the failing call). No native code
 * of callring's own; Linux only (x86_64 and aarch64 syscall numbers).
 *
 * The error messages follow perf's `evsel__open_strerror()`
 * (tools/perf/util/evsel.c): one line, with perf's hint.
 *
 * @module
 */

const SYMBOLS = {
  syscall: { parameters: ["i64", "buffer", "i64", "i64", "i64", "u64"], result: "i64" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  ioctlBuffer: { name: "ioctl", parameters: ["i32", "u64", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | undefined;

/** The FFI could not be set up (no `--allow-ffi`, no libc.so.6). */
export class LiveUnavailableError extends Error {
  /**
   * Create the error.
   *
   * @param message Why live recording is unavailable.
   */
  constructor(message: string) {
    super(message);
    this.name = "LiveUnavailableError";
  }
}

function sys(): Libc {
  if (libc) return libc;
  if (Deno.build.os !== "linux") {
    throw new LiveUnavailableError(
      `Cannot record live: perf events are a Linux interface (this is ${Deno.build.os})`,
    );
  }
  try {
    libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (e) {
    throw new LiveUnavailableError(
      `Cannot record live: cannot load libc.so.6 through FFI (${
        e instanceof Error ? e.message.split("\n")[0] : String(e)
      })`,
    );
  }
  return libc;
}

/** `errno` of the calling thread. @returns The value. */
function errno(): number {
  const p = sys().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** `errno` values the recorder names (asm-generic/errno-base.h and errno.h). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  E2BIG: 7,
  EBADF: 9,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
} as const;

const ERRNO_TEXT: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  3: "No such process",
  4: "Interrupted system call",
  7: "Argument list too long",
  9: "Bad file descriptor",
  12: "Cannot allocate memory",
  13: "Permission denied",
  16: "Device or resource busy",
  17: "File exists",
  19: "No such device",
  22: "Invalid argument",
  24: "Too many open files",
  28: "No space left on device",
  95: "Operation not supported",
};

/**
 * `strerror()` for the values the recorder meets.
 *
 * @param e An errno value.
 * @returns Its text (or `errno N`).
 */
export function strerror(e: number): string {
  return ERRNO_TEXT[e] ?? `errno ${e}`;
}

/** A system call failed; `errno` says why. */
export class SysError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** The call that failed. */
  readonly call: string;

  /**
   * Create the error.
   *
   * @param call The call (`perf_event_open`, `mmap`, ...).
   * @param errnoValue The errno value.
   * @param message The one-line message.
   */
  constructor(call: string, errnoValue: number, message?: string) {
    super(message ?? `${call} failed: ${strerror(errnoValue)}`);
    this.name = "SysError";
    this.call = call;
    this.errno = errnoValue;
  }
}

/** `__NR_perf_event_open` of the running architecture. */
export const NR_PERF_EVENT_OPEN: number = Deno.build.arch === "aarch64" ? 241 : 298;

/** `PERF_FLAG_FD_CLOEXEC`. */
export const PERF_FLAG_FD_CLOEXEC = 8;

/**
 * `perf_event_open(attr, pid, cpu, group_fd, flags)`.
 *
 * @param attr The encoded `perf_event_attr` (its `size` field set).
 * @param pid Task to measure (-1 = every task on `cpu`, 0 = the caller).
 * @param cpu CPU to measure (-1 = any CPU the task runs on).
 * @param groupFd Group leader fd or -1.
 * @returns The event fd.
 * @throws {SysError} With the errno of the failure.
 */
export function perfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd = -1): number {
  const fd = Number(
    sys().syscall(
      BigInt(NR_PERF_EVENT_OPEN),
      attr as Uint8Array<ArrayBuffer>,
      BigInt(pid),
      BigInt(cpu),
      BigInt(groupFd),
      BigInt(PERF_FLAG_FD_CLOEXEC),
    ),
  );
  if (fd < 0) throw new SysError("perf_event_open", errno());
  return fd;
}

/** `PERF_EVENT_IOC_*` request numbers (`_IO('$', n)` and friends, linux/perf_event.h). */
export const PerfIoc = {
  ENABLE: 0x2400,
  DISABLE: 0x2401,
  SET_OUTPUT: 0x2405,
  ID: 0x80082407,
  PAUSE_OUTPUT: 0x40042409,
} as const;

/**
 * `ioctl(fd, request, arg)` with an integer argument.
 *
 * @param fd The fd.
 * @param request The request.
 * @param arg The argument.
 * @throws {SysError} When the call fails.
 */
export function ioctl(fd: number, request: number, arg = 0): void {
  if (sys().ioctl(fd, BigInt(request), BigInt(arg)) < 0) {
    throw new SysError(`ioctl 0x${request.toString(16)}`, errno());
  }
}

/**
 * `PERF_EVENT_IOC_ID`: the kernel's id of an event (what `PERF_SAMPLE_ID` and LOST records carry).
 *
 * @param fd The event fd.
 * @returns The id (ids stay far below 2^53).
 * @throws {SysError} When the call fails.
 */
export function eventId(fd: number): number {
  const out = new Uint8Array(8);
  if (sys().ioctlBuffer(fd, BigInt(PerfIoc.ID), out) < 0) {
    throw new SysError("ioctl PERF_EVENT_IOC_ID", errno());
  }
  const v = new DataView(out.buffer);
  return v.getUint32(4, true) * 0x1_0000_0000 + v.getUint32(0, true);
}

/** A mapping made by {@linkcode mmapFd}. */
export interface Mapping {
  /** The start address. */
  pointer: Deno.PointerObject;
  /** Its length in bytes. */
  length: number;
  /** The mapped bytes (valid until {@linkcode munmap}). */
  buffer: ArrayBuffer;
}

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

/**
 * `mmap(NULL, length, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, 0)`: the
 * ring of an event. A writable mapping is a consume-mode ring (the reader
 * stores `data_tail`); a read-only one is an overwrite ring.
 *
 * @param fd The event fd.
 * @param length Control page + data pages.
 * @param writable Map read-write.
 * @returns The mapping.
 * @throws {SysError} When the call fails.
 */
export function mmapFd(fd: number, length: number, writable: boolean): Mapping {
  const p = sys().mmap(
    null,
    BigInt(length),
    PROT_READ | (writable ? PROT_WRITE : 0),
    MAP_SHARED,
    fd,
    0n,
  );
  if (p === null || BigInt(Deno.UnsafePointer.value(p)) === MAP_FAILED) {
    throw new SysError("mmap", errno());
  }
  return { pointer: p, length, buffer: Deno.UnsafePointerView.getArrayBuffer(p, length) };
}

/**
 * `munmap` a mapping; its buffer must not be touched afterwards.
 *
 * @param m The mapping.
 */
export function munmap(m: Mapping): void {
  sys().munmap(m.pointer, BigInt(m.length));
}

/**
 * `close(fd)`.
 *
 * @param fd The fd.
 */
export function closeFd(fd: number): void {
  sys().close(fd);
}

/**
 * `mkfifo(path, 0600)`.
 *
 * @param path The path.
 * @throws {SysError} When the call fails.
 */
export function mkfifo(path: string): void {
  const bytes = new TextEncoder().encode(path + "\0");
  if (sys().mkfifo(bytes, 0o600) < 0) throw new SysError(`mkfifo ${path}`, errno());
}
