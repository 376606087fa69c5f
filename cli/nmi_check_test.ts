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
