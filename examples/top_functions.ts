/**
 * Print the ten functions with the most self time in a recording and write a
 * flamegraph of it.
 *
 *     deno run -A examples/top_functions.ts [perf.data|callring.data] [out.svg]
 *
 * @module
 */

import { dsoShortName, flamegraphSvg, formatPercent, functionTotals, loadProfile } from "../mod.ts";

const input = Deno.args[0] ?? "perf.data";
const output = Deno.args[1] ?? "flamegraph.svg";

const { profile, warnings } = await loadProfile(input);
for (const w of warnings) console.error(`warning: ${w}`);

const top = functionTotals(profile)
  .filter((f) => f.self > 0)
  .sort((a, b) => b.self - a.self)
  .slice(0, 10);

console.log(`${profile.samples} samples, ${profile.truncatedSamples} with truncated stacks`);
console.log("    Self  Function");
for (const f of top) {
  const share = formatPercent((100 * f.self) / profile.totalWeight).padStart(6);
  const name = profile.frames.names[f.frame];
  console.log(`  ${share}%  ${name}  (${dsoShortName(profile.frames.dsos[f.frame])})`);
}

await Deno.writeTextFile(output, flamegraphSvg(profile, { title: input }));
console.log(`wrote ${output}`);
