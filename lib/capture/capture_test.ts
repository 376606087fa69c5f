import assert from "node:assert/strict";
import fc from "fast-check";
import { RecordType } from "../abi/mod.ts";
import { rng } from "../ring/testutil_test.ts";
import type { StreamRecord } from "../ring/defrag.ts";
import { makeCapture, type RawChunk, rawChunks, streamTotals } from "./testutil_test.ts";
import { CHUNK_HEADER_SIZE, findNextChunk } from "./format.ts";
import {
  type CaptureCpuStats,
  captureMemorySource,
  CaptureReader,
  type CaptureReadSummary,
} from "./reader.ts";

async function readAll(
  bytes: Uint8Array,
  opts = {},
): Promise<{ recs: Uint8Array[]; sum: CaptureReadSummary }> {
  const r = await CaptureReader.open(captureMemorySource(bytes));
  const recs: Uint8Array[] = [];
  const sum = await r.read((rec) => recs.push(rec.bytes), opts);
  r.close();
  return { recs, sum };
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** A delivered record as compared between reads. */
interface Rec {
  hex: string;
  cpu: number;
  position: number;
  time: number;
}

const rec = (x: StreamRecord): Rec => ({
  hex: hex(x.bytes),
  cpu: x.cpu,
  position: x.position,
  time: x.time,
});

async function readRecs(reader: CaptureReader, from?: number): Promise<{
  recs: Rec[];
  sum: CaptureReadSummary;
}> {
  const recs: Rec[] = [];
  const sum = await reader.read((x) => recs.push(rec(x)), { from, keepExtensions: true });
  return { recs, sum };
}

/**
 * Where each record of a clean capture came from: the chunk of a record, and
 * for a reassembled sample the chunks of its head and every fragment.
 */
class Origins {
  readonly #chunkOf = new Map<string, number>();
  readonly #keyOf = new Map<string, number>();
  readonly #pieces = new Map<number, number[]>();

  constructor(chunks: RawChunk[]) {
    for (const c of chunks) {
      for (const r of c.records) {
        const at = `${r.cpu}:${r.position}`;
        this.#chunkOf.set(at, c.fileOffset);
        if (r.key < 0) continue;
        if (r.type === RecordType.SAMPLE) this.#keyOf.set(at, r.key);
        const p = this.#pieces.get(r.key) ?? [];
        p.push(c.fileOffset);
        this.#pieces.set(r.key, p);
      }
    }
  }

  /** File offsets of the chunks holding the record (every piece of a reassembled sample). */
  chunksOf(r: { cpu: number; position: number }): number[] {
    const at = `${r.cpu}:${r.position}`;
    const key = this.#keyOf.get(at);
    return key !== undefined ? this.#pieces.get(key)! : [this.#chunkOf.get(at)!];
  }

  /** File offset of the first chunk holding a piece of the record. */
  first(r: { cpu: number; position: number }): number {
    return Math.min(...this.chunksOf(r));
  }

  /** Fragmented events with pieces before and at/after `from`. */
  split(from: number): number {
    let n = 0;
    for (const p of this.#pieces.values()) {
      if (Math.min(...p) < from && Math.max(...p) >= from) n++;
    }
    return n;
  }
}

const NO_DAMAGE = {
  damagedStreamBytes: 0,
  damagedRecords: 0,
  uncountedBytes: 0,
  damagedEstimate: 0,
};

function assertNoDamage(sum: CaptureReadSummary, what: string): void {
  const { damagedStreamBytes, damagedRecords, uncountedBytes, damagedEstimate } = sum;
  assert.deepEqual(
    { damagedStreamBytes, damagedRecords, uncountedBytes, damagedEstimate },
    NO_DAMAGE,
    what,
  );
  for (const [cpu, st] of sum.cpus) {
    const { damagedStreamBytes, damagedRecords, uncountedBytes, damagedEstimate } = st;
    assert.deepEqual(
      { damagedStreamBytes, damagedRecords, uncountedBytes, damagedEstimate },
      NO_DAMAGE,
      `${what}: cpu ${cpu}`,
    );
  }
}

/**
 * Tolerance of a record estimate made at a stream's mean record size: the
 * records of the test captures range from 64 to ~1000 bytes, so over about
 * one chunk the count may be off by a few records.
 */
const estimateTolerance = (estimate: number) => 1 + Math.ceil(estimate / 2);

/**
 * Lost-to-damage accounting against a clean read: per CPU, clean stream
 * records = records read + records counted lost, exactly when nothing was
 * left uncounted, else within the estimate's tolerance.
 */
function assertDamageAccounting(
  clean: CaptureReadSummary,
  sum: CaptureReadSummary,
  what: string,
): void {
  let missing = 0;
  for (const [cpu, c] of clean.cpus) {
    const st: Partial<CaptureCpuStats> = sum.cpus.get(cpu) ?? {};
    const lost = c.streamRecords - (st.streamRecords ?? 0);
    missing += lost;
    if (sum.unattributedBytes > 0) continue; // some loss is not tied to a CPU
    if ((st.uncountedBytes ?? 0) === 0) {
      assert.equal(lost, st.damagedRecords ?? 0, `${what}: cpu ${cpu} counted exactly`);
    } else {
      const off = Math.abs(lost - st.damagedRecords! - st.damagedEstimate!);
      assert.ok(
        off <= estimateTolerance(st.damagedEstimate!),
        `${what}: cpu ${cpu}: ${lost} lost, ${st.damagedRecords} counted + ~${st.damagedEstimate}`,
      );
    }
  }
  if (sum.uncountedBytes === 0) {
    assert.equal(missing, sum.damagedRecords, `${what}: counted exactly`);
  } else {
    const off = Math.abs(missing - sum.damagedRecords - sum.damagedEstimate);
    assert.ok(
      off <= estimateTolerance(sum.damagedEstimate),
      `${what}: ${missing} lost, ${sum.damagedRecords} counted + ~${sum.damagedEstimate}`,
    );
  }
}

Deno.test("capture round trip: merged in time order, defragmented, written = read + lost per CPU", async () => {
  const { bytes, written } = await makeCapture(3000);
  const { recs, sum } = await readAll(bytes);
  assert.equal(sum.warnings.length, 0, JSON.stringify(sum.warnings));
  assert.ok(sum.defragmented > 100);
  assert.equal(sum.incompleteEvents, 0);
  assertNoDamage(sum, "clean read");
  let last = 0;
  let samples = 0;
  for (const b of recs) {
    const v = new DataView(b.buffer);
    const type = v.getUint32(0, true);
    assert.notEqual(type, RecordType.CALLRING_FRAGMENT);
    assert.notEqual(type, RecordType.CALLRING_SYNC);
    if (type === RecordType.SAMPLE) {
      const t = v.getUint32(24, true);
      assert.ok(t >= last, "time order");
      last = t;
      assert.equal(v.getUint32(36, true), 0, "cpu.res cleared");
      samples++;
    }
  }
  // Record-level accounting per CPU: every record a ring writer attempted was
  // read from its stream or counted by a LOST record.
  for (const [cpu, st] of sum.cpus) {
    assert.equal(written[cpu], st.streamRecords + st.lost, `cpu ${cpu}: written = read + lost`);
  }
  assert.ok(samples > 2500);
});

Deno.test("capture cut off at every byte is readable up to the cut, with the cut chunk accounted", async () => {
  const { bytes, written } = await makeCapture(40, 3, 512);
  const { recs: clean } = await readAll(bytes);
  const chunks = rawChunks(bytes);
  const cleanSet = new Set(clean.map(hex));
  const header = new DataView(bytes.buffer).getUint32(12, true);
  for (let cut = header; cut <= bytes.length; cut += 1) {
    const { recs, sum } = await readAll(bytes.subarray(0, cut));
    // Every record read from a prefix is a record of the clean read (order may differ only by fragments).
    for (const r of recs) assert.ok(cleanSet.has(hex(r)), `cut ${cut}: unknown record`);
    // Accounting: the whole chunks before the cut, plus the whole records of
    // the chunk the cut falls in; the rest of that chunk is lost, estimated.
    const whole = chunks.filter((c) => c.end <= cut);
    const want = streamTotals(whole);
    const partial = chunks.find((c) => c.fileOffset + CHUNK_HEADER_SIZE <= cut && c.end > cut);
    let cutLost = 0;
    if (partial) {
      const t = want.get(partial.cpu) ?? { records: 0, lost: 0 };
      let salvaged = 0;
      for (let i = 0; i < partial.records.length; i++) {
        const r = partial.records[i];
        const end = i + 1 < partial.records.length
          ? partial.records[i + 1].position
          : partial.position + partial.length;
        const counted = r.type !== RecordType.CALLRING_SYNC && r.type !== RecordType.LOST;
        if (partial.fileOffset + CHUNK_HEADER_SIZE + end - partial.position <= cut) {
          t.records += counted ? 1 : 0;
          t.lost += r.lost;
          salvaged = end - partial.position;
        } else if (counted) cutLost++;
      }
      want.set(partial.cpu, t);
      const st = sum.cpus.get(partial.cpu)!;
      assert.equal(st.damagedStreamBytes, partial.length - salvaged, `cut ${cut}: lost bytes`);
      assert.equal(st.uncountedBytes, partial.length - salvaged, `cut ${cut}: uncounted`);
      // Without a single intact record there is no mean to estimate with.
      const measured = [...sum.cpus.values()].some((c) => c.streamRecords > 0);
      assert.ok(
        measured
          ? Math.abs(cutLost - st.damagedEstimate) <= estimateTolerance(st.damagedEstimate)
          : st.damagedEstimate === 0,
        `cut ${cut}: ${cutLost} records cut off, estimated ${st.damagedEstimate}`,
      );
    } else assertNoDamage(sum, `cut ${cut}`);
    for (const [cpu, t] of want) {
      const st = sum.cpus.get(cpu);
      assert.equal(st?.streamRecords ?? 0, t.records, `cut ${cut}: cpu ${cpu} records`);
      assert.equal(st?.lost ?? 0, t.lost, `cut ${cut}: cpu ${cpu} lost`);
    }
    if (cut === bytes.length) {
      assert.equal(recs.length, clean.length);
      for (const [cpu, st] of sum.cpus) {
        assert.equal(written[cpu], st.streamRecords + st.lost, `cpu ${cpu}: written = read + lost`);
      }
    }
  }
});

Deno.test("bit flips: damaged ranges are reported, every record outside them is recovered, no record is spurious and the lost ones are counted", async () => {
  const { bytes } = await makeCapture(2000, 4, 1024);
  const { recs: clean, sum: cleanSum } = await readAll(bytes);
  const chunks = rawChunks(bytes);
  const origins = new Origins(chunks);
  const cleanReader = await CaptureReader.open(captureMemorySource(bytes));
  const { recs: cleanRecs } = await readRecs(cleanReader);
  cleanReader.close();
  const cleanCount = new Map<string, number>();
  for (const r of clean) cleanCount.set(hex(r), (cleanCount.get(hex(r)) ?? 0) + 1);
  const random = rng(99);
  const header = new DataView(bytes.buffer).getUint32(12, true);
  let exact = 0;
  for (let trial = 0; trial < 40; trial++) {
    const damaged = bytes.slice();
    const flips: number[] = [];
    for (let k = 0; k < 1 + Math.floor(random() * 5); k++) {
      const at = header + Math.floor(random() * (bytes.length - header));
      damaged[at] ^= 1 << Math.floor(random() * 8);
      flips.push(at);
    }
    const { recs, sum } = await readAll(damaged);
    for (const f of flips) {
      assert.ok(sum.warnings.some((w) => w.start <= f && f < w.end), `flip at ${f} not reported`);
    }
    // No spurious record: each one read is a clean record, at most as often as in the clean read.
    const left = new Map(cleanCount);
    for (const r of recs) {
      const n = left.get(hex(r)) ?? 0;
      assert.ok(n > 0, `trial ${trial}: spurious record ${hex(r).slice(0, 32)}...`);
      left.set(hex(r), n - 1);
    }
    // Every clean record whose pieces all lie in chunks untouched by flips is
    // recovered: plain samples, LOST records and reassembled samples.
    const got = new Set(recs.map(hex));
    const hit = chunks.filter((c) => flips.some((f) => f >= c.fileOffset && f < c.end));
    const touched = new Set(hit.map((c) => c.fileOffset));
    let whole = 0;
    for (const r of cleanRecs) {
      if (origins.chunksOf(r).some((c) => touched.has(c))) continue;
      assert.ok(got.has(r.hex), `trial ${trial}: record at ${r.cpu}:${r.position} lost`);
      whole++;
    }
    assert.ok(whole > 0 && whole <= recs.length);
    assertDamageAccounting(cleanSum, sum, `trial ${trial}`);
    if (sum.uncountedBytes === 0) exact++;
  }
  assert.ok(exact >= 25, `only ${exact} of 40 trials counted exactly`);
});

Deno.test("damaged chunk headers: the lost chunk is attributed to its CPU and its records counted exactly", async () => {
  const { bytes } = await makeCapture(2000, 4, 1024);
  const chunks = rawChunks(bytes);
  const { sum: clean } = await readAll(bytes);
  const firstOf1 = chunks.find((c) => c.cpu === 1)!;
  const cases: { what: string; chunk: RawChunk; field: number; exact: boolean }[] = [
    { what: "magic of a middle chunk", chunk: chunks[100], field: 0, exact: true },
    { what: "CRC of a middle chunk", chunk: chunks[101], field: 60, exact: true },
    { what: "payload CRC field", chunk: chunks[102], field: 57, exact: true },
    { what: "length of a middle chunk", chunk: chunks[103], field: 13, exact: true },
    { what: "the first chunk of cpu 1", chunk: firstOf1, field: 2, exact: true },
    { what: "the last chunk", chunk: chunks.at(-1)!, field: 5, exact: true },
    { what: "the last chunk's length", chunk: chunks.at(-1)!, field: 12, exact: true },
    {
      what: "stream position (bytes exact, records estimated)",
      chunk: chunks[104],
      field: 26,
      exact: false,
    },
  ];
  for (const { what, chunk, field, exact } of cases) {
    const damaged = bytes.slice();
    damaged[chunk.fileOffset + field] ^= 0x10;
    const { sum } = await readAll(damaged);
    const st = sum.cpus.get(chunk.cpu)!;
    assert.equal(st.damagedStreamBytes, chunk.length, `${what}: lost bytes`);
    assert.equal(
      clean.cpus.get(chunk.cpu)!.streamRecords - st.streamRecords,
      chunk.streamRecords,
      `${what}: the chunk's records are lost`,
    );
    if (exact) {
      assert.equal(st.damagedRecords, chunk.streamRecords, `${what}: counted`);
      assert.equal(sum.uncountedBytes, 0, `${what}: nothing uncounted`);
    } else {
      assert.equal(st.uncountedBytes, chunk.length, `${what}: uncounted`);
      const off = Math.abs(chunk.streamRecords - st.damagedEstimate);
      assert.ok(off <= estimateTolerance(st.damagedEstimate), `${what}: estimate`);
    }
    assertDamageAccounting(clean, sum, what);
  }
});

Deno.test("resync: from every byte offset of a small capture, the read is the exact suffix of the clean read", async () => {
  const { bytes } = await makeCapture(60, 5, 512);
  const header = new DataView(bytes.buffer).getUint32(12, true);
  const chunks = rawChunks(bytes);
  const origins = new Origins(chunks);
  const reader = await CaptureReader.open(captureMemorySource(bytes));
  const { recs: clean } = await readRecs(reader);
  let n = 0;
  let withFragments = 0;
  for (let from = header; from <= bytes.length; from++, n++) {
    const resync = chunks.find((c) => c.fileOffset >= from)?.fileOffset ?? bytes.length;
    const { recs, sum } = await readRecs(reader, from);
    // Records from the resync point on, without events that had pieces before it.
    const want = clean.filter((r) => origins.first(r) >= resync);
    assert.deepEqual(recs, want, `from ${from} (resync at ${resync})`);
    const split = origins.split(resync);
    if (split > 0) withFragments++;
    assert.equal(sum.incompleteEvents, split, `from ${from}: incomplete events`);
    // Accounting: the stream records of the chunks read, nothing lost to
    // damage in any CPU stream, and the partial chunk before the resync point
    // counted as unattributed skipped bytes.
    const totals = streamTotals(chunks.filter((c) => c.fileOffset >= resync));
    for (const [cpu, t] of totals) {
      assert.equal(sum.cpus.get(cpu)?.streamRecords, t.records, `from ${from}: cpu ${cpu}`);
      assert.equal(sum.cpus.get(cpu)?.lost, t.lost, `from ${from}: cpu ${cpu} lost`);
    }
    for (const st of sum.cpus.values()) assert.equal(st.damagedStreamBytes, 0);
    assert.equal(sum.damagedRecords, 0);
    assert.equal(
      sum.unattributedBytes,
      Math.max(0, resync - from - CHUNK_HEADER_SIZE),
      `from ${from}`,
    );
  }
  reader.close();
  assert.ok(n >= 10_000, `only ${n} offsets`);
  assert.ok(withFragments > 0, "no resync point splits a fragmented event");
});

Deno.test("property: from any byte offset the next chunk header is found within maxChunk + 2 headers, records after are the clean suffix", async () => {
  const { bytes } = await makeCapture(4000, 5, 1024);
  const header = new DataView(bytes.buffer).getUint32(12, true);
  const chunks = rawChunks(bytes);
  const chunkStarts = chunks.map((c) => c.fileOffset);
  const origins = new Origins(chunks);
  const maxRecord = 8 + 5 * 8 + 8 + 16 * 8 + 32 + 40 * 8; // largest sample/fragment here
  const bound = 1024 + maxRecord + 2 * CHUNK_HEADER_SIZE;
  const reader = await CaptureReader.open(captureMemorySource(bytes));
  const { recs: clean } = await readRecs(reader);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: header, max: chunkStarts.at(-2)! }), async (from) => {
      const f = findNextChunk(bytes, from, 0);
      const expected = chunkStarts.find((s) => s >= from)!;
      assert.equal(f.offset, expected);
      assert.ok(f.offset + CHUNK_HEADER_SIZE - from <= bound);
      // Records after the resync point are exactly the clean read's from there.
      const { recs } = await readRecs(reader, from);
      assert.ok(recs.length > 0);
      assert.deepEqual(recs, clean.filter((r) => origins.first(r) >= f.offset));
    }),
    { numRuns: 100 },
  );
  reader.close();
  // Exhaustive over 10,000+ offsets for the bound alone.
  let n = 0;
  for (let from = header; from < chunkStarts.at(-1)!; from++, n++) {
    const f = findNextChunk(bytes, from, 0);
    assert.ok(f.offset >= 0 && f.offset + CHUNK_HEADER_SIZE - from <= bound);
  }
  assert.ok(n >= 10_000, `only ${n} offsets`);
});

Deno.test("seek: binary search over chunk headers lands before the first record at the target time", async () => {
  const { bytes } = await makeCapture(4000, 6, 1024);
  const chunks = rawChunks(bytes);
  const r = await CaptureReader.open(captureMemorySource(bytes));
  const times: number[] = [];
  await r.read((x) => {
    if (new DataView(x.bytes.buffer).getUint32(0, true) === RecordType.SAMPLE) times.push(x.time);
  });
  for (const target of [times[0], times[500], times[2000], times.at(-1)!]) {
    const s = await r.seekTime(target);
    const after: number[] = [];
    const sum = await r.read((x) => {
      if (new DataView(x.bytes.buffer).getUint32(0, true) === RecordType.SAMPLE) after.push(x.time);
    }, { from: s.offset, minTime: target });
    assert.deepEqual(after, times.filter((t) => t >= target), `target ${target}`);
    assert.ok(s.bytesRead < bytes.length / 2 || bytes.length < 200_000);
    // Accounting: every stream record from the seek point on was read (the
    // time filter drops records after reading them), none lost to damage.
    const totals = streamTotals(chunks.filter((c) => c.fileOffset >= s.offset));
    for (const [cpu, t] of totals) {
      const st = sum.cpus.get(cpu)!;
      assert.equal(st.streamRecords, t.records, `target ${target}: cpu ${cpu} records`);
    }
    assert.equal(sum.warnings.length, 0);
    assertNoDamage(sum, `target ${target}`);
  }
  r.close();
});
