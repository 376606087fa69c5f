import { deepEqual as assertEquals, equal, ok } from "node:assert/strict";
import {
  SYNC_ENTRY_NS_ASSUMED,
  SYNC_LAYOUT,
  vmallocSyncNsPerMm,
  vmallocSyncWalkNs,
} from "./sync_cost.ts";
import { Machine } from "./machine.ts";
import { CountingSink } from "./sink.ts";
import { kmallocBuffers, vmallocSyncAll } from "./strategies/mod.ts";

Deno.test("vmalloc_sync_all walk: entries x mms x ns per entry, per page-table layout", () => {
  // x86-32 non-PAE: 32 present 4 MB entries, every one walks every mm
  equal(vmallocSyncWalkNs(1000, { arch: "x86-32" }), 32 * 1000 * SYNC_ENTRY_NS_ASSUMED);
  // an absent reference entry stops after one mm
  equal(vmallocSyncWalkNs(1000, { arch: "x86-32", populated: 8 }), (8 * 1000 + 24) * 15);
  // PAE shares the kernel pmd: SHARED_KERNEL_PMD returns at once
  equal(vmallocSyncWalkNs(1000, { arch: "x86-32-pae" }), 0);
  // x86-64: 64 reference checks, one present entry walks the mms
  equal(vmallocSyncWalkNs(1000, { arch: "x86-64" }), (64 - 1 + 1000) * 15);
  equal(vmallocSyncWalkNs(1000, { arch: "x86-64", entryNs: 2 }), (63 + 1000) * 2);
  // the per-mm share on x86-32 is the flat figure the simulator once assumed (500 ns), now derived
  equal(vmallocSyncNsPerMm(), 32 * 15);
  equal(vmallocSyncNsPerMm({ arch: "x86-64" }), 15);
  equal(SYNC_LAYOUT["x86-32"].entries, 128 / 4);
  // populated is clamped to the range
  equal(vmallocSyncWalkNs(10, { arch: "x86-64", populated: 99 }), 64 * 10 * 15);
});

Deno.test("eager sync pays one walk per buffer reallocation and per module load, lazy ones none", () => {
  const o = { seed: 3, samples: 4000, moduleLoadEveryNs: 500_000 };
  const eager = new Machine(vmallocSyncAll, o, new CountingSink()).run();
  const lazy = new Machine(kmallocBuffers, o, new CountingSink()).run();
  const none = new Machine(
    vmallocSyncAll,
    { ...o, moduleLoadEveryNs: Infinity },
    new CountingSink(),
  )
    .run();
  // 4000 overflows / 4 CPUs x 100 us = 100 ms (plus the NMI steps' time): >= 200 module loads
  ok(eager.moduleLoads >= 200 && eager.moduleLoads < 210, `${eager.moduleLoads}`);
  equal(none.moduleLoads, 0);
  // a reallocation every 2 ms and the first allocation: ~51 walks without modules
  ok(none.syncWalks >= 51 && none.syncWalks < 54, `${none.syncWalks}`);
  equal(eager.syncWalks, none.syncWalks + eager.moduleLoads);
  equal(lazy.syncWalks, 0);
  equal(lazy.syncLatencyNs, 0);
  ok(eager.syncLatencyNs > 0);
  const w64 = new Machine(vmallocSyncAll, { ...o, syncArch: "x86-64" }, new CountingSink()).run();
  const pae = new Machine(vmallocSyncAll, { ...o, syncArch: "x86-32-pae" }, new CountingSink())
    .run();
  assertEquals([w64.syncWalks, pae.syncWalks], [eager.syncWalks, eager.syncWalks]);
  // with a dozen mms the 64 reference checks weigh: a fifth, not a thirty-second
  ok(w64.syncLatencyNs < eager.syncLatencyNs / 4, `${w64.syncLatencyNs} vs ${eager.syncLatencyNs}`);
  equal(pae.syncLatencyNs, 0);
  const dear = new Machine(vmallocSyncAll, { ...o, syncEntryNs: 30 }, new CountingSink()).run();
  equal(dear.syncLatencyNs, 2 * eager.syncLatencyNs);
});
