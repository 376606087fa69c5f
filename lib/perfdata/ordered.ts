/**
 * perf's ordered-events queue (`tools/perf/util/ordered-events.c`), so that
 * records come out in the order `perf script` prints them:
 *
 * - a record without a timestamp (no TIME, or time 0 / ~0) is delivered at once;
 * - every other record is queued, stable for equal times;
 * - on `PERF_RECORD_FINISHED_ROUND` the queue delivers every record with
 *   time <= `next_flush`, then sets `next_flush` to the largest time queued so
 *   far (so a round flushes what was queued up to the previous round);
 *   `next_flush` starts at 0;
 * - `max_timestamp` is the largest time queued since the queue was last empty;
 * - at the end everything left is delivered in time order.
 *
 * @module
 */

interface Entry<T> {
  time: number;
  seq: number;
  item: T;
}

function byTimeThenSeq<T>(a: Entry<T>, b: Entry<T>): number {
  return a.time - b.time || a.seq - b.seq;
}

/** A time-ordered queue with perf's round flushing. */
export class OrderedQueue<T> {
  #pending: Entry<T>[] = [];
  #sorted = true;
  #seq = 0;
  #maxTime = 0;
  #nextFlush = 0;
  /** Time of the last delivered record (perf's `last_flush`). */
  lastFlush = 0;
  /** Records queued with a time below {@linkcode OrderedQueue.lastFlush} (perf's `nr_unordered_events`). */
  unordered = 0;

  /** Number of queued records. */
  get size(): number {
    return this.#pending.length;
  }

  /**
   * Whether perf would deliver a record with this time immediately.
   *
   * @param time The record time or undefined.
   * @returns True for no time, 0 and ~0.
   */
  static immediate(time: number | undefined): boolean {
    return time === undefined || time === 0 || time >= 2 ** 64 - 1;
  }

  /**
   * Queue a record with a timestamp (callers deliver untimed records themselves).
   *
   * @param time The record time (> 0).
   * @param item The record.
   */
  push(time: number, item: T): void {
    const p = this.#pending;
    if (p.length && p[p.length - 1]!.time > time) this.#sorted = false;
    if (time < this.lastFlush) this.unordered++;
    // perf's queue_event: max_timestamp restarts when the queue was empty, and
    // is otherwise the time of the tail (the largest queued).
    if (p.length === 0 || time > this.#maxTime) this.#maxTime = time;
    p.push({ time, seq: this.#seq++, item });
  }

  #take(limit: number): T[] {
    const p = this.#pending;
    if (!this.#sorted) {
      p.sort(byTimeThenSeq);
      this.#sorted = true;
    }
    let n = 0;
    while (n < p.length && p[n]!.time <= limit) n++;
    if (n === 0) return [];
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = p[i]!.item;
    this.lastFlush = p[n - 1]!.time;
    this.#pending = n === p.length ? [] : p.slice(n);
    return out;
  }

  /**
   * Handle a FINISHED_ROUND.
   *
   * @returns The records to deliver now, in order.
   */
  flushRound(): T[] {
    const out = this.#take(this.#nextFlush);
    this.#nextFlush = this.#maxTime;
    return out;
  }

  /**
   * Deliver everything (end of input).
   *
   * @returns The remaining records in order.
   */
  flushAll(): T[] {
    return this.#take(Infinity);
  }
}
