/**
 * The seed thread's ring-buffer debate, measured: one table with the thread's figures beside
 * ours (seed L8986-9008, L9363-9378, L9803-9813, L10843-10877, L9262-9268).
 *
 * Usage:
 *   deno run -A bench/ring.ts [--quick] [--records N] [--rounds N] [--no-bytecode]
 *
 * Rows (medians over the rounds, spread = min..max; round 0 warms the JIT and is not counted):
 *
 * - **writer ns/entry per mode**: `SampleWriter.write` of a 16-deep callchain sample
 *   (IP|TID|TIME|CPU|PERIOD|CALLCHAIN, 184 bytes) through each writer: the perf-style stream
 *   ring (consume mode drained every 10 000 records by the same thread; with sync points; with
 *   the reader in a Worker draining concurrently, SharedArrayBuffer: the thread's "discard mode,
 *   written" case), sub-buffer rings (512 KiB sub-buffers as in the thread's LTTng figure, NOP
 *   and header padding), the four flight recorders (`write_backward`, tail push, spare
 *   sub-buffer, swivel of two 2 MiB rings; spare and swivel also with a Worker taking snapshots
 *   concurrently), Steven's `reserve_unlimited` / `assign` / `commit` (16-deep, and 1024-deep
 *   beside `SampleWriter`'s head + fragments, per sample), and discard mode (a full ring with no
 *   reader: every write is dropped and counted). The README's "ring writer, 16-deep sample" figure is the
 *   `stream, consume` row of this command.
 * - **read throughput per mode** (M entries/s and GB/s): what each reader does with a full
 *   16 MiB ring: drain + walk every header and u32; per-record callbacks; sub-buffer walks;
 *   snapshots of each flight recorder.
 * - **paged vs contiguous backing** (Steven L10397-10411, Avi L10666-10676; "never measured",
 *   L11141): the same record writes and reads over one 16 MiB buffer and over 4096 separate 4 KiB
 *   page buffers reached through a page table. JavaScript typed arrays, not vmalloc or kernel
 *   pages: this measures the page-table indirection, not TLB misses.
 * - **fast-path size analogue** (L9363-9378): V8 bytecode bytes of the reserve/commit fast path
 *   of each writer (`--print-bytecode`), beside the thread's x86 machine-code bytes.
 * - **sync-index cost and seek bytes for a 4 GiB capture** (L9803-9813): a virtual 4 GiB capture
 *   whose chunk headers are generated on read (64 KiB and 256 KiB chunks): bytes read to index
 *   every chunk header by hopping their lengths, bytes read by `CaptureReader.seekTime`, and a
 *   binary search over 1 MiB sub-buffers of a 4 GiB stream, beside Peter's 262,144 bytes.
 * - **fragment overhead** for one-entry fragments, 32-byte and 16-byte headers (L9262-9268).
 *
 * Exit status 1 when a writer benchmark dropped records it should not have.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { AttrFlag, defaultAttr, RecordType, SampleType } from "../lib/abi/mod.ts";
import { SUBBUF_HEADER_SIZE, SubbufPadding } from "../lib/abi/extensions.ts";
import { CHUNK_HEADER_SIZE, encodeChunkHeader, encodeFileHeader } from "../lib/capture/format.ts";
import { CaptureReader, type CaptureSource } from "../lib/capture/reader.ts";
import { createRingMemory } from "../lib/ring/layout.ts";
import { RingReader, snapshotOverwrite, TailPushReader } from "../lib/ring/reader.ts";
import { type RecordWriter, type SampleFields, SampleWriter } from "../lib/ring/sample_writer.ts";
import { createSpareRing, SpareSubbufReader, SpareSubbufWriter } from "../lib/ring/spare.ts";
import { searchSubbufsBy, SubbufWalker } from "../lib/ring/subbuf.ts";
import { RingWriter } from "../lib/ring/writer.ts";
import { createSwivelRing, SwivelReader, SwivelWriter } from "../lib/ring/swivel.ts";
import { UnlimitedWriter } from "../lib/ring/unlimited.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    records: { type: "string" },
    rounds: { type: "string" },
    "no-bytecode": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/ring.ts [--quick] [--records N] [--rounds N] [--no-bytecode]",
  );
  Deno.exit(0);
}

const RECORDS = Number(values.records ?? (values.quick ? 300_000 : 2_000_000));
const ROUNDS = Number(values.rounds ?? (values.quick ? 3 : 9));
const BATCH = 10_000;
const DEPTH = 16;
const SAMPLE_TYPE = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CPU |
  SampleType.PERIOD | SampleType.CALLCHAIN;
const RING = 1 << 22;
const SUBBUF = 1 << 19;

const callchain = new Uint32Array(2 * 1024);
for (let i = 0; i < 1024; i++) {
  callchain[2 * i] = 0x81000000 + i * 64;
  callchain[2 * i + 1] = 0xffffffff;
}
const fields: SampleFields = {
  misc: 1,
  ipLo: 0x81000000,
  ipHi: 0xffffffff,
  pid: 1,
  tid: 1,
  time: 1_000_000,
  id: 0,
  cpu: 0,
  period: 1,
};

/** One row of the table. */
interface Row {
  section: string;
  measure: string;
  ours: string;
  spread: string;
  thread: string;
}
const rows: Row[] = [];
function row(section: string, measure: string, ours: string, spread: string, thread: string) {
  rows.push({ section, measure, ours, spread, thread });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
function spread(xs: number[], digits = 1): string {
  return `${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}`;
}

// ---------------------------------------------------------------- writer ns/entry per mode

interface WriterSetup {
  /** The writer the samples go through. */
  w: RecordWriter;
  /** Called every BATCH records (the reader's turn), e.g. a drain. */
  between?: () => void;
  /** Records dropped so far (must stay 0 except in discard mode). */
  dropped: () => number;
  /** Called once after the timed rounds. */
  finish?: () => Promise<void> | void;
  /** Writes one sample instead of `SampleWriter.write` (e.g. through reserve_unlimited). */
  write?: () => void;
  /** Samples between two `between` calls (default BATCH). */
  batch?: number;
  /** Samples per round (default RECORDS). */
  records?: number;
}

async function benchWriter(name: string, make: () => WriterSetup | Promise<WriterSetup>) {
  const setup = await make();
  const sw = new SampleWriter(setup.w, SAMPLE_TYPE);
  const write = setup.write ?? (() => sw.write(fields, callchain, DEPTH));
  const batch = setup.batch ?? BATCH;
  const batches = Math.max(1, Math.round((setup.records ?? RECORDS) / batch));
  const ns: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < batch; i++) {
        fields.time += 37;
        write();
      }
      setup.between?.();
    }
    if (round > 0) ns.push((performance.now() - t0) * 1e6 / (batches * batch));
  }
  await setup.finish?.();
  return { name, ns, dropped: setup.dropped() };
}

const noop = () => {};

function streamSetup(opts: { shared?: boolean; sync?: number } = {}): WriterSetup {
  const ring = createRingMemory(RING, { shared: opts.shared });
  const w = new RingWriter(ring, { syncDistance: opts.sync ?? 0 });
  const r = new RingReader(ring);
  return { w, between: () => r.drain(noop), dropped: () => w.stats.dropped };
}

function subbufSetup(padding: "nop" | "header"): WriterSetup {
  const ring = createRingMemory(RING);
  const w = new RingWriter(ring, { subbufSize: SUBBUF, subbufPadding: padding });
  const r = new RingReader(ring);
  return {
    w,
    between: padding === "header" ? () => r.drainClosed(noop) : () => r.drain(noop),
    dropped: () => w.stats.dropped,
  };
}

/** What the Worker reader reports. */
interface WorkerRead {
  bytes: number;
  records: number;
  overwritten: number;
  ms: number;
}

/** A concurrent reader in a Worker; resolves with what it read once told to stop. */
function startWorker(
  msg: Record<string, unknown>,
): { stop: () => Promise<WorkerRead> } {
  const worker = new Worker(new URL("./_ring_reader_worker.ts", import.meta.url), {
    type: "module",
  });
  const stop = new SharedArrayBuffer(4);
  const done = new Promise<WorkerRead>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
  });
  worker.postMessage({ ...msg, stop });
  return {
    stop: async () => {
      Atomics.store(new Int32Array(stop), 0, 1);
      const r = await done;
      worker.terminate();
      return r;
    },
  };
}

const workerReads: Record<string, string> = {};

const writers = [
  await benchWriter("stream, consume (perf ABI)", () => streamSetup()),
  await benchWriter("stream, consume, SharedArrayBuffer", () => streamSetup({ shared: true })),
  await benchWriter("stream + sync points every 64 KiB", () => streamSetup({ sync: 65536 })),
  await benchWriter("stream, reader in a Worker", () => {
    const ring = createRingMemory(RING, { shared: true });
    const w = new RingWriter(ring);
    const reader = startWorker({ kind: "stream", buffer: ring.buffer });
    return {
      w,
      dropped: () => w.stats.dropped,
      finish: async () => {
        const r = await reader.stop();
        const entries = r.bytes / new SampleWriter(w, SAMPLE_TYPE).sampleSize(DEPTH);
        workerReads.stream = `${
          (entries / r.ms / 1e3).toFixed(2)
        } M entries/s read, ${w.stats.dropped} dropped`;
      },
    };
  }),
  await benchWriter("sub-buffers 512 KiB, NOP padding", () => subbufSetup("nop")),
  await benchWriter("sub-buffers 512 KiB, size in header", () => subbufSetup("header")),
  await benchWriter("flight recorder: backward (perf)", () => {
    const w = new RingWriter(createRingMemory(RING, { overwrite: true }));
    return { w, dropped: () => w.stats.dropped };
  }),
  await benchWriter("flight recorder: tail push (Peter)", () => {
    const w = new RingWriter(createRingMemory(RING, { tailPush: true }));
    return { w, dropped: () => w.stats.dropped };
  }),
  await benchWriter("flight recorder: spare sub-buffer (Mathieu)", () => {
    const w = new SpareSubbufWriter(createSpareRing(RING / SUBBUF, SUBBUF), 0);
    return { w, dropped: () => 0 };
  }),
  await benchWriter("spare sub-buffer, reader in a Worker", () => {
    const m = createSpareRing(RING / SUBBUF, SUBBUF, { shared: true });
    const w = new SpareSubbufWriter(m, 0);
    const reader = startWorker({
      kind: "spare",
      buffer: m.buffer,
      subbufs: m.subbufs,
      subbufSize: m.subbufSize,
    });
    return {
      w,
      dropped: () => 0,
      finish: async () => {
        const r = await reader.stop();
        workerReads.spare = `${
          (r.records / r.ms / 1e3).toFixed(2)
        } M entries/s read, ${w.stats.overwritten} overwritten`;
      },
    };
  }),
  await benchWriter("flight recorder: swivel (Peter)", () => {
    // no reader, as the other flight recorders' rows (two 2 MiB rings: the same memory)
    const w = new SwivelWriter(createSwivelRing(RING / 2));
    return { w, dropped: () => 0 };
  }),
  await benchWriter("swivel, reader in a Worker", () => {
    const m = createSwivelRing(RING / 2, { shared: true });
    const w = new SwivelWriter(m);
    const reader = startWorker({
      kind: "swivel",
      rings: [m.rings[0].buffer, m.rings[1].buffer],
      control: m.control.buffer,
    });
    return {
      w,
      dropped: () => 0,
      finish: async () => {
        const r = await reader.stop();
        workerReads.swivel = `${
          (r.records / r.ms / 1e3).toFixed(2)
        } M entries/s read, ${r.overwritten} overwritten`;
      },
    };
  }),
  await benchWriter("reserve_unlimited/assign/commit (Steven), stream", () => {
    const ring = createRingMemory(RING);
    const w = new RingWriter(ring);
    const r = new RingReader(ring);
    const uw = new UnlimitedWriter(w, SAMPLE_TYPE);
    return {
      w,
      between: () => r.drain(noop),
      dropped: () => w.stats.dropped,
      write: () => {
        const e = uw.reserveUnlimited(fields);
        uw.assignWords(e, callchain, 0, DEPTH);
        uw.commit(e);
      },
    };
  }),
  await benchWriter("reserve_unlimited, 1024-deep (2 fragments), per sample", () => {
    const ring = createRingMemory(RING);
    const w = new RingWriter(ring);
    const r = new RingReader(ring);
    const uw = new UnlimitedWriter(w, SAMPLE_TYPE, { pieceSize: 4096 });
    return {
      w,
      batch: 200,
      records: Math.ceil(RECORDS / 16),
      between: () => r.drain(noop),
      dropped: () => w.stats.dropped,
      write: () => {
        const e = uw.reserveUnlimited(fields);
        uw.assignWords(e, callchain, 0, 1024);
        uw.commit(e);
      },
    };
  }),
  await benchWriter("SampleWriter, 1024-deep (head 128 + fragments), per sample", () => {
    const ring = createRingMemory(RING);
    const w = new RingWriter(ring);
    const r = new RingReader(ring);
    const sw = new SampleWriter(w, SAMPLE_TYPE, { compactFragments: true });
    return {
      w,
      batch: 200,
      records: Math.ceil(RECORDS / 16),
      between: () => r.drain(noop),
      dropped: () => w.stats.dropped,
      write: () => void sw.write(fields, callchain, 1024),
    };
  }),
  await benchWriter("discard mode (full ring, no reader)", () => {
    const ring = createRingMemory(RING);
    const w = new RingWriter(ring);
    const sw = new SampleWriter(w, SAMPLE_TYPE);
    while (sw.write(fields, callchain, DEPTH));
    return { w, dropped: () => 0 };
  }),
];

const THREAD_WRITER: Record<string, string> = {
  "stream, consume (perf ABI)": "perf 423 ns written (its own 24 B/entry estimate), L9002-9008",
  "stream, consume, SharedArrayBuffer": "-",
  "stream + sync points every 64 KiB": "- (sync events never built)",
  "stream, reader in a Worker":
    "discard mode written: lib 257 ns (read 2.8 M/s), perf 423 (read 2.3 M/s), L9004-9008",
  "sub-buffers 512 KiB, NOP padding": "lib 83 ns (512 KB sub-buffers, no reader), L8990",
  "sub-buffers 512 KiB, size in header": "lib 83 ns (512 KB sub-buffers, no reader), L8990",
  "flight recorder: backward (perf)": "perf: unavailable in 2010, L8997",
  "flight recorder: tail push (Peter)": "- (unfinished sketch, L9704-9705)",
  "flight recorder: spare sub-buffer (Mathieu)": "lib 83 ns no reader, L8990; ftrace 103, L8994",
  "spare sub-buffer, reader in a Worker": "lib 89 ns (read 0.3 M entries/s), L8991",
  "discard mode (full ring, no reader)": "lib 96 ns/entry discarded, L9004",
  "flight recorder: swivel (Peter)": "- (proposed, never built: L9627-9630, L9669)",
  "swivel, reader in a Worker":
    "ftrace 187 ns read by event (0.4 M/s), lib 89 (0.3 M/s), L8990-8995",
  "reserve_unlimited/assign/commit (Steven), stream": "- (proposed, never built: L10434-10453)",
  "reserve_unlimited, 1024-deep (2 fragments), per sample": "-",
  "SampleWriter, 1024-deep (head 128 + fragments), per sample": "-",
};
for (const r of writers) {
  const extra = r.name.includes("Worker")
    ? ` (${
      r.name.startsWith("stream")
        ? workerReads.stream
        : r.name.startsWith("swivel")
        ? workerReads.swivel
        : workerReads.spare
    })`
    : "";
  row(
    "writer ns/entry",
    r.name + extra,
    `${median(r.ns).toFixed(1)} ns`,
    spread(r.ns),
    THREAD_WRITER[r.name] ?? "-",
  );
}
const unexpectedDrops = writers.filter((r) => r.dropped > 0 && !r.name.includes("Worker"));

// ---------------------------------------------------------------- read throughput per mode

const READ_RING = 1 << 24;
const entry = new SampleWriter(new RingWriter(createRingMemory(4096)), SAMPLE_TYPE).sampleSize(
  DEPTH,
);
let checksum = 0;
function sumWords(b: Uint8Array): void {
  const u = new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  let s = checksum;
  for (let i = 0; i < u.length; i++) s = (s + u[i]) | 0;
  checksum = s;
}

function benchRead(
  name: string,
  thread: string,
  fill: () => void,
  read: () => { bytes: number; entries: number },
) {
  const mes: number[] = [];
  const gbs: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    fill();
    const t0 = performance.now();
    const r = read();
    const ms = performance.now() - t0;
    if (round > 0) {
      mes.push(r.entries / ms / 1e3);
      gbs.push(r.bytes / ms / 1e6);
    }
  }
  row(
    "read throughput",
    name,
    `${median(mes).toFixed(1)} M entries/s, ${median(gbs).toFixed(2)} GB/s`,
    `${spread(mes)} M/s`,
    thread,
  );
}

function filler(w: RecordWriter, bytes: number): () => void {
  const sw = new SampleWriter(w, SAMPLE_TYPE);
  const n = Math.floor(bytes * 0.98 / entry);
  return () => {
    for (let i = 0; i < n; i++) {
      fields.time += 37;
      sw.write(fields, callchain, DEPTH);
    }
  };
}

{
  const ring = createRingMemory(READ_RING);
  const w = new RingWriter(ring);
  const r = new RingReader(ring);
  benchRead(
    "stream: drain + every u32",
    "lib 2.8 M entries/s, perf 2.3 M/s (discard mode), L9005-9006",
    filler(w, READ_RING),
    () => {
      const before = r.bytes;
      r.drain(sumWords);
      return { bytes: r.bytes - before, entries: (r.bytes - before) / entry };
    },
  );
  benchRead("stream: one callback per record", "-", filler(w, READ_RING), () => {
    const n = r.read((v, off) => {
      checksum = (checksum + v.getUint32(off + 4, true)) | 0;
    });
    return { bytes: n * entry, entries: n };
  });
}
for (const padding of ["nop", "header"] as const) {
  const ring = createRingMemory(READ_RING);
  const w = new RingWriter(ring, { subbufSize: SUBBUF, subbufPadding: padding });
  const r = new RingReader(ring);
  const fill = filler(w, READ_RING - 2 * SUBBUF);
  benchRead(
    `sub-buffers, ${padding === "nop" ? "NOP padding" : "size in header"}: walk records`,
    "-",
    () => {
      fill();
      w.closeSubbuf();
    },
    () => {
      let entries = 0;
      let bytes = 0;
      const walker = new SubbufWalker();
      r.drainClosed((b, pos) => {
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        for (let p = 0; p < b.length;) {
          const skip = walker.paddingAt(pos + p);
          if (skip) {
            p += skip;
            continue;
          }
          const type = v.getUint32(p, true);
          const size = v.getUint16(p + 6, true);
          if (size < 8) throw new Error(`impossible record size ${size} at stream ${pos + p}`);
          if (type === RecordType.CALLRING_SUBBUF) walker.see(v, p, pos + p);
          else if (type === RecordType.SAMPLE) {
            entries++;
            sumWords(b.subarray(p, p + size));
          }
          p += size;
        }
        bytes += b.length;
      });
      return { bytes, entries };
    },
  );
}
{
  const ring = createRingMemory(READ_RING, { overwrite: true });
  const w = new RingWriter(ring);
  benchRead(
    "flight recorder backward: snapshot",
    "perf: unavailable, L8997",
    filler(w, READ_RING * 1.5),
    () => {
      const s = snapshotOverwrite(ring);
      sumWords(s.bytes);
      return { bytes: s.bytes.length, entries: s.records };
    },
  );
}
{
  const ring = createRingMemory(READ_RING, { tailPush: true });
  const w = new RingWriter(ring);
  const r = new TailPushReader(ring);
  benchRead(
    "flight recorder tail push: snapshot",
    "-",
    filler(w, READ_RING * 1.5),
    () => {
      const s = r.snapshot();
      sumWords(s.bytes);
      return { bytes: s.bytes.length, entries: s.records };
    },
  );
}
{
  const m = createSpareRing(READ_RING / SUBBUF, SUBBUF);
  const w = new SpareSubbufWriter(m, 0);
  const r = new SpareSubbufReader(m);
  benchRead(
    "flight recorder spare sub-buffer: exchange all",
    "lib 0.3 M entries/s while tracing (a rate, not a maximum), L8991",
    filler(w, READ_RING * 1.5),
    () => {
      let bytes = 0;
      let entries = 0;
      for (const t of r.snapshot()) {
        sumWords(t.bytes);
        bytes += t.bytes.length;
        entries += t.records;
      }
      return { bytes, entries };
    },
  );
}

{
  const m = createSwivelRing(READ_RING);
  const w = new SwivelWriter(m);
  const r = new SwivelReader(m);
  benchRead(
    "flight recorder swivel: retire the ring + copy it",
    '- (Peter: "consume the old trace in a consistent manner", L9627-9630)',
    filler(w, READ_RING * 1.5),
    () => {
      const t = r.swivel()!;
      sumWords(t.bytes);
      return { bytes: t.bytes.length, entries: t.records };
    },
  );
}

// ---------------------------------------------------------------- paged vs contiguous backing

function pagedVsContiguous(): void {
  const size = 1 << 24;
  const PAGE = 4096;
  const words = entry >> 2;
  const contiguous = new Uint32Array(size >> 2);
  const pages = Array.from({ length: size / PAGE }, () => new Uint32Array(PAGE >> 2));
  const n = Math.floor(size / entry);
  const writeNs: Record<string, number[]> = { contiguous: [], paged: [] };
  const readGbs: Record<string, number[]> = { contiguous: [], paged: [] };
  for (let round = 0; round <= ROUNDS; round++) {
    // contiguous: one buffer, offset -> word
    let t0 = performance.now();
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const base = pos >> 2;
      contiguous[base] = 9;
      contiguous[base + 1] = entry << 16;
      for (let k = 2; k < words; k++) contiguous[base + k] = callchain[k];
      pos += entry;
    }
    if (round > 0) writeNs.contiguous.push((performance.now() - t0) * 1e6 / n);
    // paged: offset -> page table -> 4 KiB page -> word; records cross pages
    t0 = performance.now();
    pos = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < words; k++) {
        const at = pos + (k << 2);
        pages[at >>> 12][(at & (PAGE - 1)) >> 2] = k === 0
          ? 9
          : k === 1
          ? entry << 16
          : callchain[k];
      }
      pos += entry;
    }
    if (round > 0) writeNs.paged.push((performance.now() - t0) * 1e6 / n);
    t0 = performance.now();
    let s = 0;
    for (let i = 0; i < contiguous.length; i++) s = (s + contiguous[i]) | 0;
    if (round > 0) readGbs.contiguous.push(size / (performance.now() - t0) / 1e6);
    t0 = performance.now();
    for (let p = 0; p < pages.length; p++) {
      const page = pages[p];
      for (let i = 0; i < page.length; i++) s = (s + page[i]) | 0;
    }
    if (round > 0) readGbs.paged.push(size / (performance.now() - t0) / 1e6);
    checksum = (checksum + s) | 0;
  }
  const tlb = "TLB miss ~450 cycles vs 12 hit (Xeon E5404, L10843-10852); " +
    "Avi: ~2 cycles/entry amortized (L10777-10780); never measured on a ring (L11141)";
  for (const k of ["contiguous", "paged"] as const) {
    row(
      "paged vs contiguous",
      `${k === "paged" ? "4096 x 4 KiB pages + page table" : "one 16 MiB buffer"}: write`,
      `${median(writeNs[k]).toFixed(1)} ns/entry`,
      spread(writeNs[k]),
      k === "paged" ? tlb : "-",
    );
    row(
      "paged vs contiguous",
      `${k === "paged" ? "4096 x 4 KiB pages + page table" : "one 16 MiB buffer"}: read`,
      `${median(readGbs[k]).toFixed(2)} GB/s`,
      spread(readGbs[k], 2) + " GB/s",
      "-",
    );
  }
}
pagedVsContiguous();

// ---------------------------------------------------------------- fast-path size analogue

async function bytecodeLength(design: string, fn: string): Promise<number | undefined> {
  const child = new URL("./_bytecode_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--v8-flags=--print-bytecode,--print-bytecode-filter=${fn}`,
      child,
      design,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const at = text.indexOf(`[generated bytecode for function: ${fn} `);
  if (at < 0) return undefined;
  const m = text.slice(at).match(/Bytecode length: (\d+)/);
  return m ? Number(m[1]) : undefined;
}

if (!values["no-bytecode"]) {
  const paths: [string, string, string[], string][] = [
    [
      "stream (perf ABI)",
      "stream",
      ["reserve", "#handle", "commit", "#publish", "#store"],
      "perf_output_begin 543 + put_handle 201 + end 77 = 821 B x86, L9363-9370",
    ],
    [
      "sub-buffers (reserve slow path)",
      "subbuf",
      ["reserve", "#reserveSlow", "#frame", "#handle", "commit", "#publish", "#store"],
      "-",
    ],
    [
      "spare sub-buffer",
      "spare",
      ["reserve", "commit"],
      "lib reserve 511 + commit 266 = 777 B x86, L9373-9378",
    ],
    [
      "swivel (on top of the stream writer's)",
      "swivel",
      ["reserve", "commit"],
      "-",
    ],
    [
      "reserve_unlimited (on top of the stream writer's)",
      "unlimited",
      ["reserveUnlimited", "assignWords", "commit"],
      "-",
    ],
  ];
  for (const [name, design, fns, thread] of paths) {
    const sizes = await Promise.all(fns.map((f) => bytecodeLength(design, f)));
    const known = sizes.every((s) => s !== undefined);
    row(
      "fast-path size",
      `${name}: ${fns.join(" + ")}`,
      known ? `${sizes.reduce((a, b) => a! + b!, 0)} B V8 bytecode` : "not found",
      sizes.map((s) => s ?? "?").join(" + "),
      thread,
    );
  }
} else row("fast-path size", "(skipped: --no-bytecode)", "-", "-", "-");

// ---------------------------------------------------------------- sync index and seek, 4 GiB

/**
 * A capture of `total` bytes whose chunks (fixed payload, times rising with the chunk index)
 * exist only as headers generated when read; payload bytes read as zeros.
 */
function virtualCapture(total: number, payload: number): CaptureSource & { reads: number } {
  const attr = defaultAttr({
    type: 1,
    sampleType: SAMPLE_TYPE,
    samplePeriod: 1,
    flags: 2 ** AttrFlag.sampleIdAll,
  });
  const header = encodeFileHeader({
    events: [{ attr, ids: [] }],
    cpus: 4,
    clockid: 1,
    startTime: 0,
    syncDistance: 0,
    maxChunk: payload,
  });
  const stride = CHUNK_HEADER_SIZE + payload;
  const chunks = Math.floor((total - header.length) / stride);
  const size = header.length + chunks * stride;
  const tmp = new Uint8Array(CHUNK_HEADER_SIZE);
  const tv = new DataView(tmp.buffer);
  const src = {
    reads: 0,
    readAt(buf: Uint8Array, position: number): Promise<number> {
      src.reads++;
      const n = Math.max(0, Math.min(buf.length, size - position));
      buf.fill(0, 0, n);
      if (position < header.length) {
        buf.set(header.subarray(position, Math.min(header.length, position + n)), 0);
      }
      const first = Math.max(0, Math.floor((position - header.length) / stride));
      for (let c = first; c < chunks; c++) {
        const at = header.length + c * stride;
        if (at >= position + n) break;
        if (at + CHUNK_HEADER_SIZE <= position) continue;
        encodeChunkHeader(tv, 0, {
          cpu: c % 4,
          length: payload,
          fileOffset: at,
          position: Math.floor(c / 4) * payload,
          seq: c,
          round: Math.floor(c / 4),
          flags: 0,
          minTime: c * 1000,
          cumMaxTime: c * 1000 + 999,
          payloadCrc: 0,
        });
        const from = Math.max(position, at);
        const to = Math.min(position + n, at + CHUNK_HEADER_SIZE);
        buf.set(tmp.subarray(from - at, to - at), from - position);
      }
      return Promise.resolve(n);
    },
    size: () => Promise.resolve(size),
    close() {},
  };
  return src;
}

{
  const GB4 = 4 * 2 ** 30;
  const peter = "Peter: ~262,144 B for 4 GB at 1 MB sync distance, 128 B events " +
    "(~16 MB with page-cache pages), L9807-9813";
  for (const payload of [1 << 16, 1 << 18]) {
    const src = virtualCapture(GB4, payload);
    const reader = await CaptureReader.open(src);
    // index every chunk header by hopping their lengths
    const buf = new Uint8Array(CHUNK_HEADER_SIZE);
    let at = reader.header.size;
    let headers = 0;
    src.reads = 0;
    const stride = CHUNK_HEADER_SIZE + payload;
    while (at + CHUNK_HEADER_SIZE <= reader.fileSize) {
      await src.readAt(buf, at);
      headers++;
      at += stride;
    }
    const indexBytes = headers * CHUNK_HEADER_SIZE;
    row(
      "4 GiB sync index / seek",
      `index every chunk header (${payload >> 10} KiB chunks): ${headers} headers`,
      `${indexBytes.toLocaleString("en-US")} B read`,
      `${(headers * 4096).toLocaleString("en-US")} B in 4 KiB pages`,
      peter,
    );
    const seeks: number[] = [];
    for (const f of [0.01, 0.37, 0.5, 0.91]) {
      const t = Math.floor(headers * f) * 1000 + 500;
      const s = await reader.seekTime(t);
      seeks.push(s.bytesRead);
    }
    row(
      "4 GiB sync index / seek",
      `seek to a time, chunk headers (${payload >> 10} KiB chunks), 4 targets`,
      `${median(seeks).toLocaleString("en-US")} B read (median)`,
      `${Math.min(...seeks).toLocaleString("en-US")}..${
        Math.max(...seeks).toLocaleString("en-US")
      } B`,
      "Mathieu: binary search for time over sub-buffers, L8890-8892 (no figure)",
    );
    reader.close();
  }
  // binary search by time over 1 MiB sub-buffers of a 4 GiB stream: one header read per probe
  const n = GB4 / 2 ** 20;
  const probes: number[] = [];
  for (const f of [0.01, 0.37, 0.5, 0.91]) {
    let reads = 0;
    const target = Math.floor(n * f) * 10 + 5;
    const hit = searchSubbufsBy(n, target, (k) => {
      reads++;
      return {
        padding: SubbufPadding.HEADER,
        streamOffset: k * 2 ** 20,
        startTime: k * 10,
        endTime: k * 10 + 9,
        size: 2 ** 20,
        used: 2 ** 20,
        records: 0,
        cpu: 0,
      };
    });
    if (hit?.index !== Math.floor(n * f)) throw new Error(`sub-buffer search missed at ${f}`);
    probes.push(reads);
  }
  row(
    "4 GiB sync index / seek",
    `seek by time over ${n} sub-buffers of 1 MiB (headers only)`,
    `${median(probes) * SUBBUF_HEADER_SIZE} B read (${median(probes)} headers)`,
    `${median(probes) * 4096} B in 4 KiB pages`,
    "Mathieu: sub-buffer binary search, L8890-8892; Peter's 262,144 B indexes, does not seek",
  );
}

// ---------------------------------------------------------------- fragment overhead

function oneEntryOverhead(compact: boolean, depth: number) {
  const w = new RingWriter(createRingMemory(1 << 20));
  const sw = new SampleWriter(w, SAMPLE_TYPE, {
    headEntries: 1,
    fragmentEntries: 1,
    compactFragments: compact,
  });
  sw.write(fields, callchain, depth);
  const fragmentBytes = w.head - sw.sampleSize(1);
  return { perEntry: fragmentBytes / (depth - 1), total: w.head / sw.sampleSize(depth) };
}
for (const compact of [false, true]) {
  const o = oneEntryOverhead(compact, 256);
  row(
    "fragment overhead",
    `one u64 entry per fragment, ${compact ? "16 B compact" : "32 B"} header (255 fragments)`,
    `x${(o.perEntry / 8).toFixed(2)} per entry`,
    `whole sample x${o.total.toFixed(2)} vs contiguous`,
    compact
      ? "Peter: header + cookie + entry = x3, L9262-9268 (this header is exactly that)"
      : "Peter estimated x3 for his 3-u64 layout; ours has a 32 B header (x5)",
  );
}

// ---------------------------------------------------------------- print

const heads = ["measure", "ours (median)", "spread (min..max)", "the thread"];
const width = [
  Math.max(heads[0].length, ...rows.map((r) => r.measure.length)),
  Math.max(heads[1].length, ...rows.map((r) => r.ours.length)),
  Math.max(heads[2].length, ...rows.map((r) => r.spread.length)),
];
console.log(
  `bench/ring.ts: ${ROUNDS} rounds, ${RECORDS} records per writer round, ${DEPTH}-deep samples ` +
    `(${entry} B); the thread's figures were measured on 2010 kernels and other machines`,
);
let section = "";
for (const r of rows) {
  if (r.section !== section) {
    section = r.section;
    console.log(`\n## ${section}`);
    console.log(
      heads.map((h, i) => i < 3 ? h.padEnd(width[i]) : h).join("  "),
    );
  }
  console.log(
    [r.measure.padEnd(width[0]), r.ours.padEnd(width[1]), r.spread.padEnd(width[2]), r.thread]
      .join("  "),
  );
}
console.log(`\n(checksum ${checksum >>> 0})`);
if (unexpectedDrops.length) {
  console.error(
    `error: records dropped by ${
      unexpectedDrops.map((r) => `${r.name} (${r.dropped})`).join(", ")
    }`,
  );
  Deno.exitCode = 1;
}
