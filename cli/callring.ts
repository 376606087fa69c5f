/**
 * `callring`: one command with perf's subcommands.
 *
 *     callring record [options]          simulate + record into ./callring.data
 *     callring report -i FILE [options]  perf report
 *     callring script -i FILE [options]  perf script
 *     callring diff [OLD] [NEW]          perf diff
 *     callring nmi-check [options]       model-check the NMI strategies
 *     callring demo [options]            the main job on built-in defaults
 *
 * Install it from the checkout with
 * `deno install -g -A -n callring --config deno.json cli/callring.ts`; the deno tasks
 * (`deno task report ...`) run the same entry point. Under `deno task` the process
 * starts in the checkout, so the tasks pass the user's directory (`INIT_CWD`) in
 * `CALLRING_CWD` and relative paths are resolved against it.
 *
 * Each subcommand is loaded only when it runs (`script`'s start-up stays small).
 *
 * @module
 */

/** The environment variable the deno tasks set to the user's directory. */
const USER_CWD_ENV = "CALLRING_CWD";

/** Subcommands: name, module, one-line description. */
const COMMANDS: ReadonlyArray<readonly [string, string, string]> = [
  ["record", "./record.ts", "simulate perf sampling through an NMI strategy into a capture"],
  ["report", "./report.ts", "profile a perf.data file or capture, as perf report does"],
  ["script", "./script.ts", "print the samples of a perf.data file, as perf script does"],
  ["diff", "./diff.ts", "compare two recordings, as perf diff does"],
  ["nmi-check", "./nmi_check.ts", "model-check every NMI arrival point of each strategy"],
  ["demo", "./demo.ts", "simulate, record, check and report on built-in defaults"],
];

const HELP = `usage: callring <command> [options]

${COMMANDS.map(([n, , d]) => `  ${n.padEnd(10)} ${d}`).join("\n")}

callring <command> --help prints the options of a command.
Exit status: 0 ok, 1 bad input data, 2 usage error.`;

/**
 * Run `callring` with the given arguments.
 *
 * @param args The command-line arguments (`report -i perf.data ...`).
 */
export async function main(args: string[]): Promise<void> {
  const dir = Deno.env.get(USER_CWD_ENV);
  if (dir) {
    Deno.chdir(dir);
    Deno.env.delete(USER_CWD_ENV);
  }
  const [name, ...rest] = args;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic === undefined) {
      console.log(HELP);
      return;
    }
    return await main([topic, "--help"]);
  }
  if (name === "--version") {
    const { VERSION_TEXT } = await import("./_common.ts");
    console.log(VERSION_TEXT);
    return;
  }
  const command = COMMANDS.find(([n]) => n === name || n.replace("-", "_") === name);
  if (command === undefined) {
    const { ExitCode, fail } = await import("./_common.ts");
    fail(
      "",
      `unknown command "${name}" (known: ${COMMANDS.map(([n]) => n).join(", ")})`,
      ExitCode.USAGE,
    );
    return;
  }
  const module: { main(args: string[]): void | Promise<void> } = await import(command[1]);
  await module.main(rest);
}

if (import.meta.main) await main(Deno.args);
