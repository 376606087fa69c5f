/**
 * A small open-addressing hash index over pairs of int32 keys, shared by the
 * profile's trie / stack indexes and the text report's call chains.
 *
 * @module
 */

/**
 * Open-addressing hash index from a pair of non-negative int32 keys to a
 * non-negative int32 value (-1: absent). Look up a slot, then read it or
 * insert at it; no deletion. Numbers stay small integers (no heap numbers,
 * no string keys), which keeps the trie and stack indexes cheap per sample.
 */
export class PairIndex {
  /** Per slot: key a, key b, value (-1: empty); one cache line per probe. */
  #slots = new Int32Array(3 * 1024).fill(-1);
  #mask = 1023;
  #size = 0;

  /** The slot holding (a, b), or the empty slot where it belongs. */
  slot(a: number, b: number): number {
    const mask = this.#mask;
    const slots = this.#slots;
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ (b >>> 16), 0x85ebca6b);
    h = (h ^ (h >>> 15)) & mask;
    while (slots[3 * h + 2] >= 0 && (slots[3 * h] !== a || slots[3 * h + 1] !== b)) {
      h = (h + 1) & mask;
    }
    return h;
  }

  /** The value at a slot (-1 when empty). */
  valueAt(slot: number): number {
    return this.#slots[3 * slot + 2];
  }

  /**
   * The value of (a, b); when absent, `make(a, b)`'s, stored first. (`make`
   * is called only on a miss: pass one function made once, not a closure per
   * call.)
   * @param a First key.
   * @param b Second key.
   * @param make Makes the value of a new pair.
   * @returns The value.
   */
  getOrAdd(a: number, b: number, make: (a: number, b: number) => number): number {
    const slot = this.slot(a, b);
    const found = this.#slots[3 * slot + 2];
    if (found >= 0) return found;
    const value = make(a, b);
    this.insertAt(slot, a, b, value);
    return value;
  }

  /** Stores (a, b) -> value at the empty slot {@linkcode slot} returned. */
  insertAt(slot: number, a: number, b: number, value: number): void {
    const slots = this.#slots;
    slots[3 * slot] = a;
    slots[3 * slot + 1] = b;
    slots[3 * slot + 2] = value;
    if (++this.#size * 2 > this.#mask) this.#grow();
  }

  #grow(): void {
    const old = this.#slots;
    const len = (this.#mask + 1) * 2;
    this.#slots = new Int32Array(3 * len).fill(-1);
    this.#mask = len - 1;
    for (let i = 0; i < old.length; i += 3) {
      if (old[i + 2] < 0) continue;
      const s = 3 * this.slot(old[i], old[i + 1]);
      this.#slots[s] = old[i];
      this.#slots[s + 1] = old[i + 1];
      this.#slots[s + 2] = old[i + 2];
    }
  }
}
