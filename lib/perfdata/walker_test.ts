import assert from "node:assert/strict";
import { FormatError, ReadFormat, RecordType, SampleLayout, SampleType } from "../abi/mod.ts";
import { fixture, hasFixture, writeSynthetic } from "./_test_utils.ts";
import { openPerfData } from "./reader.ts";
import { forEachSampleInFile } from "./walker.ts";

/** One line per sample from the reader (file order). */
async function viaReader(path: string): Promise<string[]> {
  const file = await openPerfData(path, { ordered: false });
  const out: string[] = [];
  for await (const r of file.records()) {
    if (!("sample" in r.record)) continue;
    const s = r.record.sample;
    const chain = Array.from(s.callchain ?? [], (v) => v.toString(16)).join(",");
    out.push(
      `${r.offset} ${r.event!.name} ${s.pid} ${s.tid} ${s.time} ${s.cpu ?? -1} ${s.period} ` +
        `${s.ip?.toString(16)} ${chain}`,
    );
  }
  file.close();
  return out;
}

/** The same lines from the fast walker. */
async function viaWalker(path: string, chunkSize?: number): Promise<string[]> {
  const out: string[] = [];
  await forEachSampleInFile(path, (s) => {
    const chain: string[] = [];
    for (let i = 0; i < s.callchainNr; i++) {
      chain.push((BigInt(s.hi(i)) << 32n | BigInt(s.lo(i))).toString(16));
    }
    const ip = (BigInt(s.ipHi) << 32n | BigInt(s.ipLo)).toString(16);
    out.push(
      `${s.fileOffset} ${s.event.name} ${s.pid} ${s.tid} ${s.time} ${s.cpu} ${s.period} ` +
        `${ip} ${chain.join(",")}`,
    );
  }, { chunkSize });
  return out;
}

for (const name of ["fp", "sys", "pipe", "dwarf", "nocpu"]) {
  Deno.test({
    name: `walker: ${name}.data gives the reader's samples at every chunk size`,
    ignore: !hasFixture(`${name}.data`),
    fn: async () => {
      const want = await viaReader(fixture(`${name}.data`));
      assert.ok(want.length > 10);
      for (const chunkSize of [undefined, 1, 7, 64, 4093]) {
        assert.deepEqual(await viaWalker(fixture(`${name}.data`), chunkSize), want);
      }
    },
  });
}

Deno.test("walker: synthetic file, stats and a corrupt callchain", async () => {
  const path = await Deno.makeTempFile({ suffix: ".data" });
  await writeSynthetic(path, 64);
  let frames = 0;
  const stats = await forEachSampleInFile(path, (s) => {
    frames += s.callchainNr;
  });
  assert.equal(stats.samples, 64);
  assert.equal(stats.records, 64 + 3 + 4); // + kernel MMAP, COMM, MMAP, 4 FINISHED_ROUNDs
  assert.equal(stats.bytes, stats.info.dataSize);
  assert.ok(frames > 64 * 3);
  // Make the first sample's callchain nr huge: a FormatError, not a crash or a hang.
  const bytes = await Deno.readFile(path);
  const v = new DataView(bytes.buffer);
  let p = stats.info.dataOffset;
  while (v.getUint32(p, true) !== RecordType.SAMPLE) p += v.getUint16(p + 6, true);
  const nrAt = p + SampleLayout.of(stats.info.events[0]!.format).callchain;
  v.setUint32(nrAt, 1000, true);
  await Deno.writeFile(path, bytes);
  await assert.rejects(
    () => forEachSampleInFile(path, () => {}),
    (e: unknown) => e instanceof FormatError && /callchain of 1000 entries/.test(e.message),
  );
});

Deno.test("SampleLayout: offsets follow perf's field order", () => {
  const l = SampleLayout.ofType(
    SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CPU | SampleType.PERIOD |
      SampleType.READ | SampleType.CALLCHAIN,
    ReadFormat.ID | ReadFormat.LOST,
  );
  assert.deepEqual([l.ip, l.tid, l.time, l.cpu, l.period, l.read, l.readSize, l.callchain], [
    8,
    16,
    24,
    32,
    40,
    48,
    24,
    72,
  ]);
  const g = SampleLayout.ofType(SampleType.READ | SampleType.CALLCHAIN, ReadFormat.GROUP);
  assert.equal(g.callchain, -1);
  assert.equal(g.readSize, -1);
});
