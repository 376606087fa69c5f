import assert from "node:assert/strict";
import { FormatError } from "../abi/mod.ts";
import { detectInputFormat, InputFormatError } from "./format.ts";
import { openInput } from "./open.ts";

const fixture = (name: string) => new URL(`../../testdata/${name}`, import.meta.url).pathname;

Deno.test("detectInputFormat: perf.data, capture, perf script text, and nothing else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await detectInputFormat(fixture("fp.data")), "perf.data");
    assert.equal(await detectInputFormat(fixture("pipe.data")), "perf.data");
    assert.equal(await detectInputFormat("-"), "perf.data");
    // told by content, whatever the name
    const text = `${dir}/looks-like.data`;
    await Deno.copyFile(fixture("fp.script.txt"), text);
    assert.equal(await detectInputFormat(text), "perf-script-text");
    const capture = `${dir}/c.data`;
    await Deno.writeFile(capture, new TextEncoder().encode("CALLRING" + "\0".repeat(56)));
    assert.equal(await detectInputFormat(capture), "capture");
    const junk = `${dir}/junk`;
    await Deno.writeTextFile(junk, "hello world, not a recording\n");
    await assert.rejects(() => detectInputFormat(junk), InputFormatError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openInput refuses perf script text with one line: it has samples, not records", async () => {
  await assert.rejects(
    () => openInput(fixture("fp.script.txt")),
    (e: unknown) => e instanceof FormatError && /perf script text/.test(e.message),
  );
});
