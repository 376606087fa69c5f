/**
 * LBR callchains (`perf record --call-graph lbr`): perf takes the user part
 * of such a sample's callchain from its branch stack, not from the
 * frame-pointer chain the kernel also recorded (tools/perf/util/machine.c:
 * `thread__resolve_callchain_sample` calls `resolve_lbr_callchain_sample`
 * when `evsel__has_branch_callstack`).
 *
 * In callee order (script's and report's default) perf adds
 * (`lbr_callchain_add_kernel_ip`, then `lbr_callchain_add_lbr_ip`):
 * the callchain up to and including its PERF_CONTEXT_USER marker, then the
 * first branch entry's `to` (the leaf function), then the `from` of every
 * entry (each call site, innermost first). A callchain without a
 * PERF_CONTEXT_USER marker in its first `max_stack` entries keeps its
 * frame-pointer form. LBR stitching (`--stitch-lbr`, off by default) is not
 * modelled.
 *
 * One difference is deliberate: for a branch stack of 0 entries perf still
 * reads `entries[0].to`, which lies past the sample (the next record's
 * bytes); no bytes of ours stand for that frame, so it is left out.
 *
 * @module
 */

import {
  BRANCH_CALL_STACK,
  PerfContext,
  type PerfEventAttr,
  type Sample,
  SampleType,
} from "../abi/mod.ts";

/**
 * Whether perf builds this event's callchains from the LBR call stack
 * (`evsel__has_branch_callstack`: PERF_SAMPLE_BRANCH_CALL_STACK requested).
 *
 * @param attr The event's attribute.
 * @returns True for `--call-graph lbr` events that sample branch stacks.
 */
export function hasBranchCallStack(attr: PerfEventAttr): boolean {
  return (attr.sampleType & SampleType.BRANCH_STACK) !== 0 &&
    (attr.branchSampleType & BRANCH_CALL_STACK) !== 0;
}

/**
 * The callchain perf resolves for a sample of an LBR call-stack event
 * ({@linkcode hasBranchCallStack}), in callee order.
 *
 * @param sample The sample (its `callchain` and `branchStack`).
 * @param attr Its event's attribute.
 * @param maxStack perf's `max_stack` (where it looks for PERF_CONTEXT_USER).
 * @returns The kernel part, PERF_CONTEXT_USER, the first entry's target and
 *   every entry's source; undefined when the sample keeps its own callchain
 *   (another kind of event, or no PERF_CONTEXT_USER).
 */
export function lbrCallchain(
  sample: Sample,
  attr: PerfEventAttr,
  maxStack: number,
): BigUint64Array | undefined {
  if (!hasBranchCallStack(attr)) return undefined;
  const chain = sample.callchain;
  const branches = sample.branchStack?.entries;
  if (chain === undefined || branches === undefined) return undefined;
  const n = Math.min(maxStack, chain.length);
  let user = -1;
  for (let i = 0; i < n; i++) {
    if (chain[i] === PerfContext.USER) {
      user = i;
      break;
    }
  }
  if (user < 0) return undefined;
  const nr = branches.length / 3;
  const out = new BigUint64Array(user + 1 + (nr > 0 ? nr + 1 : 0));
  out.set(chain.subarray(0, user + 1));
  if (nr > 0) {
    out[user + 1] = branches[1]; // entries[0].to
    for (let i = 0; i < nr; i++) out[user + 2 + i] = branches[3 * i]; // entries[i].from
  }
  return out;
}
