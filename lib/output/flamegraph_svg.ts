/**
 * Self-contained flame graph SVG in the spirit of FlameGraph's flamegraph.pl:
 * title, root at the bottom, frames as `<g class="frame" data-name=...>` with a
 * `<title>` tooltip ("name (N samples, P%)"), an embedded script for
 * click-to-zoom, "Reset Zoom", "Search" (regex; highlights matches and shows the
 * matched percentage) and Ctrl-F. No external resources.
 *
 * @module
 */

import type { Profile } from "../analyze/profile.ts";
import { type FlameKind, flameLayout } from "./flame_layout.ts";
import { escapeXml, formatPercent } from "./format.ts";

/** Options of {@linkcode flamegraphSvg}. */
export interface FlamegraphSvgOptions {
  /** Title (default "Flame Graph"). */
  title?: string;
  /** Image width in pixels (default 1200). */
  width?: number;
  /** Frame height (default 16). */
  frameHeight?: number;
  /** Weight by period (default) or samples. */
  weight?: "period" | "samples";
  /** Unit word for tooltips (default "samples" when counting samples, else "period"). */
  countName?: string;
  /** Minimum frame width in pixels to draw (default 0.1, like flamegraph.pl --minwidth). */
  minWidth?: number;
}

/**
 * Deterministic warm colour for a frame, by kind (flamegraph.pl-like palette).
 * @param name Frame name (hashed for variation).
 * @param kind Frame kind.
 * @returns CSS colour.
 */
export function frameColor(name: string, kind: FlameKind): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  const v = (h % 1000) / 1000;
  switch (kind) {
    case "kernel": // aqua, as in the HTML page: apart from the warm user frames at a glance
      return `rgb(${Math.round(50 + 60 * v)},${Math.round(165 + 55 * v)},${
        Math.round(165 + 55 * v)
      })`;
    case "marker":
      return `rgb(${Math.round(150 + 40 * v)},${Math.round(110 + 30 * v)},${
        Math.round(210 + 40 * v)
      })`;
    case "truncated":
      return "rgb(160,160,160)";
    case "process":
      return `rgb(${Math.round(90 + 40 * v)},${Math.round(170 + 50 * v)},${
        Math.round(90 + 40 * v)
      })`;
    default:
      return `rgb(${Math.round(205 + 50 * v)},${Math.round(80 + 150 * v)},${Math.round(40 * v)})`;
  }
}

const SCRIPT = `
var svg = document.documentElement, frames = [], total = 0, zoomed = null, matcher = null;
function num(g, k) { return parseFloat(g.getAttribute("data-" + k)); }
function init() {
  frames = Array.prototype.slice.call(document.querySelectorAll("g.frame"));
  total = parseFloat(svg.getAttribute("data-total"));
  frames.forEach(function (g) { g.addEventListener("click", function () { zoom(g); }); });
  document.getElementById("unzoom").addEventListener("click", function () { zoom(null); });
  document.getElementById("search").addEventListener("click", function () { searchPrompt(); });
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "f") { e.preventDefault(); searchPrompt(); }
    if (e.key === "Escape") { search(null); }
  });
  layout();
}
function layout() {
  var x0 = zoomed ? num(zoomed, "x") : 0, w0 = zoomed ? num(zoomed, "w") : total, d0 = zoomed ? num(zoomed, "depth") : -1;
  var W = parseFloat(svg.getAttribute("data-plotwidth")), pad = 10;
  frames.forEach(function (g) {
    var x = num(g, "x"), w = num(g, "w"), d = num(g, "depth");
    var inside = x >= x0 && x + w <= x0 + w0 + 1e-9, ancestor = d < d0 && x <= x0 && x + w >= x0 + w0 - 1e-9;
    var r = g.querySelector("rect"), t = g.querySelector("text");
    if (!zoomed || inside) {
      var px = pad + (x - x0) / w0 * W, pw = w / w0 * W;
      r.setAttribute("x", px); r.setAttribute("width", Math.max(pw - 0.5, 0));
      t.setAttribute("x", px + 3); g.style.display = "";
      fit(t, g.getAttribute("data-name"), pw);
      g.classList.toggle("parent", false);
    } else if (ancestor) {
      r.setAttribute("x", pad); r.setAttribute("width", W);
      t.setAttribute("x", pad + 3); g.style.display = ""; g.classList.toggle("parent", true);
      fit(t, g.getAttribute("data-name"), W);
    } else { g.style.display = "none"; }
  });
}
function fit(t, name, pw) {
  var chars = Math.floor((pw - 6) / 7);
  t.textContent = chars < 3 ? "" : name.length <= chars ? name : name.slice(0, chars - 2) + "..";
}
function zoom(g) { zoomed = g; layout(); document.getElementById("unzoom").style.opacity = g ? "1" : "0"; if (matcher) search(matcher); }
function searchPrompt() {
  var term = prompt("Enter a search term (regexp allowed, eg: ^ext4_)", "");
  if (term) { try { search(new RegExp(term)); } catch (e) { search(new RegExp(term.replace(/[.*+?^$()|[\\]\\\\{}]/g, "\\\\$&"))); } }
}
function search(re) {
  matcher = re;
  var matched = [], byDepth = frames.slice().sort(function (a, b) { return num(a, "depth") - num(b, "depth"); });
  frames.forEach(function (g) { g.classList.remove("match"); });
  var covered = [];
  if (re) byDepth.forEach(function (g) {
    if (!re.test(g.getAttribute("data-name"))) return;
    g.classList.add("match");
    var x = num(g, "x"), w = num(g, "w");
    if (!covered.some(function (c) { return x >= c[0] && x + w <= c[1] + 1e-9; })) covered.push([x, x + w]);
  });
  var sum = covered.reduce(function (s, c) { return s + c[1] - c[0]; }, 0);
  var m = document.getElementById("matched");
  m.textContent = re ? "Matched: " + (100 * sum / total).toFixed(1) + "%" : "";
  document.getElementById("search").textContent = re ? "Reset Search" : "Search";
  if (re) document.getElementById("search").onclick = function (e) { e.stopImmediatePropagation(); search(null); document.getElementById("search").onclick = null; };
}
window.addEventListener("load", init);
`;

/** Label that fits `pixels` at ~7px per character (same rule as the embedded script). */
function fitLabel(name: string, pixels: number): string {
  const chars = Math.floor((pixels - 6) / 7);
  if (chars < 3) return "";
  return name.length <= chars ? name : name.slice(0, chars - 2) + "..";
}

/**
 * Renders a flame graph SVG.
 * @param profile The profile.
 * @param options Title, sizes, weighting.
 * @returns SVG text.
 */
export function flamegraphSvg(profile: Profile, options: FlamegraphSvgOptions = {}): string {
  const layout = flameLayout(profile, { weight: options.weight });
  const width = options.width ?? 1200;
  const fh = options.frameHeight ?? 16;
  const plot = width - 20;
  const top = 40;
  const height = top + (layout.levels + 1) * fh + 40;
  const unit = options.countName ?? (options.weight === "samples" ? "samples" : "period");
  const minWidth = options.minWidth ?? 0.1;
  const total = layout.total || 1;
  const out: string[] = [];
  out.push(`<?xml version="1.0" standalone="no"?>`);
  out.push(
    `<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `xmlns="http://www.w3.org/2000/svg" data-total="${total}" data-plotwidth="${plot}">`,
  );
  out.push(`<style>
text { font-family: Verdana, sans-serif; font-size: 12px; fill: rgb(0,0,0); }
g.frame:hover rect { stroke: black; stroke-width: 0.5; cursor: pointer; }
g.frame.match rect { fill: rgb(230,0,230) !important; }
g.frame.parent rect { opacity: 0.6; }
#title { font-size: 17px; text-anchor: middle; }
#unzoom, #search, #matched { cursor: pointer; }
</style>`);
  out.push(`<script type="text/ecmascript"><![CDATA[${SCRIPT}]]></script>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="rgb(248,248,248)"/>`);
  out.push(
    `<text id="title" x="${width / 2}" y="24">${escapeXml(options.title ?? "Flame Graph")}</text>`,
  );
  out.push(`<text id="unzoom" x="10" y="24" style="opacity:0">Reset Zoom</text>`);
  out.push(`<text id="search" x="${width - 110}" y="24">Search</text>`);
  out.push(`<text id="matched" x="${width - 110}" y="${height - 12}"></text>`);
  if (profile.truncatedSamples > 0) {
    out.push(
      `<text id="truncated" x="10" y="${
        height - 12
      }">${profile.truncatedSamples} truncated stacks</text>`,
    );
  }
  for (const r of layout.rects) {
    const pw = (r.width / total) * plot;
    if (pw < minWidth) continue;
    const x = 10 + (r.x / total) * plot;
    const y = top + (layout.levels - r.depth) * fh;
    const pct = formatPercent((100 * r.width) / total);
    const name = escapeXml(r.name);
    out.push(
      `<g class="frame" data-name="${name}" data-kind="${r.kind}" data-x="${r.x}" data-w="${r.width}" ` +
        `data-depth="${r.depth}"><title>${name} (${r.width} ${unit}, ${pct}%)</title>` +
        `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(pw - 0.5, 0).toFixed(1)}" height="${
          fh - 1
        }" ` +
        `fill="${frameColor(r.name, r.kind)}" rx="2" ry="2"/>` +
        `<text x="${(x + 3).toFixed(1)}" y="${y + fh - 4}">${
          escapeXml(fitLabel(r.name, pw))
        }</text></g>`,
    );
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
