import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { ProfileBuilder } from "../analyze/profile.ts";
import { sampleOf } from "../analyze/_test_samples.ts";
import { flameLayout } from "./flame_layout.ts";
import { flamegraphSvg } from "./flamegraph_svg.ts";
import { flamegraphHtml } from "./flamegraph_html.ts";

function profile() {
  const b = new ProfileBuilder();
  b.add(sampleOf(["main", "b", "k_sys"], 2));
  b.add(sampleOf(["main", "a"], 6));
  b.add(sampleOf(["main"], 1, { truncated: true }));
  return b.build();
}

Deno.test("flameLayout: alphabetical children, x offsets and widths", () => {
  const l = flameLayout(profile());
  eq(l.total, 9);
  eq(l.rects.map((r) => `${r.depth}:${r.name}@${r.x}+${r.width}`), [
    "0:prog@0+9",
    "1:[truncated]@0+1",
    "2:main@0+1",
    "1:main@1+8",
    "2:a@1+6",
    "2:b@7+2",
    "3:k_sys@7+2",
  ]);
  eq(l.rects.find((r) => r.name === "k_sys")!.kind, "kernel");
  eq(l.rects[1].kind, "truncated");
});

Deno.test("flamegraphSvg: frames with hooks, tooltips, embedded script, no external refs", () => {
  const svg = flamegraphSvg(profile(), { title: "T <1>" });
  ok(svg.startsWith("<?xml"));
  ok(svg.includes('<text id="title" x="600" y="24">T &lt;1&gt;</text>'));
  eq((svg.match(/<g class="frame"/g) ?? []).length, 7);
  ok(
    svg.includes(
      '<g class="frame" data-name="a" data-kind="user" data-x="1" data-w="6" data-depth="2"><title>a (6 period, 66.67%)</title>',
    ),
  );
  ok(svg.includes('<script type="text/ecmascript"><![CDATA['));
  ok(svg.includes("1 truncated stacks"));
  ok(!/(href|src)="http/.test(svg));
});

Deno.test("flamegraphHtml: self-contained with data and controls", () => {
  const html = flamegraphHtml(profile());
  ok(html.includes('<input id="search"'));
  ok(html.includes('id="reset"'));
  ok(html.includes("prefers-color-scheme: dark"));
  const json = /<script type="application\/json" id="flame-data">(.*?)<\/script>/s.exec(html)![1];
  const data = JSON.parse(json);
  eq(data.rects.length, 7);
  eq(data.rects[4].samples, 1); // "a": one sample of weight 6
  ok(!/<(link|script)[^>]+(href|src)=/.test(html));
});
