import assert from "node:assert/strict";
import { FormatError, isContextMarker, RecordType, setU64 } from "../abi/mod.ts";
import {
  cpuClockAttr,
  fixture,
  hasFixture,
  HAVE_PERF,
  parseScript,
  runPerf,
  writeSynthetic,
} from "./_test_utils.ts";
import { HeaderFeature } from "./features.ts";
import { PerfDataWriter } from "./writer.ts";
import { openPerfData, openPerfDataStream, type ReadOptions, type ReadRecord } from "./reader.ts";

async function readAll(path: string, options: ReadOptions = {}) {
  const warnings: string[] = [];
  const file = await openPerfData(path, { onWarning: (m) => warnings.push(m.message), ...options });
  const records: ReadRecord[] = [];
  try {
    for await (const r of file.records()) records.push(r);
  } finally {
    file.close();
  }
  return { info: file.info, records, warnings, bytesRead: file.bytesRead };
}

function hex(hi: number, lo: number): string {
  return (BigInt(hi) << 32n | BigInt(lo)).toString(16);
}

const FIXTURES = [
  { name: "fp", callchains: true },
  { name: "sys", callchains: true },
  { name: "pipe", callchains: true },
  { name: "nocpu", callchains: true },
  // DWARF callchains are unwound by perf from the stack copy: compare headers only.
  { name: "dwarf", callchains: false },
];

for (const { name, callchains } of FIXTURES) {
  Deno.test({
    name: `reader: ${name}.data samples equal perf script's (order, pid/tid/cpu/time/period/chain)`,
    ignore: !hasFixture(`${name}.data`) || !hasFixture(`${name}.script.txt`),
    fn: async () => {
      const expected = parseScript(await Deno.readTextFile(fixture(`${name}.script.txt`)));
      const { info, records, warnings } = await readAll(fixture(`${name}.data`));
      assert.deepEqual(warnings, []);
      assert.equal(info.pipe, name === "pipe");
      const samples = records.filter((r) => r.record.type === RecordType.SAMPLE);
      assert.ok(expected.length > 10);
      assert.equal(samples.length, expected.length);
      samples.forEach((r, i) => {
        const e = expected[i]!;
        if (r.record.type !== RecordType.SAMPLE || !("sample" in r.record)) throw new Error();
        const s = r.record.sample;
        const at = `sample ${i} at offset ${r.offset}`;
        assert.equal(s.pid, e.pid, at);
        assert.equal(s.tid, e.tid, at);
        assert.equal(s.cpu, e.cpu, at);
        assert.equal(Math.floor(s.time! / 1000), e.timeUs, at);
        assert.equal(s.period, e.period, at);
        assert.equal(r.event?.name, e.event, at);
        if (!callchains) return;
        const chain: string[] = [];
        const cc = s.callchain!;
        for (let k = 0; k < cc.length; k++) {
          const v = cc[k]!;
          const hi = Number(v >> 32n);
          const lo = Number(v & 0xffffffffn);
          if (isContextMarker(hi, lo)) continue;
          chain.push(hex(hi, lo));
        }
        assert.equal(chain.length, e.ips.length, `${at}: ${chain} vs ${e.ips}`);
        chain.forEach((ip, k) => {
          const printed = e.ips[k]!;
          if (ip.startsWith("ffffffff")) assert.equal(ip, printed, at);
          // User addresses print map-relative; mappings are page aligned.
          else assert.equal(parseInt(ip.slice(-3), 16), parseInt(printed.slice(-3), 16), at);
        });
      });
      assert.equal(info.events[0]?.name, "cpu-clock");
      assert.ok(info.features.includes(HeaderFeature.EVENT_DESC));
      assert.equal(info.arch, "x86_64");
      assert.ok((info.nrCpusOnline ?? 0) >= 1);
      assert.ok(info.cmdline?.includes("record"));
      assert.ok(info.hostname && info.osRelease && info.version);
    },
  });
}

Deno.test({
  name: "reader: unordered mode yields file order; ordered mode sorts samples by time",
  ignore: !hasFixture("sys.data"),
  fn: async () => {
    const ordered = await readAll(fixture("sys.data"));
    const unordered = await readAll(fixture("sys.data"), { ordered: false });
    const offsets = unordered.records.map((r) => r.offset);
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
    assert.equal(ordered.records.length, unordered.records.length);
    const times = ordered.records.filter((r) => r.record.type === RecordType.SAMPLE)
      .map((r) => r.time!);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
  },
});

Deno.test({
  name: "reader: every chunk size 1..64 and odd sizes give the same records",
  ignore: !hasFixture("fp.data") || !hasFixture("pipe.data"),
  fn: async () => {
    for (const name of ["fp.data", "pipe.data"]) {
      const base = await readAll(fixture(name), { ordered: false });
      const key = (rs: ReadRecord[]) =>
        rs.map((r) => `${r.offset}:${r.record.type}:${r.record.size}:${r.time}`).join(",");
      const want = key(base.records);
      const sizes = [...Array.from({ length: 64 }, (_, i) => i + 1), 97, 1023, 4093, 65537];
      for (const chunkSize of sizes) {
        const got = await readAll(fixture(name), { ordered: false, chunkSize });
        assert.equal(key(got.records), want, `${name} chunkSize ${chunkSize}`);
      }
    }
  },
});

function chunkedStream(bytes: Uint8Array, seed: number): ReadableStream<Uint8Array> {
  let pos = 0;
  let x = seed;
  return new ReadableStream({
    pull(c) {
      if (pos >= bytes.length) return c.close();
      x = (x * 1103515245 + 12345) >>> 0;
      const n = 1 + (x % 700);
      c.enqueue(bytes.slice(pos, pos + n));
      pos += n;
    },
  });
}

Deno.test({
  name: "reader: pipe mode from a stream equals pipe mode from the file",
  ignore: !hasFixture("pipe.data"),
  fn: async () => {
    const fromFile = await readAll(fixture("pipe.data"));
    const bytes = await Deno.readFile(fixture("pipe.data"));
    const stream = await openPerfDataStream(chunkedStream(bytes, 7), { chunkSize: 333 });
    assert.equal(stream.info.pipe, true);
    assert.equal(stream.info.events.length, 1);
    assert.equal(stream.info.events[0]!.name, "cpu-clock");
    const recs: ReadRecord[] = [];
    for await (const r of stream.records()) recs.push(r);
    assert.deepEqual(
      recs.map((r) => [r.offset, r.record.type, r.time]),
      fromFile.records.map((r) => [r.offset, r.record.type, r.time]),
    );
    assert.equal(stream.bytesRead, bytes.length);
  },
});

Deno.test({
  name: "reader: file-mode data on a stream is refused with a clear error",
  ignore: !hasFixture("fp.data"),
  fn: async () => {
    const bytes = await Deno.readFile(fixture("fp.data"));
    await assert.rejects(
      () => openPerfDataStream(chunkedStream(bytes, 3)),
      (e: unknown) => e instanceof FormatError && /seekable/.test(e.message),
    );
  },
});

// ---------------------------------------------------------------- bad input

async function synthetic(n = 40): Promise<{ path: string; bytes: Uint8Array }> {
  const path = await Deno.makeTempFile({ suffix: ".data" });
  await writeSynthetic(path, n);
  return { path, bytes: await Deno.readFile(path) };
}

async function variant(bytes: Uint8Array, edit: (b: Uint8Array, v: DataView) => Uint8Array | void) {
  const copy = bytes.slice();
  const out = edit(copy, new DataView(copy.buffer)) ?? copy;
  const path = await Deno.makeTempFile({ suffix: ".data" });
  await Deno.writeFile(path, out);
  return path;
}

function dataSection(v: DataView): { offset: number; size: number } {
  return { offset: Number(v.getBigUint64(40, true)), size: Number(v.getBigUint64(48, true)) };
}

/** File offsets of the records of a synthetic file. */
function recordOffsets(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer);
  const { offset, size } = dataSection(v);
  const out: number[] = [];
  for (let p = offset; p < offset + size; p += v.getUint16(p + 6, true)) out.push(p);
  return out;
}

async function expectFormatError(path: string, pattern: RegExp, offset?: number) {
  const err = await readAll(path).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof FormatError, `expected FormatError, got ${err}`);
  assert.match(err.message, pattern);
  assert.ok(!err.message.includes("\n"), "one line");
  if (offset !== undefined) assert.equal(err.offset, offset);
}

Deno.test("reader: synthetic file reads back with features", async () => {
  const { path } = await synthetic();
  const { info, records, warnings } = await readAll(path);
  assert.deepEqual(warnings, []);
  assert.equal(info.hostname, "test-host");
  assert.equal(info.osRelease, "6.1.0-test");
  assert.deepEqual(info.cmdline, ["perf", "record", "-g"]);
  assert.equal(info.nrCpusOnline, 2);
  assert.equal(info.nrCpusAvailable, 4);
  assert.deepEqual(info.sampleTime, { first: 1000, last: 1000 + 39 * 10 });
  assert.equal(records.filter((r) => r.record.type === RecordType.SAMPLE).length, 40);
  assert.deepEqual(records.slice(0, 3).map((r) => r.record.type), [
    RecordType.MMAP,
    RecordType.COMM,
    RecordType.MMAP,
  ]);
});

Deno.test("reader: truncated header, wrong magic, big-endian, lying header size", async () => {
  const { bytes } = await synthetic();
  await expectFormatError(await variant(bytes, (b) => b.slice(0, 50)), /outside|header/);
  await expectFormatError(await variant(bytes, (b) => b.slice(0, 10)), /too short/);
  await expectFormatError(await variant(bytes, (b) => void b.set([88], 0)), /Not a perf.data/, 0);
  await expectFormatError(
    await variant(bytes, (b) => void b.set(new TextEncoder().encode("2ELIFREP"), 0)),
    /Big-endian/,
  );
  await expectFormatError(await variant(bytes, (_b, v) => setU64(v, 8, 100)), /Header size 100/, 8);
});

Deno.test("reader: version 1 (PERFFILE magic) reads as version 2 when attr_size is an early ABI size", async () => {
  const { bytes } = await synthetic();
  const v1 = (b: Uint8Array) => void b.set(new TextEncoder().encode("PERFFILE"), 0);
  const attrSize = new DataView(bytes.buffer).getUint32(16, true);
  if ([80, 88, 96, 112, 120].includes(attrSize)) {
    const a = await readAll(await variant(bytes, v1));
    const b = await readAll(await variant(bytes, () => {}));
    assert.equal(a.records.length, b.records.length);
  } else {
    // a version-2 attr_size perf's try_all_file_abis does not know: perf refuses the file
    await expectFormatError(await variant(bytes, v1), /Version 1 .*attr_size \d+/, 16);
  }
  // a version-1 file with a later attr_size (perf 6.3's 136): refused, as perf does
  await expectFormatError(
    await variant(bytes, (b, v) => {
      v1(b);
      setU64(v, 16, 136);
    }),
    /Version 1 .*attr_size 136/,
    16,
  );
});

Deno.test("reader: attr_size 0, attr.size above attr_size, absurd attrs and ids sizes", async () => {
  const { bytes } = await synthetic();
  await expectFormatError(await variant(bytes, (_b, v) => setU64(v, 16, 0)), /attr_size is 0/, 16);
  const attrsAt = (v: DataView) => Number(v.getBigUint64(24, true));
  await expectFormatError(
    await variant(bytes, (_b, v) => v.setUint32(attrsAt(v) + 4, 136, true)),
    /attr.size 136 exceeds/,
  );
  await expectFormatError(
    await variant(bytes, (_b, v) => setU64(v, 32, 2 ** 45)),
    /implausible/,
  );
  await expectFormatError(
    await variant(bytes, (_b, v) => setU64(v, attrsAt(v) + 128 + 8, 2 ** 44)),
    /ids section/,
  );
  await expectFormatError(
    await variant(bytes, (_b, v) => setU64(v, attrsAt(v) + 128, 2 ** 40)),
    /lies outside/,
  );
});

Deno.test("reader: record size below 8 and a record running past the data section", async () => {
  const { bytes } = await synthetic();
  const offs = recordOffsets(bytes);
  await expectFormatError(
    await variant(bytes, (_b, v) => v.setUint16(offs[3]! + 6, 4, true)),
    /size 4, below the 8-byte header/,
    offs[3],
  );
  const last = offs[offs.length - 1]!;
  await expectFormatError(
    await variant(bytes, (_b, v) => v.setUint16(last + 6, v.getUint16(last + 6, true) + 64, true)),
    /runs past the end of the data section/,
    last,
  );
});

Deno.test("reader: absurd data size is a truncation warning, not an allocation", async () => {
  const { bytes } = await synthetic();
  const { offset, size } = dataSection(new DataView(bytes.buffer));
  // Data section cut where it really ends, header claiming 2^50 bytes.
  const path = await variant(bytes, (b, v) => {
    setU64(v, 48, 2 ** 50);
    return b.slice(0, offset + size);
  });
  const { records, warnings } = await readAll(path);
  assert.ok(warnings.some((w) => /truncated file/.test(w)), warnings.join("|"));
  assert.equal(records.filter((r) => r.record.type === RecordType.SAMPLE).length, 40);
  // With the feature sections still there, they are read as records: a clean FormatError.
  await expectFormatError(await variant(bytes, (_b, v) => setU64(v, 48, 2 ** 50)), /Record type/);
});

Deno.test("reader: unknown record types are skipped with a warning", async () => {
  const { bytes } = await synthetic();
  const offs = recordOffsets(bytes);
  const path = await variant(bytes, (_b, v) => {
    v.setUint32(offs[2]!, 50, true); // unknown kernel type (was the MMAP)
    v.setUint32(offs[5]!, 300, true); // unknown user type (was a sample)
  });
  const { records, warnings } = await readAll(path);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, new RegExp(`unknown record type 50 .* at offset ${offs[2]}`));
  assert.match(warnings[1]!, /unknown record type 300/);
  assert.equal(records.filter((r) => r.record.type === RecordType.SAMPLE).length, 39);
  assert.equal(records.filter((r) => r.record.type === RecordType.MMAP).length, 1);
});

Deno.test("reader: truncated data delivers every complete record, then warns", async () => {
  const { bytes } = await synthetic();
  const offs = recordOffsets(bytes);
  const cut = offs[20]! + 5;
  const { records, warnings } = await readAll(await variant(bytes, (b) => b.slice(0, cut)));
  assert.equal(records.length, 20);
  assert.ok(warnings.some((w) => w.includes(`offset ${offs[20]}`)), warnings.join("|"));
  // Every chunk size gives the same.
  for (const chunkSize of [1, 3, 8, 17]) {
    const again = await readAll(await variant(bytes, (b) => b.slice(0, cut)), { chunkSize });
    assert.equal(again.records.length, 20);
  }
});

Deno.test("reader: COMPRESSED/COMPRESSED2 records that are not zstd data name their offset", async () => {
  const { bytes } = await synthetic();
  const offs = recordOffsets(bytes);
  for (const type of [RecordType.COMPRESSED, RecordType.COMPRESSED2]) {
    await expectFormatError(
      await variant(bytes, (_b, v) => v.setUint32(offs[4]!, type, true)),
      /zstd|COMPRESSED2 of/,
      offs[4],
    );
  }
});

Deno.test("reader: truncated pipe stream delivers complete records, then warns", async () => {
  if (!hasFixture("pipe.data")) return;
  const bytes = await Deno.readFile(fixture("pipe.data"));
  const cut = bytes.slice(0, bytes.length - 37);
  const warnings: string[] = [];
  const stream = await openPerfDataStream(chunkedStream(cut, 11), {
    onWarning: (m) => warnings.push(m.message),
  });
  let n = 0;
  for await (const _ of stream.records()) n++;
  assert.ok(n > 100);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /truncated|ends inside/);
});

Deno.test("reader: records() can only be iterated once", async () => {
  const { path } = await synthetic(2);
  const file = await openPerfData(path);
  file.records();
  assert.throws(() => file.records(), /once/);
  file.close();
});

Deno.test({
  name: "reader: '-' reads pipe-mode data from stdin",
  ignore: !hasFixture("pipe.data"),
  fn: async () => {
    const code = `
      import { openPerfData } from ${JSON.stringify(new URL("./reader.ts", import.meta.url).href)};
      const f = await openPerfData("-");
      let n = 0;
      for await (const r of f.records()) if (r.record.type === 9) n++;
      console.log(JSON.stringify({ n, pipe: f.info.pipe, name: f.info.events[0].name }));
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const data = await Deno.readFile(fixture("pipe.data"));
    const writer = child.stdin.getWriter();
    await writer.write(data);
    await writer.close();
    const out = await child.output();
    assert.equal(new TextDecoder().decode(out.stderr), "");
    const got = JSON.parse(new TextDecoder().decode(out.stdout));
    const expected = (await readAll(fixture("pipe.data"))).records
      .filter((r) => r.record.type === RecordType.SAMPLE).length;
    assert.deepEqual(got, { n: expected, pipe: true, name: "cpu-clock" });
  },
});

Deno.test({
  name: "reader: live `perf record -o -` stream matches `perf script` of the same bytes",
  ignore: !HAVE_PERF,
  fn: async () => {
    const child = new Deno.Command("perf", {
      args: [
        "record",
        "-o",
        "-",
        "-e",
        "cpu-clock",
        "-F",
        "2000",
        "-g",
        "--",
        "sh",
        "-c",
        "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const [forUs, forFile] = child.stdout.tee();
    const saved = new Response(forFile).arrayBuffer();
    const file = await openPerfDataStream(forUs, { source: "<perf>" });
    const ours: string[] = [];
    for await (const r of file.records()) {
      if ("sample" in r.record) {
        const s = r.record.sample;
        ours.push(`${s.pid}/${s.tid} ${Math.floor(s.time! / 1000)}`);
      }
    }
    await child.status;
    const path = await Deno.makeTempFile({ suffix: ".data" });
    await Deno.writeFile(path, new Uint8Array(await saved));
    const { stdout } = await runPerf(["script", "-i", path, "-F", "pid,tid,time"]);
    const theirs = parseScript(stdout.replace(/:\s*\n/g, ":  1 x:\n"))
      .map((s) => `${s.pid}/${s.tid} ${s.timeUs}`);
    assert.ok(ours.length > 5, `only ${ours.length} samples`);
    assert.deepEqual(ours, theirs);
  },
});

Deno.test("reader: AUX area data (AUXTRACE_INFO + AUXTRACE payloads) is counted and named, not dropped silently", async () => {
  const path = await Deno.makeTempFile({ suffix: ".data" });
  try {
    const w = await PerfDataWriter.create(path, {
      events: [{ attr: cpuClockAttr(), name: "cpu-clock" }],
    });
    // struct perf_record_auxtrace_info: header, u32 type (1 = intel_pt), u32 reserved.
    const info = new Uint8Array(16);
    const iv = new DataView(info.buffer);
    iv.setUint32(0, RecordType.AUXTRACE_INFO, true);
    iv.setUint16(6, 16, true);
    iv.setUint32(8, 1, true);
    await w.write(info);
    for (const n of [4096, 1000]) {
      // struct perf_record_auxtrace: header, size, offset, reference, idx, tid, cpu, reserved.
      const rec = new Uint8Array(48);
      const rv = new DataView(rec.buffer);
      rv.setUint32(0, RecordType.AUXTRACE, true);
      rv.setUint16(6, 48, true);
      rv.setBigUint64(8, BigInt(n), true);
      await w.writeWithPayload(rec, new Uint8Array(n).fill(0xa5));
    }
    await w.writeSample({ ip: 0x401000n, pid: 1, tid: 1, time: 5, cpu: 0, period: 1 });
    await w.close();
    const { info: got, records, warnings } = await readAll(path);
    assert.equal(records.filter((r) => r.record.type === RecordType.SAMPLE).length, 1);
    assert.deepEqual(got.aux, { pmu: "intel_pt", records: 2, bytes: 5096 });
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /AUX area data not decoded: 5096 bytes in 2 PERF_RECORD_AUXTRACE records \(intel_pt\)/,
    );
  } finally {
    await Deno.remove(path);
  }
});
