/**
 * The one push-to-pull adapter of the input layer: turns a producer that
 * pushes items (and awaits the promise a push returns) into an async
 * iterator, for consumers that pull. The producer is held while the
 * consumer has not taken what is queued, so at most
 * {@linkcode PULL_HIGH_WATER} items wait in memory. Items are handed over
 * as produced: whatever an item's side effects are, the consumer applies
 * them when it takes the item, so they happen in order.
 *
 * @example
 * ```ts
 * import { pull } from "./pull.ts";
 * const seen: number[] = [];
 * for await (const n of pull<number>(async (push) => { for (let i = 0; i < 3; i++) await push(i); })) {
 *   seen.push(n);
 * }
 * console.log(seen); // [ 0, 1, 2 ]
 * ```
 *
 * @module
 */

/** Items queued ahead of the consumer before the producer waits. */
export const PULL_HIGH_WATER = 1024;

/**
 * Iterate what a producer pushes.
 *
 * @param produce Pushes every item once; awaits the promise a push returns.
 * @returns The items in push order. Breaking out of the loop makes later
 *   pushes return at once (the producer runs to its end without queuing).
 */
export async function* pull<T>(
  produce: (push: (item: T) => void | Promise<void>) => Promise<unknown>,
): AsyncGenerator<T> {
  let queue: T[] = [];
  let wakeConsumer: (() => void) | undefined;
  let resumeProducer: (() => void) | undefined;
  let done = false;
  let stopped = false;
  let failure: unknown;
  const wake = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };
  const producing = produce((item) => {
    if (stopped) return;
    queue.push(item);
    if (queue.length >= 64) wake();
    if (queue.length < PULL_HIGH_WATER) return;
    return new Promise<void>((resolve) => resumeProducer = resolve);
  }).then(() => {}, (e) => failure = e).finally(() => {
    done = true;
    wake();
  });
  try {
    while (true) {
      if (queue.length > 0) {
        const batch = queue;
        queue = [];
        resumeProducer?.();
        resumeProducer = undefined;
        yield* batch;
        continue;
      }
      if (done) break;
      await new Promise<void>((r) => wakeConsumer = r);
    }
    await producing;
    if (failure !== undefined) throw failure;
  } finally {
    stopped = true;
    resumeProducer?.();
  }
}
