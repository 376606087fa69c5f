// The interrupted task's context (seed L187-189, L206-209, L309-316; Linus' %rsp test
// L7272-7306): user space, vm86 and kernel code entered by SYSCALL, in the CPU model and
// in the checker.
import { deepEqual as assertEquals, equal, ok } from "node:assert/strict";
import { check, type CheckOptions } from "./check.ts";
import {
  Cpu,
  F_SS,
  F_USER,
  F_VM,
  frameDepth,
  INV_BIT,
  Kind,
  returnsToUserspace,
  Slot,
  type Strategy,
  TASK_CONTEXTS,
  TaskContext,
} from "./cpu.ts";
import { CHECK_STRATEGIES, mainline, popfRet, rspRange } from "./strategies/mod.ts";

const OPTS: CheckOptions = { nmis: 3, faults: 2 };

Deno.test("frames saved at the task carry its context: CPL 3, EFLAGS.VM, SS, user %rsp", () => {
  const seen: Record<string, number> = {};
  for (const c of TASK_CONTEXTS) {
    const cpu = new Cpu(mainline, TASK_CONTEXTS.indexOf(c) as 0 | 1 | 2 | 3);
    cpu.nmiArrives();
    const f = cpu.slots[Slot.NmiIst];
    seen[c] = f & (F_USER | F_VM | F_SS);
    equal(returnsToUserspace(f), c === "user" || c === "vm86", c);
  }
  assertEquals(seen, { kernel: 0, syscall: F_SS, user: F_USER | F_SS, vm86: F_VM | F_SS });
  // a vm86 frame's CS RPL bits say nothing (F_USER clear): the EFLAGS.VM term routes it
  const vm = new Cpu(popfRet, TaskContext.Vm86);
  vm.nmiArrives();
  ok(!(vm.slots[Slot.NmiIst] & F_USER) && returnsToUserspace(vm.slots[Slot.NmiIst]));
  // nested frames (CPL 0 to CPL 0) keep SS: non-null only under a system call
  const sc = new Cpu(mainline, TaskContext.Syscall);
  sc.nmiArrives();
  sc.raise(Kind.Pf);
  ok((sc.slots[sc.frameSlot[sc.depth]] & F_SS) !== 0);
  const us = new Cpu(mainline, TaskContext.User);
  us.nmiArrives();
  us.raise(Kind.Pf);
  equal(us.slots[us.frameSlot[us.depth]] & F_SS, 0, "the NMI from user space loaded SS = NULL");
});

Deno.test("popf/ret into user space or vm86 is caught (user-return); iret returns there", () => {
  for (const c of [TaskContext.User, TaskContext.Vm86]) {
    const cpu = new Cpu(popfRet, c);
    cpu.nmiArrives();
    cpu.popfRet(Slot.NmiIst);
    equal(cpu.violations & INV_BIT["user-return"], INV_BIT["user-return"]);
    ok(cpu.crashed);
    const ok2 = new Cpu(popfRet, c);
    ok2.nmiArrives();
    ok2.iret(Slot.NmiIst);
    equal(ok2.violations, 0);
    equal(ok2.depth, 0);
  }
  // the same popf/ret into kernel code is fine
  const k = new Cpu(popfRet, TaskContext.Kernel);
  k.nmiArrives();
  k.popfRet(Slot.NmiIst);
  equal(k.violations, 0);
});

Deno.test("popf-ret routes frames to user space and vm86 through iret (L309-316)", () => {
  // an exception taken in user space or vm86 with NMI_MASK set (forced here: the posted
  // route tests EFLAGS.VM | CS RPL before NMI_MASK, so it never popf/rets there)
  for (const c of [TaskContext.User, TaskContext.Vm86]) {
    const cpu = new Cpu(popfRet, c);
    cpu.raise(Kind.Pf);
    cpu.preempt |= 0x04000000;
    cpu.step(); // handler body
    cpu.step(); // exception return
    equal(cpu.violations, 0, TASK_CONTEXTS[c]);
    equal(cpu.depth, 0);
    // a route on NMI_MASK alone, without the VM | RPL test, would popf/ret there
    const bad: Strategy = {
      ...popfRet,
      name: "popf-ret-no-user-test",
      exceptionReturn(cpu: Cpu, slot: number) {
        if (cpu.preempt & 0x04000000) cpu.popfRet(slot);
        else cpu.iret(slot);
      },
    };
    const b = new Cpu(bad, c);
    b.raise(Kind.Pf);
    b.preempt |= 0x04000000;
    b.step();
    b.step();
    equal(b.violations & INV_BIT["user-return"], INV_BIT["user-return"], TASK_CONTEXTS[c]);
  }
});

Deno.test("checker: rsp-range loses the frame over a system call (SS = __KERNEL_DS)", () => {
  const k = check(rspRange, "pf", { ...OPTS, context: "kernel" });
  const s = check(rspRange, "pf", { ...OPTS, context: "syscall" });
  equal(k.verdicts["ist-frame-live"], "holds");
  equal(s.verdicts["ist-frame-live"], "violated");
  equal(s.context, "syscall");
  const v = s.violations.find((x) => x.invariant === "ist-frame-live")!;
  ok(v.state.some((l) => l.includes("task in syscall")), v.state.join("\n"));
  ok(v.state.some((l) => l.includes("SS non-null")), v.state.join("\n"));
  // the shortest trace: NMI#1, a #PF whose iret unmasks, NMI#2 taken as non-nested
  ok(v.trace.some((t) => /NMI#2 arrives, interrupts NMI#1/.test(t)), v.trace.join("\n"));
  // in user space the SS double-check does its job (L7289-7290) and nothing new breaks
  const u = check(rspRange, "pf", { ...OPTS, context: "user" });
  assertEquals(u.verdicts, k.verdicts);
});

Deno.test("checker: without the SS double-check rsp-range popf/rets into user space", () => {
  const first = rspRange.nmi[0];
  const noSs: Strategy = {
    ...rspRange,
    name: "rsp-range-no-ss-check",
    nmi: [
      {
        ...first,
        exec(cpu: Cpu) {
          const f = cpu.slots[Slot.NmiIst];
          // the first test alone: "same 8kB aligned area?" (a user %rsp may point there)
          cpu.pc[cpu.depth] = cpu.savedRspInNmiStack(f) ? nestedPc : 1;
        },
      },
      ...rspRange.nmi.slice(1),
    ],
  };
  const nestedPc = rspRange.nmi.findIndex((s) => s.name.startsWith("nested: build"));
  ok(nestedPc > 0);
  const u = check(noSs, "pf", { ...OPTS, context: "user" });
  equal(u.verdicts["user-return"], "violated");
  const v = u.violations.find((x) => x.invariant === "user-return")!;
  // one NMI from user space is enough
  equal(v.choices.filter((c) => c.t === "nmi").length, 1, v.trace.join("\n"));
  equal(check(noSs, "pf", { ...OPTS, context: "kernel" }).verdicts["user-return"], "holds");
});

Deno.test("checker: mainline's user-CS test is what keeps a user %rsp and DF from looking nested", () => {
  for (const c of TASK_CONTEXTS) {
    if (c === "vm86") continue; // mainline is x86-64 code
    const r = check(mainline, "pf", { ...OPTS, context: c });
    ok(
      Object.values(r.verdicts).every((x) => x === "holds"),
      `${c}: ${JSON.stringify(r.verdicts)}`,
    );
  }
  const entry = mainline.nmi[0];
  const noCs: Strategy = {
    ...mainline,
    name: "mainline-no-cs-test",
    nmi: [
      {
        ...entry,
        exec(cpu: Cpu) {
          const f = cpu.slots[Slot.NmiIst];
          // the DF test without "cmpl $__KERNEL_CS, 16(%rsp); jne first_nmi"
          if (cpu.savedRspInNmiStack(f) && (f & (1 << 19)) && frameDepth(f) === 0) {
            cpu.pc[cpu.depth] = mainline.nmi.findIndex((s) => s.name.startsWith("nested"));
            return;
          }
          entry.exec(cpu);
        },
      },
      ...mainline.nmi.slice(1),
    ],
  };
  const u = check(noCs, "pf", { ...OPTS, context: "user" });
  ok(Object.values(u.verdicts).includes("violated"), JSON.stringify(u.verdicts));
  equal(u.verdicts["nmi-latch"], "violated");
});

Deno.test("checker: every strategy explored in every context it exists in; user and vm86 change only rsp-range's syscall verdict", () => {
  for (const s of CHECK_STRATEGIES) {
    const base = check(s, "pf", { ...OPTS, context: "kernel" });
    for (const c of TASK_CONTEXTS) {
      if (c === "vm86" && !s.x86_32) continue;
      const r = check(s, "pf", { ...OPTS, context: c });
      ok(r.complete, `${s.name} ${c}`);
      equal(r.verdicts["user-return"], "holds", `${s.name} ${c}`);
      if (s.name === "rsp-range" && c === "syscall") continue;
      assertEquals(r.verdicts, base.verdicts, `${s.name} ${c}`);
    }
  }
});
