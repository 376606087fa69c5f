import assert from "node:assert/strict";
import type { TraceField, TracingData } from "../perfdata/tracing_data.ts";
import { TracepointPrinter } from "./tracepoint_print.ts";

/** A field of `size` bytes at `offset` (an array of `length` when given). */
function field(name: string, offset: number, size: number, length = 0): TraceField {
  return {
    type: length ? "unsigned long" : "unsigned int",
    name,
    offset,
    size,
    signed: false,
    array: length > 0,
    arrayLength: length,
    dynamic: false,
    string: false,
    common: false,
  };
}

/** The text of one payload under `printFmt`, fields `a` (u32 at 8) and `p` (u64 at 16). */
function print(
  printFmt: string,
  values: { a?: number; p?: bigint; args?: bigint[] },
  extra: Partial<TracingData> = {},
  kernelSymbol?: (addr: bigint) => { name: string; offset: bigint } | undefined,
): string | undefined {
  const fields = [field("a", 8, 4), field("p", 16, 8), field("args", 24, 16, 2)];
  const data: TracingData = {
    version: "0.6",
    bigEndian: false,
    longSize: 8,
    pageSize: 4096,
    printk: new Map(),
    events: new Map([[1, { system: "t", name: "e", id: 1, fields, printFmt }]]),
    ...extra,
  };
  const raw = new Uint8Array(40);
  const view = new DataView(raw.buffer);
  view.setUint32(8, values.a ?? 0, true);
  view.setBigUint64(16, values.p ?? 0n, true);
  (values.args ?? []).forEach((v, i) => view.setBigUint64(24 + 8 * i, v, true));
  return new TracepointPrinter(data, kernelSymbol).format(1, raw);
}

Deno.test("print fmt: libtraceevent's tree, not C's: a looser parenthesized operand rotates above", () => {
  // timer:timer_start's flags: perf evaluates (REC->a & 0x40000) | 0x80000 | 0x100000 | 0x200000
  const fmt = `"%s", __print_flags(REC->a & (0x00040000 | 0x00080000 | 0x00100000 | 0x00200000), ` +
    `"|", { 0x00040000, "M" }, { 0x00080000, "D" }, { 0x00100000, "P" }, { 0x00200000, "I" })`;
  assert.equal(print(fmt, { a: 0x8c00000 }), "D|P|I");
  assert.equal(print(fmt, { a: 0x40000 }), "M|D|P|I");
  // one priority groups to the right; the false branch of ?: is one operand
  assert.equal(print(`"%d", 10 - 4 - 3`, {}), "9");
  assert.equal(print(`"%d", REC->a ? 1 : 2 + 5`, { a: 0 }), "7");
  // C's precedence where no parentheses are rotated
  assert.equal(print(`"%d", 2 + 3 * 4`, {}), "14");
  assert.equal(print(`"%x", ((REC->a) & ((1U << 20) - 1))`, { a: 0x123456 }), "23456");
});

Deno.test("print fmt: casts keep low bits and never sign-extend; typedefs and pointers pass", () => {
  assert.equal(print(`"%lld", (int)REC->p`, { p: 0xffffffffn }), "4294967295");
  assert.equal(print(`"%d", (int)REC->p`, { p: 0xffffffffn }), "-1");
  assert.equal(print(`"%llx", (u16)REC->p`, { p: 0x12345n }), "2345");
  assert.equal(print(`"%lld", ((loff_t)REC->a) << 12`, { a: 3 }), "12288");
  assert.equal(print(`"%lx", (unsigned long)-4095`, {}), "fffffffffffff001");
  assert.equal(
    print(`"%p", (((struct page *)vmemmap_base) + (REC->a))`, { a: 0x1234 }),
    "0x1234",
  );
});

Deno.test("print fmt: array elements, __builtin_expect, names in flag tables and their sentinel", () => {
  assert.equal(print(`"%lx %lx", REC->args[0], REC->args[1]`, { args: [0xbn, 0x2400n] }), "b 2400");
  assert.equal(print(`"%d", __builtin_expect(!!(REC->a > 3), 0)`, { a: 5 }), "1");
  // an enum the kernel did not turn into a number is -1ULL (matches nothing); known names match
  const sym = `"%s", __print_symbolic(REC->a, { HRTIMER_MODE_ABS, "ABS" }, { TIMER_SOFTIRQ, "T" })`;
  assert.equal(print(sym, { a: 0 }), "0x0");
  assert.equal(print(sym, { a: 1 }), "T");
  // a { 0, NULL } entry ends the table: nothing is printed for it
  const flags = `"%s", __print_flags(REC->a, "|", { 1, "A" }, { 2, "B" }, { 0, ((void *)0) })`;
  assert.equal(print(flags, { a: 3 }), "A|B");
  assert.equal(print(flags, { a: 0 }), "");
});

Deno.test("print fmt: %pS and %ps name kernel functions; a pointer %s is its printk string", () => {
  const resolve = (addr: bigint) =>
    addr >= 0xffffffff81000000n && addr < 0xffffffff81000100n
      ? { name: "do_work", offset: addr - 0xffffffff81000000n }
      : undefined;
  const fmt = `"call_site=%pS fn=%ps", REC->p, REC->p`;
  assert.equal(
    print(fmt, { p: 0xffffffff81000027n }, {}, resolve),
    "call_site=do_work+0x27 fn=do_work",
  );
  assert.equal(print(fmt, { p: 0x1234n }, {}, resolve), "call_site=0x1234 fn=0x1234");
  // without a kernel symbol finder the format is not decoded (nothing guessed)
  assert.equal(print(fmt, { p: 0x1234n }), undefined);
  const printk = new Map([[0xffffffff82000010n, "Start context switch"]]);
  assert.equal(
    print(`"%s", REC->p`, { p: 0xffffffff82000010n }, { printk }),
    "Start context switch",
  );
  assert.equal(print(`"%s", REC->p`, { p: 0xffffffff82000020n }, { printk }), "ffffffff82000020");
});
