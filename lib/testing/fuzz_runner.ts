/**
 * Runs fuzz cases against the readers with a per-case time limit and a
 * memory bound. Each case runs in a worker (see `fuzz_worker.ts`), so a case
 * stuck in a synchronous loop is ended by terminating the worker and counted
 * as a `hang`; the worker then starts afresh. Inside the worker a
 * {@linkcode FuzzGuard} bounds the records a target may decode (at most one
 * per 8 input bytes: a record header is 8 bytes) and the memory it may hold
 * (heap plus ArrayBuffer growth over the case); crossing a bound is a
 * `memory` outcome. {@linkcode FuzzCampaign} tallies outcomes, lets listed
 * known failures through and turns everything else that failed into one
 * assertion message with the stack traces.
 *
 * Case counts and seeds come from the environment for long runs:
 * `CALLRING_FUZZ_CASES` (cases per input of the fast campaigns; slower
 * campaigns take a fraction, see {@linkcode fuzzCases}), `CALLRING_FUZZ_SEED`,
 * `CALLRING_FUZZ_TIMEOUT_MS`, `CALLRING_FUZZ_SAVE` (see {@linkcode runCampaign}).
 *
 * @example Run one case
 * ```ts ignore
 * import { FuzzPool } from "./fuzz_runner.ts";
 * const pool = new FuzzPool(new URL("./fuzz_targets.ts", import.meta.url));
 * const r = await pool.run({ target: "perfdata", bytes: new Uint8Array(16) });
 * console.log(r.outcome.class); // "format-error"
 * await pool.close();
 * ```
 *
 * @module
 */

import { caseSeed, FuzzRng, FuzzTally, isFailure, type Outcome } from "./fuzz.ts";

/** What a target reports about one run that did not throw. */
export interface FuzzTargetReport {
  /** Warnings the reader gave. */
  warnings: number;
  /** The first warning (empty when none). */
  firstWarning: string;
  /** Records (or samples) decoded. */
  records: number;
  /** Target-specific counters (e.g. the capture reader's accounting). */
  stats: Record<string, number>;
}

/** Plain options passed through to a target. */
export type FuzzTargetOptions = Record<string, string | number | boolean>;

/** One target: runs a reader over the input, reports through the guard. */
export type FuzzTarget = (
  input: { bytes: Uint8Array; path: string; options: FuzzTargetOptions },
  guard: FuzzGuard,
) => Promise<FuzzTargetReport>;

/** Bounds of one case. */
export interface FuzzLimits {
  /** Wall-clock limit of one case in ms (default 5000, or `CALLRING_FUZZ_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Heap + ArrayBuffer growth allowed over a case, fixed part (default 256 MiB). */
  memoryBytes: number;
  /** Heap + ArrayBuffer growth allowed per input byte, on top (default 64). */
  memoryPerByte: number;
}

/** Thrown by a {@linkcode FuzzGuard} when a bound is crossed: a `memory` outcome. */
export class FuzzBoundError extends Error {
  /**
   * Create the error.
   *
   * @param message Which bound, by how much.
   */
  constructor(message: string) {
    super(message);
    this.name = "FuzzBoundError";
  }
}

/** Bytes of heap and ArrayBuffers in use by this isolate. */
function memoryInUse(): number {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

/**
 * The memory and record bounds of one case, checked by the target as it
 * decodes. A crossed bound throws {@linkcode FuzzBoundError} and stays
 * crossed, so a target that catches errors broadly still fails in
 * {@linkcode FuzzGuard.finish}.
 */
export class FuzzGuard {
  /** Records counted so far. */
  records = 0;
  /** Most records the input can hold (8-byte headers) plus slack. */
  readonly maxRecords: number;
  /** Memory growth allowed. */
  readonly maxMemory: number;
  readonly #base: number;
  #tripped: string | undefined;
  #peak = 0;

  /**
   * Start guarding a case.
   *
   * @param inputBytes Size of the input.
   * @param limits The case's bounds.
   */
  constructor(inputBytes: number, limits: Pick<FuzzLimits, "memoryBytes" | "memoryPerByte">) {
    this.maxRecords = Math.floor(inputBytes / 8) + 8;
    this.maxMemory = limits.memoryBytes + limits.memoryPerByte * inputBytes;
    this.#base = memoryInUse();
  }

  /** Largest memory growth seen by a check. */
  get peakMemory(): number {
    return this.#peak;
  }

  /**
   * Count decoded records; checks memory every 64 records.
   *
   * @param n Records decoded (default 1).
   * @throws {FuzzBoundError} When more records than the input can hold were decoded.
   */
  record(n = 1): void {
    this.records += n;
    if (this.records > this.maxRecords) {
      this.#trip(`${this.records} records decoded, more than the input can hold`);
    }
    if ((this.records & 63) === 0) this.memory();
  }

  /**
   * Check memory growth now.
   *
   * @throws {FuzzBoundError} When it is above the bound.
   */
  memory(): void {
    const used = memoryInUse() - this.#base;
    if (used > this.#peak) this.#peak = used;
    if (used > this.maxMemory) {
      this.#trip(`memory grew by ${mib(used)} MiB, bound ${mib(this.maxMemory)} MiB`);
    }
  }

  /**
   * Final check at the end of a case (re-throws a bound crossed earlier).
   *
   * @throws {FuzzBoundError} When a bound was crossed at any time.
   */
  finish(): void {
    this.memory();
    if (this.#tripped) throw new FuzzBoundError(this.#tripped);
  }

  #trip(message: string): never {
    this.#tripped ??= message;
    throw new FuzzBoundError(message);
  }
}

function mib(n: number): string {
  return (n / 2 ** 20).toFixed(1);
}

/** One case to run. */
export interface FuzzJob {
  /** Target name (a key of the targets module's `targets`). */
  target: string;
  /** The (mutated) input. */
  bytes: Uint8Array;
  /** Options for the target. */
  options?: FuzzTargetOptions;
}

/** How one case ended. */
export interface FuzzResult {
  /** The outcome class and message. */
  outcome: Outcome;
  /** The target's report when it did not throw. */
  report: FuzzTargetReport | undefined;
  /** Wall-clock time of the case in ms. */
  ms: number;
  /** Stack trace of a `bug` outcome. */
  stack: string;
}

/** Messages between the pool and a worker. */
export type FuzzWorkerRequest =
  | { type: "init"; module: string; path: string }
  | {
    type: "run";
    id: number;
    target: string;
    bytes: Uint8Array;
    options: FuzzTargetOptions;
    limits: Pick<FuzzLimits, "memoryBytes" | "memoryPerByte">;
  };

/** A worker's answer to a `run` request. */
export interface FuzzWorkerResponse {
  /** Request id. */
  id: number;
  /** Outcome. */
  outcome: Outcome;
  /** Report when the target did not throw. */
  report: FuzzTargetReport | undefined;
  /** Stack of a bug. */
  stack: string;
}

/**
 * An integer from the environment.
 *
 * @param name Variable name.
 * @returns Its value, or undefined when unset, unreadable or not a non-negative integer.
 */
export function envInt(name: string): number | undefined {
  let text: string | undefined;
  try {
    text = Deno.env.get(name);
  } catch {
    return undefined;
  }
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/**
 * Number of cases (per input) of a campaign: `quick` by default; with
 * `CALLRING_FUZZ_CASES=N` set, `N / divisor` (at least `quick`), so slower
 * campaigns scale down (a loadProfile case costs about 15 reader cases, a
 * subprocess about 200).
 *
 * @param quick Cases of the default (fast, seeded) run.
 * @param divisor Cost of one case relative to a reader case.
 * @returns The case count.
 */
export function fuzzCases(quick: number, divisor = 1): number {
  const n = envInt("CALLRING_FUZZ_CASES");
  return n === undefined ? quick : Math.max(quick, Math.ceil(n / divisor));
}

/**
 * The campaign seed: `CALLRING_FUZZ_SEED` or the given default.
 *
 * @param fallback Default seed.
 * @returns The seed.
 */
export function fuzzSeed(fallback: number): number {
  return envInt("CALLRING_FUZZ_SEED") ?? fallback;
}

/** How long a worker may take to load the targets module (not counted as case time). */
const STARTUP_TIMEOUT_MS = 120_000;

interface Slot {
  worker: Worker | undefined;
  /** Resolves once the worker has loaded the targets (startup is not case time). */
  ready: Promise<void>;
  path: string;
  busy: boolean;
  pending: ((r: FuzzWorkerResponse | Outcome) => void) | undefined;
}

/**
 * A pool of fuzz workers over one targets module (a module exporting
 * `targets: Record<string, FuzzTarget>`).
 */
export class FuzzPool {
  readonly #module: string;
  readonly #limits: FuzzLimits;
  readonly #slots: Slot[] = [];
  readonly #size: number;
  readonly #waiting: (() => void)[] = [];
  #dir: string | undefined;
  #nextId = 0;
  #serial = 0;

  /**
   * Create a pool (workers start on first use).
   *
   * @param targets URL of the targets module.
   * @param limits Per-case bounds.
   * @param size Number of workers (default 1).
   */
  constructor(targets: URL, limits: Partial<FuzzLimits> = {}, size = 1) {
    this.#module = targets.href;
    this.#limits = {
      timeoutMs: limits.timeoutMs ?? envInt("CALLRING_FUZZ_TIMEOUT_MS") ?? 5000,
      memoryBytes: limits.memoryBytes ?? 256 * 2 ** 20,
      memoryPerByte: limits.memoryPerByte ?? 64,
    };
    this.#size = size;
  }

  /** The per-case bounds in effect. */
  get limits(): FuzzLimits {
    return { ...this.#limits };
  }

  /** Start (or restart) the worker of a slot. */
  #start(slot: Slot): void {
    const worker = new Worker(new URL("./fuzz_worker.ts", import.meta.url), { type: "module" });
    let ready!: () => void;
    slot.ready = new Promise<void>((r) => ready = r);
    const answer = (r: FuzzWorkerResponse | Outcome) => {
      ready(); // a crash while loading also ends the wait
      const p = slot.pending;
      slot.pending = undefined;
      p?.(r);
    };
    worker.onmessage = (e: MessageEvent<FuzzWorkerResponse | { ready: true }>) => {
      if ("ready" in e.data) ready();
      else answer(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      answer({ class: "bug", message: `worker crashed: ${e.message}` });
    };
    worker.onmessageerror = () => answer({ class: "bug", message: "unreadable worker message" });
    const init: FuzzWorkerRequest = { type: "init", module: this.#module, path: slot.path };
    worker.postMessage(init);
    slot.worker = worker;
  }

  async #acquire(): Promise<Slot> {
    for (;;) {
      const free = this.#slots.find((s) => !s.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      if (this.#slots.length < this.#size) {
        // Synchronous: no other lane may run between the size check and the push.
        this.#dir ??= Deno.makeTempDirSync({ prefix: "callring-fuzz-" });
        const slot: Slot = {
          worker: undefined,
          ready: Promise.resolve(),
          path: `${this.#dir}/case-${this.#serial++}.data`,
          busy: true,
          pending: undefined,
        };
        this.#start(slot);
        this.#slots.push(slot);
        return slot;
      }
      await new Promise<void>((r) => this.#waiting.push(r));
    }
  }

  #release(slot: Slot): void {
    slot.busy = false;
    this.#waiting.shift()?.();
  }

  /** Replace a slot's worker (after a hang or crash). */
  #restart(slot: Slot): void {
    slot.worker?.terminate();
    this.#start(slot);
  }

  /**
   * Run one case.
   *
   * @param job The target and input.
   * @returns How it ended.
   */
  async run(job: FuzzJob): Promise<FuzzResult> {
    const slot = await this.#acquire();
    const id = this.#nextId++;
    let t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      let startTimer: ReturnType<typeof setTimeout> | undefined;
      const started = await Promise.race([
        slot.ready.then(() => true),
        new Promise<false>((r) => startTimer = setTimeout(() => r(false), STARTUP_TIMEOUT_MS)),
      ]);
      clearTimeout(startTimer);
      if (!started) {
        this.#restart(slot);
        const message = `worker did not load the targets within ${STARTUP_TIMEOUT_MS} ms`;
        return { outcome: { class: "bug", message }, report: undefined, ms: 0, stack: "" };
      }
      t0 = performance.now();
      const answer = await new Promise<FuzzWorkerResponse | Outcome | "timeout">((resolve) => {
        slot.pending = resolve;
        timer = setTimeout(() => resolve("timeout"), this.#limits.timeoutMs);
        const bytes = job.bytes.slice();
        const req: FuzzWorkerRequest = {
          type: "run",
          id,
          target: job.target,
          bytes,
          options: job.options ?? {},
          limits: this.#limits,
        };
        slot.worker!.postMessage(req, [bytes.buffer]);
      });
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (answer === "timeout") {
        slot.pending = undefined;
        this.#restart(slot);
        return {
          outcome: { class: "hang", message: `no answer within ${this.#limits.timeoutMs} ms` },
          report: undefined,
          ms,
          stack: "",
        };
      }
      if ("class" in answer) {
        this.#restart(slot);
        return { outcome: answer, report: undefined, ms, stack: "" };
      }
      return { outcome: answer.outcome, report: answer.report, ms, stack: answer.stack };
    } finally {
      clearTimeout(timer);
      this.#release(slot);
    }
  }

  /** Terminate the workers and remove their temporary files. */
  async close(): Promise<void> {
    for (const s of this.#slots) s.worker?.terminate();
    this.#slots.length = 0;
    if (this.#dir) await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
    this.#dir = undefined;
  }
}

/**
 * A failing fuzz case that is known and handed over: the campaign lets it
 * through (so the suite stays green) and reports it. It is matched by its
 * case id, or by its signature (for other cases hitting the same bug in a
 * long run).
 */
export interface KnownFailure {
  /** Case id, e.g. `perfdata fp.data #17`. */
  id: string;
  /** Matches the outcome message of this bug. */
  signature: RegExp;
  /** Reproducer under testdata/fuzz/. */
  reproducer: string;
  /** What goes wrong, where. */
  note: string;
}

/** Tallies the outcomes of one campaign (one target over its inputs). */
export class FuzzCampaign {
  /** Campaign name. */
  readonly name: string;
  /** Outcome counts (known failures excluded). */
  readonly tally: FuzzTally = new FuzzTally();
  /** Known failures that came up (id and label). */
  readonly knownHits: string[] = [];
  /** Unexpected failures with their stacks (first 20). */
  readonly details: string[] = [];
  /** Unexpected failures by kind (message with numbers stripped): count and first case. */
  readonly failureKinds: Map<string, { count: number; first: string }> = new Map();
  /** Slowest case in ms and its label. */
  slowest: { ms: number; label: string } = { ms: 0, label: "" };
  readonly #known: readonly KnownFailure[];

  /**
   * Start a campaign.
   *
   * @param name Its name (printed with the tally).
   * @param known Known failures to let through.
   */
  constructor(name: string, known: readonly KnownFailure[] = []) {
    this.name = name;
    this.#known = known;
  }

  /**
   * Count one case.
   *
   * @param id Stable case id (target, input, index).
   * @param label Case id plus what the mutation did.
   * @param result The result.
   * @returns Whether the case failed unexpectedly.
   */
  add(id: string, label: string, result: FuzzResult): boolean {
    if (result.ms > this.slowest.ms) this.slowest = { ms: result.ms, label };
    const o = result.outcome;
    if (isFailure(o.class)) {
      const k = this.#known.find((k) => k.id === id || k.signature.test(o.message));
      if (k) {
        this.knownHits.push(`${label}: ${o.class}: ${o.message} (known: ${k.reproducer})`);
        return false;
      }
      if (this.details.length < 20) {
        this.details.push(`${label}: ${o.class}: ${o.message}\n${indent(result.stack)}`);
      }
      const key = `${o.class}: ${o.message.replace(/\d+/g, "N").replace(/\/tmp\/\S+/g, "F")}`;
      const seen = this.failureKinds.get(key);
      this.failureKinds.set(key, { count: (seen?.count ?? 0) + 1, first: seen?.first ?? label });
    }
    this.tally.add(o, label);
    return isFailure(o.class);
  }

  /**
   * The tally as printed by the tests.
   *
   * @returns A few lines: counts, known failures, the most common format errors.
   */
  summary(): string {
    const lines = [`${this.name}: ${this.tally.summary()}, known ${this.knownHits.length}`];
    const top = [...this.tally.messages].sort((a, b) => b[1] - a[1]).slice(0, 3);
    for (const [m, n] of top) lines.push(`  ${n} x ${m}`);
    lines.push(`  slowest ${this.slowest.ms.toFixed(0)} ms: ${this.slowest.label}`);
    for (const [k, v] of this.failureKinds) {
      lines.push(`  FAILED ${v.count} x ${k} (first: ${v.first})`);
    }
    return lines.join("\n");
  }

  /**
   * Text of every unexpected failure, empty when there is none.
   *
   * @returns The failures with their stacks.
   */
  failureText(): string {
    return this.tally.failed === 0 ? "" : `${this.name}: ${this.tally.failed} failing cases\n` +
      this.details.join("\n");
  }
}

function indent(s: string): string {
  return s.split("\n").filter((l) => l.trim()).slice(0, 12).map((l) => `    ${l.trim()}`).join(
    "\n",
  );
}

/** FNV-1a of a string: mixes a target and input name into a campaign seed. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A named input of a campaign. */
export interface CampaignInput {
  /** Name in case ids, e.g. `fp.data`. */
  name: string;
  /** The clean bytes. */
  bytes: Uint8Array;
}

/** What {@linkcode runCampaign} runs. */
export interface CampaignSpec<I extends CampaignInput> {
  /** Target name. */
  target: string;
  /** Clean inputs; every one gets `casesPerInput` cases. */
  inputs: readonly I[];
  /** Cases per input. */
  casesPerInput: number;
  /** Campaign seed. */
  seed: number;
  /**
   * Make case `index` of an input.
   *
   * @returns The mutated bytes and a description of the mutation.
   */
  mutate(input: I, rng: FuzzRng, index: number): { bytes: Uint8Array; label: string };
  /** Target options of a case (default none). */
  options?(input: I, rng: FuzzRng, index: number): FuzzTargetOptions;
  /**
   * An invariant over a case that did not fail; a returned message makes the
   * case a `bug` (`invariant: ...`).
   */
  check?(input: I, bytes: Uint8Array, result: FuzzResult): string | undefined;
}

/**
 * Stable id of a case: target, input name and index under the campaign seed.
 *
 * @param target Target name.
 * @param input Input name.
 * @param index Case index.
 * @returns E.g. `perfdata fp.data #17`.
 */
export function caseId(target: string, input: string, index: number): string {
  return `${target} ${input} #${index}`;
}

/**
 * The generator of one case, reproducible from the campaign seed, target,
 * input name and index.
 *
 * @param seed Campaign seed.
 * @param target Target name.
 * @param input Input name.
 * @param index Case index.
 * @returns The generator.
 */
export function caseRng(seed: number, target: string, input: string, index: number): FuzzRng {
  return new FuzzRng(caseSeed((seed ^ hashString(`${target}\0${input}`)) >>> 0, index));
}

/**
 * Run a campaign's cases on a pool (as many at a time as the pool has
 * workers) and count them into `campaign`. With `CALLRING_FUZZ_SAVE=DIR`
 * set, the input of every unexpected failure is written to DIR for triage.
 *
 * @param pool The workers.
 * @param campaign The tally.
 * @param spec Inputs, cases, mutation and invariant.
 * @param concurrency Cases in flight (default 2).
 */
export async function runCampaign<I extends CampaignInput>(
  pool: FuzzPool,
  campaign: FuzzCampaign,
  spec: CampaignSpec<I>,
  concurrency = 2,
): Promise<void> {
  let save: string | undefined;
  try {
    save = Deno.env.get("CALLRING_FUZZ_SAVE");
  } catch {
    save = undefined;
  }
  const jobs: { input: I; index: number }[] = [];
  for (const input of spec.inputs) {
    for (let index = 0; index < spec.casesPerInput; index++) jobs.push({ input, index });
  }
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const { input, index } = jobs[next++]!;
      const rng = caseRng(spec.seed, spec.target, input.name, index);
      const { bytes, label } = spec.mutate(input, rng, index);
      const options = spec.options?.(input, rng, index) ?? {};
      let result = await pool.run({ target: spec.target, bytes, options });
      if (!isFailure(result.outcome.class) && spec.check) {
        const broken = spec.check(input, bytes, result);
        if (broken) {
          result = { ...result, outcome: { class: "bug", message: `invariant: ${broken}` } };
        }
      }
      const id = caseId(spec.target, input.name, index);
      const opts = Object.keys(options).length ? ` ${JSON.stringify(options)}` : "";
      const failed = campaign.add(id, `${id} [${label}]${opts}`, result);
      if (failed && save) {
        await Deno.mkdir(save, { recursive: true });
        await Deno.writeFile(`${save}/${id.replace(/[^\w.-]+/g, "_")}.bin`, bytes);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}
