/**
 * nmi_check: explore every NMI/fault interleaving for each NMI strategy and print the verdict
 * table, the time it took, the known hole behind each violation, and the shortest
 * counter-example traces.
 *
 *   deno run -A cli/nmi_check.ts [--strategy NAME] [--depth N] [--faults N] [--profile P]
 *
 * Exit code 0 when the exploration completed (violations are results), 2 for bad arguments.
 * @module
 */
import { parseArgs } from "node:util";
import { check, CHECK_PROFILES, type CheckProfile, type CheckResult } from "../lib/sim/check.ts";
import { CHECK_STRATEGIES, getStrategy, UnknownStrategyError } from "../lib/sim/strategies/mod.ts";
import { type Strategy, TASK_CONTEXTS, type TaskContextName } from "../lib/sim/cpu.ts";
import { formatNotes, formatTraces, formatVerdictTable } from "../lib/sim/verdicts.ts";
import { ExitCode, fail as failWith, VERSION_TEXT } from "./_common.ts";

const HELP =
  `usage: callring nmi-check [--strategy NAME]... [--depth N] [--faults N] [--profile P]...
                          [--context C]... [--no-traces]

Model-check NMI return strategies (seed thread "x86: NMI-safe trap handlers").
  --strategy NAME  strategy to check (repeatable; default all): ${
    CHECK_STRATEGIES.map((s) => s.name).join(", ")
  }
  --depth N        maximum NMI arrivals per schedule (default 3)
  --faults N       maximum #PF/int3/#DB per schedule (default 2)
  --profile P      exception profile (repeatable; default all): ${CHECK_PROFILES.join(", ")}
                   (mixed: #PF, int3, #DB and MCE in one schedule)
  --context C      what the interrupted task runs (repeatable): ${TASK_CONTEXTS.join(", ")}
                   (kernel: entered from user space, SS null; syscall: entered by SYSCALL,
                   SS = __KERNEL_DS; user: CPL 3, user-controlled %rsp and DF; vm86: x86-32
                   EFLAGS.VM, explored only for the designs that exist on x86-32).
                   Default: kernel under every --profile, the other three under pf
  --irqs N         hardware interrupts per schedule (IF set: at the task or in a softirq;
                   NMIs then land in hardirq and softirq activations). Default: 0, plus one
                   kernel exploration under pf with 1
  --mce-anywhere   let MCE hit NMI entry/exit assembly too (the 2012 hole)
  --no-traces      print only the verdict table
  -q, --quiet      no progress on stderr
  -h, --help       this text
  --version        print the version

Progress goes to stderr: one line per exploration (a live state count on a terminal).
Each distinct counter-example is printed once, with the profiles that found it and the
machine state at the failing step.`;

const COMMAND = "nmi-check";

function fail(msg: string): never {
  failWith(COMMAND, msg, ExitCode.USAGE);
}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 8) {
    fail(`--${name} must be an integer in 1..8, got "${v}"`);
  }
  return n;
}

/**
 * Run `callring nmi-check` with the given arguments.
 *
 * @param argv The command-line arguments (without the command name).
 */
export function main(argv: string[]): void {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        strategy: { type: "string", multiple: true },
        depth: { type: "string" },
        faults: { type: "string" },
        profile: { type: "string", multiple: true },
        context: { type: "string", multiple: true },
        irqs: { type: "string" },
        "mce-anywhere": { type: "boolean" },
        "no-traces": { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  const v = args.values;
  if (v.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  if (v.version) {
    console.log(VERSION_TEXT);
    Deno.exit(0);
  }
  let strategies = CHECK_STRATEGIES;
  if (v.strategy) {
    try {
      strategies = v.strategy.map(getStrategy);
    } catch (e) {
      if (e instanceof UnknownStrategyError) fail(e.message);
      throw e;
    }
  }
  const profiles = (v.profile ?? CHECK_PROFILES) as string[];
  for (const p of profiles) {
    if (!(CHECK_PROFILES as readonly string[]).includes(p)) {
      fail(`unknown profile "${p}" (known: ${CHECK_PROFILES.join(", ")})`);
    }
  }
  for (const c of v.context ?? []) {
    if (!(TASK_CONTEXTS as readonly string[]).includes(c)) {
      fail(`unknown context "${c}" (known: ${TASK_CONTEXTS.join(", ")})`);
    }
  }
  // (context, profile) pairs: by default the kernel under every profile, the rest under pf
  let irqs = 0;
  if (v.irqs !== undefined) {
    irqs = Number(v.irqs);
    if (!Number.isInteger(irqs) || irqs < 0 || irqs > 4) {
      fail(`--irqs must be an integer in 0..4, got "${v.irqs}"`);
    }
  }
  const plan: [TaskContextName, CheckProfile, number][] = [];
  const contexts = (v.context ?? TASK_CONTEXTS) as TaskContextName[];
  for (const c of contexts) {
    const ps = v.context || c === "kernel" ? profiles : profiles.includes("pf") ? ["pf"] : [];
    for (const p of ps as CheckProfile[]) plan.push([c, p, irqs]);
  }
  if (!v.context && v.irqs === undefined && profiles.includes("pf")) plan.push(["kernel", "pf", 1]);
  const nmis = positiveInt("depth", v.depth, 3);
  const faults = positiveInt("faults", v.faults, 2);

  const t0 = performance.now();
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  const progress = (text: string) => {
    if (!v.quiet) Deno.stderr.writeSync(enc.encode(text));
  };
  const results: CheckResult[] = [];
  const applies = (s: Strategy, c: TaskContextName) => c !== "vm86" || s.x86_32 === true;
  const total = strategies.reduce((a, s) => a + plan.filter(([c]) => applies(s, c)).length, 0);
  for (const s of strategies) {
    for (const [c, p, n] of plan) {
      if (!applies(s, c)) continue; // vm86 exists only on x86-32
      const where = n ? `${c}+irq` : c;
      const tag = `[${results.length + 1}/${total}] ${s.name} ${p}${
        where === "kernel" ? "" : `@${where}`
      }`;
      const r = check(s, p, {
        nmis,
        faults,
        context: c,
        irqs: n,
        mceAnywhere: v["mce-anywhere"] ?? false,
        onProgress: tty ? (n) => progress(`\r${tag}: ${n} states...`) : undefined,
      });
      results.push(r);
      const bad = r.violations.length ? `${r.violations.length} violated` : "all hold";
      progress(`${tty ? "\r" : ""}${tag}: ${r.states} states, ${r.ms.toFixed(0)} ms, ${bad}\n`);
    }
  }
  console.log(formatVerdictTable(results));
  const states = results.reduce((a, r) => a + r.states, 0);
  console.log(
    `\n${results.length} explorations, ${states} states, ${
      (performance.now() - t0).toFixed(0)
    } ms (depth ${nmis} NMIs, ${faults} faults)`,
  );
  const notes = formatNotes(results);
  if (notes) console.log(`\n${notes}`);
  if (!v["no-traces"]) {
    const traces = formatTraces(results);
    if (traces) console.log(`\nCounter-examples (shortest, BFS):\n${traces}`);
  }
}

if (import.meta.main) main(Deno.args);
