import { deepEqual, equal } from "node:assert/strict";
import { CaptureSymbols } from "./capture_symbols.ts";

Deno.test("CaptureSymbols resolves ranges added in any order, exclusive end", () => {
  const t = new CaptureSymbols();
  t.add({
    start: 0xffffffff81000400n,
    end: 0xffffffff81000800n,
    kernel: true,
    name: "b",
    dso: "[kernel.kallsyms]",
  });
  t.add({ start: 0x400000n, end: 0x400100n, kernel: false, name: "main", dso: "app" });
  t.add({
    start: 0xffffffff81000000n,
    end: 0xffffffff81000400n,
    kernel: true,
    name: "a",
    dso: "[kernel.kallsyms]",
  });
  equal(t.size, 3);
  deepEqual(t.resolve(0x4000ffn), { sym: "main", dso: "app" });
  equal(t.resolve(0x400100n), undefined);
  equal(t.resolve(0xffffffff81000400n)?.sym, "b");
  equal(t.resolve(0xffffffff810003ffn)?.sym, "a");
  equal(t.resolve(0n), undefined);
});
