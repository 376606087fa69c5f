/**
 * Precise samples (`cycles:P`): the sample's ip is the precise one, the
 * callchain's first entry the interrupted one. perf report's self entry is
 * the sample ip's (`al`), the call graph the callchain's: compared with perf
 * 6.1 on a file written now, with the callchain inside a binary built here.
 */
import assert from "node:assert/strict";
import { defaultAttr, RecordType, SampleType } from "../lib/abi/mod.ts";
import { PerfDataWriter } from "../lib/perfdata/mod.ts";
import { buildBurn, corpusFile, perfCanRecord, runPerf } from "../lib/testing/perf_tool.ts";
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

/** The report without perf's random tip trailer. */
function body(text: string): string {
  let lines = text.split("\n").filter((l) => !l.startsWith("# callring:"));
  const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
  if (tip > 0) lines = lines.slice(0, tip - 1);
  return lines.join("\n").trimEnd();
}

Deno.test({
  name:
    "report: a precise sample's self entry is its ip, not the callchain's first entry, as perf 6.1",
  ignore: !CAN_RECORD,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const burn = await buildBurn(dir);
      const fns = await functions(burn);
      const BASE = 0x555555554000n;
      const at = (name: string, off: bigint) => BASE + fns.get(name)! + off;
      const t = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.PERIOD |
        SampleType.CALLCHAIN;
      const attr = defaultAttr({ type: 0, sampleType: t, samplePeriod: 1000, flags: 1 << 18 });
      const path = `${dir}/precise.data`;
      const w = await PerfDataWriter.create(path, { events: [{ attr, name: "cycles:P" }] });
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
        len: BigInt((await Deno.stat(burn)).size),
        pgoff: 0n,
        filename: burn,
        sampleId: id,
      });
      const USER = 0xfffffffffffffe00n; // PERF_CONTEXT_USER
      const samples: [bigint, bigint[]][] = [
        // precise ip in leaf, interrupted in publish (called from leaf)
        [at("leaf", 4n), [USER, at("publish", 2n), at("leaf", 0x10n), at("work_a", 8n)]],
        [at("leaf", 4n), [USER, at("publish", 2n), at("leaf", 0x10n), at("work_b", 8n)]],
        // precise ip outside every map: unresolved self entry
        [0x1234n, [USER, at("leaf", 0x10n), at("work_a", 8n)]],
        // an ordinary sample: its ip is the first entry
        [at("work_a", 8n), [USER, at("work_a", 8n), at("run", 4n)]],
      ];
      let time = 10;
      for (const [ip, chain] of samples) {
        await w.writeSample(
          { ip, pid: 9, tid: 9, time: time++, period: 1000, callchain: new BigUint64Array(chain) },
          0,
          2 | (1 << 14), // PERF_RECORD_MISC_USER | PERF_RECORD_MISC_EXACT_IP
        );
      }
      await w.close();
      for (const args of [["--no-children"], ["--children"], ["--no-children", "-g", "none"]]) {
        const a = ["report", "--stdio", ...args, "-i", path];
        const perf = await runPerf(a);
        const ours = await runCli("report", a.slice(1));
        assert.equal(ours.code, 0, ours.stderr);
        assert.ok(perf.stdout.includes("[.] 0x0000000000001234"), perf.stdout);
        assert.equal(body(ours.stdout), body(perf.stdout), args.join(" "));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const BRANCH_FILE = corpusFile("quipper__perf.data.branch-4.14");

Deno.test({
  name:
    "report --branch-stack: perf's branch view without --sort, branch targets by the keys with it",
  ignore: BRANCH_FILE === undefined,
  async fn() {
    const args = ["--kallsyms", "/dev/null", "-i", BRANCH_FILE!];
    const view = await runCli("report", ["--branch-stack", ...args]);
    assert.equal(view.code, 0, view.stderr);
    assert.match(
      view.stdout,
      /Source Shared Object {2}Source Symbol +Target Symbol +Basic Block Cycles/,
    );
    assert.doesNotMatch(view.stderr, /not done/);
    // the default for a recording with branch stacks
    assert.equal((await runCli("report", args)).stdout, view.stdout);
    const sorted = await runCli("report", ["--branch-stack", "--sort", "comm,dso,sym", ...args]);
    assert.equal(sorted.code, 0, sorted.stderr);
    assert.match(sorted.stdout, /# Overhead {2}Command {2}Shared Object/);
    const samples = await runCli("report", ["--no-branch-stack", ...args]);
    assert.doesNotMatch(samples.stdout, /Source Symbol/);
  },
});
