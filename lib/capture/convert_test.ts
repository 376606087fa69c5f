import assert from "node:assert/strict";
import { decodeSample, RecordType } from "../abi/mod.ts";
import { perfAvailable, runPerf } from "../testing/perf_tool.ts";
import { captureToPerfData } from "./convert.ts";
import { captureMemorySource, CaptureReader } from "./reader.ts";
import { makeCapture } from "./testutil_test.ts";

const HAVE_PERF = await perfAvailable();

/** One sample as `perf script -F tid,time,ip` prints it. */
interface ScriptSample {
  tid: number;
  /** Time in µs, as printed. */
  timeUs: number;
  /** Callchain entries, hex. */
  chain: string[];
}

function parseScript(text: string): ScriptSample[] {
  const out: ScriptSample[] = [];
  for (const line of text.split("\n")) {
    const head = /^\s*(\d+)\s+(\d+)\.(\d{6}):\s*$/.exec(line);
    if (head) {
      out.push({
        tid: Number(head[1]),
        timeUs: Number(head[2]) * 1e6 + Number(head[3]),
        chain: [],
      });
      continue;
    }
    const frame = /^\s+([0-9a-f]+)$/.exec(line);
    if (frame) out.at(-1)!.chain.push(frame[1]);
    else assert.equal(line, "", `unexpected perf script line ${JSON.stringify(line)}`);
  }
  return out;
}

Deno.test({
  name:
    "capture -> perf.data: real perf script reads every reassembled sample with its whole chain",
  ignore: !HAVE_PERF,
  async fn() {
    const symbols = [
      { start: 0xffffffff00001000n, end: 0xffffffff00100000n, kernel: true, name: "f", dso: "k" },
    ];
    const { bytes } = await makeCapture(500, 8, 2048, { symbols });
    const reader = await CaptureReader.open(captureMemorySource(bytes));
    const want: ScriptSample[] = [];
    await reader.read((r) => {
      const v = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
      if (v.getUint32(0, true) !== RecordType.SAMPLE) return;
      const s = decodeSample(v, 0, reader.format);
      want.push({
        tid: s.tid!,
        timeUs: Math.floor(s.time! / 1000),
        chain: Array.from(s.callchain!, (x) => x.toString(16)),
      });
    });
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/out.data`;
      const res = await captureToPerfData(reader, path);
      assert.ok(res.read.syncRecords > 0 && res.read.defragmented > 0);
      assert.equal(res.read.warnings.length, 0);
      assert.equal(res.droppedExtensions, symbols.length, "the symbol record is dropped");
      assert.equal(res.records, res.read.records - res.droppedExtensions);
      const out = await runPerf(["script", "-i", path, "-F", "tid,time,ip"]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stderr, "", "perf script printed warnings");
      const got = parseScript(out.stdout);
      assert.equal(got.length, want.length);
      assert.ok(Math.max(...want.map((s) => s.chain.length)) > 16, "a chain deeper than a head");
      for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `sample ${i}`);
    } finally {
      reader.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
