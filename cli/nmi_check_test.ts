import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./nmi_check.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("nmi_check prints verdicts and traces, exit 0", async () => {
  const r = await run("--strategy", "naive-iret", "--profile", "pf");
  assertEquals(r.code, 0);
  assert(r.stdout.includes("naive-iret") && r.stdout.includes("violated"));
  assert(r.stdout.includes("overwritten"));
});

Deno.test("nmi_check: bad arguments exit 2", async () => {
  assertEquals((await run("--depth", "zero")).code, 2);
  assertEquals((await run("--strategy", "nope")).code, 2);
  assertEquals((await run("--bogus")).code, 2);
});

Deno.test("nmi_check --help exits 0", async () => {
  const r = await run("--help");
  assertEquals(r.code, 0);
  assert(r.stdout.includes("--strategy"));
  for (const o of ["--context C", "--irqs N", "syscall", "vm86"]) assert(r.stdout.includes(o), o);
});

Deno.test("nmi_check --profile mixed: verdicts, time, and the hole behind each violation", async () => {
  const r = await run("--strategy", "mainline", "--strategy", "rsp-range", "--profile", "mixed");
  assertEquals(r.code, 0);
  const rows = r.stdout.split("\n").filter((l) =>
    /^(mainline|rsp-range)\s+kernel\s+mixed\s/.test(l)
  );
  assertEquals(rows.length, 2);
  assert(!rows[0].includes("violated"), rows[0]); // mainline holds everything
  assert(rows[1].includes("violated"), rows[1]);
  assert(/2 explorations, \d+ states, \d+ ms/.test(r.stdout));
  assert(r.stdout.includes("[rsp-ist]") && r.stdout.includes("[mce-entry] not in this table"));
  assert(!r.stdout.includes("UNEXPECTED"));
});

Deno.test("nmi_check --mce-anywhere: mainline's MCE-in-entry hole is reported and explained", async () => {
  const r = await run(
    "--strategy",
    "mainline",
    "--profile",
    "pf+mce",
    "--mce-anywhere",
    "--depth",
    "2",
  );
  assertEquals(r.code, 0);
  assert(/mainline\s+kernel\s+pf\+mce\s+violated/.test(r.stdout));
  assert(r.stdout.includes("[mce-entry] known hole, 2012 mainline included"));
  assert(r.stdout.includes("mainline: ist-frame-live (pf+mce)"));
  assert(!r.stdout.includes("UNEXPECTED"));
});

Deno.test("nmi_check: every strategy, each explained; traces once with machine state; progress", async () => {
  const r = await run("--profile", "pf", "--profile", "pf+int3");
  assertEquals(r.code, 0, r.stderr);
  for (
    const s of [
      "naive-iret",
      "popf-ret",
      "linus-v1",
      "linus-v2-posted",
      "rip-at-iret",
      "linus-v2",
      "rip-range",
      "rip-range-fixed",
      "avi-two-stacks",
      "rsp-range",
      "vmalloc-sync-all",
      "kmalloc",
      "nmi-no-traps",
      "mainline",
    ]
  ) {
    const rows = r.stdout.split("\n").filter((l) =>
      new RegExp(`^${s}\\s+kernel\\s+pf(\\+int3)?\\s`).test(l)
    );
    assertEquals(rows.length, 2, s);
    // and under pf with the task in a system call, in user space, and (x86-32 designs) vm86
    const ctx = r.stdout.split("\n").filter((l) =>
      new RegExp(`^${s}\\s+(syscall|user|vm86)\\s+pf\\s`).test(l)
    );
    assertEquals(ctx.length, X86_32.includes(s) ? 3 : 2, s);
  }
  assert(!r.stdout.includes("UNEXPECTED"), r.stdout);
  // a trace both profiles find is printed once, with both profiles
  const heads = r.stdout.split("\n").filter((l) => l.startsWith("--- "));
  assertEquals(new Set(heads).size, heads.length);
  assert(
    heads.includes(
      "--- naive-iret [pf, pf+int3, pf@syscall, pf@user, pf@vm86, pf@kernel+irq] cr2-preserved (10 steps)",
    ),
    heads.join("\n"),
  );
  // rsp-range over a system call has a counter-example of its own
  assert(
    heads.some((h) => h.startsWith("--- rsp-range [pf@syscall] ist-frame-live")),
    heads.join("\n"),
  );
  assert(r.stdout.includes("[rsp-syscall]"));
  const traces = r.stdout.split("\n--- ").slice(1).map((t) => t.split("\n").slice(1).join("\n"));
  const sameStrategy = new Map<string, string[]>();
  for (const [i, h] of heads.entries()) {
    const key = h.replace(/ \[.*$/, "") + h.replace(/^.*\] /, " ");
    const list = sameStrategy.get(key) ?? [];
    assert(!list.includes(traces[i]), `${h} repeated`);
    sameStrategy.set(key, [...list, traces[i]]);
  }
  assert(r.stdout.includes("machine state after the failing step:"));
  assert(/flags: NMIs (un)?blocked, latch/.test(r.stdout));
  assert(/slot NMI IST top: return to/.test(r.stdout));
  assert(r.stdout.includes("WARN: int3 taken in NMI context"));
  // progress: one line per exploration on stderr
  // 14 strategies x 2 profiles in kernel context, x pf in syscall, user and with one IRQ, 5 in vm86
  assertEquals(r.stderr.split("\n").filter((l) => /^\[\d+\/75\] /.test(l)).length, 75, r.stderr);
});

const X86_32 = ["naive-iret", "popf-ret", "vmalloc-sync-all", "kmalloc", "nmi-no-traps"];

Deno.test("nmi_check --context: user space, vm86 and system calls, each explained", async () => {
  const r = await run(
    "--strategy",
    "rsp-range",
    "--strategy",
    "popf-ret",
    "--context",
    "syscall",
    "--context",
    "vm86",
    "--profile",
    "pf",
    "--no-traces",
  );
  assertEquals(r.code, 0, r.stderr);
  assert(/^rsp-range\s+syscall\s+pf\s+violated/m.test(r.stdout), r.stdout);
  assert(/^popf-ret\s+vm86\s+pf\s/m.test(r.stdout), r.stdout);
  assert(!/^rsp-range\s+vm86/m.test(r.stdout), "rsp-range is x86-64 code: no vm86");
  assert(/3 explorations/.test(r.stdout), r.stdout);
  assert(r.stdout.includes("rsp-range: ist-frame-live (pf@syscall)"));
  assert(!r.stdout.includes("UNEXPECTED"));
  assertEquals((await run("--context", "smm")).code, 2);
  assertEquals((await run("--irqs", "9")).code, 2);
});
