/**
 * The concurrent reader of `bench/ring.ts`, run in a Worker: it drains a consume-mode ring (or
 * exchanges sub-buffers of a spare-sub-buffer ring, or swivels a swivel recorder) in a loop while
 * the main thread writes,
 * reading every u32 it gets, until told to stop; then it posts what it read.
 *
 * @module
 */

import { attachRingMemory } from "../lib/ring/layout.ts";
import { RingReader } from "../lib/ring/reader.ts";
import { attachSpareRing, SpareSubbufReader } from "../lib/ring/spare.ts";
import { attachSwivelRing, SwivelReader } from "../lib/ring/swivel.ts";

/** The start message. */
interface Start {
  kind: "stream" | "spare" | "swivel";
  buffer: SharedArrayBuffer;
  rings?: [SharedArrayBuffer, SharedArrayBuffer];
  control?: SharedArrayBuffer;
  stop: SharedArrayBuffer;
  subbufs?: number;
  subbufSize?: number;
}

self.onmessage = (e: MessageEvent<Start>) => {
  const m = e.data;
  const stop = new Int32Array(m.stop);
  let bytes = 0;
  let records = 0;
  let overwritten = 0;
  let sum = 0;
  const walk = (b: Uint8Array) => {
    const u = new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
    for (let i = 0; i < u.length; i++) sum = (sum + u[i]) | 0;
    bytes += b.length;
  };
  const t0 = performance.now();
  if (m.kind === "stream") {
    const r = new RingReader(attachRingMemory(m.buffer));
    for (;;) {
      const done = Atomics.load(stop, 0) !== 0;
      r.drain(walk);
      if (done) break;
    }
    records = -1;
  } else if (m.kind === "swivel") {
    const r = new SwivelReader(
      attachSwivelRing(
        [attachRingMemory(m.rings![0]), attachRingMemory(m.rings![1])],
        m.control!,
      ),
    );
    for (;;) {
      const done = Atomics.load(stop, 0) !== 0;
      const t = r.swivel();
      if (t) walk(t.bytes);
      if (done) break;
    }
    records = r.records;
    overwritten = r.overwritten;
  } else {
    const r = new SpareSubbufReader(attachSpareRing(m.buffer, m.subbufs!, m.subbufSize!));
    for (;;) {
      const done = Atomics.load(stop, 0) !== 0;
      for (let t = r.takeOldest(); t; t = r.takeOldest()) walk(t.bytes);
      if (done) break;
    }
    records = r.records;
  }
  self.postMessage({ bytes, records, overwritten, sum, ms: performance.now() - t0 });
};
