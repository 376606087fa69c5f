/**
 * Worker side of {@linkcode FuzzPool}: imports the targets module named by
 * the `init` message, then runs one case per `run` message (input written to
 * the worker's own temporary file first, for targets that open a path) under
 * a {@linkcode FuzzGuard}, and answers with the classified outcome.
 *
 * @module
 */

import { classifyError, type Outcome } from "./fuzz.ts";
import {
  FuzzBoundError,
  FuzzGuard,
  type FuzzTarget,
  type FuzzTargetReport,
  type FuzzWorkerRequest,
  type FuzzWorkerResponse,
} from "./fuzz_runner.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<FuzzWorkerRequest>) => void) | null;
  postMessage(message: FuzzWorkerResponse | { ready: true }): void;
}

const scope = globalThis as unknown as WorkerScope;
let targets: Promise<Record<string, FuzzTarget>> | undefined;
let path = "";

/** An allocation of an absurd size is a memory outcome, not a plain bug. */
const ALLOCATION = /allocation failed|invalid (typed )?array length|out of memory/i;

/**
 * Classify a failure of a target.
 *
 * @param e The thrown value.
 * @returns Outcome and stack.
 */
function classify(e: unknown): { outcome: Outcome; stack: string } {
  if (e instanceof FuzzBoundError) {
    return { outcome: { class: "memory", message: e.message }, stack: "" };
  }
  const stack = e instanceof Error ? e.stack ?? "" : "";
  if (e instanceof RangeError && ALLOCATION.test(e.message)) {
    return { outcome: { class: "memory", message: `RangeError: ${e.message}` }, stack };
  }
  const outcome = classifyError(e);
  return { outcome, stack: outcome.class === "bug" ? stack : "" };
}

async function run(req: Extract<FuzzWorkerRequest, { type: "run" }>): Promise<FuzzWorkerResponse> {
  try {
    const mod = await targets!;
    const target = mod[req.target];
    if (!target) throw new Error(`Unknown fuzz target ${req.target}`);
    await Deno.writeFile(path, req.bytes);
    const guard = new FuzzGuard(req.bytes.length, req.limits);
    const report: FuzzTargetReport = await target(
      { bytes: req.bytes, path, options: req.options },
      guard,
    );
    guard.finish();
    const outcome: Outcome = report.warnings > 0
      ? { class: "warned", message: report.firstWarning }
      : { class: "ok", message: "" };
    return { id: req.id, outcome, report, stack: "" };
  } catch (e) {
    return { id: req.id, ...classify(e), report: undefined };
  }
}

scope.onmessage = (e: MessageEvent<FuzzWorkerRequest>) => {
  const req = e.data;
  if (req.type === "init") {
    path = req.path;
    targets = import(req.module).then((m: { targets: Record<string, FuzzTarget> }) => m.targets);
    // Loaded (or failed to load: the first case then reports why): cases may start.
    targets.then(
      () => scope.postMessage({ ready: true }),
      () => scope.postMessage({ ready: true }),
    );
    return;
  }
  run(req).then((r) => scope.postMessage(r));
};
