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

Deno.test("crc32: the aligned word path equals a bitwise reference at every offset", () => {
  const ref = (b: Uint8Array, start: number, end: number) => {
    let c = 0xffffffff;
    for (let i = start; i < end; i++) {
      c ^= b[i];
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    return ~c >>> 0;
  };
  const b = new Uint8Array(4099);
  let x = 12345;
  for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  for (let start = 0; start < 9; start++) {
    for (const end of [start + 255, start + 256, start + 1000, b.length]) {
      assert.equal(crc32(b, start, end), ref(b, start, end), `${start}..${end}`);
    }
  }
});
