// Seeded fuzzing of the capture readers: captures made by makeCapture
// (fragments crossing CPUs, LOST, sync records, symbols) and by the
// simulated recorder (side-band, symbol table, fragments of deep stacks,
// LOST from tiny rings, an overwrite snapshot with GAP chunks), mutated
// structure-aware (file and chunk header fields, record sizes / types /
// counts, whole chunks duplicated or deleted) and unstructured, sometimes
// resealed (CRCs recomputed so the mutation reaches the parsing behind
// them), through CaptureReader.read (from the start, from a random offset,
// after seekTime), openCaptureAsPerfData and loadProfile. No case may end as
// `bug`, `hang` or `memory`, and whenever the reader does not throw the loss
// accounting must add up (see `accountingBroken`).
//
// Longer run: CALLRING_FUZZ_CASES=20000 deno task fuzz.

import assert from "node:assert/strict";
import { FormatError } from "../abi/mod.ts";
import { recordSimulation, type SimRecordOptions } from "../sim/recorder.ts";
import { getStrategy } from "../sim/strategies/mod.ts";
import {
  type CampaignInput,
  FuzzCampaign,
  fuzzCases,
  FuzzPool,
  type FuzzResult,
  fuzzSeed,
  type KnownFailure,
  runCampaign,
} from "../testing/fuzz_runner.ts";
import {
  captureLayouts,
  describeCase,
  type FuzzLayouts,
  type MutatedCase,
  mutateStructured,
  resealCapture,
} from "../testing/fuzz_layouts.ts";
import type { FuzzRng } from "../testing/fuzz.ts";
import { isFailure } from "../testing/fuzz.ts";
import { makeCapture, memorySink, type RawChunk, rawChunks } from "./testutil_test.ts";
import { captureMemorySource, CaptureReader } from "./reader.ts";

/**
 * Fuzz cases that failed in lib/ring/defrag.ts (fed by the capture reader) and are fixed
 * there: each replays from its reproducer under testdata/fuzz/ (see README.md there) and must
 * now end without a bug, hang or memory outcome. Known failures still open go in
 * KNOWN_FAILURES (none at present).
 */
const FIXED: KnownFailure[] = [
  {
    id: "capture make-300 #0",
    signature: /^RangeError: Offset is outside the bounds of the DataView at Defragmenter\.push /,
    reproducer: "testdata/fuzz/defrag-short-sample.data",
    note: "a CRC-valid SAMPLE record shorter than its sample_type (size 8): Defragmenter.push " +
      "reads cpu.res through sampleLayout past the record",
  },
  {
    id: "capture make-300 #124",
    signature:
      /^TypeError: Cannot read properties of undefined \(reading 'length'\) at Defragmenter\.#tryComplete /,
    reproducer: "testdata/fuzz/defrag-fragment-index.data",
    note: "a CALLRING_FRAGMENT whose index (9) is beyond its event's pieces: #tryComplete " +
      "reads pieces[i].length of a missing piece",
  },
  {
    id: "capture sim #137",
    signature: /^RangeError: Offset is outside the bounds of the DataView at Defragmenter\.#head /,
    reproducer: "testdata/fuzz/defrag-head-short.data",
    note: "a 48-byte record whose type became SAMPLE, with a non-zero cpu.res word: #head " +
      "reads the callchain past the record",
  },
];

const KNOWN_FAILURES: KnownFailure[] = [];

const SEED = fuzzSeed(0xc0ffee);
const TARGETS = new URL("../testing/fuzz_targets.ts", import.meta.url);

/**
 * The tolerance of a record estimate documented in capture_test.ts
 * (`estimateTolerance`): records of 64 to ~1000 bytes estimated at a
 * stream's mean size may be off by about half.
 */
const estimateTolerance = (estimate: number) => 1 + Math.ceil(estimate / 2);

interface CaptureInput extends CampaignInput {
  layouts: FuzzLayouts;
  chunks: RawChunk[];
  /** Clean read: stream records (sync and LOST excluded) and LOST counts. */
  streamRecords: number;
  lost: number;
  /** Record times of the clean read (seek targets). */
  minTime: number;
  maxTime: number;
}

async function simCapture(options: Partial<SimRecordOptions>): Promise<Uint8Array> {
  const sink = memorySink();
  await recordSimulation(getStrategy("mainline"), sink, {
    seed: 7,
    durationMs: 4,
    cpus: 2,
    verify: false,
    ...options,
  });
  return sink.bytes();
}

async function describe(name: string, bytes: Uint8Array): Promise<CaptureInput> {
  const reader = await CaptureReader.open(captureMemorySource(bytes));
  let minTime = Infinity;
  let maxTime = -Infinity;
  const sum = await reader.read((r) => {
    minTime = Math.min(minTime, r.time);
    maxTime = Math.max(maxTime, r.time);
  });
  reader.close();
  assert.deepEqual(sum.warnings, [], name);
  let streamRecords = 0;
  let lost = 0;
  for (const c of sum.cpus.values()) {
    streamRecords += c.streamRecords;
    lost += c.lost;
  }
  return {
    name,
    bytes,
    layouts: captureLayouts(bytes),
    chunks: rawChunks(bytes),
    streamRecords,
    lost,
    minTime,
    maxTime,
  };
}

let cached: Promise<CaptureInput[]> | undefined;
function inputs(): Promise<CaptureInput[]> {
  cached ??= (async () => [
    await describe("make-300", (await makeCapture(300, 11, 1024)).bytes),
    await describe(
      "make-symbols",
      (await makeCapture(120, 12, 512, {
        symbols: [
          { start: 0x1000n, end: 0x2000n, kernel: false, name: "main", dso: "/bin/app" },
          {
            start: 0xffffffff81000000n,
            end: 0xffffffff81001000n,
            kernel: true,
            name: "nmi",
            dso: "[kernel.kallsyms]",
          },
        ],
      })).bytes,
    ),
    await describe("sim", await simCapture({})),
    await describe(
      "sim-deep",
      await simCapture({ fragments: true, pDeepStack: 0.05, durationMs: 2 }),
    ),
    await describe("sim-lost", await simCapture({ ringPages: 1, frequencyHz: 40_000 })),
    await describe("sim-overwrite", await simCapture({ overwrite: true, ringPages: 1 })),
  ])();
  return cached;
}

/** Cases by their bytes, for the invariant check. */
const cases = new WeakMap<Uint8Array, MutatedCase & { resealed: boolean }>();

function mutate(input: CaptureInput, rng: FuzzRng, reseal: number) {
  const c = mutateStructured(input.bytes, input.layouts, rng);
  const resealed = rng.chance(reseal);
  if (resealed) {
    c.bytes = c.bytes === input.bytes ? c.bytes.slice() : c.bytes;
    resealCapture(c.bytes);
  }
  cases.set(c.bytes, { ...c, resealed });
  return { bytes: c.bytes, label: `${resealed ? "resealed " : ""}${describeCase(c)}` };
}

/**
 * Stream records of the clean capture that a reader of the mutated bytes
 * can know about, or undefined when the mutations leave no such count:
 * all of them after length-preserving mutations; after a single cut, those
 * of the chunks whose header is whole before the cut (the format has no
 * trailer: chunks after a cut at a chunk boundary leave no trace); after
 * deleting one chunk, all but that chunk's when it was its CPU's last.
 * `present` tells whether the damaged bytes are all still in the file
 * with their chunks' framing (CPU, length, position): in-place mutations
 * other than a chunk header field set to an arbitrary value.
 */
function knowable(
  input: CaptureInput,
  c: MutatedCase,
): { records: number; present: boolean } | undefined {
  const inPlace = ["flip", "run00", "runff", "field", "u16"];
  if (c.mutations.every((m) => inPlace.includes(m.kind))) {
    const framed = c.mutations.every((m) => !(m.kind === "field" && CHUNK_FIELD.test(m.detail)));
    return { records: input.streamRecords, present: framed };
  }
  if (c.mutations.length !== 1) return undefined;
  const m = c.mutations[0]!;
  if (m.kind === "truncate") {
    const cut = c.bytes.length;
    const records = input.chunks.filter((k) => k.fileOffset + 64 <= cut)
      .reduce((n, k) => n + k.streamRecords, 0);
    return { records, present: false };
  }
  if (m.kind === "duplicate") return { records: input.streamRecords, present: false };
  if (m.kind === "delete" && c.focus === "spans") {
    const gone = input.chunks.find((k) => k.fileOffset === m.offset);
    if (!gone) return undefined;
    const last = !input.chunks.some((k) => k.cpu === gone.cpu && k.fileOffset > gone.fileOffset);
    return { records: input.streamRecords - (last ? gone.streamRecords : 0), present: false };
  }
  return undefined;
}

/** A structure-aware mutation of a chunk header field (`chunk 3 cpu := 9`). */
const CHUNK_FIELD = /^chunk \d+ (?!record)/;

/**
 * The accounting invariant: whenever the reader does not throw, records
 * read plus LOST counts plus records counted lost to damage (exact and
 * estimated) reach the clean count the reader can know about, minus the
 * estimate's tolerance. Checked on the same basis as the reader counts
 * (stream records before reassembly, sync and LOST excluded), so LOST
 * counts only add slack.
 *
 * The tolerance (capture_test.ts) is that of an estimate at a mean record
 * size over records of 64 to ~1000 bytes in a uniform mix, as makeCapture
 * writes them. Where the damaged bytes are still there with their chunk's
 * framing, the reader counts them (or counts around the damage) and the
 * bound holds for every capture. Where bytes are gone (a cut, a deleted or
 * duplicated span, after which no own offset matches) or a chunk header
 * field was overwritten, the records are estimated at a mean: that is
 * checked against the tolerance for the makeCapture captures only, since
 * in simulator captures record sizes cluster (the symbol table first, exits
 * last, 2 KB fragments of deep stacks); for those, and for any read with
 * skipped bytes no CPU accounts for (`unattributedBytes`, estimated at the
 * whole read's mean), the estimate must be there: some records when the
 * uncounted bytes could hold any. A read without a single intact record
 * has no mean to estimate with (its estimate is 0 by definition): skipped.
 */
function accountingBroken(input: CaptureInput, bytes: Uint8Array, r: FuzzResult) {
  const c = cases.get(bytes);
  if (!c || c.resealed || !r.report) return undefined;
  const want = knowable(input, c);
  if (want === undefined) return undefined;
  const s = r.report.stats;
  const detail = () =>
    `${s.streamRecords} read + ${s.lost} LOST + ${s.damagedRecords} counted + ` +
    `~${s.damagedEstimate} estimated (${s.uncountedBytes} bytes uncounted, ` +
    `${s.unattributedBytes} unattributed)`;
  if (s.streamRecords === 0) return undefined;
  const uniform = input.name.startsWith("make-");
  if (s.unattributedBytes > 0 || (!want.present && !uniform)) {
    return s.uncountedBytes >= 64 && s.damagedEstimate === 0
      ? `${detail()}: no estimate for the uncounted bytes`
      : undefined;
  }
  const got = s.streamRecords + s.lost + s.damagedRecords + s.damagedEstimate;
  if (got >= want.records - estimateTolerance(s.damagedEstimate)) return undefined;
  return `${detail()} < ${want.records} clean records - tolerance`;
}

async function campaign(
  target: string,
  casesPerInput: number,
  reseal: number,
  options: (input: CaptureInput, rng: FuzzRng) => Record<string, number | string | boolean> =
    () => ({}),
  check = false,
): Promise<FuzzCampaign> {
  const pool = new FuzzPool(TARGETS, {}, 2);
  const c = new FuzzCampaign(target, KNOWN_FAILURES);
  try {
    await runCampaign(pool, c, {
      target,
      inputs: await inputs(),
      casesPerInput,
      seed: SEED,
      mutate: (input, rng) => mutate(input, rng, reseal),
      options,
      check: check ? accountingBroken : undefined,
    });
  } finally {
    await pool.close();
  }
  console.log(c.summary());
  for (const k of c.knownHits.slice(0, 5)) console.log(`  known: ${k}`);
  return c;
}

Deno.test("capture layouts name the header, chunk and record fields; reseal restores the CRCs", async () => {
  for (const input of await inputs()) {
    const { header, records, spans } = input.layouts;
    assert.ok(header.fields.some((f) => f.name === "event 0 attr sample_type"), input.name);
    assert.ok(header.fields.some((f) => f.name.endsWith("position")), input.name);
    assert.ok(records.fields.some((f) => f.name.endsWith("callchain nr")), input.name);
    assert.equal(spans.spans.length, input.chunks.length, input.name);
    // Clean bytes reseal to themselves; a changed field reseals to a clean read.
    const copy = input.bytes.slice();
    assert.equal(resealCapture(copy), input.chunks.length);
    assert.deepEqual(copy, input.bytes, input.name);
    copy[input.chunks[0]!.fileOffset + 40] ^= 1; // minTime of the first chunk
    resealCapture(copy);
    assert.deepEqual((await readSummary(copy)).warnings, [], input.name);
  }
  // Together the inputs hold LOST, COMM, samples, fragments, syncs and symbols.
  const all = new Set(
    (await inputs()).flatMap((i) => i.chunks.flatMap((c) => c.records.map((r) => r.type))),
  );
  for (const t of [2, 3, 9, 0x4c00, 0x4c01, 0x4c02]) assert.ok(all.has(t), `record type ${t}`);
});

Deno.test("fuzz: CaptureReader.read over mutated captures, loss accounted whenever it does not throw", async () => {
  const c = await campaign("capture", fuzzCases(80), 0.3, () => ({}), true);
  assert.equal(c.failureText(), "");
});

Deno.test("fuzz: CaptureReader.read from random offsets and with a small reorder bound", async () => {
  const c = await campaign("capture", fuzzCases(20, 2), 0.3, (input, rng) => ({
    from: rng.int(input.bytes.length + 64),
    maxReorder: rng.pick([1, 16, 1_000_000]),
  }));
  assert.equal(c.failureText(), "");
});

Deno.test("fuzz: seekTime then read over mutated captures", async () => {
  const c = await campaign("capture-seek", fuzzCases(20, 2), 0.5, (input, rng) => ({
    time: rng.chance(0.1)
      ? rng.pick([0, 2 ** 53, -1])
      : input.minTime + rng.int(Math.max(1, input.maxTime - input.minTime + 1)),
  }));
  assert.equal(c.failureText(), "");
});

Deno.test("fuzz: openCaptureAsPerfData (script path) over mutated captures", async () => {
  const c = await campaign("capture-view", fuzzCases(20, 4), 0.5);
  assert.equal(c.failureText(), "");
});

Deno.test("fuzz: loadProfile (report path) over mutated captures", async () => {
  const kallsyms = await Deno.makeTempFile({ prefix: "callring-fuzz-kallsyms-" });
  try {
    const c = await campaign("load", fuzzCases(8, 20), 0.5, () => ({ kallsyms }));
    assert.equal(c.failureText(), "");
  } finally {
    await Deno.remove(kallsyms);
  }
});

Deno.test("fuzz: former defrag failures replay from their reproducers without failing", async () => {
  const pool = new FuzzPool(TARGETS, {}, 1);
  try {
    for (const k of FIXED) {
      const bytes = await Deno.readFile(new URL(`../../${k.reproducer}`, import.meta.url));
      const r = await pool.run({ target: k.id.split(" ")[0]!, bytes });
      assert.ok(!isFailure(r.outcome.class), `${k.id} (${k.note}): ${r.outcome.message}`);
    }
  } finally {
    await pool.close();
  }
});

// Regressions found by fuzzing (lib/capture fixes), on the exact bytes: a
// clean capture under testdata/fuzz/ plus the bytes the fuzz case changed.

const fuzzData = (name: string) => new URL(`../../testdata/fuzz/${name}`, import.meta.url);

/** The capture `name` with `edits` ([file offset, new byte]) applied, resealed if asked. */
async function edited(name: string, edits: [number, number][], reseal = false) {
  const bytes = await Deno.readFile(fuzzData(name));
  for (const [at, value] of edits) bytes[at] = value;
  if (reseal) resealCapture(bytes);
  return bytes;
}

async function readSummary(bytes: Uint8Array) {
  const reader = await CaptureReader.open(captureMemorySource(bytes));
  try {
    return await reader.read(() => {});
  } finally {
    reader.close();
  }
}

function streamRecords(sum: Awaited<ReturnType<typeof readSummary>>): number {
  return [...sum.cpus.values()].reduce((n, c) => n + c.streamRecords, 0);
}

Deno.test("fuzz regression: absurd CPU and event counts in a (resealed) header are one-line format errors", async () => {
  const cases: [string, [number, number][]][] = [
    ["events := 0xffffffff (read past the header: RangeError)", [[20, 255], [21, 255], [22, 255], [
      23,
      255,
    ]]],
    ["events := 0 (no first event: TypeError)", [[20, 0]]],
    ["cpus := 0xffffffff (4e9 ledger iterations: hang)", [[16, 255], [17, 255], [18, 255], [
      19,
      255,
    ]]],
    ["cpus := 0", [[16, 0]]],
  ];
  for (const [what, edits] of cases) {
    const bytes = await edited("capture-small.data", edits, true);
    await assert.rejects(
      CaptureReader.open(captureMemorySource(bytes)),
      (e: unknown) => e instanceof FormatError && e.offset >= 0,
      what,
    );
  }
});

Deno.test("fuzz regression: seekTime bounds its window when the header's maxChunk is absurd", async () => {
  const bytes = await edited(
    "capture-small.data",
    [[44, 255], [45, 255], [46, 255], [47, 255]],
    true,
  );
  const reader = await CaptureReader.open(captureMemorySource(bytes));
  try {
    assert.equal(reader.header.maxChunk, 0xffff_ffff);
    const before = Deno.memoryUsage().external;
    const s = await reader.seekTime(0);
    assert.ok(Deno.memoryUsage().external - before < 64 * 2 ** 20, "a 4 GiB window was allocated");
    assert.equal(s.offset, reader.header.size);
  } finally {
    reader.close();
  }
});

Deno.test("fuzz regression: damaged records among the simulator's symbol table are counted around the damage", async () => {
  const clean = await readSummary(await Deno.readFile(fuzzData("capture-sim.data")));
  const total = streamRecords(clean);
  const cases: [string, [number, number][], boolean][] = [
    // A symbol record 1024 bytes longer tiles the chunk: the count of 86 was claimed exact.
    ["symbol record size + 1024", [[863, 4]], false],
    // An impossible size: the chunk's 107 records were estimated at the CPU's mean (~31).
    ["symbol record size 65535", [[382, 255], [383, 255]], false],
    // Chunk 0's magic damaged: the chunk was unattributed, now counted exactly.
    ["chunk magic", [[214, 236], [215, 38]], true],
  ];
  for (const [what, edits, exact] of cases) {
    const sum = await readSummary(await edited("capture-sim.data", edits));
    const lost = total - streamRecords(sum);
    assert.equal(lost, 107, what);
    if (exact) {
      assert.deepEqual([sum.damagedRecords, sum.uncountedBytes], [lost, 0], what);
    } else {
      assert.ok(sum.uncountedBytes > 0, `${what}: not claimed exact`);
      const off = Math.abs(lost - sum.damagedRecords - sum.damagedEstimate);
      assert.ok(off <= estimateTolerance(sum.damagedEstimate), `${what}: ~${sum.damagedEstimate}`);
    }
  }
});

Deno.test("fuzz regression: a lost GAP chunk of an overwrite snapshot is counted, not unattributed", async () => {
  const clean = await readSummary(await Deno.readFile(fuzzData("capture-overwrite.data")));
  // The GAP chunk's payload-CRC field took a flip (its header CRC then fails).
  const sum = await readSummary(await edited("capture-overwrite.data", [[6497, 0]]));
  assert.equal(streamRecords(clean) - streamRecords(sum), 14);
  assert.deepEqual(
    [sum.damagedRecords, sum.uncountedBytes, sum.unattributedBytes, sum.damagedEstimate],
    [14, 0, 0, 0],
  );
});
