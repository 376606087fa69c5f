/**
 * A bounded ELF64 little-endian reader: header, program headers, section
 * headers, symbol tables, build-id note and `.gnu_debuglink`, read through
 * positioned reads so large binaries are never loaded whole.
 *
 * {@linkcode elfSymbolTable} turns a symbol table into a
 * {@linkcode SymbolTable} with perf 6.1's `dso__load_sym` rules for user
 * DSOs: which symbols are kept, and how `st_value` is moved into file-offset
 * space (`st_value - (p_vaddr - p_offset)` of the runtime binary's PT_LOAD
 * segment, falling back to `sh_addr - sh_offset`).
 *
 * @module
 */

import { SymbolTable } from "./symbols.ts";

/** A malformed or unsupported ELF file. */
export class ElfError extends Error {
  /** File offset where the problem was found. */
  readonly offset: number;
  /** File being read (or "<memory>"). */
  readonly source: string;

  /**
   * Create the error.
   *
   * @param source File being read.
   * @param offset File offset of the problem.
   * @param message What is wrong.
   */
  constructor(source: string, offset: number, message: string) {
    super(`${source}: ELF offset 0x${offset.toString(16)}: ${message}`);
    this.name = "ElfError";
    this.offset = offset;
    this.source = source;
  }
}

/** Random-access bytes: a file or an in-memory buffer. */
export interface ByteSource {
  /** Name used in error messages. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Read exactly `length` bytes at `offset`.
   * @param offset Start offset.
   * @param length Byte count.
   * @returns The bytes (short only if the source is shorter, which callers check).
   */
  read(offset: number, length: number): Uint8Array;
  /** Release resources. */
  close(): void;
}

/**
 * A {@linkcode ByteSource} over an in-memory buffer.
 *
 * @param bytes The buffer.
 * @param name Name for error messages.
 * @returns The source.
 */
export function memorySource(bytes: Uint8Array, name = "<memory>"): ByteSource {
  return {
    name,
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
    close: () => {},
  };
}

/**
 * Open a file as a {@linkcode ByteSource} using synchronous positioned reads.
 *
 * @param path File to open.
 * @returns The source; call `close()` when done.
 */
export function fileSource(path: string): ByteSource {
  const file = Deno.openSync(path, { read: true });
  let size: number;
  try {
    size = file.statSync().size;
  } catch (e) {
    file.close();
    throw e;
  }
  return {
    name: path,
    size,
    read(offset, length) {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      file.seekSync(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < out.length) {
        const n = file.readSync(out.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      return got === out.length ? out : out.subarray(0, got);
    },
    close: () => file.close(),
  };
}

/**
 * Copy this process's `[vdso]` image, as perf does to read the vdso of a
 * recording (`tools/perf/util/vdso.c`): find the `[vdso]` line of
 * `/proc/self/maps` and read that range from `/proc/self/mem`. The kernel
 * maps the same image into every process, so it is the vdso of recordings
 * made on this machine under the running kernel.
 *
 * @param procRoot Directory holding `maps` and `mem` (default `/proc/self`).
 * @returns The image, or undefined when there is no vdso or it cannot be read.
 * @example
 * ```ts
 * import { ElfFile, memorySource, readOwnVdso } from "./elf.ts";
 * const image = readOwnVdso();
 * if (image !== undefined) {
 *   const vdso = ElfFile.parse(memorySource(image, "[vdso]"));
 *   console.log(vdso.buildId());
 * }
 * ```
 */
export function readOwnVdso(procRoot = "/proc/self"): Uint8Array | undefined {
  let maps: string;
  try {
    maps = Deno.readTextFileSync(`${procRoot}/maps`);
  } catch {
    return undefined;
  }
  const line = maps.split("\n").find((l) => l.endsWith(" [vdso]"));
  if (line === undefined) return undefined;
  const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
  if (m === null) return undefined;
  const lo = parseInt(m[1], 16), hi = parseInt(m[2], 16);
  if (!(hi > lo) || hi - lo > 1 << 24) return undefined;
  let mem: Deno.FsFile;
  try {
    mem = Deno.openSync(`${procRoot}/mem`, { read: true });
  } catch {
    return undefined;
  }
  try {
    const buf = new Uint8Array(hi - lo);
    mem.seekSync(lo, Deno.SeekMode.Start);
    let got = 0;
    while (got < buf.length) {
      const n = mem.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    return got === 0 ? undefined : buf.subarray(0, got);
  } catch {
    return undefined;
  } finally {
    mem.close();
  }
}

/** ELF file type: executable. */
export const ET_EXEC = 2;
/** ELF file type: shared object / PIE. */
export const ET_DYN = 3;
/** Program header type: loadable segment. */
export const PT_LOAD = 1;
/** Program header type: note segment. */
export const PT_NOTE = 4;
/** Section type: symbol table. */
export const SHT_SYMTAB = 2;
/** Section type: note. */
export const SHT_NOTE = 7;
/** Section type: occupies no file space (.bss, sections of a debug file). */
export const SHT_NOBITS = 8;
/** Section type: dynamic symbol table. */
export const SHT_DYNSYM = 11;
/** Section flag: occupies memory at run time. */
export const SHF_ALLOC = 2;
/** Special section index: undefined. */
export const SHN_UNDEF = 0;
/** Special section index: absolute value. */
export const SHN_ABS = 0xfff1;

/** The ELF file header fields this reader uses. */
export interface ElfHeader {
  /** e_type (ET_EXEC, ET_DYN, ...). */
  type: number;
  /** e_machine. */
  machine: number;
  /** e_entry. */
  entry: bigint;
  /** Program header table offset. */
  phoff: number;
  /** Number of program headers. */
  phnum: number;
  /** Section header table offset. */
  shoff: number;
  /** Number of section headers. */
  shnum: number;
  /** Index of the section-name string table. */
  shstrndx: number;
}

/** One program header. */
export interface ProgramHeader {
  /** p_type. */
  type: number;
  /** p_flags. */
  flags: number;
  /** p_offset. */
  offset: bigint;
  /** p_vaddr. */
  vaddr: bigint;
  /** p_filesz. */
  filesz: bigint;
  /** p_memsz. */
  memsz: bigint;
}

/** One section header, with its resolved name. */
export interface SectionHeader {
  /** Section name from .shstrtab ("" if none). */
  name: string;
  /** sh_type. */
  type: number;
  /** sh_flags. */
  flags: bigint;
  /** sh_addr. */
  addr: bigint;
  /** sh_offset. */
  offset: bigint;
  /** sh_size. */
  size: bigint;
  /** sh_link. */
  link: number;
  /** sh_entsize. */
  entsize: bigint;
}

/** One ELF symbol as stored (before perf's filtering). */
export interface ElfSymbol {
  /** Offset of the name in the linked string table. */
  nameOffset: number;
  /** st_info. */
  info: number;
  /** st_other. */
  other: number;
  /** st_shndx. */
  shndx: number;
  /** st_value. */
  value: bigint;
  /** st_size. */
  size: bigint;
}

/** A symbol table section with its string table. */
export interface ElfSymbolSection {
  /** Symbols in file order (index 0, the null symbol, included). */
  symbols: ElfSymbol[];
  /** The linked string table bytes. */
  strings: Uint8Array;
}

/** Upper bound for a single section read (a symbol table or string table). */
const MAX_SECTION_BYTES = 512 * 1024 * 1024;
const MAX_HEADERS = 65536;

const decoder = new TextDecoder();

/**
 * Read a NUL-terminated string from a string table.
 *
 * @param table String table bytes.
 * @param offset Offset of the string.
 * @returns The string ("" when out of range).
 */
export function cString(table: Uint8Array, offset: number): string {
  if (offset >= table.length) return "";
  let end = table.indexOf(0, offset);
  if (end < 0) end = table.length;
  return decoder.decode(table.subarray(offset, end));
}

function u64(view: DataView, at: number): bigint {
  return (BigInt(view.getUint32(at + 4, true)) << 32n) | BigInt(view.getUint32(at, true));
}

/** A parsed ELF64 LE file; section contents are read on demand. */
export class ElfFile {
  /** The byte source (owned: closed by {@linkcode ElfFile.close}). */
  readonly source: ByteSource;
  /** File header. */
  readonly header: ElfHeader;
  /** Program headers. */
  readonly programHeaders: ProgramHeader[];
  /** Section headers (index = section number). */
  readonly sections: SectionHeader[];

  private constructor(
    source: ByteSource,
    header: ElfHeader,
    phdrs: ProgramHeader[],
    sections: SectionHeader[],
  ) {
    this.source = source;
    this.header = header;
    this.programHeaders = phdrs;
    this.sections = sections;
  }

  /**
   * Parse the headers of an ELF64 little-endian file.
   *
   * @param source Bytes to parse (closed on failure).
   * @returns The parsed file.
   * @throws {ElfError} When the file is not a valid ELF64 LE image.
   * @example
   * ```ts
   * import { ElfFile, fileSource } from "./elf.ts";
   * const elf = ElfFile.parse(fileSource("/bin/true"));
   * console.log(elf.buildId());
   * elf.close();
   * ```
   */
  static parse(source: ByteSource): ElfFile {
    try {
      return ElfFile.#parse(source);
    } catch (e) {
      source.close();
      throw e;
    }
  }

  /**
   * Open and parse a file.
   *
   * @param path File path.
   * @returns The parsed file.
   */
  static open(path: string): ElfFile {
    return ElfFile.parse(fileSource(path));
  }

  static #parse(src: ByteSource): ElfFile {
    const fail = (offset: number, msg: string): never => {
      throw new ElfError(src.name, offset, msg);
    };
    const ident = src.read(0, 64);
    if (
      ident.length < 16 || ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c ||
      ident[3] !== 0x46
    ) fail(0, "bad magic (not an ELF file)");
    if (ident[4] !== 2) fail(4, `unsupported ELF class ${ident[4]} (only ELF64)`);
    if (ident[5] !== 1) fail(5, `unsupported data encoding ${ident[5]} (only little-endian)`);
    if (ident.length < 64) fail(ident.length, "truncated ELF header");
    const v = new DataView(ident.buffer, ident.byteOffset, 64);
    const phoffBig = u64(v, 32), shoffBig = u64(v, 40);
    if (phoffBig > BigInt(src.size)) fail(32, `e_phoff 0x${phoffBig.toString(16)} beyond file`);
    if (shoffBig > BigInt(src.size)) fail(40, `e_shoff 0x${shoffBig.toString(16)} beyond file`);
    const header: ElfHeader = {
      type: v.getUint16(16, true),
      machine: v.getUint16(18, true),
      entry: u64(v, 24),
      phoff: Number(phoffBig),
      phnum: v.getUint16(56, true),
      shoff: Number(shoffBig),
      shnum: v.getUint16(60, true),
      shstrndx: v.getUint16(62, true),
    };
    const phentsize = v.getUint16(54, true), shentsize = v.getUint16(58, true);

    // Extended numbering lives in section header 0.
    let raw0: DataView | undefined;
    if (header.shoff !== 0) {
      if (shentsize !== 64) fail(58, `e_shentsize ${shentsize} (expected 64)`);
      const b = src.read(header.shoff, 64);
      if (b.length < 64) fail(header.shoff, "truncated section header 0");
      raw0 = new DataView(b.buffer, b.byteOffset, 64);
      if (header.shnum === 0) header.shnum = Number(u64(raw0, 32));
      if (header.shstrndx === 0xffff) header.shstrndx = raw0.getUint32(40, true);
      if (header.phnum === 0xffff) header.phnum = raw0.getUint32(44, true);
    }
    if (header.shnum > MAX_HEADERS) fail(60, `too many sections (${header.shnum})`);
    if (header.phnum > MAX_HEADERS) fail(56, `too many program headers (${header.phnum})`);

    const phdrs: ProgramHeader[] = [];
    if (header.phnum > 0) {
      if (phentsize !== 56) fail(54, `e_phentsize ${phentsize} (expected 56)`);
      const len = header.phnum * 56;
      const b = src.read(header.phoff, len);
      if (b.length < len) fail(header.phoff, `program header table truncated`);
      const pv = new DataView(b.buffer, b.byteOffset, len);
      for (let i = 0; i < header.phnum; i++) {
        const at = i * 56;
        phdrs.push({
          type: pv.getUint32(at, true),
          flags: pv.getUint32(at + 4, true),
          offset: u64(pv, at + 8),
          vaddr: u64(pv, at + 16),
          filesz: u64(pv, at + 32),
          memsz: u64(pv, at + 40),
        });
      }
    }

    const sections: SectionHeader[] = [];
    if (header.shnum > 0) {
      const len = header.shnum * 64;
      const b = src.read(header.shoff, len);
      if (b.length < len) fail(header.shoff, `section header table truncated`);
      const sv = new DataView(b.buffer, b.byteOffset, len);
      const nameOffsets: number[] = [];
      for (let i = 0; i < header.shnum; i++) {
        const at = i * 64;
        nameOffsets.push(sv.getUint32(at, true));
        sections.push({
          name: "",
          type: sv.getUint32(at + 4, true),
          flags: u64(sv, at + 8),
          addr: u64(sv, at + 16),
          offset: u64(sv, at + 24),
          size: u64(sv, at + 32),
          link: sv.getUint32(at + 40, true),
          entsize: u64(sv, at + 56),
        });
      }
      if (header.shstrndx !== 0) {
        if (header.shstrndx >= header.shnum) {
          fail(62, `e_shstrndx ${header.shstrndx} >= e_shnum ${header.shnum}`);
        }
        const names = ElfFile.#readSectionFrom(src, sections[header.shstrndx], header, fail);
        sections.forEach((s, i) => s.name = cString(names, nameOffsets[i]));
      }
    }
    return new ElfFile(src, header, phdrs, sections);
  }

  static #readSectionFrom(
    src: ByteSource,
    section: SectionHeader,
    header: ElfHeader,
    fail: (offset: number, msg: string) => never,
  ): Uint8Array {
    if (section.type === SHT_NOBITS) return new Uint8Array(0);
    const at = header.shoff;
    if (section.size > BigInt(MAX_SECTION_BYTES)) {
      fail(at, `section "${section.name}" too large (${section.size} bytes)`);
    }
    if (section.offset + section.size > BigInt(src.size)) {
      fail(Number(section.offset), `section "${section.name}" extends beyond end of file`);
    }
    const bytes = src.read(Number(section.offset), Number(section.size));
    if (bytes.length !== Number(section.size)) {
      fail(Number(section.offset), `short read of section "${section.name}"`);
    }
    return bytes;
  }

  /**
   * Read a section's contents (empty for SHT_NOBITS).
   *
   * @param index Section index.
   * @returns The bytes.
   * @throws {ElfError} When the section lies outside the file.
   */
  readSection(index: number): Uint8Array {
    const s = this.sections[index];
    if (s === undefined) {
      throw new ElfError(this.source.name, this.header.shoff, `no section ${index}`);
    }
    return ElfFile.#readSectionFrom(this.source, s, this.header, (o, m) => {
      throw new ElfError(this.source.name, o, m);
    });
  }

  /**
   * Find a section by name.
   *
   * @param name Section name, e.g. ".symtab".
   * @returns The first section index with that name, or -1.
   */
  sectionIndex(name: string): number {
    return this.sections.findIndex((s) => s.name === name);
  }

  /**
   * Whether the file has a symbol table of a type.
   *
   * @param type SHT_SYMTAB or SHT_DYNSYM.
   * @returns Whether the file has a non-empty, readable table of that type.
   */
  hasSymbols(type: number): boolean {
    return this.sections.some((s) => s.type === type && s.size > 0n);
  }

  /**
   * Read a symbol table and its string table.
   *
   * @param type SHT_SYMTAB or SHT_DYNSYM.
   * @returns The table, or undefined when absent.
   * @throws {ElfError} On malformed tables.
   */
  readSymbols(type: number): ElfSymbolSection | undefined {
    const raw = this.readSymbolBytes(type);
    if (raw === undefined) return undefined;
    const { bytes, strings } = raw;
    const count = Math.floor(bytes.length / 24);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const symbols: ElfSymbol[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const at = i * 24;
      symbols[i] = {
        nameOffset: view.getUint32(at, true),
        info: view.getUint8(at + 4),
        other: view.getUint8(at + 5),
        shndx: view.getUint16(at + 6, true),
        value: u64(view, at + 8),
        size: u64(view, at + 16),
      };
    }
    return { symbols, strings };
  }

  /**
   * Read a symbol table's raw bytes (24-byte `Elf64_Sym` entries) and its
   * string table, with the checks of {@linkcode ElfFile.readSymbols}.
   *
   * @param type SHT_SYMTAB or SHT_DYNSYM.
   * @returns The bytes, or undefined when absent.
   * @throws {ElfError} On malformed tables.
   */
  readSymbolBytes(type: number): { bytes: Uint8Array; strings: Uint8Array } | undefined {
    const index = this.sections.findIndex((s) => s.type === type);
    if (index < 0) return undefined;
    const sec = this.sections[index];
    if (sec.size === 0n) return undefined;
    const off = Number(sec.offset);
    if (sec.entsize !== 24n) {
      throw new ElfError(this.source.name, off, `${sec.name}: sh_entsize ${sec.entsize} != 24`);
    }
    if (sec.link >= this.sections.length) {
      throw new ElfError(this.source.name, off, `${sec.name}: sh_link ${sec.link} out of range`);
    }
    return { bytes: this.readSection(index), strings: this.readSection(sec.link) };
  }

  /**
   * The GNU build-id, from a PT_NOTE segment or an SHT_NOTE section.
   *
   * @returns Lower-case hex, or undefined when the file has none.
   */
  buildId(): string | undefined {
    const regions: [number, number][] = [];
    for (const p of this.programHeaders) {
      if (p.type === PT_NOTE) regions.push([Number(p.offset), Number(p.filesz)]);
    }
    for (const s of this.sections) {
      if (s.type === SHT_NOTE) regions.push([Number(s.offset), Number(s.size)]);
    }
    for (const [offset, size] of regions) {
      if (size > 1 << 20 || offset + size > this.source.size) continue;
      const id = findBuildIdNote(this.source.read(offset, size));
      if (id !== undefined) return id;
    }
    return undefined;
  }

  /**
   * The file name recorded in `.gnu_debuglink`.
   *
   * @returns The name, or undefined.
   */
  debugLink(): string | undefined {
    const i = this.sectionIndex(".gnu_debuglink");
    if (i < 0) return undefined;
    const name = cString(this.readSection(i), 0);
    return name === "" ? undefined : name;
  }

  /**
   * perf's `elf_read_program_header`: the PT_LOAD segment whose
   * `[p_vaddr, p_vaddr + p_memsz)` contains `vaddr`.
   *
   * @param vaddr Virtual address.
   * @returns The segment, or undefined.
   */
  loadSegmentFor(vaddr: bigint): ProgramHeader | undefined {
    return this.programHeaders.find((p) =>
      p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.memsz
    );
  }

  /** Close the underlying source. */
  close(): void {
    this.source.close();
  }
}

/**
 * Scan ELF notes for NT_GNU_BUILD_ID (type 3, owner "GNU").
 *
 * @param notes Raw note bytes.
 * @returns Lower-case hex build-id, or undefined.
 */
export function findBuildIdNote(notes: Uint8Array): string | undefined {
  const v = new DataView(notes.buffer, notes.byteOffset, notes.length);
  let at = 0;
  while (at + 12 <= notes.length) {
    const namesz = v.getUint32(at, true);
    const descsz = v.getUint32(at + 4, true);
    const type = v.getUint32(at + 8, true);
    const nameAt = at + 12;
    const descAt = nameAt + ((namesz + 3) & ~3);
    const next = descAt + ((descsz + 3) & ~3);
    if (next > notes.length || next <= at) return undefined;
    if (
      type === 3 && namesz === 4 && notes[nameAt] === 0x47 && notes[nameAt + 1] === 0x4e &&
      notes[nameAt + 2] === 0x55 && notes[nameAt + 3] === 0
    ) {
      return Array.from(
        notes.subarray(descAt, descAt + descsz),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
    }
    at = next;
  }
  return undefined;
}

const STT_NOTYPE = 0;
const STV_INTERNAL = 1;
const STV_HIDDEN = 2;

/**
 * Build a user-DSO symbol table the way perf 6.1's `dso__load_sym` does.
 *
 * Kept: STT_FUNC / STT_GNU_IFUNC / STT_OBJECT symbols with a name and a
 * defined section, plus "labels" (STT_NOTYPE, default/protected visibility,
 * not SHN_ABS) in a section whose name contains "text". Symbols in sections
 * without SHF_ALLOC are dropped. Values are moved to file offsets using the
 * runtime binary's PT_LOAD segment (`st_value - (p_vaddr - p_offset)`), or
 * `sh_addr - sh_offset` when no segment covers the value; for SHT_NOBITS
 * sections of a separate debug file the runtime binary's section header is
 * used, as perf does.
 *
 * @param symsElf File holding the symbol table (binary or separate debug file).
 * @param runtimeElf The binary that was mapped (may be the same object).
 * @param insertion When given, receives every kept symbol's start and name
 *   offset in file order: the order perf inserts them into its rb-tree.
 * @returns The table (empty when neither .symtab nor .dynsym exists), map
 *   addresses are file offsets, i.e. what `map__map_ip` yields.
 */
export function elfSymbolTable(
  symsElf: ElfFile,
  runtimeElf: ElfFile,
  insertion?: { start: bigint; nameRef: number }[],
): SymbolTable {
  const table = symsElf.readSymbolBytes(SHT_SYMTAB) ?? symsElf.readSymbolBytes(SHT_DYNSYM);
  if (table === undefined) return SymbolTable.build([], () => "");
  const { bytes, strings } = table;
  const count = Math.floor(bytes.length / 24);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);

  // Per section of the symbol file: -1 when its symbols are dropped, else
  // 1 | (2 if the effective section's name contains "text"); plus the
  // effective section's `sh_addr - sh_offset` as u32 halves.
  const nsec = symsElf.sections.length;
  const secKind = new Int8Array(nsec);
  const secBiasHi = new Uint32Array(nsec), secBiasLo = new Uint32Array(nsec);
  for (let i = 0; i < nsec; i++) {
    let sec = symsElf.sections[i]!;
    secKind[i] = -1;
    if ((sec.flags & BigInt(SHF_ALLOC)) === 0n) continue;
    if (sec.type === SHT_NOBITS) {
      const runtimeSec = runtimeElf.sections[i];
      if (runtimeSec === undefined) continue;
      sec = runtimeSec;
    }
    secKind[i] = sec.name.includes("text") ? 3 : 1;
    [secBiasHi[i], secBiasLo[i]] = halves64(sec.addr - sec.offset);
  }
  // PT_LOAD segments of the runtime binary, in order, as numbers when exact.
  const segs = runtimeElf.programHeaders.filter((p) => p.type === PT_LOAD);
  const nseg = segs.length;
  const segStart = new Float64Array(nseg), segEnd = new Float64Array(nseg);
  const segBiasHi = new Uint32Array(nseg), segBiasLo = new Uint32Array(nseg);
  let segsExact = true;
  for (let j = 0; j < nseg; j++) {
    const p = segs[j]!;
    const end = p.vaddr + p.memsz;
    if (end > MAX_SAFE) segsExact = false;
    segStart[j] = Number(p.vaddr);
    segEnd[j] = Number(end);
    [segBiasHi[j], segBiasLo[j]] = halves64(p.vaddr - p.offset);
  }

  const sh = new Uint32Array(count), sl = new Uint32Array(count);
  const zh = new Uint32Array(count), zl = new Uint32Array(count);
  const bind = new Uint8Array(count);
  const refs = new Int32Array(count);
  let types: Uint8Array | undefined; // STT_* per kept symbol, once a data object is kept
  let n = 0;
  for (let i = 0; i < count; i++) {
    const at = i * 24;
    const nameOffset = view.getUint32(at, true);
    const shndx = view.getUint16(at + 6, true);
    if (nameOffset === 0 || shndx === SHN_UNDEF || shndx === SHN_ABS) continue;
    const info = bytes[at + 4]!;
    const type = info & 0xf;
    const visibility = bytes[at + 5]! & 3;
    const isLabel = type === STT_NOTYPE && visibility !== STV_HIDDEN &&
      visibility !== STV_INTERNAL;
    if (!isLabel && type !== 2 && type !== 10 && type !== 1) continue;
    if (shndx >= nsec) continue;
    const kind = secKind[shndx]!;
    if (kind < 0 || (isLabel && (kind & 2) === 0)) continue;
    const vlo = view.getUint32(at + 8, true), vhi = view.getUint32(at + 12, true);
    // elf_read_program_header: the first PT_LOAD segment containing the value.
    let seg = -1;
    if (segsExact && vhi < SAFE_HI) {
      const v = vhi * TWO_32 + vlo;
      for (let j = 0; j < nseg; j++) {
        if (v >= segStart[j]! && v < segEnd[j]!) {
          seg = j;
          break;
        }
      }
    } else {
      const v = (BigInt(vhi) << 32n) | BigInt(vlo);
      for (let j = 0; j < nseg; j++) {
        const p = segs[j]!;
        if (v >= p.vaddr && v < p.vaddr + p.memsz) {
          seg = j;
          break;
        }
      }
    }
    const bhi = seg >= 0 ? segBiasHi[seg]! : secBiasHi[shndx]!;
    const blo = seg >= 0 ? segBiasLo[seg]! : secBiasLo[shndx]!;
    // start = value - bias (mod 2^64)
    const lo = vlo - blo;
    sl[n] = lo >>> 0;
    sh[n] = (vhi - bhi - (lo < 0 ? 1 : 0)) >>> 0;
    zl[n] = view.getUint32(at + 16, true);
    zh[n] = view.getUint32(at + 20, true);
    bind[n] = info >> 4;
    if (type === 1) (types ??= new Uint8Array(count).fill(2))[n] = 1;
    refs[n] = nameOffset;
    if (insertion !== undefined) {
      insertion.push({ start: (BigInt(sh[n]!) << 32n) | BigInt(sl[n]!), nameRef: nameOffset });
    }
    n++;
  }
  return SymbolTable.buildHalves(
    sh.subarray(0, n),
    sl.subarray(0, n),
    zh.subarray(0, n),
    zl.subarray(0, n),
    bind.subarray(0, n),
    types?.subarray(0, n),
    refs.subarray(0, n),
    (ref) => cString(strings, ref),
  );
}

const TWO_32 = 0x1_0000_0000;
/** High halves below this give values below 2^53. */
const SAFE_HI = 0x20_0000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A BigInt's low 64 bits (two's complement) as [hi, lo] u32 halves. */
function halves64(value: bigint): [number, number] {
  const v = BigInt.asUintN(64, value);
  return [Number(v >> 32n), Number(v & 0xffff_ffffn)];
}
