import assert from "node:assert/strict";
import { DataSrcColumn, memInfoText, splitWeight } from "./mem_info.ts";
import { runPerf } from "../testing/perf_tool.ts";
import { runPerfScript } from "./script_run.ts";

// Values and texts as perf 6.1 script printed them for a `perf record -d -W`
// file of google/perf_data_converter (testdata/perf.data.weight_struct).
const PERF_PRINTED: [bigint, string][] = [
  [
    0x11868100242n,
    "|OP LOAD|LVL LFB/MAB or LFB/MAB hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A",
  ],
  [0x10268100142n, "|OP LOAD|LVL L1 or L1 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A"],
  [0x1026a100142n, "|OP LOAD|LVL L1 or L1 hit|SNP None|TLB L1 or L2 hit|LCK Yes|BLK  N/A"],
  [0x10468100442n, "|OP LOAD|LVL L2 or L2 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A"],
  [0x10650100842n, "|OP LOAD|LVL L3 or L3 hit|SNP None|TLB L2 miss|LCK No|BLK  N/A"],
];

Deno.test("memInfoText() decodes data_src as perf script 6.1 printed it", () => {
  for (const [v, text] of PERF_PRINTED) assert.equal(memInfoText(v), text, v.toString(16));
  assert.equal(memInfoText(0n), "|OP No|LVL N/A|SNP N/A|TLB N/A|LCK No|BLK  N/A");
});

Deno.test("DataSrcColumn pads to the widest data_src printed so far, like data_src__fprintf", () => {
  const c = new DataSrcColumn();
  const long = c.format(0x11868100242n);
  const short = c.format(0x10268100142n);
  assert.equal(short.length, long.length);
  assert.ok(short.startsWith("     10268100142 |OP LOAD|LVL L1 or L1 hit|"));
  assert.ok(short.endsWith("N/A" + " ".repeat(10)));
});

Deno.test("splitWeight() takes var1_dw and var2_w of a WEIGHT_STRUCT", () => {
  assert.deepEqual(splitWeight(0x0000_0007_0000_00e1n, true), { weight: 225n, insLat: 7 });
  assert.deepEqual(splitWeight(0x0000_0007_0000_00e1n, false), {
    weight: 0x7_0000_00e1n,
    insLat: 0,
  });
});

const WEIGHT_FILE = new URL(
  "../../../shared/corpus/files/quipper__perf.data.weight_struct",
  import.meta.url,
).pathname;
let haveFile = false;
try {
  haveFile = Deno.statSync(WEIGHT_FILE).isFile;
} catch {
  // corpus not beside this checkout
}

Deno.test({
  name: "memory samples (raw event, -d -W) print addr, data_src, weight and ins_lat like live perf",
  ignore: !haveFile,
}, async () => {
  const fields = "comm,tid,cpu,time,period,event,addr,data_src,weight,ins_lat";
  const perf = await runPerf(["script", "-i", WEIGHT_FILE, "-F", fields]);
  if (perf.code !== 0) return; // no perf here
  const parts: string[] = [];
  await runPerfScript(WEIGHT_FILE, { fields, write: (s) => parts.push(s) });
  assert.equal(parts.join(""), perf.stdout);
});
