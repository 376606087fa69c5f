import assert from "node:assert/strict";
import {
  AddressSpaces,
  CPUMODE_HYPERVISOR,
  CPUMODE_KERNEL,
  CPUMODE_USER,
  kernelModuleDsoName,
  mapEntryFor,
  mapIp,
  type MmapEvent,
} from "./maps.ts";

function mmap(
  pid: number,
  addr: bigint,
  len: bigint,
  pgoff: bigint,
  filename: string,
  cpumode = CPUMODE_USER,
): MmapEvent {
  return { pid, tid: pid, addr, len, pgoff, filename, cpumode };
}

Deno.test("map kinds, dso names and map_ip", () => {
  const file = mapEntryFor(mmap(5, 0x5000n, 0x1000n, 0x2000n, "/usr/bin/x"));
  assert.equal(file.dso, "/usr/bin/x");
  assert.equal(mapIp(file, 0x5010n), 0x2010n);
  const vdso = mapEntryFor(mmap(5, 0x7000n, 0x2000n, 0x99n, "[vdso]"));
  assert.equal(vdso.kind, "vdso");
  assert.equal(mapIp(vdso, 0x7b46n), 0xb46n);
  const anon = mapEntryFor(mmap(5, 0x9000n, 0x1000n, 0n, "//anon"));
  assert.equal(anon.dso, "/tmp/perf-5.map");
  assert.equal(mapIp(anon, 0x9010n), 0x9010n);
  const heap = mapEntryFor(mmap(5, 0xa000n, 0x1000n, 0n, "[heap]"));
  assert.equal(heap.kind, "nodso");
  assert.equal(mapIp(heap, 0xa010n), 0xa010n);
  const kernel = mapEntryFor(
    mmap(-1, 0xffffffff81000000n, 0x1000000n, 0xffffffff81000000n, "[kernel.kallsyms]_text"),
  );
  assert.equal(kernel.dso, "[kernel.kallsyms]");
  assert.equal(mapIp(kernel, 0xffffffff81000010n), 0xffffffff81000010n);
  assert.equal(kernelModuleDsoName("/lib/modules/6.1/kernel/kvm-intel.ko.xz"), "[kvm_intel]");
  assert.equal(kernelModuleDsoName("/usr/bin/x"), undefined);
});

Deno.test("overlapping mmap splits older maps and adjusts pgoff", () => {
  const s = new AddressSpaces();
  s.processMmap(mmap(1, 0x1000n, 0x3000n, 0x100n, "/old"));
  s.processMmap(mmap(1, 0x2000n, 0x1000n, 0n, "/new"));
  const e = s.process(1).entries();
  assert.deepEqual(e.map((m) => [m.filename, m.start, m.end, m.pgoff]), [
    ["/old", 0x1000n, 0x2000n, 0x100n],
    ["/new", 0x2000n, 0x3000n, 0n],
    ["/old", 0x3000n, 0x4000n, 0x2100n],
  ]);
  assert.equal(s.lookup(1, 0x3800n, CPUMODE_USER)?.filename, "/old");
  assert.equal(s.lookup(1, 0x4000n, CPUMODE_USER), undefined);
});

Deno.test("fork copies parent maps; later maps stay private; cpumode selects the space", () => {
  const s = new AddressSpaces();
  s.processMmap(mmap(-1, 0xffffffff81000000n, 0x1000000n, 0n, "[kernel.kallsyms]_text"));
  s.processMmap(mmap(10, 0x1000n, 0x1000n, 0n, "/bin/parent"));
  s.processFork({ pid: 10, ppid: 10, tid: 11, ptid: 10 }); // thread: shares
  s.processFork({ pid: 20, ppid: 10, tid: 20, ptid: 10 }); // process: copies
  s.processMmap(mmap(20, 0x8000n, 0x1000n, 0n, "/bin/child"));
  assert.equal(s.lookup(20, 0x1800n, CPUMODE_USER)?.filename, "/bin/parent");
  assert.equal(s.lookup(10, 0x8800n, CPUMODE_USER), undefined);
  assert.equal(s.lookup(20, 0xffffffff81000010n, CPUMODE_USER), undefined);
  assert.equal(s.lookup(20, 0xffffffff81000010n, CPUMODE_KERNEL)?.dso, "[kernel.kallsyms]");
  assert.equal(s.lookup(10, 0x1800n, CPUMODE_HYPERVISOR), undefined);
});
