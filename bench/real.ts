/**
 * callring next to perf on a real recording: a mixed workload (gzip, xz,
 * sort, python3, gcc on fixed seeded input data) recorded by
 * `perf record -e cpu-clock -F 15000 -g`, then one table of commands, each
 * timed as a whole process (medians of --runs, the two tools alternating),
 * with peak RSS, the ratio perf / callring and the issue's goal per line.
 *
 * Usage:
 *   deno run -A bench/real.ts [--quick] [--large] [--input FILE] [--runs 3]
 *                             [--out out/bench] [--no-hotspot]
 *
 * The recording is about 100 MB (--quick: 20 MB, --large: 1 GB), cached as
 * out/bench/real-<MB>mb.data (out/ is ignored by git) and reused when present;
 * delete it to record again. The workload runs until perf.data reaches the
 * size, so the sample count depends on the machine, the input data does not.
 *
 * Before anything is timed, both tools' outputs are compared (untimed):
 * `script` byte for byte; `report` texts without callring's `# callring:`
 * lines and perf's tip; `--folded` byte for byte against
 * `perf script | stackcollapse-perf.pl` (FlameGraph is not part of callring:
 * point FLAMEGRAPH_DIR at a checkout, as testdata/regen.sh does; without it
 * that row is skipped). `hotspot-perfparser` (Debian package `hotspot`) is
 * timed when installed; it writes its own binary stream, so it has no byte
 * check and no goal.
 *
 * Goals (issue 14): report >= 5x faster than perf report, script >= 4x and
 * byte-identical, --folded >= 25x, peak RSS at most perf's.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  comparableReport,
  firstDifference,
  median,
  rssFromProcStatus,
  rssFromTimeV,
  TextDigest,
} from "./_measure.ts";
import { forEachSampleInFile } from "../lib/perfdata/walker.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    large: { type: "boolean", default: false },
    input: { type: "string" },
    runs: { type: "string", default: "3" },
    out: { type: "string" },
    "no-hotspot": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/real.ts [--quick] [--large] [--input FILE] [--runs 3]\n" +
      "         [--out DIR] [--no-hotspot]   (FLAMEGRAPH_DIR=... for the --folded row)",
  );
  Deno.exit(0);
}

const root = new URL("..", import.meta.url).pathname;
const outDir = values.out ?? `${root}out/bench`;
const targetMb = values.large ? 1000 : values.quick ? 20 : 100;
const runs = Math.max(1, Number(values.runs));
const ENV = { PERF_PAGER: "cat", PAGER: "cat", NO_COLOR: "1" };
const HOTSPOT = "/usr/lib/x86_64-linux-gnu/libexec/hotspot-perfparser";
const TIME = "/usr/bin/time";

/** Shell-quote one word. */
function q(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** xorshift32: the workload's input bytes are the same on every machine. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** Write the workload's seeded inputs and loop script into `dir`. */
async function writeWorkload(dir: string): Promise<void> {
  const next = seeded(14);
  const syll = ["ka", "ri", "to", "mu", "ne", "sa", "lo", "vi", "de", "pa", "zu", "or"];
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const n = 2 + (next() % 6);
    const words: string[] = [];
    for (let w = 0; w < n; w++) {
      let word = "";
      for (let s = 1 + (next() % 4); s > 0; s--) word += syll[next() % syll.length];
      words.push(word);
    }
    lines.push(`${words.join(" ")} ${next() % 100000}`);
  }
  await Deno.writeTextFile(`${dir}/words.txt`, lines.join("\n") + "\n");
  let c = "#include <stdint.h>\n";
  for (let f = 0; f < 150; f++) {
    c += `uint64_t f${f}(uint64_t x) {\n  for (int i = 0; i < ${1 + next() % 50}; i++) {\n` +
      `    x = x * ${next()}u + ${next()}u;\n    if (x % ${3 + next() % 97}) x ^= x >> ${
        1 + next() % 31
      };\n  }\n  return x${f ? ` + f${f - 1}(x >> 3)` : ""};\n}\n`;
  }
  await Deno.writeTextFile(`${dir}/gen.c`, c);
  await Deno.writeTextFile(
    `${dir}/work.py`,
    "import hashlib, json, random, re\n" +
      "random.seed(14)\n" +
      "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\n" +
      "words = open('words.txt').read().split()[:60000]\n" +
      "counts = {}\n" +
      "for w in words: counts[w] = counts.get(w, 0) + 1\n" +
      "json.dumps(sorted(counts.items()))\n" +
      "re.findall(r'(ka|ri)+to', ' '.join(words))\n" +
      "fib(22)\n" +
      "for i in range(300): hashlib.sha256(bytes(random.getrandbits(8) for _ in range(2000))).digest()\n",
  );
  await Deno.writeTextFile(
    `${dir}/work.sh`,
    'cd "$(dirname "$0")"\n' +
      "while [ ! -e stop ]; do gzip -6 -c words.txt >/dev/null; xz -3 -T1 -c words.txt >/dev/null;" +
      " LC_ALL=C sort -k2 words.txt >/dev/null; done &\n" +
      "while [ ! -e stop ]; do python3 work.py; gcc -O2 -c gen.c -o /dev/null; done &\n" +
      "wait\n",
  );
}

/** Record the workload until perf.data reaches `mb` MB; the file's path. */
async function record(mb: number): Promise<string> {
  const data = `${outDir}/real-${mb}mb.data`;
  if (await exists(data)) {
    console.log(`reusing ${data} (delete it to record again)`);
    return data;
  }
  await Deno.mkdir(outDir, { recursive: true });
  const work = await Deno.makeTempDir({ prefix: "callring-bench-real-" });
  try {
    await writeWorkload(work);
    const partial = `${data}.partial`;
    const t0 = performance.now();
    const perf = new Deno.Command("perf", {
      args: ["record", "-e", "cpu-clock", "-F", "15000", "-g", "-o", partial, "--"]
        .concat(["bash", `${work}/work.sh`]),
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(perf.stderr).text();
    let done = false;
    const status = perf.status.then((s) => {
      done = true;
      return s;
    });
    while (!done) {
      await new Promise((r) => setTimeout(r, 200));
      const size = await Deno.stat(partial).then((s) => s.size, () => 0);
      const late = performance.now() - t0 > 30 * 60_000;
      if (size >= mb * 1e6 || late) {
        await Deno.writeTextFile(`${work}/stop`, "");
        break;
      }
    }
    const s = await status;
    if (!s.success) throw new Error(`perf record failed (${s.code}): ${(await stderr).trim()}`);
    await Deno.rename(partial, data);
    console.log(
      `recorded ${data} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${
        (await stderr).trim().split("\n").filter((l) => l.startsWith("[")).join(" ")
      }`,
    );
    return data;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** One timed process (or pipeline): wall seconds and the peak RSS (kB) of its measured stages. */
interface Run {
  seconds: number;
  rssKb: number[];
}

const hasTime = await exists(TIME);

/**
 * Run a pipeline (stages joined by `|`, last stage's stdout to /dev/null,
 * stderr dropped) once; every stage's peak RSS from /usr/bin/time -v, or,
 * without it, by polling /proc/<pid>/status VmHWM of each stage.
 */
async function runOnce(stages: string[][], tmp: string): Promise<Run> {
  const files = stages.map((_, i) => `${tmp}/time${i}.txt`);
  if (hasTime) {
    const line = stages.map((st, i) => `${TIME} -v -o ${q(files[i]!)} ${st.map(q).join(" ")}`)
      .join(" | ") + " > /dev/null 2>/dev/null";
    const t0 = performance.now();
    const out = await new Deno.Command("bash", {
      args: ["-o", "pipefail", "-c", line],
      stdout: "null",
      stderr: "null",
      env: ENV,
    }).output();
    const seconds = (performance.now() - t0) / 1000;
    if (!out.success) throw new Error(`failed: ${stages.map((s) => s.join(" ")).join(" | ")}`);
    const rssKb = await Promise.all(
      files.map(async (f) => rssFromTimeV(await Deno.readTextFile(f)) ?? NaN),
    );
    return { seconds, rssKb };
  }
  // No GNU time: each stage's pid from the shell, VmHWM polled until it exits.
  const line = stages.map((st) => `${st.map(q).join(" ")}`).join(" | ") +
    " > /dev/null 2>/dev/null & wait";
  const t0 = performance.now();
  const child = new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", `set -m; ${line}`],
    stdout: "null",
    stderr: "null",
    env: ENV,
  }).spawn();
  const peak = new Map<number, number>();
  let done = false;
  const status = child.status.then((s) => (done = true, s));
  const names = stages.map((s) => s[0]!.split("/").pop()!.slice(0, 15));
  while (!done) {
    for (const e of Deno.readDirSync("/proc")) {
      const pid = Number(e.name);
      if (!pid) continue;
      try {
        const st = Deno.readTextFileSync(`/proc/${pid}/status`);
        if (Number(/^PPid:\s+(\d+)$/m.exec(st)?.[1]) !== child.pid) continue;
        const name = /^Name:\s+(.*)$/m.exec(st)?.[1] ?? "";
        const idx = names.indexOf(name);
        const kb = rssFromProcStatus(st);
        if (idx >= 0 && kb !== undefined) peak.set(idx, Math.max(peak.get(idx) ?? 0, kb));
      } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const s = await status;
  const seconds = (performance.now() - t0) / 1000;
  if (!s.success) throw new Error(`failed: ${stages.map((s) => s.join(" ")).join(" | ")}`);
  return { seconds, rssKb: stages.map((_, i) => peak.get(i) ?? NaN) };
}

/** stdout of a pipeline streamed into a digest (untimed). */
async function capture(stages: string[][]): Promise<{ digest: TextDigest }> {
  const line = stages.map((st) => st.map(q).join(" ")).join(" | ");
  const child = new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", line],
    stdout: "piped",
    stderr: "null",
    env: ENV,
  }).spawn();
  const digest = new TextDigest();
  for await (const chunk of child.stdout) digest.update(chunk);
  const s = await child.status;
  if (!s.success) throw new Error(`failed: ${line}`);
  return { digest };
}

/** stdout of a pipeline as text (untimed). */
async function captureText(stages: string[][]): Promise<string> {
  const line = stages.map((st) => st.map(q).join(" ")).join(" | ");
  const out = await new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", line],
    stdout: "piped",
    stderr: "null",
    env: ENV,
  }).output();
  if (!out.success) throw new Error(`failed: ${line}`);
  return new TextDecoder().decode(out.stdout);
}

interface Row {
  name: string;
  ours: string[][];
  perf: string[][];
  perfLabel: string;
  check: "bytes" | "report" | "none";
  /** Smallest ratio perf / callring that meets the goal (undefined: no goal). */
  goal?: number;
}

const deno = Deno.execPath();
const cli = (cmd: string) => [deno, "run", "-A", `${root}cli/${cmd}.ts`];

async function main(): Promise<number> {
  const path = values.input ?? await record(targetMb);
  const size = (await Deno.stat(path)).size;
  const stats = await forEachSampleInFile(path, () => {});
  console.log(
    `input: ${path} (${(size / 1e6).toFixed(1)} MB, ${stats.samples} samples); ` +
      `${runs} alternating runs per command, medians; load ${
        (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ")
      } on ${navigator.hardwareConcurrency} cores`,
  );
  const fg = Deno.env.get("FLAMEGRAPH_DIR");
  const collapse = fg ? `${fg.replace(/\/$/, "")}/stackcollapse-perf.pl` : undefined;
  const rows: Row[] = [
    {
      name: "script (to a pipe)",
      ours: [[...cli("script"), "-i", path], ["cat"]],
      perf: [["perf", "script", "-i", path], ["cat"]],
      perfLabel: "perf script",
      check: "bytes",
      goal: 4,
    },
    {
      name: "report --stdio",
      ours: [[...cli("report"), "--stdio", "-i", path]],
      perf: [["perf", "report", "--stdio", "-i", path]],
      perfLabel: "perf report --stdio",
      check: "report",
      goal: 5,
    },
    {
      name: "report --stdio --no-children --sort sym",
      ours: [[...cli("report"), "--stdio", "--no-children", "--sort", "sym", "-i", path]],
      perf: [["perf", "report", "--stdio", "--no-children", "--sort", "sym", "-i", path]],
      perfLabel: "same flags",
      check: "report",
      goal: 5,
    },
  ];
  if (collapse && await exists(collapse)) {
    rows.push({
      name: "report --folded",
      ours: [[...cli("report"), "--folded", "-i", path]],
      perf: [["perf", "script", "-i", path], ["perl", collapse]],
      perfLabel: "`perf script \\| stackcollapse-perf.pl`",
      check: "bytes",
      goal: 25,
    });
  } else console.log("report --folded: skipped (FLAMEGRAPH_DIR/stackcollapse-perf.pl not found)");
  const hotspot = !values["no-hotspot"] && await exists(HOTSPOT);
  if (!hotspot && !values["no-hotspot"]) {
    console.log("hotspot-perfparser: not installed (Debian package hotspot)");
  }

  // Same bytes first (untimed).
  const same = new Map<string, string>();
  for (const r of rows) {
    if (r.check === "bytes") {
      const [a, b] = [await capture(r.ours), await capture(r.perf)];
      same.set(r.name, String(a.digest) === String(b.digest) ? "same" : "DIFF");
      console.log(`check ${r.name}: callring ${a.digest}; perf ${b.digest} -> ${same.get(r.name)}`);
    } else if (r.check === "report") {
      const a = comparableReport(await captureText(r.ours));
      const b = comparableReport(await captureText(r.perf));
      const at = firstDifference(a, b);
      same.set(r.name, at === undefined ? "same" : "DIFF");
      console.log(
        `check ${r.name}: ${a.length} / ${b.length} lines -> ${
          at === undefined
            ? "same"
            : `DIFF from line ${at}: ${JSON.stringify(a[at - 1])} vs ${JSON.stringify(b[at - 1])}`
        }`,
      );
    }
  }

  const tmp = await Deno.makeTempDir({ prefix: "callring-bench-real-" });
  try {
    const results: { r: Row; ours: Run[]; perf: Run[] }[] = [];
    for (const r of rows) {
      const ours: Run[] = [], perf: Run[] = [];
      for (let i = 0; i < runs; i++) {
        // Alternate which tool goes first, so neither always runs on a warm page cache.
        if (i % 2 === 0) {
          ours.push(await runOnce(r.ours, tmp));
          perf.push(await runOnce(r.perf, tmp));
        } else {
          perf.push(await runOnce(r.perf, tmp));
          ours.push(await runOnce(r.ours, tmp));
        }
      }
      results.push({ r, ours, perf });
    }
    let hot: Run[] | undefined;
    if (hotspot) {
      hot = [];
      for (let i = 0; i < runs; i++) {
        hot.push(await runOnce([[HOTSPOT, "--input", path, "--output", "/dev/null"]], tmp));
      }
    }

    const mb = (kb: number) => (kb / 1024).toFixed(0);
    const secs = (xs: Run[]) => median(xs.map((x) => x.seconds));
    // A pipeline's stages run at once: its peak is the sum of theirs.
    const rss = (xs: Run[]) => Math.max(...xs.map((x) => x.rssKb.reduce((s, k) => s + k, 0)));
    // RSS of a pipe's reader (`cat`) is not the tool's; only --folded's perl stage counts.
    const toolRss = (r: Row, xs: Run[], side: "ours" | "perf") =>
      r.name.startsWith("script") || side === "ours"
        ? Math.max(...xs.map((x) => x.rssKb[0]!))
        : rss(xs);
    console.log(
      "\n| command | callring | perf | ratio perf/callring | peak RSS callring / perf MB | same | goal |",
    );
    console.log("|---|---|---|---|---|---|---|");
    for (const { r, ours, perf } of results) {
      const o = secs(ours), p = secs(perf);
      const ratio = p / o;
      const ro = toolRss(r, ours, "ours"), rp = toolRss(r, perf, "perf");
      const misses: string[] = [];
      if (r.goal !== undefined && ratio < r.goal) misses.push(`${ratio.toFixed(1)}x < ${r.goal}x`);
      if (ro > rp) misses.push("RSS above perf's");
      if (same.get(r.name) !== "same") misses.push("output differs");
      console.log(
        `| \`${r.name}\` | ${o.toFixed(2)} s | ${r.perfLabel} ${p.toFixed(2)} s | ${
          ratio.toFixed(2)
        }x | ${mb(ro)} / ${mb(rp)} | ${same.get(r.name) ?? "-"} | ${
          misses.length ? `NOT met (${misses.join("; ")})` : "goal met"
        } |`,
      );
    }
    if (hot) {
      const h = secs(hot);
      const base = results.find((x) => x.r.name === "report --stdio");
      const o = base ? secs(base.ours) : NaN;
      console.log(
        `| \`hotspot-perfparser --output /dev/null\` (no text) | report --stdio ${
          o.toFixed(2)
        } s | hotspot-perfparser ${h.toFixed(2)} s | ${(h / o).toFixed(2)}x | ${
          base ? mb(toolRss(base.r, base.ours, "ours")) : "-"
        } / ${mb(rss(hot))} | - | no goal |`,
      );
    }
    console.log(
      `\nall times: ${
        results.map(({ r, ours, perf }) =>
          `${r.name}: callring ${ours.map((x) => x.seconds.toFixed(2)).join(" ")}, perf ${
            perf.map((x) => x.seconds.toFixed(2)).join(" ")
          }`
        ).join("; ")
      }${hot ? `; hotspot ${hot.map((x) => x.seconds.toFixed(2)).join(" ")}` : ""}`,
    );
    return 0;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

Deno.exit(await main());
