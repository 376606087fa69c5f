/**
 * Live tests of `record --live`: a workload with known hot functions (burn)
 * recorded by callring and by `perf record` gives the same top entries; the
 * perf.data callring writes is read by real perf without warnings; errors are
 * one line. They run when perf events can be opened here and skip (with the
 * reason printed) otherwise; the comparison with perf also needs perf.
 */

import assert from "node:assert/strict";
import { liveUnavailableReason } from "../lib/live/probe.ts";
import { onlineCpus } from "../lib/live/synthesize.ts";
import { cliPath, runCli } from "../lib/testing/cli_run.ts";
import { buildBurn, perfCanRecord, runPerf } from "../lib/testing/perf_tool.ts";

const reason = liveUnavailableReason();
const perfOk = reason === undefined && await perfCanRecord();
if (reason) console.log(`record --live tests skipped: ${reason}`);
else if (!perfOk) {
  console.log("record --live comparisons with perf skipped: perf cannot record here");
}

/** `NN.NN%  [.] sym` lines of a `--stdio -g none` report, as symbol -> percent. */
function entries(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^\s+(\d+\.\d+)%\s+(?:\d+\.\d+%\s+)?(\[.\] .+?)\s*$/.exec(line);
    if (m && !out.has(m[2]!)) out.set(m[2]!, Number(m[1]));
  }
  return out;
}

/** The `# Samples: N` count of a report. */
function sampleCount(text: string): number {
  return Number(/^# Samples: (\d+)/m.exec(text)?.[1] ?? NaN);
}

/**
 * Entries of at least `min` percent in either report agree within sampling
 * noise: 4 standard errors of the difference of two sampled shares (at least 3
 * points). With `only`, just those entries: how burn's main thread and its
 * worker share the CPUs (main/worker/start_thread with --children) depends on
 * what else runs on the machine, not on the recorder.
 */
function assertSameTop(
  ours: string,
  perf: string,
  min: number,
  only?: string[],
) {
  const a = entries(ours);
  const b = entries(perf);
  const na = sampleCount(ours);
  const nb = sampleCount(perf);
  assert.ok(na > 0 && nb > 0, "no samples");
  const keys = new Set(
    [...a, ...b].filter(([k, pct]) => pct >= min && (!only || only.includes(k))).map(([k]) => k),
  );
  assert.ok(keys.size > 0, "no entry above the threshold");
  const diffs: string[] = [];
  for (const k of keys) {
    const x = a.get(k) ?? 0;
    const y = b.get(k) ?? 0;
    const p = (x + y) / 200;
    const allowed = Math.max(3, 400 * Math.sqrt(p * (1 - p) * (1 / na + 1 / nb)));
    if (Math.abs(x - y) > allowed) {
      diffs.push(`${k}: callring ${x}% of ${na}, perf ${y}% of ${nb} (allowed ${allowed})`);
    }
  }
  assert.deepEqual(diffs, [], "top entries differ by more than sampling noise");
}

const REPORT = ["--stdio", "--sort", "sym", "-g", "none"];

Deno.test({
  name: "record --live of burn: same top entries as perf record, capture and perf.data",
  ignore: !perfOk,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const burn = await buildBurn(dir);
      const rec = ["-g", "-F", "4999", "-e", "cpu-clock", "--", burn, "1000"];
      const perfData = `${dir}/perf.data`;
      const p = await runPerf(["record", "-q", "-o", perfData, ...rec]);
      assert.equal(p.code, 0, p.stderr);
      const capture = `${dir}/live.callring`;
      const c = await runCli("record", ["--live", "-q", "-o", capture, ...rec]);
      assert.equal(c.code, 0, c.stderr);
      const ours = `${dir}/live.data`;
      const o = await runCli("record", ["--live", "-o", ours, "--format", "perf", ...rec]);
      assert.equal(o.code, 0, o.stderr);
      assert.match(o.stderr, /Captured and wrote .* \(\d+ samples\)/);
      assert.match(o.stderr, /cpu\s+samples\s+records\s+LOST recs\s+lost/);

      for (const mode of [["--no-children"], ["--children"]]) {
        const only = mode[0] === "--children"
          ? ["[.] leaf", "[.] run", "[.] work_a", "[.] work_b", "[.] deep"]
          : undefined;
        const perfSide = await runPerf(["report", "-i", perfData, ...REPORT, ...mode]);
        assert.equal(perfSide.code, 0, perfSide.stderr);
        // The capture, read by callring's report.
        const capSide = await runCli("report", ["-i", capture, ...REPORT, ...mode]);
        assert.equal(capSide.code, 0, capSide.stderr);
        assertSameTop(capSide.stdout, perfSide.stdout, 2, only);
        // callring's perf.data, read by real perf: no warnings.
        const ourSide = await runPerf(["report", "-i", ours, ...REPORT, ...mode]);
        assert.equal(ourSide.code, 0, ourSide.stderr);
        assert.equal(ourSide.stderr.trim(), "", "perf report printed warnings");
        assert.doesNotMatch(ourSide.stdout, /warning/i);
        assertSameTop(ourSide.stdout, perfSide.stdout, 2, only);
      }
      // Every build id perf records for the workload is in callring's BUILD_ID feature.
      const ids = (f: string) =>
        runPerf(["buildid-list", "-i", f]).then((r) => r.stdout.trim().split("\n"));
      const perfIds = await ids(perfData);
      const ourIds = await ids(ours);
      assert.ok(perfIds.some((l) => l.endsWith(burn)), perfIds.join("\n"));
      assert.deepEqual(perfIds.filter((l) => !ourIds.includes(l)), []);
      // leaf is the hot function of burn, in all three.
      const top = entries(
        (await runPerf(["report", "-i", ours, ...REPORT, "--no-children"])).stdout,
      );
      assert.ok((top.get("[.] leaf") ?? 0) > 50, JSON.stringify([...top]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "record --live -p and --overwrite snapshots record the running workload",
  ignore: reason !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    const burn = await buildBurn(dir);
    const child = new Deno.Command(burn, { args: ["600000"], stdout: "null" }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 100));
      const out = `${dir}/p.callring`;
      const r = await runCli("record", [
        "--live",
        "-g",
        "-p",
        String(child.pid),
        "--duration",
        "400",
        "-o",
        out,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /side-band records synthesized for 1 processes/);
      const rep = await runCli("report", ["-i", out, ...REPORT, "--no-children"]);
      assert.equal(rep.code, 0, rep.stderr);
      assert.ok((entries(rep.stdout).get("[.] leaf") ?? 0) > 50, rep.stdout);

      // Flight recorder: two SIGUSR2 snapshots, then Ctrl-C (SIGINT) takes the last one.
      const ow = `${dir}/ow.callring`;
      const rec = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cliPath("record"), "--live", "--overwrite", "-m", "4", "-g", "-p"]
          .concat([String(child.pid), "-o", ow]),
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // Each signal is sent once the recorder has shown it handled the previous one; a
      // recorder that never does is killed, so the test fails instead of hanging.
      const guard = setTimeout(() => rec.kill("SIGKILL"), 60_000);
      const lines = rec.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      const waitFor = async (text: string) => {
        while (!seen.includes(text)) {
          const { value, done } = await lines.read();
          if (done) throw new Error(`recorder ended before "${text}": ${seen}`);
          seen += value;
        }
      };
      await waitFor("flight recorder running");
      rec.kill("SIGUSR2");
      await waitFor("snapshot 1:");
      rec.kill("SIGUSR2");
      await waitFor("snapshot 2:");
      rec.kill("SIGINT");
      await waitFor("read back:");
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        seen += value;
      }
      const w = await rec.status;
      clearTimeout(guard);
      const stderr = seen;
      assert.equal(w.code, 0, stderr);
      assert.match(stderr, /snapshots\s+overwritten B/);
      assert.match(stderr, /, stopped \]/);
      const rows = stderr.split("\n").filter((l) => /^\s+\d+(\s+\d+){10}$/.test(l));
      assert.ok(rows.length > 0, stderr);
      for (const row of rows) assert.equal(row.trim().split(/\s+/)[9], "3", row);
      const wr = await runCli("report", ["-i", ow, ...REPORT, "--no-children"]);
      assert.equal(wr.code, 0, wr.stderr);
      assert.ok((entries(wr.stdout).get("[.] leaf") ?? 0) > 50, wr.stdout);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "record --live errors are one line: no such process, unknown event, no target",
  ignore: reason !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const nopid = await runCli("record", ["--live", "-p", "4000000", "-o", `${dir}/x`]);
      assert.equal(nopid.code, 1);
      assert.match(
        nopid.stderr,
        /^callring record: error: Couldn't create thread\/CPU maps: No such process/,
      );
      assert.equal(nopid.stderr.trim().split("\n").length, 1);
      const ev = await runCli("record", ["--live", "-e", "nosuch:event", "-a", "-o", `${dir}/x`]);
      assert.equal(ev.code, 1);
      assert.match(ev.stderr, /event syntax error: 'nosuch:event': unknown tracepoint/);
      assert.equal(ev.stderr.trim().split("\n").length, 1);
      const none = await runCli("record", ["--live", "-o", `${dir}/x`]);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no target/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "record --live accounts the kernel's LOST records: summary, read-back and report agree",
  ignore: reason !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const burn = await buildBurn(dir);
      const out = `${dir}/lost.callring`;
      // A one-page ring drained every 300 ms cannot keep up with 20 kHz callchain samples.
      const r = await runCli("record", [
        "--live",
        "-g",
        "-F",
        "20000",
        "-m",
        "1",
        "--poll",
        "300",
        "-o",
        out,
        "--",
        burn,
        "600",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lost = Number(/ (\d+) lost/.exec(r.stderr)?.[1]);
      assert.ok(lost > 0, r.stderr);
      assert.match(r.stderr, /read back: (\d+) of \1 drained records, .*every ring balanced/);
      const rep = await runCli("report", ["-i", out, "--stdio", "-g", "none"]);
      assert.equal(rep.code, 0, rep.stderr);
      assert.match(rep.stdout, new RegExp(`# callring: lost: ${lost} events in LOST records`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "record --live -a, -C 0 and -t: system-wide and per-thread targets (or perf's one-line refusal)",
  ignore: reason !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    const burn = await buildBurn(dir);
    const child = new Deno.Command(burn, { args: ["600000"], stdout: "null" }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 100));
      for (const target of [["-a"], ["-C", "0"], ["-t", String(child.pid)]]) {
        const out = `${dir}/sys.callring`;
        const r = await runCli("record", [
          "--live",
          "-g",
          ...target,
          "--duration",
          "300",
          "-o",
          out,
        ]);
        if (r.code === 1 && target[0] !== "-t") {
          // perf_event_paranoid >= 1 without CAP_PERFMON refuses CPU-wide events: perf's hint.
          assert.match(r.stderr, /Access to performance monitoring .* perf_event_paranoid/);
          assert.equal(r.stderr.trim().split("\n").length, 1);
          continue;
        }
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /every ring balanced/);
        const rows = r.stderr.split("\n").filter((l) => /^\s+\d+(\s+\d+){8}$/.test(l));
        if (target[0] === "-C") assert.equal(rows.length, 1, r.stderr);
        if (target[0] === "-a") {
          assert.equal(rows.length, onlineCpus().length, r.stderr);
          const n = Number(/synthesized for (\d+) processes/.exec(r.stderr)?.[1]);
          assert.ok(n > 1, r.stderr);
        }
        const rep = await runCli("report", ["-i", out, ...REPORT, "--no-children"]);
        assert.equal(rep.code, 0, rep.stderr);
        if (target[0] === "-t") assert.ok((entries(rep.stdout).get("[.] leaf") ?? 0) > 50);
      }
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "record --live --overwrite -- CMD: the side-band survives the flight recorder (dummy ring)",
  ignore: reason !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const burn = await buildBurn(dir);
      // A 16 KiB flight recorder keeps the last ~130 samples; the workload's MMAP2 records
      // from its exec are long overwritten there and must come from the side-band ring.
      for (const format of perfOk ? ["callring", "perf"] : ["callring"]) {
        const out = `${dir}/ow.${format}`;
        const args = ["--live", "--overwrite", "-m", "4", "-g", "-F", "2000", "--format", format];
        const r = await runCli("record", [...args, "-o", out, "--", burn, "600"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /\d side-band/);
        const rep = format === "perf"
          ? await runPerf(["report", "-i", out, ...REPORT, "--no-children"])
          : await runCli("report", ["-i", out, ...REPORT, "--no-children"]);
        assert.equal(rep.code, 0, rep.stderr);
        assert.ok((entries(rep.stdout).get("[.] leaf") ?? 0) > 50, rep.stdout);
        if (format === "perf") assert.equal(rep.stderr.trim(), "");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
