import assert from "node:assert/strict";
import { crc32 } from "./crc32.ts";

Deno.test("crc32 matches the IEEE check value and continues across splits", () => {
  const b = new TextEncoder().encode("123456789");
  assert.equal(crc32(b), 0xcbf43926);
  for (let k = 0; k <= b.length; k++) {
    assert.equal(crc32(b, k, b.length, crc32(b, 0, k)), 0xcbf43926);
  }
  assert.equal(crc32(new Uint8Array(0)), 0);
});
