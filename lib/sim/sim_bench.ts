import { Machine } from "./machine.ts";
import { CountingSink } from "./sink.ts";
import { check } from "./check.ts";
import { mainline, naiveIret } from "./strategies/mod.ts";

const N = 50_000;

Deno.bench({
  name: `simulate ${N} samples (mainline)`,
  group: "sim",
  baseline: true,
  fn() {
    new Machine(mainline, { seed: 1, samples: N }, new CountingSink()).run();
  },
});

Deno.bench({
  name: `simulate ${N} samples (naive-iret)`,
  group: "sim",
  fn() {
    new Machine(naiveIret, { seed: 1, samples: N }, new CountingSink()).run();
  },
});

Deno.bench({
  name: "model-check mainline pf+mce depth 3",
  group: "check",
  fn() {
    check(mainline, "pf+mce", { nmis: 3, faults: 2 });
  },
});
