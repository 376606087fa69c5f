import assert from "node:assert/strict";
import {
  buildBurn,
  fixture,
  fixtureEnv,
  haveGcc,
  perfAvailable,
  perfCanRecord,
  perfFixtureArgs,
  runPerf,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

Deno.test({
  name: "script --inline / --no-inline equal live perf script byte for byte (dwarf.data, fp.data)",
  ignore: !(await perfAvailable()),
}, async () => {
  for (const name of ["dwarf", "fp"]) {
    for (const opt of [["--no-inline"], ["--inline"]]) {
      const args = ["-i", fixture(`${name}.data`), ...opt];
      const perf = await runPerfFixture(["script", ...args]);
      const ours = await runCli("script", [...args, ...perfFixtureArgs()], undefined, fixtureEnv());
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, `${name} ${opt.join(" ")}`);
      if (name === "dwarf") {
        assert.equal(ours.stdout.includes("(inlined)"), opt[0] === "--inline", "inline frames");
      }
    }
  }
});

/** A fresh user-only `-g --sample-cpu` recording of burn (two threads), with its threads and times. */
async function recordFilterWorkload(dir: string, cpu = true): Promise<{
  data: string;
  mainPid: number;
  workerTid: number;
  first: number;
  last: number;
}> {
  const burn = await buildBurn(dir);
  const data = `${dir}/filters-${cpu}.data`;
  const r = await runPerf([
    "record",
    "-q",
    "-N",
    "-e",
    "cpu-clock:u",
    "-g",
    ...(cpu ? ["--sample-cpu"] : []),
    "-o",
    data,
    "--",
    burn,
    "100",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = (await runPerf(["script", "-i", data, "-F", "comm,pid,tid,time"])).stdout
    .trim().split("\n");
  let mainPid = -1, workerTid = -1;
  const times: number[] = [];
  for (const l of lines) {
    const m = /(\d+)\/(\d+)\s+(\d+\.\d+):/.exec(l)!;
    times.push(Number(m[3]));
    if (l.trimStart().startsWith("burn worker")) workerTid = Number(m[2]);
    else mainPid = Number(m[1]);
  }
  return { data, mainPid, workerTid, first: times[0]!, last: times[times.length - 1]! };
}

Deno.test({
  name: "script --pid/--tid/--comms/--cpu/--time/-S equal live perf script byte for byte",
  ignore: !(await perfCanRecord()) || !haveGcc(),
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "callring-script-filters-" });
  try {
    const w = await recordFilterWorkload(dir);
    assert.ok(w.workerTid > 0 && w.mainPid > 0, "both threads sampled");
    const all = (await runPerf(["script", "-i", w.data])).stdout;
    const t = (x: number) => x.toFixed(6);
    const a = w.first + (w.last - w.first) * 0.3, b = w.first + (w.last - w.first) * 0.6;
    const cases: string[][] = [
      ["--pid", String(w.mainPid)],
      ["--tid", String(w.workerTid)],
      ["--tid", `${w.mainPid},${w.workerTid}`],
      ["--pid", "1"],
      ["-c", "burn worker 1"],
      ["--comms", "burn,none"],
      ["--cpu", "0-1"],
      ["-C", "1"],
      ["--time", `${t(a)},${t(b)}`],
      ["--time", `${t(a)},`],
      ["--time", `,${t(b)}`],
      ["--time", `${t(w.first)},${t(a)} ${t(b)},${t(w.last + 1)}`],
      ["--time", "10%/2"],
      ["--time", "10%/1,10%/3"],
      ["--time", "0%-10%,30%-40%"],
      ["--time", "50%"],
      ["--time", `${t(a)},`, "--tid", String(w.workerTid), "--cpu", "0,1"],
      ["-S", "work_a,work_b,run"],
      ["-S", "leaf", "-G"],
      ["--symbols", "no_such_symbol"],
      // --no-demangle is not in the quick parser: these go through commander.
      ["--no-demangle", "--pid", String(w.mainPid), "-C", "0-1", "--time", "0%-50%", "-S", "leaf"],
      ["--no-demangle", "--tid", String(w.workerTid), "-c", "burn worker 1"],
    ];
    let narrowed = 0;
    for (const args of cases) {
      const perf = await runPerf(["script", "-i", w.data, ...args]);
      const ours = await runCli("script", ["-i", w.data, ...args]);
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, args.join(" "));
      if (perf.stdout.length > 0 && perf.stdout.length < all.length) narrowed++;
    }
    assert.ok(narrowed >= 10, `filters kept a part of the samples in ${narrowed} cases`);
    // perf's "Invalid time string" cases are usage errors here.
    for (const bad of ["10%/11", "abc", `${t(b)},${t(a)}`, "1,2,3,4"]) {
      const perf = await runPerf(["script", "-i", w.data, "--time", bad]);
      const ours = await runCli("script", ["-i", w.data, "--time", bad]);
      assert.match(perf.stderr, /Invalid time string/, bad);
      assert.equal(ours.code, 2, `--time ${bad}: ${ours.stderr}`);
      assert.equal(ours.stdout, "");
    }
    // Without PERF_SAMPLE_CPU, perf refuses --cpu.
    const noCpu = await recordFilterWorkload(dir, false);
    const perf = await runPerf(["script", "-i", noCpu.data, "--cpu", "0"]);
    const ours = await runCli("script", ["-i", noCpu.data, "--cpu", "0"]);
    const refusal = /File does not contain CPU events. Remove -C option to proceed./;
    assert.match(perf.stderr, refusal);
    assert.match(ours.stderr, refusal);
    assert.notEqual(ours.code, 0);
    assert.equal(perf.stdout + ours.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "script --show-task-events/--show-mmap-events/--show-switch-events equal live perf script",
  ignore: !(await perfCanRecord()) || !haveGcc(),
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "callring-script-events-" });
  try {
    const burn = await buildBurn(dir);
    const forks = `${dir}/forks.data`, switches = `${dir}/switches.data`;
    const rec = async (out: string, extra: string[], cmd: string[]) => {
      const r = await runPerf([
        "record",
        "-q",
        "-N",
        "-e",
        "cpu-clock:u",
        "-g",
        ...extra,
        "-o",
        out,
        "--",
        ...cmd,
      ]);
      assert.equal(r.code, 0, r.stderr);
    };
    // A shell that forks two processes (FORK, COMM exec, EXIT, MMAP2 of each).
    await rec(forks, ["--sample-cpu"], ["sh", "-c", `${burn} 40; ${burn} 20`]);
    await rec(switches, ["--switch-events"], [burn, "40"]);
    const cases: [string, string[], RegExp[]][] = [
      [forks, ["--show-task-events"], [
        /PERF_RECORD_COMM exec: /,
        /PERF_RECORD_FORK\(/,
        /PERF_RECORD_EXIT\(/,
      ]],
      [forks, ["--show-task-events", "-G"], [/PERF_RECORD_COMM/]],
      [forks, ["--show-mmap-events"], [/PERF_RECORD_MMAP2 \d+\/\d+: \[0x/]],
      [forks, ["--show-mmap-events", "-F", "comm,tid,time,event"], [/PERF_RECORD_MMAP2/]],
      [forks, ["--show-task-events", "--show-mmap-events", "--cpu", "1"], []],
      [
        forks,
        ["--show-task-events", "--show-mmap-events", "--show-switch-events", "--pid", "1"],
        [],
      ],
      [switches, ["--show-switch-events"], [/PERF_RECORD_SWITCH (IN|OUT)/]],
      [switches, ["--show-switch-events", "-G"], [/PERF_RECORD_SWITCH/]],
      [switches, ["--show-switch-events", "--show-task-events", "-F", "comm,pid,tid,time,ip,sym"], [
        /PERF_RECORD_SWITCH/,
      ]],
    ];
    for (const [file, args, expect] of cases) {
      const perf = await runPerf(["script", "-i", file, ...args]);
      const ours = await runCli("script", ["-i", file, ...args]);
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, args.join(" "));
      for (const e of expect) assert.match(perf.stdout, e, `${args.join(" ")}: ${e}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "script --ns/--reltime/--deltatime (with --time and side-band lines) equal live perf script",
  ignore: !(await perfCanRecord()) || !haveGcc(),
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "callring-script-times-" });
  try {
    const w = await recordFilterWorkload(dir);
    const cases: string[][] = [
      ["--ns"],
      ["--ns", "-G"],
      ["--reltime"],
      ["--deltatime", "-G"],
      ["--reltime", "--show-task-events", "--show-mmap-events", "-F", "comm,tid,time,ip,sym"],
      ["--deltatime", "--ns", "--show-task-events"],
      // perf moves both ends by the first sample time, an open end (0) too.
      ["--reltime", "--time", "0.01,0.02"],
      ["--reltime", "--time", ",0.01"],
      ["--reltime", "--time", "0.01,"],
      ["--ns", "--deltatime", "--time", "50%", "-F", "tid,time,period"],
      ["--no-demangle", "--ns", "--reltime", "--show-task-events", "--show-mmap-events"],
      ["--no-demangle", "--deltatime", "--show-switch-events", "-G"],
    ];
    let shown = 0;
    for (const args of cases) {
      const perf = await runPerf(["script", "-i", w.data, ...args]);
      const ours = await runCli("script", ["-i", w.data, ...args]);
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, args.join(" "));
      if (perf.stdout.length > 0) shown++;
    }
    assert.ok(shown >= 8, `${shown} cases printed lines`);
    const perf = await runPerf(["script", "-i", w.data, "--reltime", "--deltatime"]);
    const ours = await runCli("script", ["-i", w.data, "--reltime", "--deltatime"]);
    const refusal = /reltime and deltatime - the two don't get along well/;
    assert.match(perf.stderr, refusal);
    assert.match(ours.stderr, refusal);
    assert.notEqual(ours.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "script -F +field / -field on a per-task file (no CPU) equal live perf script",
  ignore: !(await perfCanRecord()) || !haveGcc(),
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "callring-script-edits-" });
  try {
    const w = await recordFilterWorkload(dir, false);
    // perf drops the default `cpu` silently: only fields the user named are refused.
    for (const spec of ["+pid", "-dso", "+pid,-dso", "-cpu", "-symoff,-sym", "-time,+period"]) {
      const perf = await runPerf(["script", "-i", w.data, "-F", spec]);
      const ours = await runCli("script", ["-i", w.data, "-F", spec]);
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      assert.ok(perf.stdout.length > 0);
      assert.equal(ours.stdout, perf.stdout, spec);
    }
    const refusals: [string, RegExp][] = [
      ["+cpu", /Cannot print 'cpu' field/],
      ["cpu,ip", /Cannot print 'cpu' field/],
      ["+addr", /Cannot print 'addr' field/],
      ["-sym", /Display of offsets requested but symbol is notselected/],
      ["+pid,comm", /Cannot mix \+-field with overridden fields/],
      ["comm,-dso", /Cannot mix \+-field with overridden fields/],
    ];
    for (const [spec, message] of refusals) {
      const perf = await runPerf(["script", "-i", w.data, "-F", spec]);
      const ours = await runCli("script", ["-i", w.data, "-F", spec]);
      assert.match(perf.stderr, message, spec);
      assert.notEqual(perf.code, 0);
      assert.match(ours.stderr, message, spec);
      assert.notEqual(ours.code, 0, spec);
      assert.equal(ours.stdout, "");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
