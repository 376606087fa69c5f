/**
 * Exercises one ring writer's reserve/commit fast path so a parent process running it under
 * `--v8-flags=--print-bytecode,--print-bytecode-filter=NAME` sees the functions compiled
 * (`bench/ring.ts`, fast-path size analogue).
 *
 *     deno run --v8-flags=--print-bytecode,--print-bytecode-filter=reserve bench/_bytecode_child.ts stream
 *
 * @module
 */

const design = Deno.args[0] ?? "stream";
if (design === "spare") {
  const { createSpareRing, SpareSubbufWriter } = await import("../lib/ring/spare.ts");
  const w = new SpareSubbufWriter(createSpareRing(4, 4096), 0);
  for (let i = 0; i < 1000; i++) {
    w.reserve(64, i);
    w.commit();
  }
} else if (design === "swivel") {
  const { createSwivelRing, SwivelWriter } = await import("../lib/ring/swivel.ts");
  const w = new SwivelWriter(createSwivelRing(1 << 16));
  for (let i = 0; i < 1000; i++) {
    w.reserve(64, i);
    w.commit();
  }
} else if (design === "unlimited") {
  const { createRingMemory } = await import("../lib/ring/layout.ts");
  const { RingWriter } = await import("../lib/ring/writer.ts");
  const { UnlimitedWriter } = await import("../lib/ring/unlimited.ts");
  const { SampleType } = await import("../lib/abi/mod.ts");
  const type = SampleType.IP | SampleType.TID | SampleType.TIME | SampleType.CPU |
    SampleType.PERIOD | SampleType.CALLCHAIN;
  const w = new RingWriter(createRingMemory(1 << 16));
  const uw = new UnlimitedWriter(w, type);
  const chain = new Uint32Array(32);
  const f = { misc: 1, ipLo: 1, ipHi: 0, pid: 1, tid: 1, time: 0, id: 0, cpu: 0, period: 1 };
  for (let i = 0; i < 1000; i++) {
    f.time = i;
    const e = uw.reserveUnlimited(f);
    uw.assignWords(e, chain, 0, 16);
    uw.commit(e);
  }
} else {
  const { createRingMemory } = await import("../lib/ring/layout.ts");
  const { RingWriter } = await import("../lib/ring/writer.ts");
  const w = new RingWriter(
    createRingMemory(1 << 16),
    design === "subbuf" ? { subbufSize: 4096 } : {},
  );
  for (let i = 0; i < 1000; i++) {
    w.reserve(64, i);
    w.commit();
  }
}
