import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ProfileBuilder, type StackSample } from "../analyze/profile.ts";
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

/** Drops our accounting lines and perf's random tip trailer; sorts tied entry blocks. */
function normalise(report: string): string {
  let lines = report.split("\n").filter((l) => !l.startsWith("# callring:"));
  const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
  if (tip > 0) lines = lines.slice(0, tip - 1);
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  const headerEnd = lines.indexOf("#", lines.findIndex((l) => l.startsWith("# ....")));
  const head = lines.slice(0, headerEnd + 1);
  const blocks: string[][] = [];
  for (const l of lines.slice(headerEnd + 1)) {
    if (/^ +\d+\.\d\d%/.test(l)) blocks.push([l]);
    else if (blocks.length) blocks[blocks.length - 1].push(l);
  }
  const pct = (b: string[]) => b[0].trim().split(/\s+/).filter((x) => x.endsWith("%")).join(" ");
  const sorted: string[][] = [];
  for (let i = 0; i < blocks.length;) {
    let j = i;
    while (j < blocks.length && pct(blocks[j]) === pct(blocks[i])) j++;
    const group = blocks.slice(i, j).map((b) => b.join("\n").replace(/\n+$/, ""));
    sorted.push(group.sort());
    i = j;
  }
  return [...head, ...sorted.flat()].join("\n");
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

Deno.test("textReport --children counts recursion once and shows caller graphs", () => {
  const b = new ProfileBuilder();
  b.add(sample(["leaf", "rec", "rec", "main"], 2));
  b.add(sample(["rec", "main"], 2));
  const r = textReport(b.build(), { sort: ["sym"], children: true, accountingHeader: false });
  const lines = r.split("\n");
  const entries = lines.filter((l) => /^ +\d/.test(l));
  assertEquals(entries, [
    "   100.00%    50.00%  [.] rec",
    "   100.00%     0.00%  [.] main",
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
      assertEquals(normalise(report), normalise(expected));
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
