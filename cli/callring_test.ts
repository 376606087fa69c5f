import assert from "node:assert/strict";
import { SIM_STRATEGIES } from "../lib/sim/strategies/mod.ts";
import { VERSION } from "./_common.ts";

const repo = new URL("../", import.meta.url).pathname;
const entry = new URL("./callring.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a user's shell gives (no INIT_CWD / CALLRING_CWD of this test run). */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}

async function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: userEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

function callring(args: string[], cwd: string): Promise<Run> {
  return run(Deno.execPath(), ["run", "-A", entry, ...args], cwd);
}

async function withTempDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "callring-cli-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const SUBCOMMANDS = ["record", "report", "script", "diff", "nmi-check", "demo"];

Deno.test("callring --version and every subcommand's --version: one line, exit 0", async () => {
  for (const args of [["--version"], ...SUBCOMMANDS.map((c) => [c, "--version"])]) {
    const r = await callring(args, repo);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, `callring version ${VERSION}\n`, args.join(" "));
  }
});

Deno.test("every subcommand: an unknown option is one `callring <command>: error:` line, exit 2", async () => {
  for (const c of SUBCOMMANDS) {
    const r = await callring([c, "--no-such-option"], repo);
    assert.equal(r.code, 2, `${c}: ${r.stderr}`);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, `${c}: ${r.stderr}`);
    assert.match(lines[0], new RegExp(`^callring ${c}: error: .*--no-such-option`));
    assert.equal(r.stdout, "");
  }
  const r = await callring(["bogus"], repo);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^callring: error: unknown command "bogus" \(known: record, report/);
});

Deno.test("callring with no command or --help lists the subcommands; help CMD is CMD --help", async () => {
  const top = await callring([], repo);
  assert.equal(top.code, 0);
  for (const c of SUBCOMMANDS) assert.match(top.stdout, new RegExp(`^  ${c} `, "m"));
  const help = await callring(["help", "report"], repo);
  const direct = await callring(["report", "--help"], repo);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, direct.stdout);
  assert.match(help.stdout, /--percent-limit/);
});

Deno.test("script -F bogus: one error line naming the request, exit 2 (no usage text)", async () => {
  const r = await callring(["script", "-F", "bogus", "-i", "no-such.data"], repo);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "callring script: error: Invalid field requested. (-F bogus)\n");
});

Deno.test("record: --help and the unknown-strategy error name the same strategies", async () => {
  const names = SIM_STRATEGIES.map((s) => s.name).join(", ");
  const help = await callring(["record", "--help"], repo);
  assert.ok(help.stdout.replace(/\s+/g, " ").includes(`NMI strategy: ${names}`), help.stdout);
  const bad = await callring(["record", "--strategy", "nope"], repo);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `callring record: error: unknown strategy "nope" (known: ${names})\n`);
});

Deno.test("deno task record/report from another directory: paths are the user's, the old recording is kept as .old", async () => {
  await withTempDir(async (dir) => {
    const task = (args: string[]) =>
      run(Deno.execPath(), ["task", "-q", "--config", `${repo}deno.json`, ...args], dir);
    const first = await task(["record", "-q", "--duration", "2", "--seed", "1"]);
    assert.equal(first.code, 0, first.stderr);
    const firstBytes = await Deno.readFile(`${dir}/callring.data`);
    const second = await task(["record", "-q", "--duration", "2", "--seed", "2"]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/callring.data.old`), firstBytes);
    assert.notDeepEqual(await Deno.readFile(`${dir}/callring.data`), firstBytes);
    const report = await task(["report", "-i", "callring.data", "--sort", "sym"]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /^# Samples: 80 {2}of event/m);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["callring.data", "callring.data.old"],
    );
  });
});

Deno.test("record -o DIR is refused naming it; report -i DIR names it", async () => {
  await withTempDir(async (dir) => {
    const rec = await callring(["record", "-q", "--duration", "1", "-o", dir], dir);
    assert.equal(rec.code, 1);
    assert.equal(rec.stderr, `callring record: error: ${dir}: Is a directory\n`);
    const rep = await callring(["report", "-i", dir], dir);
    assert.equal(rep.stderr, `callring report: error: ${dir}: Is a directory\n`);
  });
});

Deno.test("report --speedscope/--flamegraph never overwrite another kind of file without -f", async () => {
  await withTempDir(async (dir) => {
    const rec = await callring(["record", "-q", "--duration", "2"], dir);
    assert.equal(rec.code, 0, rec.stderr);
    const data = await Deno.readFile(`${dir}/callring.data`);
    await Deno.copyFile(`${dir}/callring.data`, `${dir}/copy.data`);
    const refused = await callring(
      ["report", "-q", "-i", "callring.data", "--speedscope", "copy.data"],
      dir,
    );
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      "callring report: error: copy.data exists and is not a JSON file: not overwritten " +
        "(use -f to overwrite it)\n",
    );
    assert.deepEqual(await Deno.readFile(`${dir}/copy.data`), data);
    await Deno.writeTextFile(`${dir}/old.svg`, "not an svg");
    const svg = await callring(
      ["report", "-q", "-i", "callring.data", "--flamegraph", "old.svg"],
      dir,
    );
    assert.equal(svg.code, 1);
    assert.match(svg.stderr, /old\.svg exists and is not an SVG file/);
    // A file of the same kind is replaced; -f replaces anything.
    const again = await callring(
      ["report", "-q", "-i", "callring.data", "--speedscope", "p.json"],
      dir,
    );
    assert.equal(again.code, 0, again.stderr);
    const twice = await callring(
      ["report", "-q", "-i", "callring.data", "--speedscope", "p.json"],
      dir,
    );
    assert.equal(twice.code, 0, twice.stderr);
    const forced = await callring(
      ["report", "-q", "-f", "-i", "callring.data", "--speedscope", "copy.data"],
      dir,
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(
      JSON.parse(await Deno.readTextFile(`${dir}/copy.data`)).$schema !== undefined,
      true,
    );
  });
});

Deno.test("demo writes nothing into the directory it runs in", async () => {
  await withTempDir(async (dir) => {
    const r = await callring(["demo", "--lines", "0"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    const where = /^wrote (\S+)\/flamegraph\.html/m.exec(r.stdout);
    assert.ok(where, r.stdout);
    await Deno.remove(where[1], { recursive: true });
  });
});

Deno.test("Ctrl-C during record's progress bar shows the cursor again, exit 130", async () => {
  const ok = await run("script", ["--version"], repo).then((r) => r.code === 0, () => false);
  if (!ok) {
    console.log("skipped: util-linux `script` (a pseudo-terminal) is not installed");
    return;
  }
  await withTempDir(async (dir) => {
    // `script` gives the command a terminal, so the bar is shown (it hides the cursor).
    const sh = `${JSON.stringify(Deno.execPath())} run -A ${entry} record --duration 1e6 & ` +
      `sleep 3; kill -INT $!; wait $!; echo "rc=$?"`;
    const r = await run("script", ["-qfec", sh, "/dev/null"], dir);
    assert.ok(r.stdout.includes("\x1b[?25l"), "the bar hid the cursor");
    const tail = r.stdout.slice(r.stdout.lastIndexOf("\x1b[?25l"));
    assert.ok(tail.includes("\x1b[?25h"), JSON.stringify(tail.slice(-200)));
    assert.match(r.stdout, /rc=130/);
  });
});

Deno.test("the README's install line installs a working `callring` command", async () => {
  const readme = await Deno.readTextFile(`${repo}README.md`);
  const line = /^deno install -g -A -n callring (.*)$/m.exec(readme);
  assert.ok(line, "README has a `deno install -g -A -n callring` line");
  await withTempDir(async (root) => {
    const args = line[1].split(/\s+/).filter((a) => a !== "" && !a.startsWith("#"));
    const install = await run(
      Deno.execPath(),
      ["install", "-g", "-A", "-n", "callring", "--root", root, ...args],
      repo,
    );
    assert.equal(install.code, 0, install.stderr);
    const r = await run(`${root}/bin/callring`, ["record", "-q", "--duration", "1"], root);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Deno.statSync(`${root}/callring.data`).isFile);
  });
});

Deno.test("report: filters that keep no sample say so on stderr", async () => {
  await withTempDir(async (dir) => {
    const rec = await callring(["record", "-q", "--duration", "2"], dir);
    assert.equal(rec.code, 0, rec.stderr);
    const r = await callring(["report", "-i", "callring.data", "--time", "0.5,1.5"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# Samples: 0 {2}of event/m);
    assert.match(
      r.stderr,
      /^callring report: warning: --time 0\.5,1\.5: (none of the 80 samples|no sample) of callring\.data matched$/m,
    );
  });
});
