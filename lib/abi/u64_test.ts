import assert from "node:assert/strict";
import { getU64, hexBig, hexU64, padEnd, padStart, setU64 } from "./u64.ts";

Deno.test("getU64() and setU64() agree with BigInt up to 2^53", () => {
  const dv = new DataView(new ArrayBuffer(8));
  for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 123_456_789_012_345, 2 ** 53 - 1]) {
    setU64(dv, 0, v);
    assert.equal(dv.getBigUint64(0, true), BigInt(v));
    assert.equal(getU64(dv, 0), v);
  }
});

Deno.test("hexU64() prints like %lx", () => {
  assert.equal(hexU64(0, 0), "0");
  assert.equal(hexU64(0, 0x401000), "401000");
  assert.equal(hexU64(0xffffffff, 0x81000010), "ffffffff81000010");
  assert.equal(hexU64(0x7f, 0x10), "7f00000010");
  assert.equal(hexBig(-128n), "ffffffffffffff80");
  assert.equal(padStart("ab", 4), "  ab");
  assert.equal(padEnd("ab", 4), "ab  ");
});
