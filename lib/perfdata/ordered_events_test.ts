import assert from "node:assert/strict";
import { OrderedEvents } from "./ordered_events.ts";

/** Array-returning wrappers of the queue's callbacks. */
class Q<T> extends OrderedEvents<T> {
  round(): T[] {
    const out: T[] = [];
    this.finishedRound((x) => out.push(x));
    return out;
  }
  all(): T[] {
    const out: T[] = [];
    this.flushAll((x) => out.push(x));
    return out;
  }
}

Deno.test("OrderedEvents: a round flushes only up to the previous round's max time", () => {
  const q = new Q<string>();
  q.push(30, "a30");
  q.push(10, "a10");
  // next_flush starts at 0: the first round delivers nothing.
  assert.deepEqual(q.round(), []);
  q.push(20, "b20");
  q.push(40, "b40");
  // Second round: limit is the max queued before the first round (30).
  assert.deepEqual(q.round(), ["a10", "b20", "a30"]);
  q.push(35, "c35");
  assert.deepEqual(q.round(), ["c35", "b40"]);
  assert.deepEqual(q.all(), []);
});

Deno.test("OrderedEvents: equal times keep arrival order", () => {
  const q = new Q<string>();
  for (const [t, v] of [[5, "x"], [3, "y"], [5, "z"], [3, "w"]] as const) q.push(t, v);
  assert.deepEqual(q.all(), ["y", "w", "x", "z"]);
});

Deno.test("OrderedEvents: counts events queued below the last flush", () => {
  const q = new Q<number>();
  q.push(100, 1);
  q.round();
  q.push(200, 2);
  assert.deepEqual(q.round(), [1]);
  assert.equal(q.lastFlush, 100);
  q.push(50, 3);
  assert.equal(q.unordered, 1);
  assert.deepEqual(q.all(), [3, 2]);
});

Deno.test("OrderedEvents: max_timestamp restarts after the queue empties", () => {
  const q = new Q<number>();
  q.push(100, 1);
  q.round(); // next_flush = 100
  assert.deepEqual(q.round(), [1]); // queue empty now, next_flush stays 100
  q.push(60, 2); // empty queue: max_timestamp = 60, not 100
  assert.deepEqual(q.round(), [2]); // limit 100
  q.push(90, 3);
  // next_flush was set to 60 by the previous round, so 90 stays queued.
  assert.deepEqual(q.round(), []);
  assert.deepEqual(q.all(), [3]);
});

Deno.test("OrderedEvents.immediate: no time, 0 and ~0 bypass the queue", () => {
  assert.equal(OrderedEvents.immediate(undefined), true);
  assert.equal(OrderedEvents.immediate(0), true);
  assert.equal(OrderedEvents.immediate(2 ** 64), true);
  assert.equal(OrderedEvents.immediate(NaN), true);
  assert.equal(OrderedEvents.immediate(1), false);
});

Deno.test("OrderedEvents: random pushes and pops come out sorted by (time, arrival)", () => {
  let seed = 11;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  const q = new OrderedEvents<number>();
  const model: [number, number][] = [];
  let serial = 0;
  for (let step = 0; step < 20000; step++) {
    if (rnd(3) !== 0 || model.length === 0) {
      const t = rnd(500);
      q.push(t, serial);
      model.push([t, serial++]);
    } else {
      model.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const [t, id] = model.shift()!;
      assert.equal(q.peekTime(), t);
      assert.equal(q.pop(), id);
    }
    assert.equal(q.size, model.length);
  }
  model.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const rest: number[] = [];
  q.flushUpTo(Infinity, (x) => rest.push(x));
  assert.deepEqual(rest, model.map((m) => m[1]));
  assert.equal(q.peekTime(), Infinity);
  assert.throws(() => q.pop(), RangeError);
});
