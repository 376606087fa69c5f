/**
 * Every ring mode of the thread's ring-buffer debate round-trips through the capture writer,
 * the capture reader and `report`: per CPU `written = read + lost + overwritten`, every sample
 * read is one the recorder wrote, and report counts the same samples and losses.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { captureMemorySource } from "../capture/reader.ts";
import { captureFileSink } from "../capture/writer.ts";
import { memorySink } from "../capture/testutil_test.ts";
import { runCli } from "../testing/cli_run.ts";
import { recordSimulation, type SimRecordOptions } from "./recorder.ts";
import { getStrategy } from "./strategies/mod.ts";

/**
 * The modes: stream, sub-buffers both ways, every overwrite design, discard, fragments, and
 * Steven's `reserve_unlimited` writer over each ring it runs on.
 */
export const MODES: Record<string, Partial<SimRecordOptions>> = {
  stream: {},
  "subbuf-nop": { ring: "subbuf", subbufSize: 4096 },
  "subbuf-header": { ring: "subbuf", subbufSize: 4096, subbufPadding: "header" },
  backward: { overwriteDesign: "backward" },
  "tail-push": { overwriteDesign: "tail-push" },
  "spare-subbuf": { overwriteDesign: "spare-subbuf", subbufSize: 4096 },
  swivel: { overwriteDesign: "swivel" },
  discard: { drainIntervalNs: 40_000_000 },
  "fragments-spread-compact": {
    fragments: true,
    pDeepStack: 0.05,
    fragmentSpread: true,
    compactFragments: true,
  },
  "unlimited-stream": { unlimited: true, pieceSize: 512, pDeepStack: 0.05 },
  "unlimited-subbuf-header": {
    unlimited: true,
    ring: "subbuf",
    subbufSize: 4096,
    subbufPadding: "header",
    pDeepStack: 0.05,
  },
  "unlimited-tail-push": { unlimited: true, overwriteDesign: "tail-push", pDeepStack: 0.05 },
  "unlimited-backward": { unlimited: true, overwriteDesign: "backward", pDeepStack: 0.05 },
  "unlimited-discard": { unlimited: true, drainIntervalNs: 40_000_000, pDeepStack: 0.05 },
  "subbuf-header-fragments": {
    ring: "subbuf",
    subbufSize: 4096,
    subbufPadding: "header",
    fragments: true,
    pDeepStack: 0.05,
    fragmentSpread: true,
  },
};

Deno.test("every ring mode: written = read + lost + overwritten per CPU (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...Object.keys(MODES)),
      fc.integer({ min: 1, max: 1 << 20 }),
      fc.constantFrom(1, 2, 4),
      fc.integer({ min: 1, max: 3 }),
      async (mode, seed, pages, cpus) => {
        const sink = memorySink();
        const r = await recordSimulation(getStrategy("mainline"), sink, {
          seed,
          cpus,
          durationMs: 25,
          ringPages: pages * 2,
          snapshotIntervalNs: 3_000_000,
          ...MODES[mode],
          readBack: () => captureMemorySource(sink.bytes()),
        });
        const v = r.verification!;
        assert.deepEqual(v.warnings, [], mode);
        assert.equal(v.unexpected, 0, mode);
        assert.ok(v.balanced, `${mode}: ${JSON.stringify(r.cpus)}`);
        for (const c of r.cpus) {
          assert.equal(c.written, c.read! + c.lostRead! + c.overwritten, `${mode} cpu ${c.cpu}`);
        }
        // every sample whose records were all read back is a sample the recorder wrote
        assert.ok(v.samples <= r.samplesWritten, mode);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("every ring mode: report reads the capture with the samples, losses and overwritten records the reader counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [mode, o] of Object.entries(MODES)) {
      const path = `${dir}/${mode}.data`;
      const r = await recordSimulation(getStrategy("mainline"), await captureFileSink(path), {
        seed: 11,
        cpus: 2,
        durationMs: 30,
        ringPages: 2,
        ...o,
        readBack: async () => captureMemorySource(await Deno.readFile(path)),
      });
      const v = r.verification!;
      assert.ok(v.balanced, mode);
      const out = await runCli("report", ["-i", path, "--stdio"]);
      assert.equal(out.code, 0, `${mode}: ${out.stderr}`);
      const read = out.stdout.match(/# callring: samples read: (\d+)/);
      assert.ok(read, `${mode}: ${out.stdout.slice(0, 300)}`);
      assert.equal(Number(read[1]), v.samples, mode);
      const lost = out.stdout.match(/lost: (\d+) events in LOST records/);
      const lostRead = r.cpus.reduce((n, c) => n + (c.lostRead ?? 0), 0);
      assert.equal(Number(lost?.[1]), lostRead, mode);
      const incomplete = out.stdout.match(/(\d+) incomplete fragments/);
      assert.equal(Number(incomplete?.[1]), v.incompleteEvents, mode);
      // a flight recorder's loss is in the capture, and report prints it
      const over = out.stdout.match(/, (\d+) records overwritten in the flight recorder/);
      if (o.overwriteDesign === undefined) assert.equal(over, null, mode);
      else {
        assert.ok(over, `${mode}: ${out.stdout.slice(0, 400)}`);
        assert.equal(Number(over[1]), r.cpus.reduce((n, c) => n + c.overwritten, 0), mode);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
