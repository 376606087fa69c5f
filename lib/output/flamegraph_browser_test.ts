/**
 * Headless-browser checks of the generated flame graph HTML and of a speedscope
 * JSON loaded into speedscope's own app. Needs /usr/bin/chromium (else skipped:
 * `apt-get install -y chromium` to enable).
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { ProfileBuilder } from "../analyze/profile.ts";
import { sampleOf } from "../analyze/_test_samples.ts";
import { flamegraphHtml } from "./flamegraph_html.ts";
import { speedscopeFile } from "./speedscope.ts";
import { speedscopeReleaseDir } from "./_speedscope_package_test_helper.ts";
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

function profile(timeline = true) {
  const b = new ProfileBuilder({ timeline });
  let t = 1e9;
  const add = (stack: string[], n: number, extra = {}) => {
    for (let i = 0; i < n; i++) b.add(sampleOf(stack, 1e6, { time: t += 1e6, ...extra }));
  };
  add(["main", "run", "work_a", "leaf"], 30);
  add(["main", "run", "work_b", "leaf"], 10);
  add(["main", "k_entry", "k_sys"], 5);
  add(["main"], 1, { truncated: true });
  add(["worker", "run", "work_a", "leaf"], 4, { tid: 11 });
  return b.build();
}

/** A profile of `samples` samples over `functions` names, stacks 5-30 deep (seeded). */
function bigProfile(samples: number, functions = 400) {
  const b = new ProfileBuilder({ timeline: true });
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const stack: string[] = [];
  for (let i = 0; i < samples; i++) {
    // Walk a skewed random tree: frame k+1 depends on frame k, so stacks share prefixes.
    stack.length = 0;
    let f = 0;
    const depth = 5 + Math.floor(rnd() * 26);
    for (let d = 0; d < depth; d++) {
      f = (f * 7 + Math.floor(rnd() ** 3 * 12)) % functions;
      stack.push(d > depth - 4 && rnd() < 0.3 ? `k_fn${f}` : `fn${f}`);
    }
    b.add(sampleOf(stack, 1e6, { time: 1e9 + i * 1e6, tid: 10 + (i % 4) }));
  }
  return b.build();
}

async function withBrowser(fn: (ctx: import("playwright-core").BrowserContext) => Promise<void>) {
  const userDataDir = await Deno.makeTempDir({ prefix: "callring-chromium-" });
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
  });
  try {
    await fn(ctx);
  } finally {
    await ctx.close();
    await Deno.remove(userDataDir, { recursive: true });
  }
}

type Page = import("playwright-core").Page;

/** Colour of the canvas pixel at client coordinates (device pixels scaled). */
function pixel(page: Page, at: { x: number; y: number }): Promise<number[]> {
  // Page code as text: this file is type-checked without the DOM library.
  return page.evaluate(`(() => {
    const c = document.getElementById("canvas"), r = c.getBoundingClientRect(), k = c.width / r.width;
    const d = c.getContext("2d").getImageData(Math.floor((${at.x} - r.left) * k),
      Math.floor((${at.y} - r.top) * k), 1, 1).data;
    return [d[0], d[1], d[2]];
  })()`);
}

async function find(page: Page, name: string): Promise<{ x: number; y: number } | null> {
  return await page.evaluate(
    (n) =>
      (window as unknown as { callringFlame: { find(n: string): unknown } }).callringFlame.find(n),
    name,
  ) as { x: number; y: number } | null;
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']", { timeout: 10000 });
}

/**
 * Writes `html` to a temporary file, opens it in a 1000x500 page and runs `fn`; no page
 * errors may happen meanwhile.
 */
async function withFlamePage(
  html: string,
  fn: (page: Page, ctx: import("playwright-core").BrowserContext, url: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "callring-flame-" });
  const url = `file://${dir}/flame.html`;
  await Deno.writeTextFile(`${dir}/flame.html`, html);
  try {
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.setViewportSize({ width: 1000, height: 500 });
      await open(page, url);
      await fn(page, ctx, url);
      eq(errors, []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "flamegraph HTML: canvas frames, zoom, search, views, hash, tooltip in headless chromium",
  ignore: !haveChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const html = flamegraphHtml(profile(), { title: "browser test", eventName: "cpu-clock" });
    await withFlamePage(html, async (page, ctx, url) => {
      // structure: all; prog; [truncated]; main; main; run; k_entry; k_sys; work_a; leaf;
      // work_b; leaf; worker; run; work_a; leaf
      eq(await page.getAttribute("body", "data-view"), "flame");
      eq(await page.getAttribute("body", "data-drawn"), "16");

      // a screenshot and the canvas pixels: frames are drawn, in their kind's colours
      const png = await page.locator("#canvas").screenshot();
      ok(png.length > 2000, `screenshot of ${png.length} bytes`);
      const leaf = (await find(page, "leaf"))!;
      const [r, g, b] = await pixel(page, { x: leaf.x, y: leaf.y + 5 });
      ok(r > 200 && b < 60 && g > 70, `user frame warm: ${[r, g, b]}`);
      const [kr, kg, kb] = await pixel(page, {
        ...(await find(page, "k_sys"))!,
        y: (await find(page, "k_sys"))!.y + 5,
      });
      ok(kg > kr + 60 && kb > kr + 60, `kernel frame aqua: ${[kr, kg, kb]}`);
      const all = (await find(page, "all"))!;
      ok(all.y > leaf.y, "flame: root at the bottom");

      // search (regexp, case toggle) and the matched share
      await page.fill("#search", "^WORK_");
      eq(await page.textContent("#matched"), "Matched: 88.0%"); // 44 of 50 samples
      const workA = (await find(page, "work_a"))!;
      eq(await pixel(page, { x: workA.x, y: workA.y + 5 }), [230, 0, 230]);
      await page.check("#case");
      eq(await page.textContent("#matched"), "Matched: 0.0%");
      await page.fill("#search", "^work_");
      eq(await page.textContent("#matched"), "Matched: 88.0%");

      // click to zoom: work_b fills the width, work_a is not drawn; the hash keeps it
      const before = (await find(page, "work_b"))!;
      await page.mouse.click(before.x, before.y);
      eq(await page.getAttribute("body", "data-zoomed"), "work_b");
      eq(await find(page, "work_a"), null);
      const zoomed = (await find(page, "work_b"))!;
      ok(Math.abs(zoomed.x - 500) < 30, `zoomed frame centred: ${zoomed.x}`);
      const hash = await page.evaluate(() => location.hash);
      ok(/zoom=\d+/.test(hash) && hash.includes("q=%5Ework_") && hash.includes("case=1"), hash);
      // a new page on the same URL shows the same picture
      const again = await ctx.newPage();
      await again.setViewportSize({ width: 1000, height: 500 });
      await open(again, `${url}${hash}`);
      eq(await again.getAttribute("body", "data-zoomed"), "work_b");
      eq(await again.inputValue("#search"), "^work_");
      eq(await again.isChecked("#case"), true);
      await again.close();
      await page.click("#reset");
      ok((await find(page, "work_a")) !== null);

      // tooltip in the event's unit: ms for cpu-clock
      const leaf2 = (await find(page, "leaf"))!;
      await page.mouse.move(leaf2.x, leaf2.y);
      const tip = (await page.textContent("#tooltip")) ?? "";
      ok(/leaf {2}\[user\]\n\d+\.\d+ ms \(\d+\.\d+%\)/.test(tip), tip);

      // icicle: root at the top
      await page.click("#view-icicle");
      eq(await page.getAttribute("body", "data-view"), "icicle");
      ok((await find(page, "all"))!.y < (await find(page, "leaf"))!.y);

      // sandwich of leaf (key s over it): callers above, no unrelated frames
      await page.click("#view-flame");
      const l3 = (await find(page, "leaf"))!;
      await page.mouse.move(l3.x, l3.y);
      await page.keyboard.press("s");
      eq(await page.getAttribute("body", "data-view"), "sandwich");
      eq(await page.getAttribute("body", "data-zoomed"), "leaf");
      for (const n of ["work_a", "work_b", "run", "main", "worker", "prog"]) {
        ok((await find(page, n)) !== null, n);
      }
      eq(await find(page, "k_sys"), null);
      // callers: leaf; work_a; run; main, worker; prog, prog; work_b; run; main; prog. callees: leaf
      eq(await page.getAttribute("body", "data-drawn"), "12");

      // flame chart of a thread, in time order: work_a (30 ms) left of work_b (10 ms)
      await page.click("#view-chart");
      eq(await page.getAttribute("body", "data-view"), "chart");
      eq(await page.locator("#thread option").count(), 2);
      const a = (await find(page, "work_a"))!;
      const bb = (await find(page, "work_b"))!;
      ok(a.x < bb.x, "time order");
      await page.mouse.move(bb.x, bb.y);
      ok(/from \d+\.\d+ ms to \d+\.\d+ ms/.test((await page.textContent("#tooltip")) ?? ""));
      await page.selectOption("#thread", "1");
      eq(await find(page, "work_b"), null);
      ok((await find(page, "worker")) !== null);
    });
  },
});

Deno.test({
  name: "flamegraph HTML: differential graph colours grown frames red, shrunk ones blue",
  ignore: !haveChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const before = new ProfileBuilder();
    for (let i = 0; i < 10; i++) before.add(sampleOf(["main", "grow"], 1));
    for (let i = 0; i < 30; i++) before.add(sampleOf(["main", "shrink"], 1));
    const after = new ProfileBuilder();
    for (let i = 0; i < 30; i++) after.add(sampleOf(["main", "grow"], 1));
    for (let i = 0; i < 10; i++) after.add(sampleOf(["main", "shrink"], 1));
    await withFlamePage(
      flamegraphHtml(after.build(), { baseline: before.build() }),
      async (page) => {
        const g = (await find(page, "grow"))!;
        const s = (await find(page, "shrink"))!;
        const [gr, gg, gb] = await pixel(page, { x: g.x, y: g.y + 5 });
        const [sr, sg, sb] = await pixel(page, { x: s.x, y: s.y + 5 });
        ok(gr === 255 && gg < 150 && gb < 150, `grown: ${[gr, gg, gb]}`);
        ok(sb === 255 && sr < 150 && sg < 150, `shrunk: ${[sr, sg, sb]}`);
        await page.mouse.move(g.x, g.y);
        ok(((await page.textContent("#tooltip")) ?? "").includes("change +50.00%"));
      },
    );
  },
});

Deno.test({
  name: "flamegraph HTML of 10k samples is at most 1 MB, keeps its frames and opens",
  ignore: !haveChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const big = bigProfile(10_000);
    const html = flamegraphHtml(big, { title: "10k", eventName: "cpu-clock" });
    ok(html.length <= 1 << 20, `${html.length} bytes`);
    const data = JSON.parse(/id="flame-data">(.*?)<\/script>/s.exec(html)![1]);
    eq(data.total, big.totalWeight);
    eq(data.nodes[3], big.totalWeight); // the `all` root spans everything
    eq(data.threads.length, 4);
    await withFlamePage(html, async (page) => {
      ok(Number(await page.getAttribute("body", "data-drawn")) > 100);
    });
  },
});

Deno.test({
  name: "speedscope app loads our speedscope JSON without errors",
  ignore: !haveChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const release = await speedscopeReleaseDir();
    if (!release) {
      await t.step({ name: "npm:speedscope@1.25.0 unavailable", ignore: true, fn: () => {} });
      return;
    }
    const json = JSON.stringify(speedscopeFile(profile(false), { name: "callring-browser-test" }));
    const ac = new AbortController();
    const types: Record<string, string> = {
      html: "text/html",
      js: "text/javascript",
      css: "text/css",
      json: "application/json",
      wasm: "application/wasm",
      png: "image/png",
      woff2: "font/woff2",
    };
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      async (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/profile.json") {
          return new Response(json, { headers: { "content-type": "application/json" } });
        }
        const name = path === "/" ? "index.html" : path.slice(1);
        if (name.includes("..")) return new Response("no", { status: 400 });
        try {
          const body = await Deno.readFile(`${release}/${name}`);
          return new Response(body, {
            headers: {
              "content-type": types[name.split(".").pop()!] ?? "application/octet-stream",
            },
          });
        } catch {
          return new Response("not found", { status: 404 });
        }
      },
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    try {
      await withBrowser(async (ctx) => {
        const page = await ctx.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(String(e)));
        page.on("console", (m) => {
          if (m.type() === "error") errors.push(m.text());
        });
        await page.goto(`${base}/#profileURL=${encodeURIComponent(base + "/profile.json")}`);
        await page.waitForFunction("document.title.includes('callring-browser-test')", null, {
          timeout: 20000,
        });
        await page.waitForSelector("canvas", { timeout: 20000 });
        const body = (await page.textContent("body")) ?? "";
        ok(!/Something went wrong|Unrecognized format/i.test(body), body.slice(0, 200));
        ok((await page.screenshot()).length > 1000);
        eq(errors, []);
      });
    } finally {
      ac.abort();
      await server.finished;
    }
  },
});
