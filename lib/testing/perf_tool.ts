/**
 * Test helpers around the real `perf` binary, the oracle of our tests: find
 * out whether it runs and can record here, run it, record a fresh workload.
 *
 * @module
 */

const fixtureDir = new URL("../../testdata/", import.meta.url);

/**
 * Path of a file in `testdata/`.
 *
 * @param name File name.
 * @returns The path.
 */
export function fixture(name: string): string {
  return new URL(name, fixtureDir).pathname;
}

/** The shared corpus of foreign perf.data files, beside the checkout (read-only). */
const corpusDir = new URL("../../../shared/corpus/files/", import.meta.url);

/**
 * A file of the shared foreign-perf.data corpus, for tests that skip without it.
 * @param name File name in the corpus (`quipper__perf.data.branch-4.14`).
 * @returns Its path, or undefined when the corpus (or the file) is absent.
 */
export function corpusFile(name: string): string | undefined {
  const path = new URL(name, corpusDir).pathname;
  try {
    return Deno.statSync(path).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fixtures' own symbols (`testdata/symbols/`, see testdata/README.md): a
 * perf `--symfs` root holding the recorded user DSOs and their debug files,
 * and a `HOME` whose `.debug/` build-id cache holds the recording kernel's
 * kallsyms. Given these, neither perf nor callring reads this machine's
 * kernel symbols, `/usr/lib` or `~/.debug` for a fixture.
 */
export const FIXTURE_SYMBOLS: string = fixture("symbols");

/**
 * The recording kernel's kallsyms in the fixtures' build-id cache.
 *
 * @returns Its path.
 */
export function fixtureKallsyms(): string {
  const dir = `${FIXTURE_SYMBOLS}/.debug/[kernel.kallsyms]`;
  const id = [...Deno.readDirSync(dir)].map((e) => e.name).sort()[0];
  return `${dir}/${id}/kallsyms`;
}

/**
 * callring options that symbolize a fixture from its own symbols only.
 *
 * @returns `kallsyms` and `symbols` for loadProfile / runPerfScript.
 */
export function fixtureSymbolOptions(): {
  kallsyms: string;
  symbols: { symfs: string; buildIdDir: string };
} {
  return {
    kallsyms: fixtureKallsyms(),
    symbols: { symfs: FIXTURE_SYMBOLS, buildIdDir: `${FIXTURE_SYMBOLS}/.debug` },
  };
}

/**
 * Environment of a subprocess (perf or a callring CLI) run on a fixture:
 * `HOME` is the fixtures' build-id cache root, and Deno keeps its own cache
 * directory (which it would otherwise put under `HOME`).
 *
 * @returns The variables.
 */
export function fixtureEnv(): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "";
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const denoDir = Deno.env.get("DENO_DIR") ?? (xdg ? `${xdg}/deno` : `${home}/.cache/deno`);
  return { HOME: FIXTURE_SYMBOLS, DENO_DIR: denoDir };
}

/**
 * perf arguments with the same effect (after the subcommand): `--symfs`,
 * `--kallsyms`.
 *
 * @returns The arguments.
 */
export function perfFixtureArgs(): string[] {
  return ["--symfs", FIXTURE_SYMBOLS, "--kallsyms", fixtureKallsyms()];
}

/**
 * Run perf on a fixture with only the fixtures' symbols: `HOME` is
 * `testdata/symbols` and {@linkcode perfFixtureArgs} follow the subcommand.
 *
 * @param args Subcommand and its arguments (e.g. `["script", "-i", path]`).
 * @returns Status and output.
 */
export function runPerfFixture(args: string[]): Promise<PerfRun> {
  return runPerf([args[0], ...perfFixtureArgs(), ...args.slice(1)], undefined, fixtureEnv());
}

/** Result of running perf. */
export interface PerfRun {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Run perf with arguments (pager off, C locale).
 *
 * @param args The arguments.
 * @param cwd Working directory.
 * @param env More environment variables (e.g. `HOME`).
 * @returns Status and output.
 */
export async function runPerf(
  args: string[],
  cwd?: string,
  env: Record<string, string> = {},
): Promise<PerfRun> {
  const out = await new Deno.Command("perf", {
    args,
    cwd,
    env: { PERF_PAGER: "cat", PAGER: "cat", LC_ALL: "C", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

let perfRuns: boolean | undefined;
let perfRecords: boolean | undefined;

/**
 * Whether `perf` is installed and runs.
 *
 * @returns True when `perf --version` succeeds.
 */
export async function perfAvailable(): Promise<boolean> {
  if (perfRuns === undefined) {
    try {
      perfRuns = (await runPerf(["--version"])).code === 0;
    } catch {
      perfRuns = false;
    }
  }
  return perfRuns;
}

/**
 * Whether `perf record -e cpu-clock` works here (permissions, kernel support).
 *
 * @returns True when a trivial recording succeeds.
 */
export async function perfCanRecord(): Promise<boolean> {
  if (perfRecords === undefined) {
    perfRecords = false;
    if (await perfAvailable()) {
      const dir = await Deno.makeTempDir();
      try {
        const r = await runPerf([
          "record",
          "-q",
          "-e",
          "cpu-clock",
          "-o",
          `${dir}/t.data`,
          "--",
          "true",
        ]);
        perfRecords = r.code === 0;
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  }
  return perfRecords;
}

/**
 * Build the `burn` workload from `testdata/src/burn.c` into a directory (or
 * copy the committed binary when gcc is missing).
 *
 * @param dir Target directory.
 * @returns Path of the executable.
 */
export async function buildBurn(dir: string): Promise<string> {
  const out = `${dir}/burn`;
  try {
    const r = await new Deno.Command("gcc", {
      args: ["-O1", "-g", "-fno-omit-frame-pointer", "-pthread", "-o", out, fixture("src/burn.c")],
      stderr: "piped",
    }).output();
    if (r.code === 0) return out;
  } catch {
    // no gcc: fall through
  }
  await Deno.copyFile(fixture("bin/burn"), out);
  await Deno.chmod(out, 0o755);
  return out;
}

/**
 * Record a fresh workload with real perf.
 *
 * @param dir Directory for the binary and the output.
 * @param extra Extra `perf record` arguments (e.g. `-g`, `--sample-cpu`).
 * @param durationMs How long burn runs.
 * @param pipe Record in pipe mode (`-o -`) into the file.
 * @returns Path of the perf.data file.
 */
export async function recordBurn(
  dir: string,
  extra: string[],
  durationMs = 100,
  pipe = false,
): Promise<string> {
  const burn = await buildBurn(dir);
  const data = `${dir}/live-${crypto.randomUUID().slice(0, 8)}.data`;
  const args = [
    "record",
    "-q",
    "-e",
    "cpu-clock",
    "-o",
    pipe ? "-" : data,
    ...extra,
    "--",
    burn,
    String(durationMs),
  ];
  const out = await new Deno.Command("perf", {
    args,
    cwd: dir,
    env: { PERF_PAGER: "cat", LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(
      `perf record failed (${out.code}): ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  if (pipe) await Deno.writeFile(data, out.stdout);
  return data;
}

let gccRuns: boolean | undefined;

/**
 * Whether `gcc` runs here (live tests compile their workloads).
 *
 * @returns True when `gcc --version` succeeds.
 */
export function haveGcc(): boolean {
  if (gccRuns === undefined) {
    try {
      gccRuns = new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      gccRuns = false;
    }
  }
  return gccRuns;
}

/** C source of `mix`, an always_inline xorshift loop (the inlined function of the workloads). */
export const MIX_FUNCTION =
  `static inline __attribute__((always_inline)) unsigned long mix(unsigned long x, int n) {
  for (int i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}
`;

/**
 * A C workload with an always_inline leaf (`mix`) inside a noinline function
 * (`outer`) that also calls clock_gettime (a libc alias, into the vdso). It
 * exits 0: perf record exits with its workload's status.
 */
export const INLINE_PROGRAM = `#include <stdlib.h>
#include <time.h>
static volatile unsigned long sink;
${MIX_FUNCTION}__attribute__((noinline)) static unsigned long outer(unsigned long x) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  x = mix(x + (unsigned long)ts.tv_nsec, 20000);
  sink = x;
  return x + 1;
}
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000;
  unsigned long x = 88172645463325252ul;
  for (long i = 0; i < n; i++) x = outer(x);
  sink = x;
  return 0;
}
`;

/**
 * Compile a C program with gcc and record it with `perf record -e cpu-clock
 * --call-graph dwarf`.
 *
 * @param dir Directory for the source, binary and recording.
 * @param name Base name of the files.
 * @param source The C source.
 * @param gccArgs Compiler flags (e.g. `["-O2", "-g"]`).
 * @param args Arguments of the program.
 * @returns The perf.data path.
 * @throws {Error} When gcc or perf record fails (with their stderr).
 */
export async function recordDwarfProgram(
  dir: string,
  name: string,
  source: string,
  gccArgs: string[],
  args: string[],
): Promise<string> {
  await Deno.writeTextFile(`${dir}/${name}.c`, source);
  const cc = await new Deno.Command("gcc", {
    args: [...gccArgs, "-o", `${dir}/${name}`, `${dir}/${name}.c`],
    stderr: "piped",
  }).output();
  if (!cc.success) throw new Error(`gcc failed: ${new TextDecoder().decode(cc.stderr)}`);
  const data = `${dir}/${name}.data`;
  const rec = await runPerf(
    ["record", "-q", "-e", "cpu-clock", "--call-graph", "dwarf", "-o", data, "--"]
      .concat([`${dir}/${name}`, ...args]),
    dir,
  );
  if (rec.code !== 0) throw new Error(`perf record failed (${rec.code}): ${rec.stderr}`);
  return data;
}

/**
 * The part of a report text that callring and perf must print alike: without
 * callring's `# callring:` notes, perf's `# (Tip: ...)` trailer (and the `#`
 * line before it) and trailing empty lines.
 *
 * @param text A `report --stdio` text of either tool.
 * @returns The text to compare.
 */
export function perfReportPart(text: string): string {
  let lines = text.split("\n").filter((l) => !l.startsWith("# callring:"));
  const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
  if (tip > 0) lines = lines.slice(0, tip - 1);
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
}

/**
 * A copy of a perf >= 6.3 file (perf_event_attr of 136 bytes) that perf 6.1
 * reads: the corpus's `downgrade_attr.py` cuts the attrs to 128 bytes and
 * keeps every record byte.
 *
 * @param file A corpus file (the script sits beside `files/`).
 * @param copy Where the copy goes.
 * @returns `copy`.
 * @throws {Error} When the script fails.
 */
export async function downgradedCopy(file: string, copy: string): Promise<string> {
  const script = new URL("../downgrade_attr.py", `file://${corpusDir.pathname}`).pathname;
  const dg = await new Deno.Command("python3", {
    args: [script, file, copy],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!dg.success) throw new Error(`downgrade ${file}: ${new TextDecoder().decode(dg.stderr)}`);
  return copy;
}
