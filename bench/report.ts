/**
 * `callring report` next to `perf report` on the same files: wall time and
 * max RSS (`/usr/bin/time -v`) of each command as a process, stdout to
 * /dev/null, and the ratios.
 *
 * Usage:
 *   deno run -A bench/report.ts [--quick] [--input FILE]... [--record-seconds 4]
 *                               [--no-record] [--synth-mb 90] [--seed FILE]
 *                               [--runs 1] [--check] [--keep] [--root DIR]
 *
 * Inputs (each timed separately):
 *   - real: `perf record -e cpu-clock -F 20000 -g` of a workload for
 *     --record-seconds (4, or 1 with --quick): `xz -9` on random bytes,
 *     Python recursion + sha256 and a `find` loop (deep kernel stacks), in
 *     parallel. Skipped with --no-record or when perf cannot record.
 *   - synthetic: about --synth-mb MB (90, like the 89 MB file of
 *     ../shared/docs/perf-format.md; 20 with --quick) made by replaying the
 *     samples of the real recording (or --seed, default testdata/fp.data) with
 *     shifted times, as bench/decode.ts does (EXIT records left out, so every
 *     copy resolves through the same threads and maps).
 *   - every --input FILE as given.
 *
 * Rows per input:
 *   perf report --stdio                      ours: cli/report.ts --stdio
 *   perf report --stdio --no-children        ours: --stdio --no-children
 *   ours: --folded, --flamegraph x.svg, --speedscope x.json (no perf twin;
 *   the ratio column compares them with `perf report --no-children`)
 * Wall and CPU (user + system) times are the best of --runs, the samples/s
 * column is by wall time; RSS is the largest seen. On a busy machine the CPU
 * column is the steadier one. With --check, one
 * more untimed run of each report pair compares the texts (our `# callring:`
 * lines and perf's tip dropped) and prints the number of differing lines.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { forEachSampleInFile } from "../lib/perfdata/walker.ts";
import { synthesizePerfData } from "./_synth.ts";
import { comparableReport } from "./_measure.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    input: { type: "string", multiple: true },
    "record-seconds": { type: "string" },
    "no-record": { type: "boolean", default: false },
    "synth-mb": { type: "string" },
    seed: { type: "string" },
    runs: { type: "string", default: "1" },
    check: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    root: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/report.ts [--quick] [--input FILE]... [--record-seconds N]\n" +
      "         [--no-record] [--synth-mb MB] [--seed FILE] [--runs N] [--check] [--keep]\n" +
      "         [--root DIR]  (time DIR/cli/report.ts instead of this checkout's)",
  );
  Deno.exit(0);
}

const quick = values.quick;
const runs = Math.max(1, Number(values.runs));
const recordSeconds = Number(values["record-seconds"] ?? (quick ? "1" : "4"));
const synthMb = Number(values["synth-mb"] ?? (quick ? "20" : "90"));
const root = new URL("..", import.meta.url).pathname;
// --root DIR times another checkout's cli/report.ts (e.g. a baseline before a change).
const REPORT = `${values.root ? values.root.replace(/\/?$/, "/") : root}cli/report.ts`;
const temps: string[] = [];
const tempDir = await Deno.makeTempDir({ prefix: "callring-bench-report-" });
temps.push(tempDir);

/** Run a command quietly; true when it exited 0. */
async function run(cmd: string, args: string[], cwd?: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** Record the workload with perf; undefined when perf cannot record here. */
async function recordReal(seconds: number): Promise<string | undefined> {
  const data = `${tempDir}/real.data`;
  const rand = `${tempDir}/rand.bin`;
  const bytes = new Uint8Array(8 << 20);
  for (let i = 0; i < bytes.length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65536));
  }
  await Deno.writeFile(rand, bytes);
  const py = "import hashlib, time\n" +
    `end = time.time() + ${seconds}\n` +
    "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\n" +
    "while time.time() < end:\n" +
    "    fib(20); hashlib.sha256(b'x' * 100000).digest()\n";
  const s = String(seconds);
  const script = `cd ${tempDir}\n` +
    `timeout ${s} bash -c 'while :; do xz -9 -T1 -c rand.bin > /dev/null; done' &\n` +
    `timeout ${s} python3 -c "${py}" &\n` +
    `timeout ${s} bash -c 'while :; do find /usr/lib -maxdepth 2 > /dev/null; done' &\n` +
    "wait\nexit 0\n";
  await Deno.writeTextFile(`${tempDir}/work.sh`, script);
  const ok = await run("perf", [
    "record",
    "-e",
    "cpu-clock",
    "-F",
    "20000",
    "-g",
    "-o",
    data,
    "--",
    "bash",
    `${tempDir}/work.sh`,
  ]);
  if (!ok) return undefined;
  return data;
}

interface Timing {
  /** Wall-clock seconds (best run). */
  seconds: number;
  /** User + system CPU seconds (best run; steadier than wall time on a busy machine). */
  cpu: number;
  rssMb: number;
}

/** Best wall and CPU time and largest max RSS of `cmd args > /dev/null` under /usr/bin/time -v. */
async function timed(cmd: string, args: string[]): Promise<Timing | undefined> {
  let best = Infinity;
  let bestCpu = Infinity;
  let rss = 0;
  const report = `${tempDir}/time.txt`;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-v", "-o", report, cmd, ...args],
      stdout: "null",
      stderr: "null",
      env: { PERF_PAGER: "cat", PAGER: "cat", NO_COLOR: "1" },
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    if (!out.success) return undefined;
    const text = await Deno.readTextFile(report);
    const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1] ?? 0);
    const user = Number(/User time \(seconds\): ([\d.]+)/.exec(text)?.[1] ?? NaN);
    const system = Number(/System time \(seconds\): ([\d.]+)/.exec(text)?.[1] ?? NaN);
    best = Math.min(best, seconds);
    bestCpu = Math.min(bestCpu, user + system);
    rss = Math.max(rss, kb / 1024);
  }
  return { seconds: best, cpu: bestCpu, rssMb: rss };
}

/** stdout of a command (untimed, for --check). */
async function capture(cmd: string, args: string[]): Promise<string | undefined> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "null",
    env: { PERF_PAGER: "cat", PAGER: "cat", NO_COLOR: "1" },
  }).output();
  return out.success ? new TextDecoder().decode(out.stdout) : undefined;
}

/** Lines that differ between two texts (multiset difference, both ways). */
function differingLines(a: string[], b: string[]): number {
  const count = new Map<string, number>();
  for (const l of a) count.set(l, (count.get(l) ?? 0) + 1);
  for (const l of b) count.set(l, (count.get(l) ?? 0) - 1);
  let n = 0;
  for (const v of count.values()) n += Math.abs(v);
  return n;
}

async function benchFile(label: string, path: string): Promise<void> {
  const stats = await forEachSampleInFile(path, () => {});
  const size = (await Deno.stat(path)).size;
  const samples = stats.samples;
  console.log(
    `\n-- ${label}: ${path} (${(size / 1e6).toFixed(1)} MB, ${samples} samples)`,
  );
  const ours = (args: string[]) =>
    timed(Deno.execPath(), ["run", "-A", REPORT, "-q", "-i", path, ...args]);
  const perf = (args: string[]) => timed("perf", ["report", "-i", path, ...args]);
  const perfChildren = await perf(["--stdio"]);
  const perfSelf = await perf(["--stdio", "--no-children"]);
  const rows: [string, Timing | undefined, Timing | undefined][] = [
    ["perf report --stdio", perfChildren, undefined],
    ["perf report --stdio --no-children", perfSelf, undefined],
    ["ours --stdio", await ours(["--stdio"]), perfChildren],
    ["ours --stdio --no-children", await ours(["--stdio", "--no-children"]), perfSelf],
    ["ours --folded", await ours(["--folded"]), perfSelf],
    ["ours --flamegraph x.svg", await ours(["--flamegraph", `${tempDir}/x.svg`]), perfSelf],
    ["ours --speedscope x.json", await ours(["--speedscope", `${tempDir}/x.json`]), perfSelf],
  ];
  console.log(
    "what".padEnd(36),
    "wall s".padStart(7),
    "cpu s".padStart(7),
    "k samples/s".padStart(12),
    "max RSS MB".padStart(11),
    "  ratio (ours / perf twin)",
  );
  for (const [name, t, twin] of rows) {
    if (t === undefined) {
      console.log(name.padEnd(36), "failed");
      continue;
    }
    let ratio = "";
    if (twin !== undefined) {
      const r = t.seconds / twin.seconds;
      ratio = `  wall ${r.toFixed(2)}x, cpu ${(t.cpu / twin.cpu).toFixed(2)}x, RSS ${
        (t.rssMb / twin.rssMb).toFixed(2)
      }x`;
    }
    console.log(
      name.padEnd(36),
      t.seconds.toFixed(2).padStart(7),
      t.cpu.toFixed(2).padStart(7),
      (samples / t.seconds / 1000).toFixed(0).padStart(12),
      t.rssMb.toFixed(0).padStart(11),
      ratio,
    );
  }
  if (values.check) {
    for (const args of [["--stdio"], ["--stdio", "--no-children"]]) {
      const a = await capture(Deno.execPath(), ["run", "-A", REPORT, "-q", "-i", path, ...args]);
      const b = await capture("perf", ["report", "-i", path, ...args]);
      if (a === undefined || b === undefined) {
        console.log(`check ${args.join(" ")}: a command failed`);
        continue;
      }
      const n = differingLines(comparableReport(a), comparableReport(b));
      console.log(
        `check ${args.join(" ")}: ${
          n === 0 ? "same lines as perf" : `${n} lines differ from perf`
        } (${comparableReport(b).length} perf lines)`,
      );
    }
  }
}

try {
  const inputs: [string, string][] = [];
  let real: string | undefined;
  if (!values["no-record"]) {
    const t0 = performance.now();
    real = await recordReal(recordSeconds);
    if (real) {
      console.log(
        `recorded ${real} (${recordSeconds} s workload) in ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s`,
      );
      inputs.push(["real perf record", real]);
    } else console.log("perf record failed: no real recording");
  }
  if (synthMb > 0) {
    const seed = values.seed ?? real ?? `${root}testdata/fp.data`;
    const out = `${tempDir}/synthetic.data`;
    const t0 = performance.now();
    await synthesizePerfData(seed, synthMb, out, "bench/report.ts");
    console.log(
      `synthesized ${out} from ${seed} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    inputs.push([`synthetic ${synthMb} MB`, out]);
  }
  for (const f of values.input ?? []) inputs.push(["input", f]);
  for (const [label, path] of inputs) await benchFile(label, path);
} finally {
  if (values.keep) console.log(`\nkept ${tempDir}`);
  else for (const t of temps) await Deno.remove(t, { recursive: true }).catch(() => {});
}
