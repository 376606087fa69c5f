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
  // the kernel's vmlinux from the build-id table; a user file of that name keeps its basename
  assert.equal(dsoShortName("/usr/lib/debug/boot/vmlinux-6.1.0", true), "[kernel.vmlinux]");
  assert.equal(dsoShortName("/usr/lib/debug/boot/vmlinux-6.1.0"), "vmlinux-6.1.0");
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

Deno.test("--sort sym: the histogram walks in sample order, as perf does once per sample (a non-strict-weak order splits entries)", async () => {
  const { ProfileBuilder } = await import("../analyze/profile.ts");
  const { buildHistogram, EntryKeys, RbTree } = await import("./report_hist.ts");
  type Ref = import("./report_hist.ts").EntryRef & { self: number };
  // Unresolved addresses compare by address across objects, resolved symbols by object
  // first: no strict weak order, so a walk can miss an equal entry.
  const dsos = ["/bin/a", "/lib/b.so", "/lib/c.so"];
  let rnd = 12345;
  const next = (n: number) => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return (rnd >>> 8) % n;
  };
  let orderMattered = 0;
  for (let round = 0; round < 60; round++) {
    const leaves = Array.from({ length: 12 }, (_, k) => {
      const dso = dsos[next(3)];
      return next(2) === 0
        ? { sym: undefined, dso, ip: BigInt(0x100 + 0x10 * next(8)), kernel: false }
        : { sym: `f${next(4)}`, dso, ip: BigInt(0x1000 + 0x100 * k), kernel: false };
    });
    const samples = Array.from({ length: 200 }, () => ({ leaf: leaves[next(12)], w: 1 + next(5) }));
    const build = (sampleOrder: boolean) => {
      const b = new ProfileBuilder({ sampleOrder });
      for (const s of samples) {
        b.add({
          frames: [s.leaf],
          weight: s.w,
          pid: 1,
          tid: 1,
          cpu: 0,
          comm: "app",
          time: 0,
          context: "task",
          truncated: false,
        });
      }
      return b.build();
    };
    const profile = build(true);
    const entries = (p: typeof profile) =>
      buildHistogram(p, { sort: ["sym"], callGraph: "none" }).entries
        .map((e) => `${e.columns.join(" ")} ${e.self}`).sort();
    // perf: one walk from the root per sample, the entry found gets the sample's weight
    const keys = new EntryKeys(profile, ["sym"]);
    const tree = new RbTree<Ref>();
    const t = profile.frames;
    for (let k = 0; k < profile.sampleOrder!.stack.length; k++) {
      const i = profile.sampleOrder!.stack[k];
      const path = profile.pathOf(profile.stackNode[i]);
      const frame = path[path.length - 1];
      const probe = { frame, cls: profile.stackClass[i], ip: t.ips[frame] ?? 0n, self: 0 };
      const e = tree.findOrInsert((existing) => keys.cmp(existing, probe), () => probe);
      // hists__findnew_entry: a found unresolved entry takes the new sample's map
      if (t.syms[e.frame] === undefined && t.dsos[e.frame] !== t.dsos[frame]) e.frame = frame;
      e.self += profile.sampleOrder!.weight[k];
    }
    const want = tree.inOrder().map((e) => {
      const sym = t.syms[e.frame];
      const col = sym !== undefined ? `[.] ${sym}` : `[.] 0x${e.ip.toString(16).padStart(16, "0")}`;
      return `${col} ${e.self}`;
    }).sort();
    assert.deepEqual(entries(profile), want, `round ${round}`);
    if (entries(build(false)).join("\n") !== want.join("\n")) orderMattered++;
  }
  // the rounds include cases where walking each record once gives another histogram
  assert.ok(orderMattered > 0, "some round's result depends on the sample order");
});
