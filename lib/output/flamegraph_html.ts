/**
 * Self-contained interactive flame graph HTML page: zoom on click, "Reset zoom",
 * a search box that highlights matches and shows the matched percentage,
 * tooltips with weight/samples/percent, colours by kind (user, kernel, context
 * marker, truncated, process), light and dark mode. No external resources.
 *
 * DOM hooks for tests: every frame is `<div class="frame" data-name=...
 * data-kind=... data-depth=...>`; `#search` (input), `#matched`, `#reset`,
 * `#tooltip`, `#chart`; `document.body.dataset.zoomed` names the zoomed frame.
 *
 * @module
 */

import type { Profile } from "../analyze/profile.ts";
import { flameLayout } from "./flame_layout.ts";
import { frameColor } from "./flamegraph_svg.ts";
import { escapeXml } from "./format.ts";

/** Options of {@linkcode flamegraphHtml}. */
export interface FlamegraphHtmlOptions {
  /** Page title (default "Flame Graph"). */
  title?: string;
  /** Weight by period (default) or samples. */
  weight?: "period" | "samples";
  /** Word for the weight in tooltips (default "period" / "samples"). */
  countName?: string;
}

const CSS = `
:root { --bg: #f8f8f8; --fg: #111; --panel: #fff; --border: #ccc; --match: rgb(230,0,230); }
@media (prefers-color-scheme: dark) {
  :root { --bg: #1b1b1f; --fg: #e8e8e8; --panel: #26262b; --border: #444; --match: rgb(255,80,255); }
  .frame { filter: brightness(0.85); }
}
body { margin: 0; font: 12px Verdana, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 12px; align-items: center; padding: 8px 10px; }
header h1 { font-size: 16px; margin: 0 auto 0 0; font-weight: normal; }
input#search { background: var(--panel); color: var(--fg); border: 1px solid var(--border); padding: 3px 6px; width: 220px; }
button { background: var(--panel); color: var(--fg); border: 1px solid var(--border); padding: 3px 8px; cursor: pointer; }
#chart { position: relative; margin: 0 10px; }
.frame { position: absolute; height: 15px; box-sizing: border-box; border: 0.5px solid var(--bg); border-radius: 2px;
  overflow: hidden; white-space: nowrap; color: #000; padding-left: 3px; line-height: 15px; cursor: pointer; font-size: 11px; }
.frame.match { background: var(--match) !important; }
.frame.ancestor { opacity: 0.6; }
.frame.kind-truncated { background-image: repeating-linear-gradient(45deg, transparent 0 4px, rgba(0,0,0,.15) 4px 8px); }
#tooltip { position: fixed; pointer-events: none; background: var(--panel); border: 1px solid var(--border);
  padding: 4px 6px; display: none; max-width: 60ch; z-index: 2; }
footer { padding: 6px 10px; min-height: 16px; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; vertical-align: middle; }
`;

const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById("flame-data").textContent);
  var chart = document.getElementById("chart"), tip = document.getElementById("tooltip");
  var rects = data.rects, total = data.total || 1, rowH = 16, els = [], zoomed = -1;
  chart.style.height = (data.levels * rowH) + "px";
  rects.forEach(function (r, i) {
    var d = document.createElement("div");
    d.className = "frame kind-" + r.kind;
    d.dataset.name = r.name; d.dataset.kind = r.kind; d.dataset.depth = r.depth; d.dataset.index = i;
    d.style.background = r.color; d.style.bottom = (r.depth * rowH) + "px";
    d.addEventListener("click", function (e) { e.stopPropagation(); zoom(i); });
    d.addEventListener("mousemove", function (e) {
      var pct = (100 * r.width / total).toFixed(2);
      tip.textContent = r.name + " — " + r.width + " " + data.unit + " (" + r.samples + " samples, " + pct + "%)" +
        (r.self ? ", self " + (100 * r.self / total).toFixed(2) + "%" : "");
      tip.style.display = "block"; tip.style.left = (e.clientX + 12) + "px"; tip.style.top = (e.clientY + 12) + "px";
    });
    d.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    chart.appendChild(d); els.push(d);
  });
  function layout() {
    var z = zoomed >= 0 ? rects[zoomed] : null, x0 = z ? z.x : 0, w0 = z ? z.width : total, W = chart.clientWidth;
    rects.forEach(function (r, i) {
      var d = els[i], inside = r.x >= x0 && r.x + r.width <= x0 + w0 + 1e-9 && (!z || r.depth >= z.depth);
      var anc = z && r.depth < z.depth && r.x <= x0 && r.x + r.width >= x0 + w0 - 1e-9;
      var left, width;
      if (inside) { left = (r.x - x0) / w0 * W; width = r.width / w0 * W; }
      else if (anc) { left = 0; width = W; }
      else { d.style.display = "none"; return; }
      if (width < 0.5) { d.style.display = "none"; return; }
      d.style.display = ""; d.style.left = left + "px"; d.style.width = width + "px";
      d.classList.toggle("ancestor", !!anc);
      d.textContent = width > 30 ? r.name : "";
    });
    document.body.dataset.zoomed = z ? z.name : "";
  }
  function zoom(i) { zoomed = i; layout(); search(); }
  function search() {
    var term = document.getElementById("search").value, re = null;
    if (term) { try { re = new RegExp(term); } catch (e) { re = new RegExp(term.replace(/[.*+?^$()|[\\]\\\\{}]/g, "\\\\$&")); } }
    var covered = [], order = rects.map(function (_, i) { return i; }).sort(function (a, b) { return rects[a].depth - rects[b].depth; });
    order.forEach(function (i) {
      var r = rects[i], hit = !!re && re.test(r.name);
      els[i].classList.toggle("match", hit);
      if (hit && !covered.some(function (c) { return r.x >= c[0] && r.x + r.width <= c[1] + 1e-9; })) covered.push([r.x, r.x + r.width]);
    });
    var sum = covered.reduce(function (s, c) { return s + c[1] - c[0]; }, 0);
    document.getElementById("matched").textContent = re ? "Matched: " + (100 * sum / total).toFixed(1) + "%" : "";
  }
  document.getElementById("search").addEventListener("input", search);
  document.getElementById("reset").addEventListener("click", function () { zoom(-1); });
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "f") { e.preventDefault(); document.getElementById("search").focus(); }
    if (e.key === "Escape") { document.getElementById("search").value = ""; zoom(-1); }
  });
  window.addEventListener("resize", layout);
  layout();
})();
`;

/**
 * Renders the interactive flame graph page.
 * @param profile The profile.
 * @param options Title and weighting.
 * @returns HTML text.
 */
export function flamegraphHtml(profile: Profile, options: FlamegraphHtmlOptions = {}): string {
  const layout = flameLayout(profile, { weight: options.weight });
  const samples = flameLayout(profile, { weight: "samples" });
  const data = {
    total: layout.total,
    levels: layout.levels,
    unit: options.countName ?? (options.weight === "samples" ? "samples" : "period"),
    rects: layout.rects.map((r, i) => ({
      ...r,
      samples: samples.rects[i].width,
      color: frameColor(r.name, r.kind),
    })),
  };
  // "</" cannot appear inside the JSON script element.
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const title = escapeXml(options.title ?? "Flame Graph");
  const trunc = profile.truncatedSamples > 0
    ? ` · ${profile.truncatedSamples} truncated stacks`
    : "";
  const legend = [["user", "rgb(230,150,20)"], ["kernel", "rgb(225,150,10)"], [
    "marker",
    "rgb(170,125,230)",
  ], [
    "truncated",
    "rgb(160,160,160)",
  ]].map(([k]) => `<span style="background:${frameColor(k, k as "user")}"></span>${k}`).join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="color-scheme" content="light dark">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${title}</h1>
<input id="search" type="search" placeholder="Search (regexp)" aria-label="Search">
<span id="matched"></span>
<button id="reset" type="button">Reset zoom</button>
</header>
<div id="chart"></div>
<div id="tooltip" role="tooltip"></div>
<footer><span id="summary">${profile.samples} samples${trunc}</span><span class="legend">${legend}</span></footer>
<script type="application/json" id="flame-data">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
