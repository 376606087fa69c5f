/**
 * Benchmarks of the perf.data reader paths on a synthetic file (~15 MB,
 * 200 k samples with 3-13 frame callchains). `bench/decode.ts` compares
 * against real perf on a larger file.
 *
 * @module
 */

import { writeSynthetic } from "./_test_utils.ts";
import { openPerfData } from "./reader.ts";
import { forEachSampleInFile } from "./walker.ts";

const path = await Deno.makeTempFile({ suffix: ".data" });
await writeSynthetic(path, 200_000);
const bytes = (await Deno.stat(path)).size;

Deno.bench({
  name: `walk: forEachSampleInFile, callchains read (${(bytes / 1e6).toFixed(1)} MB)`,
  group: "perfdata",
  baseline: true,
  async fn() {
    let acc = 0;
    await forEachSampleInFile(path, (s) => {
      for (let i = 0; i < s.callchainNr; i++) acc = (acc + (s.lo(i) ^ s.hi(i))) | 0;
    });
    if (acc === 0.5) throw new Error("unreachable");
  },
});

Deno.bench({
  name: "decode: records(), file order",
  group: "perfdata",
  async fn() {
    const file = await openPerfData(path, { ordered: false });
    for await (const _ of file.records()) { /* drain */ }
    file.close();
  },
});

Deno.bench({
  name: "decode: records(), perf's ordered-events order",
  group: "perfdata",
  async fn() {
    const file = await openPerfData(path);
    for await (const _ of file.records()) { /* drain */ }
    file.close();
  },
});

globalThis.addEventListener("unload", () => Deno.removeSync(path));
