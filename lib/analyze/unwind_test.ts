import assert from "node:assert/strict";
import { ElfFile, memorySource, readOwnVdso } from "./elf.ts";
import { CfiTable } from "./eh_frame.ts";
import {
  FIXTURE_SYMBOLS,
  perfCanRecord,
  recordDwarfProgram,
  runPerf,
} from "../testing/perf_tool.ts";
import { RecordType } from "../abi/mod.ts";
import {
  dwarfRegistersFromPerf,
  ElfCache,
  fullCallchain,
  perfUnwindCfi,
  type UnwindMapping,
  unwindUserDetailed,
  type UserRegisters,
  type UserStack,
} from "./unwind.ts";
import {
  decodeAttr,
  decodeRecord,
  type PerfEventAttr,
  type PerfRecord,
  sampleFormatOf,
  sampleIdAll,
} from "../abi/mod.ts";
import { type BuildIdEntry, decodeBuildIds, FeatureCursor } from "../perfdata/features.ts";

const HEADER_BUILD_ID = 2;
const SCRIPT_CLI = new URL("../../cli/script.ts", import.meta.url).pathname;
const CHUNK = 64 * 1024;

/** What {@linkcode readPerfData} returns. */
interface PerfDataContents {
  /** The first attr of the file. */
  attr: PerfEventAttr;
  /** Records of the data section, in file order. */
  records: PerfRecord[];
  /** BUILD_ID feature entries (empty when absent). */
  buildIds: BuildIdEntry[];
}

function u64(v: DataView, at: number): number {
  return v.getUint32(at + 4, true) * 2 ** 32 + v.getUint32(at, true);
}

function readAt(file: Deno.FsFile, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  file.seekSync(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = file.readSync(out.subarray(got));
    if (n === null || n === 0) throw new Error(`short read at offset ${offset + got}`);
    got += n;
  }
  return out;
}

/**
 * Read a single-event file-mode perf.data in 64 KiB chunks.
 *
 * @param path perf.data path.
 * @returns Attr, records and build ids.
 */
function readPerfData(path: string | URL): PerfDataContents {
  const file = Deno.openSync(path);
  try {
    const h = new DataView(readAt(file, 0, 104).buffer);
    const attrSize = u64(h, 16), attrsOffset = u64(h, 24);
    const dataOffset = u64(h, 40), dataSize = u64(h, 48);
    const attrBytes = readAt(file, attrsOffset, attrSize);
    const attr = decodeAttr(new DataView(attrBytes.buffer), 0, attrSize - 16, attrsOffset);
    const format = sampleFormatOf(attr);
    const idAll = sampleIdAll(attr);
    const records: PerfRecord[] = [];
    let carry = new Uint8Array(0);
    for (let pos = 0; pos < dataSize;) {
      const n = Math.min(CHUNK, dataSize - pos);
      const chunk = readAt(file, dataOffset + pos, n);
      const buf = new Uint8Array(carry.length + n);
      buf.set(carry);
      buf.set(chunk, carry.length);
      const base = dataOffset + pos - carry.length;
      pos += n;
      const view = new DataView(buf.buffer);
      let at = 0;
      while (at + 8 <= buf.length) {
        const size = view.getUint16(at + 6, true);
        if (size < 8) throw new Error(`record size ${size} at offset ${base + at}`);
        if (at + size > buf.length) break;
        records.push(decodeRecord(view, at, format, idAll, base + at));
        at += size;
      }
      carry = buf.slice(at);
    }
    let buildIds: BuildIdEntry[] = [];
    const flagsWord = h.getUint32(72, true);
    if (flagsWord & (1 << HEADER_BUILD_ID)) {
      // Feature sections follow the data; BUILD_ID is the first set bit >= 2.
      let index = 0;
      for (let bit = 0; bit < HEADER_BUILD_ID; bit++) if (flagsWord & (1 << bit)) index++;
      const sec = new DataView(readAt(file, dataOffset + dataSize + index * 16, 16).buffer);
      const offset = u64(sec, 0), size = u64(sec, 8);
      const payload = readAt(file, offset, size);
      buildIds = decodeBuildIds(
        new FeatureCursor(new DataView(payload.buffer), 0, size, offset, "BUILD_ID"),
      );
    }
    return { attr, records, buildIds };
  } finally {
    file.close();
  }
}

/** One sample block of `perf script` text. */
interface ScriptSample {
  /** The header line. */
  header: string;
  /** Callchain addresses as printed (hex, `(inlined)` suffix removed). */
  frames: string[];
}

/**
 * Split `perf script -F ...,ip` output into samples.
 *
 * @param text The output.
 * @returns One entry per sample.
 */
function parseScriptCallchains(text: string): ScriptSample[] {
  const out: ScriptSample[] = [];
  let current: ScriptSample | undefined;
  for (const line of text.split("\n")) {
    if (line === "") {
      current = undefined;
    } else if (line.startsWith("\t")) {
      current?.frames.push(line.trim().replace(/ \(inlined\)$/, "").split(" ")[0]);
    } else {
      current = { header: line, frames: [] };
      out.push(current);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Unit tests on a synthetic ELF holding only .eh_frame.

/** Little-endian writer. */
function le(bytes: Uint8Array, at: number, value: number | bigint, size: number): void {
  let v = BigInt(value);
  for (let i = 0; i < size; i++) {
    bytes[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

const EH_FRAME_OFFSET = 0x100;

/**
 * .eh_frame with one CIE ("zR", pcrel|sdata4, code 1, data -8, RA 16,
 * `def_cfa rsp 8; offset r16 at cfa-8`) and one FDE per entry.
 */
function ehFrame(fdes: [number, number, number[]][]): { bytes: Uint8Array; fdeAt: number[] } {
  const out: number[] = [];
  const u32 = (v: number) => out.push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24);
  const cie = [0, 0, 0, 0, 1, 0x7a, 0x52, 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1, 0, 0];
  u32(cie.length);
  out.push(...cie);
  const fdeAt: number[] = [];
  for (const [start, length, insns] of fdes) {
    const at = out.length;
    fdeAt.push(at);
    const body = [...insns];
    while ((body.length + 13 + 4) % 8 !== 0) body.push(0);
    u32(12 + 1 + body.length);
    u32(at + 4);
    u32(start - (EH_FRAME_OFFSET + at + 8));
    u32(length);
    out.push(0, ...body);
  }
  u32(0);
  return { bytes: Uint8Array.from(out), fdeAt };
}

/**
 * `.eh_frame_hdr` at `at` (version 1, pcrel eh_frame_ptr, udata4 count,
 * datarel sdata4 table) for FDEs at `fdeAt` covering `starts`.
 */
function ehFrameHdr(at: number, starts: number[], fdeAt: number[]): Uint8Array {
  const b = new Uint8Array(12 + 8 * starts.length);
  b.set([1, 0x1b, 0x03, 0x3b]);
  le(b, 4, EH_FRAME_OFFSET - (at + 4), 4);
  le(b, 8, starts.length, 4);
  const order = starts.map((_, i) => i).sort((x, y) => starts[x] - starts[y]);
  order.forEach((i, k) => {
    le(b, 12 + 8 * k, starts[i] - at, 4);
    le(b, 16 + 8 * k, EH_FRAME_OFFSET + fdeAt[i] - at, 4);
  });
  return b;
}

/**
 * A minimal ELF64 (one PT_LOAD at vaddr 0 = offset 0; .eh_frame, with its
 * .eh_frame_hdr unless `withHdr` is false; .shstrtab).
 */
function syntheticElf(fdes: [number, number, number[]][], withHdr = true): ElfFile {
  const { bytes: eh, fdeAt } = ehFrame(fdes);
  const names = new TextEncoder().encode("\0.eh_frame\0.shstrtab\0.eh_frame_hdr\0");
  const hdrAt = (EH_FRAME_OFFSET + eh.length + 7) & ~7;
  const hdr = withHdr ? ehFrameHdr(hdrAt, fdes.map((f) => f[0]), fdeAt) : new Uint8Array(0);
  const namesAt = hdrAt + hdr.length;
  const nsec = withHdr ? 4 : 3;
  const shoff = (namesAt + names.length + 7) & ~7;
  const total = shoff + nsec * 64;
  const b = new Uint8Array(total);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  le(b, 16, 3, 2);
  le(b, 18, 62, 2);
  le(b, 20, 1, 4);
  le(b, 32, 64, 8);
  le(b, 40, shoff, 8);
  le(b, 52, 64, 2);
  le(b, 54, 56, 2);
  le(b, 56, 1, 2);
  le(b, 58, 64, 2);
  le(b, 60, nsec, 2);
  le(b, 62, 2, 2);
  le(b, 64, 1, 4); // PT_LOAD
  le(b, 68, 5, 4);
  le(b, 64 + 32, total, 8);
  le(b, 64 + 40, total, 8);
  b.set(eh, EH_FRAME_OFFSET);
  b.set(hdr, hdrAt);
  b.set(names, namesAt);
  const shdr = (i: number, name: number, type: number, at: number, size: number) => {
    const o = shoff + i * 64;
    le(b, o, name, 4);
    le(b, o + 4, type, 4);
    le(b, o + 8, 2, 8);
    le(b, o + 16, at, 8);
    le(b, o + 24, at, 8);
    le(b, o + 32, size, 8);
  };
  shdr(1, 1, 1, EH_FRAME_OFFSET, eh.length);
  shdr(2, 11, 3, namesAt, names.length);
  if (withHdr) shdr(3, 21, 1, hdrAt, hdr.length);
  return ElfFile.parse(memorySource(b, "synthetic"));
}

const BASE = 0x555500000000n;
const SP = 0x7ffd0000n;
const elf = syntheticElf([
  [0x1000, 0x40, [0x41, 0x0e, 16]], // f: after 1 byte, CFA = rsp + 16
  [0x1100, 0x10, [0x07, 16]], // _start: return address undefined
  [0x1200, 0x10, [0x0e, 0, 0x90, 0]], // loop: CFA = rsp, RA at [rsp]
]);
const mapping: UnwindMapping = { start: BASE, end: BASE + 0x2000n, pgoff: 0n, filename: "x" };
const lookup = (a: bigint) => (a >= mapping.start && a < mapping.end ? mapping : undefined);
const loader = () => elf;
/** perf mask with BP (6), SP (7), IP (8). */
const MASK = 0x1c0n;

function stackOf(words: bigint[], dynSize = words.length * 8): UserStack {
  const data = new Uint8Array(words.length * 8);
  words.forEach((w, i) => le(data, i * 8, w, 8));
  return { data, dynSize };
}

function regsAt(ip: bigint, rbp = 0n): UserRegisters {
  return { mask: MASK, regs: BigUint64Array.of(rbp, SP, ip) };
}

Deno.test("dwarfRegistersFromPerf: perf order to DWARF order", () => {
  const r = dwarfRegistersFromPerf({
    mask: 0xff0fffn,
    regs: BigUint64Array.from({ length: 20 }, (_, i) => BigInt(100 + i)),
  });
  assert.equal(r[0], 100n); // rax = AX
  assert.equal(r[1], 103n); // rdx = DX (perf 3)
  assert.equal(r[3], 101n); // rbx = BX (perf 1)
  assert.equal(r[7], 107n); // rsp
  assert.equal(r[8], 112n); // r8 = perf 16, 13th set bit
  assert.equal(r[16], 108n); // rip
  assert.equal(dwarfRegistersFromPerf({ mask: 0x1n, regs: BigUint64Array.of(1n) })[16], undefined);
});

Deno.test("unwindUser: CFA steps, return address - 1, stops at undefined RA", () => {
  // [sp+8] -> f+0x20 (caller is f again), [sp+24] -> _start+5
  const stack = stackOf([0n, BASE + 0x1020n, 0n, BASE + 0x1105n, 0n, 0n]);
  const res = unwindUserDetailed(regsAt(BASE + 0x1010n), stack, lookup, loader);
  assert.deepEqual(res.frames, [BASE + 0x1010n, BASE + 0x101fn, BASE + 0x1104n]);
  assert.equal(res.stop, "end-of-stack");
  const two = unwindUserDetailed(regsAt(BASE + 0x1010n), stack, lookup, loader, { maxStack: 2 });
  assert.deepEqual(two.frames, [BASE + 0x1010n, BASE + 0x101fn]);
  assert.equal(two.stop, "max-stack");
});

Deno.test("unwindUser: reads past sp + dyn_size give 0 (perf prints 0 - 1)", () => {
  // the slot at sp+24 needs sp+32 < sp+dyn_size: with dyn_size 32 it reads 0
  const stack = stackOf([0n, BASE + 0x1020n, 0n, BASE + 0x1105n, 0n, 0n], 32);
  const res = unwindUserDetailed(regsAt(BASE + 0x1010n), stack, lookup, loader);
  assert.deepEqual(res.frames, [BASE + 0x1010n, BASE + 0x101fn, 0xffffffffffffffffn]);
  assert.equal(res.stop, "no-map");
});

Deno.test("unwindUser: frame-pointer fallback without an FDE, and loop detection", () => {
  // 0x1080 has no FDE: rbp = sp + 16, [rbp + 8] -> _start + 5
  const stack = stackOf([0n, 0n, 0n, BASE + 0x1105n, 0n, 0n]);
  const fp = unwindUserDetailed(regsAt(BASE + 0x1080n, SP + 16n), stack, lookup, loader);
  assert.deepEqual(fp.frames, [BASE + 0x1080n, BASE + 0x1104n]);
  // an RBP below the CFA is rejected, as libunwind does
  const low = unwindUserDetailed(regsAt(BASE + 0x1080n, SP - 16n), stack, lookup, loader);
  assert.deepEqual(low.frames, [BASE + 0x1080n]);

  const loop = stackOf([BASE + 0x1201n, 0n, 0n]);
  const res = unwindUserDetailed(regsAt(BASE + 0x1200n), loop, lookup, loader);
  assert.deepEqual(res.frames, [BASE + 0x1200n, BASE + 0x1200n]);
  assert.equal(res.stop, "no-progress");
});

Deno.test("unwindUser: .eh_frame without .eh_frame_hdr is not used, as perf's libunwind build", () => {
  // the stack of the first test: with the header it unwinds to _start
  const stack = stackOf([0n, BASE + 0x1020n, 0n, BASE + 0x1105n, 0n, 0n]);
  const noHdr = syntheticElf([[0x1000, 0x40, [0x41, 0x0e, 16]], [0x1100, 0x10, [0x07, 16]]], false);
  assert.equal(perfUnwindCfi(noHdr), undefined);
  assert.ok(CfiTable.fromElf(noHdr), "the CFI itself parses");
  const res = unwindUserDetailed(regsAt(BASE + 0x1010n), stack, lookup, () => noHdr);
  assert.deepEqual(res.frames, [BASE + 0x1010n]);
  assert.equal(res.stop, "no-cfi");
  assert.ok(perfUnwindCfi(elf), "with .eh_frame_hdr");
});

Deno.test("unwindUser: no map, no ELF, no registers", () => {
  const stack = stackOf([0n, 0n]);
  assert.equal(unwindUserDetailed(regsAt(0x10n), stack, lookup, loader).stop, "no-map");
  assert.equal(
    unwindUserDetailed(regsAt(BASE + 0x1010n), stack, lookup, () => undefined).stop,
    "no-cfi",
  );
  const none = unwindUserDetailed({ mask: 0n, regs: new BigUint64Array(0) }, stack, lookup, loader);
  assert.deepEqual(none, { frames: [], stop: "no-regs" });
});

Deno.test("fullCallchain: kernel entries without markers, then user frames", () => {
  const chain = BigUint64Array.of(
    0xffffffffffffff80n,
    0xffffffff81000001n,
    0xffffffff81000002n,
    0xfffffffffffffe00n,
    0x401000n,
  );
  assert.deepEqual(fullCallchain(chain, [0x10n, 0x20n]), [
    0xffffffff81000001n,
    0xffffffff81000002n,
    0x10n,
    0x20n,
  ]);
  assert.deepEqual(fullCallchain(undefined, [0x10n, 0x20n, 0x30n], 2), [0x10n, 0x20n]);
});

// ---------------------------------------------------------------------------
// Fixture: testdata/dwarf.data against `perf script` (addresses only; perf's
// "(inlined)" suffix is an annotation of the same address, see unwind.ts).

const fixtureData = new URL("../../testdata/dwarf.data", import.meta.url);
const fixtureScript = new URL("../../testdata/dwarf.script.txt", import.meta.url);
/** The recorded DSOs under the fixtures' symfs root (testdata/symbols), never this machine's. */
const inFixtureRoot = (filename: string) =>
  filename.startsWith("/") && !filename.startsWith("//") ? FIXTURE_SYMBOLS + filename : filename;

interface ProcessMaps {
  maps: UnwindMapping[];
}

function fixtureUsable(buildIds: BuildIdEntry[]): string | undefined {
  const cache = new ElfCache();
  try {
    for (const b of buildIds) {
      if (b.pid === -1 || !b.filename.startsWith("/")) continue;
      const path = inFixtureRoot(b.filename);
      const elf = cache.open(path);
      if (elf === undefined) return `${b.filename} is not readable`;
      if (elf.buildId() !== b.buildId) return `${b.filename} build-id differs from the recording`;
    }
    return undefined;
  } finally {
    cache.close();
  }
}

/** Unwind every sample of dwarf.data; returns (expected, got) pairs. */
function unwindFixture(): { expected: ScriptSample[]; got: string[][]; stops: string[] } {
  const { attr, records } = readPerfData(fixtureData);
  const processes = new Map<number, ProcessMaps>();
  const cache = new ElfCache();
  const loader = (m: UnwindMapping) => cache.open(inFixtureRoot(m.filename));
  const rows: { time: number; frames: string[]; stop: string }[] = [];
  try {
    for (const r of records) {
      if ((r.type === RecordType.MMAP2 || r.type === RecordType.MMAP) && "pgoff" in r) {
        let p = processes.get(r.pid);
        if (p === undefined) processes.set(r.pid, p = { maps: [] });
        p.maps.unshift({
          start: r.addr,
          end: r.addr + r.len,
          pgoff: r.pgoff,
          filename: r.filename,
        });
      } else if (r.type === RecordType.SAMPLE && "sample" in r) {
        const s = r.sample;
        const maps = processes.get(s.pid ?? -1)?.maps ?? [];
        const lookup = (a: bigint) => maps.find((m) => a >= m.start && a < m.end);
        let user: bigint[] = [];
        let stop = "no-user-regs";
        if (s.regsUser !== undefined && s.regsUser.regs.length > 0 && s.stackUser !== undefined) {
          const res = unwindUserDetailed(
            { mask: attr.sampleRegsUser, regs: s.regsUser.regs },
            s.stackUser,
            lookup,
            loader,
          );
          user = res.frames;
          stop = res.stop;
        }
        const userSet = new Set(user);
        rows.push({
          time: s.time ?? 0,
          stop,
          frames: fullCallchain(s.callchain, user).map((ip) => {
            const m = userSet.has(ip) ? lookup(ip) : undefined;
            const shown =
              m === undefined || m.filename.startsWith("[") || m.filename.startsWith("//")
                ? ip
                : ip - m.start + m.pgoff;
            return shown.toString(16);
          }),
        });
      }
    }
  } finally {
    cache.close();
  }
  // perf script delivers samples in time order (records are per-CPU batches).
  rows.sort((a, b) => a.time - b.time);
  return {
    expected: parseScriptCallchains(Deno.readTextFileSync(fixtureScript)),
    got: rows.map((r) => r.frames),
    stops: rows.map((r) => r.stop),
  };
}

/** Why dwarf.data cannot be checked here (its DSOs are not the recorded ones), or undefined. */
const FIXTURE_UNUSABLE = fixtureUsable(readPerfData(fixtureData).buildIds);

Deno.test({
  name: `unwindUser: dwarf.data samples match perf script${
    FIXTURE_UNUSABLE === undefined ? "" : ` (ignored: ${FIXTURE_UNUSABLE})`
  }`,
  ignore: FIXTURE_UNUSABLE !== undefined,
}, async (t) => {
  const { expected, got, stops } = unwindFixture();
  assert.deepEqual(got.length, expected.length, "sample count");
  let matched = 0;
  const mismatches: string[] = [];
  for (let i = 0; i < got.length; i++) {
    const ok = JSON.stringify(got[i]) === JSON.stringify(expected[i].frames);
    if (ok) matched++;
    else {
      mismatches.push(
        `#${i} ${expected[i].header}\n  stop=${stops[i]}\n  want ${
          expected[i].frames.join(" ")
        }\n  got  ${got[i].join(" ")}`,
      );
    }
  }
  await t.step(`match rate ${matched}/${got.length}`, () => {
    assert.deepEqual(mismatches, [], mismatches.join("\n"));
  });
});

// ---------------------------------------------------------------------------
// [vdso]: perf 6.1 unwinds through the vdso using its own process's copy.

Deno.test("ElfCache opens this process's [vdso] image, or none when told so", () => {
  const image = readOwnVdso();
  const cache = new ElfCache();
  try {
    const vdso = cache.open("[vdso]");
    assert.equal(vdso !== undefined, image !== undefined);
    if (vdso !== undefined) {
      assert.ok(vdso.sections.some((s) => s.name === ".eh_frame"), "vdso has .eh_frame");
      assert.equal(cache.open("[vdso]"), vdso, "cached");
    }
    assert.equal(cache.open("[stack]"), undefined);
    assert.equal(cache.open("//anon"), undefined);
  } finally {
    cache.close();
  }
  const none = new ElfCache({ vdso: false });
  assert.equal(none.open("[vdso]"), undefined);
  none.close();
  const missing = new ElfCache({ vdso: "/nonexistent/vdso.so" });
  assert.equal(missing.open("[vdso]"), undefined);
  missing.close();
  assert.equal(readOwnVdso("/nonexistent-proc"), undefined);
});

function commandRuns(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const VDSO_LIVE = readOwnVdso() !== undefined && commandRuns("gcc", ["--version"]) &&
  await perfCanRecord();

/** Calls clock_gettime (a vdso function on x86-64) in a loop for argv[1] ms. */
const VDSO_PROGRAM = `#include <stdlib.h>
#include <time.h>
static volatile long sink;
__attribute__((noinline)) static long spin(long n) {
  struct timespec ts;
  long s = 0;
  for (long i = 0; i < n; i++) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s += ts.tv_nsec;
  }
  return s;
}
int main(int argc, char **argv) {
  long ms = argc > 1 ? atol(argv[1]) : 200;
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    sink += spin(1000);
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
  return 0;
}
`;

Deno.test({
  name: "cli/script.ts unwinds through [vdso] like perf script (live --call-graph dwarf)",
  ignore: !VDSO_LIVE,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordDwarfProgram(dir, "vdso", VDSO_PROGRAM, ["-O1", "-g"], ["150"]);
    const perf = await runPerf(["script", "-i", data], dir);
    assert.equal(perf.code, 0, perf.stderr);
    const ours = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SCRIPT_CLI, "-i", data],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(ours.stdout);
    assert.equal(ours.code, 0, new TextDecoder().decode(ours.stderr));
    // The workload must sample inside the vdso with callers below it, or the
    // comparison proves nothing.
    const throughVdso = parseScriptCallchains(perf.stdout).filter((s) => s.frames.length > 1);
    assert.ok(
      perf.stdout.split("\n\n").some((b) => /\(\[vdso\]\)\n\t.*\(\/.*vdso\)/s.test(b)),
      "perf shows samples in [vdso] with callers in the program",
    );
    assert.ok(throughVdso.length > 0);
    const want = perf.stdout.split("\n"), got = out.split("\n");
    const first = want.findIndex((l, i) => l !== got[i]);
    assert.equal(
      first,
      -1,
      `first difference at line ${first + 1}:\n  perf: ${want[first]}\n  ours: ${got[first]}`,
    );
    assert.equal(got.length, want.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A static program with a two-deep call chain under main. */
const STATIC_PROGRAM = `__attribute__((noinline)) double leaf(double x) {
  for (int i = 0; i < 3000000; i++) x = x * 1.0000001 + 0.5;
  return x;
}
__attribute__((noinline)) double mid(double x) { return leaf(x) + 1; }
int main(void) {
  double s = 0;
  for (int i = 0; i < 60; i++) s += mid(i);
  return s > 0 ? 0 : 1;
}
`;

const STATIC_LIVE = VDSO_LIVE && await (async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.c`, "int main(void){return 0;}\n");
    return commandRuns("gcc", ["-static", "-o", `${dir}/t`, `${dir}/t.c`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
})();

Deno.test({
  name: "cli/script.ts unwinds static binaries like perf: only through .eh_frame_hdr (live)",
  ignore: !STATIC_LIVE,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    // gcc -static links without --eh-frame-hdr: perf's libunwind cannot
    // unwind such a binary past the sampled ip; with the header it can.
    for (
      const [name, flags, deep] of [["plain", [], false], [
        "hdr",
        ["-Wl,--eh-frame-hdr"],
        true,
      ]] as const
    ) {
      const data = await recordDwarfProgram(dir, name, STATIC_PROGRAM, [
        "-O1",
        "-g",
        "-static",
        ...flags,
      ], []);
      const perf = await runPerf(["script", "-i", data], dir);
      assert.equal(perf.code, 0, perf.stderr);
      const user = perf.stdout.split("\n\n").filter((b) => b.trimStart().startsWith(`${name} `));
      assert.ok(user.length > 10, `${name}: perf printed samples of the program`);
      const withMain = user.filter((b) => / main\+0x/.test(b) && / leaf\+0x/.test(b));
      assert.equal(withMain.length > 0, deep, `${name}: leaf under main in perf's chains`);
      const ours = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", SCRIPT_CLI, "-i", data],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(ours.code, 0, new TextDecoder().decode(ours.stderr));
      const want = perf.stdout.split("\n"), got = new TextDecoder().decode(ours.stdout).split("\n");
      const first = want.findIndex((l, i) => l !== got[i]);
      assert.equal(
        first,
        -1,
        `${name}: first difference at line ${first + 1}:\n  perf: ${want[first]}\n  ours: ${
          got[first]
        }`,
      );
      assert.equal(got.length, want.length);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unwindUser: a user IP of 0 is no frame (libunwind's get_entries skips address 0)", () => {
  const stack = stackOf([0n, BASE + 0x1020n]);
  const res = unwindUserDetailed(regsAt(0n), stack, lookup, loader);
  assert.deepEqual(res.frames, []);
  assert.equal(res.stop, "no-map");
});
