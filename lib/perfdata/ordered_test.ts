import assert from "node:assert/strict";
import { OrderedQueue } from "./ordered.ts";

Deno.test("OrderedQueue: a round flushes only up to the previous round's max time", () => {
  const q = new OrderedQueue<string>();
  q.push(30, "a30");
  q.push(10, "a10");
  // next_flush starts at 0: the first round delivers nothing.
  assert.deepEqual(q.flushRound(), []);
  q.push(20, "b20");
  q.push(40, "b40");
  // Second round: limit is the max queued before the first round (30).
  assert.deepEqual(q.flushRound(), ["a10", "b20", "a30"]);
  q.push(35, "c35");
  assert.deepEqual(q.flushRound(), ["c35", "b40"]);
  assert.deepEqual(q.flushAll(), []);
});

Deno.test("OrderedQueue: equal times keep arrival order", () => {
  const q = new OrderedQueue<string>();
  for (const [t, v] of [[5, "x"], [3, "y"], [5, "z"], [3, "w"]] as const) q.push(t, v);
  assert.deepEqual(q.flushAll(), ["y", "w", "x", "z"]);
});

Deno.test("OrderedQueue: counts events queued below the last flush", () => {
  const q = new OrderedQueue<number>();
  q.push(100, 1);
  q.flushRound();
  q.push(200, 2);
  assert.deepEqual(q.flushRound(), [1]);
  assert.equal(q.lastFlush, 100);
  q.push(50, 3);
  assert.equal(q.unordered, 1);
  assert.deepEqual(q.flushAll(), [3, 2]);
});

Deno.test("OrderedQueue: max_timestamp restarts after the queue empties", () => {
  const q = new OrderedQueue<number>();
  q.push(100, 1);
  q.flushRound(); // next_flush = 100
  assert.deepEqual(q.flushRound(), [1]); // queue empty now, next_flush stays 100
  q.push(60, 2); // empty queue: max_timestamp = 60, not 100
  assert.deepEqual(q.flushRound(), [2]); // limit 100
  q.push(90, 3);
  // next_flush was set to 60 by the previous round, so 90 stays queued.
  assert.deepEqual(q.flushRound(), []);
  assert.deepEqual(q.flushAll(), [3]);
});

Deno.test("OrderedQueue.immediate: no time, 0 and ~0 bypass the queue", () => {
  assert.equal(OrderedQueue.immediate(undefined), true);
  assert.equal(OrderedQueue.immediate(0), true);
  assert.equal(OrderedQueue.immediate(2 ** 64), true);
  assert.equal(OrderedQueue.immediate(1), false);
});
