import assert from "node:assert/strict";
import { UnresolvedFrames } from "./chain_cache.ts";
import type { FrameRef } from "./profile.ts";

Deno.test("UnresolvedFrames: one frame per (object, level, address), kept through growth", () => {
  const t = new UnresolvedFrames();
  const made = new Map<string, FrameRef>();
  const objects = ["", "/bin/a", "/lib/b.so"];
  // addresses that share low halves, high halves and both, up to just below 2^53
  const ips = Array.from({ length: 3000 }, (_, i) => BigInt(i) * 0x100000001n + 0x7f0000000000n)
    .concat([0n, 1n, 0xffffffffn, 0x100000000n, (1n << 53n) - 1n]);
  for (let round = 0; round < 2; round++) {
    for (const o of objects) {
      for (const level of [0, 1]) {
        for (const ip of ips) {
          const key = `${o}|${level}|${ip}`;
          const f = t.get(o, level, ip);
          if (round === 0) {
            assert.equal(f, undefined, key);
            const frame = { ip, dso: o || undefined, kernel: level === 1 };
            t.add(frame);
            made.set(key, frame);
          } else assert.equal(f, made.get(key), key);
        }
      }
    }
  }
  // addresses of 2^53 and above are not taken
  assert.equal(t.get("/bin/a", 1, 1n << 53n), null);
  assert.equal(t.get("", 1, 0xffffffff81000000n), null);
});
