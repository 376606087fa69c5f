// report --flamegraph x.html: options reach the page data, the flame chart comes from the sample
// times of the perf.data, and --diff with an HTML flamegraph writes a differential graph.
import assert from "node:assert/strict";
import { fixture, fixtureEnv, perfFixtureArgs } from "../lib/testing/perf_tool.ts";
import { type CliRun, runCli } from "../lib/testing/cli_run.ts";
import type { FlameData } from "../lib/output/flamegraph_data.ts";

/** `cli/report.ts` on fixtures, with the fixtures' own symbols only (testdata/symbols). */
function report(args: string[]): Promise<CliRun> {
  return runCli("report", [...args, ...perfFixtureArgs()], undefined, fixtureEnv());
}

async function pageData(path: string): Promise<FlameData> {
  const html = await Deno.readTextFile(path);
  return JSON.parse(
    /<script type="application\/json" id="flame-data">(.*?)<\/script>/s.exec(html)![1],
  );
}

Deno.test("report --flamegraph .html: title, width, palette, unit, threads from sample times", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/f.html`;
    const r = await report([
      "-i",
      fixture("fp.data"),
      "--flamegraph",
      out,
      "--title",
      "burn <fp>",
      "--width",
      "900",
      "--palette",
      "cold",
      "-q",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const d = await pageData(out);
    assert.deepEqual([d.title, d.width, d.palette, d.unit, d.event], [
      "burn <fp>",
      900,
      "cold",
      "ns",
      "cpu-clock",
    ]);
    assert.equal(d.total, 235000000); // fp.data: 470 samples of 500000 ns
    assert.equal(d.samples, 470);
    assert.equal(d.names[d.nodes[0]], "all");
    // two threads of burn, the worker one named after its comm
    assert.deepEqual(d.threads.map((t) => t.name.split(" ")[0]).sort(), ["burn", "burn"]);
    assert.equal(d.threads.reduce((a, t) => a + t.samples, 0), 470);
    assert.ok((await Deno.readTextFile(out)).includes("<title>burn &lt;fp&gt;</title>"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report --diff with an HTML flamegraph writes a differential graph", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/d.html`;
    const r = await report([
      "-i",
      fixture("fp.data"),
      "--diff",
      fixture("nocpu.data"),
      "--flamegraph",
      out,
      "-q",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const d = await pageData(out);
    assert.equal(d.total, 250000000); // widths from the comparison (nocpu.data: 500 samples)
    assert.equal(d.baseTotal, 235000000); // colours against the baseline
    assert.equal(d.base!.length, d.nodes.length / 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report rejects bad --palette / --width / --minwidth with exit 2", async () => {
  for (
    const args of [["--palette", "rainbow"], ["--width", "12"], ["--minwidth", "-1"]]
  ) {
    const r = await report(["-i", fixture("fp.data"), "--flamegraph", "x.html", ...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, new RegExp(args[0]));
  }
});
