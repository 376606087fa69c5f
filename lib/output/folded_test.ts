import { deepStrictEqual as eq } from "node:assert/strict";
import { ProfileBuilder } from "../analyze/profile.ts";
import { sampleOf } from "../analyze/_test_samples.ts";
import { foldedStacks, parseFolded, stackcollapseComm } from "./folded.ts";

Deno.test("foldedStacks: root-first, comm first, sorted, period counts", () => {
  const b = new ProfileBuilder();
  b.add(sampleOf(["main", "b"], 5));
  b.add(sampleOf(["main", "a"], 2));
  b.add(sampleOf(["main", "a"], 3));
  b.add(sampleOf(["main", "k_sys", "k_irq"], 1, { comm: "my prog" }));
  eq(foldedStacks(b.build()), "my_prog;main;k_sys;k_irq 1\nprog;main;a 5\nprog;main;b 5\n");
  eq(
    foldedStacks(b.build(), { count: "samples", annotateKernel: true, includePid: true }).split(
      "\n",
    )[0],
    "my_prog-10;main;k_sys_[k];k_irq_[k] 1",
  );
});

Deno.test("folded names follow stackcollapse-perf.pl rules", () => {
  const b = new ProfileBuilder();
  b.add({
    ...sampleOf([]),
    frames: [
      { ip: 0x10n, kernel: false }, // no symbol, no dso
      { ip: 0x20n, dso: "/usr/lib/libfoo.so.1", kernel: false }, // no symbol, known dso
      { sym: "ns::f(int, char)", dso: "/bin/prog", kernel: false },
      { sym: "a;b\"c'", dso: "/bin/prog", kernel: false },
      { sym: "net/http.(*Client).Do", dso: "/bin/prog", kernel: false },
      { sym: "(anonymous namespace)::g()", dso: "/bin/prog", kernel: false }, // starts with "(": skipped
    ],
    truncated: true,
  });
  eq(
    foldedStacks(b.build()),
    "prog;[truncated];net/http.(*Client).Do;a:bc;ns::f;[libfoo.so.1];[unknown] 1\n",
  );
  // perf script shows a stack cut at the max-stack limit unmarked: so does stackcollapse
  eq(
    foldedStacks(b.build(), { markTruncated: false }),
    "prog;net/http.(*Client).Do;a:bc;ns::f;[libfoo.so.1];[unknown] 1\n",
  );
  eq(stackcollapseComm("burn worker 1"), "burn worker");
  eq(stackcollapseComm("kworker/0:1"), "kworker/0:1");
});

Deno.test("folded round-trip: parse -> rebuild -> same text", () => {
  const b = new ProfileBuilder();
  b.add(sampleOf(["main", "a", "leaf"], 7));
  b.add(sampleOf(["main", "b"], 2, { comm: "other" }));
  const text = foldedStacks(b.build());
  const rebuilt = new ProfileBuilder();
  for (const line of parseFolded(text)) {
    const [comm, ...frames] = line.frames;
    rebuilt.add(sampleOf(frames, line.count, { comm }));
  }
  eq(foldedStacks(rebuilt.build()), text);
  eq(parseFolded(text).map((l) => l.count), [2, 7]);
});
