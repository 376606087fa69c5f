/**
 * Simulator throughput, end to end: simulated PMU samples per second on one core, for the
 * machine alone (NMI programs stepped, ground truth logged), the machine writing through the
 * perf mmap rings into an in-memory capture, and the full `record` path to a capture file with
 * the ground-truth read-back. Prints ring bytes per sample too. Goal (issue 5): >= 1 M
 * samples/s on one core.
 *
 *     deno run -A bench/sim.ts [--quick]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { captureFileSource } from "../lib/capture/reader.ts";
import { captureFileSink } from "../lib/capture/writer.ts";
import { Machine } from "../lib/sim/machine.ts";
import { recordSimulation } from "../lib/sim/recorder.ts";
import { CountingSink } from "../lib/sim/sink.ts";
import { kmallocBuffers, mainline, naiveIret } from "../lib/sim/strategies/mod.ts";

const { values } = parseArgs({ args: Deno.args, options: { quick: { type: "boolean" } } });
const quick = values.quick ?? false;
const durationMs = quick ? 500 : 2500; // 4 CPUs x 10 kHz: 20,000 or 100,000 samples
const samples = Math.round(durationMs * 1e6 / 100_000) * 4;

function rate(n: number, ms: number): string {
  return `${(n / ms / 1000).toFixed(3)} M samples/s`;
}

console.log(`simulator throughput, ${samples} PMU overflows per run (4 CPUs, 10 kHz)\n`);
console.log("strategy          path                                 time      rate");

for (const strategy of [mainline, naiveIret, kmallocBuffers]) {
  // warm-up
  new Machine(strategy, { seed: 2, samples: 2000 }, new CountingSink()).run();
  let t0 = performance.now();
  new Machine(strategy, { seed: 1, samples }, new CountingSink()).run();
  let ms = performance.now() - t0;
  console.log(
    `${strategy.name.padEnd(16)}  ${"machine only (counting sink)".padEnd(35)}  ` +
      `${ms.toFixed(0).padStart(5)} ms  ${rate(samples, ms)}`,
  );

  const parts: Uint8Array[] = [];
  t0 = performance.now();
  const mem = await recordSimulation(strategy, {
    write: (b) => {
      parts.push(b.slice());
      return Promise.resolve();
    },
    close: () => {},
  }, { seed: 1, durationMs, verify: false });
  ms = performance.now() - t0;
  console.log(
    `${strategy.name.padEnd(16)}  ${"machine -> rings -> capture (memory)".padEnd(35)}  ` +
      `${ms.toFixed(0).padStart(5)} ms  ${rate(mem.samplesWritten, ms)}  ` +
      `${(mem.sampleBytes / mem.samplesWritten).toFixed(1)} ring bytes/sample`,
  );
}

const path = await Deno.makeTempFile({ suffix: ".callring" });
try {
  const t0 = performance.now();
  const r = await recordSimulation(mainline, await captureFileSink(path), {
    seed: 1,
    durationMs,
    fragments: true,
    pDeepStack: 0.002,
    readBack: () => captureFileSource(path),
  });
  const ms = performance.now() - t0;
  console.log(
    `${"mainline".padEnd(16)}  ${"record to file + ground-truth check".padEnd(35)}  ` +
      `${ms.toFixed(0).padStart(5)} ms  ${rate(r.samplesWritten, ms)}  ` +
      `${(r.captureBytes / r.samplesWritten).toFixed(1)} capture bytes/sample`,
  );
  console.log(
    `\nread back ${r.verification!.samples} samples, ${r.verification!.exact} exact, ` +
      `balanced: ${r.verification!.balanced}`,
  );
} finally {
  await Deno.remove(path);
}
