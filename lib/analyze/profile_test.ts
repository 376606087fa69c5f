import { deepStrictEqual as eq, throws } from "node:assert/strict";
import { mergeProfiles, ProfileBuilder } from "./profile.ts";
import { sampleOf } from "./_test_samples.ts";

Deno.test("ProfileBuilder interns frames and stacks, grows with distinct stacks", () => {
  const b = new ProfileBuilder();
  for (let i = 0; i < 1000; i++) b.add(sampleOf(["main", "a", "leaf"], 2));
  b.add(sampleOf(["main", "b"], 5));
  const p = b.build();
  eq(p.samples, 1001);
  eq(p.totalWeight, 2005);
  eq(p.frames.size, 4);
  eq(p.nodeCount, 5); // root, main, a, leaf, b
  eq(p.stackCount, 2);
  const main = p.frames.idsNamed("main")[0];
  const mainNode = [...p.nodeFrame].indexOf(main);
  eq(p.nodeTotal[mainNode], 2005);
  eq(p.nodeSelf[mainNode], 0);
  eq(p.nodeTotal[0], 2005);
  eq(p.pathOf(p.stackNode[0]).map((f) => p.frames.names[f]), ["main", "a", "leaf"]);
});

Deno.test("ProfileBuilder separates classes, marks truncation and applies the filter", () => {
  const b = new ProfileBuilder({ filter: (s) => s.cpu !== 3, contextMarkers: true });
  b.add(sampleOf(["main", "x"], 1, { tid: 11 }));
  b.add(sampleOf(["main", "x"], 1, { tid: 12 }));
  b.add(sampleOf(["main", "x"], 1, { cpu: 3 }));
  b.add(sampleOf(["main"], 1, { truncated: true }));
  b.add(sampleOf(["k_irq"], 1, { context: "nmi" }));
  b.lost.lostSamples += 7;
  const p = b.build();
  eq(p.samplesRead, 5);
  eq(p.samples, 4);
  eq(p.truncatedSamples, 1);
  eq(p.lost.lostSamples, 7);
  eq(p.stackCount, 4);
  const paths = [...p.stackNode].map((n) => p.pathOf(n).map((f) => p.frames.names[f]).join(";"));
  eq(paths.sort(), ["[nmi];k_irq", "[truncated];main", "main;x", "main;x"]);
  eq(p.frames.kinds[p.frames.idsNamed("[truncated]")[0]], "truncated");
  eq(p.frames.kinds[p.frames.idsNamed("k_irq")[0]], "kernel");
});

Deno.test("deep stacks build without recursion", () => {
  const deep = Array.from({ length: 20000 }, (_, i) => `f${i % 7}`);
  const b = new ProfileBuilder();
  b.add(sampleOf(deep));
  const p = b.build();
  eq(p.nodeCount, 20001);
  eq(p.nodeTotal[1], 1);
});

Deno.test("mergeProfiles sums weights by frame key and loss accounting", () => {
  const a = new ProfileBuilder();
  a.add(sampleOf(["main", "x"], 3));
  a.lost.damagedRanges = 1;
  const c = new ProfileBuilder();
  c.add(sampleOf(["main", "x"], 4));
  c.add(sampleOf(["main", "y"], 1));
  c.lost.damagedRanges = 2;
  const m = mergeProfiles(a.build(), c.build());
  eq(m.totalWeight, 8);
  eq(m.stackCount, 2);
  eq(m.lost.damagedRanges, 3);
  eq(m.samples, 3);
});

Deno.test("unresolved frames are keyed by address and named 0x...", () => {
  const b = new ProfileBuilder();
  b.add({
    ...sampleOf([]),
    frames: [{ ip: 0x1234n, kernel: false }, { ip: 0x1234n, kernel: false }, {
      ip: 0x99n,
      kernel: false,
    }],
  });
  const p = b.build();
  eq(p.frames.size, 2);
  eq(p.frames.names.slice().sort(), ["0x1234", "0x99"]);
  throws(() =>
    p.pathOf(-5).length > 0 ? null : (() => {
      throw new Error("x");
    })()
  );
});

Deno.test("add with a framesKey builds the same profile as without, per class and variant", () => {
  const stacks = [["main", "a", "leaf"], ["main", "b"], ["main", "a", "leaf2"]];
  // One frames array per stack, shared by every sample that has it (as load.ts does).
  const shared = stacks.map((s) => sampleOf(s, 1).frames);
  const plain = new ProfileBuilder({ contextMarkers: true });
  const keyed = new ProfileBuilder({ contextMarkers: true });
  for (let i = 0; i < 200; i++) {
    const k = i % 3;
    const s = {
      ...sampleOf(stacks[k], 1 + (i % 5), { tid: 10 + (i % 4), cpu: i % 2 }),
      frames: shared[k],
      truncated: i % 7 === 0,
      context: i % 11 === 0 ? "softirq" as const : "task" as const,
    };
    plain.add(s);
    keyed.add(s, k);
  }
  const a = plain.build();
  const b = keyed.build();
  for (
    const field of [
      "nodeParent",
      "nodeFrame",
      "nodeSelf",
      "stackNode",
      "stackClass",
      "stackWeight",
      "stackSamples",
      "stackTruncated",
    ] as const
  ) eq(b[field], a[field], field);
  eq(b.classes, a.classes);
  eq(b.frames.names, a.frames.names);
  eq([b.samples, b.totalWeight, b.truncatedSamples], [
    a.samples,
    a.totalWeight,
    a.truncatedSamples,
  ]);
});

Deno.test("ProfileBuilder keys stack records on self frames and keeps them through select and merge", () => {
  const b = new ProfileBuilder();
  const outer = { sym: "outer", dso: "/bin/prog", kernel: false };
  const alias = { sym: "outer.constprop.0", dso: "/bin/prog", kernel: false };
  const frames = sampleOf(["main", "outer", "mix"]).frames;
  b.add(sampleOf(["main", "outer", "mix"], 1), 7);
  b.add({ ...sampleOf([], 2), frames, selfFrame: outer }, 7);
  b.add({ ...sampleOf([], 3), frames, selfFrame: outer }, 7);
  b.add({ ...sampleOf([], 4), frames, selfFrame: alias });
  const p = b.build();
  eq(p.stackCount, 3);
  eq(Array.from(p.stackWeight), [1, 5, 4]);
  const names = (q: typeof p) => Array.from(q.stackSelf!, (f) => f < 0 ? "-" : q.frames.names[f]);
  eq(names(p), ["-", "outer", "outer.constprop.0"]);
  eq(p.stackNode[0], p.stackNode[1]);
  const picked = p.select((i) => i > 0);
  eq(names(picked), ["outer", "outer.constprop.0"]);
  const merged = mergeProfiles(p, p);
  eq(names(merged), ["-", "outer", "outer.constprop.0"]);
  eq(Array.from(merged.stackWeight), [2, 10, 8]);
  // Without self frames, none is carried.
  const plain = new ProfileBuilder();
  plain.add(sampleOf(["main"]));
  eq(plain.build().stackSelf, undefined);
});
