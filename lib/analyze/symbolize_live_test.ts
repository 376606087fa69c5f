// Symbols true to the recording, against live perf 6.1: programs recorded now, each under a
// private HOME (perf record fills its build-id cache there), then `perf script` and
// `perf report` next to ours with the same cache. Covers demangled C++ (namespaces,
// templates, lambdas, [clone .isra.0]) and Rust (legacy with escapes, v0) names, name@plt
// stubs, a binary rebuilt after recording and one deleted after recording.
import assert from "node:assert/strict";
import { haveGcc, perfCanRecord, runPerf } from "../testing/perf_tool.ts";
import { runPerfScript } from "../output/script_run.ts";
import { textReport } from "../output/text_report.ts";
import { loadProfile } from "./load.ts";
import { forEachSampleInFile } from "../perfdata/walker.ts";
import { Demangler } from "./demangle.ts";

const RECORDS = await perfCanRecord();
const GCC = haveGcc();
const GXX = (() => {
  try {
    return new Deno.Command("g++", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
const CXXFILT = new Demangler().available();
const SYM_FIELDS = "comm,pid,tid,time,period,event,ip,sym,dso,symoff";

interface Recorded {
  dir: string;
  home: string;
  data: string;
  binary: string;
}

async function compile(compiler: string, dir: string, name: string, src: string, flags: string[]) {
  const ext = compiler === "g++" ? "cc" : "c";
  await Deno.writeTextFile(`${dir}/${name}.${ext}`, src);
  const out = await new Deno.Command(compiler, {
    args: [...flags, "-o", `${dir}/${name}`, `${dir}/${name}.${ext}`],
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return `${dir}/${name}`;
}

/** Record `binary args` with -g under a private HOME (perf fills its build-id cache there). */
async function record(dir: string, binary: string, args: string[]): Promise<Recorded> {
  const home = `${dir}/home`;
  await Deno.mkdir(home, { recursive: true });
  const data = `${dir}/${binary.slice(binary.lastIndexOf("/") + 1)}.data`;
  const rec = await runPerf(
    ["record", "-q", "-e", "cpu-clock", "-g", "-F", "2000", "-o", data, "--", binary, ...args],
    dir,
    { HOME: home },
  );
  assert.equal(rec.code, 0, rec.stderr);
  return { dir, home, data, binary };
}

/**
 * perf report lines without '#' lines (header, tip, our accounting), sorted: the order of
 * call-graph branches with equal percentages is the text report's business, not the
 * symbols' (these tests are about which names and percentages appear).
 */
const body = (text: string) =>
  text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))
    // the tree's drawing (which sibling is last) follows that order too: names and percents only
    .map((l) => l.replace(/^[ |]+(---|--)?/, "")).sort();

/** script (-F with symbols, and the default) and report (self, children) equal perf's. */
async function assertLikePerf(r: Recorded, expect: RegExp[]): Promise<string> {
  const symbols = { buildIdDir: `${r.home}/.debug` };
  let perfText = "";
  for (const fields of [SYM_FIELDS, undefined]) {
    const args = ["script", "-i", r.data, ...(fields ? ["-F", fields] : [])];
    const perf = await runPerf(args, r.dir, { HOME: r.home });
    assert.equal(perf.code, 0, perf.stderr);
    let ours = "";
    await runPerfScript(r.data, { fields, symbols, write: (t) => ours += t });
    assert.equal(ours, perf.stdout, `perf ${args.join(" ")}`);
    if (fields) perfText = perf.stdout;
  }
  for (const re of expect) assert.match(perfText, re);
  const loaded = await loadProfile(r.data, { symbols });
  for (const children of [false, true]) {
    const args = ["report", "-i", r.data, "--stdio", children ? "--children" : "--no-children"];
    const perf = await runPerf([...args, "--sort", "sym"], r.dir, { HOME: r.home });
    assert.equal(perf.code, 0, perf.stderr);
    const ours = textReport(loaded.profile, {
      sort: ["sym"],
      children,
      callGraph: children ? "caller" : "callee",
      eventName: loaded.events[loaded.event].name,
    });
    assert.deepEqual(body(ours), body(perf.stdout), args.join(" "));
  }
  return perfText;
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "callring-sym-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CXX = `#include <cstdlib>
#include <cstdio>
#include <vector>
namespace geo {
template <typename T> struct Acc {
  T v{};
  __attribute__((noinline)) void add(T x) { for (int i = 0; i < 400; i++) v = v * 31 + x + i; }
};
struct Big { long a[8]; long w; };
static __attribute__((noinline)) long weigh(Big b) {
  long s = 0;
  for (int k = 0; k < 400; k++) s += b.w * k + (s >> 3);
  return s;
}
class Engine {
 public:
  __attribute__((noinline)) unsigned long histogram(const std::vector<int>& xs);
};
unsigned long Engine::histogram(const std::vector<int>& xs) {
  Acc<unsigned long> acc;
  Acc<double> d;
  Big bs[2]{};
  bs[0].w = (long)xs.size();
  bs[1].w = 3;
  auto f = [&](int x) __attribute__((noinline)) {
    for (int i = 0; i < 200; i++) acc.v ^= (acc.v << 1) + x + i;
    d.add(x * 0.5);
  };
  for (int x : xs) { f(x); acc.add(x); acc.v += weigh(bs[x & 1]); }
  return acc.v + (unsigned long)d.v;
}
}  // namespace geo
int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 20;
  std::vector<int> xs(500);
  for (int i = 0; i < 500; i++) xs[i] = i;
  geo::Engine e;
  unsigned long s = 0;
  for (long r = 0; r < n; r++) s += e.histogram(xs);
  printf("%lu\\n", s);
  return 0;
}
`;

Deno.test({
  name: "C++ names (namespaces, templates, lambdas, clones) demangled as perf script/report",
  ignore: !RECORDS || !GXX || !CXXFILT,
}, () =>
  inTempDir(async (dir) => {
    const bin = await compile("g++", dir, "geo", CXX, ["-O2", "-g", "-fno-omit-frame-pointer"]);
    const nm = new TextDecoder().decode(
      (await new Deno.Command("nm", { args: [bin], stdout: "piped" }).output()).stdout,
    );
    assert.match(nm, /isra\.0/, "the workload has an IPA-SRA clone");
    // perf 6.1 prints no parameter lists and no clone suffixes (DMGL_NO_OPTS), but a
    // lambda keeps its enclosing function's.
    const r = await record(dir, bin, ["150"]);
    const text = await assertLikePerf(r, [
      / geo::Acc<double>::add\+0x/,
      / geo::weigh\+0x/,
      / geo::Engine::histogram\(std::vector<int, std::allocator<int> > const&\)::\{lambda\(int\)#1\}::operator\(\)\+0x/,
    ]);
    assert.doesNotMatch(text, / _ZN3geo/);
    // --no-demangle: the ELF names, as perf prints them.
    const args = ["script", "--no-demangle", "-i", r.data, "-F", SYM_FIELDS];
    const perf = await runPerf(args, r.dir, { HOME: r.home });
    let ours = "";
    await runPerfScript(r.data, {
      fields: SYM_FIELDS,
      symbols: { buildIdDir: `${r.home}/.debug`, demangle: false },
      write: (t) => ours += t,
    });
    assert.equal(ours, perf.stdout);
    assert.match(ours, / _ZN3geo3AccIdE3addEd\+0x/);
  }));

const RUST = `#include <stdlib.h>
volatile unsigned long sink;
unsigned long legacy(unsigned long x) __asm__("_ZN7mycrate6engine4spin17h0123456789abcdefE");
unsigned long escaped(unsigned long x)
  __asm__("_ZN49_$LT$mycrate..Foo$u20$as$u20$core..fmt..Debug$GT$3fmt17h00112233aabbccddE");
unsigned long v0(unsigned long x) __asm__("_RNvNtCs1234abcd_7mycrate6engine5churn");
__attribute__((noinline)) unsigned long legacy(unsigned long x) {
  for (int i = 0; i < 20000; i++) x = x * 6364136223846793005ul + i;
  return x;
}
__attribute__((noinline)) unsigned long escaped(unsigned long x) {
  for (int i = 0; i < 20000; i++) x ^= (x << 7) + i;
  return x;
}
__attribute__((noinline)) unsigned long v0(unsigned long x) {
  for (int i = 0; i < 20000; i++) x += (x >> 3) ^ i;
  return x;
}
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000;
  unsigned long x = 1;
  for (long i = 0; i < n; i++) x = v0(escaped(legacy(x)));
  sink = x;
  return 0;
}
`;

Deno.test({
  name: "Rust legacy (with $-escapes) and v0 names demangled as perf script/report",
  ignore: !RECORDS || !GCC || !CXXFILT,
}, () =>
  inTempDir(async (dir) => {
    const bin = await compile("gcc", dir, "rs", RUST, ["-O1", "-g", "-fno-omit-frame-pointer"]);
    await assertLikePerf(await record(dir, bin, ["600"]), [
      / mycrate::engine::spin\+0x/,
      / <mycrate::Foo as core::fmt::Debug>::fmt\+0x/,
      / mycrate::engine::churn\+0x/,
    ]);
  }));

const PLT = `#include <string.h>
#include <stdlib.h>
#include <stdio.h>
static char buf[256];
volatile size_t sink;
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 3000000;
  memset(buf, 'a', sizeof buf - 1);
  for (long i = 0; i < n; i++) {
    sink += strlen(buf + (i & 15));
    sink += (size_t)memchr(buf, 'b' + (i & 1), 200);
    sink += abs((int)i);
  }
  printf("%zu\\n", sink);
  return 0;
}
`;

Deno.test({
  name: "name@plt stubs (and _init fixed up over .plt) as perf script/report",
  ignore: !RECORDS || !GCC,
}, () =>
  inTempDir(async (dir) => {
    const bin = await compile("gcc", dir, "plt", PLT, [
      "-O1",
      "-g",
      "-fno-omit-frame-pointer",
      "-fno-builtin",
    ]);
    // Long enough (~600 samples) that one-off start-up samples fall under the call graph's
    // 0.5 % limit: their equal-weight branches across DSOs are ordered by perf's dso pointers.
    const r = await record(dir, bin, ["24000000"]);
    // A timer interrupt almost never lands between a call and the stub's one jmp, so samples
    // in the stubs are luck (~0.1 % on real workloads). Move some of main's samples onto them:
    // a real recording whose leaf addresses are stub addresses, for both tools alike.
    const moved = await moveSamplesToPlt(r.data, bin);
    assert.ok(moved >= 4, `only ${moved} samples of main to move onto the PLT`);
    // perf 6.1 stretches _init over .plt's first stub (abs here): `_init+0x30`.
    await assertLikePerf(r, [/ strlen@plt\+0x0 /, / memchr@plt\+0x0 /, / _init\+0x[0-9a-f]+ \(/]);
  }));

/**
 * Rewrites the leaf address (sample ip and the callchain entry equal to it) of every
 * fourth sample in `binary`'s `main` to a `name@plt` stub of the same page, cycling
 * through the stubs. The PIE is mapped page-aligned, so a runtime address keeps its
 * offset within the page.
 * @returns How many samples were moved.
 */
async function moveSamplesToPlt(data: string, binary: string): Promise<number> {
  const text = async (cmd: string, args: string[]) =>
    new TextDecoder().decode(
      (await new Deno.Command(cmd, { args, stdout: "piped" }).output()).stdout,
    );
  const mainLine = (await text("nm", ["-S", binary])).split("\n").find((l) => / T main$/.test(l));
  assert.ok(mainLine, "main in nm -S");
  const [mainStart, mainSize] = mainLine.split(" ").slice(0, 2).map((h) => parseInt(h, 16));
  const stubs = [...(await text("objdump", ["-d", "-j", ".plt", binary]))
    .matchAll(/^([0-9a-f]+) <(abs|memchr|strlen)@plt>:/gm)].map((m) => parseInt(m[1], 16));
  assert.equal(stubs.length, 3, "three stubs in .plt");
  const page = (a: number) => Math.floor(a / 4096);
  assert.ok(stubs.every((a) => page(a) === page(mainStart)), "stubs share main's page");
  const bytes = await Deno.readFile(data);
  const view = new DataView(bytes.buffer);
  let seen = 0, moved = 0;
  await forEachSampleInFile(data, (s) => {
    const low = s.ipLo % 4096;
    const inMain = s.ipHi < 0x7000 && s.ipHi > 0 && low >= mainStart % 4096 &&
      low <
        (mainStart + mainSize) % 4096 + (page(mainStart + mainSize) > page(mainStart) ? 4096 : 0);
    if (!inMain || seen++ % 2 !== 0) return;
    const lo = s.ipLo - low + (stubs[moved % stubs.length] % 4096);
    for (let p = s.fileOffset + 8; p + 8 <= s.fileOffset + s.size; p += 8) {
      if (view.getUint32(p, true) === s.ipLo && view.getUint32(p + 4, true) === s.ipHi) {
        view.setUint32(p, lo, true);
      }
    }
    moved++;
  });
  await Deno.writeFile(data, bytes);
  return moved;
}

const VERSION = (extra: string) =>
  `#include <stdlib.h>
volatile unsigned long sink;
${extra}
__attribute__((noinline)) unsigned long leaf(unsigned long x) {
  for (int i = 0; i < 1000; i++) x = x * 2862933555777941757ul + 3037000493ul;
  return x;
}
__attribute__((noinline)) unsigned long mid(unsigned long x) { return leaf(x) + leaf(x + 1); }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  unsigned long x = 1;
  for (long i = 0; i < n; i++) x = mid(x);
  sink = x;
  return 0;
}
`;

Deno.test({
  name: "a binary rebuilt after recording: symbols of the recorded build (build-id cache)",
  ignore: !RECORDS || !GCC,
}, () =>
  inTempDir(async (dir) => {
    const flags = ["-O1", "-g", "-fno-omit-frame-pointer"];
    const bin = await compile("gcc", dir, "app", VERSION(""), flags);
    const r = await record(dir, bin, ["40000"]);
    // Same path, other code: every function moves.
    const pad = "__attribute__((noinline)) unsigned long pad(unsigned long x) " +
      "{ for (int i = 0; i < 99; i++) x ^= x >> 3; return x + 77; }\n" +
      "unsigned long (*volatile keep)(unsigned long) = pad;";
    await compile("gcc", dir, "app", VERSION(pad), flags);
    await assertLikePerf(r, [/ leaf\+0x/]);
  }));

Deno.test({
  name: "a binary deleted after recording: symbols from the build-id cache",
  ignore: !RECORDS || !GCC,
}, () =>
  inTempDir(async (dir) => {
    const bin = await compile(
      "gcc",
      dir,
      "gone",
      VERSION(""),
      ["-O1", "-g"].concat(
        "-fno-omit-frame-pointer",
      ),
    );
    const r = await record(dir, bin, ["40000"]);
    await Deno.remove(bin);
    await assertLikePerf(r, [/ leaf\+0x[0-9a-f]+ \(.*\/gone\)/]);
  }));
