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

function profile() {
  const b = new ProfileBuilder();
  for (let i = 0; i < 30; i++) b.add(sampleOf(["main", "run", "work_a", "leaf"], 1000));
  for (let i = 0; i < 10; i++) b.add(sampleOf(["main", "run", "work_b", "leaf"], 1000));
  for (let i = 0; i < 5; i++) b.add(sampleOf(["main", "k_entry", "k_sys"], 1000));
  b.add(sampleOf(["main"], 1000, { truncated: true }));
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

Deno.test({
  name: "flamegraph HTML renders, searches and zooms in headless chromium",
  ignore: !haveChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "callring-flame-" });
    const file = `${dir}/flame.html`;
    await Deno.writeTextFile(file, flamegraphHtml(profile(), { title: "browser test" }));
    try {
      await withBrowser(async (ctx) => {
        const page = await ctx.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(String(e)));
        await page.setViewportSize({ width: 1000, height: 400 });
        await page.goto(`file://${file}`);
        const png = await page.screenshot();
        ok(png.length > 1000);
        const count = await page.locator("div.frame").count();
        eq(count, 11); // prog; main(trunc), [truncated]; main; run; work_a; leaf; work_b; leaf; k_entry; k_sys
        eq(await page.locator('div.frame[data-name="k_sys"]').getAttribute("data-kind"), "kernel");
        eq(await page.locator('div.frame[data-kind="truncated"]').count(), 1);

        await page.fill("#search", "^work_");
        eq(await page.locator("div.frame.match").count(), 2);
        eq(await page.textContent("#matched"), "Matched: 87.0%"); // 40 of 46 samples

        const before = await page.locator('div.frame[data-name="work_b"]').boundingBox();
        await page.locator('div.frame[data-name="work_b"]').click();
        eq(await page.getAttribute("body", "data-zoomed"), "work_b");
        const after = await page.locator('div.frame[data-name="work_b"]').boundingBox();
        ok(before && after && after.width > before.width * 3, "zoomed frame spans the chart");
        eq(await page.locator('div.frame[data-name="work_a"]').isVisible(), false);
        await page.click("#reset");
        eq(await page.locator('div.frame[data-name="work_a"]').isVisible(), true);

        await page.locator('div.frame[data-name="leaf"]').first().hover();
        ok(((await page.textContent("#tooltip")) ?? "").includes("samples"));
        eq(errors, []);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
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
    const json = JSON.stringify(speedscopeFile(profile(), { name: "callring-browser-test" }));
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
