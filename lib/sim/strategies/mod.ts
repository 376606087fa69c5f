/**
 * Registry of NMI strategies.
 * @module
 */
import type { Strategy } from "../cpu.ts";
import { kmallocBuffers, naiveIret, nmiNoTraps, vmallocSyncAll } from "./naive_iret.ts";
import { popfRet } from "./popf_ret.ts";
import { linusV1 } from "./linus_v1.ts";
import { linusV2, linusV2Posted, ripAtIret } from "./linus_v2.ts";
import { mainline } from "./mainline.ts";
import { ripRange, ripRangeFixed } from "./rip_range.ts";
import { rspRange } from "./rsp_range.ts";
import { aviTwoStacks } from "./avi_two_stacks.ts";

export {
  aviTwoStacks,
  kmallocBuffers,
  linusV1,
  linusV2,
  linusV2Posted,
  mainline,
  naiveIret,
  nmiNoTraps,
  popfRet,
  ripAtIret,
  ripRange,
  ripRangeFixed,
  rspRange,
  vmallocSyncAll,
};

/**
 * Every strategy of the thread, in the order of seed-spec §2 (and the 2012 mainline): the
 * model checker explores them all and the simulator compares them all.
 */
export const CHECK_STRATEGIES: readonly Strategy[] = [
  naiveIret,
  popfRet,
  linusV1,
  linusV2Posted,
  ripAtIret,
  linusV2,
  ripRange,
  ripRangeFixed,
  aviTwoStacks,
  rspRange,
  vmallocSyncAll,
  kmallocBuffers,
  nmiNoTraps,
  mainline,
];

/** Strategies the simulator compares: all of them ({@link CHECK_STRATEGIES}). */
export const SIM_STRATEGIES: readonly Strategy[] = CHECK_STRATEGIES;

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
