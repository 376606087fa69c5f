import { deepStrictEqual as eq } from "node:assert/strict";
import { ProfileBuilder } from "./profile.ts";
import {
  bottomUpTree,
  type CallTreeNode,
  focusTree,
  functionTotals,
  mergeTrees,
  selfFrameOf,
  topDownTree,
  walkTree,
} from "./call_tree.ts";
import { sampleOf } from "./_test_samples.ts";

function profile() {
  const b = new ProfileBuilder();
  b.add(sampleOf(["main", "a", "leaf"], 3));
  b.add(sampleOf(["main", "b", "leaf"], 1));
  b.add(sampleOf(["main", "rec", "rec", "rec", "leaf"], 2));
  b.add(sampleOf(["main"], 4));
  return b.build();
}

function dump(p: ReturnType<typeof profile>, t: CallTreeNode): string[] {
  const out: string[] = [];
  const shift = t.frame >= 0 ? 0 : 1;
  walkTree(t, (n, d) => {
    if (n.frame >= 0) {
      out.push(`${"  ".repeat(d - shift)}${p.frames.names[n.frame]} ${n.self}/${n.total}`);
    }
  });
  return out;
}

Deno.test("topDownTree: hand-computed self/total", () => {
  const p = profile();
  eq(dump(p, topDownTree(p)), [
    "main 4/10",
    "  a 0/3",
    "    leaf 3/3",
    "  rec 0/2",
    "    rec 0/2",
    "      rec 0/2",
    "        leaf 2/2",
    "  b 0/1",
    "    leaf 1/1",
  ]);
});

Deno.test("bottomUpTree: leaves first with callers below", () => {
  const p = profile();
  const lines = dump(p, bottomUpTree(p));
  // The first level carries self weight (samples whose leaf it is); callers below carry none.
  eq(lines.slice(0, 3), ["leaf 6/6", "  a 0/3", "    main 0/3"]);
  eq(lines.includes("main 4/4"), true);
  const tree = bottomUpTree(p);
  eq(tree.children.reduce((n, c) => n + c.self, 0), tree.total);
});

Deno.test("functionTotals counts recursion once per sample", () => {
  const p = profile();
  const byName = Object.fromEntries(
    functionTotals(p).map((t) => [p.frames.names[t.frame], [t.self, t.total]]),
  );
  eq(byName, { main: [4, 10], leaf: [6, 6], a: [0, 3], rec: [0, 2], b: [0, 1] });
});

Deno.test("focusTree callees and callers; mergeTrees doubles", () => {
  const p = profile();
  const rec = p.frames.idsNamed("rec");
  const callees = focusTree(p, rec, "callees");
  eq(callees.total, 2);
  eq(dump(p, callees), ["rec 0/2", "  rec 0/2", "    rec 0/2", "      leaf 2/2"]);
  const callers = focusTree(p, p.frames.idsNamed("leaf"), "callers");
  eq(callers.total, 6);
  eq(callers.self, 6);
  eq(callers.children.map((c) => p.frames.names[c.frame]), ["a", "rec", "b"]);
  const m = mergeTrees(topDownTree(p), topDownTree(p), p);
  eq(m.total, 20);
  eq(m.children[0].self, 8);
});

Deno.test("functionTotals and selfFrameOf charge self to the profile's stackSelf frame", () => {
  const b = new ProfileBuilder();
  const frame = (sym: string, inlined = false) => ({
    sym,
    dso: "/bin/prog",
    kernel: false,
    inlined,
  });
  const base = sampleOf([], 3);
  b.add({ ...base, frames: [frame("mix", true), frame("outer"), frame("main")] });
  b.add({ ...base, weight: 1, frames: [frame("handle_intel", true), frame("main")] });
  const p = b.build();
  eq(p.frames.names[selfFrameOf(p, 0)], "mix"); // no stackSelf: the leaf
  const outer = p.frames.find("user", "outer", "/bin/prog");
  // A clone's symbol name is not in the callchain at all (perf shows its DWARF name inlined).
  const clone = p.frames.intern({
    sym: "handle_intel.constprop.0",
    dso: "/bin/prog",
    kernel: false,
  });
  const withSelf = Object.assign(p, { stackSelf: Int32Array.of(outer, clone) });
  eq(p.frames.names[selfFrameOf(withSelf, 0)], "outer");
  const byName = Object.fromEntries(
    functionTotals(withSelf).map((t) => [p.frames.names[t.frame], [t.self, t.total]]),
  );
  eq(byName, {
    main: [0, 4],
    outer: [3, 3],
    mix: [0, 3],
    handle_intel: [0, 1],
    "handle_intel.constprop.0": [1, 1],
  });
});
