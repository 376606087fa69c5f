/**
 * `perf script -F` fields of branch stacks and memory pages, against perf
 * 6.1 now: `brstacksym` on a file written here (branch entries inside a
 * binary built here, and outside every map), `phys_addr`, `data_page_size`
 * and `code_page_size` on a live recording.
 */
import assert from "node:assert/strict";
import { defaultAttr, RecordType, SampleType } from "../lib/abi/mod.ts";
import { PerfDataWriter } from "../lib/perfdata/mod.ts";
import { pageSizeName } from "../lib/output/perf_script.ts";
import {
  buildBurn,
  corpusFile,
  perfCanRecord,
  recordBurn,
  runPerf,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

const CAN_RECORD = await perfCanRecord();

/** `nm` of a binary: function name -> address. */
async function functions(path: string): Promise<Map<string, bigint>> {
  const out = await new Deno.Command("nm", { args: [path], stdout: "piped" }).output();
  const map = new Map<string, bigint>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const [addr, kind, name] = line.split(" ");
    if (name && (kind === "t" || kind === "T")) map.set(name, BigInt("0x" + addr));
  }
  return map;
}

Deno.test("pageSizeName: perf's unit_number__scnprintf, N/A for 0", () => {
  assert.equal(pageSizeName(0n), "N/A");
  assert.equal(pageSizeName(4096n), "4K");
  assert.equal(pageSizeName(2n << 20n), "2M");
  assert.equal(pageSizeName(1n << 30n), "1024M"); // 1024 / 1024 is not above 1 either
  assert.equal(pageSizeName(2n << 30n), "2G");
  assert.equal(pageSizeName(1024n), "1024B"); // the quotient 1 is not above 1
  assert.equal(pageSizeName(2048n), "2K");
});

Deno.test({
  name:
    "script -F brstacksym: sym+off/sym+off/flags per branch, [unknown] outside maps, as perf 6.1",
  ignore: !CAN_RECORD,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const burn = await buildBurn(dir);
      const fns = await functions(burn);
      const at = (name: string, off: bigint) => {
        const a = fns.get(name);
        assert.ok(a !== undefined, `${name} in nm ${burn}`);
        return BASE + a + off;
      };
      const BASE = 0x555555554000n;
      const size = BigInt((await Deno.stat(burn)).size);
      const t = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.PERIOD |
        SampleType.BRANCH_STACK;
      const attr = defaultAttr({
        type: 1,
        sampleType: t,
        samplePeriod: 1000,
        branchSampleType: 1 << 3, // PERF_SAMPLE_BRANCH_ANY
        flags: 1 << 18,
      });
      const path = `${dir}/br.data`;
      const w = await PerfDataWriter.create(path, { events: [{ attr, name: "cpu-clock" }] });
      const id = { pid: 9, tid: 9, time: 1 };
      await w.writeRecord({
        type: RecordType.COMM,
        misc: 0,
        size: 0,
        pid: 9,
        tid: 9,
        comm: "burn",
        sampleId: id,
      });
      await w.writeRecord({
        type: RecordType.MMAP,
        misc: 2,
        size: 0,
        pid: 9,
        tid: 9,
        addr: BASE,
        len: size,
        pgoff: 0n,
        filename: burn,
        sampleId: id,
      });
      const entries = [
        // from, to, flags (mispred; predicted + cycles 7; type bits)
        [at("work_a", 0x10n), at("leaf", 0n), 1n],
        [at("leaf", 0x20n), at("work_a", 0x14n), 2n | (7n << 4n)],
        [0x1000n, at("main", 4n), 2n], // from outside every map
        [at("run", 8n), 0x2000n, 0n], // to outside every map
      ];
      for (let i = 0; i < 3; i++) {
        await w.writeSample({
          ip: at("leaf", BigInt(i)),
          pid: 9,
          tid: 9,
          time: 10 + i,
          period: 1000,
          branchStack: { entries: new BigUint64Array(entries.slice(i).flat()) },
        });
      }
      await w.close();
      for (
        const f of ["ip,brstacksym", "ip,sym,dso,brstacksym", "brstacksym", "brstack,brstacksym"]
      ) {
        const perf = await runPerf(["script", "-F", f, "-i", path]);
        const ours = await runCli("script", ["-F", f, "-i", path]);
        assert.equal(ours.code, 0, ours.stderr);
        // with both, perf prints brstack alone
        const sym = f !== "brstack,brstacksym";
        assert.equal(perf.stdout.includes("work_a+0x10"), sym, perf.stdout);
        assert.equal(ours.stdout, perf.stdout, f);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const BRANCH_FILE = corpusFile("quipper__perf.data.callgraph_and_branch-3.8");

Deno.test({
  name: "script -F ip,dso,brstacksym on a real -b -g recording: as perf 6.1 (kernel symbols off)",
  ignore: BRANCH_FILE === undefined || !CAN_RECORD,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const empty = `${dir}/empty.kallsyms`;
      await Deno.writeTextFile(empty, "");
      const env = { HOME: dir };
      const args = ["-F", "ip,dso,brstacksym", "--kallsyms", empty, "-i", BRANCH_FILE!];
      const perf = await runPerf(["script", ...args], undefined, env);
      const ours = await runCli("script", args, undefined, env);
      assert.ok(perf.stdout.split("\n").length > 1000);
      assert.equal(ours.stdout, perf.stdout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "script -F phys_addr,data_page_size,code_page_size on a live recording: as perf 6.1",
  ignore: !CAN_RECORD,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // (no -g: how callchains through anonymous memory print is not this test's subject)
      const data = await recordBurn(dir, [
        "-d",
        "--phys-data",
        "--data-page-size",
        "--code-page-size",
      ], 100);
      for (
        const f of [
          "comm,ip,addr,phys_addr,data_page_size,code_page_size",
          "ip,sym,code_page_size",
          "comm,tid,phys_addr",
          "+phys_addr",
        ]
      ) {
        const perf = await runPerf(["script", "-F", f, "-i", data]);
        const ours = await runCli("script", ["-F", f, "-i", data]);
        assert.equal(ours.code, 0, ours.stderr);
        if (f.includes("page_size")) assert.ok(perf.stdout.includes(" 4K"), `${f}: ${perf.stdout}`);
        assert.equal(ours.stdout, perf.stdout, f);
      }
      // a field the samples lack: perf's error and exit status
      const plain = await recordBurn(dir, [], 50);
      const perf = await runPerf(["script", "-F", "ip,data_page_size", "-i", plain]);
      const ours = await runCli("script", ["-F", "ip,data_page_size", "-i", plain]);
      assert.ok(perf.stderr.includes("do not have DATA_PAGE_SIZE attribute set"), perf.stderr);
      assert.ok(ours.stderr.includes(perf.stderr.trim().split("\n")[0]!), ours.stderr);
      // perf exits 255, callring with its data-error status
      assert.ok(perf.code !== 0 && ours.code !== 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
