import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  type Profile,
  ProfileBuilder,
  type SampleClass,
  type StackSample,
  TRUNCATED_FRAME,
} from "../analyze/profile.ts";
import { loadProfile } from "../analyze/load.ts";
import { openRecords } from "../analyze/symbolized.ts";
import {
  haveGcc,
  INLINE_PROGRAM,
  perfCanRecord,
  perfReportPart,
  recordDwarfProgram,
  runPerf,
} from "../testing/perf_tool.ts";
import { accountingLines, parseSortKeys, textReport } from "./text_report.ts";
import { formatPercent } from "./format.ts";
import { samplesFromScript } from "./_script_text_test_helper.ts";

const TESTDATA = new URL("../../testdata/", import.meta.url);

function sample(frames: string[], weight = 1, extra: Partial<StackSample> = {}): StackSample {
  return {
    frames: frames.map((sym) => ({ sym, dso: "/bin/prog", kernel: sym.startsWith("k_") })),
    weight,
    pid: 10,
    tid: 10,
    cpu: 0,
    comm: "prog",
    time: 0,
    context: "task",
    truncated: false,
    ...extra,
  };
}

Deno.test("formatPercent rounds exact ties to even like glibc printf", () => {
  assertEquals(formatPercent(0.125), "0.12");
  assertEquals(formatPercent(0.375), "0.38");
  assertEquals(formatPercent(12.625), "12.62");
  assertEquals(formatPercent(100), "100.00");
  assertEquals(formatPercent((370 * 100) / 401), "92.27");
  assertEquals(formatPercent(2 / 3), "0.67");
});

Deno.test("textReport --no-children on a hand-computed profile", () => {
  const b = new ProfileBuilder();
  for (let i = 0; i < 3; i++) b.add(sample(["leaf", "a", "main"]));
  b.add(sample(["leaf", "b", "main"]));
  b.add(sample(["b", "main"], 4));
  const report = textReport(b.build(), { sort: ["sym"] });
  const expected = [
    "# callring: samples read: 5, kept: 5, truncated stacks: 0",
    "# callring: lost: 0 events in LOST records, 0 in LOST_SAMPLES, 0 incomplete fragments, 0 damaged ranges (0 bytes)",
    "# To display the perf.data header info, please use --header/--header-only options.",
    "#",
    "#",
    "# Total Lost Samples: 0",
    "#",
    "# Samples: 5  of event 'cpu-clock'",
    "# Event count (approx.): 8",
    "#",
    "# Overhead  Symbol  ",
    "# ........  ........",
    "#",
    "    50.00%  [.] b",
    "            |",
    "            ---main",
    "",
    "    50.00%  [.] leaf",
    "            |          ",
    "            |--37.50%--a",
    "            |          main",
    "            |          ",
    "             --12.50%--b",
    "                       main",
    "",
    "",
    "",
    "",
  ].join("\n");
  assertEquals(report, expected);
});

Deno.test("textReport measures a data object's symbol by its name, not its +0x offset", () => {
  // hists__calc_col_len: symlen = sym->namelen + 4; _hist_entry__sym_snprintf then prints
  // "name+0x<offset>" for an STT_OBJECT symbol past that width (lpd__sleep.compressed.pipe.data)
  const b = new ProfileBuilder();
  const obj = {
    sym: "__start_rodata",
    dso: "[kernel.kallsyms]",
    kernel: true,
    objectOffset: 0x80314n,
  };
  b.add({ ...sample([]), frames: [obj], weight: 3 });
  b.add(sample(["k_short_fn"]));
  const lines = textReport(b.build(), { sort: ["sym"], callGraph: "none" }).split("\n");
  const at = lines.indexOf("# Overhead  Symbol            ");
  assertEquals(lines.slice(at, at + 5), [
    "# Overhead  Symbol            ",
    "# ........  ..................",
    "#",
    "    75.00%  [k] __start_rodata+0x80314",
    "    25.00%  [k] k_short_fn",
  ]);
});

Deno.test("textReport --children counts recursion once and shows caller graphs", () => {
  const b = new ProfileBuilder();
  b.add(sample(["leaf", "rec", "rec", "main"], 2));
  b.add(sample(["rec", "main"], 2));
  const r = textReport(b.build(), { sort: ["sym"], children: true, accountingHeader: false });
  const lines = r.split("\n");
  const entries = lines.filter((l) => /^ +\d/.test(l));
  // Equal children in one thread: perf puts the caller (longer callchain below it) first.
  assertEquals(entries, [
    "   100.00%     0.00%  [.] main",
    "   100.00%    50.00%  [.] rec",
    "    50.00%    50.00%  [.] leaf",
  ]);
  // rec: self 2 of 4 -> 50% self; children 4 of 4 -> 100%, not 150% under recursion.
  const rec = lines.find((l) => l.endsWith("[.] rec"))!;
  assertEquals(rec, "   100.00%    50.00%  [.] rec");
});

Deno.test("textReport sort keys comm,dso,sym and pid,cpu columns", () => {
  const b = new ProfileBuilder();
  b.add(sample(["leaf", "main"], 3, { cpu: 1 }));
  b.add({
    ...sample(["x"], 1),
    frames: [{ sym: "x", dso: "/usr/lib/libfoo.so.1", kernel: false }],
    cpu: -1,
  });
  const p = b.build();
  const r1 = textReport(p, {
    sort: parseSortKeys("comm,dso,sym"),
    callGraph: "none",
    accountingHeader: false,
  });
  const l1 = r1.split("\n");
  assertEquals(l1[8], "# Overhead  Command  Shared Object  Symbol  ");
  assertEquals(l1[9], "# ........  .......  .............  ........");
  assertEquals(l1[11], "    75.00%  prog     prog           [.] leaf");
  assertEquals(l1[12], "    25.00%  prog     libfoo.so.1    [.] x");
  const r2 = textReport(p, { sort: ["pid", "cpu"], callGraph: "none", accountingHeader: false });
  const l2 = r2.split("\n");
  assertEquals(l2[8], "# Overhead      Pid:Command  CPU");
  assertEquals(l2[11], "    75.00%       10:prog     001");
  assertEquals(l2[12], "    25.00%       10:prog     -001");
});

Deno.test("textReport --percent-limit hides entries and graph branches", () => {
  const b = new ProfileBuilder();
  for (let i = 0; i < 90; i++) b.add(sample(["leaf", "a", "main"]));
  for (let i = 0; i < 8; i++) b.add(sample(["leaf", "b", "main"]));
  b.add(sample(["other", "main"], 2));
  const r = textReport(b.build(), { sort: ["sym"], percentLimit: 5, accountingHeader: false });
  assertEquals(r.includes("[.] other"), false);
  assertEquals(r.includes(" --8.00%--b"), true);
  const r2 = textReport(b.build(), { sort: ["sym"], percentLimit: 10, accountingHeader: false });
  assertEquals(r2.includes("--b"), false);
  // a alone is left, but 90 of the entry's 98 differs from the parent: perf keeps the percent
  assertEquals(r2.includes("|--90.00%--a"), false);
  assertEquals(r2.includes(" --90.00%--a"), true);
});

for (const name of ["fp", "sys", "dwarf", "nocpu", "pipe"]) {
  for (const kind of ["self", "children"] as const) {
    const expectedUrl = new URL(`${name}.report-${kind}.txt`, TESTDATA);
    const scriptUrl = new URL(`${name}.script-sym.txt`, TESTDATA);
    Deno.test(`textReport matches perf report --stdio (${name}, ${kind})`, async (t) => {
      let expected: string, script: string;
      try {
        expected = await Deno.readTextFile(expectedUrl);
        script = await Deno.readTextFile(scriptUrl);
      } catch {
        await t.step({ name: "fixture missing", ignore: true, fn: () => {} });
        return;
      }
      const b = new ProfileBuilder();
      for (const s of samplesFromScript(script)) b.add(s);
      const children = expected.includes("# Children");
      const report = textReport(b.build(), {
        sort: ["sym"],
        children,
        callGraph: kind === "children" ? "caller" : "callee",
      });
      assertEquals(perfReportPart(report), perfReportPart(expected));
    });
  }
}

Deno.test("accountingLines: records lost to damage, counted and estimated", () => {
  const b = new ProfileBuilder();
  b.add(sample(["leaf", "main"]));
  b.lost.damagedRanges = 3;
  b.lost.damagedBytes = 240;
  b.lost.damagedRecords = 2;
  const lost =
    "# callring: lost: 0 events in LOST records, 0 in LOST_SAMPLES, 0 incomplete fragments, " +
    "3 damaged ranges (240 bytes)";
  assertEquals(accountingLines(b.build())[1], `${lost}, 2 records lost to damage`);
  b.lost.damagedEstimate = 5;
  assertEquals(accountingLines(b.build())[1], `${lost}, 2 records lost to damage + ~5 estimated`);
  b.lost.damagedRecords = 0;
  assertEquals(accountingLines(b.build())[1], `${lost}, 0 records lost to damage + ~5 estimated`);
});

Deno.test("textReport --children: equal overheads in one thread put callers first (perf's order)", () => {
  const b = new ProfileBuilder();
  b.add(sample(["b", "a", "main"], 2)); // leaf first
  b.add(sample(["x", "w"], 1, { tid: 11, pid: 11 }));
  b.add(sample(["z"], 1, { tid: 12, pid: 12 }));
  const r = textReport(b.build(), { sort: ["sym"], children: true, accountingHeader: false });
  const entries = r.split("\n").filter((l) => /^ +\d/.test(l));
  // b has the longest chain (the whole sample), main the longest below it, then a;
  // across threads perf falls back to self, then name.
  assertEquals(entries, [
    "    50.00%    50.00%  [.] b",
    "    50.00%     0.00%  [.] main",
    "    50.00%     0.00%  [.] a",
    "    25.00%    25.00%  [.] x",
    "    25.00%    25.00%  [.] z",
    "    25.00%     0.00%  [.] w",
  ]);
});

Deno.test("textReport --children: one thread per tid, whatever pid its samples give (machine__findnew_thread)", () => {
  const report = (pid: number) => {
    const b = new ProfileBuilder();
    b.add(sample(["p", "q"], 1, { tid: 7, pid: 7 }));
    b.add(sample(["r", "s", "t"], 1, { tid: 7, pid })); // a sample of tid 7 that says pid -1
    return textReport(b.build(), { sort: ["sym"], children: true, accountingHeader: false });
  };
  const entries = (r: string) => r.split("\n").filter((l) => /^ +\d/.test(l));
  // equal overheads of one thread: callers (deeper chains) first, t above p
  assertEquals(entries(report(-1)), entries(report(7)));
  assertEquals(entries(report(-1)).map((l) => l.slice(-1)), ["r", "t", "p", "q", "s"]);
});

Deno.test("textReport showSamples adds perf's -n Samples column of self sample counts", () => {
  const b = new ProfileBuilder();
  for (let i = 0; i < 3; i++) b.add(sample(["leaf", "main"], 2));
  b.add(sample(["main"], 2));
  const p = b.build();
  const self = textReport(p, {
    sort: ["sym"],
    callGraph: "none",
    showSamples: true,
    accountingHeader: false,
  }).split("\n");
  assertEquals(self.slice(8, 13), [
    "# Overhead       Samples  Symbol  ",
    "# ........  ............  ........",
    "#",
    "    75.00%             3  [.] leaf",
    "    25.00%             1  [.] main",
  ]);
  const children = textReport(p, {
    sort: ["sym"],
    children: true,
    callGraph: "none",
    showSamples: true,
    accountingHeader: false,
  }).split("\n");
  assertEquals(children.slice(8, 13), [
    "# Children      Self       Samples  Symbol  ",
    "# ........  ........  ............  ........",
    "#",
    "   100.00%    25.00%             1  [.] main",
    "    75.00%    75.00%             3  [.] leaf",
  ]);
});

Deno.test("textReport charges self time to the profile's stackSelf frame, not an inline leaf", () => {
  const b = new ProfileBuilder();
  const frame = (sym: string, inlined = false) => ({
    sym,
    dso: "/bin/prog",
    kernel: false,
    inlined,
  });
  const base = sample([], 3);
  b.add({ ...base, frames: [frame("mix", true), frame("outer"), frame("main")] });
  b.add({ ...base, weight: 1, frames: [frame("outer"), frame("main")] });
  const p = b.build();
  const outer = p.frames.find("user", "outer", "/bin/prog");
  const profile = Object.assign(p, { stackSelf: Int32Array.of(outer, -1) });
  const self = textReport(profile, { sort: ["sym"], accountingHeader: false }).split("\n");
  assertEquals(self.slice(11), [
    "   100.00%  [.] outer",
    "            |          ",
    "            |--75.00%--mix (inlined)",
    "            |          outer",
    "            |          main",
    "            |          ",
    "             --25.00%--outer",
    "                       main",
    "",
    "",
    "",
    "",
  ]);
  const children = textReport(profile, {
    sort: ["sym"],
    children: true,
    callGraph: "none",
    accountingHeader: false,
  });
  assertEquals(children.split("\n").filter((l) => /^ +\d/.test(l)), [
    "   100.00%   100.00%  [.] outer",
    "   100.00%     0.00%  [.] main",
    "    75.00%     0.00%  [.] mix (inlined)",
  ]);
});

const PERF_RECORDS = await perfCanRecord();

/**
 * The self frames perf uses, as the loader would give them: the symbol of
 * each sample's own address (perf's `al->sym`), found through the session.
 */
async function perfSelfFrames(path: string, profile: Profile): Promise<Int32Array> {
  const t = profile.frames;
  const classKey = (c: Omit<SampleClass, "context"> & { context?: unknown }) =>
    `${c.pid}/${c.tid}/${c.cpu}/${c.comm}/${c.context}`;
  const recordOf = new Map<string, number>();
  for (let i = 0; i < profile.stackCount; i++) {
    const path = profile.pathOf(profile.stackNode[i]).join(",");
    recordOf.set(path + "|" + classKey(profile.classes[profile.stackClass[i]]), i);
  }
  const stackSelf = new Int32Array(profile.stackCount).fill(-1);
  const input = await openRecords(path);
  for await (const item of input) {
    if (item.kind !== "sample") continue;
    const s = item.sample;
    const ids = s.frames.map((f) => t.intern(f)).reverse();
    if (s.truncated) ids.unshift(t.internMarker(TRUNCATED_FRAME, "truncated"));
    const record = recordOf.get(ids.join(",") + "|" + classKey(s));
    const r = input.session.symbolizer.resolve(input.session.spaces, s.pid, s.ip, s.cpumode);
    if (record === undefined || r.sym === undefined) continue;
    stackSelf[record] = t.intern({
      sym: r.sym,
      dso: r.map ? r.dso : undefined,
      ip: r.printedIp,
      kernel: (s.cpumode & 7) === 1,
    });
  }
  return stackSelf;
}

Deno.test({
  name: "textReport with perf's self frames equals perf report on inline leaves (live dwarf)",
  ignore: !PERF_RECORDS || !haveGcc(),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await recordDwarfProgram(dir, "inl", INLINE_PROGRAM, ["-O2", "-g"], ["3000"]);
    const { profile } = await loadProfile(data);
    const withSelf = Object.assign(profile, { stackSelf: await perfSelfFrames(data, profile) });
    // Only self entries (real symbols): perf's comparisons are a strict order there.
    for (const sort of ["sym", "comm,dso,sym"]) {
      const perf = await runPerf([
        "report",
        "-i",
        data,
        "--stdio",
        "--no-children",
        "--sort",
        sort,
      ]);
      assertEquals(perf.code, 0, perf.stderr);
      assertEquals(perf.stdout.includes("[.] outer"), true, "perf charges self time to outer");
      const ours = textReport(withSelf, { sort: parseSortKeys(sort), children: false });
      assertEquals(perfReportPart(ours), perfReportPart(perf.stdout));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("call graph: an unmapped address is one node whether it came as [k] or [.] (match_chain)", () => {
  // perf gives a frame with no map the sample's cpumode: the same address 0 under a kernel
  // and a user sample. match_chain compares map and address only, so the graph has one node.
  const b = new ProfileBuilder();
  const zero = (kernel: boolean) => ({ ip: 0n, kernel });
  for (const kernel of [false, false, false, true]) {
    b.add({
      ...sample([]),
      frames: [{ sym: "leaf", dso: "/bin/prog", kernel: false }, zero(kernel)],
    });
  }
  const text = textReport(b.build(), { children: false, sort: ["sym"], callGraph: "callee" });
  const graph = text.split("\n").filter((l) => l.trimStart().startsWith("---"));
  // one single root under leaf: printed without a percentage, as perf's "---0"
  assertEquals(graph, ["            ---0"]);
});
