/**
 * One ordered-events queue for every reader: records are queued with their
 * time and come out in time order, stable for equal times, as perf's
 * `tools/perf/util/ordered-events.c` delivers them (and as linux-perf-data's
 * sorter does). The queue is separate from reading: a reader pushes what it
 * read and asks the queue what may be delivered.
 *
 * perf's rules, which {@linkcode OrderedEvents.finishedRound} implements:
 *
 * - a record without a timestamp (no TIME, or time 0 / ~0) is not queued:
 *   it is delivered at once ({@linkcode OrderedEvents.immediate});
 * - on `PERF_RECORD_FINISHED_ROUND` every queued record with
 *   time <= `next_flush` is delivered, then `next_flush` becomes the largest
 *   time queued so far (a round flushes what was queued up to the previous
 *   round); `next_flush` starts at 0;
 * - `max_timestamp` is the largest time queued since the queue was last empty;
 * - at the end everything left is delivered in time order.
 *
 * Readers with their own release rule (the capture reader's reorder window)
 * use {@linkcode OrderedEvents.flushUpTo} / {@linkcode OrderedEvents.pop}.
 * The queue is a binary heap over typed arrays: pushing and delivering a
 * record allocates nothing.
 *
 * @module
 */

/** A time-ordered queue with perf's round flushing. */
export class OrderedEvents<T> {
  #time = new Float64Array(1024);
  #seq = new Float64Array(1024);
  #item: (T | undefined)[] = new Array(1024).fill(undefined);
  #n = 0;
  #nextSeq = 0;
  #maxTime = 0;
  #nextFlush = 0;
  /** Time of the last delivered record (perf's `last_flush`). */
  lastFlush = 0;
  /** Records queued with a time below {@linkcode OrderedEvents.lastFlush} (perf's `nr_unordered_events`). */
  unordered = 0;

  /**
   * Whether perf delivers a record with this time without queueing it.
   *
   * @param time The record time, undefined or NaN when it has none.
   * @returns True for no time, 0 and ~0.
   */
  static immediate(time: number | undefined): boolean {
    return time === undefined || time !== time || time === 0 || time >= 2 ** 64 - 1;
  }

  /** Number of queued records. */
  get size(): number {
    return this.#n;
  }

  /**
   * Queue a record with a timestamp (see {@linkcode OrderedEvents.immediate}
   * for those delivered at once).
   *
   * @param time The record time.
   * @param item The record.
   */
  push(time: number, item: T): void {
    if (this.#n === this.#time.length) this.#grow();
    if (time < this.lastFlush) this.unordered++;
    // perf's queue_event: max_timestamp restarts when the queue was empty, and
    // is otherwise the largest time queued.
    if (this.#n === 0 || time > this.#maxTime) this.#maxTime = time;
    const t = this.#time, q = this.#seq, it = this.#item;
    const seq = this.#nextSeq++;
    let i = this.#n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = t[p]!;
      if (pt < time || (pt === time && q[p]! < seq)) break;
      t[i] = pt;
      q[i] = q[p]!;
      it[i] = it[p];
      i = p;
    }
    t[i] = time;
    q[i] = seq;
    it[i] = item;
  }

  /**
   * Time of the earliest queued record.
   *
   * @returns Its time, or Infinity when the queue is empty.
   */
  peekTime(): number {
    return this.#n > 0 ? this.#time[0]! : Infinity;
  }

  /**
   * Remove and return the earliest queued record.
   *
   * @returns The record.
   * @throws {RangeError} When the queue is empty.
   */
  pop(): T {
    if (this.#n === 0) throw new RangeError("OrderedEvents.pop() on an empty queue");
    const t = this.#time, q = this.#seq, it = this.#item;
    const top = it[0] as T;
    this.lastFlush = t[0]!;
    const n = --this.#n;
    const lt = t[n]!, lq = q[n]!, li = it[n];
    it[n] = undefined;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let m = l;
      const r = l + 1;
      if (r < n && (t[r]! < t[l]! || (t[r] === t[l] && q[r]! < q[l]!))) m = r;
      if (lt < t[m]! || (lt === t[m] && lq < q[m]!)) break;
      t[i] = t[m]!;
      q[i] = q[m]!;
      it[i] = it[m];
      i = m;
    }
    if (n > 0) {
      t[i] = lt;
      q[i] = lq;
      it[i] = li;
    }
    return top;
  }

  /**
   * Deliver the queued records with time <= `limit`, in order.
   *
   * @param limit The largest time delivered.
   * @param deliver Called per record.
   * @returns How many were delivered.
   */
  flushUpTo(limit: number, deliver: (item: T) => void): number {
    let k = 0;
    while (this.#n > 0 && this.#time[0]! <= limit) {
      deliver(this.pop());
      k++;
    }
    return k;
  }

  /**
   * perf's FINISHED_ROUND: deliver what was queued up to the previous round.
   *
   * @param deliver Called per record, in order.
   * @returns How many were delivered.
   */
  finishedRound(deliver: (item: T) => void): number {
    const k = this.flushUpTo(this.#nextFlush, deliver);
    this.#nextFlush = this.#maxTime;
    return k;
  }

  /**
   * Deliver everything (end of input).
   *
   * @param deliver Called per record, in order.
   * @returns How many were delivered.
   */
  flushAll(deliver: (item: T) => void): number {
    return this.flushUpTo(Infinity, deliver);
  }

  #grow(): void {
    const n = this.#time.length * 2;
    const t = new Float64Array(n), q = new Float64Array(n);
    t.set(this.#time);
    q.set(this.#seq);
    this.#time = t;
    this.#seq = q;
    const it = new Array<T | undefined>(n).fill(undefined);
    for (let i = 0; i < this.#n; i++) it[i] = this.#item[i];
    this.#item = it;
  }
}
