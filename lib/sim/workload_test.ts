import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  DEPTH_PRESETS,
  type DepthPreset,
  Image,
  KERNEL_BASE,
  presetMean,
  PROGRAMS,
  SimThread,
  USER_BASE,
} from "./workload.ts";
import { Prng } from "./prng.ts";

Deno.test("symbol table resolves kernel, program and library addresses", () => {
  const img = new Image();
  assertEquals(img.symbols.lookup(KERNEL_BASE + 0x10n)?.name, "entry_SYSCALL_64");
  assertEquals(img.symbols.lookup(USER_BASE + 4n)?.name, "_start");
  assertEquals(img.symbols.lookup(USER_BASE + 4n)?.dso, "httpd");
  assertEquals(img.symbols.lookup(0x7f0000000004n)?.dso, "libc.so.6");
  assertEquals(img.symbols.lookup(0x10n), undefined);
  // every program has its own text: no address belongs to two programs
  const dsos = new Set(img.symbols.ranges.map((r) => r.dso));
  for (const p of PROGRAMS) assert(dsos.has(p.name), p.name);
});

/** Whole-chain length histogram of `n` drawn stacks, over all programs. */
function drawn(preset: DepthPreset, n: number): Map<number, number> {
  const img = new Image(preset);
  const r = new Prng(11);
  const h = new Map<number, number>();
  const threads = PROGRAMS.map((_, i) => new SimThread(1, 1, "x", 0, i));
  for (let i = 0; i < n; i++) {
    const t = threads[i % threads.length];
    t.reshape(r, img);
    const len = t.stack!.length;
    h.set(len, (h.get(len) ?? 0) + 1);
  }
  return h;
}

for (const preset of ["aldebaran", "phoenix"] as const) {
  Deno.test(`whole-chain lengths match Ingo's ${preset} histogram (L8677-8727)`, () => {
    const n = 30_000;
    const h = drawn(preset, n);
    const want = new Map<number, number>(DEPTH_PRESETS[preset]);
    const total = [...want.values()].reduce((a, b) => a + b, 0);
    // only lengths the histogram has, in the same proportions (total variation < 2 %)
    for (const len of h.keys()) assert(want.has(len), `${preset}: drew nr ${len}`);
    let tv = 0;
    for (const [len, c] of want) tv += Math.abs((h.get(len) ?? 0) / n - c / total);
    assert(tv / 2 < 0.02, `${preset}: total variation ${tv / 2}`);
    let mean = 0;
    for (const [len, c] of h) mean += len * c / n;
    assert(Math.abs(mean - presetMean(preset)) < 0.1, `${preset}: mean ${mean}`);
  });
}

Deno.test("the presets are the thread's numbers: 739 and 1953 chains, means 16.4 and 8.2", () => {
  const count = (p: DepthPreset) => DEPTH_PRESETS[p].reduce((a, [, c]) => a + c, 0);
  assertEquals(count("aldebaran"), 739);
  assertEquals(count("phoenix"), 1953);
  assert(Math.abs(presetMean("aldebaran") - 16.4) < 0.05, String(presetMean("aldebaran")));
  assert(Math.abs(presetMean("phoenix") - 8.2) < 0.05, String(presetMean("phoenix")));
});

Deno.test("stacks have real call structure: _start at the root, entries through real paths", () => {
  const img = new Image();
  const r = new Prng(3);
  const name = (v: bigint) => img.symbols.lookup(v)?.name ?? "?";
  const seen = new Set<string>();
  for (const [i, p] of PROGRAMS.entries()) {
    const t = new SimThread(1, 1, p.name, 0, i);
    for (let k = 0; k < 2000; k++) {
      t.reshape(r, img);
      const user = t.user;
      const kernel = t.kernel;
      assertEquals(name(user[user.length - 1]), "_start");
      if (user.length >= 3) assertEquals(name(user[user.length - 3]), "main");
      if (kernel.length) {
        const root = name(kernel[kernel.length - 1]);
        assert(
          [
            "entry_SYSCALL_64",
            "asm_exc_page_fault",
            "asm_common_interrupt",
            "asm_sysvec_apic_timer_interrupt",
          ]
            .includes(root),
          root,
        );
        seen.add(root);
        if (root === "entry_SYSCALL_64" && kernel.length >= 3) {
          // the user leaf is the libc wrapper of that system call
          assertEquals(img.symbols.lookup(user[0])?.dso, "libc.so.6");
        }
        if (t.context === 1) assertEquals(t.preemptCount, 0x100);
        if (t.context === 2) assert(!t.irqsEnabled && t.preemptCount === 0x10000);
      }
    }
  }
  assertEquals(seen.size, 4);
});
