import assert from "node:assert/strict";
import {
  buildBurn,
  corpusFile,
  downgradedCopy,
  fixture,
  fixtureEnv,
  haveGcc,
  perfAvailable,
  perfCanRecord,
  perfFixtureArgs,
  perfReportPart,
  runPerf,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";
import { type CliRun, runCli } from "../lib/testing/cli_run.ts";
import { samplesFromScript } from "../lib/output/_script_text_test_helper.ts";
import { foldedStacks } from "../lib/output/folded.ts";
import { ProfileBuilder } from "../lib/analyze/profile.ts";

const PERF_RUNS = await perfAvailable();

/**
 * Run `cli/report.ts`; on a committed fixture only with the fixtures' own
 * symbols (testdata/symbols: `--symfs`, `--kallsyms`, `HOME`), as for perf.
 */
function report(args: string[], cwd?: string): Promise<CliRun> {
  const onFixture = args.some((a) => a.startsWith(fixture("")) && a.endsWith(".data"));
  if (!onFixture) return runCli("report", args, cwd);
  return runCli("report", [...args, ...perfFixtureArgs()], cwd, fixtureEnv());
}

Deno.test("report --help exits 0 and lists the options", async () => {
  const r = await report(["--help"]);
  assert.equal(r.code, 0);
  for (const opt of ["--children", "--folded", "--flamegraph", "--diff", "--time", "--context"]) {
    assert.ok(r.stdout.includes(opt), opt);
  }
});

Deno.test("report usage errors exit 2", async () => {
  for (
    const args of [
      ["--bogus"],
      ["-i", fixture("fp.data"), "--sort", "nope"],
      ["-i", fixture("fp.data"), "--cpu", "x"],
      ["-i", fixture("fp.data"), "--context", "irq"],
      ["-i", fixture("fp.data"), "-g", "sideways"],
      ["-i", fixture("fp.data"), "--flamegraph", "out.png"],
      ["-i", fixture("fp.data"), "--event", "cycles"],
    ]
  ) {
    const r = await report(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
  }
});

Deno.test("report on a missing file prints one error line and exits 1", async () => {
  const r = await report(["-i", "/nonexistent/perf.data"]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^callring report: error: .*nonexistent/);
});

Deno.test("report defaults to callring.data when perf.data is absent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/callring.data`, "not a capture at all");
    const r = await report([], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /callring\.data/);
    await Deno.copyFile(fixture("fp.data"), `${dir}/perf.data`);
    const ok = await report(["--no-children", "--sort", "sym"], dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Samples: 470 /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const name of ["fp", "sys", "nocpu", "pipe", "dwarf"]) {
  for (const kind of ["self", "children"] as const) {
    Deno.test(`report --stdio --${kind === "self" ? "no-" : ""}children --sort sym equals perf (${name})`, async () => {
      const flag = kind === "self" ? "--no-children" : "--children";
      const r = await report(["-i", fixture(`${name}.data`), "--stdio", flag, "--sort", "sym"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^# callring: samples read: \d+, kept: \d+, truncated stacks: 0\n/);
      const expected = await Deno.readTextFile(fixture(`${name}.report-${kind}.txt`));
      // Line by line: entries of equal overhead in perf's order too.
      assert.equal(perfReportPart(r.stdout), perfReportPart(expected));
    });
  }
}

Deno.test("report -n adds perf's Samples column; --count-samples weights by count", async () => {
  const r = await report(["-i", fixture("fp.data"), "-n", "--no-children", "--sort", "sym"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = perfReportPart(r.stdout).split("\n");
  assert.equal(lines[6], "# Event count (approx.): 235000000"); // still the period
  assert.equal(lines[8], "# Overhead       Samples  Symbol                ");
  assert.equal(lines[9], "# ........  ............  ......................");
  assert.equal(lines[11], "    99.79%           469  [.] leaf");
  const counted = await report([
    "-i",
    fixture("fp.data"),
    "--count-samples",
    "--no-children",
    "--sort",
    "sym",
    "-g",
    "none",
  ]);
  assert.equal(counted.code, 0, counted.stderr);
  assert.match(counted.stdout, /# Event count \(approx\.\): 470\n/);
  assert.match(counted.stdout, /\n# Overhead {2}Symbol/);
});

Deno.test({
  name: "report -n equals perf report -n on the fixtures (live perf)",
  ignore: !PERF_RUNS,
}, async () => {
  const cases = ["fp", "sys", "nocpu", "pipe", "dwarf"].flatMap((name) => [
    ["-i", fixture(`${name}.data`), "--stdio", "-n", "--children"],
    ["-i", fixture(`${name}.data`), "--stdio", "-n", "--no-children", "--sort", "sym"],
  ]);
  const mismatches = await Promise.all(cases.map(async (args) => {
    const [perf, ours] = await Promise.all([runPerfFixture(["report", ...args]), report(args)]);
    assert.equal(perf.code, 0, perf.stderr);
    assert.equal(ours.code, 0, ours.stderr);
    return perfReportPart(ours.stdout) === perfReportPart(perf.stdout) ? [] : [args.join(" ")];
  }));
  assert.deepEqual(mismatches.flat(), []);
});

Deno.test("report --folded equals folded stacks of the perf script text", async () => {
  const b = new ProfileBuilder();
  for (const s of samplesFromScript(await Deno.readTextFile(fixture("sys.script-sym.txt")))) {
    b.add(s);
  }
  const r = await report(["-i", fixture("sys.data"), "--folded"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, foldedStacks(b.build()));
  assert.match(r.stderr, /# callring: samples read: 97/);
});

Deno.test("report --comm and --cpu filter the report", async () => {
  const all = await report(["-i", fixture("fp.data"), "--folded", "--count-samples", "-q"]);
  const worker = await report([
    "-i",
    fixture("fp.data"),
    "--folded",
    "--count-samples",
    "-q",
    "--comm",
    "burn worker 1",
  ]);
  const count = (t: string) =>
    t.trim().split("\n").reduce((a, l) => a + Number(l.split(" ").pop()), 0);
  assert.equal(count(all.stdout), 470);
  const w = count(worker.stdout);
  assert.ok(w > 0 && w < 470, String(w));
  assert.ok(worker.stdout.split("\n").filter(Boolean).every((l) => l.startsWith("burn_worker;")));
});

Deno.test("report on a truncated fp.data warns and still prints a report", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = await Deno.readFile(fixture("fp.data"));
    await Deno.writeFile(`${dir}/cut.data`, bytes.subarray(0, 40000));
    // A copy of a fixture: symbolized from the fixtures' own symbols too.
    const r = await runCli(
      "report",
      ["-i", `${dir}/cut.data`, "--no-children", "--sort", "sym", ...perfFixtureArgs()],
      undefined,
      fixtureEnv(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: .*truncated/);
    assert.match(r.stdout, /1 damaged ranges/);
    assert.match(r.stdout, /\[\.\] leaf/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report writes flamegraphs and speedscope files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await report([
      "-i",
      fixture("fp.data"),
      "--flamegraph",
      `${dir}/f.svg`,
      "--speedscope",
      `${dir}/s.json`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const svg = await Deno.readTextFile(`${dir}/f.svg`);
    assert.match(svg, /^<\?xml|^<svg/);
    assert.ok(svg.includes("work_a"));
    const json = JSON.parse(await Deno.readTextFile(`${dir}/s.json`));
    assert.ok(Array.isArray(json.profiles) && json.profiles.length > 0);
    const html = await report([
      "-i",
      fixture("fp.data"),
      "--flamegraph",
      `${dir}/f.html`,
      "--stdio",
    ]);
    assert.equal(html.code, 0, html.stderr);
    assert.match(html.stdout, /# Samples: 470 /);
    assert.match(await Deno.readTextFile(`${dir}/f.html`), /<html/i);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report --diff prints perf diff's table and difffolded lines", async () => {
  const table = await report(["-i", fixture("fp.data"), "--diff", fixture("sys.data")]);
  assert.equal(table.code, 0, table.stderr);
  const diff = await runCli(
    "diff",
    [...perfFixtureArgs(), fixture("fp.data"), fixture("sys.data")],
    undefined,
    fixtureEnv(),
  );
  assert.equal(table.stdout, diff.stdout);
  assert.match(table.stdout, /^# Event 'cpu-clock'\n#\n# Baseline {2}Delta Abs {2}Shared Object/);
  const folded = await report([
    "-i",
    fixture("fp.data"),
    "--diff",
    fixture("sys.data"),
    "--folded",
  ]);
  assert.equal(folded.code, 0, folded.stderr);
  const lines = folded.stdout.trim().split("\n");
  assert.ok(lines.every((l) => /^\S.* \d+ \d+$/.test(l)), lines[0]);
  const sum = (col: number) => lines.reduce((a, l) => a + Number(l.split(" ").at(col)), 0);
  assert.equal(sum(-2), 235000000); // fp.data event count
  assert.ok(sum(-1) > 0);
});

Deno.test("report on pipe-mode data prints no Children column, like perf", async () => {
  const r = await report(["-i", fixture("pipe.data"), "--sort", "sym"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /# Overhead {2}Symbol/);
  assert.ok(!r.stdout.includes("# Children"));
});

Deno.test({
  name: "report equals live perf report where user frames have a map but no symbol (stripped)",
  ignore: !(await perfCanRecord()) || !haveGcc(),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // a stripped burn: its frames resolve to a map but no symbol, which perf keys by the
      // absolute address in callchains and by the map-relative one in the sample's own entry
      // (a build id of its own, so no build-id cache holds its symbols)
      const id = crypto.randomUUID().replaceAll("-", "");
      const cc = await new Deno.Command("gcc", {
        args: ["-O1", "-fno-omit-frame-pointer", "-pthread", `-Wl,--build-id=0x${id}`, "-s"]
          .concat(["-o", `${dir}/stripped`, fixture("src/burn.c")]),
      }).output();
      assert.equal(cc.code, 0);
      const data = `${dir}/stripped.data`;
      const rec = await runPerf(
        ["record", "-q", "-e", "cpu-clock", "-g", "-o", data, "--", `${dir}/stripped`, "300"],
        dir,
      );
      assert.equal(rec.code, 0, rec.stderr);
      // the report body: perf's header, tip and our "# callring:" lines are all '#' lines
      const body = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#"));
      for (
        const args of [
          ["--children", "--sort", "sym"],
          ["--children", "--sort", "comm,dso,sym"],
          ["--no-children", "--sort", "sym"],
          ["--no-children", "--sort", "comm,dso,sym"],
        ]
      ) {
        const perf = await runPerf(["report", "-i", data, "--stdio", ...args]);
        assert.equal(perf.code, 0, perf.stderr);
        assert.match(perf.stdout, /\[\.\] 0x0000/, "the recording has unresolved user frames");
        const ours = await report(["-i", data, "--stdio", ...args]);
        assert.equal(ours.code, 0, ours.stderr);
        assert.deepEqual(body(ours.stdout), body(perf.stdout), args.join(" "));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a file of two events: one report section per event, as live perf report prints them",
  ignore: !(await perfCanRecord()),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const burn = await buildBurn(dir);
      const data = `${dir}/two.data`;
      // user-only, so the comparison does not depend on this machine's kernel symbols
      const rec = await runPerf(
        [
          "record",
          "-q",
          "-N",
          "-e",
          "cpu-clock:u,task-clock:u",
          "-g",
          "-o",
          data,
          "--",
          burn,
          "150",
        ],
        dir,
      );
      assert.equal(rec.code, 0, rec.stderr);
      for (
        const args of [
          ["--no-children", "--sort", "sym"],
          ["--children"],
          ["--no-children", "-q"],
        ]
      ) {
        const perf = await runPerf(["report", "-i", data, "--stdio", ...args]);
        assert.equal(perf.code, 0, perf.stderr);
        const sections = perf.stdout.match(/^# Samples: .* of event /gm)?.length ?? 0;
        if (!args.includes("-q")) assert.equal(sections, 2);
        const ours = await report(["-i", data, "--stdio", ...args]);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(perfReportPart(ours.stdout), perfReportPart(perf.stdout), args.join(" "));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "an event group {a,b}: perf's group view (one column per member), as live perf report",
  ignore: !(await perfCanRecord()),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const burn = await buildBurn(dir);
      // plain groups, and leader sampling (:S, PERF_SAMPLE_READ: one delivery per read value)
      for (
        const [events, cg] of [
          ["{cpu-clock:u,task-clock:u}", []],
          ["{cpu-clock:u,task-clock:u}", ["-g"]],
          ["{cpu-clock:u,task-clock:u}:S", ["-g"]],
        ] as const
      ) {
        const data = `${dir}/group${cg.length}${events.length}.data`;
        const rec = await runPerf(
          ["record", "-q", "-N", "-e", events, ...cg, "-o", data, "--", burn, "150"],
          dir,
        );
        assert.equal(rec.code, 0, rec.stderr);
        for (const args of [["--no-children", "--sort", "sym"], ["--children"], ["-q"]]) {
          const perf = await runPerf(["report", "-i", data, "--stdio", ...args]);
          assert.equal(perf.code, 0, perf.stderr);
          if (!args.includes("-q")) {
            assert.match(perf.stdout, /of events 'anon group \{ cpu-clock:u, task-clock:u \}'/);
          }
          const ours = await report(["-i", data, "--stdio", ...args]);
          assert.equal(ours.code, 0, ours.stderr);
          assert.equal(
            perfReportPart(ours.stdout),
            perfReportPart(perf.stdout),
            [events, ...cg, ...args].join(" "),
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const BRANCH_FILES = ["quipper__perf.data.branch-4.14", "quipper__perf.data.branch_stack_spec"]
  .map(corpusFile)
  .filter((f): f is string => f !== undefined);

Deno.test({
  name: "branch stacks: perf's branch view, and with --sort one entry per branch target, as perf",
  ignore: !PERF_RUNS || BRANCH_FILES.length === 0,
  async fn() {
    // a private HOME: no build-id cache of this machine's
    const home = await Deno.makeTempDir();
    try {
      for (const file of BRANCH_FILES) {
        for (
          const args of [["--sort", "sym"], ["--sort", "dso,sym"], [
            "--no-branch-stack",
            "-s",
            "sym",
          ]]
        ) {
          const argv = ["-i", file, "--stdio", "--no-children", ...args];
          const perf = await runPerf(["report", ...argv], undefined, { HOME: home });
          assert.equal(perf.code, 0, perf.stderr);
          const ours = await runCli("report", argv, undefined, { HOME: home });
          assert.equal(ours.code, 0, ours.stderr);
          assert.equal(
            perfReportPart(ours.stdout),
            perfReportPart(perf.stdout),
            `${file} ${args.join(" ")}`,
          );
        }
        // no --sort: perf's branch view (comm, dso_from, symbol_from, symbol_to, cycles)
        const argv = ["-i", file, "--stdio"];
        const perf = await runPerf(["report", ...argv], undefined, { HOME: home });
        const ours = await runCli("report", argv, undefined, { HOME: home });
        assert.equal(ours.code, 0, ours.stderr);
        assert.match(ours.stdout, /Source Shared Object/);
        assert.equal(perfReportPart(ours.stdout), perfReportPart(perf.stdout), file);
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name: "a recording without samples: perf's preamble alone, stdout as live perf report",
  ignore: !(await perfCanRecord()),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const data = `${dir}/empty.data`;
      // a period no run of `true` reaches: the file has side band and no sample
      const rec = await runPerf(
        ["record", "-q", "-e", "cpu-clock", "-c", "100000000000", "-o", data, "--", "true"],
        dir,
      );
      assert.equal(rec.code, 0, rec.stderr);
      for (const args of [[], ["--no-children", "--sort", "sym"], ["-q"]]) {
        const perf = await runPerf(["report", "-i", data, "--stdio", ...args]);
        assert.equal(perf.code, 0, perf.stderr);
        assert.match(perf.stderr, /data has no samples!/);
        const ours = await report(["-i", data, "--stdio", ...args]);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(ours.stdout, perf.stdout, args.join(" "));
        if (!args.includes("-q")) assert.match(ours.stderr, /data has no samples!/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a version-1 perf.data (PERFFILE magic) is read as perf reads it (corpus, live perf)",
  ignore: !PERF_RUNS || corpusFile("hotspot__perf.data.true.v1") === undefined,
  async fn() {
    const file = corpusFile("hotspot__perf.data.true.v1")!;
    for (const cmd of ["script", "report"] as const) {
      const args = cmd === "report" ? ["--stdio", "--no-children", "--sort", "sym"] : [];
      const perf = await runPerf([cmd, "-i", file, ...args]);
      assert.equal(perf.code, 0, perf.stderr);
      const ours = await runCli(cmd, ["-i", file, ...args, "--kallsyms", "/dev/null"]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, cmd);
    }
    // its side band is all there: 80 MMAP, 2 COMM, 2 EXIT records, as perf report -D counts
    const events = await runCli("script", ["-i", file, "--show-task-events", "--show-mmap-events"]);
    assert.equal(events.stdout.match(/PERF_RECORD_MMAP/g)?.length, 80);
    assert.equal(events.stdout.match(/PERF_RECORD_COMM/g)?.length, 2);
    assert.equal(events.stdout.match(/PERF_RECORD_EXIT/g)?.length, 2);
  },
});

Deno.test({
  name:
    "DWARF samples of a process perf has no unwinder for get no user frames in report either (corpus)",
  ignore: !PERF_RUNS || corpusFile("perfparser__vector_static_clang_perf.data") === undefined,
  async fn() {
    // The recorded binary is not on this machine: perf registers no unwinder for the process
    // (unwind__prepare_access), so its kernel samples' chains end in the kernel and user
    // samples have none; script and report apply the same rule.
    const file = corpusFile("perfparser__vector_static_clang_perf.data")!;
    const home = await Deno.makeTempDir();
    try {
      // (not yet equal: --children and sort keys beside sym, where a sample without a
      // callchain still gets its sampled ip as a one-frame chain here)
      for (
        const args of [["--no-children", "--sort", "sym"], [
          "--no-children",
          "-s",
          "sym",
          "-g",
          "caller",
        ]]
      ) {
        const perf = await runPerf(["report", "-i", file, "--stdio", ...args], undefined, {
          HOME: home,
        });
        assert.equal(perf.code, 0, perf.stderr);
        const ours = await runCli("report", ["-i", file, "--stdio", ...args], undefined, {
          HOME: home,
        });
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(perfReportPart(ours.stdout), perfReportPart(perf.stdout), args.join(" "));
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "unmapped callchain nodes, kernel-module entries: report equals perf on a 3.8 file (corpus)",
  ignore: !PERF_RUNS || corpusFile("quipper__perf.data.callgraph-3.8") === undefined,
  async fn() {
    // --children: an unmapped node's entry takes the level of the last mapped node before it in
    // cursor order (caller-first here, so `[k]` above a user frame); module entries are
    // module-relative for every sample and their dso is `[mac80211]`
    const file = corpusFile("quipper__perf.data.callgraph-3.8")!;
    const home = await Deno.makeTempDir();
    try {
      for (
        const args of [
          ["--children"],
          ["--children", "-g", "callee"],
          ["--no-children", "--sort", "dso,sym"],
        ]
      ) {
        const perf = await runPerf(["report", "-i", file, "--stdio", ...args], undefined, {
          HOME: home,
        });
        assert.equal(perf.code, 0, perf.stderr);
        const ours = await runCli("report", ["-i", file, "--stdio", ...args], undefined, {
          HOME: home,
        });
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(perfReportPart(ours.stdout), perfReportPart(perf.stdout), args.join(" "));
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "default report equals perf on foreign files: column widths, JIT names, branch view (corpus)",
  ignore: !PERF_RUNS || corpusFile("quipper__perf.data.busy.1-3.8") === undefined,
  async fn() {
    // unresolved entries widen Shared Object to 16; /tmp/perf-PID.map is `[JIT] tid PID`;
    // thread names as perf holds them at output time
    const home = await Deno.makeTempDir();
    try {
      for (
        const name of [
          "lnt__segments-dyn.perf_data",
          "perfparser__fork_static_gcc_perf.data.zstd",
          "quipper__perf.data.busy.1-3.8",
          "quipper__perf.data.piped.target-3.8",
          // a sample before its thread's first COMM: perf shows the comm that overrode `:tid`
          "lnt__fib-aarch64.perf_data",
          // the Command column is as wide as the threads' comms now (a comm that changed)
          "quipper__perf.data.hybrid_topology",
          // samples whose callchain has no entry: their own entry, no chain, no cumulation
          "hotspot__perf.data.true.v2",
          "perfparser__vector_static_clang_perf.data",
          // a vmlinux in the build-id table: the kernel's short name is [kernel.vmlinux]
          "hotspot__perf.data.PerfFormatLost",
          // kernel samples in a data symbol (kallsyms D): `__start_rodata+0x80314`
          "lpd__sleep.compressed.pipe.data",
          // branch stacks: perf's branch view (comm, dso_from, symbol_from, symbol_to, cycles),
          // `[H]` ends without a map, cycles as a signed short, a comm cut to its thread's
          "quipper__perf.data.branch-4.14",
          "quipper__perf.data.branch_stack_hw_index",
          "quipper__perf.data.branch_stack_spec",
          "quipper__perf.data.callgraph_and_branch-3.8",
          // a uprobe alone: perf's trace view; its one sample's text cut to the header's width
          "perfparser__probe.data.file",
        ]
      ) {
        const file = corpusFile(name);
        if (file === undefined) continue;
        let perf = await runPerf(["report", "-i", file, "--stdio"], undefined, { HOME: home });
        if (perf.code !== 0 && /incompatible|unsupported ABI/.test(perf.stderr)) {
          // perf 6.1 cannot read attr size 136 (perf >= 6.3): the corpus's downgraded copy
          const copy = await downgradedCopy(file, `${home}/downgraded.data`);
          perf = await runPerf(["report", "-i", copy, "--stdio"], undefined, { HOME: home });
        }
        assert.equal(perf.code, 0, perf.stderr);
        const ours = await runCli("report", ["-i", file, "--stdio"], undefined, { HOME: home });
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(perfReportPart(ours.stdout), perfReportPart(perf.stdout), name);
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a recording of tracepoints only: perf's trace view (file mode, with call graphs too), the sample view in pipe mode; --sort trace (live)",
  ignore: !(await perfCanRecord()),
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const burn = await buildBurn(dir);
    for (const [pipe, graph] of [[false, false], [true, false], [false, true], [true, true]]) {
      const data = `${dir}/tp${pipe ? "-pipe" : ""}${graph ? "-g" : ""}.data`;
      const args = ["record", "-q", "-e", "sched:sched_switch", "-e", "sched:sched_process_exit"];
      if (graph) args.push("-g");
      // (a pipe's bytes, not text)
      const rec = await new Deno.Command("perf", {
        args: [...args, "-o", pipe ? "-" : data, "--", burn, "100"],
        env: { PERF_PAGER: "cat", LC_ALL: "C" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (rec.code !== 0) {
        await t.step({
          name: "skipped: perf cannot record tracepoints here",
          ignore: true,
          fn() {},
        });
        return;
      }
      if (pipe) await Deno.writeFile(data, rec.stdout);
      const cases = [[], ["--sort", "comm"], ["--sort", "trace,comm"], [
        "-F",
        "overhead,trace,sym",
      ]];
      if (graph) cases.push(["--no-children"], ["-g", "folded"], ["-G", "-s", "trace"]);
      for (const extra of cases) {
        const perf = await runPerf(["report", "-i", data, "--stdio", ...extra]);
        const ours = await runCli("report", ["-i", data, "--stdio", ...extra]);
        const what = `pipe ${pipe}, -g ${graph}: ${extra.join(" ")}`;
        assert.equal(perf.code, 0, perf.stderr);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(perfReportPart(ours.stdout), perfReportPart(perf.stdout), what);
        const traced = /^# .*Trace output/m.test(perf.stdout);
        const traceKey = extra.some((a) => a.includes("trace"));
        assert.equal(traced, traceKey || (!pipe && !extra.includes("--sort")), what);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
