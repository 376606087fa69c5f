import { equal } from "node:assert/strict";
import { inferContext } from "./context.ts";

const k = (sym: string) => ({ sym, kernel: true });
const u = (sym: string) => ({ sym, kernel: false });

Deno.test("inferContext: innermost entry frame decides", () => {
  equal(inferContext([u("main")]), "task");
  equal(inferContext([k("vfs_read"), k("do_syscall_64"), u("read")]), "task");
  equal(
    inferContext([k("ip_rcv"), k("__do_softirq"), k("irq_exit_rcu"), k("common_interrupt")]),
    "softirq",
  );
  equal(
    inferContext([k("handle_edge_irq"), k("__handle_irq_event_percpu"), k("common_interrupt")]),
    "hardirq",
  );
  equal(inferContext([k("perf_event_nmi_handler"), k("nmi_handle"), k("__do_softirq")]), "nmi");
});

Deno.test("inferContext: user frames and unresolved frames never decide", () => {
  equal(inferContext([u("__do_softirq"), { kernel: true, ip: 1n }]), "task");
});
