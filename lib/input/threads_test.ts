import assert from "node:assert/strict";
import { ThreadTable } from "./threads.ts";

Deno.test("ThreadTable: a thread's :tid placeholder is overridden by its first COMM", () => {
  const threads = new ThreadTable();
  assert.equal(threads.comm(29), ":29");
  threads.setComm(29, 29, "fib");
  assert.equal(threads.placeholderName(29), "fib");
  threads.setComm(29, 29, "later");
  assert.equal(threads.placeholderName(29), "fib", "only the first comm overrides");
  assert.equal(threads.comm(29), "later");
  // a thread named before any sample asked for it had no placeholder
  threads.setComm(30, 30, "x");
  assert.equal(threads.placeholderName(30), undefined);
  // nor does a forked child, which inherits its parent's comm
  threads.fork(29, 29, 31);
  assert.equal(threads.comm(31), "later");
  assert.equal(threads.placeholderName(31), undefined);
});
