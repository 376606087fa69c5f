/**
 * Live tests: kinds of perf.data that perf users record (`-z`, tracepoints,
 * several events, fixed periods, unfinished files), recorded now with this
 * machine's perf and printed by both perf script and callring. Kernel
 * symbols are left out of the compared fields (or the workload is user-only),
 * so the comparison does not depend on this machine's kallsyms.
 */
import assert from "node:assert/strict";
import { FormatError } from "../abi/mod.ts";
import { buildBurn, perfCanRecord, runPerf } from "../testing/perf_tool.ts";
import { runCli } from "../testing/cli_run.ts";
import { runPerfScript, type RunScriptOptions } from "./script_run.ts";

const PERF_RECORDS = await perfCanRecord();
const IP_FIELDS = "comm,pid,tid,time,period,event,ip";

async function script(
  path: string,
  options: Omit<RunScriptOptions, "write"> = {},
): Promise<{ text: string; warnings: string[] }> {
  const parts: string[] = [];
  const warnings: string[] = [];
  await runPerfScript(path, {
    ...options,
    read: { onWarning: (m) => warnings.push(m.message) },
    write: (s) => parts.push(s),
  });
  return { text: parts.join(""), warnings };
}

/** `perf record ARGS -- CMD` into `out` (pipe mode: `-o -` captured into `out`). */
async function record(out: string, args: string[], cmd: string[], pipe = false): Promise<void> {
  const r = await new Deno.Command("perf", {
    // -N: no build-id cache writes (parallel tests race on ~/.debug).
    args: ["record", "-q", "-N", "-o", pipe ? "-" : out, ...args, "--", ...cmd],
    env: { PERF_PAGER: "cat", LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (r.code !== 0) {
    throw new Error(`perf record ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
  if (pipe) await Deno.writeFile(out, r.stdout);
}

async function perfScript(path: string, args: string[] = []): Promise<string> {
  const r = await runPerf(["script", "-i", path, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Whether perf can record tracepoints here (tracefs readable, permissions). */
async function canTrace(dir: string): Promise<boolean> {
  if (!PERF_RECORDS) return false;
  try {
    await record(`${dir}/probe.data`, ["-e", "sched:sched_switch"], ["true"]);
    return true;
  } catch {
    return false;
  }
}

/** Rewrite a pipe-mode file's COMPRESSED records as perf 6.16's COMPRESSED2. */
function toCompressed2(bytes: Uint8Array): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [bytes.subarray(0, 16)];
  let n = 0;
  for (let p = 16; p + 8 <= bytes.length;) {
    const type = v.getUint32(p, true), size = v.getUint16(p + 6, true);
    if (type === 81) {
      const data = bytes.subarray(p + 8, p + size);
      const total = (16 + data.length + 7) & ~7;
      const rec = new Uint8Array(total);
      const rv = new DataView(rec.buffer);
      rv.setUint32(0, 83, true);
      rv.setUint16(4, v.getUint16(p + 4, true), true);
      rv.setUint16(6, total, true);
      rv.setBigUint64(8, BigInt(data.length), true);
      rec.set(data, 16);
      parts.push(rec);
      n++;
    } else parts.push(bytes.subarray(p, p + size));
    p += size;
  }
  assert.ok(n > 0, "the recording has COMPRESSED records");
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const b of parts) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

Deno.test({
  name: "perf record -z (COMPRESSED, file and pipe mode; COMPRESSED2) prints as perf script",
  ignore: !PERF_RECORDS,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const burn = await buildBurn(dir);
    const args = ["-z", "-e", "cpu-clock", "-g"];
    await record(`${dir}/z.data`, args, [burn, "150"]);
    await record(`${dir}/zp.data`, args, [burn, "150"], true);
    for (const name of ["z.data", "zp.data"]) {
      const expected = await perfScript(`${dir}/${name}`, ["-F", IP_FIELDS]);
      assert.ok(expected.length > 0);
      const ours = await script(`${dir}/${name}`, { fields: IP_FIELDS });
      assert.equal(ours.text, expected, name);
    }
    // perf 6.16's COMPRESSED2 (which perf 6.1 cannot read) carries the same stream.
    await Deno.writeFile(`${dir}/z2.data`, toCompressed2(await Deno.readFile(`${dir}/zp.data`)));
    const expected = await perfScript(`${dir}/zp.data`, ["-F", IP_FIELDS]);
    assert.equal((await script(`${dir}/z2.data`, { fields: IP_FIELDS })).text, expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt zstd stream is a FormatError naming the record's offset", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A pipe-mode stream: header, then one COMPRESSED record of garbage.
    const bytes = new Uint8Array(16 + 24);
    bytes.set(new TextEncoder().encode("PERFILE2"));
    const v = new DataView(bytes.buffer);
    v.setBigUint64(8, 16n, true);
    v.setUint32(16, 81, true);
    v.setUint16(22, 24, true);
    bytes.fill(0x5a, 24);
    await Deno.writeFile(`${dir}/bad.data`, bytes);
    await assert.rejects(() => script(`${dir}/bad.data`), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.equal(e.offset, 16);
      assert.match(e.message, /zstd/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tracepoints, alone and beside a software event, print as perf script (file and pipe)", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    if (!(await canTrace(dir))) {
      t.step({ name: "skipped: perf cannot record tracepoints here", ignore: true, fn: () => {} });
      return;
    }
    const burn = await buildBurn(dir);
    const tp = [
      "-e",
      "sched:sched_switch",
      "-e",
      "sched:sched_process_exec",
      "-e",
      "sched:sched_process_exit",
      "-e",
      "cpu-clock:u",
    ];
    await record(`${dir}/tp.data`, tp, [burn, "100"]);
    await record(`${dir}/tpp.data`, tp, [burn, "100"], true);
    for (const name of ["tp.data", "tpp.data"]) {
      // Default fields: tracepoints print cpu and their payload, no period;
      // cpu-clock:u samples print their user symbols.
      const expected = await perfScript(`${dir}/${name}`);
      assert.match(expected, /sched:sched_process_exit: comm=/);
      const ours = await script(`${dir}/${name}`);
      assert.equal(ours.text, expected, name);
      assert.deepEqual(ours.warnings, []);
      // -F trace for tracepoints only.
      const fields = "trace:comm,tid,event,trace";
      assert.equal(
        (await script(`${dir}/${name}`, { fields })).text,
        await perfScript(`${dir}/${name}`, ["-F", fields]),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "fixed periods (-c, no PERIOD in sample_type) print attr.sample_period like perf",
  ignore: !PERF_RECORDS,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const burn = await buildBurn(dir);
    await record(`${dir}/c.data`, ["-e", "cpu-clock:u", "-c", "200000"], [burn, "100"]);
    const expected = await perfScript(`${dir}/c.data`);
    assert.match(expected, / 200000 cpu-clock:u: /);
    assert.equal((await script(`${dir}/c.data`)).text, expected);
    // perf report's event count is the sum of the periods.
    const count = (s: string) => /# Event count \(approx\.\): (\d+)/.exec(s)?.[1];
    const perf = await runPerf(["report", "-i", `${dir}/c.data`, "--stdio"]);
    const ours = await runCli("report", ["-i", `${dir}/c.data`, "--stdio"]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.ok(count(perf.stdout) !== undefined);
    assert.equal(count(ours.stdout), count(perf.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a file whose data size is 0 (perf record never finished) is refused, as perf does",
  ignore: !PERF_RECORDS,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const burn = await buildBurn(dir);
    await record(`${dir}/u.data`, ["-e", "cpu-clock"], [burn, "20"]);
    const bytes = await Deno.readFile(`${dir}/u.data`);
    new DataView(bytes.buffer).setBigUint64(48, 0n, true);
    await Deno.writeFile(`${dir}/u.data`, bytes);
    const perf = await runPerf(["script", "-i", `${dir}/u.data`]);
    assert.notEqual(perf.code, 0);
    assert.match(perf.stderr, /data size field is 0/);
    await assert.rejects(() => script(`${dir}/u.data`), (e: unknown) => {
      assert.ok(e instanceof FormatError);
      assert.match(e.message, /data size field is 0/);
      assert.equal(e.offset, 48);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "--call-graph dwarf with small stack copies: unwound frames end in ffffffffffffffff like perf",
  ignore: !PERF_RECORDS,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const burn = await buildBurn(dir);
    await record(`${dir}/d.data`, ["-e", "cpu-clock", "--call-graph", "dwarf,512"], [burn, "100"]);
    const fields = "comm,tid,time,ip,sym";
    const expected = await perfScript(`${dir}/d.data`, ["-F", fields]);
    // perf appends what libunwind returns, the bogus last frame included.
    assert.match(expected, /\tffffffffffffffff \[unknown\]\n/);
    assert.equal((await script(`${dir}/d.data`, { fields })).text, expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "leader sampling {a,b}:S (PERF_SAMPLE_READ groups): one line per member, read-derived periods",
  ignore: !PERF_RECORDS,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const burn = await buildBurn(dir);
    for (const [name, events] of [["g.data", "{cpu-clock,task-clock}:S"]] as const) {
      await record(`${dir}/${name}`, ["-e", events], [burn, "100"]);
      const fields = "comm,tid,time,period,event,ip";
      const expected = await perfScript(`${dir}/${name}`, ["-F", fields]);
      if (name === "g.data") assert.match(expected, / task-clock: /);
      assert.equal((await script(`${dir}/${name}`, { fields })).text, expected, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
