/**
 * Test helper: compact synthetic samples for the analyze/output tests.
 *
 * @module
 */

import type { StackSample } from "./profile.ts";

/**
 * A sample whose frames are given ROOT-FIRST as names (`k_` prefix = kernel).
 * @param rootFirst Frame names, outermost first.
 * @param weight Weight.
 * @param extra Overrides.
 * @returns The sample (frames leaf-first as the interface requires).
 */
export function sampleOf(
  rootFirst: string[],
  weight = 1,
  extra: Partial<StackSample> = {},
): StackSample {
  return {
    frames: rootFirst.slice().reverse().map((sym) => ({
      sym,
      dso: sym.startsWith("k_") ? "[kernel.kallsyms]" : "/bin/prog",
      kernel: sym.startsWith("k_"),
    })),
    weight,
    pid: 10,
    tid: 10,
    cpu: 0,
    comm: "prog",
    time: 0,
    context: "task",
    truncated: false,
    ...extra,
  };
}
