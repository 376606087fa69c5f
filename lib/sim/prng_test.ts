import { deepEqual as assertEquals, notDeepEqual as assertNotEquals } from "node:assert/strict";
import { Prng } from "./prng.ts";

Deno.test("same seed gives the same sequence, different seeds differ", () => {
  const a = new Prng(42), b = new Prng(42), c = new Prng(43);
  const sa = Array.from({ length: 8 }, () => a.next());
  assertEquals(sa, Array.from({ length: 8 }, () => b.next()));
  assertNotEquals(sa, Array.from({ length: 8 }, () => c.next()));
});

Deno.test("float is in [0,1) and roughly uniform", () => {
  const r = new Prng(1);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) {
    const x = r.float();
    if (x < 0 || x >= 1) throw new Error(`out of range: ${x}`);
    sum += x;
  }
  const mean = sum / 10_000;
  if (Math.abs(mean - 0.5) > 0.02) throw new Error(`mean ${mean}`);
});
