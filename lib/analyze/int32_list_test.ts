import assert from "node:assert/strict";
import { Int32List } from "./int32_list.ts";

Deno.test("Int32List keeps every pair in order while it grows", () => {
  const list = new Int32List(1);
  for (let i = 0; i < 5000; i++) list.push(i, 3 - 7 * i);
  assert.equal(list.length, 10000);
  for (let i = 0; i < 5000; i++) {
    assert.equal(list.at(2 * i), i);
    assert.equal(list.at(2 * i + 1), 3 - 7 * i);
  }
});
