import assert from "node:assert/strict";
import { STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_FUNC, STT_OBJECT, SymbolTable } from "./symbols.ts";

type Spec = [start: bigint, size: bigint, binding: number, name: string];

function build(specs: Spec[], isKallsyms = false): SymbolTable {
  const names = specs.map((s) => s[3]);
  return SymbolTable.build(
    specs.map(([start, size, binding], i) => ({
      start,
      size,
      binding,
      type: STT_FUNC,
      nameRef: i,
    })),
    (r) => names[r],
    { isKallsyms },
  );
}

function nameAt(t: SymbolTable, addr: bigint): string | undefined {
  const i = t.find(addr);
  return i < 0 ? undefined : t.nameAt(i);
}

Deno.test("zero-sized symbols end at the next start; sized ones keep their size", () => {
  const t = build([
    [0x3000n, 0n, STB_GLOBAL, "last"],
    [0x1000n, 0x10n, STB_GLOBAL, "sized"],
    [0x2000n, 0n, STB_GLOBAL, "open"],
  ]);
  assert.equal(nameAt(t, 0x100fn), "sized");
  assert.equal(nameAt(t, 0x1010n), undefined); // gap after a sized symbol
  assert.equal(nameAt(t, 0x2fffn), "open");
  assert.equal(t.endAt(t.find(0x2000n)), 0x3000n);
  // Last zero-sized symbol: roundup(start, 4096) + 4096.
  assert.equal(t.endAt(t.find(0x3000n)), 0x4000n);
  assert.equal(nameAt(t, 0x3fffn), "last");
  assert.equal(nameAt(t, 0x4000n), undefined);
  assert.equal(nameAt(t, 0xfffn), undefined);
});

Deno.test("duplicates: sized beats zero, global beats weak/local, fewer underscores, longer name", () => {
  const t = build([
    [0x100n, 0x10n, STB_WEAK, "weak_one"],
    [0x100n, 0x10n, STB_GLOBAL, "__global"],
    [0x100n, 0x10n, STB_GLOBAL, "_global2"],
    [0x200n, 0x10n, STB_LOCAL, "local"],
    [0x200n, 0x10n, STB_GLOBAL, "g"],
    [0x300n, 0x10n, STB_GLOBAL, "short"],
    [0x300n, 0x10n, STB_GLOBAL, "longer_name"],
    [0x400n, 0x10n, STB_GLOBAL, "first@@V_1"],
    [0x400n, 0x10n, STB_GLOBAL, "first@V_2"],
    [0x500n, 0x10n, STB_GLOBAL, "SyS_read"],
    [0x500n, 0x10n, STB_GLOBAL, "sys_read"],
  ]);
  assert.equal(t.length, 5);
  assert.equal(nameAt(t, 0x104n), "_global2");
  assert.equal(nameAt(t, 0x200n), "g");
  assert.equal(nameAt(t, 0x30fn), "longer_name");
  assert.equal(nameAt(t, 0x400n), "first@@V_1"); // tie: the earlier one stays
  assert.equal(nameAt(t, 0x500n), "sys_read"); // arch rule: avoid SyS aliases
});

Deno.test("zero-length duplicate loses to the symbol that got the extended end", () => {
  const t = build([
    [0x1000n, 0n, STB_GLOBAL, "_text"],
    [0x1000n, 0n, STB_GLOBAL, "_stext"],
    [0x1000n, 0n, STB_GLOBAL, "startup"],
    [0x1040n, 0n, STB_GLOBAL, "next"],
  ]);
  assert.equal(nameAt(t, 0x1000n), "startup");
  assert.equal(nameAt(t, 0x103fn), "startup");
});

Deno.test("kallsyms variant ends the last kernel symbol at a page boundary before modules", () => {
  const t = build([
    [0xffffffff81000000n, 0n, STB_GLOBAL, "_stext"],
    [0xffffffff81000800n, 0n, STB_GLOBAL, "etext_fn"],
    [0xffffffffc0000000n, 0n, STB_GLOBAL, "mod_fn\t[mod]"],
  ], true);
  const i = t.find(0xffffffff81000800n);
  assert.equal(t.endAt(i), 0xffffffff81002000n);
  assert.equal(t.find(0xffffffff81002000n), -1);
  const plain = build([
    [0x800n, 0n, STB_GLOBAL, "a"],
    [0x9000n, 0n, STB_GLOBAL, "b\t[m]"],
  ]);
  assert.equal(plain.endAt(plain.find(0x800n)), 0x9000n);
});

Deno.test("findNumber and findHalves agree with find across the 2^32 boundary", () => {
  const t = build([
    [0xfffffff0n, 0x20n, STB_GLOBAL, "straddle"],
    [0x1_0000_0100n, 0x10n, STB_GLOBAL, "above"],
  ]);
  for (
    const a of [
      0xffffffefn,
      0xfffffff0n,
      0x1_0000_0000n,
      0x1_0000_000fn,
      0x1_0000_0010n,
      0x1_0000_0105n,
    ]
  ) {
    assert.equal(t.findNumber(Number(a)), t.find(a), `addr ${a.toString(16)}`);
  }
  assert.equal(nameAt(t, 0x1_0000_0005n), "straddle");
  assert.equal(t.findHalves(1, 0x105), t.find(0x1_0000_0105n));
});

Deno.test("data objects (STT_OBJECT) stay marked through sorting, fix-ups and duplicates", () => {
  const names = ["obj", "fn", "dup_obj", "dup_fn_wins", "last_obj"];
  const raw = [
    { start: 0x3000n, size: 0x10n, binding: STB_GLOBAL, type: STT_OBJECT, nameRef: 4 },
    { start: 0x1000n, size: 0x10n, binding: STB_GLOBAL, type: STT_OBJECT, nameRef: 0 },
    { start: 0x2000n, size: 0n, binding: STB_LOCAL, type: STT_FUNC, nameRef: 1 },
    // a duplicate start: the global sized function is chosen over the weak object
    { start: 0x2800n, size: 0x8n, binding: STB_WEAK, type: STT_OBJECT, nameRef: 2 },
    { start: 0x2800n, size: 0x8n, binding: STB_GLOBAL, type: STT_FUNC, nameRef: 3 },
  ];
  const t = SymbolTable.build(raw, (r) => names[r]!);
  const kinds = Array.from({ length: t.length }, (_, i) => `${t.nameAt(i)}:${t.isObjectAt(i)}`);
  assert.deepEqual(kinds, ["obj:true", "fn:false", "dup_fn_wins:false", "last_obj:true"]);
  const renamed = t.renamed((all) => all.map((n) => n.toUpperCase()));
  assert.equal(renamed.isObjectAt(0), true);
  assert.equal(renamed.isObjectAt(1), false);
});
