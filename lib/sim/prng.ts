/**
 * Seeded pseudo-random numbers for the simulator: xoshiro128** seeded through splitmix32.
 * The same seed always gives the same sequence, so every simulated run is reproducible.
 * @module
 */

/** A small, fast, seeded PRNG (xoshiro128**). */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /**
   * Create a generator.
   * @param seed any 32-bit integer; equal seeds give equal sequences
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * const r = new Prng(42);
   * const x = r.next(); // 0 <= x < 2**32
   * ```
   */
  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = split();
    this.#b = split();
    this.#c = split();
    this.#d = split() | 1;
  }

  /**
   * Next raw 32-bit value.
   * @returns an unsigned 32-bit integer
   */
  next(): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.#b << 9) >>> 0;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r;
  }

  /**
   * Uniform float in [0, 1).
   * @returns a number in [0, 1)
   */
  float(): number {
    return this.next() / 4294967296;
  }

  /**
   * Uniform integer in [0, n).
   * @param n exclusive upper bound (> 0)
   * @returns an integer in [0, n)
   */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /**
   * True with probability p.
   * @param p probability in [0, 1]
   * @returns whether the event happened
   */
  chance(p: number): boolean {
    return this.float() < p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
