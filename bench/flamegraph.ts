/**
 * The HTML flame graph at 10k and 1M samples: time to build the page, its
 * size, and (with Debian's chromium) the time headless chromium takes from
 * navigation to the first drawn frame (`body[data-ready]`) and the page's own
 * script time (`data-load-ms`). Numbers are printed, not asserted.
 *
 *     deno run -A bench/flamegraph.ts [--quick]
 *
 * Profiles are synthetic and seeded: up to 50 000 distinct stacks 5-30 deep
 * over 400 functions whose next frame depends on the previous one (prefixes
 * are shared, as in real programs), a few kernel leaves, drawn with a skewed
 * frequency; four threads, samples 1 ms apart.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { type FrameRef, type Profile, ProfileBuilder } from "../lib/analyze/profile.ts";
import { flamegraphHtml } from "../lib/output/flamegraph_html.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { quick: { type: "boolean", default: false } },
});

const CHROMIUM = "/usr/bin/chromium";

/** Distinct stacks of the synthetic profiles. */
const POOL = 50_000;

function synthetic(samples: number, functions = 400): Profile {
  const b = new ProfileBuilder({ timeline: true });
  const user: FrameRef[] = [];
  const kernel: FrameRef[] = [];
  for (let f = 0; f < functions; f++) {
    user.push({ sym: `fn${f}`, dso: "/usr/bin/prog", kernel: false });
    kernel.push({ sym: `k_fn${f}`, dso: "[kernel.kallsyms]", kernel: true });
  }
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  // A pool of distinct stacks (leaf-first), drawn with a skewed frequency as real hot paths are.
  const pool: FrameRef[][] = [];
  for (let k = 0; k < Math.min(samples, POOL); k++) {
    const root: FrameRef[] = [];
    let f = 0;
    const depth = 5 + Math.floor(rnd() * 26);
    for (let d = 0; d < depth; d++) {
      f = (f * 7 + Math.floor(rnd() ** 3 * 12)) % functions;
      root.push(d > depth - 4 && rnd() < 0.3 ? kernel[f] : user[f]);
    }
    pool.push(root.reverse());
  }
  for (let i = 0; i < samples; i++) {
    const frames = pool[Math.floor(rnd() ** 2 * pool.length)];
    b.add({
      frames,
      weight: 1e6,
      pid: 10,
      tid: 10 + (i % 4),
      cpu: 0,
      comm: "prog",
      time: 1e9 + i * 1e6,
      context: "task",
      truncated: false,
    });
  }
  return b.build();
}

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const sizes = values.quick ? [10_000, 100_000] : [10_000, 1_000_000];
const dir = await Deno.makeTempDir({ prefix: "callring-flame-bench-" });
const rows: string[][] = [["samples", "nodes", "build s", "HTML bytes", "open ms", "script ms"]];
try {
  const browser = haveChromium()
    ? await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu"],
    })
    : undefined;
  try {
    for (const n of sizes) {
      const profile = synthetic(n);
      const t0 = performance.now();
      const html = flamegraphHtml(profile, { title: `${n} samples`, eventName: "cpu-clock" });
      const build = (performance.now() - t0) / 1000;
      const file = `${dir}/flame-${n}.html`;
      await Deno.writeTextFile(file, html);
      const nodes = /"nodes":\[([^\]]*)\]/.exec(html)![1].split(",").length / 5;
      let open = "-";
      let script = "-";
      if (browser) {
        const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
        const start = performance.now();
        await page.goto(`file://${file}`);
        await page.waitForSelector("body[data-ready='1']", { timeout: 60000 });
        open = (performance.now() - start).toFixed(0);
        script = (await page.getAttribute("body", "data-load-ms")) ?? "-";
        await page.close();
      }
      rows.push([
        String(n),
        String(nodes),
        build.toFixed(2),
        String(html.length),
        open,
        script,
      ]);
    }
  } finally {
    await browser?.close();
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((v, c) => v.padStart(widths[c])).join("  "));
if (!haveChromium()) console.log("(no /usr/bin/chromium: open times not measured)");
console.log(
  "limits (issue 17): <= 1 MB and interactive within 1 s at 10k samples; 1M opens within 3 s",
);
