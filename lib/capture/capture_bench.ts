// Capture benchmarks: writer MB/s (CRC + chunking) and streaming reader GB/s
// (chunk validation, payload CRC, time-ordered merge, defragmentation).
// Run: deno bench -A lib/capture/capture_bench.ts
import { RecordType } from "../abi/mod.ts";
import { captureMemorySource, CaptureReader } from "./reader.ts";
import { makeCapture } from "./testutil_test.ts";

const { bytes } = await makeCapture(40_000, 1, 4096);
let samples = 0;

Deno.bench({
  name: `reader: ${(bytes.length / 2 ** 20).toFixed(1)} MiB capture, merged + defragmented`,
  group: "capture",
  fn: async () => {
    const r = await CaptureReader.open(captureMemorySource(bytes));
    samples = 0;
    await r.read((rec) => {
      if (new DataView(rec.bytes.buffer).getUint32(0, true) === RecordType.SAMPLE) samples++;
    });
    r.close();
  },
});

Deno.bench({
  name: "writer: simulate + drain 40,000 samples into a capture",
  group: "capture",
  fn: async () => {
    await makeCapture(40_000, 2, 4096);
  },
});
