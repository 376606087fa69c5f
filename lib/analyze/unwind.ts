/**
 * Post-mortem DWARF unwinding of `perf record --call-graph dwarf` samples
 * (x86-64), following perf 6.1's libunwind driver
 * (`tools/perf/util/unwind-libunwind-local.c`):
 *
 * - the first frame is the sample's user IP; every later frame is a return
 *   address minus one (perf decrements the IP of every frame except the one
 *   interrupted by a signal, i.e. the caller of an FDE whose CIE has 'S');
 *   that is what `perf script` prints;
 * - the FDE of the first frame (and of a signal-interrupted frame) is looked
 *   up at its IP, the FDE of later frames at IP - 1;
 * - stack reads come from the copied user stack only when
 *   `sp <= addr && addr + 8 < sp + dyn_size` (perf's `access_mem`); any other
 *   read yields 0, so a return address beyond the copy shows as `0 - 1`
 *   (ffffffffffffffff) and the walk then ends for lack of a map;
 * - saved registers are kept as stack locations and read only when used,
 *   as libunwind does (an epilogue's stale slots below SP are harmless);
 * - CFI comes from `.eh_frame` through `.eh_frame_hdr` only, as perf's
 *   libunwind build reads it ({@linkcode perfUnwindCfi});
 * - unwinding stops when the return-address rule is undefined (`_start`),
 *   when no map or no CFI covers the IP, when IP and CFA do not change, or at
 *   `maxStack` frames (127 by default, the first IP included);
 * - when a mapped ELF has CFI but no FDE for the IP, libunwind's RBP-frame
 *   guess is used (`[rbp]` = caller RBP, `[rbp + 8]` = return address,
 *   rejected when RBP is 0, below the CFA or more than 0x4000 above it);
 * - `[vdso]` mappings are unwound with this process's own vdso image (its
 *   `.eh_frame`), as perf does (`tools/perf/util/vdso.c` copies perf's own
 *   `[vdso]`); see {@linkcode ElfCache}.
 *
 * {@linkcode fullCallchain} joins the kernel part of PERF_SAMPLE_CALLCHAIN
 * (callee order, context markers dropped) with the unwound user frames, the
 * order `perf script` prints them in.
 *
 * @module
 */

import { PerfContext } from "../abi/mod.ts";
import type { AddressSpaces } from "../input/maps.ts";
import { ElfError, ElfFile, memorySource, PT_LOAD, readOwnVdso } from "./elf.ts";
import {
  CfiError,
  CfiTable,
  computeRow,
  evaluateExpression,
  type ExpressionContext,
  ExpressionError,
  X86_64_RA_REGISTER,
  X86_64_SP_REGISTER,
} from "./eh_frame.ts";

/** perf's x86 register numbers (`enum perf_event_x86_regs`). */
export const PerfRegX86 = {
  AX: 0,
  BX: 1,
  CX: 2,
  DX: 3,
  SI: 4,
  DI: 5,
  BP: 6,
  SP: 7,
  IP: 8,
  FLAGS: 9,
  CS: 10,
  SS: 11,
  DS: 12,
  ES: 13,
  FS: 14,
  GS: 15,
  R8: 16,
  R9: 17,
  R10: 18,
  R11: 19,
  R12: 20,
  R13: 21,
  R14: 22,
  R15: 23,
} as const;

/** perf register number for each x86-64 DWARF register 0..16 (RAX, RDX, RCX, RBX, ..., RIP). */
const DWARF_TO_PERF: readonly number[] = [
  PerfRegX86.AX,
  PerfRegX86.DX,
  PerfRegX86.CX,
  PerfRegX86.BX,
  PerfRegX86.SI,
  PerfRegX86.DI,
  PerfRegX86.BP,
  PerfRegX86.SP,
  PerfRegX86.R8,
  PerfRegX86.R9,
  PerfRegX86.R10,
  PerfRegX86.R11,
  PerfRegX86.R12,
  PerfRegX86.R13,
  PerfRegX86.R14,
  PerfRegX86.R15,
  PerfRegX86.IP,
];

/** Number of x86-64 DWARF registers the unwinder tracks (0..16). */
export const DWARF_REGISTER_COUNT = 17;

const DWARF_RBP = 6;

/** perf's default maximum callchain depth (`sysctl_perf_event_max_stack`). */
export const DEFAULT_MAX_STACK = 127;

/** A mapping as the unwinder needs it ({@linkcode MapEntry} of maps.ts fits). */
export interface UnwindMapping {
  /** First address. */
  readonly start: bigint;
  /** End address (exclusive). */
  readonly end: bigint;
  /** File offset of `start`. */
  readonly pgoff: bigint;
  /** Mapped file name. */
  readonly filename: string;
}

/**
 * Find the mapping of the sampled process that contains an address.
 *
 * @param address Runtime address.
 * @returns The mapping, or undefined.
 */
export type MapLookup = (address: bigint) => UnwindMapping | undefined;

/**
 * Open the ELF file behind a mapping.
 *
 * @param mapping The mapping.
 * @returns The parsed file, or undefined when it is not available.
 */
export type ElfLoader = (mapping: UnwindMapping) => ElfFile | undefined;

/** PERF_SAMPLE_REGS_USER as decoded, plus the attr's `sample_regs_user` mask. */
export interface UserRegisters {
  /** `attr.sample_regs_user`: which perf registers `regs` holds, ascending. */
  mask: bigint;
  /** Register values for the set bits of `mask`, in ascending bit order. */
  regs: BigUint64Array;
}

/** PERF_SAMPLE_STACK_USER as decoded. */
export interface UserStack {
  /** Copied stack bytes, starting at the sampled SP. */
  data: Uint8Array;
  /** Number of valid bytes (`dyn_size`). */
  dynSize: number;
}

/** Options of {@linkcode unwindUser}. */
export interface UnwindOptions {
  /** Maximum number of frames, first IP included (default 127). */
  maxStack?: number;
}

/** Why {@linkcode unwindUserDetailed} stopped. */
export type UnwindStop =
  | "end-of-stack"
  | "max-stack"
  | "no-map"
  | "no-cfi"
  | "bad-read"
  | "bad-register"
  | "bad-cfi"
  | "no-progress"
  | "no-regs";

/** Frames and the reason the walk ended. */
export interface UnwindResult {
  /** Frame addresses as perf prints them (runtime addresses, not map-relative). */
  frames: bigint[];
  /** Why unwinding stopped. */
  stop: UnwindStop;
}

/**
 * Spread perf's sampled registers into x86-64 DWARF register order.
 *
 * @param registers Sampled registers and their mask.
 * @returns 17 values (RAX, RDX, RCX, RBX, RSI, RDI, RBP, RSP, R8..R15, RIP);
 *   undefined where the mask lacks the register.
 * @example
 * ```ts
 * import { dwarfRegistersFromPerf } from "./unwind.ts";
 * // mask with only BP (6), SP (7) and IP (8)
 * const r = dwarfRegistersFromPerf({ mask: 0x1c0n, regs: BigUint64Array.of(1n, 2n, 3n) });
 * console.log(r[6], r[7], r[16]); // 1n 2n 3n
 * ```
 */
export function dwarfRegistersFromPerf(registers: UserRegisters): (bigint | undefined)[] {
  const byPerf = new Map<number, bigint>();
  let i = 0;
  for (let bit = 0; bit < 64 && i < registers.regs.length; bit++) {
    if ((registers.mask >> BigInt(bit)) & 1n) byPerf.set(bit, registers.regs[i++]);
  }
  return DWARF_TO_PERF.map((p) => byPerf.get(p));
}

/** Processes whose unwinder perf would have registered (-1), or the map count seen without. */
const registered = new WeakMap<ElfCache, Map<number, number>>();

/**
 * Whether perf would have registered a libunwind address space for the process by now:
 * it does so when a map whose file it can read is inserted (`unwind__prepare_access` needs
 * `dso__type`). Before that (no maps yet, or only files missing here) a DWARF sample gets
 * no user frames, not even the sampled IP. One rule for `script` and the loaders.
 *
 * @param spaces The address spaces of the session.
 * @param elfCache The ELF files the unwinder reads.
 * @param pid The process.
 * @returns True when user frames are unwound for it.
 */
export function unwinderRegistered(
  spaces: AddressSpaces,
  elfCache: ElfCache,
  pid: number,
): boolean {
  let seen = registered.get(elfCache);
  if (seen === undefined) registered.set(elfCache, seen = new Map());
  const state = seen.get(pid);
  if (state === -1) return true;
  const maps = spaces.existingProcess(pid)?.entries() ?? [];
  if (state === maps.length) return false;
  const ok = maps.some((m) => elfCache.loader(m) !== undefined);
  seen.set(pid, ok ? -1 : maps.length);
  return ok;
}

const cfiCache = new WeakMap<ElfFile, CfiTable | null>();

/**
 * The CFI perf 6.1's libunwind driver can use in a file: `.eh_frame` through
 * its `.eh_frame_hdr` search table only (`read_unwind_spec_eh_frame` looks up
 * `.eh_frame_hdr` and gives up without it). perf's `.debug_frame` fallback is
 * compiled only where libunwind exports `dwarf_find_debug_frame`
 * (`NO_LIBUNWIND_DEBUG_FRAME` otherwise), which x86-64 builds do not, so a
 * file without `.eh_frame_hdr` (a static binary linked without
 * `--eh-frame-hdr`) is not unwound past its first frame.
 *
 * @param elf The mapped ELF.
 * @returns Its usable CFI, or undefined.
 */
export function perfUnwindCfi(elf: ElfFile): CfiTable | undefined {
  const hdr = elf.sectionIndex(".eh_frame_hdr");
  if (hdr < 0 || elf.sections[hdr].type === 8 || elf.sections[hdr].size === 0n) return undefined;
  const t = CfiTable.fromElf(elf);
  return t?.section.kind === "eh_frame" ? t : undefined;
}

function cfiOf(elf: ElfFile): CfiTable | undefined {
  let t = cfiCache.get(elf);
  if (t === undefined) {
    try {
      t = perfUnwindCfi(elf) ?? null;
    } catch (e) {
      if (!(e instanceof CfiError)) throw e;
      t = null;
    }
    cfiCache.set(elf, t);
  }
  return t ?? undefined;
}

/**
 * Translate a runtime address into the ELF's virtual-address space:
 * file offset `addr - start + pgoff`, then through the PT_LOAD segment that
 * holds that offset.
 *
 * @param elf The mapped ELF.
 * @param mapping Its mapping.
 * @param address Runtime address inside the mapping.
 * @returns The ELF virtual address.
 */
export function elfAddressOf(elf: ElfFile, mapping: UnwindMapping, address: bigint): bigint {
  const offset = address - mapping.start + mapping.pgoff;
  for (const p of elf.programHeaders) {
    if (p.type === PT_LOAD && offset >= p.offset && offset < p.offset + p.filesz) {
      return offset - p.offset + p.vaddr;
    }
  }
  return offset;
}

/** A bounded view of the copied user stack. */
class StackCopy {
  readonly #sp: bigint;
  readonly #end: bigint;
  readonly #view: DataView;

  constructor(sp: bigint, stack: UserStack) {
    const size = Math.min(stack.dynSize, stack.data.length);
    this.#sp = sp;
    this.#end = sp + BigInt(size);
    this.#view = new DataView(stack.data.buffer, stack.data.byteOffset, size);
  }

  /**
   * perf's `access_mem`: a word is read from the copy only when
   * `sp <= addr && addr + 8 < sp + dyn_size`; any other read "succeeds" with
   * the value 0 (perf logs it and returns 0 to libunwind).
   */
  read(address: bigint, size = 8): bigint {
    if (address < this.#sp || address + 8n >= this.#end) return 0n;
    const at = Number(address - this.#sp);
    const lo = this.#view.getUint32(at, true), hi = this.#view.getUint32(at + 4, true);
    const v = (BigInt(hi) << 32n) | BigInt(lo);
    return size >= 8 ? v : v & ((1n << BigInt(size * 8)) - 1n);
  }
}

/**
 * Where a register's value in the current frame lives: a known value, or a
 * stack slot read only when the value is needed (libunwind keeps locations,
 * so a callee-saved slot already popped below SP is harmless until used).
 */
type RegisterLocation = { value: bigint } | { address: bigint } | undefined;

class RegisterFile {
  readonly locations: RegisterLocation[];
  readonly #memory: StackCopy;

  constructor(locations: RegisterLocation[], memory: StackCopy) {
    this.locations = locations;
    this.#memory = memory;
  }

  /** The value of a register, or undefined when unknown or unreadable. */
  get(n: number): bigint | undefined {
    const loc = this.locations[n];
    if (loc === undefined) return undefined;
    return "value" in loc ? loc.value : this.#memory.read(loc.address);
  }

  memory(address: bigint, size: number): bigint | undefined {
    return this.#memory.read(address, size);
  }

  with(locations: RegisterLocation[]): RegisterFile {
    return new RegisterFile(locations, this.#memory);
  }
}

interface StepOutcome {
  registers: RegisterFile;
  ip: bigint;
  cfa: bigint;
  signalFrame: boolean;
}

/**
 * Unwind the user stack of one sample.
 *
 * @param registers Sampled user registers.
 * @param stack Sampled user stack copy.
 * @param lookup Mapping lookup for the sampled process.
 * @param loadElf Opens the ELF behind a mapping.
 * @param options Depth limit.
 * @returns Frames (first: sample IP; then return address - 1) and the stop reason.
 */
export function unwindUserDetailed(
  registers: UserRegisters,
  stack: UserStack,
  lookup: MapLookup,
  loadElf: ElfLoader,
  options: UnwindOptions = {},
): UnwindResult {
  const result = unwindFrames(registers, stack, lookup, loadElf, options);
  // libunwind's get_entries (perf's unwind-libunwind-local.c) reports no entry
  // for an address 0 (`ips[j] ? entry(...) : 0`): a user IP of 0 is no frame.
  if (!result.frames.includes(0n)) return result;
  return { frames: result.frames.filter((ip) => ip !== 0n), stop: result.stop };
}

/** The walk of {@linkcode unwindUserDetailed}, every address kept. */
function unwindFrames(
  registers: UserRegisters,
  stack: UserStack,
  lookup: MapLookup,
  loadElf: ElfLoader,
  options: UnwindOptions,
): UnwindResult {
  const maxStack = options.maxStack ?? DEFAULT_MAX_STACK;
  const initial = dwarfRegistersFromPerf(registers);
  const ip = initial[X86_64_RA_REGISTER], sp = initial[X86_64_SP_REGISTER];
  if (ip === undefined || sp === undefined) return { frames: [], stop: "no-regs" };
  const frames: bigint[] = [ip];
  if (maxStack <= 1) return { frames: frames.slice(0, maxStack), stop: "max-stack" };
  const memory = new StackCopy(sp, stack);
  let regs = new RegisterFile(
    initial.map((v) => v === undefined ? undefined : { value: v }),
    memory,
  );
  let pc = ip;
  let currentCfa = sp; // libunwind's cursor CFA: SP at start
  let exactPc = true; // first frame, or caller of a signal frame
  let prevCfa: bigint | undefined;
  while (frames.length < maxStack) {
    const lookupPc = exactPc ? pc : BigInt.asUintN(64, pc - 1n);
    const mapping = lookup(lookupPc);
    if (mapping === undefined) return { frames, stop: "no-map" };
    const elf = loadElf(mapping);
    const cfi = elf === undefined ? undefined : cfiOf(elf);
    if (elf === undefined || cfi === undefined) return { frames, stop: "no-cfi" };
    let outcome: StepOutcome | UnwindStop;
    let fde;
    try {
      fde = cfi.find(elfAddressOf(elf, mapping, lookupPc));
    } catch (e) {
      if (!(e instanceof CfiError)) throw e;
      return { frames, stop: "bad-cfi" };
    }
    if (fde !== undefined) {
      outcome = dwarfStep(regs, () => computeRow(fde, elfAddressOf(elf, mapping, lookupPc)));
      if (typeof outcome !== "string") outcome.signalFrame = fde.cie.signalFrame;
    } else {
      outcome = framePointerStep(regs, currentCfa);
    }
    if (typeof outcome === "string") return { frames, stop: outcome };
    const nextIp = outcome.ip;
    if (nextIp === pc && outcome.cfa === prevCfa) return { frames, stop: "no-progress" };
    prevCfa = outcome.cfa;
    currentCfa = outcome.cfa;
    regs = outcome.registers;
    pc = nextIp;
    exactPc = outcome.signalFrame;
    // perf decrements every IP except the one interrupted by a signal (the
    // caller of an 'S' CIE frame); a return address read outside the stack
    // copy is 0 and prints as 0 - 1.
    frames.push(outcome.signalFrame ? nextIp : BigInt.asUintN(64, nextIp - 1n));
  }
  return { frames, stop: "max-stack" };
}

/**
 * Unwind the user stack of one sample; see {@linkcode unwindUserDetailed}.
 *
 * @param registers Sampled user registers (`sample.regsUser.regs` and `attr.sampleRegsUser`).
 * @param stack Sampled user stack (`sample.stackUser`).
 * @param lookup Mapping lookup for the sampled process.
 * @param loadElf Opens the ELF behind a mapping ({@linkcode ElfCache.loader}).
 * @param options Depth limit.
 * @returns Runtime frame addresses as perf prints them (map them with
 *   `ip - start + pgoff` for `perf script -F ip` output).
 * @example
 * ```ts
 * import { ElfCache, unwindUser } from "./unwind.ts";
 * declare const sample: { regsUser: { regs: BigUint64Array }; stackUser: { data: Uint8Array; dynSize: number } };
 * declare const lookup: (a: bigint) => { start: bigint; end: bigint; pgoff: bigint; filename: string } | undefined;
 * const cache = new ElfCache();
 * const frames = unwindUser({ mask: 0xff0fffn, regs: sample.regsUser.regs }, sample.stackUser,
 *   lookup, cache.loader);
 * cache.close();
 * ```
 */
export function unwindUser(
  registers: UserRegisters,
  stack: UserStack,
  lookup: MapLookup,
  loadElf: ElfLoader,
  options: UnwindOptions = {},
): bigint[] {
  return unwindUserDetailed(registers, stack, lookup, loadElf, options).frames;
}

function dwarfStep(
  regs: RegisterFile,
  row: () => ReturnType<typeof computeRow>,
): StepOutcome | UnwindStop {
  let r;
  try {
    r = row();
  } catch (e) {
    if (e instanceof CfiError) return "bad-cfi";
    throw e;
  }
  const context: ExpressionContext = {
    register: (n) => regs.get(n),
    memory: (a, size) => regs.memory(a, size),
  };
  let cfa: bigint;
  try {
    if (r.cfa.kind === "registerOffset") {
      const base = regs.get(r.cfa.register);
      if (base === undefined) return "bad-register";
      cfa = BigInt.asUintN(64, base + r.cfa.offset);
    } else {
      cfa = evaluateExpression(r.cfa.expression, context);
    }
    const raRule = r.registers.get(X86_64_RA_REGISTER);
    if (raRule === undefined || raRule.kind === "undefined") return "end-of-stack";
    const next: RegisterLocation[] = regs.locations.slice();
    next[X86_64_SP_REGISTER] = { value: cfa };
    for (const [n, rule] of r.registers) {
      if (n >= DWARF_REGISTER_COUNT) continue;
      switch (rule.kind) {
        case "undefined":
          next[n] = undefined;
          break;
        case "same":
          break;
        case "offset":
          next[n] = { address: BigInt.asUintN(64, cfa + rule.offset) };
          break;
        case "valOffset":
          next[n] = { value: BigInt.asUintN(64, cfa + rule.offset) };
          break;
        case "register":
          next[n] = regs.locations[rule.register];
          break;
        case "expression":
          next[n] = { address: evaluateExpression(rule.expression, context, [cfa]) };
          break;
        case "valExpression":
          next[n] = { value: evaluateExpression(rule.expression, context, [cfa]) };
          break;
      }
    }
    const registers = regs.with(next);
    const ip = registers.get(X86_64_RA_REGISTER);
    if (ip === undefined) return "bad-read";
    return { registers, ip, cfa, signalFrame: false };
  } catch (e) {
    if (e instanceof ExpressionError) return "bad-read";
    throw e;
  }
}

/**
 * libunwind x86-64's fallback when no FDE covers the IP (`unw_step` after
 * `-UNW_ENOINFO`): guess an RBP frame. The guess is rejected (end of chain)
 * when RBP is 0, below the current CFA or more than 0x4000 above it, and
 * the walk ends when the guessed return address is 0. All other registers
 * become unknown.
 */
function framePointerStep(regs: RegisterFile, currentCfa: bigint): StepOutcome | UnwindStop {
  const rbp = regs.get(DWARF_RBP);
  if (rbp === undefined || rbp === 0n) return "end-of-stack";
  if (rbp < currentCfa || rbp - currentCfa > 0x4000n) return "end-of-stack";
  const next: RegisterLocation[] = new Array(DWARF_REGISTER_COUNT).fill(undefined);
  next[DWARF_RBP] = { address: rbp };
  next[X86_64_SP_REGISTER] = { value: rbp + 16n };
  next[X86_64_RA_REGISTER] = { address: rbp + 8n };
  const registers = regs.with(next);
  const ip = registers.get(X86_64_RA_REGISTER);
  if (ip === undefined || ip === 0n) return "end-of-stack";
  return { registers, ip, cfa: currentCfa + 16n, signalFrame: false };
}

/**
 * The callchain `perf script` prints for a `--call-graph dwarf` sample: the
 * kernel entries of PERF_SAMPLE_CALLCHAIN (markers dropped, at most
 * `maxStack`, stopping at PERF_CONTEXT_USER since user frames come from the
 * unwinder), then the unwound user frames (at most `maxStack`).
 *
 * @param callchain PERF_SAMPLE_CALLCHAIN entries (may be undefined).
 * @param userFrames Result of {@linkcode unwindUser}.
 * @param maxStack Depth limit of each part (default 127).
 * @returns Addresses, leaf first.
 */
export function fullCallchain(
  callchain: BigUint64Array | undefined,
  userFrames: readonly bigint[],
  maxStack = DEFAULT_MAX_STACK,
): bigint[] {
  const out: bigint[] = [];
  if (callchain !== undefined) {
    for (const ip of callchain) {
      if (ip === PerfContext.USER) break;
      if (ip >= PerfContext.MAX) continue;
      if (out.length >= maxStack) break;
      out.push(ip);
    }
  }
  return out.concat(userFrames.slice(0, maxStack));
}

/** Options of {@linkcode ElfCache}. */
export interface ElfCacheOptions {
  /**
   * Image used for `[vdso]` mappings: a file path (e.g. perf's build-id
   * cache copy), `false` for none (the walk then ends in the vdso), or
   * undefined (default) for this process's own vdso ({@linkcode readOwnVdso}),
   * which is what perf 6.1 does (`tools/perf/util/vdso.c`).
   */
  vdso?: string | false;
  /**
   * Where the bytes of a mapped file are (perf's `dso__data_fd`: the build-id
   * cache, then the path under `--symfs`): a path, `null` for none, or
   * undefined for the recorded path itself (and this process's vdso).
   */
  resolvePath?: (filename: string) => string | null | undefined;
}

/**
 * Opens and caches the ELF files behind mappings by file name; files that
 * cannot be opened or parsed are remembered as missing. `[vdso]` mappings
 * get the vdso image of this process (see {@linkcode ElfCacheOptions.vdso}).
 */
export class ElfCache {
  readonly #files = new Map<string, ElfFile | null>();
  readonly #vdso: string | false | undefined;
  readonly #resolve: ((filename: string) => string | null | undefined) | undefined;

  /**
   * Create an empty cache.
   *
   * @param options Where the `[vdso]` image and mapped files come from.
   */
  constructor(options: ElfCacheOptions = {}) {
    this.#vdso = options.vdso;
    this.#resolve = options.resolvePath;
  }

  /** An {@linkcode ElfLoader} bound to this cache. */
  readonly loader: ElfLoader = (mapping) => this.open(mapping.filename);

  /**
   * Open (once) the ELF file at a path.
   *
   * @param filename Path of the mapped file, or `[vdso]`.
   * @returns The parsed file, or undefined for other pseudo-files
   *   (`[stack]`, `//anon`), unreadable files, and `[vdso]` when no vdso
   *   image is available.
   */
  open(filename: string): ElfFile | undefined {
    let f = this.#files.get(filename);
    if (f === undefined) {
      f = null;
      const path = this.#resolve?.(filename);
      if (path === null) {
        // nothing may stand in for this file
      } else if (path !== undefined) {
        f = openElf(path);
      } else if (filename === VDSO_NAME) {
        f = this.#openVdso();
      } else if (filename.startsWith("/") && !filename.startsWith("//")) {
        f = openElf(filename);
      }
      this.#files.set(filename, f);
    }
    return f ?? undefined;
  }

  #openVdso(): ElfFile | null {
    if (this.#vdso === false) return null;
    if (this.#vdso !== undefined) return openElf(this.#vdso);
    const image = readOwnVdso();
    if (image === undefined) return null;
    try {
      return ElfFile.parse(memorySource(image, VDSO_NAME));
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      return null;
    }
  }

  /** Close every opened file. */
  close(): void {
    for (const f of this.#files.values()) f?.close();
    this.#files.clear();
  }
}

const VDSO_NAME = "[vdso]";

/** Open an ELF file; missing or non-ELF files give null (unwinding ends at that map, as in perf). */
function openElf(path: string): ElfFile | null {
  try {
    return ElfFile.open(path);
  } catch (e) {
    if (
      !(e instanceof ElfError || e instanceof Deno.errors.NotFound ||
        e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.IsADirectory)
    ) {
      throw e;
    }
    return null;
  }
}
