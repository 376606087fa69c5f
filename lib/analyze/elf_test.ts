import assert from "node:assert/strict";
import { ElfError, ElfFile, elfSymbolTable, fileSource, memorySource, SHT_SYMTAB } from "./elf.ts";

interface TestSym {
  name: string;
  value: bigint;
  size: bigint;
  type: number;
  bind: number;
  shndx: number;
  other?: number;
}

/**
 * Build a minimal ELF64 LE file: one PT_LOAD (vaddr 0x401000 <- offset
 * 0x1000) and one PT_NOTE, sections null, .text, .data (no ALLOC),
 * .note.gnu.build-id, .symtab, .strtab, .shstrtab.
 */
function buildElf(syms: TestSym[], buildId = [0xde, 0xad, 0xbe, 0xef]): Uint8Array {
  const enc = new TextEncoder();
  const shstr = ["", ".text", ".data", ".note.gnu.build-id", ".symtab", ".strtab", ".shstrtab"];
  const shstrBytes: number[] = [];
  const shName: number[] = [];
  for (const n of shstr) {
    shName.push(shstrBytes.length);
    shstrBytes.push(...enc.encode(n), 0);
  }
  const strBytes: number[] = [0];
  const nameOff = syms.map((s) => {
    const o = strBytes.length;
    strBytes.push(...enc.encode(s.name), 0);
    return o;
  });
  const note = new Uint8Array(16 + buildId.length);
  const nv = new DataView(note.buffer);
  nv.setUint32(0, 4, true);
  nv.setUint32(4, buildId.length, true);
  nv.setUint32(8, 3, true);
  note.set([0x47, 0x4e, 0x55, 0], 12);
  note.set(buildId, 16);

  const textOff = 0x1000, textSize = 0x100;
  const noteOff = 0x1100;
  const symOff = 0x1200, symSize = 24 * (syms.length + 1);
  const strOff = symOff + symSize;
  const shstrOff = strOff + strBytes.length;
  const shOff = (shstrOff + shstrBytes.length + 7) & ~7;
  const total = shOff + 64 * shstr.length;
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 62, true);
  v.setBigUint64(32, 64n, true); // phoff
  v.setBigUint64(40, BigInt(shOff), true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 2, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, shstr.length, true);
  v.setUint16(62, 6, true);
  // PT_LOAD
  v.setUint32(64, 1, true);
  v.setUint32(68, 5, true);
  v.setBigUint64(72, BigInt(textOff), true);
  v.setBigUint64(80, 0x401000n, true);
  v.setBigUint64(96, BigInt(textSize), true);
  v.setBigUint64(104, BigInt(textSize), true);
  // PT_NOTE
  v.setUint32(120, 4, true);
  v.setBigUint64(128, BigInt(noteOff), true);
  v.setBigUint64(152, BigInt(note.length), true);
  b.set(note, noteOff);
  syms.forEach((s, i) => {
    const at = symOff + 24 * (i + 1);
    v.setUint32(at, nameOff[i], true);
    b[at + 4] = (s.bind << 4) | s.type;
    b[at + 5] = s.other ?? 0;
    v.setUint16(at + 6, s.shndx, true);
    v.setBigUint64(at + 8, s.value, true);
    v.setBigUint64(at + 16, s.size, true);
  });
  b.set(strBytes, strOff);
  b.set(shstrBytes, shstrOff);
  const sh = (
    i: number,
    type: number,
    flags: bigint,
    addr: bigint,
    off: number,
    size: number,
    link = 0,
    entsize = 0n,
  ) => {
    const at = shOff + 64 * i;
    v.setUint32(at, shName[i], true);
    v.setUint32(at + 4, type, true);
    v.setBigUint64(at + 8, flags, true);
    v.setBigUint64(at + 16, addr, true);
    v.setBigUint64(at + 24, BigInt(off), true);
    v.setBigUint64(at + 32, BigInt(size), true);
    v.setUint32(at + 40, link, true);
    v.setBigUint64(at + 56, entsize, true);
  };
  sh(1, 1, 6n, 0x401000n, textOff, textSize);
  sh(2, 1, 0n, 0n, textOff, 0x10);
  sh(3, 7, 2n, 0n, noteOff, note.length);
  sh(4, 2, 0n, 0n, symOff, symSize, 5, 24n);
  sh(5, 3, 0n, 0n, strOff, strBytes.length);
  sh(6, 3, 0n, 0n, shstrOff, shstrBytes.length);
  return b;
}

const FUNC = 2, OBJECT = 1, NOTYPE = 0, GLOBAL = 1, LOCAL = 0;

Deno.test("hand-built ELF: headers, build-id, symbol filtering and file-offset adjustment", () => {
  const bytes = buildElf([
    { name: "alpha", value: 0x401000n, size: 0x10n, type: FUNC, bind: GLOBAL, shndx: 1 },
    { name: "beta", value: 0x401020n, size: 0n, type: FUNC, bind: LOCAL, shndx: 1 },
    { name: "label", value: 0x401040n, size: 0n, type: NOTYPE, bind: LOCAL, shndx: 1 },
    {
      name: "hidden_label",
      value: 0x401060n,
      size: 0n,
      type: NOTYPE,
      bind: LOCAL,
      shndx: 1,
      other: 2,
    },
    { name: "undef", value: 0n, size: 0n, type: FUNC, bind: GLOBAL, shndx: 0 },
    { name: "not_alloc", value: 0x401080n, size: 4n, type: OBJECT, bind: GLOBAL, shndx: 2 },
    { name: "abs", value: 0x4010a0n, size: 4n, type: FUNC, bind: GLOBAL, shndx: 0xfff1 },
    { name: "outside", value: 0x500000n, size: 4n, type: FUNC, bind: GLOBAL, shndx: 1 },
  ]);
  const elf = ElfFile.parse(memorySource(bytes));
  assert.equal(elf.header.type, 2);
  assert.equal(elf.programHeaders.length, 2);
  assert.deepEqual(elf.sections.map((s) => s.name).slice(1), [
    ".text",
    ".data",
    ".note.gnu.build-id",
    ".symtab",
    ".strtab",
    ".shstrtab",
  ]);
  assert.equal(elf.buildId(), "deadbeef");
  assert.equal(elf.readSymbols(SHT_SYMTAB)?.symbols.length, 9);
  const t = elfSymbolTable(elf, elf);
  const names = Array.from({ length: t.length }, (_, i) => t.nameAt(i));
  assert.deepEqual(names, ["alpha", "beta", "label", "outside"]);
  // PT_LOAD: st_value - (0x401000 - 0x1000)
  assert.equal(t.startAt(0), 0x1000n);
  assert.equal(t.endAt(0), 0x1010n);
  assert.equal(t.endAt(1), 0x1040n); // zero-size beta ends at label
  // No segment covers 0x500000: falls back to sh_addr - sh_offset of .text.
  assert.equal(t.startAt(3), 0x500000n - 0x400000n);
  elf.close();
});

Deno.test("malformed ELF input raises ElfError with the offending offset", () => {
  const good = buildElf([]);
  const badMagic = good.slice();
  badMagic[1] = 0;
  assert.throws(() => ElfFile.parse(memorySource(badMagic)), (e: unknown) => {
    assert.ok(e instanceof ElfError);
    assert.equal(e.offset, 0);
    return true;
  });
  const elf32 = good.slice();
  elf32[4] = 1;
  assert.throws(() => ElfFile.parse(memorySource(elf32)), /offset 0x4: unsupported ELF class 1/);
  const truncated = good.slice(0, good.length - 10);
  assert.throws(() => ElfFile.parse(memorySource(truncated)), ElfError);
  const badStr = good.slice();
  const v = new DataView(badStr.buffer);
  const shOff = Number(v.getBigUint64(40, true));
  v.setBigUint64(shOff + 64 * 6 + 24, 0xffffffn, true); // .shstrtab offset past EOF
  assert.throws(
    () => ElfFile.parse(memorySource(badStr)),
    /offset 0xffffff: section .* beyond end of file/,
  );
});

function hasCommand(cmd: string): boolean {
  try {
    new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "real gcc binary: symbols and addresses agree with nm",
  ignore: !hasCommand("gcc") || !hasCommand("nm"),
  fn() {
    const dir = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(
        `${dir}/t.c`,
        "int counter;\n__attribute__((noinline)) int helper(int x) { return x * 3 + counter; }\n" +
          "int main(int c, char **v) { (void)v; return helper(c); }\n",
      );
      const cc = new Deno.Command("gcc", { args: ["-O1", "-o", `${dir}/t`, `${dir}/t.c`] })
        .outputSync();
      assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
      const nm = new TextDecoder().decode(
        new Deno.Command("nm", { args: ["--defined-only", `${dir}/t`] }).outputSync().stdout,
      );
      const nmValue = (name: string) => {
        const line = nm.split("\n").find((l) => l.endsWith(` ${name}`));
        assert.ok(line, `nm lacks ${name}`);
        return BigInt("0x" + line.split(" ")[0]);
      };
      const elf = ElfFile.parse(fileSource(`${dir}/t`));
      const t = elfSymbolTable(elf, elf);
      for (const name of ["main", "helper", "counter"]) {
        const vaddr = nmValue(name);
        const seg = elf.loadSegmentFor(vaddr);
        assert.ok(seg);
        const fileOff = vaddr - (seg.vaddr - seg.offset);
        const i = t.find(fileOff);
        assert.ok(i >= 0, `${name} not found at 0x${fileOff.toString(16)}`);
        assert.equal(t.nameAt(i), name);
        assert.equal(t.startAt(i), fileOff);
      }
      assert.match(elf.buildId() ?? "", /^[0-9a-f]{40}$/);
      elf.close();
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
