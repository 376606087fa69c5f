/**
 * `script --time` (perf's syntax and semantics; a capture read through its time index) and
 * `script --reverse` (newest first, callring's extension for captures).
 */
import assert from "node:assert/strict";
import { encodeRecord, RecordType } from "../lib/abi/mod.ts";
import { parsePerfTime, perfTimeKeeps } from "../lib/analyze/perf_time.ts";
import { CaptureReader } from "../lib/capture/reader.ts";
import { ATTR, memorySink } from "../lib/capture/testutil_test.ts";
import { captureFileSink, CaptureWriter } from "../lib/capture/writer.ts";
import { createRingMemory } from "../lib/ring/layout.ts";
import { RingReader } from "../lib/ring/reader.ts";
import { SampleWriter } from "../lib/ring/sample_writer.ts";
import { chain, fields, SAMPLE_TYPE } from "../lib/ring/testutil_test.ts";
import { RingWriter } from "../lib/ring/writer.ts";
import { recordSimulation } from "../lib/sim/recorder.ts";
import { getStrategy } from "../lib/sim/strategies/mod.ts";
import { runCli } from "../lib/testing/cli_run.ts";
import {
  fixture,
  fixtureEnv,
  perfAvailable,
  perfFixtureArgs,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";

const FIELDS = "comm,pid,tid,cpu,time,period,event,ip";

/** A sample's lines (header line + callchain) as one string each, in output order. */
function blocks(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (!line.startsWith("\t") || out.length === 0) out.push(line + "\n");
    else out[out.length - 1] += line + "\n";
  }
  return out;
}

/** The time (ns) printed in a sample block (`  123.456789:`). */
function timeOf(block: string): number {
  const m = / (\d+)\.(\d{6}): /.exec(block.split("\n")[0]!);
  assert.ok(m, block);
  return Number(m[1]) * 1e9 + Number(m[2]) * 1e3;
}

Deno.test("script --time: percent slices and ranges of fp.data equal perf's committed output", async () => {
  for (
    const [file, time] of [
      ["fp.script-time-slices.txt", "10%/2,10%/5"],
      ["fp.script-time-range.txt", "30%-45%"],
    ]
  ) {
    const ours = await runCli(
      "script",
      ["-i", fixture("fp.data"), "-F", FIELDS, "--time", time],
      undefined,
      fixtureEnv(),
    );
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, await Deno.readTextFile(fixture(file)), time);
  }
});

Deno.test({
  name: "script --time equals live perf script: absolute, several windows, open ends, percents",
  ignore: !(await perfAvailable()),
}, async () => {
  for (const name of ["fp", "sys"]) {
    const all = await runPerfFixture(["script", "-i", fixture(`${name}.data`), "-F", FIELDS]);
    const times = blocks(all.stdout).map(timeOf);
    const t0 = times[0]!, t1 = times[times.length - 1]!;
    const sec = (t: number) => (t / 1e9).toFixed(6);
    const at = (f: number) => sec(t0 + (t1 - t0) * f);
    for (
      const time of [
        `${at(0.2)},${at(0.3)}`,
        `${at(0.1)},${at(0.15)} ${at(0.5)},${at(0.55)}`,
        `${at(0.9)},`,
        `,${at(0.05)}`,
        "10%/3",
        "25%",
        "0%-5%,90%-100%",
        "abc",
        `${at(0.3)},${at(0.2)}`,
      ]
    ) {
      const args = ["-i", fixture(`${name}.data`), "-F", FIELDS, "--time", time];
      const perf = await runPerfFixture(["script", ...args]);
      const ours = await runCli("script", [...args, ...perfFixtureArgs()], undefined, fixtureEnv());
      if (perf.code !== 0) {
        assert.match(perf.stderr, /Invalid time string/, time);
        assert.equal(ours.code, 2, `${name} ${time}: ${ours.stderr}`);
        assert.match(ours.stderr, /Invalid time string/);
        continue;
      }
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.stdout, perf.stdout, `${name} --time ${time}`);
    }
  }
});

/** A simulated capture on disk. */
async function simCapture(dir: string, ms: number): Promise<string> {
  const path = `${dir}/sim.data`;
  await recordSimulation(getStrategy("mainline"), await captureFileSink(path), {
    seed: 3,
    cpus: 4,
    durationMs: ms,
    verify: false,
  });
  return path;
}

/** Exact (ns) times of a capture's samples, in the order script prints them. */
async function sampleTimes(path: string): Promise<number[]> {
  const reader = await CaptureReader.open(path);
  const out: number[] = [];
  try {
    await reader.read((r) => {
      if (new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(0, true) === 9) {
        out.push(r.time);
      }
    });
  } finally {
    reader.close();
  }
  return out;
}

Deno.test("script --time on a capture: the window read prints what a whole read keeps, reading a fraction", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await simCapture(dir, 400);
    const size = (await Deno.stat(path)).size;
    const whole = await runCli("script", ["-i", path]);
    assert.equal(whole.code, 0, whole.stderr);
    const all = blocks(whole.stdout);
    const times = await sampleTimes(path);
    assert.equal(times.length, all.length);
    const first = Math.min(...times), last = Math.max(...times);
    const expect = (time: string) => {
      const t = parsePerfTime(time, { first, last });
      return all.filter((_, i) => perfTimeKeeps(t, times[i]!));
    };
    for (const [a, b] of [[0.5, 0.502], [0.05, 0.06], [0.97, 1]]) {
      const start = Math.round(first + (last - first) * a);
      const end = Math.round(first + (last - first) * b);
      const time = `${(start / 1e9).toFixed(9)},${(end / 1e9).toFixed(9)}`;
      const got = await runCli("script", ["-i", path, "--time", time]);
      assert.equal(got.code, 0, got.stderr);
      const want = expect(time);
      assert.ok(want.length > 0, time);
      assert.deepEqual(blocks(got.stdout), want, time);
      const m = got.stderr.match(/--time .*: read (\d+) of (\d+) bytes of /);
      assert.ok(m, got.stderr);
      assert.equal(Number(m[2]), size);
      assert.ok(Number(m[1]) < size / 4, `read ${m[1]} of ${size}`);
    }
    // percent slices: of the first and last sample time, found in the first and last rounds
    for (const time of ["10%/4", "50%", "20%-21%"]) {
      const got = await runCli("script", ["-i", path, "--time", time]);
      assert.equal(got.code, 0, got.stderr);
      assert.deepEqual(blocks(got.stdout), expect(time), time);
      assert.match(got.stderr, /read \d+ of \d+ bytes/);
    }
    // several windows: the whole file is read and filtered
    const two = await runCli("script", ["-i", path, "--time", "0%-1%,99%-100%"]);
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual(blocks(two.stdout), expect("0%-1%,99%-100%"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("script --reverse: a capture's samples newest first, exactly the forward output reversed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await simCapture(dir, 60);
    const fwd = await runCli("script", ["-i", path]);
    const rev = await runCli("script", ["-i", path, "--reverse"]);
    assert.equal(rev.code, 0, rev.stderr);
    const f = blocks(fwd.stdout);
    assert.ok(f.length > 100);
    assert.deepEqual(blocks(rev.stdout), f.reverse());
    // with a window: the window's samples, newest first
    const times = blocks(fwd.stdout).map(timeOf);
    const mid = (times[0]! + times[times.length - 1]!) / 2;
    const time = `${(mid / 1e9).toFixed(6)},${((mid + 2e6) / 1e9).toFixed(6)}`;
    const win = await runCli("script", ["-i", path, "--time", time]);
    const winRev = await runCli("script", ["-i", path, "--time", time, "--reverse"]);
    assert.equal(winRev.code, 0, winRev.stderr);
    assert.deepEqual(blocks(winRev.stdout), blocks(win.stdout).reverse());
    // perf.data has no drain rounds to read backwards: a usage error
    const perf = await runCli("script", ["-i", fixture("fp.data"), "--reverse"]);
    assert.equal(perf.code, 2);
    assert.match(perf.stderr, /^callring script: error: .*newest first needs a callring capture/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("script --reverse: each sample is printed with the comm of its time (the side-band is replayed back)", async () => {
  const ring = createRingMemory(1 << 16);
  const w = new RingWriter(ring, { cpu: 0, sampleType: SAMPLE_TYPE, sampleIdAll: true });
  const r = new RingReader(ring);
  const sw = new SampleWriter(w, SAMPLE_TYPE);
  const sink = memorySink();
  const cw = await CaptureWriter.create(sink, {
    events: [{ attr: ATTR, ids: [7] }],
    cpus: 1,
    clockid: 1,
    startTime: 0,
    syncDistance: 0,
    maxChunk: 4096,
  });
  const comm = (name: string, time: number) =>
    w.write(
      encodeRecord({
        type: RecordType.COMM,
        misc: 0x2000, // PERF_RECORD_MISC_COMM_EXEC
        size: 0,
        pid: 10,
        tid: 11,
        comm: name,
        sampleId: { pid: 10, tid: 11, time, cpu: 0 },
      }, SAMPLE_TYPE),
      time,
    );
  let t = 1_000_000_000;
  comm("before", t);
  for (const name of ["exec-1", "exec-2", ""]) {
    for (let i = 0; i < 30; i++) {
      t += 10_000;
      sw.write(fields(t, 0), chain(3, i), 3);
      if (i % 10 === 9) {
        await cw.drainRing(0, r);
        cw.endRound();
      }
    }
    t += 10_000;
    if (name) comm(name, t);
  }
  await cw.drainRing(0, r);
  await cw.close();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/comm.data`;
    await Deno.writeFile(path, sink.bytes());
    const fwd = await runCli("script", ["-i", path, "-F", "comm,tid,time"]);
    const rev = await runCli("script", ["-i", path, "-F", "comm,tid,time", "--reverse"]);
    assert.equal(rev.code, 0, rev.stderr);
    const f = blocks(fwd.stdout);
    assert.equal(f.length, 90);
    assert.deepEqual(
      [...new Set(f.map((b) => b.trim().split(/\s+/)[0]))],
      ["before", "exec-1", "exec-2"],
    );
    assert.deepEqual(blocks(rev.stdout), f.reverse());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
