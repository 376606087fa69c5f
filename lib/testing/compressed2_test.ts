import assert from "node:assert/strict";
import { compressed2ToCompressed } from "./compressed2.ts";
import { runCli } from "./cli_run.ts";
import { corpusFile, downgradedCopy, perfAvailable, perfReportPart, runPerf } from "./perf_tool.ts";

/** A pipe-mode file: header, one COMPRESSED2 record (3 data bytes, padded), one other record. */
function pipeFile(): Uint8Array {
  const b = new Uint8Array(16 + 24 + 8);
  const v = new DataView(b.buffer);
  b.set(new TextEncoder().encode("PERFILE2"));
  v.setBigUint64(8, 16n, true);
  v.setUint32(16, 83, true);
  v.setUint16(22, 24, true);
  v.setBigUint64(24, 3n, true);
  b.set([0xaa, 0xbb, 0xcc], 32);
  v.setUint32(40, 68, true); // FINISHED_ROUND
  v.setUint16(46, 8, true);
  return b;
}

Deno.test("compressed2ToCompressed: data_size bytes after a type-81 header, other records kept", () => {
  const { bytes, converted } = compressed2ToCompressed(pipeFile());
  assert.equal(converted, 1);
  const v = new DataView(bytes.buffer);
  assert.equal(bytes.length, 16 + 11 + 8);
  assert.equal(v.getUint32(16, true), 81);
  assert.equal(v.getUint16(22, true), 11);
  assert.deepEqual([...bytes.subarray(24, 27)], [0xaa, 0xbb, 0xcc]);
  assert.equal(v.getUint32(27, true), 68);
});

Deno.test("compressed2ToCompressed: file mode moves the data size and the feature offsets", () => {
  const pipe = pipeFile();
  const records = pipe.subarray(16);
  const dataOff = 104, featOff = dataOff + records.length;
  const f = new Uint8Array(featOff + 16 + 4);
  const v = new DataView(f.buffer);
  f.set(new TextEncoder().encode("PERFILE2"));
  v.setBigUint64(8, 104n, true);
  v.setBigUint64(40, BigInt(dataOff), true);
  v.setBigUint64(48, BigInt(records.length), true);
  f[72] = 1 << 2; // one feature (bit 2, HEADER_BUILD_ID)
  f.set(records, dataOff);
  v.setBigUint64(featOff, BigInt(featOff + 16), true);
  v.setBigUint64(featOff + 8, 4n, true);
  f.set([1, 2, 3, 4], featOff + 16);
  const { bytes } = compressed2ToCompressed(f);
  const o = new DataView(bytes.buffer);
  const shrink = 13; // 16-byte header + 5 bytes of padding became an 8-byte header
  assert.equal(Number(o.getBigUint64(48, true)), records.length - shrink);
  const table = dataOff + records.length - shrink;
  assert.equal(Number(o.getBigUint64(table, true)), featOff + 16 - shrink);
  assert.deepEqual([...bytes.subarray(table + 16)], [1, 2, 3, 4]);
});

const FILES = [
  "lpd__sleep.compressed2.data",
  "lpd__sleep.compressed2.pipe.data",
  "lpd__fibo.compressed2.pipe.data",
].filter((n) => corpusFile(n) !== undefined);

Deno.test({
  name:
    "COMPRESSED2 files (perf 6.16) equal perf 6.1 on their COMPRESSED copy: script and three report views (corpus)",
  ignore: FILES.length === 0 || !(await perfAvailable()),
  async fn() {
    const home = await Deno.makeTempDir();
    try {
      for (const name of FILES) {
        const file = corpusFile(name)!;
        const c1 = `${home}/c1.data`;
        Deno.writeFileSync(c1, compressed2ToCompressed(Deno.readFileSync(file)).bytes);
        const copy = await downgradedCopy(c1, `${home}/copy.data`);
        const perf = await runPerf(["script", "-i", copy], undefined, { HOME: home });
        assert.equal(perf.code, 0, perf.stderr);
        const ours = await runCli("script", ["-i", file], undefined, { HOME: home });
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(ours.stdout, perf.stdout, `${name}: script`);
        for (const args of [[], ["--no-children"], ["--no-children", "--sort", "sym"]]) {
          const p = await runPerf(["report", "--stdio", "-i", copy, ...args], undefined, {
            HOME: home,
          });
          assert.equal(p.code, 0, p.stderr);
          const o = await runCli("report", ["--stdio", "-i", file, ...args], undefined, {
            HOME: home,
          });
          assert.equal(o.code, 0, o.stderr);
          assert.equal(perfReportPart(o.stdout), perfReportPart(p.stdout), `${name} ${args}`);
        }
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
