import assert from "node:assert/strict";
import type { Sample } from "../abi/mod.ts";
import {
  type AddressResolver,
  type ResolvedAddress,
  type ResolverScope,
} from "../analyze/resolver.ts";
import {
  parseScriptFields,
  ScriptOutput,
  ScriptPrinter,
  ScriptSampleFields,
} from "./perf_script.ts";

const KERNEL = 0xffffffffffffff80n;
const USER = 0xfffffffffffffe00n;
const GUEST = 0xfffffffffffff800n; // unknown to perf 6.1: the chain is dropped

/** A resolver whose user maps can change (bumping the scope's version). */
class TestResolver implements AddressResolver {
  readonly kernel = { version: 0 };
  readonly users = new Map<number, { version: number }>();
  readonly none: ResolverScope = { version: 0 };
  userSym = "leaf";
  lookups = 0;

  resolve(pid: number, _tid: number, cpumode: number, addr: bigint): ResolvedAddress | undefined {
    this.lookups++;
    if (cpumode === 1 && addr >= 0xffffffff81000000n) {
      return { mapIp: addr, sym: "kfunc", symoff: addr & 0xffn, dso: "[kernel.kallsyms]" };
    }
    if (cpumode === 2 && this.users.has(pid) && addr >= 0x5000n && addr < 0x6000n) {
      return {
        mapIp: addr - 0x5000n + 0x1000n,
        sym: addr === 0x5100n ? undefined : `${this.userSym}${pid}`,
        symoff: addr & 0xfn,
        dso: "/bin/x ü",
      };
    }
    return undefined;
  }

  scope(pid: number, _tid: number, cpumode: number): ResolverScope {
    if (cpumode === 1) return this.kernel;
    if (cpumode === 2) return this.users.get(pid) ?? this.none;
    return this.none;
  }
}

function samples(): Sample[] {
  const base = {
    ip: 0xffffffff81000010n,
    pid: 9219,
    tid: 9221,
    time: 377_295_789_123,
    cpu: 1,
    period: 500000,
    addr: 0x7fff_1234_5678n,
  };
  return [
    {
      ...base,
      callchain: BigUint64Array.of(KERNEL, 0xffffffff81000010n, USER, 0x5010n, 0x5100n, 0x7777n),
    },
    { ...base, pid: 1, tid: 1, callchain: BigUint64Array.of(USER, 0x5010n, 0x5020n) },
    // recursion: an address again after the text cache may have started over
    {
      ...base,
      callchain: BigUint64Array.of(USER, 0x5010n, 0x5100n, 0x5020n, 0x7777n, 0x5010n, 0x5100n),
    },
    { ...base, callchain: BigUint64Array.of(USER, 1n, GUEST, 2n) },
    { ...base, callchain: BigUint64Array.of() },
    { ...base, time: 12, cpu: 1234, period: 2 ** 40, callchain: BigUint64Array.of(USER, 0x5010n) },
    { ...base, time: 2 ** 60, ip: 0x5010n },
    { pid: 3, tid: 3 }, // no ip, no time, ...
  ];
}

const SELECTIONS = [
  undefined,
  "comm,pid,tid,cpu,time,period,event,ip",
  "comm,pid,tid,cpu,time,period,event,ip,sym,dso,symoff",
  "comm,tid,ip,sym",
  "pid,ip,dso",
  "tid,time,addr,ip,sym,symoff",
  "comm,event",
];

Deno.test("ScriptPrinter.print() writes the bytes of format(), cached or not", () => {
  // a tiny text cache starts over many times, also in the middle of a callchain
  for (const spec of SELECTIONS) {
    for (const [maxStack, textCacheBytes] of [[127, undefined], [2, undefined], [127, 96]]) {
      for (const withScopes of [true, false]) {
        const resolver = new TestResolver();
        resolver.users.set(9219, { version: 0 });
        const r: AddressResolver = withScopes
          ? resolver
          : { resolve: (...a) => resolver.resolve(...a) };
        const printer = new ScriptPrinter(parseScriptFields(spec), r, {
          maxStack,
          eventNameWidth: 12,
          textCacheBytes,
        });
        const chunks: Uint8Array[] = [];
        const out = new ScriptOutput((b) => chunks.push(b.slice()), 4096);
        let want = "";
        const fields = new ScriptSampleFields();
        // Twice: the second round prints from the caches.
        for (let round = 0; round < 2; round++) {
          for (const s of samples()) {
            for (const [misc, chain] of [[1, true], [2, true], [2, false], [5, true]] as const) {
              const comm = s.tid === 1 ? "init" : "burn worker 1";
              want += printer.format(s, misc, comm, "cpu-clock", chain);
              printer.print(out, fields.fromSample(s, misc), comm, "cpu-clock", chain);
            }
          }
        }
        out.flush();
        const got = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
        assert.equal(
          got,
          want,
          `-F ${spec} maxStack ${maxStack} cache ${textCacheBytes} scopes ${withScopes}`,
        );
      }
    }
  }
});

Deno.test("ScriptPrinter.print() caches per scope and drops the cache when the scope changes", () => {
  const resolver = new TestResolver();
  const maps = { version: 0 };
  resolver.users.set(9219, maps);
  const printer = new ScriptPrinter(parseScriptFields("comm,tid,ip,sym"), resolver);
  const fields = new ScriptSampleFields();
  const s = samples()[0]!;
  const print = () => {
    let text = "";
    const out = new ScriptOutput((b) => text += new TextDecoder().decode(b));
    printer.print(out, fields.fromSample(s, 1), "x", "cpu-clock", true);
    out.flush();
    return text;
  };
  const first = print();
  const lookups = resolver.lookups;
  assert.equal(print(), first);
  assert.equal(resolver.lookups, lookups, "second print comes from the cache");
  resolver.userSym = "moved";
  assert.equal(print(), first, "same version: cached text");
  maps.version++;
  const changed = print();
  assert.notEqual(changed, first);
  assert.match(changed, /moved9219/);
  assert.equal(changed, printer.format(s, 1, "x", "cpu-clock", true));
});

Deno.test("ScriptPrinter.refresh() applies a selection changed in place", () => {
  const sel = parseScriptFields("comm,tid,ip");
  const printer = new ScriptPrinter(sel, new TestResolver());
  const s = samples()[1]!;
  const fields = new ScriptSampleFields();
  const text = () => {
    let t = "";
    const out = new ScriptOutput((b) => t += new TextDecoder().decode(b));
    printer.print(out, fields.fromSample(s, 2), "init", "cpu-clock", true);
    out.flush();
    return t;
  };
  const before = text();
  sel.fields.add("sym");
  printer.refresh();
  const after = text();
  assert.notEqual(after, before);
  assert.equal(after, printer.format(s, 2, "init", "cpu-clock", true));
});

Deno.test("ScriptOutput grows without a sink and flushes in order with one", () => {
  const grow = new ScriptOutput(undefined, 16);
  for (let i = 0; i < 10000; i++) grow.text("ab");
  assert.equal(grow.pos, 20000);
  assert.equal(new TextDecoder().decode(grow.buf.subarray(0, 6)), "ababab");
  const parts: string[] = [];
  const out = new ScriptOutput((b) => parts.push(new TextDecoder().decode(b)), 4096);
  for (let i = 0; i < 3000; i++) out.text(`${i},`);
  out.bytes(new Uint8Array(10000).fill(0x61));
  out.flush();
  const all = parts.join("");
  assert.ok(parts.length > 1);
  assert.ok(all.startsWith("0,1,2,"));
  assert.ok(all.endsWith("2999," + "a".repeat(10000)));
});
