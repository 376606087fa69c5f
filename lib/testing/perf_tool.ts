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
 * @returns Status and output.
 */
export async function runPerf(args: string[], cwd?: string): Promise<PerfRun> {
  const out = await new Deno.Command("perf", {
    args,
    cwd,
    env: { PERF_PAGER: "cat", PAGER: "cat", LC_ALL: "C" },
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

/**
 * The fixtures' MMAP records name the burn binary at its recording path
 * (`/tmp/callring-fixture/burn`, see testdata/README.md): put the committed
 * copy there when it is missing, so symbols resolve as they did for perf.
 */
export async function ensureFixtureBinary(): Promise<void> {
  const target = "/tmp/callring-fixture/burn";
  try {
    await Deno.stat(target);
  } catch {
    await Deno.mkdir("/tmp/callring-fixture", { recursive: true });
    await Deno.copyFile(fixture("bin/burn"), target);
  }
}
