/**
 * Exhaustive model checker for NMI strategies (issue 6). Breadth-first search over every
 * interleaving of NMI arrivals, exceptions inside the NMI handler (#PF, int3 with kprobe
 * single-step, #DB) and MCE, alone or mixed in one schedule (profile `mixed`), at every
 * atomic step of the strategy's own program (the same
 * {@link Strategy} objects the simulator runs), with state hashing so it terminates.
 * BFS makes each reported counter-example a shortest one.
 * @module
 */
import {
  Cpu,
  INV_BIT,
  type InvariantName,
  INVARIANTS,
  Kind,
  type KindCode,
  type Strategy,
  TASK_CONTEXTS,
  type TaskContextCode,
  type TaskContextName,
} from "./cpu.ts";

/**
 * Which exceptions the environment may raise. `mixed` allows #PF, int3 (single-stepped, so
 * it brings a #DB of its own), data-breakpoint #DB and MCE in one schedule: the fault budget
 * is shared by #PF/int3/#DB, MCE has its own.
 */
export type CheckProfile = "pf" | "pf+int3" | "pf+db" | "pf+ibp" | "pf+mce" | "mixed";

/** All profiles, in table order. */
export const CHECK_PROFILES: readonly CheckProfile[] = [
  "pf",
  "pf+int3",
  "pf+db",
  "pf+ibp",
  "pf+mce",
  "mixed",
];

/** What each profile adds to #PF (which only strategies with vmalloc'd buffers take). */
const PROFILE_EXCEPTIONS: Readonly<
  Record<CheckProfile, { readonly kinds: readonly KindCode[]; readonly mce: boolean }>
> = {
  "pf": { kinds: [], mce: false },
  "pf+int3": { kinds: [Kind.Int3], mce: false },
  "pf+db": { kinds: [Kind.Db], mce: false },
  "pf+ibp": { kinds: [Kind.Ibp], mce: false },
  "pf+mce": { kinds: [], mce: true },
  "mixed": { kinds: [Kind.Int3, Kind.Db], mce: true },
};

/**
 * Whether a profile lets MCE hit.
 * @param p profile
 * @returns true for pf+mce and mixed
 */
export function profileHasMce(p: CheckProfile): boolean {
  return PROFILE_EXCEPTIONS[p].mce;
}

/** One scheduling decision of the environment. */
export type Choice =
  | { readonly t: "step" }
  | { readonly t: "nmi" }
  | { readonly t: "fault"; readonly kind: KindCode }
  | { readonly t: "mce" }
  | { readonly t: "irq"; readonly softirq: boolean };

/** Exploration bounds. */
export interface CheckOptions {
  /** Maximum NMI arrivals per path (default 3). */
  readonly nmis?: number;
  /** Maximum exceptions (#PF / int3 / #DB) per path (default 2). */
  readonly faults?: number;
  /** Maximum MCEs per path (default 1, only in the pf+mce and mixed profiles). */
  readonly mces?: number;
  /** Let MCE hit the NMI entry/exit assembly too, not only C code (default false: every
   * strategy loses its frame to an MCE that iret's before the frame is copied). */
  readonly mceAnywhere?: boolean;
  /** Maximum hardware interrupts per path (default 0): taken only with IF set, at the task
   * or in a softirq handler, so NMIs also arrive inside hardirq and softirq activations. */
  readonly irqs?: number;
  /** What the task was running when the first NMI hit ({@link TASK_CONTEXTS}; default
   * "kernel"): user and vm86 frames must be returned to with iret, a user %rsp may point into
   * the NMI stack, kernel code entered by SYSCALL saves a non-null SS. */
  readonly context?: TaskContextName;
  /** Safety cap on stored states (default 2,000,000). */
  readonly maxStates?: number;
  /** Called every {@link PROGRESS_EVERY} states with the states stored so far. */
  readonly onProgress?: (states: number) => void;
}

/** States between two {@link CheckOptions.onProgress} calls. */
export const PROGRESS_EVERY = 20_000;

/** A counter-example. */
export interface Violation {
  /** The invariant. */
  readonly invariant: InvariantName;
  /** The invariant's violation message at the failing step (`"<invariant>: ..."`). */
  readonly message: string;
  /** Readable steps. */
  readonly trace: readonly string[];
  /** The same schedule as machine-readable choices (replayable in the simulator). */
  readonly choices: readonly Choice[];
  /** The machine state right after the failing step ({@link Cpu.describe}). */
  readonly state: readonly string[];
}

/** Outcome of one exploration. */
export interface CheckResult {
  /** Strategy name. */
  readonly strategy: string;
  /** Exception profile. */
  readonly profile: CheckProfile;
  /** MCE could also hit the NMI entry/exit assembly ({@link CheckOptions.mceAnywhere}). */
  readonly mceAnywhere: boolean;
  /** The interrupted task's context ({@link CheckOptions.context}). */
  readonly context: TaskContextName;
  /** Hardware interrupts allowed per path ({@link CheckOptions.irqs}). */
  readonly irqs: number;
  /** Per invariant: holds or violated. */
  readonly verdicts: Readonly<Record<InvariantName, "holds" | "violated">>;
  /** Shortest counter-example per violated invariant. */
  readonly violations: readonly Violation[];
  /** Distinct states explored. */
  readonly states: number;
  /** Wall time in ms. */
  readonly ms: number;
  /** False if maxStates cut the search short. */
  readonly complete: boolean;
  /** WARNs a {@link Strategy.warnOnTrap} strategy raised on some path, one per exception
   * kind (undefined for strategies that do not warn). */
  readonly warnings?: readonly string[];
}

interface Node {
  /** The state; dropped once the node is expanded (traces need only labels and parents). */
  cpu: Cpu | null;
  nmis: number;
  faults: number;
  mces: number;
  irqs: number;
  parent: number;
  choice: Choice | null;
  label: string;
}

/**
 * Exceptions the environment may raise at a faultable step, for a strategy and profile.
 * @param s strategy
 * @param p profile
 * @returns exception kinds
 */
export function faultKinds(s: Strategy, p: CheckProfile): KindCode[] {
  const k: KindCode[] = [];
  if (s.vmallocBuffers) k.push(Kind.Pf);
  k.push(...PROFILE_EXCEPTIONS[p].kinds);
  return k;
}

/**
 * Apply one choice to a CPU and describe it.
 * @param cpu the CPU (mutated)
 * @param c the choice
 * @returns a readable description
 */
export function applyChoice(cpu: Cpu, c: Choice): string {
  const top = cpu.depth;
  const who = cpu.nameOf(top);
  const where = cpu.stepName(top);
  if (c.t === "step") {
    const blocked = cpu.nmiBlocked;
    const latched = cpu.latch;
    cpu.step();
    let s = `${who}: ${where}`;
    if (blocked && !cpu.nmiBlocked) s += " (NMIs unmasked)";
    if (latched && !cpu.latch) s += `; latched NMI#${cpu.latchNo} delivered`;
    if (cpu.depth > top && cpu.kind[cpu.depth] === Kind.Db) s += "; single-step #DB";
    return s;
  }
  if (c.t === "nmi") {
    const blocked = cpu.nmiBlocked;
    const latch = cpu.latch;
    cpu.nmiArrives();
    const no = cpu.nmiSeq;
    if (!blocked) return `NMI#${no} arrives, interrupts ${who} at '${where}'`;
    return latch
      ? `NMI#${no} arrives while blocked: latch full, dropped by hardware`
      : `NMI#${no} arrives while blocked: latched`;
  }
  if (c.t === "fault") {
    cpu.raise(c.kind);
    const name = c.kind === Kind.Pf
      ? "#PF"
      : c.kind === Kind.Int3
      ? "int3 (kprobe)"
      : c.kind === Kind.Ibp
      ? "#DB (instruction breakpoint, fault-class)"
      : "#DB (data breakpoint)";
    return `${name} in ${who} at '${where}'`;
  }
  if (c.t === "irq") {
    cpu.irqArrives(c.softirq);
    return `IRQ${c.softirq ? " (softirq pending)" : ""} interrupts ${who} at '${where}'`;
  }
  cpu.raise(Kind.Mce);
  return `MCE in ${who} at '${where}'`;
}

/**
 * Explore every schedule of one strategy under one exception profile.
 * @param strategy the strategy
 * @param profile which exceptions may happen
 * @param opts bounds
 * @returns verdicts, shortest counter-examples, states and time
 * @example
 * ```ts
 * import { check } from "./check.ts";
 * import { mainline } from "./strategies/mod.ts";
 * const r = check(mainline, "pf", { nmis: 3, faults: 2 });
 * console.log(r.verdicts["ist-frame-live"]); // "holds"
 * ```
 */
export function check(
  strategy: Strategy,
  profile: CheckProfile,
  opts: CheckOptions = {},
): CheckResult {
  const t0 = performance.now();
  const maxStates = opts.maxStates ?? 2_000_000;
  const kinds = faultKinds(strategy, profile);
  const mceAnywhere = opts.mceAnywhere ?? false;
  const context = opts.context ?? "kernel";
  const ctxCode = TASK_CONTEXTS.indexOf(context) as TaskContextCode;
  if (ctxCode < 0) throw new RangeError(`unknown context "${context}"`);
  const root: Node = {
    cpu: new Cpu(strategy, ctxCode),
    nmis: opts.nmis ?? 3,
    faults: opts.faults ?? 2,
    mces: profileHasMce(profile) ? (opts.mces ?? 1) : 0,
    irqs: opts.irqs ?? 0,
    parent: -1,
    choice: null,
    label: "",
  };
  const nodes: Node[] = [root];
  const seen = new Set<string>([nodeKey(root)]);
  const found = new Map<InvariantName, Violation>();
  const warnings = new Map<number, string>();
  let complete = true;

  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    const cpu = n.cpu!;
    n.cpu = null;
    const choices: Choice[] = [];
    if (cpu.depth > 0) {
      choices.push({ t: "step" });
      const st = cpu.kind[cpu.depth] === Kind.Nmi ? strategy.nmi[cpu.pc[cpu.depth]] : undefined;
      if (st?.faultable && n.faults > 0) {
        for (const k of kinds) choices.push({ t: "fault", kind: k });
      }
      if (
        n.mces > 0 && cpu.innermostNmi() >= 0 && !hasMce(cpu) &&
        (mceAnywhere || cpu.addrOf(cpu.depth) === "c")
      ) choices.push({ t: "mce" });
    }
    if (n.nmis > 0) choices.push({ t: "nmi" });
    if (n.irqs > 0 && cpu.ifFlag) {
      choices.push({ t: "irq", softirq: false }, { t: "irq", softirq: true });
    }
    for (const c of choices) {
      const next = new Cpu(strategy, ctxCode);
      next.copyFrom(cpu);
      const child: Node = {
        cpu: next,
        nmis: n.nmis - (c.t === "nmi" ? 1 : 0),
        faults: n.faults - (c.t === "fault" ? 1 : 0),
        mces: n.mces - (c.t === "mce" ? 1 : 0),
        irqs: n.irqs - (c.t === "irq" ? 1 : 0),
        parent: i,
        choice: c,
        label: "",
      };
      child.label = applyChoice(next, c);
      if (!next.crashed) next.quiescentCheck();
      const fresh = next.violations & ~cpu.violations;
      if (fresh) {
        for (const inv of INVARIANTS) {
          if ((fresh & INV_BIT[inv]) && !found.has(inv)) {
            found.set(inv, buildViolation(nodes, child, inv, next.messageOf(inv), next));
          }
        }
      }
      const warned = next.warned & ~cpu.warned;
      if (warned) {
        for (let k = 0; k < next.warnMessages.length; k++) {
          if ((warned & (1 << k)) && !warnings.has(k)) warnings.set(k, next.warnMessages[k]);
        }
      }
      if (next.crashed) continue;
      const key = nodeKey(child);
      if (seen.has(key)) continue;
      if (nodes.length >= maxStates) {
        complete = false;
        continue;
      }
      seen.add(key);
      nodes.push(child);
      if (opts.onProgress && nodes.length % PROGRESS_EVERY === 0) opts.onProgress(nodes.length);
    }
  }
  const verdicts = {} as Record<InvariantName, "holds" | "violated">;
  for (const inv of INVARIANTS) verdicts[inv] = found.has(inv) ? "violated" : "holds";
  return {
    strategy: strategy.name,
    profile,
    mceAnywhere,
    context,
    irqs: opts.irqs ?? 0,
    verdicts,
    violations: INVARIANTS.filter((i) => found.has(i)).map((i) => found.get(i)!),
    states: nodes.length,
    ms: performance.now() - t0,
    complete,
    warnings: strategy.warnOnTrap
      ? [...warnings.keys()].sort((a, b) => a - b).map((k) => warnings.get(k)!)
      : undefined,
  };
}

function hasMce(cpu: Cpu): boolean {
  for (let i = 1; i <= cpu.depth; i++) if (cpu.kind[i] === Kind.Mce) return true;
  return false;
}

function nodeKey(n: Node): string {
  return `${n.nmis},${n.faults},${n.mces},${n.irqs}#${n.cpu!.key()}`;
}

function buildViolation(
  nodes: Node[],
  last: Node,
  inv: InvariantName,
  msg: string,
  cpu: Cpu,
): Violation {
  const path: Node[] = [last];
  let p = last.parent;
  while (p > 0) {
    path.push(nodes[p]);
    p = nodes[p].parent;
  }
  path.reverse();
  const trace = path.map((x, i) => `${i + 1}. ${x.label}`);
  trace.push(`=> ${inv} violated: ${msg.replace(/^[a-z0-9-]+: /, "")}`);
  return {
    invariant: inv,
    message: msg,
    trace,
    choices: path.map((x) => x.choice!),
    state: cpu.describe(),
  };
}

/**
 * Run every strategy under every profile.
 * @param strategies strategies to explore
 * @param opts bounds
 * @param profiles profiles (default all)
 * @returns one result per (strategy, profile)
 */
export function checkAll(
  strategies: readonly Strategy[],
  opts: CheckOptions = {},
  profiles: readonly CheckProfile[] = CHECK_PROFILES,
): CheckResult[] {
  const out: CheckResult[] = [];
  for (const s of strategies) for (const p of profiles) out.push(check(s, p, opts));
  return out;
}
