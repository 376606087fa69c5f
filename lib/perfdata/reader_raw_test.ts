import assert from "node:assert/strict";
import { decodeRecord, decodeSample, RecordType } from "../abi/mod.ts";
import { cpuClockAttr, fixture, hasFixture } from "./_test_utils.ts";
import { openPerfData, type RawRecord, type ReadOptions, type ReadRecord } from "./reader.ts";
import { kernelMmapRecord, PerfDataWriter } from "./writer.ts";

/** Everything `records()` delivers, as comparable text (sample callchains included). */
async function viaRecords(path: string, options: ReadOptions): Promise<string[]> {
  const file = await openPerfData(path, options);
  const out: ReadRecord[] = [];
  try {
    for await (const r of file.records()) out.push(r);
  } finally {
    file.close();
  }
  // Kept records stay intact while the reader reuses its buffers.
  return out.map((r) => describe(r.record.type, r.offset, r.time, r.event?.index, r.record));
}

/** The same through `forEachRecord()` (decoding each record during the visit). */
async function viaRaw(path: string, options: ReadOptions): Promise<string[]> {
  const file = await openPerfData(path, options);
  const out: string[] = [];
  try {
    await file.forEachRecord((r: RawRecord) => {
      out.push(describe(r.type, r.fileOffset, r.time, r.event?.index, r.record()));
    });
  } finally {
    file.close();
  }
  return out;
}

function describe(
  type: number,
  offset: number,
  time: number | undefined,
  event: number | undefined,
  record: unknown,
): string {
  return `${type}@${offset} t=${time} e=${event} ${
    JSON.stringify(record, (_, v) =>
      typeof v === "bigint"
        ? `${v}n`
        : v instanceof BigUint64Array
        ? Array.from(v, (x) =>
          x.toString(16)).join(",")
        : v instanceof Uint8Array
        ? Array.from(v).join(",")
        : v)
  }`;
}

for (const name of ["fp", "sys", "pipe", "nocpu", "dwarf"]) {
  Deno.test({
    name:
      `forEachRecord() delivers what records() delivers for ${name}.data (any chunk size, both orders)`,
    ignore: !hasFixture(`${name}.data`),
    fn: async () => {
      for (const ordered of [true, false]) {
        const want = await viaRecords(fixture(`${name}.data`), { ordered });
        assert.ok(want.length > 50);
        for (const chunkSize of [7, 300, 4096, undefined]) {
          const label = `${name} ordered=${ordered} chunkSize=${chunkSize}`;
          assert.deepEqual(
            await viaRaw(fixture(`${name}.data`), { ordered, chunkSize }),
            want,
            label,
          );
          assert.deepEqual(
            await viaRecords(fixture(`${name}.data`), { ordered, chunkSize }),
            want,
            label,
          );
        }
      }
    },
  });
}

Deno.test("records() keeps every delivered sample intact while it reads on (buffers are reused)", async () => {
  const path = fixture("fp.data");
  const bytes = await Deno.readFile(path);
  const view = new DataView(bytes.buffer);
  const file = await openPerfData(path, { chunkSize: 512 });
  const kept: ReadRecord[] = [];
  for await (const r of file.records()) kept.push(r);
  file.close();
  let samples = 0;
  for (const r of kept) {
    if (r.record.type !== RecordType.SAMPLE || !("sample" in r.record)) continue;
    samples++;
    const again = decodeSample(view, r.offset, r.event!.format, r.offset);
    assert.deepEqual(r.record.sample, again, `sample at ${r.offset}`);
  }
  assert.ok(samples > 100);
});

interface Entry<T> {
  time: number;
  seq: number;
  item: T;
}

function byTimeThenSeq<T>(a: Entry<T>, b: Entry<T>): number {
  return a.time - b.time || a.seq - b.seq;
}

/** The reference model of perf's ordered-events queue: an array sorted per round. */
class ReferenceQueue<T> {
  #pending: Entry<T>[] = [];
  #sorted = true;
  #seq = 0;
  #maxTime = 0;
  #nextFlush = 0;
  /** Time of the last delivered record (perf's `last_flush`). */
  lastFlush = 0;
  /** Records queued with a time below {@linkcode ReferenceQueue.lastFlush} (perf's `nr_unordered_events`). */
  unordered = 0;

  /** Number of queued records. */
  get size(): number {
    return this.#pending.length;
  }

  /**
   * Whether perf would deliver a record with this time immediately.
   *
   * @param time The record time or undefined.
   * @returns True for no time, 0 and ~0.
   */
  static immediate(time: number | undefined): boolean {
    return time === undefined || time === 0 || time >= 2 ** 64 - 1;
  }

  /**
   * Queue a record with a timestamp (callers deliver untimed records themselves).
   *
   * @param time The record time (> 0).
   * @param item The record.
   */
  push(time: number, item: T): void {
    const p = this.#pending;
    if (p.length && p[p.length - 1]!.time > time) this.#sorted = false;
    if (time < this.lastFlush) this.unordered++;
    // perf's queue_event: max_timestamp restarts when the queue was empty, and
    // is otherwise the time of the tail (the largest queued).
    if (p.length === 0 || time > this.#maxTime) this.#maxTime = time;
    p.push({ time, seq: this.#seq++, item });
  }

  #take(limit: number): T[] {
    const p = this.#pending;
    if (!this.#sorted) {
      p.sort(byTimeThenSeq);
      this.#sorted = true;
    }
    let n = 0;
    while (n < p.length && p[n]!.time <= limit) n++;
    if (n === 0) return [];
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = p[i]!.item;
    this.lastFlush = p[n - 1]!.time;
    this.#pending = n === p.length ? [] : p.slice(n);
    return out;
  }

  /**
   * Handle a FINISHED_ROUND.
   *
   * @returns The records to deliver now, in order.
   */
  flushRound(): T[] {
    const out = this.#take(this.#nextFlush);
    this.#nextFlush = this.#maxTime;
    return out;
  }

  /**
   * Deliver everything (end of input).
   *
   * @returns The remaining records in order.
   */
  flushAll(): T[] {
    return this.#take(Infinity);
  }
}

/**
 * A file whose rounds interleave two CPUs (each CPU's records in time order,
 * the CPUs not), with COMM/MMAP records between the samples: the reader's
 * order must be the one of the reference {@linkcode ReferenceQueue}.
 */
async function writeInterleaved(path: string): Promise<void> {
  const w = await PerfDataWriter.create(path, {
    events: [{ attr: cpuClockAttr(), name: "cpu-clock" }],
    autoFinishedRound: false,
  });
  await w.writeRecord(kernelMmapRecord());
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  let t0 = 1000, t1 = 1005;
  for (let round = 0; round < 40; round++) {
    for (const cpu of [0, 1]) {
      const n = 1 + rnd(60);
      for (let i = 0; i < n; i++) {
        const time = cpu === 0 ? (t0 += 1 + rnd(20)) : (t1 += 1 + rnd(20));
        if (rnd(25) === 0) {
          await w.writeRecord({
            type: RecordType.COMM,
            misc: 0,
            size: 0,
            pid: 7,
            tid: 7 + cpu,
            comm: `c${round}`,
            sampleId: { pid: 7, tid: 7 + cpu, time: rnd(10) === 0 ? 0 : time, cpu },
          });
        }
        await w.writeSample({
          ip: 0x401000n + BigInt(rnd(4096)),
          pid: 7,
          tid: 7 + cpu,
          time: rnd(50) === 0 ? time - 500 : time, // now and then, one late record
          cpu,
          period: 4000,
          callchain: BigUint64Array.of(0xfffffffffffffe00n, 0x401000n + BigInt(rnd(99))),
        });
      }
    }
    await w.finishRound();
  }
  await w.close();
}

Deno.test("ordered reading equals perf's ordered-events queue on interleaved CPUs", async () => {
  const path = await Deno.makeTempFile({ suffix: ".data" });
  try {
    await writeInterleaved(path);
    // Reference: file order through ReferenceQueue, as perf's ordered_events does.
    const fileOrder = await viaRecords(path, { ordered: false });
    const file = await openPerfData(path, { ordered: false });
    const queue = new ReferenceQueue<string>();
    const want: string[] = [];
    let k = 0;
    for await (const r of file.records()) {
      const text = fileOrder[k++]!;
      if (r.record.type === RecordType.FINISHED_ROUND) {
        want.push(...queue.flushRound(), text);
      } else if (r.record.type < RecordType.HEADER_ATTR && !ReferenceQueue.immediate(r.time)) {
        queue.push(r.time!, text);
      } else want.push(text);
    }
    want.push(...queue.flushAll());
    file.close();
    assert.ok(want.length > 1000);
    for (const chunkSize of [64, 1000, undefined]) {
      assert.deepEqual(await viaRecords(path, { chunkSize }), want, `records() ${chunkSize}`);
      assert.deepEqual(await viaRaw(path, { chunkSize }), want, `forEachRecord() ${chunkSize}`);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("forEachRecord(): a visitor's promise is awaited before the next record", async () => {
  const file = await openPerfData(fixture("fp.data"), { chunkSize: 256 });
  const seen: number[] = [];
  let busy = false;
  await file.forEachRecord(async (r) => {
    assert.equal(busy, false);
    busy = true;
    const type = r.type;
    await new Promise((ok) => setTimeout(ok, 0));
    assert.equal(r.type, type);
    if (type === RecordType.SAMPLE && r.decoded === undefined) {
      // The bytes stay valid across the await.
      const rec = decodeRecord(r.view, r.offset, r.event!.format, true, r.fileOffset);
      assert.equal(rec.type, RecordType.SAMPLE);
    }
    seen.push(type);
    busy = false;
  });
  file.close();
  assert.ok(seen.filter((t) => t === RecordType.SAMPLE).length > 100);
});

Deno.test("records() and forEachRecord() can be used once, and not both", async () => {
  const file = await openPerfData(fixture("fp.data"));
  await file.forEachRecord(() => {});
  assert.throws(() => file.records(), /once/);
  await assert.rejects(() => file.forEachRecord(() => {}), /once/);
  file.close();
});
