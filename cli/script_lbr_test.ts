import assert from "node:assert/strict";
import { corpusFile, perfAvailable, runPerf } from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

const LBR_FILE = corpusFile("perfparser__vector_static_gcc_perf.lbr.data");

/** Samples of a `perf script` text (blocks between empty lines). */
function blocks(text: string): string[][] {
  return text.split("\n\n").filter((b) => b.trim() !== "").map((b) => b.split("\n"));
}

Deno.test({
  name:
    "--call-graph lbr: user frames from the branch stack, as perf script; only empty stacks differ (corpus)",
  ignore: LBR_FILE === undefined || !(await perfAvailable()),
  async fn() {
    const home = await Deno.makeTempDir();
    try {
      const file = LBR_FILE!;
      const perf = await runPerf(["script", "-i", file], undefined, { HOME: home });
      const brstack = await runPerf(["script", "-F", "brstack", "-i", file], undefined, {
        HOME: home,
      });
      const ours = await runCli("script", ["-i", file], undefined, { HOME: home });
      assert.equal(perf.code, 0, perf.stderr);
      assert.equal(ours.code, 0, ours.stderr);
      const p = blocks(perf.stdout), o = blocks(ours.stdout);
      const empty = brstack.stdout.split("\n").map((l) => l.trim() === "");
      assert.equal(o.length, p.length);
      let lbrFrames = 0, emptyStacks = 0;
      for (let i = 0; i < p.length; i++) {
        if (empty[i]) {
          // perf reads entries[0].to of a 0-entry stack past the record: one frame more
          emptyStacks++;
          assert.deepEqual(o[i], p[i].slice(0, -1), `sample ${i}`);
        } else {
          assert.deepEqual(o[i], p[i], `sample ${i}`);
          if (o[i].some((l) => /^\t +[0-9a-f]{1,12} /.test(l))) lbrFrames++;
        }
      }
      assert.ok(lbrFrames > 10, `${lbrFrames} samples with user frames`);
      assert.equal(emptyStacks, 8);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
