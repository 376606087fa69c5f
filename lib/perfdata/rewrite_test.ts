import assert from "node:assert/strict";
import {
  defaultAttr,
  encodeAttr,
  encodeSample,
  type PerfRecord,
  RecordType,
  type Sample,
  SampleType,
} from "../abi/mod.ts";
import { corpusFile, perfCanRecord, recordBurn, runPerf } from "../testing/perf_tool.ts";
import { runCli } from "../testing/cli_run.ts";
import { writeSynthetic } from "./_test_utils.ts";
import { makeEvent } from "./evlist.ts";
import { openPerfData } from "./reader.ts";
import { rewritePerfData } from "./rewrite.ts";
import { ByteSwapper } from "./swap.ts";
import { PerfDataPipeWriter } from "./writer.ts";

const CAN_RECORD = await perfCanRecord();

async function decodedRecords(path: string): Promise<PerfRecord[]> {
  const file = await openPerfData(path);
  const out: PerfRecord[] = [];
  for await (const r of file.records()) out.push(r.record);
  file.close();
  return out;
}

/** A report without perf's random tip trailer. */
function reportPart(text: string): string {
  let lines = text.split("\n").filter((l) => !l.startsWith("# callring:"));
  const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
  if (tip > 0) lines = lines.slice(0, tip - 1);
  return lines.join("\n").trimEnd();
}

Deno.test("swap: a sample's fields in big-endian order (u32 pairs, raw size, branch flags) and back", () => {
  const t = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CPU |
    SampleType.PERIOD | SampleType.CALLCHAIN | SampleType.RAW | SampleType.BRANCH_STACK;
  const event = makeEvent(0, defaultAttr({ sampleType: t, samplePeriod: 1 }), []);
  const sample: Sample = {
    ip: 0x401234n,
    pid: 7,
    tid: 8,
    time: 123456789,
    cpu: 3,
    period: 1000,
    callchain: new BigUint64Array([0x401234n, 0x401000n]),
    raw: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    branchStack: {
      // mispred, cycles 5, type 3, spec 2
      entries: new BigUint64Array([0x10n, 0x20n, 1n | (5n << 4n) | (3n << 20n) | (2n << 24n)]),
    },
  };
  const le = encodeSample(sample, event.format, 2);
  const be = le.slice();
  const v = new DataView(be.buffer);
  const sw = new ByteSwapper(true);
  assert.ok(sw.body(v, 0, RecordType.SAMPLE, 2, be.length, () => event, false, 0));
  sw.header(v, 0);
  assert.equal(v.getUint32(0, false), RecordType.SAMPLE);
  assert.equal(v.getUint16(6, false), le.length);
  assert.equal(v.getBigUint64(8, false), 0x401234n); // ip
  assert.equal(v.getUint32(16, false), 7); // pid, then tid: two big-endian u32
  assert.equal(v.getUint32(20, false), 8);
  assert.equal(v.getUint32(32, false), 3); // cpu
  // callchain nr at 48, two entries, then the raw size (u32) and its bytes as they were
  assert.equal(v.getUint32(72, false), 12);
  assert.deepEqual([...be.subarray(76, 88)], [...sample.raw!]);
  // branch flags: each bit-field mirrored (mispred is the top bit of a big-endian u64)
  const flags = v.getBigUint64(88 + 8 + 16, false);
  assert.equal(flags >> 63n, 1n);
  assert.equal((flags >> 44n) & 0xffffn, 5n);
  assert.equal((flags >> 40n) & 0xfn, 3n);
  assert.equal((flags >> 38n) & 0x3n, 2n);
  const back = new ByteSwapper(false);
  back.header(v, 0);
  assert.ok(back.body(v, 0, RecordType.SAMPLE, 2, be.length, () => event, false, 0));
  assert.deepEqual([...be], [...le]);
});

Deno.test("swap: attrs (bit-field bytes bit-reversed) and back", () => {
  const attr = defaultAttr({
    type: 1,
    config: 9n,
    sampleType: SampleType.IP | SampleType.TID,
    samplePeriod: 4000,
    flags: 1 | (1 << 18), // disabled, sample_id_all
    sampleMaxStack: 127,
  });
  const le = encodeAttr(attr);
  const be = le.slice();
  const v = new DataView(be.buffer);
  new ByteSwapper(true).attr(v, 0, be.length);
  assert.equal(v.getUint32(4, false), 128);
  assert.equal(v.getBigUint64(16, false), 4000n);
  assert.equal(be[40], 0x80); // bit 0 of the first bit-field byte is its top bit on big-endian
  assert.equal(be[42], 0x20); // bit 18 = bit 2 of byte 2
  assert.equal(v.getUint16(108, false), 127);
  new ByteSwapper(false).attr(v, 0, be.length);
  assert.deepEqual([...be], [...le]);
});

Deno.test("rewrite: a big-endian copy reads back record for record, file and pipe mode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSynthetic(`${dir}/le.data`, 50);
    await rewritePerfData(`${dir}/le.data`, `${dir}/be.data`, { bigEndian: true });
    const head = await Deno.readFile(`${dir}/be.data`);
    assert.equal(new TextDecoder().decode(head.subarray(0, 8)), "2ELIFREP");
    const be = await openPerfData(`${dir}/be.data`);
    assert.equal(be.info.bigEndian, true);
    assert.equal(be.info.events[0]!.attr.samplePeriod, 4000);
    be.close();
    assert.deepEqual(
      await decodedRecords(`${dir}/be.data`),
      await decodedRecords(`${dir}/le.data`),
    );

    // pipe mode: the same records through a big-endian PerfDataPipeWriter
    for (const bigEndian of [false, true]) {
      const file = await Deno.open(`${dir}/pipe-${bigEndian}.data`, { write: true, create: true });
      const src = await openPerfData(`${dir}/le.data`, { ordered: false });
      const w = await PerfDataPipeWriter.create(file, {
        events: src.info.events.map((e) => ({ attr: e.attr, ids: e.ids, name: e.name })),
        hostname: "h",
        autoFinishedRound: false,
        bigEndian,
      });
      for await (const r of src.records()) await w.writeRecord(r.record, r.event?.index ?? 0);
      await w.close();
      src.close();
      file.close();
    }
    const pipeBe = await openPerfData(`${dir}/pipe-true.data`);
    assert.equal(pipeBe.info.pipe, true);
    assert.equal(pipeBe.info.bigEndian, true);
    assert.equal(pipeBe.info.hostname, "h");
    pipeBe.close();
    assert.deepEqual(
      await decodedRecords(`${dir}/pipe-true.data`),
      await decodedRecords(`${dir}/pipe-false.data`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "rewrite live: a perf record -g file made big-endian; callring and perf 6.1 print the same",
  ignore: !CAN_RECORD,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const le = await recordBurn(dir, ["-g", "--sample-cpu"], 150);
      const be = `${dir}/be.data`;
      await rewritePerfData(le, be, { bigEndian: true });
      for (const args of [["script"], ["report", "--stdio"]]) {
        const cmd = args[0]!;
        const perfLe = await runPerf([...args, "-i", le]);
        const perfBe = await runPerf([...args, "-i", be]);
        assert.equal(perfBe.code, 0, perfBe.stderr);
        assert.ok(perfLe.stdout.split("\n").length > 20, `perf ${cmd} printed too little`);
        assert.equal(reportPart(perfBe.stdout), reportPart(perfLe.stdout), `perf ${cmd}`);
        const oursLe = await runCli(cmd, ["-i", le]);
        const oursBe = await runCli(cmd, ["-i", be]);
        assert.equal(oursBe.code, 0, oursBe.stderr);
        assert.equal(oursBe.stderr, oursLe.stderr.replaceAll(le, be), `callring ${cmd} stderr`);
        assert.equal(oursBe.stdout, oursLe.stdout.replaceAll(le, be), `callring ${cmd}`);
        assert.equal(
          reportPart(oursBe.stdout),
          reportPart(perfBe.stdout),
          `callring ${cmd} = perf`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

for (const name of ["quipper__perf.data.branch-4.14", "quipper__perf.data.branch_stack_spec"]) {
  const path = corpusFile(name);
  Deno.test({
    name: `rewrite: big-endian ${name}: perf 6.1 and callring print its branch stacks as before`,
    ignore: path === undefined || !(await perfCanRecord()),
    async fn() {
      const dir = await Deno.makeTempDir();
      try {
        const be = `${dir}/be.data`;
        await rewritePerfData(path!, be, { bigEndian: true });
        const args = ["script", "-F", "ip,brstack", "--kallsyms", "/dev/null"];
        const perfLe = await runPerf([...args, "-i", path!]);
        const perfBe = await runPerf([...args, "-i", be]);
        assert.ok(perfLe.stdout.includes("/"), "perf printed no branches");
        assert.equal(perfBe.stdout, perfLe.stdout);
        const oursLe = await runCli("script", ["-F", "ip,brstack", "-i", path!]);
        const oursBe = await runCli("script", ["-F", "ip,brstack", "-i", be]);
        assert.equal(oursBe.stdout, oursLe.stdout);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
