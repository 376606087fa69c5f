import { deepStrictEqual as eq } from "node:assert/strict";
import { diffFolded, diffProfiles, diffTable } from "./diff.ts";
import { ProfileBuilder } from "./profile.ts";
import { sampleOf } from "./_test_samples.ts";

function build(aWeight: number, bWeight: number) {
  const b = new ProfileBuilder();
  b.add(sampleOf(["main", "a"], aWeight));
  b.add(sampleOf(["main", "b"], bWeight));
  return b.build();
}

Deno.test("diff of a profile with itself is zero", () => {
  const p = build(3, 1);
  for (const r of diffProfiles(p, p)) {
    eq(r.selfDelta, 0);
    eq(r.totalDelta, 0);
  }
});

Deno.test("diffProfiles normalises to shares", () => {
  const rows = diffProfiles(build(3, 1), build(10, 10)); // a: 75% -> 50%, b: 25% -> 50%
  const a = rows.find((r) => r.name === "a")!;
  const b = rows.find((r) => r.name === "b")!;
  eq([a.selfDelta, b.selfDelta, a.totalDelta], [-25, 25, -25]);
  eq(rows.find((r) => r.name === "main")!.totalDelta, 0);
  eq(diffTable(rows).split("\n")[2], "      -25.00%     -25.00%  a");
});

Deno.test("diffFolded like difffolded.pl, with -n and -s", () => {
  const f1 = "p;main;a 30\np;main;b 10\n";
  const f2 = "p;main;a 5\np;main;c 15\n";
  eq(diffFolded(f1, f2), "p;main;a 30 5\np;main;b 10 0\np;main;c 0 15\n");
  eq(diffFolded(f1, f2, { normalize: true }), "p;main;a 15 5\np;main;b 5 0\np;main;c 0 15\n");
  eq(diffFolded("p;0x1f 1\n", "p;0xab 2\n", { stripHex: true }), "p;0x... 1 2\n");
});
