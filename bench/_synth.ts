/**
 * Shared by the benchmarks: a large perf.data made from a small real one.
 *
 * @module
 */
import { encodeRecord, encodeSample, RecordType } from "../lib/abi/mod.ts";
import { openPerfData } from "../lib/perfdata/reader.ts";
import { SampleLayout } from "../lib/abi/mod.ts";
import { PerfDataWriter } from "../lib/perfdata/writer.ts";

/**
 * Replay the seed's samples with shifted times until the file reaches `mb` MB. Side-band
 * records are written once; EXIT records are left out, so the copies' threads stay alive.
 *
 * @param seed A perf.data to replay.
 * @param mb Target size in MB.
 * @param out Output path.
 * @param tool Name of the bench, recorded as the file's command line.
 */
export async function synthesizePerfData(
  seed: string,
  mb: number,
  out: string,
  tool: string,
): Promise<void> {
  const file = await openPerfData(seed, { ordered: true });
  const info = file.info;
  const header: Uint8Array[] = [];
  const samples: { bytes: Uint8Array; timeAt: number; time: number }[] = [];
  for await (const r of file.records()) {
    const rec = r.record;
    if ("sample" in rec) {
      const bytes = encodeSample(rec.sample, r.event!.format, rec.misc);
      const timeAt = SampleLayout.of(r.event!.format).time;
      samples.push({ bytes, timeAt, time: rec.sample.time ?? 0 });
    } else if (rec.type < RecordType.HEADER_ATTR && rec.type !== RecordType.EXIT) {
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
    cmdline: [tool, "--synth-mb", String(mb)],
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
