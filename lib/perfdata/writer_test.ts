import assert from "node:assert/strict";
import {
  AttrFlag,
  defaultAttr,
  encodeRecord,
  encodeSample,
  RecordType,
  SampleType,
} from "../abi/mod.ts";
import {
  cpuClockAttr,
  fixture,
  hasFixture,
  HAVE_PERF,
  parseScript,
  runPerf,
  syntheticCallchain,
  writeSynthetic,
} from "./_test_utils.ts";
import { runPerfFixture } from "../testing/perf_tool.ts";
import { HeaderFeature } from "./features.ts";
import { openPerfData, type ReadRecord } from "./reader.ts";
import { PerfDataPipeWriter, PerfDataWriter } from "./writer.ts";

/** perf's header records that a file-mode copy must not contain (pipe-only). */
const PIPE_ONLY = new Set<number>([RecordType.HEADER_ATTR, RecordType.HEADER_FEATURE]);

async function copyFile(input: string, output: string): Promise<number> {
  const file = await openPerfData(input, { ordered: false });
  const info = file.info;
  const writer = await PerfDataWriter.create(output, {
    events: info.events.map((e) => ({ attr: e.attr, ids: e.ids, name: e.name })),
    hostname: info.hostname,
    osRelease: info.osRelease,
    version: info.version,
    arch: info.arch,
    nrCpusOnline: info.nrCpusOnline,
    nrCpusAvailable: info.nrCpusAvailable,
    cmdline: info.cmdline,
    buildIds: info.buildIds,
    autoFinishedRound: false, // the input's own FINISHED_ROUNDs are copied
  });
  let identical = 0;
  for await (const r of file.records()) {
    if (PIPE_ONLY.has(r.record.type)) continue;
    const bytes = reencode(r);
    if (bytes.length === r.record.size) identical++;
    await writer.write(bytes);
  }
  file.close();
  await writer.close();
  return identical;
}

function reencode(r: ReadRecord): Uint8Array {
  const rec = r.record;
  if ("sample" in rec) return encodeSample(rec.sample, r.event!.format, rec.misc);
  return encodeRecord(rec, r.event?.format.sampleType ?? 0);
}

async function perfQuiet(args: string[], onFixture = false): Promise<string> {
  const { code, stdout, stderr } = await (onFixture ? runPerfFixture(args) : runPerf(args));
  assert.equal(code, 0, `perf ${args.join(" ")} failed: ${stderr}`);
  assert.equal(stderr, "", `perf ${args.join(" ")} warned`);
  return stdout;
}

for (const name of ["fp", "sys", "pipe", "dwarf", "nocpu"]) {
  Deno.test({
    name: `writer: round trip of ${name}.data gives identical perf script output, no warnings`,
    ignore: !HAVE_PERF || !hasFixture(`${name}.data`),
    fn: async () => {
      const out = await Deno.makeTempFile({ suffix: ".data" });
      await copyFile(fixture(`${name}.data`), out);
      // Symbolized from the fixtures' own symbols (testdata/symbols), not this machine's.
      const original = await runPerfFixture(["script", "-i", fixture(`${name}.data`)]);
      const copy = await perfQuiet(["script", "-i", out], true);
      assert.ok(copy.length > 1000);
      assert.equal(copy, original.stdout);
      await perfQuiet(["report", "--stdio", "-i", out], true);
      // Our reader agrees with itself on the copy.
      const a = await openPerfData(out);
      assert.equal(a.info.pipe, false);
      assert.ok(a.info.features.includes(HeaderFeature.EVENT_DESC));
      a.close();
    },
  });
}

Deno.test({
  name: "writer: file built from scratch (COMM, MMAP, samples with callchains) reads in perf",
  ignore: !HAVE_PERF,
  fn: async () => {
    const path = await Deno.makeTempFile({ suffix: ".data" });
    await writeSynthetic(path, 100);
    const text = await perfQuiet(["script", "-i", path, "-F", "comm,pid,tid,cpu,time,period,ip"]);
    const samples = parseScript(text.replace(/:\s+(\d+)\s*\n/g, ":  $1 cpu-clock:\n"));
    assert.equal(samples.length, 100);
    samples.forEach((s, i) => {
      assert.equal(s.pid, 42);
      assert.equal(s.tid, 42 + (i % 3));
      assert.equal(s.cpu, i % 2);
      assert.equal(s.period, 4000);
      // 1000 + 10 i ns: perf prints microseconds.
      assert.equal(s.timeUs, Math.floor((1000 + 10 * i) / 1000));
      const chain = syntheticCallchain(i).filter((v) => v < 0xfffffffffffff001n);
      assert.equal(s.ips.length, chain.length, `sample ${i}`);
    });
    assert.match(text, /^\s*synth\s+42\/42/m);
    const report = await perfQuiet(["report", "--stdio", "-i", path, "--header"]);
    assert.match(report, /# hostname : test-host/);
    assert.match(report, /# cmdline : perf record -g/);
    assert.match(report, /# event : name = cpu-clock/);
  },
});

Deno.test({
  name: "writer: two events told apart by IDENTIFIER are named per sample by perf",
  ignore: !HAVE_PERF,
  fn: async () => {
    const sampleType = SampleType.IDENTIFIER | SampleType.IP | SampleType.TID | SampleType.TIME |
      SampleType.PERIOD;
    const flags = 2 ** AttrFlag.sampleIdAll;
    const path = await Deno.makeTempFile({ suffix: ".data" });
    const w = await PerfDataWriter.create(path, {
      events: [
        {
          attr: defaultAttr({ type: 1, config: 0n, sampleType, flags, samplePeriod: 1 }),
          ids: [7],
        },
        {
          attr: defaultAttr({ type: 1, config: 1n, sampleType, flags, samplePeriod: 1 }),
          ids: [9],
        },
      ],
      roundBytes: 256,
    });
    assert.deepEqual(w.events.map((e) => e.name), ["cpu-clock", "task-clock"]);
    await w.writeRecord({
      type: RecordType.COMM,
      misc: 0,
      size: 0,
      pid: 5,
      tid: 5,
      comm: "two",
      sampleId: { pid: 5, tid: 5, time: 0, identifier: 7 },
    });
    for (let i = 0; i < 50; i++) {
      const ev = i % 3 === 0 ? 1 : 0;
      await w.writeSample(
        { identifier: ev ? 9 : 7, ip: 0x1000n, pid: 5, tid: 5, time: 5000 + i * 1000, period: 1 },
        ev,
      );
    }
    await w.close();
    const text = await perfQuiet(["script", "-i", path, "-F", "tid,time,event"]);
    const names = text.trim().split("\n").map((l) => l.trim().split(/\s+/).pop());
    assert.equal(names.length, 50);
    names.forEach((n, i) => assert.equal(n, i % 3 === 0 ? "task-clock:" : "cpu-clock:"));
    // FINISHED_ROUND records were emitted (roundBytes 256) and our reader agrees on names.
    const file = await openPerfData(path, { ordered: false });
    let rounds = 0;
    const ours: string[] = [];
    for await (const r of file.records()) {
      if (r.record.type === RecordType.FINISHED_ROUND) rounds++;
      if (r.record.type === RecordType.SAMPLE) ours.push(r.event!.name + ":");
    }
    file.close();
    assert.ok(rounds >= 5);
    assert.deepEqual(ours, names);
  },
});

Deno.test({
  name: "writer: pipe-mode output reads in perf and in our reader",
  ignore: !HAVE_PERF,
  fn: async () => {
    const path = await Deno.makeTempFile({ suffix: ".data" });
    const file = await Deno.open(path, { write: true, truncate: true });
    const w = await PerfDataPipeWriter.create(file, {
      events: [{ attr: cpuClockAttr(), name: "cpu-clock" }],
      hostname: "pipe-host",
    });
    for (let i = 0; i < 30; i++) {
      await w.writeSample({
        ip: 0x401000n,
        pid: 3,
        tid: 3,
        time: 2_000_000 + i * 1000,
        cpu: 0,
        period: 1,
        callchain: syntheticCallchain(i),
      });
    }
    await w.close();
    file.close();
    const text = await perfQuiet(["script", "-i", path, "-F", "pid,tid,time"]);
    // perf prints pipe-mode callchains even without `ip`: count the sample lines.
    assert.equal(text.split("\n").filter((l) => /^\s*3\/3\s/.test(l)).length, 30);
    const r = await openPerfData(path);
    assert.equal(r.info.pipe, true);
    assert.equal(r.info.hostname, "pipe-host");
    assert.equal(r.info.events[0]!.name, "cpu-clock");
    let n = 0;
    for await (const rec of r.records()) if (rec.record.type === RecordType.SAMPLE) n++;
    r.close();
    assert.equal(n, 30);
  },
});

Deno.test("writer: rejects bad input", async () => {
  const path = await Deno.makeTempFile({ suffix: ".data" });
  await assert.rejects(() => PerfDataWriter.create(path, { events: [] }), RangeError);
  const w = await PerfDataWriter.create(path, { events: [{ attr: cpuClockAttr() }] });
  await assert.rejects(() => w.write(new Uint8Array(8)), /size field 0/);
  await assert.rejects(() => w.writeSample({}, 3), /No event 3/);
  await w.close();
  await assert.rejects(() => w.finishRound(), /closed/);
  const multi = [{ attr: cpuClockAttr() }, { attr: cpuClockAttr() }];
  await assert.rejects(() => PerfDataWriter.create(path, { events: multi }), /no ID or IDENTIFIER/);
});
