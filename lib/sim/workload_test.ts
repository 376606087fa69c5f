import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Image, KERNEL_BASE, kernelDepth, userDepth } from "./workload.ts";
import { Prng } from "./prng.ts";

Deno.test("symbol table resolves kernel, program and library addresses", () => {
  const img = new Image();
  assertEquals(img.symbols.lookup(KERNEL_BASE + 0x10n)?.name, "entry_SYSCALL_64");
  assertEquals(img.symbols.lookup(0x400004n)?.name, "main");
  assertEquals(img.symbols.lookup(0x7f0000000004n)?.dso, "libc.so.6");
  assertEquals(img.symbols.lookup(0x10n), undefined);
});

Deno.test("depth generators follow Ingo's histograms (ranges and means)", () => {
  const r = new Prng(4);
  let k = 0, u = 0, kMin = 99, kMax = 0, uMin = 99, uMax = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const a = kernelDepth(r), b = userDepth(r);
    k += a;
    u += b;
    kMin = Math.min(kMin, a);
    kMax = Math.max(kMax, a);
    uMin = Math.min(uMin, b);
    uMax = Math.max(uMax, b);
  }
  assert(Math.abs(k / n - 8.2) < 0.1 && kMin >= 2 && kMax <= 18, `kernel ${k / n} ${kMin}-${kMax}`);
  assert(Math.abs(u / n - 16.4) < 0.1 && uMin >= 4 && uMax <= 31, `user ${u / n} ${uMin}-${uMax}`);
});
