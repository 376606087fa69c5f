import assert from "node:assert/strict";
import {
  fixture,
  perfAvailable,
  perfCanRecord,
  recordBurn,
  runPerf,
} from "../testing/perf_tool.ts";
import { runPerfScript, type RunScriptOptions } from "./script_run.ts";
import { ScriptFieldError } from "./perf_script.ts";

const PERF_RUNS = await perfAvailable();
const PERF_RECORDS = await perfCanRecord();
const IP_FIELDS = "comm,pid,tid,cpu,time,period,event,ip";
const SYM_FIELDS = IP_FIELDS + ",sym,dso,symoff";

async function script(path: string, options: Omit<RunScriptOptions, "write">): Promise<string> {
  const parts: string[] = [];
  await runPerfScript(path, { ...options, write: (s) => parts.push(s) });
  return parts.join("");
}

const FIXTURES: [name: string, fields: string][] = [
  ["fp", IP_FIELDS],
  ["sys", IP_FIELDS],
  ["pipe", IP_FIELDS],
  ["nocpu", "comm,pid,tid,time,period,event,ip"],
];

for (const [name, fields] of FIXTURES) {
  Deno.test(`runPerfScript() equals the committed perf script output for ${name}.data`, async () => {
    const expected = await Deno.readTextFile(fixture(`${name}.script.txt`));
    const actual = await script(fixture(`${name}.data`), { fields });
    assert.equal(actual, expected);
  });
  Deno.test(`runPerfScript() equals it with 7-byte chunks for ${name}.data`, async () => {
    const expected = await Deno.readTextFile(fixture(`${name}.script.txt`));
    const actual = await script(fixture(`${name}.data`), { fields, read: { chunkSize: 7 } });
    assert.equal(actual, expected);
  });
}

Deno.test("runPerfScript() rejects cpu on a file without PERF_SAMPLE_CPU with perf's message", async () => {
  const expected = (await Deno.readTextFile(fixture("nocpu.script-cpu.stderr.txt"))).trim();
  await assert.rejects(() => script(fixture("nocpu.data"), { fields: IP_FIELDS }), (e: unknown) => {
    assert.ok(e instanceof ScriptFieldError);
    assert.equal(e.message, expected);
    assert.equal(
      e.exitCode,
      Number((Deno.readTextFileSync(fixture("nocpu.script-cpu.exit.txt"))).trim()),
    );
    return true;
  });
});

Deno.test({
  name: "runPerfScript() matches live perf script with symbols on every fixture",
  ignore: !PERF_RUNS,
}, async (t) => {
  for (const [name, fields] of FIXTURES) {
    for (const f of [fields + ",sym,dso,symoff", undefined]) {
      await t.step(`${name}.data -F ${f ?? "(default)"}`, async () => {
        const args = ["script", "-i", fixture(`${name}.data`)];
        if (f) args.push("-F", f);
        const perf = await runPerf(args);
        assert.equal(perf.code, 0, perf.stderr);
        assert.equal(await script(fixture(`${name}.data`), { fields: f }), perf.stdout);
      });
    }
  }
});

Deno.test({
  name: "runPerfScript() matches perf script on a workload recorded now",
  ignore: !PERF_RECORDS,
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, string[], boolean][] = [
      ["per-task -g", ["-g", "--sample-cpu", "-F", "997"], false],
      ["pipe mode -g", ["-g", "--sample-cpu", "-F", "997"], true],
      ["system-wide -a -g", ["-a", "-g", "--sample-cpu", "-F", "499"], false],
    ];
    for (const [label, extra, pipe] of cases) {
      const data = await recordBurn(dir, extra, 120, pipe);
      for (const fields of [IP_FIELDS, SYM_FIELDS]) {
        await t.step(`${label} -F ${fields}`, async () => {
          const perf = await runPerf(["script", "-i", data, "-F", fields]);
          assert.equal(perf.code, 0, perf.stderr);
          const ours = await script(data, { fields });
          assert.ok(ours.length > 0, "the recording has samples");
          assert.equal(ours, perf.stdout);
        });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
