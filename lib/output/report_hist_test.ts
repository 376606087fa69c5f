import assert from "node:assert/strict";
import { dsoShortName } from "./report_hist.ts";

Deno.test("dsoShortName: perf's dso short names (basename, modules, JIT maps)", () => {
  assert.equal(dsoShortName(undefined), "[unknown]");
  assert.equal(dsoShortName("[kernel.kallsyms]"), "[kernel.kallsyms]");
  assert.equal(dsoShortName("/usr/lib/x86_64-linux-gnu/libc.so.6"), "libc.so.6");
  // machine__addnew_module_map: the module name, '-' as '_'
  assert.equal(
    dsoShortName("/lib/modules/3.8.11/kernel/net/mac80211-3.4/mac80211.ko"),
    "[mac80211]",
  );
  assert.equal(dsoShortName("/lib/modules/6.1.0/kernel/kvm-intel.ko.xz"), "[kvm_intel]");
  // dso__set_basename: sscanf "/tmp/perf-%d.map"
  assert.equal(dsoShortName("/tmp/perf-18548.map"), "[JIT] tid 18548");
  assert.equal(dsoShortName("/tmp/perf-7"), "[JIT] tid 7");
  assert.equal(dsoShortName("/tmp/perf-x.map"), "perf-x.map");
  assert.equal(dsoShortName("/opt/perf-1.map"), "perf-1.map");
});

Deno.test("call-graph children of equal weight: later-created dso first, no map last (match_chain_dso_addresses)", async () => {
  const { ProfileBuilder } = await import("../analyze/profile.ts");
  const { buildHistogram } = await import("./report_hist.ts");
  const b = new ProfileBuilder();
  const frame = (sym: string | undefined, dso: string | undefined, ip: bigint) => ({
    sym,
    dso,
    ip,
    kernel: false,
  });
  const main = frame("main", "/bin/app", 0x1000n);
  for (
    const leaf of [
      frame("f", "/bin/app", 0x1100n),
      frame("g", "/lib/libc.so.6", 0x2000n),
      frame(undefined, undefined, 0x9000n),
    ]
  ) {
    b.add({
      frames: [leaf, main],
      weight: 1,
      pid: 1,
      tid: 1,
      cpu: 0,
      comm: "app",
      time: 0,
      context: "task",
      truncated: false,
    });
  }
  const profile = b.build();
  const graph = (dsoOrder?: ReadonlyMap<string, number>) => {
    const h = buildHistogram(profile, {
      children: true,
      sort: ["sym"],
      callGraph: "caller",
      dsoOrder,
    });
    const e = h.entries.find((x) => x.columns[0] === "[.] main")!;
    const out: string[] = [];
    h.printGraph(out, e, profile.totalWeight, 0, true);
    return out.filter((l) => l.includes("--")).map((l) => l.replace(/.*--/, ""));
  };
  // the app created first, libc at its later MMAP: libc's child first, the unmapped one last
  assert.deepEqual(graph(new Map([["/bin/app", 0], ["/lib/libc.so.6", 1]])), ["g", "f", "0x9000"]);
  assert.deepEqual(graph(new Map([["/lib/libc.so.6", 0], ["/bin/app", 1]])), ["f", "g", "0x9000"]);
});
