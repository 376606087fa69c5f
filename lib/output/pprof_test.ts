import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { Profile as PprofProfile } from "pprof-format";
import { loadProfile } from "../analyze/load.ts";
import { type Profile, ProfileBuilder } from "../analyze/profile.ts";
import { sampleOf } from "../analyze/_test_samples.ts";
import { fixture, fixtureSymbolOptions, perfCanRecord, recordBurn } from "../testing/perf_tool.ts";
import { pprofBytes, pprofUnit } from "./pprof.ts";
import { parseSortKeys, textReport } from "./text_report.ts";

function decode(bytes: Uint8Array): PprofProfile {
  return PprofProfile.decode(gunzipSync(bytes));
}

Deno.test("pprof: sample types, labels, functions, mappings with build ids", () => {
  const b = new ProfileBuilder();
  b.add(sampleOf(["main", "run", "leaf"], 500_000));
  b.add(sampleOf(["main", "run", "leaf"], 500_000));
  b.add(sampleOf(["main", "k_entry", "k_sys"], 250_000, { comm: "other", pid: 7, tid: 8, cpu: 1 }));
  const profile = b.build();
  const p = decode(pprofBytes(profile, {
    eventName: "cpu-clock",
    buildIds: new Map([["/bin/prog", "0123abcd"]]),
  }));
  const s = (i: number | bigint) => p.stringTable.strings[Number(i)];
  eq(p.sampleType.map((t) => `${s(t.type)}/${s(t.unit)}`), [
    "samples/count",
    "cpu-clock/nanoseconds",
  ]);
  eq(s(p.defaultSampleType), "cpu-clock");
  eq(p.sample.length, 2);
  const total = p.sample.reduce((a, x) => a + Number(x.value[1]), 0);
  eq(total, profile.totalWeight);
  eq(p.sample.reduce((a, x) => a + Number(x.value[0]), 0), 3);
  const fnName = new Map(p.function.map((f) => [Number(f.id), s(f.name)]));
  const locFns = new Map(
    p.location.map((l) => [Number(l.id), l.line.map((x) => fnName.get(Number(x.functionId)))]),
  );
  const stacks = p.sample.map((x) => {
    const labels = Object.fromEntries(
      x.label.map((l) => [s(l.key), Number(l.str) ? s(l.str) : Number(l.num)]),
    );
    return { stack: x.locationId.map((id) => locFns.get(Number(id))!.join("+")), labels };
  });
  eq(stacks, [
    { stack: ["leaf", "run", "main"], labels: { comm: "prog", pid: 10, tid: 10, cpu: 0 } },
    { stack: ["k_sys", "k_entry", "main"], labels: { comm: "other", pid: 7, tid: 8, cpu: 1 } },
  ]);
  const maps = p.mapping.map((m) => [s(m.filename), s(m.buildId)]);
  eq(maps, [["/bin/prog", "0123abcd"], ["[kernel.kallsyms]", ""]]);
  eq(pprofUnit("cycles:u"), "count");
  eq(pprofUnit("task-clock"), "nanoseconds");
});

Deno.test("pprof: inlined frames become line entries of their caller's location", () => {
  const b = new ProfileBuilder();
  b.add({
    ...sampleOf([]),
    frames: [
      { sym: "inner", dso: "/bin/prog", kernel: false, inlined: true, ip: 0x1200n },
      { sym: "mid", dso: "/bin/prog", kernel: false, inlined: true, ip: 0x1200n },
      { sym: "outer", dso: "/bin/prog", kernel: false, ip: 0x1200n },
      { sym: "main", dso: "/bin/prog", kernel: false, ip: 0x1300n },
    ],
    weight: 9,
  });
  const p = decode(pprofBytes(b.build()));
  const s = (i: number | bigint) => p.stringTable.strings[Number(i)];
  const fnName = new Map(p.function.map((f) => [Number(f.id), s(f.name)]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  const got = p.sample[0].locationId.map((id) => {
    const l = loc.get(Number(id))!;
    return [Number(l.address), l.line.map((x) => fnName.get(Number(x.functionId)))];
  });
  eq(got, [[0x1200, ["inner", "mid", "outer"]], [0x1300, ["main"]]]);
});

// ---- the real consumer: go tool pprof ----

function haveGo(): boolean {
  try {
    return new Deno.Command("go", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const GO = haveGo();

async function goPprof(args: string[]): Promise<string> {
  const out = await new Deno.Command("go", {
    args: ["tool", "pprof", ...args],
    env: { PPROF_TMPDIR: Deno.env.get("TMPDIR") ?? "/tmp", HOME: Deno.env.get("HOME") ?? "/tmp" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`go tool pprof failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** Unresolved addresses print as 0x%016x in perf report, 0x%x in pprof names. */
function normalName(name: string): string {
  const m = /^0x0*([0-9a-f]+)$/.exec(name);
  return m ? `0x${m[1]}` : name;
}

/** `pct name` of each self entry of the perf-style report (--no-children --sort sym). */
function reportSelf(profile: Profile): string[] {
  const text = textReport(profile, {
    children: false,
    sort: parseSortKeys("sym"),
    callGraph: "none",
    accountingHeader: false,
  });
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s+(\d+\.\d+)%\s+\[[.kgu]\] (.*?)\s*$/.exec(line);
    if (m && m[1] !== "0.00") out.push(`${m[1]}% ${normalName(m[2])}`);
  }
  return out.sort();
}

/** `flat% name` of each function with flat time in `go tool pprof -top`. */
function pprofTop(text: string): { entries: string[]; total: string } {
  const lines = text.split("\n");
  const total = /Total samples = (\S+)/.exec(text)?.[1] ?? "";
  const start = lines.findIndex((l) => /^\s+flat\s+flat%/.test(l));
  ok(start >= 0, text);
  const entries: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^\s*(\S+)\s+(\S+)%\s+\S+%\s+\S+\s+\S+%\s+(.*)$/.exec(line);
    if (m && m[1] !== "0") entries.push(`${Number(m[2]).toFixed(2)}% ${normalName(m[3])}`);
  }
  return { entries: entries.sort(), total };
}

/** Stacks of `go tool pprof -traces` (comm first, root-first) with summed values. */
function pprofTraces(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const block of text.split(/^-+\+-+$/m).slice(1)) {
    let comm = "";
    let value = 0;
    const frames: string[] = [];
    for (const line of block.split("\n")) {
      const label = /^\s+(\w+):\s+(.*)$/.exec(line);
      if (label) {
        if (label[1] === "comm") comm = label[2];
        continue;
      }
      const first = /^\s*(\d+)ns\s+(.*)$/.exec(line);
      if (first) {
        value = Number(first[1]);
        frames.push(first[2]);
      } else if (line.trim() !== "") frames.push(line.trim());
    }
    if (frames.length === 0) continue;
    const key = [comm, ...frames.reverse().map(normalName)].join(";");
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

/** Our stacks keyed like {@linkcode pprofTraces} (pprof marks inlined lines ` (inline)`). */
function ourTraces(profile: Profile): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < profile.stackCount; i++) {
    const t = profile.frames;
    const names = profile.pathOf(profile.stackNode[i]).map((f) =>
      t.names[f] + (t.inlined[f] ? " (inline)" : "")
    );
    const key = [profile.classes[profile.stackClass[i]].comm, ...names].join(";");
    out.set(key, (out.get(key) ?? 0) + profile.stackWeight[i]);
  }
  return out;
}

const sorted = (m: Map<string, number>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));

async function checkWithGo(data: string): Promise<void> {
  // A committed fixture is symbolized from its own symbols (testdata/symbols).
  const onFixture = data.startsWith(fixture(""));
  const symbols = onFixture ? fixtureSymbolOptions() : {};
  const { profile, info } = await loadProfile(data, symbols);
  ok(profile.samples > 0);
  // what `report --pprof` encodes: the per-address profile of the same input
  const perAddress = (await loadProfile(data, { ...symbols, perAddress: true })).profile;
  ok(perAddress.frames.size >= profile.frames.size);
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/out.pb.gz`;
    const buildIds = new Map((info.perf?.buildIds ?? []).map((b) => [b.filename, b.buildId]));
    await Deno.writeFile(file, pprofBytes(perAddress, { eventName: "cpu-clock", buildIds }));
    const top = pprofTop(
      await goPprof(["-top", "-nodecount=1000000", "-nodefraction=0", "-unit=ns", file]),
    );
    eq(top.total, `${profile.totalWeight}ns`);
    eq(top.entries, reportSelf(profile));
    const traces = pprofTraces(await goPprof(["-traces", "-unit=ns", file]));
    eq(sorted(traces), sorted(ourTraces(profile)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const name of ["fp", "sys", "nocpu", "pipe", "dwarf"]) {
  Deno.test({
    name: `go tool pprof -top/-traces equal report's self column and stacks on ${name}.data`,
    ignore: !GO,
  }, () => checkWithGo(fixture(`${name}.data`)));
}

Deno.test({
  name: "go tool pprof -top/-traces equal report on a live perf recording",
  ignore: !GO || !(await perfCanRecord()),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    await checkWithGo(await recordBurn(dir, ["-g", "--sample-cpu", "-F", "2000"], 150));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
