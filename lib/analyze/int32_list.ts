/**
 * A growable list of int32 values in one typed array: pushing costs no
 * allocation per value and no write barrier, unlike an array of numbers.
 *
 * @module
 */

/** A growable list of int32 values. */
export class Int32List {
  #a: Int32Array;
  #len = 0;

  /**
   * Create an empty list.
   * @param capacity Values it holds before it first grows.
   */
  constructor(capacity = 1024) {
    this.#a = new Int32Array(Math.max(1, capacity));
  }

  /** Number of values. */
  get length(): number {
    return this.#len;
  }

  /**
   * Append two values (a pair: two calls of one value each would grow twice as often).
   * @param a The first.
   * @param b The second.
   */
  push(a: number, b: number): void {
    if (this.#len + 2 > this.#a.length) {
      const next = new Int32Array(this.#a.length * 2 + 2);
      next.set(this.#a.subarray(0, this.#len));
      this.#a = next;
    }
    this.#a[this.#len++] = a;
    this.#a[this.#len++] = b;
  }

  /**
   * The value at index `i` (0 <= i < length).
   * @param i The index.
   * @returns The value.
   */
  at(i: number): number {
    return this.#a[i];
  }
}
