/**
 * Test helpers: fixture paths, `perf script` text parsing, running real perf.
 *
 * @module
 */

import { AttrFlag, defaultAttr, type PerfEventAttr, RecordType, SampleType } from "../abi/mod.ts";
import { kernelMmapRecord, PerfDataWriter } from "./writer.ts";

/** A sample as `perf script -F comm,pid,tid[,cpu],time,period,event,ip` prints it. */
export interface ScriptSample {
  pid: number;
  tid: number;
  cpu: number | undefined;
  /** Time in microseconds (perf prints seconds with 6 decimals). */
  timeUs: number;
  period: number;
  event: string;
  /** Callchain addresses as printed (hex, map-relative for user DSOs). */
  ips: string[];
}

/** Directory of the real-perf fixtures. */
export const TESTDATA = new URL("../../testdata/", import.meta.url);

/**
 * @param name File name in testdata/.
 * @returns Its path.
 */
export function fixture(name: string): string {
  return new URL(name, TESTDATA).pathname;
}

/**
 * @param name File name in testdata/.
 * @returns Whether it exists.
 */
export function hasFixture(name: string): boolean {
  try {
    Deno.statSync(fixture(name));
    return true;
  } catch {
    return false;
  }
}

const HEADER = /(?:^|\s)(-?\d+)\/(-?\d+)\s+(?:\[(\d+)\]\s+)?(\d+)\.(\d{6}):\s+(\d+)\s+(\S+):/;

/**
 * Parse `perf script` output with callchains (blank-line separated blocks).
 *
 * @param text The output.
 * @returns One entry per sample.
 */
export function parseScript(text: string): ScriptSample[] {
  const out: ScriptSample[] = [];
  let cur: ScriptSample | undefined;
  for (const line of text.split("\n")) {
    if (line === "") {
      cur = undefined;
      continue;
    }
    if (line.startsWith("\t")) {
      cur?.ips.push(line.trim().split(/\s+/)[0]!);
      continue;
    }
    const m = HEADER.exec(line);
    if (!m) throw new Error(`Unparsed perf script line: ${line}`);
    cur = {
      pid: Number(m[1]),
      tid: Number(m[2]),
      cpu: m[3] === undefined ? undefined : Number(m[3]),
      timeUs: Number(m[4]) * 1e6 + Number(m[5]),
      period: Number(m[6]),
      event: m[7]!,
      ips: [],
    };
    out.push(cur);
  }
  return out;
}

/** Whether real perf can be run here. */
export const HAVE_PERF: boolean = (() => {
  try {
    return new Deno.Command("perf", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/**
 * Run perf and capture its output.
 *
 * @param args perf arguments.
 * @returns Exit code, stdout and stderr.
 */
export async function runPerf(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("perf", {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { PERF_PAGER: "cat", PAGER: "cat", LC_ALL: "C" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A cpu-clock attr with IP|TID|TIME|CALLCHAIN|CPU|PERIOD and sample_id_all, like `perf record -g`. */
export function cpuClockAttr(extraSampleType = 0): PerfEventAttr {
  return defaultAttr({
    type: 1,
    config: 0n,
    samplePeriod: 4000,
    sampleType: SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CALLCHAIN |
      SampleType.CPU | SampleType.PERIOD | extraSampleType,
    flags: 2 ** AttrFlag.sampleIdAll + 2 ** AttrFlag.freq + 2 ** AttrFlag.mmap +
      2 ** AttrFlag.comm + 2 ** AttrFlag.disabled,
  });
}

/** Deterministic pseudo-random callchain for sample `i` (kernel block then user block). */
export function syntheticCallchain(i: number): BigUint64Array {
  const depth = 2 + (i * 7) % 9;
  const kernel = i % 5 === 0;
  const out: bigint[] = [];
  if (kernel) out.push(0xffffffffffffff80n, 0xffffffff81000000n + BigInt((i * 64) % 4096));
  out.push(0xfffffffffffffe00n);
  for (let d = 0; d < depth; d++) out.push(0x401000n + BigInt(((i + d) * 40) % 0x800));
  return BigUint64Array.from(out);
}

/**
 * Write a small synthetic file: kernel MMAP, COMM, MMAP, `n` samples (times 1000+10*i, in
 * rounds of 16), with sample_id trailers.
 *
 * @param path Output path.
 * @param n Number of samples.
 */
export async function writeSynthetic(path: string, n: number): Promise<void> {
  const w = await PerfDataWriter.create(path, {
    events: [{ attr: cpuClockAttr(), name: "cpu-clock" }],
    hostname: "test-host",
    osRelease: "6.1.0-test",
    cmdline: ["perf", "record", "-g"],
    nrCpusOnline: 2,
    nrCpusAvailable: 4,
    autoFinishedRound: false,
  });
  await w.writeRecord(kernelMmapRecord());
  await w.writeRecord({
    type: RecordType.COMM,
    misc: 0,
    size: 0,
    pid: 42,
    tid: 42,
    comm: "synth",
    sampleId: { pid: 42, tid: 42, time: 0, cpu: 0 },
  });
  await w.writeRecord({
    type: RecordType.MMAP,
    misc: 2,
    size: 0,
    pid: 42,
    tid: 42,
    addr: 0x400000n,
    len: 0x10000n,
    pgoff: 0n,
    filename: "/bin/synth",
    sampleId: { pid: 42, tid: 42, time: 0, cpu: 0 },
  });
  for (let i = 0; i < n; i++) {
    await w.writeSample({
      ip: 0x401000n + BigInt(i % 64),
      pid: 42,
      tid: 42 + (i % 3),
      time: 1000 + 10 * i,
      cpu: i % 2,
      period: 4000,
      callchain: syntheticCallchain(i),
    });
    if (i % 16 === 15) await w.finishRound();
  }
  await w.close();
}
