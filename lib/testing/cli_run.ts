/**
 * Run one of callring's command-line entry points in a subprocess, the way a
 * user does (`deno run -A cli/NAME.ts ...`), with colour off.
 *
 * @module
 */

/** Result of {@linkcode runCli}. */
export interface CliRun {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Path of a command's entry point.
 *
 * @param name `record`, `report`, `script`, `demo`, `nmi_check`.
 * @returns The path of `cli/NAME.ts`.
 */
export function cliPath(name: string): string {
  return new URL(`../../cli/${name}.ts`, import.meta.url).pathname;
}

/**
 * Run a command and collect its output.
 *
 * @param name The command (`report` runs `cli/report.ts`).
 * @param args Its arguments.
 * @param cwd Working directory (default: this process's).
 * @param env More environment variables (e.g. `HOME`).
 * @returns Status and output.
 */
export async function runCli(
  name: string,
  args: string[],
  cwd?: string,
  env: Record<string, string> = {},
): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cliPath(name), ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}
