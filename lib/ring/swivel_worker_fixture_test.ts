/// <reference lib="deno.worker" />
// Worker side of swivel_test.ts: swivels the recorder while the main thread writes, until told
// to stop, then once more; posts the sequence numbers it took and what it counted overwritten.
import { attachRingMemory } from "./layout.ts";
import { attachSwivelRing, SwivelReader } from "./swivel.ts";

interface Start {
  rings: [SharedArrayBuffer, SharedArrayBuffer];
  control: SharedArrayBuffer;
  stop: SharedArrayBuffer;
}

self.onmessage = (e: MessageEvent<Start>) => {
  const m = attachSwivelRing(
    [attachRingMemory(e.data.rings[0]), attachRingMemory(e.data.rings[1])],
    e.data.control,
  );
  const stop = new Int32Array(e.data.stop);
  const r = new SwivelReader(m);
  const seqs: number[] = [];
  let torn = 0;
  let takes = 0;
  const take = () => {
    const t = r.swivel();
    if (!t) return;
    takes++;
    Atomics.add(stop, 1, 1);
    const v = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
    for (let p = 0; p < t.bytes.length;) {
      const size = v.getUint16(p + 6, true);
      const s = v.getUint32(p + 8, true);
      for (let q = p + 8; q < p + size; q += 4) if (v.getUint32(q, true) !== s) torn++;
      seqs.push(s);
      p += size;
    }
  };
  Atomics.store(stop, 2, 1); // started
  while (Atomics.load(stop, 0) === 0) take();
  take();
  self.postMessage({ seqs, torn, takes, overwritten: r.overwritten, retries: r.retries });
};
