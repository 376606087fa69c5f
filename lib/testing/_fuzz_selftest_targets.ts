/**
 * Targets that misbehave on purpose, for the tests of the fuzz runner
 * (`fuzz_test.ts`): each shows that one failure class is caught.
 *
 * @module
 */

import { FormatError } from "../abi/errors.ts";
import type { FuzzTarget } from "./fuzz_runner.ts";

/** Targets by name. */
export const targets: Record<string, FuzzTarget> = {
  ok: ({ bytes }, guard) => {
    guard.record(Math.floor(bytes.length / 8));
    return Promise.resolve({ warnings: 0, firstWarning: "", records: guard.records, stats: {} });
  },
  warn: () => Promise.resolve({ warnings: 2, firstWarning: "w1", records: 0, stats: {} }),
  "format-error": () => Promise.reject(new FormatError("Bad thing", 12)),
  "no-offset": () => Promise.reject(new FormatError("Bad thing")),
  "range-error": ({ bytes }) => {
    new DataView(bytes.buffer).getUint32(bytes.length + 4, true);
    return Promise.reject(new Error("unreachable"));
  },
  spin: () => {
    for (;;) { /* a synchronous hang */ }
  },
  never: () => new Promise(() => {}),
  records: ({ bytes }, guard) => {
    for (let i = 0; i <= bytes.length; i++) guard.record();
    return Promise.resolve({ warnings: 0, firstWarning: "", records: 0, stats: {} });
  },
  allocate: (_, guard) => {
    const big = new Uint8Array(2 ** 32);
    guard.memory();
    return Promise.resolve({ warnings: 0, firstWarning: "", records: big.length, stats: {} });
  },
  "absurd-length": () => {
    new Uint8Array(2 ** 60);
    return Promise.reject(new Error("unreachable"));
  },
};
