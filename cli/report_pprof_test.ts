// report --pprof end to end: the file the CLI writes has one location per distinct callchain
// address perf script prints, each inside a mapping that covers it, every sample ip among them.
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { Profile as PprofProfile } from "pprof-format";
import {
  fixture,
  fixtureEnv,
  perfAvailable,
  perfFixtureArgs,
  runPerf,
  runPerfFixture,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

Deno.test({
  name: "report --pprof on fp.data: a location per callchain address of perf script, mapped",
  ignore: !(await perfAvailable()),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/out.pb.gz`;
    const out = await runCli(
      "report",
      ["-i", fixture("fp.data"), "--pprof", file, "-q", ...perfFixtureArgs()],
      undefined,
      fixtureEnv(),
    );
    assert.equal(out.code, 0, out.stderr);
    const p = PprofProfile.decode(gunzipSync(await Deno.readFile(file)));
    const mappings = new Map(p.mapping.map((m) => [Number(m.id), m]));
    // the build-ids perf buildid-list names, on the mappings of those files
    const list = await runPerf(["buildid-list", "-i", fixture("fp.data")], undefined, fixtureEnv());
    assert.equal(list.code, 0, list.stderr);
    const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
    let named = 0;
    for (const line of list.stdout.trim().split("\n")) {
      const [id, file] = line.split(" ");
      for (const m of p.mapping.filter((m) => str(m.filename) === file)) {
        assert.equal(str(m.buildId), id, file);
        named++;
      }
    }
    assert.ok(named >= 2, `${named}`); // burn, [kernel.kallsyms]
    const addresses = new Set<string>();
    for (const l of p.location) {
      const m = mappings.get(Number(l.mappingId));
      if (m === undefined) continue; // marker frames
      const a = BigInt(l.address);
      assert.ok(a >= BigInt(m.memoryStart) && a < BigInt(m.memoryLimit), a.toString(16));
      assert.ok(!addresses.has(a.toString(16)), `two locations at ${a.toString(16)}`);
      addresses.add(a.toString(16));
    }
    // perf script prints callchain entries map-relative (with their dso), sample ips as recorded
    const chains = await runPerfFixture(["script", "-i", fixture("fp.data"), "-F", "ip,dso"]);
    assert.equal(chains.code, 0, chains.stderr);
    const entries = new Set<string>();
    for (const line of chains.stdout.split("\n")) {
      const m = /^\s+([0-9a-f]+) \((.*)\)$/.exec(line);
      if (m) entries.add(`${m[2]}:${m[1]}`);
    }
    assert.ok(entries.size > 10);
    assert.equal(addresses.size, entries.size);
    const leaves = await runPerfFixture(["script", "-i", fixture("fp.data"), "-G", "-F", "ip"]);
    assert.equal(leaves.code, 0, leaves.stderr);
    let n = 0;
    for (const line of leaves.stdout.split("\n")) {
      const m = /^\s*([0-9a-f]+)$/.exec(line);
      if (!m) continue;
      n++;
      assert.ok(addresses.has(BigInt("0x" + m[1]).toString(16)), m[1]);
    }
    assert.ok(n > 100);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report --pprof: one load's warnings, once; the same file alone or beside --stdio", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // a truncated copy: the reader warns (data section past the end, a cut record)
    const data = `${dir}/cut.data`;
    await Deno.writeFile(data, (await Deno.readFile(fixture("fp.data"))).subarray(0, 40000));
    const symbols = [...perfFixtureArgs(), "-i", data];
    const alone = await runCli(
      "report",
      [...symbols, "--pprof", `${dir}/a.pb.gz`],
      undefined,
      fixtureEnv(),
    );
    // --pid with --stdio: a second load for the file outputs (fp.data has only pid 11168)
    const beside = await runCli(
      "report",
      [...symbols, "--pprof", `${dir}/b.pb.gz`, "--stdio", "--pid", "11168"],
      undefined,
      fixtureEnv(),
    );
    const text = await runCli("report", [...symbols, "--stdio"], undefined, fixtureEnv());
    const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.includes("warning:"));
    const want = warnings(text.stderr);
    assert.equal(want.length, 2, text.stderr);
    assert.deepEqual(warnings(alone.stderr), want);
    assert.deepEqual(warnings(beside.stderr), want);
    // the pprof-only run's one per-address load writes what the run with a text report writes
    assert.deepEqual(await Deno.readFile(`${dir}/a.pb.gz`), await Deno.readFile(`${dir}/b.pb.gz`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
