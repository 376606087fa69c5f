/**
 * Decode throughput of lib/perfdata next to real perf on the same file.
 *
 * Usage:
 *   deno run -A bench/decode.ts [--input FILE] [--synth-mb 200] [--seed testdata/fp.data]
 *                               [--runs 3] [--no-perf] [--keep]
 *
 * Without --input it synthesizes a file of about --synth-mb MB by replaying the
 * samples of --seed (a real perf.data, so callchains, mmaps and symbols are
 * realistic) with shifted times, written by PerfDataWriter. Then it times:
 *   - walk:   forEachSampleInFile, every callchain entry read (hi/lo u32)
 *   - decode: openPerfData(...).records(), perf's time order, full objects
 *   - `perf script` and `perf report --stdio --no-children -g none` (stdout to /dev/null)
 * and prints MB/s, samples/s and the ratios.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { encodeRecord, encodeSample, RecordType } from "../lib/abi/mod.ts";
import { openPerfData } from "../lib/perfdata/reader.ts";
import { forEachSampleInFile, sampleLayout } from "../lib/perfdata/walker.ts";
import { PerfDataWriter } from "../lib/perfdata/writer.ts";

const { values } = parseArgs({
  options: {
    input: { type: "string" },
    "synth-mb": { type: "string", default: "200" },
    seed: { type: "string", default: new URL("../testdata/fp.data", import.meta.url).pathname },
    runs: { type: "string", default: "3" },
    "no-perf": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});

/** Replay the seed's samples with shifted times until the file reaches `mb` MB. */
async function synthesize(seed: string, mb: number, out: string): Promise<void> {
  const file = await openPerfData(seed, { ordered: true });
  const info = file.info;
  const header: Uint8Array[] = [];
  const samples: { bytes: Uint8Array; timeAt: number; time: number }[] = [];
  for await (const r of file.records()) {
    const rec = r.record;
    if ("sample" in rec) {
      const bytes = encodeSample(rec.sample, r.event!.format, rec.misc);
      const timeAt = sampleLayout(r.event!.format.sampleType, r.event!.format.readFormat).time;
      samples.push({ bytes, timeAt, time: rec.sample.time ?? 0 });
    } else if (rec.type < RecordType.HEADER_ATTR) {
      header.push(encodeRecord(rec, r.event?.format.sampleType ?? 0));
    }
  }
  file.close();
  if (!samples.length) throw new Error(`${seed} has no samples`);
  const first = samples[0]!.time;
  const span = samples[samples.length - 1]!.time - first + 1000;
  const writer = await PerfDataWriter.create(out, {
    events: info.events.map((e) => ({ attr: e.attr, ids: e.ids, name: e.name })),
    hostname: info.hostname,
    osRelease: info.osRelease,
    cmdline: ["bench/decode.ts", "--synth-mb", String(mb)],
    buildIds: info.buildIds,
  });
  for (const h of header) await writer.write(h);
  const target = mb * 1e6;
  for (let copy = 0; writer.dataBytes < target; copy++) {
    for (const s of samples) {
      const b = s.bytes.slice();
      if (s.timeAt >= 0) {
        const v = new DataView(b.buffer);
        const t = s.time + copy * span;
        v.setUint32(s.timeAt, t % 0x1_0000_0000, true);
        v.setUint32(s.timeAt + 4, Math.floor(t / 0x1_0000_0000), true);
      }
      await writer.write(b);
    }
  }
  await writer.close();
}

async function timeIt<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  let best = Infinity;
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, value: value! };
}

async function timePerf(args: string[], runs: number): Promise<number | undefined> {
  try {
    return (await timeIt(runs, async () => {
      const out = await new Deno.Command("perf", {
        args,
        stdout: "null",
        stderr: "null",
        env: { PERF_PAGER: "cat", PAGER: "cat" },
      }).output();
      if (!out.success) throw new Error(`perf ${args.join(" ")} failed`);
    })).ms;
  } catch {
    return undefined;
  }
}

const runs = Number(values.runs);
let path = values.input;
let temp: string | undefined;
if (!path) {
  temp = await Deno.makeTempFile({ suffix: ".data" });
  path = temp;
  const t0 = performance.now();
  await synthesize(values.seed!, Number(values["synth-mb"]), path);
  console.log(`synthesized ${path} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const size = (await Deno.stat(path)).size;
const mb = size / 1e6;

const walk = await timeIt(runs, async () => {
  let acc = 0;
  const stats = await forEachSampleInFile(path!, (s) => {
    for (let i = 0; i < s.callchainNr; i++) acc = (acc + (s.lo(i) ^ s.hi(i))) | 0;
  });
  return { samples: stats.samples, acc };
});
const samples = walk.value.samples;

const decode = await timeIt(Math.min(runs, 2), async () => {
  const file = await openPerfData(path!);
  let n = 0;
  let frames = 0;
  for await (const r of file.records()) {
    if ("sample" in r.record) {
      n++;
      frames += r.record.sample.callchain?.length ?? 0;
    }
  }
  file.close();
  return { n, frames };
});

const rows: [string, number | undefined][] = [
  ["walk (forEachSampleInFile, callchains read)", walk.ms],
  ["decode (records(), ordered, full objects)", decode.ms],
];
if (!values["no-perf"]) {
  rows.push(["perf script", await timePerf(["script", "-i", path], 1)]);
  rows.push([
    "perf report --stdio --no-children -g none",
    await timePerf(["report", "--stdio", "--no-children", "-g", "none", "-i", path], 1),
  ]);
}

console.log(`file: ${mb.toFixed(1)} MB, ${samples} samples (decode saw ${decode.value.n})`);
console.log("what".padEnd(46), "ms".padStart(9), "MB/s".padStart(9), "M samples/s".padStart(12));
for (const [name, ms] of rows) {
  if (ms === undefined) {
    console.log(name.padEnd(46), "n/a");
    continue;
  }
  console.log(
    name.padEnd(46),
    ms.toFixed(0).padStart(9),
    (mb / (ms / 1000)).toFixed(0).padStart(9),
    (samples / (ms / 1000) / 1e6).toFixed(2).padStart(12),
  );
}
for (const [name, ms] of rows.slice(2)) {
  if (ms === undefined) continue;
  console.log(
    `ratio ${name} / walk = ${(ms / walk.ms).toFixed(1)}x; / decode = ${
      (ms / decode.ms).toFixed(1)
    }x`,
  );
}
if (temp && !values.keep) await Deno.remove(temp);
else if (temp) console.log(`kept ${temp}`);
