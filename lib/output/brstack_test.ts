import assert from "node:assert/strict";
import { branchFlagsText } from "./perf_script.ts";
import { corpusFile, runPerf } from "../testing/perf_tool.ts";
import { runPerfScript } from "./script_run.ts";

Deno.test("branchFlagsText() prints perf_branch_entry flags as print_bstack_flags", () => {
  assert.equal(branchFlagsText(2n | (4n << 4n)), "/P/-/-/4/ ");
  assert.equal(branchFlagsText(1n | (27n << 4n)), "/M/-/-/27/ ");
  assert.equal(branchFlagsText(4n | 8n | (4n << 20n)), "/-/X/A/0/CALL ");
});

const FILES = ["quipper__perf.data.branch-4.14", "quipper__perf.data.branch_stack_hw_index"];
const present = FILES.map(corpusFile).filter((f): f is string => f !== undefined);

Deno.test({
  name: "-F brstack equals live perf script on branch-stack recordings (perf record -b)",
  ignore: present.length === 0,
}, async () => {
  for (const f of present) {
    for (const fields of ["comm,tid,ip,brstack", "ip,dso,brstack"]) {
      const perf = await runPerf(["script", "-i", f, "-F", fields]);
      if (perf.code !== 0) return; // no perf here
      assert.match(perf.stdout, /\/[PM-]\/[X-]\/[A-]\/\d+\//);
      const parts: string[] = [];
      await runPerfScript(f, { fields, write: (s) => parts.push(s) });
      assert.equal(parts.join(""), perf.stdout, `${f} -F ${fields}`);
    }
  }
});
