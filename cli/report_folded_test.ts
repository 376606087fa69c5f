// report --folded against the real FlameGraph scripts: testdata/X.folded.txt were made by
// Brendan Gregg's stackcollapse-perf.pl from the committed `perf script` output (regen.sh).
import assert from "node:assert/strict";
import { fixture } from "../lib/testing/perf_tool.ts";

const REPORT = new URL("./report.ts", import.meta.url).pathname;

// The fixtures' MMAP records name the binary at its recording path (testdata/README.md).
try {
  await Deno.stat("/tmp/callring-fixture/burn");
} catch {
  await Deno.mkdir("/tmp/callring-fixture", { recursive: true });
  await Deno.copyFile(fixture("bin/burn"), "/tmp/callring-fixture/burn");
}

for (const name of ["fp", "sys", "nocpu", "pipe", "dwarf"]) {
  Deno.test(`report --folded equals stackcollapse-perf.pl on ${name}.data`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", REPORT, "-i", fixture(`${name}.data`), "--folded", "-q"],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const expected = await Deno.readTextFile(fixture(`${name}.folded.txt`));
    assert.ok(expected.length > 0);
    assert.equal(new TextDecoder().decode(out.stdout), expected);
  });
}
