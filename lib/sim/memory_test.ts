import { deepEqual as assertEquals } from "node:assert/strict";
import { PageTables, VMALLOC_PGD_SLOTS } from "./memory.ts";

Deno.test("fork -> vmalloc -> lazy vmalloc_fault race (L753-761)", () => {
  const pt = new PageTables();
  const parent = pt.newMm();
  const slot = pt.vmallocNewPgd(false);
  const child = pt.newMm(); // forked after the vmalloc: has the entry
  assertEquals(pt.present(parent, slot), false);
  assertEquals(pt.present(child, slot), true);
  assertEquals(pt.vmallocFault(parent, parent, slot, true), true);
  assertEquals(pt.present(parent, slot), true);
});

Deno.test("vmalloc_fault via current->mm in the switch window fixes the wrong mm", () => {
  const pt = new PageTables();
  const a = pt.newMm(), b = pt.newMm();
  const slot = pt.vmallocNewPgd(false);
  assertEquals(pt.vmallocFault(b, a, slot, false), false); // cr3 = b, current = a
  assertEquals(pt.stats.wrongMmFills, 1);
  assertEquals(pt.present(b, slot), false);
});

Deno.test("eager sync populates every mm; a reused slot starts unmapped again", () => {
  const pt = new PageTables();
  const a = pt.newMm();
  const first = pt.vmallocNewPgd(true);
  assertEquals(pt.present(a, first), true);
  for (let i = 1; i < VMALLOC_PGD_SLOTS; i++) pt.vmallocNewPgd(false);
  assertEquals(pt.vmallocNewPgd(false), first);
  assertEquals(pt.present(a, first), false);
});
