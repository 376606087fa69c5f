/**
 * Registry of NMI strategies.
 * @module
 */
import type { Strategy } from "../cpu.ts";
import { kmallocBuffers, naiveIret, vmallocSyncAll } from "./naive_iret.ts";
import { popfRet } from "./popf_ret.ts";
import { linusV2, ripAtIret } from "./linus_v2.ts";
import { mainline } from "./mainline.ts";
import { ripRange } from "./rip_range.ts";
import { rspRange } from "./rsp_range.ts";

export {
  kmallocBuffers,
  linusV2,
  mainline,
  naiveIret,
  popfRet,
  ripAtIret,
  ripRange,
  rspRange,
  vmallocSyncAll,
};

/** Strategies the simulator compares (issue 5). */
export const SIM_STRATEGIES: readonly Strategy[] = [
  naiveIret,
  popfRet,
  linusV2,
  mainline,
  vmallocSyncAll,
  kmallocBuffers,
];

/** Strategies the model checker explores (issue 6): the simulator's plus the thread's variants. */
export const CHECK_STRATEGIES: readonly Strategy[] = [
  naiveIret,
  popfRet,
  linusV2,
  ripAtIret,
  ripRange,
  rspRange,
  mainline,
  vmallocSyncAll,
  kmallocBuffers,
];

/** Error for an unknown strategy name. */
export class UnknownStrategyError extends Error {
  /**
   * Build the error.
   * @param strategyName the name asked for
   */
  constructor(readonly strategyName: string) {
    super(
      `unknown strategy "${strategyName}" (known: ${
        CHECK_STRATEGIES.map((s) => s.name).join(", ")
      })`,
    );
    this.name = "UnknownStrategyError";
  }
}

/**
 * Look a strategy up by name.
 * @param name e.g. "mainline"
 * @returns the strategy
 * @throws {UnknownStrategyError} when the name is unknown
 */
export function getStrategy(name: string): Strategy {
  const s = CHECK_STRATEGIES.find((x) => x.name === name);
  if (!s) throw new UnknownStrategyError(name);
  return s;
}
