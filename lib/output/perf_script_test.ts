import assert from "node:assert/strict";
import { defaultAttr, SampleType } from "../abi/mod.ts";
import { type AddressResolver, NO_MAPS } from "../analyze/resolver.ts";
import {
  checkScriptFields,
  formatTime,
  parseScriptFields,
  ScriptFieldError,
  ScriptPrinter,
} from "./perf_script.ts";

const KERNEL = 0xffffffffffffff80n;
const USER = 0xfffffffffffffe00n;

const resolver: AddressResolver = {
  resolve(_pid, _tid, cpumode, addr) {
    if (cpumode === 1) {
      return { mapIp: addr, sym: "kfunc", symoff: 0x10n, dso: "[kernel.kallsyms]" };
    }
    if (addr >= 0x5000n && addr < 0x6000n) {
      return {
        mapIp: addr - 0x5000n + 0x1000n,
        sym: addr === 0x5100n ? undefined : "leaf",
        symoff: 0n,
        dso: "/bin/x",
      };
    }
    return undefined;
  },
};

const sample = {
  ip: 0xffffffff81000010n,
  pid: 9219,
  tid: 9221,
  time: 377_295_789_123,
  cpu: 1,
  period: 500000,
  callchain: BigUint64Array.of(KERNEL, 0xffffffff81000010n, USER, 0x5010n, 0x5100n, 0x7777n),
};

Deno.test("ScriptPrinter.format() prints a callchain sample as perf script 6.1", () => {
  const sel = parseScriptFields("comm,pid,tid,cpu,time,period,event,ip");
  const out = new ScriptPrinter(sel, resolver).format(
    sample,
    1,
    "burn worker 1",
    "cpu-clock",
    true,
  );
  assert.equal(
    out,
    "burn worker 1  9219/9221  [001]   377.295789:     500000 cpu-clock: \n" +
      "\tffffffff81000010\n" +
      "\t            1010\n" +
      "\t            1100\n" +
      "\t            7777\n\n",
  );
});

Deno.test("ScriptPrinter.format() adds sym, symoff and dso like perf", () => {
  const sel = parseScriptFields("tid,ip,sym,dso,symoff");
  const out = new ScriptPrinter(sel, resolver).format(sample, 1, "x", "cpu-clock", true);
  assert.equal(
    out,
    " 9221 \n" +
      "\tffffffff81000010 kfunc+0x10 ([kernel.kallsyms])\n" +
      "\t            1010 leaf+0x0 (/bin/x)\n" +
      "\t            1100 [unknown] (/bin/x)\n" +
      "\t            7777 [unknown] ([unknown])\n\n",
  );
});

Deno.test("ScriptPrinter.format() without a callchain pads comm and prints the absolute ip", () => {
  const sel = parseScriptFields("comm,tid,time,ip,sym");
  const out = new ScriptPrinter(sel, resolver).format(
    { ...sample, ip: 0x5010n },
    2,
    "burn",
    "cpu-clock",
    false,
  );
  assert.equal(out, "            burn  9221   377.295789: " + " " + "            5010 leaf\n");
});

Deno.test("ScriptPrinter.format() drops the chain on an unknown marker and honours max stack", () => {
  const sel = parseScriptFields("ip");
  const bad = { ...sample, callchain: BigUint64Array.of(KERNEL, 1n, 0xfffffffffffff800n, 2n) };
  assert.equal(new ScriptPrinter(sel, NO_MAPS).format(bad, 1, "", "e", true), "\n\n");
  const deep = { ...sample, callchain: BigUint64Array.of(USER, 1n, 2n, 3n) };
  assert.equal(
    new ScriptPrinter(sel, NO_MAPS, { maxStack: 2 }).format(deep, 2, "", "e", true),
    "\n\t               1\n\t               2\n\n",
  );
});

Deno.test("parseScriptFields() rejects unknown fields like perf (exit 129)", () => {
  assert.throws(() => parseScriptFields("comm,bogus"), (e: unknown) => {
    assert.ok(e instanceof ScriptFieldError);
    assert.equal(e.message, "Invalid field requested.");
    assert.equal(e.exitCode, 129);
    return true;
  });
  assert.deepEqual([...parseScriptFields("sw:ip,sym").fields], ["ip", "sym"]);
  const rel = parseScriptFields("-cpu,+pid");
  assert.ok(!rel.fields.has("cpu") && rel.fields.has("pid") && rel.fields.has("comm"));
});

Deno.test("checkScriptFields() errors for user-set fields the attr lacks and drops defaults", () => {
  const attr = defaultAttr({
    sampleType: SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.PERIOD,
  });
  assert.throws(
    () => checkScriptFields(parseScriptFields("comm,cpu,ip"), attr, "cpu-clock"),
    (e: unknown) => {
      assert.ok(e instanceof ScriptFieldError);
      assert.equal(
        e.message,
        "Samples for 'cpu-clock' event do not have CPU attribute set. Cannot print 'cpu' field.",
      );
      assert.equal(e.exitCode, 255);
      return true;
    },
  );
  const defaults = parseScriptFields(undefined);
  checkScriptFields(defaults, attr, "cpu-clock");
  assert.ok(!defaults.fields.has("cpu"));
  assert.ok(defaults.fields.has("time"));
  assert.throws(
    () => checkScriptFields(parseScriptFields("ip,symoff"), attr, "e"),
    /symbol is notselected/,
  );
});

Deno.test("formatTime() truncates to microseconds", () => {
  assert.equal(formatTime(377_295_789_999), "377.295789");
  assert.equal(formatTime(5_000_001), "0.005000");
  assert.equal(formatTime(123_456_000_000_000), "123456.000000");
});
