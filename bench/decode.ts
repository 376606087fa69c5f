/**
 * Decode throughput of lib/perfdata next to real perf on the same file.
 *
 * Usage:
 *   deno run -A bench/decode.ts [--quick] [--input FILE] [--synth-mb 200]
 *                               [--seed testdata/fp.data] [--runs 3] [--no-perf]
 *                               [--no-script] [--no-check-text] [--keep]
 *
 * Without --input it synthesizes a file of about --synth-mb MB (200, or 50 with
 * --quick) by replaying the samples of --seed (a real perf.data, so callchains,
 * mmaps and symbols are realistic) with shifted times, written by
 * PerfDataWriter. Then it times:
 *   - walk:   forEachSampleInFile, every callchain entry read (hi/lo u32); no text
 *   - decode raw: openPerfData(...).forEachRecord(), perf's time order, every
 *     sample's fields and callchain entries read from the bytes (the path of
 *     the script text below); no text
 *   - decode: openPerfData(...).records(), perf's time order, full objects; no text
 *   - script text: runPerfScript (lib/output/script_run.ts, the code behind
 *     `callring script -i FILE`) in this process, its UTF-8 output chunks
 *     written to /dev/null, as cli/script.ts writes stdout
 *   - `deno run -A cli/script.ts -i FILE > /dev/null` as a process (Deno
 *     start-up and module loading included, like perf's own start-up)
 *   - `perf script` and `perf report --stdio --no-children -g none` (stdout to /dev/null)
 * and prints MB/s, samples/s and the ratios, and the largest resident set
 * of the two processes (`/usr/bin/time`, when installed). walk / decode are best of --runs;
 * the text rows and perf run once each (--runs 1 for the same rule everywhere).
 * Only the script-text rows do the same work as `perf script`; unless
 * --no-check-text, one more untimed run of each compares the two texts
 * (byte count and FNV-1a hash).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { RecordType } from "../lib/abi/mod.ts";
import { runPerfScript } from "../lib/output/script_run.ts";
import { openPerfData, type RawRecord } from "../lib/perfdata/reader.ts";
import { forEachSampleInFile } from "../lib/perfdata/walker.ts";
import { SampleLayout } from "../lib/abi/mod.ts";
import { synthesizePerfData } from "./_synth.ts";
import { TextDigest } from "./_measure.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    input: { type: "string" },
    "synth-mb": { type: "string" },
    seed: { type: "string", default: new URL("../testdata/fp.data", import.meta.url).pathname },
    runs: { type: "string" },
    "no-perf": { type: "boolean", default: false },
    "no-script": { type: "boolean", default: false },
    "no-check-text": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
const synthMb = Number(values["synth-mb"] ?? (values.quick ? "50" : "200"));

async function timeIt<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  let best = Infinity;
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    value = await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, value: value! };
}

/** Largest resident set (kB) of a command, through GNU time; undefined without it. */
async function maxRss(cmd: string, args: string[]): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", cmd, ...args],
      stdout: "null",
      stderr: "piped",
      env: { PERF_PAGER: "cat", PAGER: "cat" },
    }).output();
    if (!out.success) return undefined;
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
    const kb = Number(lines[lines.length - 1]);
    return Number.isFinite(kb) ? kb : undefined;
  } catch {
    return undefined;
  }
}

async function timePerf(args: string[], runs: number): Promise<number | undefined> {
  try {
    return (await timeIt(runs, async () => {
      const out = await new Deno.Command("perf", {
        args,
        stdout: "null",
        stderr: "null",
        env: { PERF_PAGER: "cat", PAGER: "cat" },
      }).output();
      if (!out.success) throw new Error(`perf ${args.join(" ")} failed`);
    })).ms;
  } catch {
    return undefined;
  }
}

/** Our perf-script text path in this process, output encoded and written to /dev/null. */
async function scriptText(
  path: string,
  digest?: TextDigest,
): Promise<{ samples: number; bytes: number }> {
  const out = await Deno.open("/dev/null", { write: true });
  let bytes = 0;
  try {
    const summary = await runPerfScript(path, {
      writeBytes: (chunk) => {
        let b = chunk;
        bytes += b.length;
        digest?.update(b);
        while (b.length > 0) b = b.subarray(out.writeSync(b));
      },
    });
    return { samples: summary.samples, bytes };
  } finally {
    out.close();
  }
}

/** Digest of `perf script -i FILE` stdout (untimed; checks the text rows print the same). */
async function perfScriptDigest(path: string): Promise<TextDigest | undefined> {
  try {
    const child = new Deno.Command("perf", {
      args: ["script", "-i", path],
      stdout: "piped",
      stderr: "null",
      env: { PERF_PAGER: "cat", PAGER: "cat" },
    }).spawn();
    const d = new TextDigest();
    for await (const chunk of child.stdout) d.update(chunk);
    return (await child.status).success ? d : undefined;
  } catch {
    return undefined;
  }
}

/** `deno run -A cli/script.ts -i FILE > /dev/null` as a child process. */
async function scriptCli(path: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli/script.ts", import.meta.url).pathname, "-q", "-i", path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`cli/script.ts failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

const runs = Number(values.runs ?? (values.quick ? "1" : "3"));
let path = values.input;
let temp: string | undefined;
if (!path) {
  temp = await Deno.makeTempFile({ suffix: ".data" });
  path = temp;
  const t0 = performance.now();
  await synthesizePerfData(values.seed!, synthMb, path, "bench/decode.ts");
  console.log(`synthesized ${path} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const size = (await Deno.stat(path)).size;
const mb = size / 1e6;

const walk = await timeIt(runs, async () => {
  let acc = 0;
  const stats = await forEachSampleInFile(path!, (s) => {
    for (let i = 0; i < s.callchainNr; i++) acc = (acc + (s.lo(i) ^ s.hi(i))) | 0;
  });
  return { samples: stats.samples, acc };
});
const samples = walk.value.samples;

const decodeRaw = await timeIt(runs, async () => {
  const file = await openPerfData(path!);
  const layouts = file.info.events.map((e) => SampleLayout.of(e.format));
  let n = 0;
  let acc = 0;
  await file.forEachRecord((r: RawRecord) => {
    if (r.type !== RecordType.SAMPLE || r.event === undefined || r.decoded !== undefined) return;
    const l = layouts[r.event.index]!;
    const v = r.view, at = r.offset;
    n++;
    if (l.tid >= 0) acc = (acc + v.getInt32(at + l.tid + 4, true)) | 0;
    if (l.time >= 0) acc = (acc ^ v.getUint32(at + l.time, true)) | 0;
    if (l.period >= 0) acc = (acc + v.getUint32(at + l.period, true)) | 0;
    if (l.callchain >= 0) {
      const nr = v.getUint32(at + l.callchain, true);
      for (let i = 0, p = at + l.callchain + 8; i < nr; i++, p += 8) {
        acc = (acc + (v.getUint32(p, true) ^ v.getUint32(p + 4, true))) | 0;
      }
    }
  });
  file.close();
  return { n, acc };
});

const decode = await timeIt(Math.min(runs, 2), async () => {
  const file = await openPerfData(path!);
  let n = 0;
  let frames = 0;
  for await (const r of file.records()) {
    if ("sample" in r.record) {
      n++;
      frames += r.record.sample.callchain?.length ?? 0;
    }
  }
  file.close();
  return { n, frames };
});

const rows: [string, number | undefined][] = [
  ["walk (forEachSampleInFile, callchains read)", walk.ms],
  ["decode raw (forEachRecord, ordered, fields)", decodeRaw.ms],
  ["decode (records(), ordered, full objects)", decode.ms],
];
let ourText: { ms: number; value: { samples: number; bytes: number } } | undefined;
let ourCli: number | undefined;
if (!values["no-script"]) {
  ourText = await timeIt(1, () => scriptText(path!));
  rows.push(["our script text (runPerfScript > /dev/null)", ourText.ms]);
  ourCli = (await timeIt(1, () => scriptCli(path!))).ms;
  rows.push(["our script CLI (deno run cli/script.ts)", ourCli]);
}
let perfScript: number | undefined;
if (!values["no-perf"]) {
  perfScript = await timePerf(["script", "-i", path], 1);
  rows.push(["perf script > /dev/null", perfScript]);
  rows.push([
    "perf report --stdio --no-children -g none",
    await timePerf(["report", "--stdio", "--no-children", "-g", "none", "-i", path], 1),
  ]);
}

console.log(
  `file: ${mb.toFixed(1)} MB, ${samples} samples (decode saw ${decode.value.n}, ` +
    `decode raw ${decodeRaw.value.n})`,
);
console.log("what".padEnd(46), "ms".padStart(9), "MB/s".padStart(9), "M samples/s".padStart(12));
for (const [name, ms] of rows) {
  if (ms === undefined) {
    console.log(name.padEnd(46), "n/a");
    continue;
  }
  console.log(
    name.padEnd(46),
    ms.toFixed(0).padStart(9),
    (mb / (ms / 1000)).toFixed(0).padStart(9),
    (samples / (ms / 1000) / 1e6).toFixed(2).padStart(12),
  );
}
let sameText: boolean | undefined;
if (ourText) {
  console.log(
    `our script text: ${ourText.value.samples} samples printed, ${
      (ourText.value.bytes / 1e6).toFixed(1)
    } MB of text`,
  );
  if (perfScript !== undefined && !values["no-check-text"]) {
    const ours = new TextDigest();
    await scriptText(path, ours);
    const theirs = await perfScriptDigest(path);
    sameText = theirs !== undefined && String(theirs) === String(ours);
    console.log(
      `text check (untimed): perf script ${theirs ?? "failed"}; ours ${ours} -> ${
        sameText ? "identical" : "DIFFERENT"
      }`,
    );
  }
}
for (const [name, ms] of rows.slice(3)) {
  if (ms === undefined || name.startsWith("our ")) continue;
  console.log(
    `ratio ${name} / walk = ${(ms / walk.ms).toFixed(1)}x; / decode = ${
      (ms / decode.ms).toFixed(1)
    }x (walk and decode print no text)`,
  );
}
if (perfScript !== undefined && ourText && ourCli !== undefined) {
  // The same file printed as the same text, both to /dev/null.
  const slower = (r: number) => `${r.toFixed(2)}x (${r > 1 ? "ours slower" : "ours faster"})`;
  const text = sameText === undefined
    ? "text not compared"
    : sameText
    ? "identical text"
    : "text DIFFERS";
  console.log(
    `ratio our script text / perf script = ${slower(ourText.ms / perfScript)} in process, ${
      slower(ourCli / perfScript)
    } as a process; ${text}`,
  );
}
if (!values["no-script"]) {
  const kb = (n: number | undefined) => (n === undefined ? "n/a" : `${(n / 1024).toFixed(0)} MB`);
  const ours = await maxRss(Deno.execPath(), [
    "run",
    "-A",
    new URL("../cli/script.ts", import.meta.url).pathname,
    "-q",
    "-i",
    path,
  ]);
  const theirs = values["no-perf"] ? undefined : await maxRss("perf", ["script", "-i", path]);
  console.log(`max RSS: our script CLI ${kb(ours)}, perf script ${kb(theirs)}`);
}
if (temp && !values.keep) await Deno.remove(temp);
else if (temp) console.log(`kept ${temp}`);
