import assert from "node:assert/strict";
import {
  deleteSpan,
  duplicateSpan,
  FuzzRng,
  mutateBytes,
  MUTATION_KINDS,
  readUint,
  writeUint,
} from "./fuzz.ts";
import { FuzzCampaign, FuzzPool } from "./fuzz_runner.ts";

Deno.test("writeUint: 2^64 - 1 (a double equal to 2^64) writes all ones, not zeros", () => {
  const b = new Uint8Array(8);
  writeUint(b, 0, 8, 2 ** 64 - 1);
  assert.deepEqual([...b], [255, 255, 255, 255, 255, 255, 255, 255]);
  writeUint(b, 0, 8, 2 ** 63);
  assert.deepEqual([...b], [0, 0, 0, 0, 0, 0, 0, 128]);
  writeUint(b, 0, 8, 2 ** 53 - 1);
  assert.equal(readUint(b, 0, 8), 2 ** 53 - 1);
  writeUint(b, 0, 4, 0xdeadbeef);
  assert.equal(readUint(b, 0, 4), 0xdeadbeef);
});

Deno.test("deleteSpan / duplicateSpan clip a span that is stale after an earlier mutation", () => {
  const b = Uint8Array.of(1, 2, 3, 4);
  assert.deepEqual([...deleteSpan(b, 2, 10)], [1, 2]);
  assert.deepEqual([...deleteSpan(b, 9, 12)], [1, 2, 3, 4]);
  assert.deepEqual([...duplicateSpan(b, 2, 10)], [1, 2, 3, 4, 3, 4]);
  // Stacked mutations with the layout of the original input never throw.
  const input = new Uint8Array(256).map((_, i) => i);
  const layout = {
    fields: [{ offset: 250, width: 8 as const, name: "f" }],
    spans: [{ start: 200, end: 256, name: "s" }],
  };
  for (let seed = 0; seed < 200; seed++) {
    const rng = new FuzzRng(seed);
    let bytes: Uint8Array = input;
    for (let k = 0; k < 4; k++) bytes = mutateBytes(bytes, rng, layout).bytes;
  }
});

Deno.test("mutateBytes is reproducible from its seed and covers every kind", () => {
  const input = new Uint8Array(512).fill(7);
  const layout = { fields: [{ offset: 8, width: 4 as const, name: "n" }], spans: [] };
  const seen = new Set<string>();
  for (let seed = 0; seed < 300; seed++) {
    const a = mutateBytes(input, new FuzzRng(seed), layout);
    const b = mutateBytes(input, new FuzzRng(seed), layout);
    assert.deepEqual(a, b);
    seen.add(a.mutation.kind);
  }
  for (const k of MUTATION_KINDS) {
    if (k !== "duplicate" && k !== "delete") assert.ok(seen.has(k), k); // no spans: run00 instead
  }
});

Deno.test("FuzzPool classifies ok, warnings, format errors, bugs, hangs and memory", async () => {
  const pool = new FuzzPool(
    new URL("./_fuzz_selftest_targets.ts", import.meta.url),
    { timeoutMs: 1000, memoryBytes: 64 * 2 ** 20 },
    2,
  );
  const bytes = new Uint8Array(64);
  const expect: [string, string, RegExp][] = [
    ["ok", "ok", /^$/],
    ["warn", "warned", /w1/],
    ["format-error", "format-error", /Bad thing at offset 12/],
    ["no-offset", "bug", /without an offset/],
    ["range-error", "bug", /RangeError/],
    ["spin", "hang", /no answer within 1000 ms/],
    ["never", "hang", /no answer/],
    ["records", "memory", /records decoded/],
    ["allocate", "memory", /memory grew/],
    ["absurd-length", "memory", /RangeError/],
  ];
  try {
    const results = await Promise.all(expect.map(([target]) => pool.run({ target, bytes })));
    results.forEach((r, i) => {
      const [target, cls, message] = expect[i]!;
      assert.equal(r.outcome.class, cls, `${target}: ${r.outcome.message}`);
      assert.match(r.outcome.message, message, target);
    });
    // The pool keeps working after a hang (the worker was replaced).
    assert.equal((await pool.run({ target: "ok", bytes })).outcome.class, "ok");
    const c = new FuzzCampaign("selftest", [
      { id: "x #1", signature: /^$/, reproducer: "-", note: "-" },
    ]);
    c.add("x #1", "x #1 [..]", results[5]!);
    c.add("x #2", "x #2 [..]", results[6]!);
    assert.equal(c.knownHits.length, 1);
    assert.equal(c.tally.failed, 1);
    assert.match(c.failureText(), /x #2/);
  } finally {
    await pool.close();
  }
});
