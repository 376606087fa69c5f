import assert from "node:assert/strict";
import {
  AttrFlag,
  defaultAttr,
  encodeRecord,
  encodeSample,
  RecordType,
  sampleFormatOf,
  SampleType,
} from "../abi/mod.ts";
import { captureFileSink, CaptureWriter } from "../capture/writer.ts";
import { kernelMmapRecord, PerfDataWriter } from "../perfdata/writer.ts";
import {
  corpusFile,
  fixture,
  fixtureSymbolOptions,
  haveGcc,
  INLINE_PROGRAM,
  MIX_FUNCTION,
  perfAvailable,
  perfCanRecord,
  recordBurn,
  recordDwarfProgram,
  runPerf,
  runPerfFixture,
} from "../testing/perf_tool.ts";
import { samplesFromScript } from "../output/_script_text_test_helper.ts";
import { foldedStacks } from "../output/folded.ts";
import { parseSortKeys, textReport } from "../output/text_report.ts";
import { sampleFilter } from "./filter.ts";
import { type FrameRef, ProfileBuilder } from "./profile.ts";
import { detectInputFormat, InputFormatError } from "../input/format.ts";
import { loadProfile, reportedEvents } from "./load.ts";
import { openRecords } from "./symbolized.ts";

const PERF_RUNS = await perfAvailable();
const PERF_RECORDS = await perfCanRecord();
const FIXTURES = ["fp", "sys", "nocpu", "pipe", "dwarf"];

/** Fixtures are symbolized from their own symbols (testdata/symbols), never this machine's. */
const FIX = fixtureSymbolOptions();

/** Drops our accounting lines and perf's random tip trailer; sorts blocks with equal percents. */
function normalise(report: string): string {
  let lines = report.split("\n").filter((l) => !l.startsWith("# callring:"));
  const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
  if (tip > 0) lines = lines.slice(0, tip - 1);
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  const headerEnd = lines.indexOf("#", lines.findIndex((l) => l.startsWith("# ....")));
  const head = lines.slice(0, headerEnd + 1);
  const blocks: string[][] = [];
  for (const l of lines.slice(headerEnd + 1)) {
    if (/^ +\d+\.\d\d%/.test(l)) blocks.push([l]);
    else if (blocks.length) blocks[blocks.length - 1].push(l);
  }
  const pct = (b: string[]) => b[0].trim().split(/\s+/).filter((x) => x.endsWith("%")).join(" ");
  const sorted: string[][] = [];
  for (let i = 0; i < blocks.length;) {
    let j = i;
    while (j < blocks.length && pct(blocks[j]) === pct(blocks[i])) j++;
    sorted.push(blocks.slice(i, j).map((b) => b.join("\n").replace(/\n+$/, "")).sort());
    i = j;
  }
  return [...head, ...sorted.flat()].join("\n");
}

async function ourReport(
  path: string,
  children: boolean,
  order: "caller" | "callee",
  options: Parameters<typeof loadProfile>[1] = {},
) {
  const r = await loadProfile(path, options);
  return textReport(r.profile, {
    sort: ["sym"],
    children,
    callGraph: order,
    eventName: r.events[r.event].name,
  });
}

for (const name of FIXTURES) {
  for (const kind of ["self", "children"] as const) {
    Deno.test(`loadProfile + textReport equal perf report --${kind === "self" ? "no-" : ""}children --sort sym (${name}.data)`, async () => {
      const expected = await Deno.readTextFile(fixture(`${name}.report-${kind}.txt`));
      // pipe mode: perf prints no Children column (see PERF_FORMAT_NOTES.md §4.4).
      const children = expected.includes("# Children");
      const ours = await ourReport(
        fixture(`${name}.data`),
        children,
        kind === "children" ? "caller" : "callee",
        FIX,
      );
      assert.equal(normalise(ours), normalise(expected));
    });
  }
}

Deno.test({
  name: "loadProfile + textReport equal live perf report on every fixture",
  ignore: !PERF_RUNS,
}, async (t) => {
  for (const name of FIXTURES.filter((n) => n !== "pipe")) {
    for (const children of [false, true]) {
      await t.step(`${name}.data ${children ? "--children" : "--no-children"}`, async () => {
        const perf = await runPerfFixture([
          "report",
          "-i",
          fixture(`${name}.data`),
          "--stdio",
          children ? "--children" : "--no-children",
          "--sort",
          "sym",
        ]);
        assert.equal(perf.code, 0, perf.stderr);
        const ours = await ourReport(
          fixture(`${name}.data`),
          children,
          children ? "caller" : "callee",
          FIX,
        );
        assert.equal(normalise(ours), normalise(perf.stdout));
      });
    }
  }
});

Deno.test({
  name: "loadProfile matches perf report on a workload recorded now",
  ignore: !PERF_RECORDS,
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordBurn(dir, ["-g", "--sample-cpu", "-F", "997"], 120);
    const perf = await runPerf(["report", "-i", data, "--stdio", "--no-children", "--sort", "sym"]);
    assert.equal(perf.code, 0, perf.stderr);
    assert.equal(normalise(await ourReport(data, false, "callee")), normalise(perf.stdout));
    // --children, line by line: entries of equal overhead in perf's order (callers
    // above callees in one thread, then perf's rbtree order), call graphs included.
    const busy = await recordBurn(dir, ["-g", "-F", "2000"], 300);
    const loaded = await loadProfile(busy);
    const strict = (text: string) => {
      let lines = text.split("\n").filter((l) => !l.startsWith("# callring:"));
      const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
      if (tip > 0) lines = lines.slice(0, tip - 1);
      while (lines.length && lines[lines.length - 1] === "") lines.pop();
      return lines;
    };
    for (const sort of ["sym", "comm,dso,sym"] as const) {
      for (const extra of [[], ["-n"]]) {
        await t.step(`--children --sort ${sort} ${extra.join(" ")}`, async () => {
          const live = await runPerf(
            ["report", "-i", busy, "--stdio", "--children", "--sort", sort, ...extra],
          );
          assert.equal(live.code, 0, live.stderr);
          const ours = textReport(loaded.profile, {
            sort: sort === "sym" ? ["sym"] : ["comm", "dso", "sym"],
            children: true,
            showSamples: extra.length > 0,
            eventName: loaded.events[loaded.event].name,
          });
          const want = strict(live.stdout), got = strict(ours);
          const at = want.findIndex((l, i) => l !== got[i]);
          assert.equal(at, -1, `line ${at + 1}:\n  perf: ${want[at]}\n  ours: ${got[at]}`);
          assert.equal(got.length, want.length);
        });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const name of ["fp", "sys", "nocpu", "pipe", "dwarf"]) {
  Deno.test(`folded stacks from ${name}.data equal those from its perf script text`, async () => {
    const b = new ProfileBuilder();
    for (const s of samplesFromScript(await Deno.readTextFile(fixture(`${name}.script-sym.txt`)))) {
      b.add(s);
    }
    const expected = foldedStacks(b.build());
    const { profile } = await loadProfile(fixture(`${name}.data`), FIX);
    assert.ok(expected.length > 100);
    assert.equal(foldedStacks(profile), expected);
  });
}

Deno.test("DWARF user frames expand into inlined frames; inline: false or no addr2line keeps them", async () => {
  const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const symsOf = async (options: Parameters<typeof openRecords>[1]) => {
    const seen = new Map<string, FrameRef>();
    for await (const item of await openRecords(fixture("dwarf.data"), { ...FIX, ...options })) {
      if (item.kind !== "sample") continue;
      for (const f of item.sample.frames) seen.set(`${f.sym}${f.inlined ? " (inlined)" : ""}`, f);
    }
    return seen;
  };
  const expanded = await symsOf({});
  const inlined = expanded.get("__libc_start_main_impl (inlined)");
  assert.ok(inlined, [...expanded.keys()].join(", "));
  assert.equal(inlined.inlined, true);
  assert.equal(inlined.kernel, false);
  assert.equal(inlined.dso, LIBC);
  assert.ok(!expanded.has("__libc_start_main@@GLIBC_2.34"));
  for (const options of [{ inline: false }, { addr2line: "/nonexistent/addr2line" }]) {
    const plain = await symsOf(options);
    const msg = JSON.stringify(options);
    assert.ok([...plain.values()].every((f) => !f.inlined), msg);
    assert.equal(plain.get("__libc_start_main@@GLIBC_2.34")?.dso, LIBC, msg);
    assert.deepEqual(
      [...plain.keys()].sort(),
      [...expanded.keys()].map((k) =>
        k === "__libc_start_main_impl (inlined)" ? "__libc_start_main@@GLIBC_2.34" : k
      ).sort(),
      msg,
    );
  }
});

Deno.test("filters keep exactly the samples the perf script text says they should", async () => {
  const script = samplesFromScript(await Deno.readTextFile(fixture("fp.script-sym.txt")));
  const first = script[0];
  const midTime = script[Math.floor(script.length / 2)].time;
  const cases = [
    { cpu: "0" },
    { cpu: "1" },
    { tid: String(script.find((s) => s.tid !== s.pid)!.tid) },
    { pid: String(first.pid) },
    { comm: "burn" },
    { time: `${Math.floor(midTime / 1e9)}.${String(midTime % 1e9).padStart(9, "0")},` },
    { cpu: "0", comm: "burn worker 1" },
  ];
  for (const filter of cases) {
    const keep = sampleFilter(filter);
    const want = script.filter(keep);
    const { profile } = await loadProfile(fixture("fp.data"), { ...FIX, filter });
    const msg = JSON.stringify(filter);
    assert.equal(profile.samplesRead, script.length, msg);
    assert.equal(profile.samples, want.length, msg);
    assert.equal(profile.totalWeight, want.reduce((a, s) => a + s.weight, 0), msg);
  }
});

Deno.test("weight 'samples' counts samples; the event summary names cpu-clock", async () => {
  const r = await loadProfile(fixture("sys.data"), { ...FIX, weight: "samples" });
  assert.equal(r.profile.totalWeight, r.profile.samples);
  assert.equal(r.events[r.event].name, "cpu-clock");
  assert.ok(r.events.length >= 2, "sys.data has cpu-clock and a dummy event");
  assert.equal(r.events[r.event].samples, r.profile.samples);
});

Deno.test("openRecords yields every sample in perf script order with symbolized frames", async () => {
  const script = samplesFromScript(await Deno.readTextFile(fixture("fp.script-sym.txt")));
  const input = await openRecords(fixture("fp.data"), FIX);
  let i = 0;
  let others = 0;
  for await (const item of input) {
    if (item.kind !== "sample") {
      others++;
      continue;
    }
    const want = script[i++];
    assert.equal(item.sample.tid, want.tid);
    assert.equal(Math.floor(item.sample.time / 1000) * 1000, want.time); // perf prints µs
    assert.deepEqual(item.sample.frames.map((f) => f.sym), want.frames.map((f) => f.sym));
  }
  assert.equal(i, script.length);
  assert.ok(others > 0);
  assert.equal(input.info.format, "perf.data");
});

Deno.test("a truncated copy of fp.data warns, counts a damaged range and still loads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = await Deno.readFile(fixture("fp.data"));
    const cut = `${dir}/cut.data`;
    await Deno.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2) + 3));
    const seen: string[] = [];
    const r = await loadProfile(cut, { onWarning: (m) => seen.push(m.message) });
    assert.ok(seen.some((m) => /truncated/.test(m)), seen.join("\n"));
    assert.equal(r.profile.lost.damagedRanges, 1);
    const header = new DataView(bytes.buffer, bytes.byteOffset);
    const dataEnd = header.getUint32(40, true) + header.getUint32(48, true);
    const missing = dataEnd - (Math.floor(bytes.length / 2) + 3);
    // the missing tail plus the partial record before it
    const extra = r.profile.lost.damagedBytes - missing;
    assert.ok(extra > 0 && extra < 0x10000, String(extra));
    assert.ok(r.profile.samples > 0 && r.profile.samples < 470, String(r.profile.samples));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detectInputFormat tells perf.data, captures and other files apart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await detectInputFormat(fixture("fp.data")), "perf.data");
    await Deno.writeTextFile(`${dir}/c`, "CALLRING" + "\0".repeat(60));
    assert.equal(await detectInputFormat(`${dir}/c`), "capture");
    await Deno.writeTextFile(`${dir}/x`, "hello world");
    await assert.rejects(() => detectInputFormat(`${dir}/x`), InputFormatError);
    await assert.rejects(() => loadProfile(`${dir}/missing`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LOST / LOST_SAMPLES, max-stack truncation and unknown markers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/synth.data`;
    const attr = defaultAttr({
      type: 1,
      config: 0n,
      samplePeriod: 1000,
      sampleType: SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CALLCHAIN |
        SampleType.PERIOD,
      flags: 2 ** AttrFlag.sampleIdAll,
    });
    const w = await PerfDataWriter.create(path, { events: [{ attr, name: "cpu-clock" }] });
    const id = { pid: 7, tid: 7, time: 1 };
    await w.writeRecord(kernelMmapRecord());
    await w.writeRecord({
      type: RecordType.COMM,
      misc: 0,
      size: 0,
      pid: 7,
      tid: 7,
      comm: "t",
      sampleId: id,
    });
    const user = (n: number) => Array.from({ length: n }, (_, i) => 0x401000n + BigInt(i * 16));
    const chain = (xs: bigint[]) => BigUint64Array.from([0xfffffffffffffe00n, ...xs]);
    // 127 user entries: the kernel's limit was reached -> truncated.
    await w.writeSample({
      ip: 0x401000n,
      pid: 7,
      tid: 7,
      time: 2,
      period: 5,
      callchain: chain(user(127)),
    });
    // 3 entries: complete.
    await w.writeSample({
      ip: 0x401000n,
      pid: 7,
      tid: 7,
      time: 3,
      period: 5,
      callchain: chain(user(3)),
    });
    // unknown marker: perf discards the chain; the sample's entry is its ip, with no chain.
    await w.writeSample({
      ip: 0x402000n,
      pid: 7,
      tid: 7,
      time: 4,
      period: 5,
      callchain: BigUint64Array.from([0xfffffffffffff100n, 0x401000n, 0x401010n]),
    });
    await w.writeRecord({ type: RecordType.LOST, misc: 0, size: 0, id: 0, lost: 11, sampleId: id });
    await w.writeRecord({ type: RecordType.LOST_SAMPLES, misc: 0, size: 0, lost: 4, sampleId: id });
    await w.close();

    const r = await loadProfile(path);
    assert.equal(r.profile.samples, 3);
    assert.equal(r.profile.truncatedSamples, 1);
    assert.equal(r.profile.lost.lostRecords, 11);
    assert.equal(r.profile.lost.lostSamples, 4);
    const frames: number[] = [];
    const selfIps: (bigint | undefined)[] = [];
    for await (const item of await openRecords(path, { symbolize: false })) {
      if (item.kind !== "sample") continue;
      frames.push(item.sample.frames.length);
      selfIps.push(item.sample.selfFrame?.ip);
    }
    assert.deepEqual(frames, [127, 3, 0]);
    assert.deepEqual(selfIps, [undefined, undefined, 0x402000n]);
    const short = await loadProfile(path, { maxStack: 10 });
    assert.equal(short.profile.truncatedSamples, 1);
    const report = textReport(r.profile, { sort: ["sym"], accountingHeader: true });
    assert.match(report, /truncated stacks: 1/);
    assert.match(report, /11 events in LOST records, 4 in LOST_SAMPLES/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openRecords and loadProfile read a callring capture (auto-detected)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/callring.data`;
    const sampleType = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CPU |
      SampleType.PERIOD | SampleType.CALLCHAIN;
    const attr = defaultAttr({
      type: 1,
      config: 0n,
      samplePeriod: 1000,
      sampleType,
      flags: 2 ** AttrFlag.sampleIdAll,
    });
    const format = sampleFormatOf(attr);
    const w = await CaptureWriter.create(await captureFileSink(path), {
      events: [{ attr, ids: [] }],
      cpus: 2,
      clockid: 1,
      startTime: 0,
      syncDistance: 0,
      maxChunk: 512,
    });
    const position = [0, 0];
    const add = async (cpu: number, bytes: Uint8Array) => {
      await w.addRecords(cpu, bytes, position[cpu]);
      position[cpu] += bytes.length;
    };
    const sid = (time: number, cpu: number) => ({ pid: 9, tid: 9, time, cpu });
    await add(
      0,
      encodeRecord({
        type: RecordType.COMM,
        misc: 0,
        size: 0,
        pid: 9,
        tid: 9,
        comm: "sim",
        sampleId: sid(1, 0),
      }, sampleType),
    );
    // A callring extension record (CALLRING_SYMBOL's type; payload opaque here).
    const ext = new Uint8Array(16);
    new DataView(ext.buffer).setUint32(0, 0x4c02, true);
    new DataView(ext.buffer).setUint16(6, 16, true);
    ext[8] = 0xab;
    await add(0, ext);
    const leafs: bigint[] = [];
    for (let i = 0; i < 200; i++) {
      const cpu = i % 2;
      const leaf = 0x1000n + BigInt(i % 5);
      leafs.push(leaf);
      const callchain = BigUint64Array.from([0xfffffffffffffe00n, leaf, 0x2000n, 0x3000n]);
      await add(
        cpu,
        encodeSample(
          { ip: leaf, pid: 9, tid: 9, time: 10 + i, cpu, period: 1000, callchain },
          format,
        ),
      );
    }
    await add(
      1,
      encodeRecord({
        type: RecordType.LOST,
        misc: 0,
        size: 0,
        id: 0,
        lost: 3,
        sampleId: sid(500, 1),
      }, sampleType),
    );
    await w.close();

    assert.equal(await detectInputFormat(path), "capture");
    const times: number[] = [];
    let comm = "";
    const extensions: number[] = [];
    const input = await openRecords(path, {
      onExtensionRecord: (e) => extensions.push(e.type, e.bytes[8]),
      resolveUnmapped: (_pid, ip) =>
        ip === 0x2000n ? { sym: "sim_caller", dso: "[sim]" } : undefined,
    });
    for await (const item of input) {
      if (item.kind === "sample") {
        times.push(item.sample.time);
        comm = item.sample.comm;
        assert.equal(item.sample.frames.length, 3);
        assert.equal(item.sample.frames[0].ip, leafs[item.sample.time - 10]);
        assert.equal(item.sample.frames[0].sym, undefined);
        assert.equal(item.sample.frames[1].sym, "sim_caller");
      }
    }
    assert.equal(input.info.format, "capture");
    assert.deepEqual(extensions, [0x4c02, 0xab]);
    assert.equal(times.length, 200);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), "time-merged across CPUs");
    assert.equal(comm, "sim");
    const r = await loadProfile(path, { filter: { cpu: "1" } });
    assert.equal(r.profile.samples, 100);
    assert.equal(r.profile.lost.lostRecords, 3);
    assert.equal(r.events[0].name, "cpu-clock");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("repeated callchains resolve again after their process's maps change (MMAP, FORK)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/remap.data`;
    const attr = defaultAttr({
      type: 1,
      config: 0n,
      samplePeriod: 1000,
      sampleType: SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CALLCHAIN |
        SampleType.PERIOD,
      flags: 2 ** AttrFlag.sampleIdAll,
    });
    const w = await PerfDataWriter.create(path, { events: [{ attr, name: "cpu-clock" }] });
    const chain = BigUint64Array.from([0xfffffffffffffe00n, 0x401010n, 0x402020n]);
    let time = 1;
    const sample = (pid: number) =>
      w.writeSample({ ip: 0x401010n, pid, tid: pid, time: time++, period: 1, callchain: chain });
    const mmap = (pid: number, filename: string) =>
      w.writeRecord({
        type: RecordType.MMAP,
        misc: 2, // PERF_RECORD_MISC_USER
        size: 0,
        pid,
        tid: pid,
        addr: 0x400000n,
        len: 0x10000n,
        pgoff: 0n,
        filename,
        sampleId: { pid, tid: pid, time: time++ },
      });
    await w.writeRecord({
      type: RecordType.COMM,
      misc: 0,
      size: 0,
      pid: 7,
      tid: 7,
      comm: "t",
      sampleId: { pid: 7, tid: 7, time: time++ },
    });
    await sample(7);
    await sample(7);
    await sample(8); // no maps yet for either process
    await mmap(7, "/nonexistent/first.so");
    await sample(7);
    await sample(8); // pid 8 is not affected by pid 7's map
    await w.writeRecord({
      type: RecordType.FORK,
      misc: 0,
      size: 0,
      pid: 8,
      ppid: 7,
      tid: 8,
      ptid: 7,
      time: time,
      sampleId: { pid: 8, tid: 8, time: time++ },
    });
    await sample(8); // inherited pid 7's maps
    await mmap(7, "/nonexistent/second.so");
    await sample(7);
    await sample(8);
    await w.close();

    const dsos: string[] = [];
    const arrays: (readonly FrameRef[])[] = [];
    for await (const item of await openRecords(path)) {
      if (item.kind !== "sample") continue;
      dsos.push(`${item.sample.pid}:${item.sample.frames.map((f) => f.dso ?? "-").join(",")}`);
      arrays.push(item.sample.frames);
    }
    assert.deepEqual(dsos, [
      "7:-,-",
      "7:-,-",
      "8:-,-",
      "7:/nonexistent/first.so,/nonexistent/first.so",
      "8:-,-",
      "8:/nonexistent/first.so,/nonexistent/first.so",
      "7:/nonexistent/second.so,/nonexistent/second.so",
      "8:/nonexistent/first.so,/nonexistent/first.so",
    ]);
    // The same chain in the same maps shares its resolved frames.
    assert.equal(arrays[0], arrays[1]);
    const r = await loadProfile(path);
    assert.equal(r.profile.samples, 8);
    const folded = foldedStacks(r.profile);
    assert.equal(
      folded,
      ":8;[unknown];[unknown] 2\n" +
        "t;[first.so];[first.so] 3\n" +
        "t;[second.so];[second.so] 1\n" +
        "t;[unknown];[unknown] 2\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A report without callring's own lines and perf's tip. */
function reportPart(report: string): string {
  let lines = report.split("\n").filter((l) => !l.startsWith("# callring:"));
  const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
  if (tip > 0) lines = lines.slice(0, tip - 1);
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
}

Deno.test({
  name: "loadProfile charges inline leaves' self time like perf report (live dwarf)",
  ignore: !PERF_RECORDS || !haveGcc(),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordDwarfProgram(dir, "inl", INLINE_PROGRAM, ["-O2", "-g"], ["3000"]);
    const { profile } = await loadProfile(data);
    assert.ok(profile.stackSelf !== undefined, "DWARF inline leaves carry self frames");
    for (const sort of ["sym", "comm,dso,sym"]) {
      const perf = await runPerf([
        "report",
        "-i",
        data,
        "--stdio",
        "--no-children",
        "--sort",
        sort,
      ]);
      assert.equal(perf.code, 0, perf.stderr);
      assert.ok(perf.stdout.includes("[.] outer"), "perf charges self time to outer");
      const ours = textReport(profile, { sort: parseSortKeys(sort), children: false });
      assert.equal(reportPart(ours), reportPart(perf.stdout));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Two C++ overloads of one name: perf report prints both as `work`, as two entries. */
const OVERLOAD_PROGRAM = `#include <cstdio>
#include <cstdlib>
static volatile long sink;
__attribute__((noinline)) long work(long n) {
  volatile long s = 0;
  for (long i = 0; i < n; i++) s = s + i * 3;
  return s;
}
__attribute__((noinline)) long work(double n) {
  volatile double s = 0;
  for (long i = 0; i < (long)n; i++) s = s + i * 0.5;
  return (long)s;
}
int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 400;
  for (long k = 0; k < rounds; k++) sink += work(400000L) + work(400000.0);
  std::printf("%ld\\n", (long)sink);
  return 0;
}
`;

Deno.test({
  name:
    "C++ overloads of one name stay two entries and two call-graph nodes, as perf report (live)",
  ignore: !PERF_RECORDS || !haveGcc(),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/overload.cc`, OVERLOAD_PROGRAM);
    const cc = await new Deno.Command("g++", {
      args: ["-O1", "-fno-omit-frame-pointer", "-o", `${dir}/overload`, `${dir}/overload.cc`],
      stderr: "piped",
    }).output();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    const data = `${dir}/overload.data`;
    const rec = await runPerf(
      ["record", "-q", "-e", "cpu-clock", "-F", "4000", "-g", "-o", data, "--", `${dir}/overload`],
      dir,
    );
    assert.equal(rec.code, 0, rec.stderr);
    const { profile } = await loadProfile(data);
    for (const children of [false, true]) {
      for (const sort of ["sym", "comm,dso,sym"]) {
        const perf = await runPerf([
          "report",
          "-i",
          data,
          "--stdio",
          children ? "--children" : "--no-children",
          "--sort",
          sort,
        ]);
        assert.equal(perf.code, 0, perf.stderr);
        const entries = perf.stdout.split("\n").filter((l) => /%.*\[\.\] work$/.test(l));
        assert.equal(entries.length, 2, `perf shows two work entries:\n${perf.stdout}`);
        const ours = textReport(profile, { sort: parseSortKeys(sort), children });
        assert.equal(reportPart(ours), reportPart(perf.stdout), `children ${children} ${sort}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * One always_inline function (`mix`) inlined into three callers: `left` and
 * `right` touch (one ends where the other starts), `far` does not. perf's
 * `_sort__sym_cmp` calls inlined symbols of one name equal when the ranges
 * of their functions overlap or touch: two `mix (inlined)` entries.
 */
const INLINED_THREE_TIMES_PROGRAM = `#include <stdlib.h>
static volatile unsigned long sink;
${MIX_FUNCTION}__attribute__((noinline)) static unsigned long left(unsigned long x) { return mix(x, 30000) + 1; }
__attribute__((noinline)) static unsigned long right(unsigned long x) { return mix(x, 20000) + 3; }
__attribute__((noinline)) static unsigned long spacer(unsigned long x) {
  for (int i = 0; i < 64; i++) sink = sink * 31 + x + (unsigned long)i;
  return sink;
}
__attribute__((noinline)) static unsigned long far(unsigned long x) { return mix(x, 25000) + 5; }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000;
  unsigned long x = 88172645463325252ul;
  for (long i = 0; i < n; i++) x = far(spacer(right(left(x))));
  sink = x;
  return 0;
}
`;

Deno.test({
  name:
    "an inlined function is one report entry per range of touching callers and one call-graph node, as perf report (live dwarf)",
  ignore: !PERF_RECORDS || !haveGcc(),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordDwarfProgram(
      dir,
      "inl3",
      INLINED_THREE_TIMES_PROGRAM,
      ["-O2", "-g"],
      ["3000"],
    );
    // (touching ranges make perf's walks depend on the samples' order: the profile keeps it)
    const { profile } = await loadProfile(data, { sampleOrder: true });
    const cases = [[], ["--no-children"], ["-g", "callee"], ["-g", "caller", "--no-children"]];
    for (const args of cases) {
      const perf = await runPerf(["report", "-i", data, "--stdio", ...args]);
      assert.equal(perf.code, 0, perf.stderr);
      if (args.length === 0) {
        const entries = perf.stdout.split("\n").filter((l) => /%.*\[\.\] mix \(inlined\)$/.test(l));
        assert.ok(entries.length >= 2, `perf shows mix entries per caller range:\n${perf.stdout}`);
      }
      const children = !args.includes("--no-children");
      const callGraph = args.includes("callee")
        ? "callee"
        : args.includes("caller")
        ? "caller"
        : undefined;
      const ours = textReport(profile, { children, ...(callGraph ? { callGraph } : {}) });
      assert.equal(reportPart(ours), reportPart(perf.stdout), args.join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadProfile reads perf script text too (told by content): the perf.data's totals", async () => {
  const fromData = await loadProfile(fixture("fp.data"), FIX);
  const fromText = await loadProfile(fixture("fp.script.txt"));
  assert.equal(fromText.profile.samples, fromData.profile.samples);
  assert.equal(fromText.profile.totalWeight, fromData.profile.totalWeight);
});

Deno.test({
  name:
    "reportedEvents: every event with samples, but only group leaders when GROUP_DESC names groups",
  ignore: corpusFile("quipper__perf.data.group_desc-4.14") === undefined,
}, async () => {
  const empty = await Deno.makeTempFile();
  try {
    const load = (name: string) => loadProfile(corpusFile(name)!, { kallsyms: empty });
    // file mode and pipe mode (HEADER_FEATURE records) name their groups
    for (const name of ["group_desc-4.14", "piped.header_feautres_group_desc-6.8"]) {
      const r = await load(`quipper__perf.data.${name}`);
      const groups = r.info.perf?.groups ?? [];
      assert.ok(groups.some((g) => g.members > 1), name);
      assert.ok(r.events.filter((e) => e.samples > 0).length > 1, name);
      const [section, ...others] = reportedEvents(r);
      assert.equal(others.length, 0, name);
      assert.equal(section.index, groups[0].leader, name);
      assert.equal(section.members.length, groups[0].members - 1, name);
      assert.match(section.description ?? "", /^anon group \{ .+, .+ \}$/, name);
    }
    // three events, no groups: all three
    const fib = corpusFile("lnt__fib2-aarch64.perf_data");
    if (fib) {
      const r = await loadProfile(fib, { kallsyms: empty });
      assert.equal(r.info.perf?.groups, undefined);
      assert.deepEqual(reportedEvents(r), [0, 1, 2].map((index) => ({ index, members: [] })));
      assert.ok(r.eventProfiles.get(1)!.samples > 0);
    }
  } finally {
    await Deno.remove(empty);
  }
});
