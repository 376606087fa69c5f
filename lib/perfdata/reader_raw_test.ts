import assert from "node:assert/strict";
import { decodeRecord, decodeSample, RecordType } from "../abi/mod.ts";
import { cpuClockAttr, fixture, hasFixture } from "./_test_utils.ts";
import { OrderedQueue } from "./ordered.ts";
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
    await file.forEachRecord!((r: RawRecord) => {
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

/**
 * A file whose rounds interleave two CPUs (each CPU's records in time order,
 * the CPUs not), with COMM/MMAP records between the samples: the reader's
 * order must be the one of the reference {@linkcode OrderedQueue}.
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
    // Reference: file order through OrderedQueue, as perf's ordered_events does.
    const fileOrder = await viaRecords(path, { ordered: false });
    const file = await openPerfData(path, { ordered: false });
    const queue = new OrderedQueue<string>();
    const want: string[] = [];
    let k = 0;
    for await (const r of file.records()) {
      const text = fileOrder[k++]!;
      if (r.record.type === RecordType.FINISHED_ROUND) {
        want.push(...queue.flushRound(), text);
      } else if (r.record.type < RecordType.HEADER_ATTR && !OrderedQueue.immediate(r.time)) {
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
  await file.forEachRecord!(async (r) => {
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
  await file.forEachRecord!(() => {});
  assert.throws(() => file.records(), /once/);
  await assert.rejects(() => file.forEachRecord!(() => {}), /once/);
  file.close();
});
