import assert from "node:assert/strict";
import { FormatError } from "../lib/abi/mod.ts";
import { errorLine } from "./_common.ts";

const root = new URL("../", import.meta.url);
const COMMON = new URL("./_common.ts", import.meta.url).href;

interface Run {
  code: number;
  stderr: string[];
}

async function deno(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root.pathname,
    env: { NO_COLOR: "1", ...env },
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr).split("\n").filter((l) => l !== "");
  return { code: out.code, stderr };
}

for (const command of ["script", "report"]) {
  Deno.test(`cli/${command}.ts -i <a directory>: one stderr line naming it, exit 1`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await deno(["run", "-A", `cli/${command}.ts`, "-i", dir]);
      assert.equal(r.code, 1, r.stderr.join("\n"));
      assert.equal(r.stderr.length, 1, r.stderr.join("\n"));
      assert.equal(r.stderr[0], `callring ${command}: error: ${dir}: Is a directory`);
    } finally {
      await Deno.remove(dir);
    }
  });
}

Deno.test("errorLine: data and OS errors print their first line, anything else as an internal error", () => {
  assert.equal(
    errorLine(new FormatError("Bad record", 16, "x.data")),
    "x.data: Bad record at offset 16 (0x10)",
  );
  assert.equal(errorLine(new RangeError("too big\nmore")), "too big");
  assert.equal(
    errorLine(new Deno.errors.IsADirectory("Is a directory (os error 21)")),
    "Is a directory (os error 21)",
  );
  assert.equal(errorLine(new Deno.errors.NotFound("No such file\nx")), "No such file");
  assert.equal(
    errorLine(new TypeError("x is undefined\n    at f")),
    "internal error: TypeError: x is undefined",
  );
  assert.equal(errorLine("a string"), "internal error: a string");
  assert.equal(errorLine(Object.create(null)), "internal error: object");
});

Deno.test("failOn: an internal error is one line with exit 1; CALLRING_DEBUG=1 re-throws it", async () => {
  const code = `import { failOn } from "${COMMON}";\n` +
    `failOn("t", new TypeError("boom\\nsecond line"));`;
  const plain = await deno(["eval", code]);
  assert.equal(plain.code, 1);
  assert.deepEqual(plain.stderr, ["callring t: error: internal error: TypeError: boom"]);
  const debug = await deno(["eval", code], { CALLRING_DEBUG: "1" });
  assert.equal(debug.code, 1);
  assert.ok(debug.stderr.length > 1, debug.stderr.join("\n"));
  assert.match(debug.stderr.join("\n"), /TypeError: boom/);
});
