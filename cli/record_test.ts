import assert from "node:assert/strict";
import { perfAvailable, runPerf } from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";
import { loadProfile } from "../lib/analyze/load.ts";
import { flameLayout } from "../lib/output/flame_layout.ts";

const HAVE_PERF = await perfAvailable();

Deno.test("record --help exits 0 and names every option of the issue", async () => {
  const r = await runCli("record", ["--help"]);
  assert.equal(r.code, 0);
  for (
    const o of [
      "--cpus",
      "--duration",
      "--frequency",
      "--strategy",
      "--seed",
      "--fragments",
      "--sync-distance",
      "--overwrite",
      "--output",
      "--format",
      "--compare",
      "--sync-arch",
      "--sync-entry-ns",
      "--sync-populated",
      "--module-load-ms",
    ]
  ) assert.match(r.stdout, new RegExp(o), o);
  // the walk's per-entry cost is labelled as an assumption where it is offered
  assert.match(r.stdout.replace(/\s+/g, " "), /--sync-entry-ns <ns> .*ASSUMED default 15/);
});

Deno.test("record usage errors exit 2 with one line", async () => {
  for (
    const args of [
      ["--strategy", "nope"],
      ["--format", "json"],
      ["--cpus", "0"],
      ["--mmap-pages", "3"],
      ["--sync-distance", "100"],
      ["--sync-arch", "arm64"],
      ["--bogus"],
    ]
  ) {
    const r = await runCli("record", args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /error/, args.join(" "));
  }
});

Deno.test("record --compare prints one row and one verdict per strategy", async () => {
  const r = await runCli("record", ["--compare", "--seed", "1", "--duration", "100"]);
  assert.equal(r.code, 0, r.stderr);
  const checker: Record<string, RegExp> = {
    "naive-iret": /checker \[pf\]: violates ist-frame-live, cr2-preserved, no-early-unmask$/,
    "popf-ret": /checker \[pf\]: violates cr2-preserved$/,
    "linus-v1": /checker \[pf\]: violates ist-frame-live, cr2-preserved$/,
    "linus-v2-posted": /checker \[pf\]: violates ist-frame-live, cr2-preserved, no-early-unmask$/,
    "rip-at-iret": /checker \[pf\]: violates ist-frame-live, nmi-latch, cr2-preserved/,
    "linus-v2": /checker \[pf\]: holds$/,
    "rip-range": /checker \[pf\]: violates ist-frame-live$/,
    "rip-range-fixed": /checker \[pf\]: holds$/,
    "avi-two-stacks": /checker \[pf\]: violates .*handler-not-nested$/,
    // over a system call (SS = __KERNEL_DS) Linus' SS double-check misses nesting
    "rsp-range": /checker \[pf\]: violates ist-frame-live, nmi-latch$/,
    "vmalloc-sync-all": /checker \[pf\]: holds$/,
    "kmalloc": /checker \[pf\]: holds$/,
    "nmi-no-traps": /checker \[pf\]: holds$/,
    "mainline": /checker \[pf\]: holds$/,
  };
  for (const [s, verdict] of Object.entries(checker)) {
    const rows = r.stdout.split("\n").filter((l) => l.startsWith(s + " "));
    assert.equal(rows.length, 2, s);
    assert.match(rows[1], verdict, s);
  }
  assert.match(r.stdout, /^naive-iret +UNSAFE: \d+ IST frame overwrites/m);
  assert.match(r.stdout, /^rsp-range +UNSAFE: .*\d+ NMIs lost beyond the latch/m);
  assert.match(r.stdout, /the task in kernel, syscall, user context/);
  for (const s of ["linus-v2", "rip-range-fixed", "mainline", "vmalloc-sync-all", "kmalloc"]) {
    assert.match(r.stdout, new RegExp(`^${s} +safe:`, "m"), s);
  }
  assert.match(
    r.stdout,
    /^vmalloc-sync-all +safe: never faults in the NMI; pays .* eager sync walks \(pgd entries x mms x an assumed ns per entry/m,
  );
  assert.match(r.stdout, /^kmalloc +safe: never faults in the NMI/m);
});

Deno.test("record --compare --int3: no-traps strategies WARN and break, mainline holds", async () => {
  const r = await runCli("record", ["--compare", "--duration", "50", "--int3", "0.02"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^nmi-no-traps +UNSAFE: .*\d+ WARNs \(int3 \d+/m);
  assert.match(r.stdout, /^kmalloc +UNSAFE: .*checker \[pf\+int3\]: violates ist-frame-live/m);
  assert.match(r.stdout, /^mainline +safe: .*checker \[pf\+int3\]: holds$/m);
});

Deno.test("record writes a capture that report and script read, with the accounting shown", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli(
      "record",
      ["--duration", "40", "--fragments", "--deep-stacks", "0.02"],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Captured and wrote [\d.]+ MB callring\.data \((\d+) samples\)/);
    assert.match(r.stderr, /read back: (\d+) samples, \d+ equal their ground truth/);
    const cpuLines = r.stderr.split("\n").filter((l) => /^ +\d+ +\d+ +\d+/.test(l));
    assert.equal(cpuLines.length, 4);
    for (const l of cpuLines) assert.match(l, /written = read \+ lost$/);
    const samples = Number(/\((\d+) samples\)/.exec(r.stderr)![1]);

    const rep = await runCli("report", ["--stdio", "--no-children", "--sort", "sym"], dir);
    assert.equal(rep.code, 0, rep.stderr);
    assert.match(rep.stdout, new RegExp(`# callring: samples read: ${samples}, kept: ${samples}`));
    assert.match(rep.stdout, /\[k\] do_syscall_64|\[k\] entry_SYSCALL_64/);
    assert.doesNotMatch(rep.stdout, /\[unknown\]/);

    const scr = await runCli("script", ["-i", "callring.data"], dir);
    assert.equal(scr.code, 0, scr.stderr);
    assert.equal(scr.stdout.split("\n").filter((l) => / cpu-clock:/.test(l)).length, samples);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "record --format perf: perf script and perf report read it without warnings",
  ignore: !HAVE_PERF,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const r = await runCli(
        "record",
        [
          "--format",
          "perf",
          "-o",
          "sim.data",
          "--duration",
          "40",
          "--fragments",
          "--deep-stacks",
          "0.02",
        ],
        dir,
      );
      assert.equal(r.code, 0, r.stderr);
      const samples = Number(/\((\d+) samples\)/.exec(r.stderr)![1]);
      assert.match(r.stderr, /[1-9]\d* fragmented samples reassembled/);
      const script = await runPerf(["script", "-i", "sim.data"], dir);
      assert.equal(script.code, 0);
      assert.equal(script.stderr, "");
      assert.equal(script.stdout.split("\n").filter((l) => / cpu-clock: /.test(l)).length, samples);
      const report = await runPerf(["report", "-i", "sim.data", "--stdio"], dir);
      assert.equal(report.code, 0);
      assert.equal(report.stderr, "");
      assert.match(
        report.stdout,
        new RegExp(`# Samples: ${Math.floor(samples / 1000)}K of event 'cpu-clock'`),
      );
      // with the kallsyms file written beside it, perf names the simulated kernel
      const named = await runPerf(
        ["report", "-i", "sim.data", "--kallsyms", "sim.data.kallsyms", "--stdio", "--sort", "sym"],
        dir,
      );
      assert.equal(named.stderr, "");
      assert.match(named.stdout, /\[k\] (do_syscall_64|entry_SYSCALL_64|vfs_read)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("demo runs on built-in defaults and writes its flamegraph and speedscope files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli("demo", ["--lines", "20", "--out", "out"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /== 1\. Every NMI strategy/);
    assert.match(r.stdout, /read back: 10000 samples/);
    assert.match(r.stdout, /# Samples: 10K of event 'cpu-clock'/);
    const html = await Deno.readTextFile(`${dir}/out/flamegraph.html`);
    assert.match(html, /<html/i);
    // a handful of program roots with recognisable stacks, not hundreds of random processes
    const { profile } = await loadProfile(`${dir}/out/callring.data`);
    const roots = flameLayout(profile).rects.filter((x) => x.depth === 0).map((x) => x.name);
    assert.deepEqual(roots.sort(), ["httpd", "postgres", "xz"]);
    for (const sym of ["event_loop", "lzma_code", "ExecProcNode", "entry_SYSCALL_64"]) {
      assert.ok(html.includes(`"${sym}"`), sym);
    }
    assert.ok(html.length < 2_000_000, `flamegraph ${html.length} bytes`);
    // one table for one seed: the demo prints exactly what record --compare --seed 1 prints
    const compare = await runCli("record", ["--compare", "--seed", "1"]);
    assert.equal(compare.code, 0, compare.stderr);
    assert.ok(r.stdout.includes(compare.stdout.trimEnd()), "demo table = record --compare table");
    const json = JSON.parse(await Deno.readTextFile(`${dir}/out/speedscope.json`));
    assert.equal(json.$schema, "https://www.speedscope.app/file-format-schema.json");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record --truth writes one ground-truth line per PMU overflow", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli("record", ["--duration", "10", "--truth", "truth.ndjson"], dir);
    assert.equal(r.code, 0, r.stderr);
    const overflows = Number(/overflows (\d+), delivered (\d+)/.exec(r.stderr)![1]);
    const delivered = Number(/overflows (\d+), delivered (\d+)/.exec(r.stderr)![2]);
    const lines = (await Deno.readTextFile(`${dir}/truth.ndjson`)).trim().split("\n");
    assert.equal(lines.length, overflows);
    const parsed = lines.map((l) => JSON.parse(l));
    assert.equal(parsed.filter((t) => t.delivered).length, delivered);
    for (const t of parsed) {
      assert.ok(t.stack.length >= 2 && t.stack.includes("fffffffffffffe00"), "user marker");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
