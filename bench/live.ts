/**
 * `record --live` next to `perf record` on the same workload: the burn
 * fixture (testdata/src/burn.c) runs on its own, and each recorder attaches to
 * it with `-p PID -g -e cpu-clock -F HZ` for the same time (perf: `-- sleep S`,
 * callring: `--duration`), at 1, 10 and 50 kHz. Per row:
 *
 * - samples/s: samples in the file / recording seconds;
 * - recorder CPU: user + system seconds of the recorder process
 *   (`/usr/bin/time`; start-up included: deno's runtime and perf's symbol
 *   setup alike), that CPU time per 1000 samples, and per 1000 samples above
 *   the same recorder's CPU at `-F 1` (start-up, synthesize and polling
 *   without samples; measured once per recorder);
 * - bytes/sample: output file size / samples;
 * - lost: samples the kernel reported lost (LOST + LOST_SAMPLES records).
 *
 * Samples and losses of every file are counted by the same reader (the
 * `# callring:` header lines of `cli/report.ts`). callring is run twice (read-back check
 * off, `--no-verify`, so only recording is timed), into
 * a capture and into a perf.data (`--format perf`).
 *
 *     deno run -A bench/live.ts [--quick] [--seconds 2] [--rates 1000,10000,50000]
 *
 * Skips (exit 0, reason printed) when perf events cannot be opened or perf
 * cannot record here.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { liveUnavailableReason } from "../lib/live/probe.ts";
import { buildBurn, perfCanRecord } from "../lib/testing/perf_tool.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    seconds: { type: "string" },
    rates: { type: "string", default: "1000,10000,50000" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/live.ts [--quick] [--seconds S] [--rates HZ,HZ,...]\n" +
      "record --live next to perf record -p on the burn workload: samples/s, recorder CPU,\n" +
      "bytes per sample, lost samples per rate.",
  );
  Deno.exit(0);
}

const reason = liveUnavailableReason();
if (reason) {
  console.log(`live bench skipped: ${reason}`);
  Deno.exit(0);
}
if (!(await perfCanRecord())) {
  console.log("live bench skipped: perf cannot record here");
  Deno.exit(0);
}

const seconds = Number(values.seconds ?? (values.quick ? "1" : "2"));
const rates = values.rates.split(",").map(Number);
const root = new URL("..", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "callring-live-bench-" });

interface Row {
  recorder: string;
  rate: number;
  samples: number;
  lost: number;
  cpu: number;
  bytes: number;
  rssMb: number;
}

async function timed(cmd: string[]): Promise<{ cpu: number; rssMb: number; ok: boolean }> {
  const report = `${dir}/time.txt`;
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S %M", "-o", report, ...cmd],
    stdout: "null",
    stderr: "piped",
    env: { PERF_PAGER: "cat", LC_ALL: "C" },
  }).output();
  const [u, s, m] = (await Deno.readTextFile(report)).trim().split("\n").pop()!.split(" ")
    .map(Number);
  if (!out.success) {
    console.error(
      `${cmd.join(" ")}: exit ${out.code} ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return { cpu: u! + s!, rssMb: m! / 1024, ok: out.success };
}

async function counts(file: string): Promise<{ samples: number; lost: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli/report.ts`, "-i", file, "--stdio", "-g", "none"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const samples = Number(/# callring: samples read: (\d+)/.exec(text)?.[1] ?? NaN);
  const m = /# callring: lost: (\d+) events in LOST records, (\d+) in LOST_SAMPLES/.exec(text);
  return { samples, lost: m ? Number(m[1]) + Number(m[2]) : NaN };
}

const burn = await buildBurn(dir);
const rows: Row[] = [];
const baseline = new Map<string, number>();
for (const rate of rates) {
  const work = new Deno.Command(burn, { args: ["3600000"], stdout: "null" })
    .spawn();
  try {
    await new Promise((r) => setTimeout(r, 200));
    const pid = String(work.pid);
    const common = ["-g", "-e", "cpu-clock", "-F", String(rate), "-p", pid];
    const runs: [string, string, string[]][] = [
      [
        "perf record",
        `${dir}/perf-${rate}.data`,
        ["perf", "record", "-q", ...common, "-o", `${dir}/perf-${rate}.data`, "--", "sleep"]
          .concat(String(seconds)),
      ],
      [
        "callring capture",
        `${dir}/live-${rate}.callring`,
        [
          Deno.execPath(),
          "run",
          "-A",
          `${root}cli/record.ts`,
          "--live",
          "-q",
          "--no-verify",
          ...common,
        ]
          .concat(["--duration", String(seconds * 1000), "-o", `${dir}/live-${rate}.callring`]),
      ],
      [
        "callring --format perf",
        `${dir}/live-${rate}.data`,
        [
          Deno.execPath(),
          "run",
          "-A",
          `${root}cli/record.ts`,
          "--live",
          "-q",
          "--no-verify",
          ...common,
        ]
          .concat(["--duration", String(seconds * 1000), "--format", "perf"])
          .concat(["-o", `${dir}/live-${rate}.data`]),
      ],
    ];
    for (const [recorder, file, cmd] of runs) {
      if (!baseline.has(recorder)) {
        // The same recorder at -F 1: start-up, synthesize and polling without samples.
        const idle = cmd.map((a, i) => cmd[i - 1] === "-F" ? "1" : a);
        const b = await timed(idle);
        if (b.ok) baseline.set(recorder, b.cpu);
      }
      const t = await timed(cmd);
      if (!t.ok) {
        console.log(`${recorder} at ${rate} Hz failed`);
        continue;
      }
      const c = await counts(file);
      rows.push({
        recorder,
        rate,
        samples: c.samples,
        lost: c.lost,
        cpu: t.cpu,
        bytes: (await Deno.stat(file)).size,
        rssMb: t.rssMb,
      });
    }
  } finally {
    try {
      work.kill("SIGKILL");
    } catch {
      console.log(`burn exited during the ${rate} Hz rows (their samples are short)`);
    }
    await work.status;
  }
}
await Deno.remove(dir, { recursive: true });

console.log(
  `# burn (2 threads for the first quarter) recorded with -p PID -g -e cpu-clock for ` +
    `${seconds} s per row; ${navigator.hardwareConcurrency} CPUs`,
);
const head = [
  "recorder",
  "Hz",
  "samples",
  "samples/s",
  "CPU s",
  "CPU ms/1k samples",
  "above -F 1",
  "bytes/sample",
  "lost",
  "max RSS MB",
];
const cells = rows.map((r) => [
  r.recorder,
  String(r.rate),
  String(r.samples),
  (r.samples / seconds).toFixed(0),
  r.cpu.toFixed(2),
  (r.cpu * 1e6 / Math.max(1, r.samples)).toFixed(1),
  ((r.cpu - (baseline.get(r.recorder) ?? NaN)) * 1e6 / Math.max(1, r.samples)).toFixed(1),
  (r.bytes / Math.max(1, r.samples)).toFixed(1),
  String(r.lost),
  r.rssMb.toFixed(0),
]);
const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
const line = (c: string[]) => c.map((x, i) => i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!));
console.log(
  "# baseline CPU s at -F 1 (start-up, synthesize, polling): " +
    [...baseline].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", "),
);
console.log(line(head).join("  "));
for (const c of cells) console.log(line(c).join("  "));
for (const rate of rates) {
  const perf = rows.find((r) => r.rate === rate && r.recorder === "perf record");
  const ours = rows.find((r) => r.rate === rate && r.recorder === "callring capture");
  if (perf && ours) {
    console.log(
      `${rate} Hz: callring capture / perf record: CPU ${(ours.cpu / perf.cpu).toFixed(2)}x, ` +
        `bytes/sample ${(ours.bytes / ours.samples / (perf.bytes / perf.samples)).toFixed(2)}x, ` +
        `samples ${(ours.samples / perf.samples).toFixed(2)}x`,
    );
  }
}
