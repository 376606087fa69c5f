import assert from "node:assert/strict";
import { fixture, fixtureEnv } from "../lib/testing/perf_tool.ts";

Deno.test("examples/top_functions.ts prints the top self functions and writes an SVG", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./top_functions.ts", import.meta.url).pathname,
        fixture("sys.data"),
        `${dir}/f.svg`,
      ],
      // The recorded burn by its build-id from the fixtures' cache, not this machine's files.
      env: fixtureEnv(),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const rows = text.split("\n").filter((l) => /^ +\d+\.\d\d%/.test(l));
    assert.ok(rows.length > 0 && rows.length <= 10);
    assert.match(rows[0], /84\.54% {2}leaf/); // sys.report-self.txt: 84.54% [.] leaf
    assert.match(await Deno.readTextFile(`${dir}/f.svg`), /<svg/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
