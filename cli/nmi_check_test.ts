import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./nmi_check.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("nmi_check prints verdicts and traces, exit 0", async () => {
  const r = await run("--strategy", "naive-iret", "--profile", "pf");
  assertEquals(r.code, 0);
  assert(r.stdout.includes("naive-iret") && r.stdout.includes("violated"));
  assert(r.stdout.includes("overwritten"));
});

Deno.test("nmi_check: bad arguments exit 2", async () => {
  assertEquals((await run("--depth", "zero")).code, 2);
  assertEquals((await run("--strategy", "nope")).code, 2);
  assertEquals((await run("--bogus")).code, 2);
});

Deno.test("nmi_check --help exits 0", async () => {
  const r = await run("--help");
  assertEquals(r.code, 0);
  assert(r.stdout.includes("--strategy"));
});

Deno.test("nmi_check --profile mixed: verdicts, time, and the hole behind each violation", async () => {
  const r = await run("--strategy", "mainline", "--strategy", "rsp-range", "--profile", "mixed");
  assertEquals(r.code, 0);
  const rows = r.stdout.split("\n").filter((l) => /^(mainline|rsp-range)\s+mixed\s/.test(l));
  assertEquals(rows.length, 2);
  assert(!rows[0].includes("violated"), rows[0]); // mainline holds everything
  assert(rows[1].includes("violated"), rows[1]);
  assert(/2 explorations, \d+ states, \d+ ms/.test(r.stdout));
  assert(r.stdout.includes("[rsp-ist]") && r.stdout.includes("[mce-entry] not in this table"));
  assert(!r.stdout.includes("UNEXPECTED"));
});

Deno.test("nmi_check --mce-anywhere: mainline's MCE-in-entry hole is reported and explained", async () => {
  const r = await run(
    "--strategy",
    "mainline",
    "--profile",
    "pf+mce",
    "--mce-anywhere",
    "--depth",
    "2",
  );
  assertEquals(r.code, 0);
  assert(/mainline\s+pf\+mce\s+violated/.test(r.stdout));
  assert(r.stdout.includes("[mce-entry] known hole, 2012 mainline included"));
  assert(r.stdout.includes("mainline: ist-frame-live (pf+mce)"));
  assert(!r.stdout.includes("UNEXPECTED"));
});
