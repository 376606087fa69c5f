/// <reference lib="deno.worker" />
// Worker side of ring_test.ts: attaches to the SharedArrayBuffer and consumes until the end marker.
import { attachRingMemory } from "./layout.ts";
import { RingReader } from "./reader.ts";
import { checkPattern } from "./testutil_test.ts";

self.onmessage = (e: MessageEvent<SharedArrayBuffer>) => {
  const reader = new RingReader(attachRingMemory(e.data));
  let read = 0, lost = 0, bad = 0, done = false;
  while (!done) {
    reader.read((v, off, size) => {
      const type = v.getUint32(off, true);
      if (type === 2) lost += v.getUint32(off + 16, true);
      else if (type === 0x4cf1) done = true;
      else if (checkPattern(v, off, size) < 0) bad++;
      else read++;
    });
  }
  self.postMessage({ read, lost, bad });
};
