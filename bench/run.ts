/**
 * `deno task bench`: every benchmark in one run. Micro benchmarks
 * (`*_bench.ts`, via `deno bench`) first, then the side-by-side comparisons
 * against real perf and the large-file scenarios. Each script prints its own
 * table and ratios; this runner prints a final summary of what ran.
 *
 *     deno task bench [--quick] [--large] [--only NAME]
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    large: { type: "boolean", default: false },
    only: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    `Usage: deno task bench [--quick] [--large] [--only micro|ring|decode|report|real|seek|sim|flame|nmi|live]

Runs the micro benchmarks (deno bench) and the comparison scripts in bench/:
  ring    ring writer ns/record vs LTTng/ftrace/perf, reader GB/s, fragment overhead
  decode  perf.data decode and perf-script text next to perf script / perf report (ratios)
  report  cli/report.ts (--stdio, --no-children, --folded, ...) next to perf report: time, max RSS
  real    a real ~100 MB recording (perf record of gzip, xz, sort, python3, gcc; cached in out/bench):
          script, report, --folded, hotspot-perfparser next to perf, medians, RSS, goals met or not
  seek    >= 1 GB capture, seek to a time by sync points (bytes read)
  sim     simulated samples per second end to end, ring bytes per sample
  flame   HTML flamegraph at 10k / 1M samples: build time, size, chromium open time
  nmi     model checker: states explored and time per strategy at depth 3
  live    record --live next to perf record -p: samples/s, recorder CPU, bytes/sample, lost
--quick uses smaller inputs (for a smoke run); --large records ~1 GB for "real".`,
  );
  Deno.exit(0);
}

interface Step {
  name: string;
  cmd: string[];
}

const here = new URL(".", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;
const quick = values.quick ? ["--quick"] : [];
const large = values.large ? ["--large"] : [];

const steps: Step[] = [
  { name: "micro", cmd: ["bench", "-A", "--no-check"] },
  { name: "ring", cmd: ["run", "-A", `${here}ring.ts`, ...quick] },
  { name: "decode", cmd: ["run", "-A", `${here}decode.ts`, ...quick] },
  { name: "report", cmd: ["run", "-A", `${here}report.ts`, ...quick] },
  { name: "real", cmd: ["run", "-A", `${here}real.ts`, ...quick, ...large] },
  { name: "seek", cmd: ["run", "-A", `${here}seek.ts`, ...quick] },
  { name: "sim", cmd: ["run", "-A", `${here}sim.ts`, ...quick] },
  { name: "flame", cmd: ["run", "-A", `${here}flamegraph.ts`, ...quick] },
  { name: "nmi", cmd: ["run", "-A", `${root}cli/nmi_check.ts`, "--depth", "3"] },
  { name: "live", cmd: ["run", "-A", `${here}live.ts`, ...quick] },
];

if (values.only && !steps.some((s) => s.name === values.only)) {
  console.error(
    `bench: --only must be one of ${steps.map((s) => s.name).join(", ")}: current "${values.only}"`,
  );
  Deno.exit(2);
}

const results: { name: string; code: number; seconds: number }[] = [];
for (const step of steps) {
  if (values.only && values.only !== step.name) continue;
  const script = step.cmd.find((a) => a.endsWith(".ts"));
  if (script) {
    try {
      await Deno.stat(script);
    } catch {
      console.log(`\n== ${step.name}: skipped (${script.slice(root.length)} not present)`);
      continue;
    }
  }
  console.log(
    `\n== ${step.name}: deno ${
      step.cmd.map((a) => a.startsWith(root) ? a.slice(root.length) : a).join(" ")
    }`,
  );
  const t0 = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: step.cmd,
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  results.push({ name: step.name, code, seconds: (performance.now() - t0) / 1000 });
}

console.log("\n== summary");
for (const r of results) {
  console.log(
    `${r.name.padEnd(8)} ${r.code === 0 ? "ok    " : `FAILED (${r.code})`} ${
      r.seconds.toFixed(1)
    } s`,
  );
}
Deno.exit(results.some((r) => r.code !== 0) ? 1 : 0);
