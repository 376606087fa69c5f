/**
 * AUX area records (PERF_RECORD_AUX flags, PERF_RECORD_AUXTRACE_ERROR) in a
 * file written now, read by perf 6.1 and by callring: the same script lines,
 * the same report, and perf's warnings about them as callring's.
 */
import assert from "node:assert/strict";
import { ByteWriter, defaultAttr, RecordType, SampleType } from "../lib/abi/mod.ts";
import { PerfDataWriter } from "../lib/perfdata/mod.ts";
import { perfAvailable, runPerf } from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

const PERF_RUNS = await perfAvailable();

/** PERF_AUX_FLAG_TRUNCATED 1, OVERWRITE 2, PARTIAL 4, COLLISION 8. */
const AUX_FLAGS = [1, 4, 8, 0, 5, 2];

async function writeAuxFile(path: string): Promise<void> {
  const t = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.PERIOD;
  const attr = defaultAttr({ type: 1, sampleType: t, samplePeriod: 1000, flags: 1 << 18 });
  const w = await PerfDataWriter.create(path, { events: [{ attr, name: "cpu-clock" }] });
  await w.writeRecord({
    type: RecordType.COMM,
    misc: 0,
    size: 0,
    pid: 5,
    tid: 5,
    comm: "burn",
    sampleId: { pid: 5, tid: 5, time: 1 },
  });
  let time = 1_000_000_000;
  for (const flags of AUX_FLAGS) {
    const b = new ByteWriter(48);
    b.u32(RecordType.AUX);
    b.u16(0);
    b.u16(48);
    b.u64(0); // aux_offset
    b.u64(4096); // aux_size
    b.u64(flags);
    b.u32(5); // sample_id: pid, tid, time
    b.u32(5);
    b.u64(time++);
    await w.write(b.finish());
    await w.writeSample({ ip: 0x401000n, pid: 5, tid: 5, time: time++, period: 1000 });
  }
  // struct perf_record_auxtrace_error: fmt 0 (message right after ip) and fmt 1 (with time)
  for (const [type, fmt] of [[1, 0], [1, 1], [0, 1], [2, 0]]) {
    const size = fmt ? 112 : 104;
    const b = new ByteWriter(size);
    b.u32(RecordType.AUXTRACE_ERROR);
    b.u16(0);
    b.u16(size);
    for (const x of [type, 7, 1, 5, 5, fmt]) b.u32(x); // type, code, cpu, pid, tid, fmt
    b.u64(0x401000); // ip
    if (fmt) b.u64(3_000_000_123);
    const msg = new Uint8Array(64);
    msg.set(new TextEncoder().encode(`bad packet ${type}/${fmt}`));
    b.bytes(msg);
    await w.write(b.finish());
  }
  await w.close();
}

/** perf's `Warning:` messages (ui__warning on stdio), first lines only. */
function perfWarnings(stderr: string): string[] {
  const out: string[] = [];
  const lines = stderr.split("\n");
  lines.forEach((l, i) => {
    if (l === "Warning:" && lines[i + 1]) out.push(lines[i + 1]!);
  });
  return out;
}

function ourWarnings(stderr: string, path: string): string[] {
  const mark = `warning: ${path}: `;
  return stderr.split("\n").filter((l) => l.includes(mark)).map((l) =>
    l.slice(l.indexOf(mark) + mark.length)
  );
}

Deno.test({
  name:
    "AUX records: script prints AUXTRACE_ERROR lines and both tools warn of AUX loss as perf 6.1",
  ignore: !PERF_RUNS,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/aux.data`;
      await writeAuxFile(path);
      const perfScript = await runPerf(["script", "-i", path]);
      const ours = await runCli("script", ["-i", path]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.ok(perfScript.stdout.includes("instruction trace error type 1 time 3.000000123"));
      assert.equal(ours.stdout, perfScript.stdout);
      const expected = perfWarnings(perfScript.stderr);
      assert.deepEqual(expected, [
        "AUX data lost 2 times out of 6!",
        "AUX data had gaps in it 2 times out of 6!",
        "AUX data detected collision  1 times out of 6!",
        "1 unknown AUX errors",
        "2 instruction trace errors",
      ]);
      assert.deepEqual(ourWarnings(ours.stderr, path), expected);

      const perfReport = await runPerf(["report", "--stdio", "-i", path]);
      const report = await runCli("report", ["--stdio", "-i", path]);
      assert.equal(report.code, 0, report.stderr);
      // (perf also warns that this file has no kernel map; callring does not read kernel maps)
      assert.deepEqual(
        ourWarnings(report.stderr, path),
        perfWarnings(perfReport.stderr).filter((m) => /AUX|errors$/.test(m)),
      );
      const body = (s: string) => {
        let lines = s.split("\n").filter((l) => !l.startsWith("# callring:"));
        const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
        if (tip > 0) lines = lines.slice(0, tip - 1);
        return lines.join("\n").trimEnd();
      };
      assert.equal(body(report.stdout), body(perfReport.stdout));
      assert.ok(
        report.stdout.includes(
          "# callring: AUX area data not decoded: 0 bytes in 0 PERF_RECORD_AUXTRACE records; " +
            "6 PERF_RECORD_AUX records (2 lost, 2 with gaps, 1 collisions); 3 AUXTRACE_ERROR records",
        ),
        report.stdout,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
