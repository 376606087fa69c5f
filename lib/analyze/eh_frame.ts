/**
 * DWARF call-frame information (CFI) for ELF64 x86-64: `.eh_frame` (with the
 * `.eh_frame_hdr` binary-search table when present) and `.debug_frame`.
 *
 * - {@linkcode CfiTable} finds the FDE covering an address;
 * - {@linkcode computeRow} runs the CIE and FDE instructions up to an address
 *   and returns the unwind row (CFA rule and register rules);
 * - {@linkcode evaluateExpression} evaluates the DWARF expressions that CFI
 *   uses (e.g. the PLT CFA expression `breg7 8; breg16 0; lit15; and; lit11;
 *   ge; lit3; shl; plus`).
 *
 * Addresses are ELF virtual addresses (`sh_addr` space) as bigints.
 *
 * @module
 */

import type { ElfFile } from "./elf.ts";

/** Malformed CFI or an unsupported construct, with the section offset. */
export class CfiError extends Error {
  /** Offset inside the CFI section (or expression) where the problem was found. */
  readonly offset: number;

  /**
   * Create the error.
   *
   * @param offset Offset of the problem.
   * @param message What is wrong.
   */
  constructor(offset: number, message: string) {
    super(`CFI offset 0x${offset.toString(16)}: ${message}`);
    this.name = "CfiError";
    this.offset = offset;
  }
}

/** DW_EH_PE_* pointer encodings. */
export const PointerEncoding = {
  ABSPTR: 0x00,
  ULEB128: 0x01,
  UDATA2: 0x02,
  UDATA4: 0x03,
  UDATA8: 0x04,
  SLEB128: 0x09,
  SDATA2: 0x0a,
  SDATA4: 0x0b,
  SDATA8: 0x0c,
  PCREL: 0x10,
  TEXTREL: 0x20,
  DATAREL: 0x30,
  FUNCREL: 0x40,
  ALIGNED: 0x50,
  INDIRECT: 0x80,
  OMIT: 0xff,
} as const;

/** x86-64 DWARF register number of the return address (RIP). */
export const X86_64_RA_REGISTER = 16;
/** x86-64 DWARF register number of RSP. */
export const X86_64_SP_REGISTER = 7;

/** Base addresses that pointer encodings are relative to. */
export interface PointerBases {
  /** Virtual address of byte 0 of the section being read (for PCREL). */
  section: bigint;
  /** DATAREL base (the `.eh_frame_hdr` address), if known. */
  data?: bigint;
  /** TEXTREL base, if known. */
  text?: bigint;
  /** FUNCREL base (the FDE's initial location), if known. */
  func?: bigint;
}

/** A bounds-checked little-endian cursor over section bytes. */
export class ByteCursor {
  /** The bytes. */
  readonly bytes: Uint8Array;
  /** Current offset. */
  pos: number;
  readonly #view: DataView;

  /**
   * Create a cursor.
   *
   * @param bytes Bytes to read.
   * @param pos Start offset.
   */
  constructor(bytes: Uint8Array, pos = 0) {
    this.bytes = bytes;
    this.pos = pos;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  #need(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.length || at < 0) {
      throw new CfiError(at, `read of ${n} bytes runs past end (${this.bytes.length})`);
    }
    this.pos = at + n;
    return at;
  }

  /**
   * Read the next u8.
   *
   * @returns The value.
   */
  u8(): number {
    return this.#view.getUint8(this.#need(1));
  }
  /**
   * Read the next u16.
   *
   * @returns The value.
   */
  u16(): number {
    return this.#view.getUint16(this.#need(2), true);
  }
  /**
   * Read the next u32.
   *
   * @returns The value.
   */
  u32(): number {
    return this.#view.getUint32(this.#need(4), true);
  }
  /**
   * Read the next i8.
   *
   * @returns The value.
   */
  i8(): number {
    return this.#view.getInt8(this.#need(1));
  }
  /**
   * Read the next i16.
   *
   * @returns The value.
   */
  i16(): number {
    return this.#view.getInt16(this.#need(2), true);
  }
  /**
   * Read the next i32.
   *
   * @returns The value.
   */
  i32(): number {
    return this.#view.getInt32(this.#need(4), true);
  }
  /**
   * Read the next u64 (read as two u32 halves).
   *
   * @returns The value.
   */
  u64(): bigint {
    const at = this.#need(8);
    const lo = this.#view.getUint32(at, true), hi = this.#view.getUint32(at + 4, true);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /**
   * Read the next i64.
   *
   * @returns The value.
   */
  i64(): bigint {
    return BigInt.asIntN(64, this.u64());
  }
  /**
   * Read the next ULEB128 as a bigint.
   *
   * @returns The value.
   */
  uleb(): bigint {
    let result = 0n, shift = 0n;
    for (;;) {
      const b = this.u8();
      if (shift < 64n) result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
  }
  /**
   * Read the next ULEB128 as a number (values above 2^53 are an error).
   *
   * @returns The value.
   */
  ulebNumber(): number {
    const at = this.pos;
    const v = this.uleb();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CfiError(at, `ULEB128 ${v} too large`);
    return Number(v);
  }
  /**
   * Read the next SLEB128 as a bigint.
   *
   * @returns The value.
   */
  sleb(): bigint {
    let result = 0n, shift = 0n, b: number;
    do {
      b = this.u8();
      if (shift < 64n) result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (shift < 64n && (b & 0x40) !== 0) result |= -(1n << shift);
    return BigInt.asIntN(64, result);
  }
  /**
   * Take the next `n` bytes.
   *
   * @param n Byte count.
   * @returns The bytes (a view, not a copy).
   */
  take(n: number): Uint8Array {
    const at = this.#need(n);
    return this.bytes.subarray(at, at + n);
  }
  /**
   * Read the next NUL-terminated ASCII string.
   *
   * @returns The value.
   */
  cstring(): string {
    let end = this.bytes.indexOf(0, this.pos);
    if (end < 0) throw new CfiError(this.pos, "unterminated string");
    const s = String.fromCharCode(...this.bytes.subarray(this.pos, end));
    end++;
    this.pos = end;
    return s;
  }

  /**
   * Read a DW_EH_PE-encoded pointer.
   *
   * @param encoding The encoding byte.
   * @param bases Base addresses for relative encodings.
   * @returns The pointer, or undefined for DW_EH_PE_omit. For
   *   DW_EH_PE_indirect (personality GOT slots) the slot's address is
   *   returned, not dereferenced: only the size matters to the unwinder.
   * @throws {CfiError} On unknown encodings or missing bases.
   */
  encoded(encoding: number, bases: PointerBases): bigint | undefined {
    if (encoding === PointerEncoding.OMIT) return undefined;
    const at = this.pos;
    let value: bigint;
    switch (encoding & 0x0f) {
      case PointerEncoding.ABSPTR:
      case PointerEncoding.UDATA8:
        value = this.u64();
        break;
      case PointerEncoding.ULEB128:
        value = this.uleb();
        break;
      case PointerEncoding.UDATA2:
        value = BigInt(this.u16());
        break;
      case PointerEncoding.UDATA4:
        value = BigInt(this.u32());
        break;
      case PointerEncoding.SLEB128:
        value = this.sleb();
        break;
      case PointerEncoding.SDATA2:
        value = BigInt(this.i16());
        break;
      case PointerEncoding.SDATA4:
        value = BigInt(this.i32());
        break;
      case PointerEncoding.SDATA8:
        value = this.i64();
        break;
      default:
        throw new CfiError(at, `unknown pointer format 0x${encoding.toString(16)}`);
    }
    let base: bigint | undefined;
    switch (encoding & 0x70) { // DW_EH_PE_indirect (0x80) is not applied
      case 0:
        base = 0n;
        break;
      case PointerEncoding.PCREL:
        base = bases.section + BigInt(at);
        break;
      case PointerEncoding.TEXTREL:
        base = bases.text;
        break;
      case PointerEncoding.DATAREL:
        base = bases.data;
        break;
      case PointerEncoding.FUNCREL:
        base = bases.func;
        break;
      default:
        throw new CfiError(at, `unsupported pointer application 0x${encoding.toString(16)}`);
    }
    if (base === undefined) {
      throw new CfiError(at, `no base for pointer encoding 0x${encoding.toString(16)}`);
    }
    return BigInt.asUintN(64, value + base);
  }
}

/** A Common Information Entry. */
export interface Cie {
  /** Offset in its section. */
  offset: number;
  /** CIE version (1, 3 or 4). */
  version: number;
  /** Augmentation string ("zR", "zPLR", "zRS", ...). */
  augmentation: string;
  /** Code alignment factor. */
  codeAlign: bigint;
  /** Data alignment factor. */
  dataAlign: bigint;
  /** Return-address register. */
  raRegister: number;
  /** Pointer encoding of FDE addresses ('R'); ABSPTR without it. */
  fdeEncoding: number;
  /** LSDA pointer encoding ('L'), or OMIT. */
  lsdaEncoding: number;
  /** Personality routine address ('P'), if any. */
  personality?: bigint;
  /** Whether 'S' marks frames of this CIE as signal frames. */
  signalFrame: boolean;
  /** Initial instructions. */
  instructions: Uint8Array;
}

/** A Frame Description Entry. */
export interface Fde {
  /** Offset in its section. */
  offset: number;
  /** Its CIE. */
  cie: Cie;
  /** First covered address. */
  pcBegin: bigint;
  /** End of the covered range (exclusive). */
  pcEnd: bigint;
  /** LSDA address, if any. */
  lsda?: bigint;
  /** CFA instructions. */
  instructions: Uint8Array;
}

/** Which kind of CFI section is being read. */
export type CfiKind = "eh_frame" | "debug_frame";

/** One CFI section in memory: bytes, load address and kind. */
export interface CfiSection {
  /** Section contents. */
  bytes: Uint8Array;
  /** Section virtual address (`sh_addr`). */
  address: bigint;
  /** `.eh_frame` or `.debug_frame` layout. */
  kind: CfiKind;
}

interface EntryHeader {
  /** Offset of the length field. */
  start: number;
  /** Offset after the entry. */
  end: number;
  /** Offset of the CIE-id / CIE-pointer field. */
  idAt: number;
  /** CIE id or pointer value. */
  id: bigint;
  /** Whether the entry uses the 64-bit DWARF format. */
  dwarf64: boolean;
  /** Offset after the id field. */
  body: number;
}

/** Read the length/id prefix of the entry at `at`; undefined for a terminator. */
function readEntryHeader(bytes: Uint8Array, at: number): EntryHeader | undefined {
  const c = new ByteCursor(bytes, at);
  let length = BigInt(c.u32());
  if (length === 0n) return undefined;
  let dwarf64 = false;
  if (length === 0xffffffffn) {
    length = c.u64();
    dwarf64 = true;
  }
  const idAt = c.pos;
  const end = idAt + Number(length);
  if (end > bytes.length || end <= idAt) {
    throw new CfiError(at, `entry length ${length} runs past section end (${bytes.length})`);
  }
  const id = dwarf64 ? c.u64() : BigInt(c.u32());
  return { start: at, end, idAt, id, dwarf64, body: c.pos };
}

function isCieId(h: EntryHeader, kind: CfiKind): boolean {
  if (kind === "eh_frame") return h.id === 0n;
  return h.dwarf64 ? h.id === 0xffffffffffffffffn : h.id === 0xffffffffn;
}

/**
 * Parse the CIE at `offset`.
 *
 * @param section The CFI section.
 * @param offset Offset of the CIE's length field.
 * @returns The CIE.
 * @throws {CfiError} When the entry is not a well-formed CIE.
 */
export function parseCie(section: CfiSection, offset: number): Cie {
  const h = readEntryHeader(section.bytes, offset);
  if (h === undefined) throw new CfiError(offset, "terminator where a CIE was expected");
  if (!isCieId(h, section.kind)) throw new CfiError(offset, "entry is not a CIE");
  const c = new ByteCursor(section.bytes.subarray(0, h.end), h.body);
  const version = c.u8();
  if (version !== 1 && version !== 3 && version !== 4) {
    throw new CfiError(offset, `unsupported CIE version ${version}`);
  }
  const augmentation = c.cstring();
  if (version === 4) {
    const addressSize = c.u8();
    c.u8(); // segment selector size
    if (addressSize !== 8) throw new CfiError(offset, `address size ${addressSize} (only 8)`);
  }
  if (augmentation.includes("eh")) c.u64(); // old GCC eh_ptr
  const codeAlign = c.uleb();
  const dataAlign = c.sleb();
  const raRegister = version === 1 ? c.u8() : c.ulebNumber();
  const cie: Cie = {
    offset,
    version,
    augmentation,
    codeAlign,
    dataAlign,
    raRegister,
    fdeEncoding: section.kind === "eh_frame" ? PointerEncoding.ABSPTR : PointerEncoding.UDATA8,
    lsdaEncoding: PointerEncoding.OMIT,
    signalFrame: false,
    instructions: new Uint8Array(0),
  };
  if (augmentation.startsWith("z")) {
    const augLength = c.ulebNumber();
    const augEnd = c.pos + augLength;
    const bases: PointerBases = { section: section.address };
    for (const ch of augmentation.slice(1)) {
      if (ch === "R") cie.fdeEncoding = c.u8();
      else if (ch === "L") cie.lsdaEncoding = c.u8();
      else if (ch === "P") cie.personality = c.encoded(c.u8(), bases);
      else if (ch === "S") cie.signalFrame = true;
      else if (ch === "B" || ch === "G") continue; // AArch64 BTI / MTE markers, no data
      else break; // unknown: the 'z' length lets us skip the rest
    }
    if (augEnd > h.end) throw new CfiError(offset, "augmentation data runs past CIE");
    c.pos = augEnd;
  } else if (augmentation !== "" && augmentation !== "eh") {
    throw new CfiError(offset, `unsupported augmentation "${augmentation}"`);
  }
  cie.instructions = section.bytes.subarray(c.pos, h.end);
  return cie;
}

/**
 * Parse the FDE at `offset` (with its CIE, cached in `cies`).
 *
 * @param section The CFI section.
 * @param offset Offset of the FDE's length field.
 * @param cies CIE cache keyed by offset.
 * @returns The FDE, or undefined when the entry is a CIE or a terminator.
 * @throws {CfiError} On malformed entries.
 */
export function parseFde(
  section: CfiSection,
  offset: number,
  cies: Map<number, Cie> = new Map(),
): Fde | undefined {
  const h = readEntryHeader(section.bytes, offset);
  if (h === undefined || isCieId(h, section.kind)) return undefined;
  const cieOffset = section.kind === "eh_frame" ? h.idAt - Number(h.id) : Number(h.id);
  if (cieOffset < 0 || cieOffset >= section.bytes.length) {
    throw new CfiError(offset, `CIE pointer 0x${h.id.toString(16)} out of section`);
  }
  let cie = cies.get(cieOffset);
  if (cie === undefined) {
    cie = parseCie(section, cieOffset);
    cies.set(cieOffset, cie);
  }
  const c = new ByteCursor(section.bytes.subarray(0, h.end), h.body);
  const bases: PointerBases = { section: section.address };
  const pcBegin = c.encoded(cie.fdeEncoding, bases) ?? 0n;
  const range = c.encoded(cie.fdeEncoding & 0x0f, bases) ?? 0n;
  let lsda: bigint | undefined;
  if (cie.augmentation.startsWith("z")) {
    const augLength = c.ulebNumber();
    const augEnd = c.pos + augLength;
    if (cie.lsdaEncoding !== PointerEncoding.OMIT && augLength > 0) {
      lsda = c.encoded(cie.lsdaEncoding, { ...bases, func: pcBegin });
    }
    c.pos = augEnd;
  }
  if (c.pos > h.end) throw new CfiError(offset, "FDE header runs past its end");
  return {
    offset,
    cie,
    pcBegin,
    pcEnd: BigInt.asUintN(64, pcBegin + range),
    lsda,
    instructions: section.bytes.subarray(c.pos, h.end),
  };
}

/** Entry of an address -> FDE offset search table (`.eh_frame_hdr`). */
export interface TableEntry {
  /** First address covered by the FDE. */
  pc: bigint;
  /** Offset of the FDE in `.eh_frame`. */
  fdeOffset: number;
}

/**
 * FDE lookup for one CFI section: through the `.eh_frame_hdr` table when one
 * is given, otherwise through a sorted index built by scanning the section.
 */
export class CfiTable {
  /** The CFI section. */
  readonly section: CfiSection;
  readonly #cies = new Map<number, Cie>();
  readonly #fdes = new Map<number, Fde>();
  #table: TableEntry[] | undefined;

  /**
   * Create a table.
   *
   * @param section The `.eh_frame` or `.debug_frame` section.
   * @param table Optional sorted (pc, FDE section offset) pairs.
   */
  constructor(section: CfiSection, table?: { pc: bigint; fdeOffset: number }[]) {
    this.section = section;
    this.#table = table;
  }

  /**
   * Build a table from an ELF file: `.eh_frame` (through `.eh_frame_hdr`
   * when usable), else `.debug_frame`.
   *
   * @param elf The ELF file.
   * @returns The table, or undefined when the file has no CFI.
   * @throws {CfiError} When `.eh_frame_hdr` is malformed.
   */
  static fromElf(elf: ElfFile): CfiTable | undefined {
    const ehIndex = elf.sectionIndex(".eh_frame");
    if (ehIndex >= 0 && elf.sections[ehIndex].size > 0n && elf.sections[ehIndex].type !== 8) {
      const s = elf.sections[ehIndex];
      const section: CfiSection = {
        bytes: elf.readSection(ehIndex),
        address: s.addr,
        kind: "eh_frame",
      };
      const hdrIndex = elf.sectionIndex(".eh_frame_hdr");
      let table: TableEntry[] | undefined;
      if (hdrIndex >= 0 && elf.sections[hdrIndex].type !== 8) {
        table = parseEhFrameHdr(
          elf.readSection(hdrIndex),
          elf.sections[hdrIndex].addr,
          section.address,
        );
      }
      return new CfiTable(section, table);
    }
    const dfIndex = elf.sectionIndex(".debug_frame");
    if (dfIndex >= 0 && elf.sections[dfIndex].size > 0n && elf.sections[dfIndex].type !== 8) {
      return new CfiTable({
        bytes: elf.readSection(dfIndex),
        address: elf.sections[dfIndex].addr,
        kind: "debug_frame",
      });
    }
    return undefined;
  }

  /**
   * Parse (and cache) the FDE at a section offset.
   *
   * @param offset Offset of the FDE.
   * @returns The FDE, or undefined when the entry is not an FDE.
   */
  fdeAt(offset: number): Fde | undefined {
    let fde = this.#fdes.get(offset);
    if (fde === undefined) {
      fde = parseFde(this.section, offset, this.#cies);
      if (fde !== undefined) this.#fdes.set(offset, fde);
    }
    return fde;
  }

  /**
   * Scan the whole section for FDEs, sorted by start address.
   *
   * @returns Every FDE with a non-empty range.
   */
  allFdes(): Fde[] {
    const out: Fde[] = [];
    const bytes = this.section.bytes;
    let at = 0;
    while (at + 4 <= bytes.length) {
      const h = readEntryHeader(bytes, at);
      if (h === undefined) {
        // A zero terminator ends .eh_frame; .debug_frame has none, skip padding.
        if (this.section.kind === "eh_frame") break;
        at += 4;
        continue;
      }
      if (!isCieId(h, this.section.kind)) {
        const fde = this.fdeAt(at);
        if (fde !== undefined && fde.pcEnd > fde.pcBegin) out.push(fde);
      }
      at = h.end;
    }
    return out.sort((a, b) => (a.pcBegin < b.pcBegin ? -1 : a.pcBegin > b.pcBegin ? 1 : 0));
  }

  /**
   * Find the FDE whose `[pcBegin, pcEnd)` contains `pc`.
   *
   * @param pc ELF virtual address.
   * @returns The FDE, or undefined.
   */
  find(pc: bigint): Fde | undefined {
    if (this.#table === undefined) {
      this.#table = this.allFdes().map((f) => ({ pc: f.pcBegin, fdeOffset: f.offset }));
    }
    const t = this.#table;
    let lo = 0, hi = t.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid].pc <= pc) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const fde = this.fdeAt(t[found].fdeOffset);
    if (fde === undefined || pc < fde.pcBegin || pc >= fde.pcEnd) return undefined;
    return fde;
  }
}

/**
 * Parse `.eh_frame_hdr`'s binary-search table.
 *
 * @param bytes Section contents.
 * @param hdrAddress Virtual address of `.eh_frame_hdr`.
 * @param ehFrameAddress Virtual address of `.eh_frame` (to turn FDE addresses into offsets).
 * @returns Sorted (pc, FDE offset) pairs, or undefined when the header has no table.
 * @throws {CfiError} On an unknown version or truncated table.
 */
export function parseEhFrameHdr(
  bytes: Uint8Array,
  hdrAddress: bigint,
  ehFrameAddress: bigint,
): TableEntry[] | undefined {
  const c = new ByteCursor(bytes);
  const version = c.u8();
  if (version !== 1) throw new CfiError(0, `.eh_frame_hdr version ${version}`);
  const ptrEnc = c.u8(), countEnc = c.u8(), tableEnc = c.u8();
  const bases: PointerBases = { section: hdrAddress, data: hdrAddress };
  c.encoded(ptrEnc, bases); // eh_frame_ptr
  if (countEnc === PointerEncoding.OMIT || tableEnc === PointerEncoding.OMIT) return undefined;
  const count = c.encoded(countEnc, bases) ?? 0n;
  if (count > BigInt(bytes.length)) throw new CfiError(c.pos, `fde_count ${count} too large`);
  const out: TableEntry[] = [];
  for (let i = 0; i < Number(count); i++) {
    const pc = c.encoded(tableEnc, bases) ?? 0n;
    const fde = c.encoded(tableEnc, bases) ?? 0n;
    out.push({ pc, fdeOffset: Number(BigInt.asIntN(64, fde - ehFrameAddress)) });
  }
  return out;
}

/** How a register is recovered in the caller frame. */
export type RegisterRule =
  | { kind: "undefined" }
  | { kind: "same" }
  | { kind: "offset"; offset: bigint }
  | { kind: "valOffset"; offset: bigint }
  | { kind: "register"; register: number }
  | { kind: "expression"; expression: Uint8Array }
  | { kind: "valExpression"; expression: Uint8Array };

/** How the CFA is computed. */
export type CfaRule =
  | { kind: "registerOffset"; register: number; offset: bigint }
  | { kind: "expression"; expression: Uint8Array };

/** One row of the unwind table. */
export interface UnwindRow {
  /** Address where the row starts. */
  location: bigint;
  /** CFA rule. */
  cfa: CfaRule;
  /** Rules for registers that have one (others: same value). */
  registers: Map<number, RegisterRule>;
}

interface RowState {
  cfa: CfaRule;
  registers: Map<number, RegisterRule>;
}

/** Maximum DW_CFA_remember_state nesting accepted. */
const MAX_STATE_STACK = 64;

function cloneState(s: RowState): RowState {
  return { cfa: { ...s.cfa }, registers: new Map(s.registers) };
}

/**
 * Run `instructions` on `state`, stopping before the first advance that moves
 * past `pc`.
 *
 * @returns false when execution stopped because of `pc`.
 */
function execute(
  instructions: Uint8Array,
  cie: Cie,
  state: RowState,
  loc: { value: bigint },
  pc: bigint,
  initial: RowState | undefined,
  baseOffset: number,
): void {
  const c = new ByteCursor(instructions);
  const stack: RowState[] = [];
  const advance = (delta: bigint): boolean => {
    const next = loc.value + delta * cie.codeAlign;
    if (next > pc) return false;
    loc.value = next;
    return true;
  };
  const setCfaOffset = (offset: bigint, at: number) => {
    if (state.cfa.kind !== "registerOffset") {
      throw new CfiError(baseOffset + at, "def_cfa_offset with an expression CFA");
    }
    state.cfa = { kind: "registerOffset", register: state.cfa.register, offset };
  };
  const restore = (reg: number) => {
    const rule = initial?.registers.get(reg);
    if (rule === undefined) state.registers.delete(reg);
    else state.registers.set(reg, rule);
  };
  while (c.pos < instructions.length) {
    const at = c.pos;
    const op = c.u8();
    const high = op & 0xc0, low = op & 0x3f;
    if (high === 0x40) {
      if (!advance(BigInt(low))) return;
      continue;
    }
    if (high === 0x80) {
      state.registers.set(low, { kind: "offset", offset: c.uleb() * cie.dataAlign });
      continue;
    }
    if (high === 0xc0) {
      restore(low);
      continue;
    }
    switch (op) {
      case 0x00: // nop
        break;
      case 0x01: { // set_loc
        if ((cie.fdeEncoding & 0x70) !== 0) {
          throw new CfiError(baseOffset + at, "relative DW_CFA_set_loc is not supported");
        }
        const target = c.encoded(cie.fdeEncoding, { section: 0n }) ?? 0n;
        if (target > pc) return;
        loc.value = target;
        break;
      }
      case 0x02:
        if (!advance(BigInt(c.u8()))) return;
        break;
      case 0x03:
        if (!advance(BigInt(c.u16()))) return;
        break;
      case 0x04:
        if (!advance(BigInt(c.u32()))) return;
        break;
      case 0x05: { // offset_extended
        const reg = c.ulebNumber();
        state.registers.set(reg, { kind: "offset", offset: c.uleb() * cie.dataAlign });
        break;
      }
      case 0x06: // restore_extended
        restore(c.ulebNumber());
        break;
      case 0x07: // undefined
        state.registers.set(c.ulebNumber(), { kind: "undefined" });
        break;
      case 0x08: // same_value
        state.registers.set(c.ulebNumber(), { kind: "same" });
        break;
      case 0x09: { // register
        const reg = c.ulebNumber();
        state.registers.set(reg, { kind: "register", register: c.ulebNumber() });
        break;
      }
      case 0x0a: // remember_state
        if (stack.length >= MAX_STATE_STACK) {
          throw new CfiError(baseOffset + at, "remember_state nesting too deep");
        }
        stack.push(cloneState(state));
        break;
      case 0x0b: { // restore_state
        const saved = stack.pop();
        if (saved === undefined) throw new CfiError(baseOffset + at, "restore_state underflow");
        state.cfa = saved.cfa;
        state.registers = saved.registers;
        break;
      }
      case 0x0c: { // def_cfa
        const register = c.ulebNumber();
        state.cfa = { kind: "registerOffset", register, offset: c.uleb() };
        break;
      }
      case 0x0d: { // def_cfa_register
        const register = c.ulebNumber();
        const offset = state.cfa.kind === "registerOffset" ? state.cfa.offset : 0n;
        state.cfa = { kind: "registerOffset", register, offset };
        break;
      }
      case 0x0e: // def_cfa_offset
        setCfaOffset(c.uleb(), at);
        break;
      case 0x0f: // def_cfa_expression
        state.cfa = { kind: "expression", expression: c.take(c.ulebNumber()) };
        break;
      case 0x10: { // expression
        const reg = c.ulebNumber();
        state.registers.set(reg, { kind: "expression", expression: c.take(c.ulebNumber()) });
        break;
      }
      case 0x11: { // offset_extended_sf
        const reg = c.ulebNumber();
        state.registers.set(reg, { kind: "offset", offset: c.sleb() * cie.dataAlign });
        break;
      }
      case 0x12: { // def_cfa_sf
        const register = c.ulebNumber();
        state.cfa = { kind: "registerOffset", register, offset: c.sleb() * cie.dataAlign };
        break;
      }
      case 0x13: // def_cfa_offset_sf
        setCfaOffset(c.sleb() * cie.dataAlign, at);
        break;
      case 0x14: { // val_offset
        const reg = c.ulebNumber();
        state.registers.set(reg, { kind: "valOffset", offset: c.uleb() * cie.dataAlign });
        break;
      }
      case 0x15: { // val_offset_sf
        const reg = c.ulebNumber();
        state.registers.set(reg, { kind: "valOffset", offset: c.sleb() * cie.dataAlign });
        break;
      }
      case 0x16: { // val_expression
        const reg = c.ulebNumber();
        state.registers.set(reg, { kind: "valExpression", expression: c.take(c.ulebNumber()) });
        break;
      }
      case 0x2e: // GNU_args_size
        c.uleb();
        break;
      case 0x2f: { // GNU_negative_offset_extended
        const reg = c.ulebNumber();
        state.registers.set(reg, { kind: "offset", offset: -(c.uleb() * cie.dataAlign) });
        break;
      }
      default:
        throw new CfiError(baseOffset + at, `unsupported DW_CFA opcode 0x${op.toString(16)}`);
    }
  }
}

/**
 * Compute the unwind row in effect at `pc` for an FDE.
 *
 * @param fde The FDE covering `pc`.
 * @param pc Address (ELF virtual address space).
 * @returns The row.
 * @throws {CfiError} On unsupported or malformed instructions.
 * @example
 * ```ts
 * import { CfiTable, computeRow } from "./eh_frame.ts";
 * declare const table: CfiTable;
 * const fde = table.find(0x1139n);
 * if (fde) console.log(computeRow(fde, 0x1139n).cfa);
 * ```
 */
export function computeRow(fde: Fde, pc: bigint): UnwindRow {
  const state: RowState = {
    cfa: { kind: "registerOffset", register: X86_64_SP_REGISTER, offset: 8n },
    registers: new Map(),
  };
  const loc = { value: fde.pcBegin };
  execute(fde.cie.instructions, fde.cie, state, loc, BigInt.asUintN(64, -1n), undefined, 0);
  const initial = cloneState(state);
  loc.value = fde.pcBegin;
  execute(fde.instructions, fde.cie, state, loc, pc, initial, fde.offset);
  return { location: loc.value, cfa: state.cfa, registers: state.registers };
}

/** Register and memory access for {@linkcode evaluateExpression}. */
export interface ExpressionContext {
  /**
   * Read a register of the frame being unwound.
   *
   * @param register DWARF register number.
   * @returns Its value, or undefined when unknown.
   */
  register(register: number): bigint | undefined;
  /**
   * Read memory.
   *
   * @param address Address to read.
   * @param size Byte count (1..8).
   * @returns The little-endian value, or undefined when unreadable.
   */
  memory(address: bigint, size: number): bigint | undefined;
}

/** Evaluation failed (unknown register, unreadable memory, bad opcode). */
export class ExpressionError extends Error {
  /** Offset inside the expression. */
  readonly offset: number;

  /**
   * Create the error.
   *
   * @param offset Offset inside the expression.
   * @param message What failed.
   */
  constructor(offset: number, message: string) {
    super(`DWARF expression offset ${offset}: ${message}`);
    this.name = "ExpressionError";
    this.offset = offset;
  }
}

const MAX_EXPRESSION_STEPS = 10000;

/**
 * Evaluate a DWARF expression (the stack-machine subset CFI uses).
 *
 * @param expression The expression bytes.
 * @param context Register and memory access.
 * @param initialStack Values pushed before evaluation (the CFA for
 *   DW_CFA_expression / DW_CFA_val_expression).
 * @returns The value on top of the stack.
 * @throws {ExpressionError} On unknown registers, unreadable memory, stack
 *   underflow, unsupported opcodes, or more than 10000 steps.
 * @example PLT CFA: `breg7 8; breg16 0; lit15; and; lit11; ge; lit3; shl; plus`
 * ```ts
 * import { evaluateExpression } from "./eh_frame.ts";
 * const expr = Uint8Array.of(0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22);
 * const regs = new Map([[7, 0x1000n], [16, 0x40102cn]]);
 * evaluateExpression(expr, { register: (r) => regs.get(r), memory: () => undefined });
 * // 0x1010n: rip & 15 = 12 >= 11, so 8 more bytes were pushed
 * ```
 */
export function evaluateExpression(
  expression: Uint8Array,
  context: ExpressionContext,
  initialStack: readonly bigint[] = [],
): bigint {
  const c = new ByteCursor(expression);
  const stack: bigint[] = [...initialStack];
  let at = 0;
  const fail = (msg: string): never => {
    throw new ExpressionError(at, msg);
  };
  const pop = (): bigint => stack.pop() ?? fail("stack underflow");
  const push = (v: bigint) => stack.push(BigInt.asUintN(64, v));
  const reg = (r: number): bigint => context.register(r) ?? fail(`register ${r} unknown`);
  const mem = (a: bigint, size: number): bigint =>
    context.memory(a, size) ?? fail(`memory at 0x${a.toString(16)} unreadable`);
  const signed = (v: bigint) => BigInt.asIntN(64, v);
  for (let steps = 0; c.pos < expression.length; steps++) {
    if (steps > MAX_EXPRESSION_STEPS) fail("too many steps");
    at = c.pos;
    const op = c.u8();
    if (op >= 0x30 && op <= 0x4f) {
      push(BigInt(op - 0x30));
      continue;
    }
    if (op >= 0x70 && op <= 0x8f) {
      push(reg(op - 0x70) + c.sleb());
      continue;
    }
    switch (op) {
      case 0x03:
        push(c.u64());
        break;
      case 0x06:
        push(mem(pop(), 8));
        break;
      case 0x08:
        push(BigInt(c.u8()));
        break;
      case 0x09:
        push(BigInt(c.i8()));
        break;
      case 0x0a:
        push(BigInt(c.u16()));
        break;
      case 0x0b:
        push(BigInt(c.i16()));
        break;
      case 0x0c:
        push(BigInt(c.u32()));
        break;
      case 0x0d:
        push(BigInt(c.i32()));
        break;
      case 0x0e:
        push(c.u64());
        break;
      case 0x0f:
        push(c.i64());
        break;
      case 0x10:
        push(c.uleb());
        break;
      case 0x11:
        push(c.sleb());
        break;
      case 0x12: { // dup
        const v = pop();
        stack.push(v, v);
        break;
      }
      case 0x13:
        pop();
        break;
      case 0x14: // over
        if (stack.length < 2) fail("stack underflow");
        stack.push(stack[stack.length - 2]);
        break;
      case 0x15: { // pick
        const i = c.u8();
        if (i >= stack.length) fail("pick beyond stack");
        stack.push(stack[stack.length - 1 - i]);
        break;
      }
      case 0x16: { // swap
        const a = pop(), b = pop();
        stack.push(a, b);
        break;
      }
      case 0x17: { // rot
        const a = pop(), b = pop(), d = pop();
        stack.push(a, d, b);
        break;
      }
      case 0x19: { // abs
        const v = signed(pop());
        push(v < 0n ? -v : v);
        break;
      }
      case 0x1a: {
        const b = pop(), a = pop();
        push(a & b);
        break;
      }
      case 0x1b: { // div (signed)
        const b = signed(pop()), a = signed(pop());
        if (b === 0n) fail("division by zero");
        push(a / b);
        break;
      }
      case 0x1c: {
        const b = pop(), a = pop();
        push(a - b);
        break;
      }
      case 0x1d: {
        const b = pop(), a = pop();
        if (b === 0n) fail("modulo by zero");
        push(a % b);
        break;
      }
      case 0x1e: {
        const b = pop(), a = pop();
        push(a * b);
        break;
      }
      case 0x1f:
        push(-pop());
        break;
      case 0x20:
        push(~pop());
        break;
      case 0x21: {
        const b = pop(), a = pop();
        push(a | b);
        break;
      }
      case 0x22: {
        const b = pop(), a = pop();
        push(a + b);
        break;
      }
      case 0x23:
        push(pop() + c.uleb());
        break;
      case 0x24: {
        const b = pop(), a = pop();
        push(b >= 64n ? 0n : a << b);
        break;
      }
      case 0x25: {
        const b = pop(), a = pop();
        push(b >= 64n ? 0n : a >> b);
        break;
      }
      case 0x26: {
        const b = pop(), a = signed(pop());
        push(a >> (b >= 64n ? 63n : b));
        break;
      }
      case 0x27: {
        const b = pop(), a = pop();
        push(a ^ b);
        break;
      }
      case 0x28: { // bra
        const off = c.i16();
        if (pop() !== 0n) c.pos += off;
        if (c.pos < 0 || c.pos > expression.length) fail("branch out of expression");
        break;
      }
      case 0x29:
      case 0x2a:
      case 0x2b:
      case 0x2c:
      case 0x2d:
      case 0x2e: {
        const b = signed(pop()), a = signed(pop());
        const r = op === 0x29
          ? a === b
          : op === 0x2a
          ? a >= b
          : op === 0x2b
          ? a > b
          : op === 0x2c
          ? a <= b
          : op === 0x2d
          ? a < b
          : a !== b;
        push(r ? 1n : 0n);
        break;
      }
      case 0x2f: { // skip
        const off = c.i16();
        c.pos += off;
        if (c.pos < 0 || c.pos > expression.length) fail("skip out of expression");
        break;
      }
      case 0x92: // bregx
        push(reg(c.ulebNumber()) + c.sleb());
        break;
      case 0x94: { // deref_size
        const size = c.u8();
        if (size < 1 || size > 8) fail(`deref_size ${size}`);
        push(mem(pop(), size));
        break;
      }
      case 0x96: // nop
        break;
      default:
        fail(`unsupported DW_OP 0x${op.toString(16)}`);
    }
  }
  return stack.pop() ?? fail("empty stack at end");
}
