/**
 * Self-contained interactive flame graph page, drawn on a canvas from compact
 * data ({@linkcode flameData}): a few hundred KB however many samples, drawn
 * in well under a second. No external resources.
 *
 * Views (buttons, or `view=` in the URL hash):
 * - `flame`: the merged tree, root (`all`) at the bottom, FlameGraph's layout;
 * - `icicle`: the same, root at the top;
 * - `sandwich`: callers (above) and callees (below) of one function, merged
 *   over every place it is called from (speedscope's sandwich view);
 * - `chart`: a thread's stacks in time order (a flame chart), from the
 *   sample times, bucketed to the screen width.
 *
 * Differential graphs (`report -i before --diff after --flamegraph x.html`)
 * take widths from the comparison and colour each frame by its change of
 * share: red grew, blue shrank (FlameGraph's difffolded colours).
 *
 * Click zooms (a frame of an ancestor row zooms out); `s` over a frame opens
 * its sandwich; the search box takes a regular expression, with a case toggle,
 * and shows the matched share. Zoom, view, search, function and thread are
 * kept in the URL hash, so a link reopens the same picture. Tooltips give the
 * weight in the event's unit (ms for cpu-clock and task-clock).
 *
 * Frames are coloured by kind: user (warm), kernel (aqua), JIT (green:
 * perf-PID.map / jitted-*.so objects), markers such as `[nmi]` (purple),
 * `[truncated]` (grey); processes light grey. Palettes: `hot` (default),
 * `cold` (user frames blue, kernel orange), `gray`.
 *
 * Test hooks: `document.body.dataset` has `view`, `zoomed` (name of the zoomed
 * frame), `drawn` (frames drawn by the last paint), `ready` and `loadMs`;
 * `window.callringFlame.find(name)` gives the client coordinates of the
 * centre of the first drawn frame with that name (or null).
 *
 * @module
 */

import type { Profile } from "../analyze/profile.ts";
import { flameData, type FlameDataOptions } from "./flamegraph_data.ts";
import { escapeXml } from "./format.ts";

/** Options of {@linkcode flamegraphHtml}. */
export interface FlamegraphHtmlOptions extends FlameDataOptions {
  /** Page title (default "Flame Graph"). */
  title?: string;
  /** Weight by period (default) or samples. */
  weight?: "period" | "samples";
  /** Word for the weight in tooltips when it is a count (default: the event name). */
  countName?: string;
}

const CSS = `
:root { --bg: #f8f8f8; --fg: #111; --panel: #fff; --border: #ccc; }
@media (prefers-color-scheme: dark) { :root { --bg: #1b1b1f; --fg: #e8e8e8; --panel: #26262b; --border: #444; } }
body { margin: 0; font: 12px Verdana, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 8px 10px;
  position: sticky; top: 0; background: var(--bg); z-index: 1; }
header h1 { font-size: 16px; margin: 0 auto 0 0; font-weight: normal; }
input#search { background: var(--panel); color: var(--fg); border: 1px solid var(--border); padding: 3px 6px; width: 200px; }
button, select { background: var(--panel); color: var(--fg); border: 1px solid var(--border); padding: 3px 8px; cursor: pointer; }
button.active { outline: 2px solid #48f; }
#chart { margin: 0 10px; position: relative; }
canvas { display: block; }
#tooltip { position: fixed; pointer-events: none; background: var(--panel); border: 1px solid var(--border);
  padding: 4px 6px; display: none; max-width: 70ch; z-index: 2; white-space: pre-wrap; }
footer { padding: 6px 10px; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; vertical-align: middle; }
`;

// Client code: plain JS, no template literals (this is a TS template string).
const SCRIPT = String.raw`
(function () {
  "use strict";
  var T0 = performance.now();
  var D = JSON.parse(document.getElementById("flame-data").textContent);
  var KINDS = ["root", "process", "user", "kernel", "jit", "marker", "truncated"];
  var ROW = 16, names = D.names;
  var canvas = document.getElementById("canvas"), ctx = canvas.getContext("2d");
  var tip = document.getElementById("tooltip"), chartEl = document.getElementById("chart");
  var searchEl = document.getElementById("search"), caseEl = document.getElementById("case");
  var threadEl = document.getElementById("thread");
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;

  function Tree(n) {
    this.n = n; this.name = new Int32Array(n); this.kind = new Uint8Array(n); this.depth = new Int32Array(n);
    this.w = new Float64Array(n); this.self = new Float64Array(n); this.x = new Float64Array(n);
    this.parent = new Int32Array(n); this.end = new Int32Array(n); this.base = null; this.maxDepth = 0;
  }
  // x, parent, end and maxDepth from preorder (name, kind, depth, w, self).
  Tree.prototype.finish = function () {
    var cursor = [0], open = [], at = [];
    for (var i = 0; i < this.n; i++) {
      var d = this.depth[i];
      while (open.length && this.depth[open[open.length - 1]] >= d) this.end[open.pop()] = i;
      this.x[i] = d === 0 ? 0 : cursor[d];
      cursor[d] = this.x[i] + this.w[i]; cursor[d + 1] = this.x[i];
      at[d] = i; this.parent[i] = d > 0 ? at[d - 1] : -1;
      if (d > this.maxDepth) this.maxDepth = d;
      open.push(i);
    }
    while (open.length) this.end[open.pop()] = this.n;
    return this;
  };
  function mainTree() {
    var a = D.nodes, t = new Tree(a.length / 5);
    for (var i = 0, j = 0; i < t.n; i++, j += 5) {
      t.name[i] = a[j]; t.kind[i] = a[j + 1]; t.depth[i] = a[j + 2]; t.w[i] = a[j + 3]; t.self[i] = a[j + 4];
    }
    if (D.base) t.base = Float64Array.from(D.base);
    return t.finish();
  }
  var main = mainTree();

  // Trees built in the page (sandwich): nested nodes flattened in name order.
  function node(name, kind) { return { name: name, kind: kind, w: 0, self: 0, kids: new Map() }; }
  function kid(p, name, kind) {
    var k = name * 8 + kind, c = p.kids.get(k);
    if (!c) { c = node(name, kind); p.kids.set(k, c); }
    return c;
  }
  function flatten(root) {
    var list = [], todo = [[root, 0]];
    while (todo.length) {
      var top = todo.pop(), nd = top[0];
      list.push([nd, top[1]]);
      var ks = Array.from(nd.kids.values()).sort(function (a, b) {
        return names[a.name] < names[b.name] ? -1 : names[a.name] > names[b.name] ? 1 : 0;
      });
      for (var i = ks.length - 1; i >= 0; i--) todo.push([ks[i], top[1] + 1]);
    }
    var t = new Tree(list.length);
    list.forEach(function (e, i) {
      t.name[i] = e[0].name; t.kind[i] = e[0].kind; t.depth[i] = e[1]; t.w[i] = e[0].w; t.self[i] = e[0].self;
    });
    return t.finish();
  }
  function mergeSubtree(dst, t, i) {
    dst.w += t.w[i]; dst.self += t.self[i];
    for (var c = i + 1; c < t.end[i]; c = t.end[c]) mergeSubtree(kid(dst, t.name[c], t.kind[c]), t, c);
  }
  var sandwichCache = null;
  function sandwich(fn) {
    if (sandwichCache && sandwichCache.fn === fn) return sandwichCache;
    var id = names.indexOf(fn), t = main, callers = null, callees = null, inside = [];
    for (var i = 0; i < t.n; i++) {
      var d = t.depth[i];
      inside.length = d;
      var nested = inside.indexOf(true) >= 0;
      inside[d] = t.name[i] === id;
      if (t.name[i] !== id || nested) continue;
      if (!callees) { callees = node(id, t.kind[i]); callers = node(id, t.kind[i]); }
      mergeSubtree(callees, t, i);
      callers.w += t.w[i]; callers.self += t.self[i];
      var c = callers;
      for (var p = t.parent[i]; p > 0; p = t.parent[p]) { c = kid(c, t.name[p], t.kind[p]); c.w += t.w[i]; }
    }
    sandwichCache = { fn: fn, callers: callers && flatten(callers), callees: callees && flatten(callees) };
    return sandwichCache;
  }

  // Flame chart rectangles of a thread: [b0, b1, depth, node] merged along time.
  var chartCache = [];
  function chartRects(ti) {
    if (chartCache[ti]) return chartCache[ti];
    var th = D.threads[ti], runs = th.runs, out = [], maxD = 0;
    var spans = [];
    for (var r = 0; r < runs.length; r += 2) {
      var b1 = r + 2 < runs.length ? runs[r + 2] : th.buckets;
      if (runs[r + 1] >= 0) spans.push([runs[r], b1, runs[r + 1]]);
    }
    for (var d = 1; ; d++) {
      var any = false, cur = null;
      for (var s = 0; s < spans.length; s++) {
        var n = spans[s][2];
        while (n >= 0 && main.depth[n] > d) n = main.parent[n];
        if (n < 0 || main.depth[n] !== d) { cur = null; continue; }
        any = true;
        if (cur && cur[3] === n && cur[1] === spans[s][0]) cur[1] = spans[s][1];
        else { cur = [spans[s][0], spans[s][1], d, n]; out.push(cur); }
      }
      if (!any) break;
      maxD = d;
    }
    chartCache[ti] = { rects: out, maxDepth: maxD };
    return chartCache[ti];
  }

  // ---- state, kept in the URL hash ----
  var S = { view: "flame", zoom: 0, q: "", cs: false, fn: "", thread: 0, t0: 0, t1: 0 };
  function readHash() {
    var p = new URLSearchParams(location.hash.slice(1));
    S.view = ["flame", "icicle", "sandwich", "chart"].indexOf(p.get("view")) >= 0 ? p.get("view") : "flame";
    if (S.view === "chart" && !D.threads.length) S.view = "flame";
    var z = Number(p.get("zoom") || 0); S.zoom = z >= 0 && z < main.n ? z | 0 : 0;
    S.q = p.get("q") || ""; S.cs = p.get("case") === "1"; S.fn = p.get("fn") || "";
    var th = Number(p.get("thread") || 0); S.thread = th >= 0 && th < D.threads.length ? th | 0 : 0;
    S.t0 = Number(p.get("t0") || 0); S.t1 = Number(p.get("t1") || 0);
    searchEl.value = S.q; caseEl.checked = S.cs;
  }
  function writeHash() {
    var p = new URLSearchParams();
    p.set("view", S.view);
    if (S.zoom) p.set("zoom", String(S.zoom));
    if (S.q) p.set("q", S.q);
    if (S.cs) p.set("case", "1");
    if (S.fn) p.set("fn", S.fn);
    if (S.view === "chart") { p.set("thread", String(S.thread)); if (S.t1 > S.t0) { p.set("t0", String(S.t0)); p.set("t1", String(S.t1)); } }
    history.replaceState(null, "", "#" + p.toString());
  }

  // ---- colours ----
  function hash(s) { var h = 0; for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0; return h; }
  function rgb(r, g, b) { return "rgb(" + Math.round(r) + "," + Math.round(g) + "," + Math.round(b) + ")"; }
  var PALETTES = {
    hot: {
      user: function (v) { return rgb(205 + 50 * v, 80 + 150 * v, 40 * v); },
      kernel: function (v) { return rgb(50 + 60 * v, 165 + 55 * v, 165 + 55 * v); },
    },
    cold: {
      user: function (v) { return rgb(70 + 50 * v, 120 + 60 * v, 200 + 55 * v); },
      kernel: function (v) { return rgb(230 + 25 * v, 140 + 50 * v, 30 + 30 * v); },
    },
    gray: {
      user: function (v) { return rgb(170 + 50 * v, 170 + 50 * v, 170 + 50 * v); },
      kernel: function (v) { return rgb(110 + 40 * v, 110 + 40 * v, 130 + 40 * v); },
    },
  };
  var pal = PALETTES[D.palette] || PALETTES.hot;
  function kindColor(kind, name) {
    var v = (hash(name) % 1000) / 1000;
    switch (KINDS[kind]) {
      case "root": return "rgb(215,215,215)";
      case "process": return rgb(190 + 30 * v, 190 + 30 * v, 200 + 30 * v);
      case "kernel": return pal.kernel(v);
      case "jit": return rgb(50 + 60 * v, 190 + 55 * v, 50 + 60 * v);
      case "marker": return rgb(170 + 40 * v, 125 + 30 * v, 230);
      case "truncated": return "rgb(160,160,160)";
      default: return pal.user(v);
    }
  }
  var maxDelta = 0;
  if (main.base) {
    for (var i = 0; i < main.n; i++) maxDelta = Math.max(maxDelta, Math.abs(delta(main, i)));
  }
  function delta(t, i) { return t.w[i] / (D.total || 1) - t.base[i] / (D.baseTotal || 1); }
  function diffColor(t, i) {
    var d = maxDelta > 0 ? delta(t, i) / maxDelta : 0, c = Math.round(255 - 200 * Math.abs(d));
    return d > 0 ? rgb(255, c, c) : d < 0 ? rgb(c, c, 255) : "rgb(245,245,245)";
  }

  // ---- search ----
  var matcher = null;
  function updateSearch() {
    S.q = searchEl.value; S.cs = caseEl.checked; matcher = null;
    if (S.q) {
      var flags = S.cs ? "" : "i";
      try { matcher = new RegExp(S.q, flags); } catch (e) { matcher = new RegExp(S.q.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&"), flags); }
    }
    var sum = 0;
    if (matcher) {
      var hit = new Uint8Array(main.n);
      for (var i = 0; i < main.n; i++) {
        hit[i] = matcher.test(names[main.name[i]]) ? 1 : 0;
        if (hit[i]) { sum += main.w[i]; i = main.end[i] - 1; }
      }
    }
    document.getElementById("matched").textContent = matcher
      ? "Matched: " + (100 * sum / (D.total || 1)).toFixed(1) + "%" : "";
  }
  function isMatch(t, i) { return matcher !== null && matcher.test(names[t.name[i]]); }

  // ---- units ----
  function amount(w) {
    if (D.unit === "ns") return (w / 1e6).toFixed(w >= 1e7 ? 1 : 2) + " ms";
    if (D.unit === "samples") return w + (w === 1 ? " sample" : " samples");
    return w + " " + (D.countName || D.unit);
  }
  function pct(w, total) { return (100 * w / (total || 1)).toFixed(2) + "%"; }

  // ---- drawing ----
  var hits = [], charW = 7;
  function size(rows) {
    var W = D.width > 0 ? D.width : Math.max(200, chartEl.clientWidth);
    var H = Math.max(ROW, rows * ROW), dpr = window.devicePixelRatio || 1;
    canvas.style.width = W + "px"; canvas.style.height = H + "px";
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = "11px Verdana, sans-serif"; ctx.textBaseline = "middle";
    charW = ctx.measureText("mmmmmiiiii").width / 10 || 7;
    ctx.clearRect(0, 0, W, H);
    return W;
  }
  function box(x, y, w, color, label, t, i) {
    ctx.fillStyle = color;
    ctx.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW - 1);
    if (KINDS[t.kind[i]] === "truncated" && w > 4) {
      ctx.strokeStyle = "rgba(0,0,0,0.25)"; ctx.beginPath();
      for (var s = x; s < x + w; s += 6) { ctx.moveTo(s, y + ROW - 1); ctx.lineTo(Math.min(s + 6, x + w), y); }
      ctx.stroke();
    }
    if (w > 24) {
      var max = Math.floor((w - 6) / charW), text = label.length > max ? label.slice(0, Math.max(0, max - 2)) + ".." : label;
      if (text.length > 2 || text === label) { ctx.fillStyle = "#000"; ctx.fillText(text, x + 3, y + ROW / 2); }
    }
    hits.push([x, y, w, t, i]);
  }
  // One tree in rows [top, top + rows): up = root at the bottom.
  function drawTree(t, zoom, top, rows, up, W) {
    var z = zoom < t.n ? zoom : 0, x0 = t.x[z], w0 = t.w[z] || 1, drawn = 0;
    var anc = new Uint8Array(t.n);
    for (var a = t.parent[z]; a >= 0; a = t.parent[a]) anc[a] = 1;
    for (var i = 0; i < t.n;) {
      var inside = i >= z && i < t.end[z];
      if (!inside && !anc[i]) { i = t.end[i]; continue; }
      var x = anc[i] ? 0 : (t.x[i] - x0) / w0 * W, w = anc[i] ? W : t.w[i] / w0 * W;
      if (w < 0.5) { i = t.end[i]; continue; }
      var d = t.depth[i], y = up ? top + (rows - 1 - d) * ROW : top + d * ROW;
      var color = isMatch(t, i) ? "rgb(230,0,230)" : t.base && t === main ? diffColor(t, i) : kindColor(t.kind[i], names[t.name[i]]);
      box(x, y, w, color, names[t.name[i]], t, i);
      if (anc[i]) { ctx.fillStyle = "rgba(255,255,255,0.35)"; ctx.fillRect(x, y, w, ROW - 1); }
      drawn++; i++;
    }
    return drawn;
  }
  function drawChart(W) {
    var th = D.threads[S.thread], c = chartRects(S.thread), drawn = 0;
    var b0 = S.t1 > S.t0 ? S.t0 : 0, b1 = S.t1 > S.t0 ? S.t1 : th.buckets;
    size(c.maxDepth + 1);
    for (var r = 0; r < c.rects.length; r++) {
      var R = c.rects[r];
      if (R[1] <= b0 || R[0] >= b1) continue;
      var x = (Math.max(R[0], b0) - b0) / (b1 - b0) * W, x2 = (Math.min(R[1], b1) - b0) / (b1 - b0) * W;
      if (x2 - x < 0.5) continue;
      var n = R[3], color = isMatch(main, n) ? "rgb(230,0,230)" : kindColor(main.kind[n], names[main.name[n]]);
      box(x, (R[2] - 1) * ROW, x2 - x, color, names[main.name[n]], main, n);
      hits[hits.length - 1].push(R);
      drawn++;
    }
    return drawn;
  }
  function render() {
    hits = [];
    var W = D.width > 0 ? D.width : Math.max(200, chartEl.clientWidth), drawn = 0, label = "";
    document.getElementById("sandwich-note").textContent = "";
    if (S.view === "flame" || S.view === "icicle") {
      size(main.maxDepth + 1);
      drawn = drawTree(main, S.zoom, 0, main.maxDepth + 1, S.view === "flame", W);
      label = S.zoom ? names[main.name[S.zoom]] : "";
    } else if (S.view === "sandwich") {
      if (!S.fn) S.fn = defaultFunction();
      var sw = sandwich(S.fn);
      if (!sw.callers) {
        size(1);
        document.getElementById("sandwich-note").textContent = "No frame named " + S.fn;
      } else {
        var up = sw.callers.maxDepth + 1, down = sw.callees.maxDepth + 1;
        size(up + down + 1);
        drawn = drawTree(sw.callers, 0, 0, up, true, W) + drawTree(sw.callees, 0, (up + 1) * ROW, down, false, W);
        ctx.fillStyle = dark ? "#ccc" : "#333";
        ctx.fillText("callers of " + S.fn + " (above), callees (below)", 3, up * ROW + ROW / 2);
      }
      label = S.fn;
    } else {
      drawn = drawChart(W);
      label = S.t1 > S.t0 ? "time" : "";
    }
    document.body.dataset.view = S.view;
    document.body.dataset.zoomed = label;
    document.body.dataset.drawn = String(drawn);
    ["flame", "icicle", "sandwich", "chart"].forEach(function (v) {
      document.getElementById("view-" + v).classList.toggle("active", v === S.view);
    });
    threadEl.style.display = S.view === "chart" ? "" : "none";
    threadEl.value = String(S.thread);
    writeHash();
  }
  function defaultFunction() {
    var best = 0;
    for (var i = 1; i < main.n; i++) if (main.kind[i] > 1 && main.self[i] > main.self[best]) best = i;
    return names[main.name[best]];
  }
  function hitAt(ev) {
    var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
    for (var k = hits.length - 1; k >= 0; k--) {
      var h = hits[k];
      if (x >= h[0] && x < h[0] + h[2] && y >= h[1] && y < h[1] + ROW) return h;
    }
    return null;
  }
  var hover = null;
  canvas.addEventListener("mousemove", function (ev) {
    var h = hitAt(ev); hover = h;
    if (!h) { tip.style.display = "none"; return; }
    var t = h[3], i = h[4], name = names[t.name[i]], lines = [name + "  [" + KINDS[t.kind[i]] + "]"];
    if (h[5]) {
      var th = D.threads[S.thread], step = (th.t1 - th.t0) / th.buckets;
      lines.push("from " + ((h[5][0] * step) / 1e6).toFixed(2) + " ms to " + ((h[5][1] * step) / 1e6).toFixed(2) +
        " ms (" + ((h[5][1] - h[5][0]) * step / 1e6).toFixed(2) + " ms)");
    } else {
      var root = t === main ? D.total : t.w[0];
      lines.push(amount(t.w[i]) + " (" + pct(t.w[i], root) + ")" + (t.self[i] ? ", self " + amount(t.self[i]) + " (" + pct(t.self[i], root) + ")" : ""));
      if (t.base && t === main) {
        lines.push("baseline " + amount(t.base[i]) + " (" + pct(t.base[i], D.baseTotal) + "), change " +
          (delta(t, i) >= 0 ? "+" : "") + (100 * delta(t, i)).toFixed(2) + "%");
      }
      lines.push("click: zoom · s: callers/callees");
    }
    tip.textContent = lines.join("\n");
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 300) + "px"; tip.style.top = (ev.clientY + 12) + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; hover = null; });
  canvas.addEventListener("click", function (ev) {
    var h = hitAt(ev);
    if (!h) return;
    if (S.view === "chart") { S.t0 = h[5][0]; S.t1 = h[5][1]; if (S.t1 - S.t0 < 1) { S.t0 = 0; S.t1 = 0; } }
    else if (S.view === "sandwich") { S.fn = names[h[3].name[h[4]]]; }
    else S.zoom = h[4];
    render();
  });
  function setView(v) { S.view = v; if (v === "sandwich" && hover) S.fn = names[hover[3].name[hover[4]]]; else if (v === "sandwich" && S.zoom) S.fn = names[main.name[S.zoom]]; render(); }
  ["flame", "icicle", "sandwich", "chart"].forEach(function (v) {
    document.getElementById("view-" + v).addEventListener("click", function () { hover = null; setView(v); });
  });
  if (!D.threads.length) document.getElementById("view-chart").disabled = true;
  D.threads.forEach(function (th, i) {
    var o = document.createElement("option"); o.value = String(i);
    o.textContent = th.name + " (" + th.samples + " samples)"; threadEl.appendChild(o);
  });
  threadEl.addEventListener("change", function () { S.thread = Number(threadEl.value); S.t0 = S.t1 = 0; render(); });
  searchEl.addEventListener("input", function () { updateSearch(); render(); });
  caseEl.addEventListener("change", function () { updateSearch(); render(); });
  document.getElementById("reset").addEventListener("click", function () { S.zoom = 0; S.t0 = S.t1 = 0; render(); });
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "f") { e.preventDefault(); searchEl.focus(); return; }
    if (e.target === searchEl) return;
    if (e.key === "Escape") { searchEl.value = ""; S.zoom = 0; S.t0 = S.t1 = 0; updateSearch(); render(); }
    if (e.key === "s" && hover) { S.fn = names[hover[3].name[hover[4]]]; S.view = "sandwich"; render(); }
  });
  window.addEventListener("resize", render);
  window.addEventListener("hashchange", function () { readHash(); updateSearch(); render(); });
  window.callringFlame = {
    find: function (name) {
      var r = canvas.getBoundingClientRect();
      for (var k = 0; k < hits.length; k++) {
        var h = hits[k];
        if (names[h[3].name[h[4]]] === name) return { x: r.left + h[0] + h[2] / 2, y: r.top + h[1] + ROW / 2 };
      }
      return null;
    },
    state: function () { return JSON.parse(JSON.stringify(S)); },
  };
  readHash(); updateSearch(); render();
  // Flame view: the root is at the bottom of a tall page; show it first, as one reads upwards.
  if (S.view === "flame" && canvas.getBoundingClientRect().bottom > window.innerHeight) {
    window.scrollTo(0, document.body.scrollHeight);
  }
  document.body.dataset.loadMs = (performance.now() - T0).toFixed(1);
  document.body.dataset.ready = "1";
})();
`;

/**
 * Renders the interactive flame graph page.
 * @param profile The profile (the comparison one with `baseline`).
 * @param options Title, weighting, event, baseline, width, palette, pruning.
 * @returns HTML text.
 * @example
 * ```ts
 * import { ProfileBuilder } from "../analyze/profile.ts";
 * import { flamegraphHtml } from "./flamegraph_html.ts";
 * const b = new ProfileBuilder({ timeline: true });
 * b.add({ frames: [{ sym: "leaf", dso: "/bin/x", kernel: false }], weight: 1e6, pid: 1, tid: 1,
 *   cpu: 0, comm: "x", time: 5e8, context: "task", truncated: false });
 * flamegraphHtml(b.build(), { title: "x", eventName: "cpu-clock" }).startsWith("<!DOCTYPE html>");
 * ```
 */
export function flamegraphHtml(profile: Profile, options: FlamegraphHtmlOptions = {}): string {
  const data = flameData(profile, options);
  const extra = options.countName !== undefined ? { countName: options.countName } : {};
  // "</" cannot appear inside the JSON script element.
  const json = JSON.stringify({ ...data, ...extra }).replace(/</g, "\\u003c");
  const title = escapeXml(data.title);
  const trunc = profile.truncatedSamples > 0
    ? ` · ${profile.truncatedSamples} truncated stacks`
    : "";
  const pruned = data.pruned.nodes > 0
    ? ` · ${data.pruned.nodes} frames narrower than ${
      (100 * data.minWeight / (data.total || 1)).toPrecision(2)
    }% not drawn`
    : "";
  const diff = data.base !== undefined ? " · differential: red grew, blue shrank" : "";
  const legend = [
    ["user", "rgb(230,155,20)"],
    ["kernel", "rgb(80,195,195)"],
    ["JIT", "rgb(80,220,80)"],
    ["marker", "rgb(190,140,230)"],
    ["truncated", "rgb(160,160,160)"],
  ].map(([k, c]) => `<span style="background:${c}"></span>${k}`).join("");
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
<button id="view-flame" type="button">Flame</button>
<button id="view-icicle" type="button">Icicle</button>
<button id="view-sandwich" type="button">Sandwich</button>
<button id="view-chart" type="button">Timeline</button>
<select id="thread" aria-label="Thread"></select>
<input id="search" type="search" placeholder="Search (regexp)" aria-label="Search">
<label><input id="case" type="checkbox">Aa</label>
<span id="matched"></span>
<button id="reset" type="button">Reset zoom</button>
</header>
<div id="chart"><canvas id="canvas"></canvas><div id="sandwich-note"></div></div>
<div id="tooltip" role="tooltip"></div>
<footer><span id="summary">${profile.samples} samples${trunc}${pruned}${diff}</span><span class="legend">${legend}</span></footer>
<script type="application/json" id="flame-data">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
