import assert from "node:assert/strict";
import { loadProfile } from "../analyze/load.ts";
import { ProfileBuilder } from "../analyze/profile.ts";
import { corpusFile, fixture, fixtureSymbolOptions } from "../testing/perf_tool.ts";
import { textReport } from "./text_report.ts";
import { TraceTexts } from "./trace_report.ts";

/** A profile of samples with these payload texts, each of one leaf frame under `main`. */
function profileOf(texts: readonly string[], weights = texts.map(() => 1)) {
  const b = new ProfileBuilder();
  texts.forEach((trace, i) => {
    b.add({
      frames: [{ sym: "schedule", dso: "[kernel.kallsyms]", ip: 2n, kernel: true }, {
        sym: "main",
        dso: "/bin/p",
        ip: 1n,
        kernel: false,
      }],
      weight: weights[i],
      pid: 1,
      tid: 1,
      cpu: 0,
      comm: "p",
      time: i,
      context: "task",
      truncated: false,
      trace,
    });
  });
  return b.build();
}

const body = (text: string) => text.split("\n").filter((l) => l !== "" && l !== "#");

Deno.test("--sort trace: by weight then text; the column as wide as the texts perf compared", () => {
  const p = profileOf(["prev_comm=b next_comm=a", "prev_comm=a next_comm=b", "prev_comm=c"], [
    1,
    1,
    2,
  ]);
  const text = textReport(p, {
    sort: ["trace"],
    children: false,
    callGraph: "none",
    eventName: "sched:sched_switch",
  });
  assert.deepEqual(body(text).slice(-5), [
    "# Overhead  Trace output           ",
    "# ........  .......................",
    "    50.00%  prev_comm=c",
    "    25.00%  prev_comm=a next_comm=b",
    "    25.00%  prev_comm=b next_comm=a",
  ]);
});

Deno.test("--sort trace: a lone sample is never compared: its text is cut to the header's width", () => {
  const text = textReport(profileOf(["(55d1db028560)"]), {
    sort: ["trace"],
    children: false,
    callGraph: "none",
    eventName: "probe:main",
  });
  assert.deepEqual(body(text).slice(-3), [
    "# Overhead  Trace output",
    "# ........  ............",
    "   100.00%  (55d1db02856",
  ]);
});

Deno.test("--sort trace with callchains: children equal self (one text per sample), a graph per entry", () => {
  const text = textReport(profileOf(["a=1", "a=2", "a=1"]), {
    sort: ["trace"],
    children: true,
    eventName: "sched:sched_switch",
  });
  const lines = body(text);
  const at = lines.indexOf("# Children      Self  Trace output");
  assert.ok(at >= 0, text);
  assert.deepEqual(lines.slice(at + 2), [
    "    66.67%    66.67%  a=1",
    "            |",
    "            ---main",
    "               schedule",
    "    33.33%    33.33%  a=2",
    "            |",
    "            ---main",
    "               schedule",
  ]);
});

Deno.test({
  name: "TraceTexts: a uprobe's payload text, none for other events (corpus, fixture)",
  ignore: corpusFile("perfparser__probe.data.file") === undefined,
}, async () => {
  const texts = new TraceTexts();
  const { profile } = await loadProfile(corpusFile("perfparser__probe.data.file")!, {
    traceText: (...a) => texts.text(...a),
  });
  assert.deepEqual(profile.classes.map((c) => c.trace), ["(55d1db028560)"]);
  assert.equal(texts.untraced, 0);
  const other = new TraceTexts();
  const cpuClock = await loadProfile(fixture("fp.data"), {
    ...fixtureSymbolOptions(),
    traceText: (...a) => other.text(...a),
  });
  assert.ok(cpuClock.profile.classes.every((c) => c.trace === undefined));
});
