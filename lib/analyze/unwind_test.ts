import assert from "node:assert/strict";
import { ElfFile } from "./elf.ts";
import { RecordType } from "../abi/mod.ts";
import {
  dwarfRegistersFromPerf,
  ElfCache,
  fullCallchain,
  type UnwindMapping,
  unwindUserDetailed,
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
const CHUNK = 64 * 1024;

/** What {@linkcode readPerfData} returns. */
export interface PerfDataContents {
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
export function readPerfData(path: string | URL): PerfDataContents {
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
export interface ScriptSample {
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
export function parseScriptCallchains(text: string): ScriptSample[] {
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
// Fixture: testdata/dwarf.data against `perf script` (addresses only; perf's
// "(inlined)" suffix is an annotation of the same address, see unwind.ts).

const fixtureData = new URL("../../testdata/dwarf.data", import.meta.url);
const fixtureScript = new URL("../../testdata/dwarf.script.txt", import.meta.url);
const fixtureBurn = new URL("../../testdata/bin/burn", import.meta.url);

interface ProcessMaps {
  maps: UnwindMapping[];
}

function fixtureUsable(buildIds: BuildIdEntry[]): string | undefined {
  const cache = new ElfCache();
  try {
    for (const b of buildIds) {
      if (b.pid === -1 || !b.filename.startsWith("/")) continue;
      const path = b.filename.endsWith("/burn") ? fixtureBurn.pathname : b.filename;
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
  const loader = (m: UnwindMapping) =>
    cache.open(m.filename.endsWith("/burn") ? fixtureBurn.pathname : m.filename);
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

Deno.test("unwindUser: dwarf.data samples match perf script", async (t) => {
  const { buildIds } = readPerfData(fixtureData);
  const why = fixtureUsable(buildIds);
  if (why !== undefined) {
    console.log(`skipped: ${why}`);
    return;
  }
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
