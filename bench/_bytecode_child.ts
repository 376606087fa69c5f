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
