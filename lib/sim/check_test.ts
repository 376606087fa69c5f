import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { check, type CheckResult } from "./check.ts";
import { INV_BIT, type InvariantName } from "./cpu.ts";
import { replaySchedule } from "./machine.ts";
import {
  CHECK_STRATEGIES,
  getStrategy,
  kmallocBuffers,
  linusV2,
  mainline,
  naiveIret,
  popfRet,
  ripAtIret,
  ripRange,
  rspRange,
  vmallocSyncAll,
} from "./strategies/mod.ts";

const OPTS = { nmis: 3, faults: 2 };
const v = (r: CheckResult, i: InvariantName) => r.verdicts[i];

Deno.test("naive-iret violates the frame invariant", () => {
  assertEquals(v(check(naiveIret, "pf", OPTS), "ist-frame-live"), "violated");
});

Deno.test("%rip-at-iret (as posted) and %rip-range have frame counter-examples", () => {
  const a = check(ripAtIret, "pf", OPTS);
  assertEquals(v(a, "ist-frame-live"), "violated");
  // needs three NMIs and two faults: NMI#1, #PF, IRET_RACE NMI#2, #PF, NMI#3
  const tr = a.violations.find((x) => x.invariant === "ist-frame-live")!;
  assertEquals(tr.choices.filter((c) => c.t === "nmi").length, 3);
  assertEquals(tr.choices.filter((c) => c.t === "fault").length, 2);
  assertEquals(v(check(ripRange, "pf", OPTS), "ist-frame-live"), "violated");
});

Deno.test("rsp-range keeps the frame with NMI+#PF but loses it with #DB or MCE", () => {
  assertEquals(v(check(rspRange, "pf", OPTS), "ist-frame-live"), "holds");
  assertEquals(v(check(rspRange, "pf+db", OPTS), "ist-frame-live"), "violated");
  assertEquals(v(check(rspRange, "pf+mce", OPTS), "ist-frame-live"), "violated");
  // finding: the sketched nested path records no latch
  assertEquals(v(check(rspRange, "pf", OPTS), "nmi-latch"), "violated");
});

Deno.test("popf-ret holds the frame with #PF but single-step (TF -> iret) breaks it", () => {
  assertEquals(v(check(popfRet, "pf", OPTS), "ist-frame-live"), "holds");
  assertEquals(v(check(popfRet, "pf", OPTS), "no-early-unmask"), "holds");
  const ss = check(popfRet, "pf+int3", OPTS);
  assertEquals(v(ss, "ist-frame-live"), "violated");
  assertEquals(v(ss, "no-early-unmask"), "violated");
});

Deno.test("linus-v2 and mainline hold every invariant under every profile", () => {
  for (const s of [linusV2, mainline]) {
    for (const p of ["pf", "pf+int3", "pf+db", "pf+mce"] as const) {
      const r = check(s, p, OPTS);
      assert(r.complete);
      assertEquals(r.violations.map((x) => x.trace.join("\n")), [], `${s.name} ${p}`);
    }
  }
});

Deno.test("vmalloc-sync-all and kmalloc never fault in NMI with #PF only", () => {
  for (const s of [vmallocSyncAll, kmallocBuffers]) {
    assertEquals(check(s, "pf", OPTS).violations, []);
  }
});

Deno.test("exploration is bounded and monotone in depth", () => {
  const a = check(mainline, "pf", { nmis: 2, faults: 1 });
  const b = check(mainline, "pf", { nmis: 3, faults: 2 });
  assert(a.states < b.states, `${a.states} < ${b.states}`);
});

Deno.test("every counter-example replays in the simulator to the same failure", () => {
  let replayed = 0;
  for (const s of CHECK_STRATEGIES) {
    for (const p of ["pf", "pf+int3", "pf+db", "pf+mce"] as const) {
      for (const viol of check(s, p, OPTS).violations) {
        const r = replaySchedule(getStrategy(s.name), viol.choices);
        assert(
          (r.violations & INV_BIT[viol.invariant]) !== 0,
          `${s.name} ${p} ${viol.invariant}: replay gave ${r.lastViolation}`,
        );
        replayed++;
      }
    }
  }
  assert(replayed > 20, `replayed ${replayed}`);
});

Deno.test("shortest trace: naive-iret frame loss needs exactly one #PF and two NMIs", () => {
  const t = check(naiveIret, "pf", OPTS).violations.find((x) => x.invariant === "ist-frame-live")!;
  assertEquals(t.choices.filter((c) => c.t === "nmi").length, 2);
  assertEquals(t.choices.filter((c) => c.t === "fault").length, 1);
  assert(t.trace.at(-1)!.includes("overwritten"));
});
