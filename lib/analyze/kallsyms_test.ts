import assert from "node:assert/strict";
import {
  KallsymsError,
  KallsymsParser,
  keepsKallsymsType,
  loadKallsyms,
  parseKallsyms,
} from "./kallsyms.ts";

const SAMPLE = [
  "ffffffff81000000 T _stext",
  "ffffffff81000000 T startup_64",
  "ffffffff81000100 t helper",
  "ffffffff81000200 r rodata_thing",
  "ffffffff81000300 W weak_fn",
  "ffffffff81000400 A abs_sym",
  "ffffffff81000500 T last_text",
  "ffffffffc0001000 t mod_init\t[my_mod]",
  "ffffffffc0001080 T mod_fn\t[my_mod]",
  "not a line",
  "ffffffffc0002000 T other_fn\t[other]",
].join("\n");

function name(t: ReturnType<typeof parseKallsyms>["kernel"], addr: bigint): string | undefined {
  const i = t.find(addr);
  return i < 0 ? undefined : t.nameAt(i);
}

Deno.test("type filter keeps T/W/D/B in either case only", () => {
  for (const t of "TtWwDdBb") assert.ok(keepsKallsymsType(t), t);
  for (const t of "RrAaUuVN") assert.ok(!keepsKallsymsType(t), t);
});

Deno.test("kernel symbols: filtering, ends, duplicates; modules split out", () => {
  const k = parseKallsyms(SAMPLE);
  assert.equal(k.allZero, false);
  // rodata (r) and absolute (A) are dropped, so helper extends to weak_fn.
  assert.equal(name(k.kernel, 0xffffffff81000250n), "helper");
  assert.equal(name(k.kernel, 0xffffffff81000450n), "weak_fn");
  // Two symbols at _stext: startup_64 has the longer name... but both are zero-length
  // before fix-up; the later one got the end, so it wins.
  assert.equal(name(k.kernel, 0xffffffff81000000n), "startup_64");
  // Last kernel symbol before modules ends at a page boundary, not at the module.
  const last = k.kernel.find(0xffffffff81000500n);
  assert.equal(k.kernel.endAt(last), 0xffffffff81002000n);
  assert.equal(name(k.kernel, 0xffffffff81002000n), undefined);
  assert.deepEqual([...k.modules.keys()].sort(), ["my_mod", "other"]);
  const mod = k.modules.get("my_mod")!;
  assert.equal(name(mod, 0xffffffffc0001010n), "mod_init");
  assert.equal(name(mod, 0xffffffffc0001090n), "mod_fn");
  // other_fn is the last symbol overall: roundup(start) + 4096.
  const other = k.modules.get("other")!;
  assert.equal(other.endAt(0), 0xffffffffc0003000n);
});

Deno.test("data symbols (D, B) are objects, as kallsyms2elf_type makes them STT_OBJECT", () => {
  const k = parseKallsyms([
    "ffffffff81000000 T _stext",
    "ffffffff81000100 d data_local",
    "ffffffff81000200 W weak_fn",
    "ffffffff82000000 D __start_rodata",
    "ffffffff82000100 B bss_thing",
    "ffffffffc0001000 t mod_fn\t[m]",
    "ffffffffc0001100 b mod_bss\t[m]",
  ].join("\n"));
  const kinds = (t: typeof k.kernel) =>
    Array.from({ length: t.length }, (_, i) => `${t.nameAt(i)}:${t.isObjectAt(i)}`);
  assert.deepEqual(kinds(k.kernel), [
    "_stext:false",
    "data_local:true",
    "weak_fn:false",
    "__start_rodata:true",
    "bss_thing:true",
  ]);
  assert.deepEqual(kinds(k.modules.get("m")!), ["mod_fn:false", "mod_bss:true"]);
  // a table with no data symbol has none
  assert.equal(parseKallsyms("ffffffff81000000 T _stext").kernel.isObjectAt(0), false);
});

Deno.test("chunked input parses like whole input", () => {
  const p = new KallsymsParser();
  for (let i = 0; i < SAMPLE.length; i += 7) p.push(SAMPLE.slice(i, i + 7));
  const chunked = p.finish();
  const whole = parseKallsyms(SAMPLE);
  assert.equal(chunked.kernel.length, whole.kernel.length);
  for (let i = 0; i < whole.kernel.length; i++) {
    assert.equal(chunked.kernel.nameAt(i), whole.kernel.nameAt(i));
    assert.equal(chunked.kernel.endAt(i), whole.kernel.endAt(i));
  }
});

Deno.test("all-zero addresses (kptr_restrict) load no symbols", () => {
  const k = parseKallsyms("0000000000000000 T a\n0000000000000000 T b\n");
  assert.equal(k.allZero, true);
  assert.equal(k.kernel.length, 0);
});

Deno.test("missing file raises KallsymsError", () => {
  assert.throws(() => loadKallsyms("/nonexistent/kallsyms"), KallsymsError);
});

Deno.test({
  name: "live /proc/kallsyms parses and resolves a known symbol",
  ignore: (() => {
    try {
      return !Deno.readTextFileSync("/proc/sys/kernel/kptr_restrict").startsWith("0") ||
        Deno.uid() !== 0;
    } catch {
      return true;
    }
  })(),
  fn() {
    const k = loadKallsyms();
    assert.ok(k.kernel.length > 1000);
    const text = Deno.readTextFileSync("/proc/kallsyms");
    const line = text.split("\n").find((l) => / T schedule$/.test(l));
    assert.ok(line);
    const addr = BigInt("0x" + line.split(" ")[0]);
    assert.equal(k.kernel.nameAt(k.kernel.find(addr + 1n)), "schedule");
  },
});
