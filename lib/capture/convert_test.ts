import assert from "node:assert/strict";
import { RecordType } from "../abi/mod.ts";
import { captureToPerfData } from "./convert.ts";
import { CaptureReader, memorySource } from "./reader.ts";
import { makeCapture } from "./testutil_test.ts";

Deno.test("capture -> perf.data: real perf script reads every reassembled sample", async () => {
  const { bytes } = await makeCapture(500, 8);
  const reader = await CaptureReader.open(memorySource(bytes));
  let samples = 0;
  let deepest = 0;
  await reader.read((r) => {
    const v = new DataView(r.bytes.buffer);
    if (v.getUint32(0, true) === RecordType.SAMPLE) {
      samples++;
      deepest = Math.max(deepest, v.getUint32(48, true));
    }
  });
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/out.data`;
    const res = await captureToPerfData(reader, path);
    assert.ok(res.read.syncRecords > 0 && res.read.defragmented > 0);
    assert.equal(res.read.warnings.length, 0);
    const out = await new Deno.Command("perf", {
      args: ["script", "-i", path, "-F", "tid,time,ip"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    const text = new TextDecoder().decode(out.stdout);
    const heads = text.split("\n").filter((l) => /^\s*11\s/.test(l)).length;
    const frames = text.split("\n").filter((l) => /^\s+[0-9a-f]+$/.test(l)).length;
    assert.equal(heads, samples, stderr);
    assert.ok(deepest > 16, "a reassembled chain is deeper than the head chunk");
    assert.ok(frames >= deepest);
  } finally {
    reader.close();
    await Deno.remove(dir, { recursive: true });
  }
});
