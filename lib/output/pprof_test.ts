import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { Profile as PprofProfile } from "pprof-format";
import { loadProfile } from "../analyze/load.ts";
import type { LoadOptions } from "../analyze/load_options.ts";
import { type Profile, ProfileBuilder } from "../analyze/profile.ts";
import { sampleOf } from "../analyze/_test_samples.ts";
import {
  fixture,
  fixtureEnv,
  fixtureSymbolOptions,
  perfAvailable,
  perfCanRecord,
  type PerfRun,
  recordBurn,
  runPerf,
  runPerfFixture,
} from "../testing/perf_tool.ts";
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

Deno.test("pprof: an inlined frame without its containing function at its address is a location", () => {
  // perf 6.1 marks a DWARF entry's only inline node (inlined) when addr2line names another
  // function than the ELF symbol: glibc's __libc_start_main_impl under _start
  const libc = "/usr/lib/libc.so.6";
  const frames = [
    { sym: "inner", dso: "/bin/prog", kernel: false, inlined: true, ip: 0x1200n },
    { sym: "outer", dso: "/bin/prog", kernel: false, ip: 0x1200n },
    { sym: "__libc_start_call_main", dso: libc, kernel: false, ip: 0x7f0000027249n },
    { sym: "__libc_start_main_impl", dso: libc, kernel: false, inlined: true, ip: 0x7f0000027304n },
    { sym: "_start", dso: "/bin/prog", kernel: false, ip: 0x10d0n },
  ];
  const want = [
    [0x1200, ["inner", "outer"]],
    [0x7f0000027249, ["__libc_start_call_main"]],
    [0x7f0000027304, ["__libc_start_main_impl"]],
    [0x10d0, ["_start"]],
  ];
  for (const perAddress of [true, false]) {
    const b = new ProfileBuilder({ perAddress });
    b.add({ ...sampleOf([]), frames, weight: 9 });
    const p = decode(pprofBytes(b.build()));
    const s = (i: number | bigint) => p.stringTable.strings[Number(i)];
    const fnName = new Map(p.function.map((f) => [Number(f.id), s(f.name)]));
    const loc = new Map(p.location.map((l) => [Number(l.id), l]));
    const got = p.sample[0].locationId.map((id) => {
      const l = loc.get(Number(id))!;
      return [Number(l.address), l.line.map((x) => fnName.get(Number(x.functionId)))];
    });
    eq(got, want);
  }
  // in a per-address table an inlined frame at another address of the same object stands alone
  const b = new ProfileBuilder({ perAddress: true });
  b.add({ ...sampleOf([]), frames: [frames[0], { ...frames[1], ip: 0x1300n }], weight: 1 });
  eq(decode(pprofBytes(b.build())).location.map((l) => [Number(l.address), l.line.length]), [
    [0x1200, 1],
    [0x1300, 1],
  ]);
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

/**
 * Our stacks keyed like {@linkcode pprofTraces}. With `inlineMarks` (a per-address profile),
 * an inlined frame is marked ` (inline)` as pprof marks a location's inner lines: when its
 * caller is at its address (perf expanded it there); one perf left without its containing
 * function is a location, and so a line, of its own.
 */
function ourTraces(profile: Profile, inlineMarks: boolean): Map<string, number> {
  const out = new Map<string, number>();
  const t = profile.frames;
  for (let i = 0; i < profile.stackCount; i++) {
    const path = profile.pathOf(profile.stackNode[i]);
    const names = path.map((f, j) => {
      const caller = path[j - 1];
      const inner = inlineMarks && t.inlined[f] && caller !== undefined &&
        t.dsos[caller] === t.dsos[f] && t.addrs[caller] === t.addrs[f];
      return t.names[f] + (inner ? " (inline)" : "");
    });
    const key = [profile.classes[profile.stackClass[i]].comm, ...names].join(";");
    out.set(key, (out.get(key) ?? 0) + profile.stackWeight[i]);
  }
  return out;
}

/**
 * `go tool pprof -tags -unit=ns`: per label key, the weight of each value (pprof prints the
 * numeric labels in the output unit too, `11168ns`: the suffix is dropped).
 */
function pprofTags(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  let current: Map<string, number> | undefined;
  for (const line of text.split("\n")) {
    const head = /^ (\w+): Total /.exec(line);
    if (head) out.set(head[1], current = new Map());
    const m = /^\s+([\d.]+)ns \(\s*[\d.]+%\): (.*)$/.exec(line);
    if (m && current) current.set(m[2].replace(/^(\d+)ns$/, "$1"), Number(m[1]));
  }
  return out;
}

/** Our weight per comm, pid, tid and cpu value (cpu only when recorded). */
function ourTags(profile: Profile): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (let i = 0; i < profile.stackCount; i++) {
    const c = profile.classes[profile.stackClass[i]];
    const values: [string, string][] = [["comm", c.comm], ["pid", `${c.pid}`], ["tid", `${c.tid}`]];
    if (c.cpu >= 0) values.push(["cpu", `${c.cpu}`]);
    for (const [key, value] of values) {
      if (!out.has(key)) out.set(key, new Map());
      const m = out.get(key)!;
      m.set(value, (m.get(value) ?? 0) + profile.stackWeight[i]);
    }
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
    // the report's stacks and weights; the inline lines as the per-address profile has them
    const unmarked = new Map<string, number>();
    for (const [k, v] of traces) {
      const key = k.replaceAll(" (inline)", "");
      unmarked.set(key, (unmarked.get(key) ?? 0) + v);
    }
    eq(sorted(unmarked), sorted(ourTraces(profile, false)));
    eq(sorted(traces), sorted(ourTraces(perAddress, true)));
    ok(perAddress.frames.perAddress && !profile.frames.perAddress);
    // every sample carries its labels, 0 included (swapper's pid, cpu 0)
    const tags = pprofTags(await goPprof(["-tags", "-unit=ns", file]));
    const want = ourTags(profile);
    eq([...tags.keys()].sort(), [...want.keys()].sort());
    for (const [key, values] of want) eq(sorted(tags.get(key)!), sorted(values), key);
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

// ---- per-address locations and mappings, checked against perf's own view of the file ----

/** Runs perf on the input: the fixture's symbols, or the machine's for a live recording. */
type PerfRunner = (args: string[]) => Promise<PerfRun>;

/** Mappings of `go tool pprof -raw`: `id: start/limit/offset file [build-id] [flags]`. */
function rawMappings(text: string): Map<number, { range: string; file: string; buildId: string }> {
  const out = new Map<number, { range: string; file: string; buildId: string }>();
  const at = text.indexOf("\nMappings\n");
  ok(at >= 0, text);
  for (const line of text.slice(at + 10).split("\n")) {
    const m = /^(\d+): (0x[0-9a-f]+\/0x[0-9a-f]+\/0x[0-9a-f]+) (\S+) ?(\S*)/.exec(line);
    if (m) {
      m[4].startsWith("[")
        ? out.set(Number(m[1]), { range: m[2], file: m[3], buildId: "" })
        : out.set(Number(m[1]), { range: m[2], file: m[3], buildId: m[4] });
    }
  }
  return out;
}

/** Locations of `go tool pprof -raw`: address and mapping id. */
function rawLocations(text: string): { address: bigint; mapping: number }[] {
  const out: { address: bigint; mapping: number }[] = [];
  const from = text.indexOf("\nLocations\n");
  const to = text.indexOf("\nMappings\n");
  for (const line of text.slice(from, to).split("\n")) {
    const m = /^\s+\d+: (0x[0-9a-f]+) M=(\d+)/.exec(line);
    if (m) out.push({ address: BigInt(m[1]), mapping: Number(m[2]) });
  }
  return out;
}

/**
 * `start/limit/offset` of every MMAP/MMAP2 record perf script shows, by file name, with the
 * build-id an MMAP2 record carries (`<id>`, "" when none).
 */
async function perfMmaps(
  data: string,
  run: PerfRunner,
): Promise<Map<string, Map<string, string>>> {
  const r = await run(["script", "-i", data, "--show-mmap-events", "-F", "ip"]);
  eq(r.code, 0, r.stderr);
  const out = new Map<string, Map<string, string>>();
  for (const line of r.stdout.split("\n")) {
    const m =
      /PERF_RECORD_MMAP2? \S+: \[0x([0-9a-f]+)\(0x([0-9a-f]+)\) @ (0x[0-9a-f]+|0)(?: <([0-9a-f]+)>)?[ \]].*?: \S+ (.*)$/
        .exec(line);
    if (!m) continue;
    const start = BigInt("0x" + m[1]);
    const file = m[5].replace(/^\[kernel\.kallsyms\]_text$/, "[kernel.kallsyms]");
    const range = `0x${start.toString(16)}/0x${(start + BigInt("0x" + m[2])).toString(16)}/0x${
      BigInt(m[3]).toString(16)
    }`;
    if (!out.has(file)) out.set(file, new Map());
    out.get(file)!.set(range, m[4] ?? "");
  }
  return out;
}

/** `perf buildid-list`: build-id by file name. */
async function perfBuildIds(
  data: string,
  env: Record<string, string>,
): Promise<Map<string, string>> {
  const r = await runPerf(["buildid-list", "-i", data], undefined, env);
  eq(r.code, 0, r.stderr);
  const out = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^([0-9a-f]+) (.*)$/.exec(line);
    if (m) out.set(m[2], m[1]);
  }
  return out;
}

/** Self period per sample address (the sample's ip), from `perf script -G -F period,ip`. */
async function perfSelfByAddress(data: string, run: PerfRunner): Promise<Map<bigint, number>> {
  const r = await run(["script", "-i", data, "-G", "-F", "period,ip"]);
  eq(r.code, 0, r.stderr);
  const out = new Map<bigint, number>();
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*(\d+)\s+([0-9a-f]+)\s*$/.exec(line);
    if (m) {
      const ip = BigInt("0x" + m[2]);
      out.set(ip, (out.get(ip) ?? 0) + Number(m[1]));
    }
  }
  return out;
}

/** Flat value per address of `go tool pprof -top -addresses`. */
function pprofFlatByAddress(text: string): Map<bigint, number> {
  const out = new Map<bigint, number>();
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)ns\s+\S+%\s+\S+%\s+\S+\s+\S+%\s+([0-9a-f]{16}) /.exec(line);
    if (m) {
      const ip = BigInt("0x" + m[2]);
      out.set(ip, (out.get(ip) ?? 0) + Number(m[1]));
    }
  }
  return out;
}

/**
 * Each sample's callchain as `go tool pprof -raw` has it, weighted by its event value: one
 * `ip*lines` group per location, the address as perf script prints it (what pprof
 * symbolizes: `address - memory_start + file_offset` in a file's mapping, the address itself
 * in the kernel's, pseudo objects' and perf JIT maps', and without a mapping), marker locations
 * (`[truncated]`, ...) left out.
 */
function rawStacks(text: string): Map<string, number> {
  const mappings = rawMappings(text);
  const printed = new Map<number, string>();
  const from = text.indexOf("\nLocations\n");
  const to = text.indexOf("\nMappings\n");
  let last: { id: number; address: bigint; mapping: number; lines: number; marker: boolean };
  let open = false;
  const done = () => {
    if (!open || last.marker) return;
    const m = mappings.get(last.mapping);
    if (m === undefined) return printed.set(last.id, `${last.address.toString(16)}*${last.lines}`);
    const [start, , offset] = m.range.split("/").map((x) => BigInt(x));
    const identity = (m.file.startsWith("[") && m.file !== "[vdso]") ||
      /^\/tmp\/perf-\d+\.map$/.test(m.file) || start === 0n;
    const ip = identity ? last.address : last.address - start + offset;
    printed.set(last.id, `${ip.toString(16)}*${last.lines}`);
  };
  for (const line of text.slice(from, to).split("\n").slice(2)) {
    const loc = /^\s+(\d+): (0x[0-9a-f]+)(?: M=(\d+))? (.*)$/.exec(line);
    if (loc) {
      done();
      open = true;
      last = {
        id: Number(loc[1]),
        address: BigInt(loc[2]),
        mapping: Number(loc[3] ?? 0),
        lines: 1,
        marker: /^\[(truncated|nmi|hardirq|softirq)\] :0 /.test(loc[4]),
      };
    } else if (line.trim() !== "" && open) last!.lines++;
  }
  done();
  const out = new Map<string, number>();
  const samples = text.slice(text.indexOf("\nSamples:\n"), from);
  for (const line of samples.split("\n")) {
    const m = /^\s+\d+\s+(\d+): ([\d ]+)$/.exec(line);
    if (!m) continue;
    const key = m[2].trim().split(" ").map(Number).filter((id) => printed.has(id))
      .map((id) => printed.get(id)).join(" ");
    out.set(key, (out.get(key) ?? 0) + Number(m[1]));
  }
  return out;
}

/**
 * The same from `perf script -F period,ip,dso`: the lines of one callchain entry are the
 * `(inlined)` lines perf expanded at its ip and the entry's own line at the same ip (an
 * inlined line followed by another address stands alone).
 */
async function perfStacks(data: string, run: PerfRunner): Promise<Map<string, number>> {
  const r = await run(["script", "-i", data, "-F", "period,ip,dso"]);
  eq(r.code, 0, r.stderr);
  const out = new Map<string, number>();
  const add = (period: number, groups: { ip: string; lines: number }[]) => {
    if (groups.length === 0) return;
    const key = groups.map((g) => `${g.ip}*${g.lines}`).join(" ");
    out.set(key, (out.get(key) ?? 0) + period);
  };
  let period = 0;
  let groups: { ip: string; lines: number; open: boolean }[] = [];
  for (const line of r.stdout.split("\n")) {
    const head = /^\s*(\d+)\s*$/.exec(line);
    if (head) {
      add(period, groups);
      period = Number(head[1]);
      groups = [];
      continue;
    }
    const m = /^\s+([0-9a-f]+) \((.*)\)$/.exec(line);
    if (!m) continue;
    const g = groups[groups.length - 1];
    const inlined = m[2] === "inlined";
    if (g !== undefined && g.open && g.ip === m[1]) {
      g.lines++;
      g.open = inlined;
    } else groups.push({ ip: m[1], lines: 1, open: inlined });
  }
  add(period, groups);
  return out;
}

/**
 * The -raw / -addresses checks on one input (perf run by `run`, buildid-list with `env`); at
 * least `expectIds` mappings (or all) carry a build-id.
 */
async function checkAddresses(
  data: string,
  run: PerfRunner,
  env: Record<string, string>,
  symbols: LoadOptions,
  expectIds = 1,
): Promise<void> {
  const { profile, buildIds } = await loadProfile(data, { ...symbols, perAddress: true });
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/out.pb.gz`;
    await Deno.writeFile(file, pprofBytes(profile, { eventName: "cpu-clock", buildIds }));
    const raw = await goPprof(["-raw", file]);
    // every callchain: per entry its address (through its mapping) and inline lines, as perf
    const stacks = rawStacks(raw);
    ok(stacks.size > 1);
    eq(sorted(stacks), sorted(await perfStacks(data, run)));
    const mappings = rawMappings(raw);
    ok(mappings.size > 0, raw);
    const mmaps = await perfMmaps(data, run);
    const ids = await perfBuildIds(data, env);
    let withIds = 0;
    for (const m of mappings.values()) {
      const records = mmaps.get(m.file);
      ok(records?.has(m.range), `${m.file} ${m.range} not in ${[...records?.keys() ?? []]}`);
      // perf buildid-list names the objects with sample hits; the MMAP2 record any other
      eq(m.buildId, ids.get(m.file) ?? records?.get(m.range), m.file);
      if (m.buildId !== "") withIds++;
    }
    ok(withIds >= Math.min(expectIds, mappings.size), `${withIds} mappings with build-ids`);
    ok(
      [...mappings.values()].some((m) => m.file === "[kernel.kallsyms]") ||
        !data.endsWith("fp.data"),
    );
    const locations = rawLocations(raw);
    ok(locations.length > 0);
    for (const l of locations) {
      const m = mappings.get(l.mapping);
      if (m === undefined) continue; // marker frames
      const [start, limit] = m.range.split("/").map((x) => BigInt(x));
      ok(l.address >= start && l.address < limit, `0x${l.address.toString(16)} in ${m.range}`);
    }
    // one location per distinct address: more than one function-level location somewhere
    eq(new Set(locations.map((l) => l.address)).size, locations.length);
    const top = await goPprof([
      "-top",
      "-addresses",
      "-nodecount=1000000",
      "-nodefraction=0",
      "-unit=ns",
      file,
    ]);
    const flat = pprofFlatByAddress(top);
    const want = await perfSelfByAddress(data, run);
    ok(want.size > 1);
    eq(
      sorted(new Map([...flat].map(([k, v]) => [k.toString(16), v]))),
      sorted(new Map([...want].map(([k, v]) => [k.toString(16), v]))),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const name of ["fp", "dwarf"]) {
  Deno.test(
    {
      name: `go tool pprof -raw/-addresses on ${name}.data: mappings as the MMAP records, ` +
        "locations per address, flat per address as perf script",
      ignore: !GO || !(await perfAvailable()),
    },
    () =>
      checkAddresses(fixture(`${name}.data`), runPerfFixture, fixtureEnv(), fixtureSymbolOptions()),
  );
}

Deno.test({
  name:
    "go tool pprof -raw/-addresses on a live perf recording: mappings and flat per address as perf",
  ignore: !GO || !(await perfCanRecord()),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordBurn(dir, ["-g", "-F", "2000"], 150);
    await checkAddresses(data, (args) => runPerf(args), {}, {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "go tool pprof -raw on a live perf record --buildid-mmap: build-ids from the MMAP2 records",
  ignore: !GO || !(await perfCanRecord()),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    // no build-id table: every id comes from an MMAP2 record (burn, ld.so, libc, the kernel)
    const data = await recordBurn(dir, ["-g", "-F", "2000", "--buildid-mmap"], 150);
    await checkAddresses(data, (args) => runPerf(args), {}, {}, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
