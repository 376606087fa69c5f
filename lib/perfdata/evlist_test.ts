import assert from "node:assert/strict";
import { AttrFlag, defaultAttr } from "../abi/mod.ts";
import { defaultEventName } from "./evlist.ts";
import { runPerf } from "../testing/perf_tool.ts";

const bit = (b: number) => 2 ** b;

Deno.test("defaultEventName() adds perf's modifiers (evsel__add_modifiers) to unnamed events", () => {
  const name = (type: number, config: bigint, flags: number) =>
    defaultEventName(defaultAttr({ type, config, flags }));
  const precise2 = 2 * bit(AttrFlag.preciseIp);
  const exGuest = bit(AttrFlag.excludeGuest);
  // perf record -e cycles:pp (exclude_guest by default): perf prints cycles:ppH.
  assert.equal(name(0, 0n, precise2 + exGuest), "cycles:ppH");
  // plain cycles with the default exclude_guest: no modifiers.
  assert.equal(name(0, 0n, exGuest), "cycles");
  // cpu-clock:u = exclude_kernel + exclude_hv: "u", then H against the default.
  assert.equal(
    name(1, 0n, bit(AttrFlag.excludeKernel) + bit(AttrFlag.excludeHv) + exGuest),
    "cpu-clock:uH",
  );
  // instructions:k
  assert.equal(name(0, 1n, bit(AttrFlag.excludeUser) + bit(AttrFlag.excludeHv)), "instructions:k");
  assert.equal(name(3, 0x10000n, exGuest), "L1-dcache-load-misses");
  // nothing excluded at all: perf prints :HG.
  assert.equal(name(1, 0n, 0), "cpu-clock:HG");
  assert.equal(name(3, 0x0n, exGuest), "L1-dcache-loads");
  assert.equal(name(4, 0x1c4n, precise2 + exGuest), "raw 0x1c4:ppH");
});

const OLD_PIPE = new URL(
  "../../../shared/corpus/files/quipper__perf.data.piped.lost_samples-4.4",
  import.meta.url,
).pathname;
let haveOldPipe = false;
try {
  haveOldPipe = Deno.statSync(OLD_PIPE).isFile;
} catch {
  // corpus not beside this checkout
}

Deno.test({
  name: "an old pipe file without event names prints perf's names with modifiers (live perf)",
  ignore: !haveOldPipe,
}, async () => {
  const { openPerfData } = await import("./reader.ts");
  const file = await openPerfData(OLD_PIPE);
  const names = new Set<string>();
  for await (const { event } of file.records()) if (event) names.add(event.name);
  file.close();
  const perf = await runPerf(["script", "-i", OLD_PIPE, "-F", "event"]);
  if (perf.code !== 0) return; // perf missing here
  const want = new Set(
    perf.stdout.split("\n").map((l) => l.trim().replace(/:$/, "")).filter(Boolean),
  );
  assert.deepEqual([...names].sort(), [...want].sort());
  assert.ok(names.has("cycles:ppH"));
});
