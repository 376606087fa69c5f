import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { ProfileBuilder } from "../analyze/profile.ts";
import { sampleOf } from "../analyze/_test_samples.ts";
import { flameLayout } from "./flame_layout.ts";
import { flamegraphSvg } from "./flamegraph_svg.ts";
import { flamegraphHtml } from "./flamegraph_html.ts";
import { FLAME_KINDS, type FlameData, flameData } from "./flamegraph_data.ts";

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

function htmlData(html: string): FlameData {
  const json = /<script type="application\/json" id="flame-data">(.*?)<\/script>/s.exec(html)![1];
  return JSON.parse(json);
}

/** Preorder nodes as `depth:name/kind=total,self` strings. */
function nodesOf(data: FlameData): string[] {
  const out: string[] = [];
  for (let i = 0; i < data.nodes.length; i += 5) {
    const [name, kind, depth, total, self] = data.nodes.slice(i, i + 5);
    out.push(`${depth}:${data.names[name]}/${FLAME_KINDS[kind]}=${total},${self}`);
  }
  return out;
}

Deno.test("flamegraphHtml: self-contained page with controls and compact data under an `all` root", () => {
  const html = flamegraphHtml(profile(), { title: "T <1>", eventName: "cpu-clock" });
  for (const id of ["search", "case", "reset", "view-flame", "view-icicle", "view-sandwich"]) {
    ok(html.includes(`id="${id}"`), id);
  }
  ok(html.includes("<title>T &lt;1&gt;</title>"));
  ok(html.includes("prefers-color-scheme: dark"));
  ok(!/<(link|script|img)[^>]+(href|src)=/.test(html));
  const data = htmlData(html);
  eq(nodesOf(data), [
    "0:all/root=9,0",
    "1:prog/process=9,0",
    "2:[truncated]/truncated=1,0",
    "3:main/user=1,1",
    "2:main/user=8,0",
    "3:a/user=6,6",
    "3:b/user=2,0",
    "4:k_sys/kernel=2,2",
  ]);
  eq([data.unit, data.event, data.total, data.samples], ["ns", "cpu-clock", 9, 3]);
  eq(data.threads, []); // no timeline asked for
  eq(htmlData(flamegraphHtml(profile(), { weight: "samples" })).unit, "samples");
  eq(htmlData(flamegraphHtml(profile(), { eventName: "cycles:u" })).unit, "cycles:u");
});

Deno.test("flameData: frames below the minimum width are pruned and counted", () => {
  const b = new ProfileBuilder();
  b.add(sampleOf(["main", "hot"], 100_000));
  for (let i = 0; i < 50; i++) b.add(sampleOf(["main", `cold${i}`, "x"], 1));
  const d = flameData(b.build(), { minWidth: 1, referenceWidth: 1000 }); // keep >= 1/1000
  eq(nodesOf(d).map((s) => s.split("/")[0]), ["0:all", "1:prog", "2:main", "3:hot"]);
  eq(d.pruned, { nodes: 50, weight: 50 });
  // maxNodes: the minimum width grows until the tree fits
  const capped = flameData(b.build(), { minWidth: 0, maxNodes: 3 });
  eq(capped.nodes.length / 5 <= 3, true);
});

Deno.test("flameData: JIT objects get their own kind; diffs carry the baseline per node", () => {
  const b = new ProfileBuilder();
  b.add({
    ...sampleOf(["main"], 3),
    frames: [
      { sym: "Interpreter::run", dso: "/tmp/perf-10.map", kernel: false },
      { sym: "main", dso: "/bin/prog", kernel: false },
    ],
  });
  const base = new ProfileBuilder();
  base.add(sampleOf(["main", "gone"], 4));
  const d = flameData(b.build(), { baseline: base.build() });
  eq(nodesOf(d), [
    "0:all/root=3,0",
    "1:prog/process=3,0",
    "2:main/user=3,0",
    "3:Interpreter::run/jit=3,3",
  ]);
  eq(d.base, [4, 4, 4, 0]);
  eq(d.baseTotal, 4);
});

Deno.test("flameData: per-thread time-ordered runs from the sample times", () => {
  const b = new ProfileBuilder({ timeline: true });
  const t0 = 1e9;
  // thread 10: 4 ms in a, then 4 ms in b (1 ms period); thread 11: 2 samples
  for (let i = 0; i < 8; i++) {
    b.add(sampleOf(["main", i < 4 ? "a" : "b"], 1e6, { time: t0 + i * 1e6 }));
  }
  for (let i = 0; i < 2; i++) b.add(sampleOf(["w"], 1e6, { tid: 11, time: t0 + i * 1e6 }));
  const p = b.build();
  eq(p.timeline!.time.length, 10);
  const d = flameData(p, { referenceWidth: 8 });
  eq(d.threads.map((t) => [t.name, t.samples, t.t1 - t.t0, t.buckets]), [
    ["prog 10/10", 8, 7e6, 8],
    ["prog 10/11", 2, 1e6, 8],
  ]);
  const name = (n: number) => d.names[d.nodes[n * 5]];
  const runs = d.threads[0].runs;
  const named: [number, string][] = [];
  for (let i = 0; i < runs.length; i += 2) named.push([runs[i], name(runs[i + 1])]);
  eq(named, [[0, "a"], [4, "b"]]);
});
