import assert from "node:assert/strict";
import { parseKallsyms } from "./kallsyms.ts";
import { AddressSpaces, CPUMODE_KERNEL, CPUMODE_USER } from "../input/maps.ts";
import { formatCallchainLine, formatDso, formatIp, formatSym, Symbolizer } from "./symbolize.ts";

const KALLSYMS =
  "ffffffff81000000 T _stext\nffffffff81000100 T do_thing\nffffffff81000200 T next_thing\n";

Deno.test("kernel frames print the raw ip and kallsyms offsets", () => {
  const spaces = new AddressSpaces();
  spaces.processMmap({
    pid: -1,
    tid: 0,
    addr: 0xffffffff81000000n,
    len: 0x10000n,
    pgoff: 0xffffffff81000000n,
    filename: "[kernel.kallsyms]_text",
    cpumode: CPUMODE_KERNEL,
  });
  const sym = new Symbolizer({ kallsyms: parseKallsyms(KALLSYMS) });
  const r = sym.resolve(spaces, 42, 0xffffffff8100011dn, CPUMODE_KERNEL);
  assert.equal(formatCallchainLine(r), "\tffffffff8100011d do_thing+0x1d ([kernel.kallsyms])");
  assert.equal(r.kernel, true);
  // In the kernel map but past the last symbol's end (roundup(start) + 4096): no symbol.
  const past = sym.resolve(spaces, 42, 0xffffffff81008000n, CPUMODE_KERNEL);
  assert.equal(formatCallchainLine(past), "\tffffffff81008000 [unknown] ([kernel.kallsyms])");
});

Deno.test("unmapped user address prints raw ip and [unknown] twice; mapped prints map-relative ip", () => {
  const spaces = new AddressSpaces();
  spaces.processMmap({
    pid: 7,
    tid: 7,
    addr: 0x7f0000000000n,
    len: 0x10000n,
    pgoff: 0xa000n,
    filename: "/memfd:sealed-1 (deleted)",
    cpumode: CPUMODE_USER,
  });
  const sym = new Symbolizer({ kallsyms: parseKallsyms(KALLSYMS) });
  const unknown = sym.resolve(spaces, 7, 0x69662d676e69726cn, CPUMODE_USER);
  assert.equal(formatCallchainLine(unknown), "\t69662d676e69726c [unknown] ([unknown])");
  const memfd = sym.resolve(spaces, 7, 0x7f0000000845n, CPUMODE_USER);
  assert.equal(memfd.mapRelativeIp, 0xa845n);
  assert.equal(
    formatCallchainLine(memfd),
    "\t            a845 [unknown] (/memfd:sealed-1 (deleted))",
  );
  assert.equal(formatIp(memfd), "            a845");
  assert.equal(formatSym({ ...memfd, sym: "f", symoff: 0n }), "f+0x0");
  assert.equal(formatSym({ ...memfd, sym: "f", symoff: 0n }, false), "f");
  assert.equal(formatDso(memfd), "(/memfd:sealed-1 (deleted))");
  assert.equal(formatCallchainLine(memfd, { ip: true }), "\t            a845");
});

Deno.test("perf report's callchain ip is the raw runtime ip; perf script's stays map-relative", () => {
  const spaces = new AddressSpaces();
  spaces.processMmap({
    pid: 7,
    tid: 7,
    addr: 0x5583f3e9d000n,
    len: 0x3cf4000n,
    pgoff: 0x1b8e000n,
    filename: "/memfd:jit (deleted)",
    cpumode: CPUMODE_USER,
  });
  const sym = new Symbolizer({ kallsyms: parseKallsyms(KALLSYMS) });
  const r = sym.resolve(spaces, 7, 0x5583f3ea0042n, CPUMODE_USER);
  assert.equal(r.sym, undefined);
  assert.equal(r.mapRelativeIp, 0x1b91042n);
  assert.equal(r.printedIp, 0x1b91042n);
  assert.equal(r.callchainIp, 0x5583f3ea0042n);
  const unmapped = sym.resolve(spaces, 7, 0x1234n, CPUMODE_USER);
  assert.equal(unmapped.callchainIp, 0x1234n);
});

// ---------------------------------------------------------------------------
// Live comparison with perf script.

function run(cmd: string, args: string[], cwd?: string): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command(cmd, {
      args,
      cwd,
      env: { PERF_PAGER: "cat", LC_ALL: "C" },
      stdin: "null",
    })
      .outputSync();
    return { ok: r.success, out: new TextDecoder().decode(r.stdout) };
  } catch {
    return { ok: false, out: "" };
  }
}

const PROGRAM = `#include <stdio.h>
#include <time.h>
#include <unistd.h>
static volatile unsigned long sink;
__attribute__((noinline)) static void leaf(int n) { for (int i = 0; i < n; i++) sink += i * 7; }
__attribute__((noinline)) void mid(int n) {
  leaf(n); struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); sink += ts.tv_nsec; }
int main(void) {
  for (int i = 0; i < 3000; i++) { mid(20000); if (i % 100 == 0) sink += getpid(); }
  return 0; }
`;

const CONTEXT_KERNEL = 0xffffffffffffff80n;
const CONTEXT_USER = 0xfffffffffffffe00n;
const CONTEXT_MAX = 0xfffffffffffff001n;

/** perf script output keyed by "tid/time_ns" -> callchain lines. */
function parseScript(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\.(\d{9}):/.exec(line);
    if (m) {
      cur = [];
      out.set(`${m[1]}/${BigInt(m[2]) * 1_000_000_000n + BigInt(m[3])}`, cur);
    } else if (line.startsWith("\t") && cur) {
      cur.push(line);
    }
  }
  return out;
}

/** Replay `perf report -D`: MMAP/FORK into spaces, samples resolved via the symbolizer. */
function replayDump(text: string, sym: Symbolizer): Map<string, string[]> {
  const spaces = new AddressSpaces();
  const out = new Map<string, string[]>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    let m =
      /PERF_RECORD_MMAP2? (-?\d+)\/(\d+): \[0x([0-9a-f]+)\(0x([0-9a-f]+)\) @ (0x[0-9a-f]+|0)[^\]]*\]: \S+ (.*)$/
        .exec(l);
    if (m) {
      const pid = Number(m[1]);
      spaces.processMmap({
        pid,
        tid: Number(m[2]),
        addr: BigInt("0x" + m[3]),
        len: BigInt("0x" + m[4]),
        pgoff: BigInt(m[5]),
        filename: m[6],
        cpumode: pid === -1 ? CPUMODE_KERNEL : CPUMODE_USER,
      });
      continue;
    }
    m = /PERF_RECORD_FORK\((\d+):(\d+)\):\((\d+):(\d+)\)/.exec(l);
    if (m) {
      spaces.processFork({ pid: +m[1], tid: +m[2], ppid: +m[3], ptid: +m[4] });
      continue;
    }
    m = /^(?:\d+ )?(\d+) 0x[0-9a-f]+ .*PERF_RECORD_SAMPLE\([^)]*\): (\d+)\/(\d+):/.exec(l);
    if (!m || !/chain: nr:/.test(lines[i + 1] ?? "")) continue;
    const pid = Number(m[2]);
    const got: string[] = [];
    let mode = CPUMODE_USER;
    for (let j = i + 2; /^\.\.\.\.\.\s+\d+: /.test(lines[j] ?? ""); j++) {
      const ip = BigInt("0x" + lines[j].split(": ")[1].trim());
      if (ip >= CONTEXT_MAX) {
        mode = ip === CONTEXT_KERNEL ? CPUMODE_KERNEL : ip === CONTEXT_USER ? CPUMODE_USER : 0;
        continue;
      }
      got.push(formatCallchainLine(sym.resolve(spaces, pid, ip, mode)));
    }
    out.set(`${m[3]}/${m[1]}`, got);
  }
  return out;
}

const canRecord = run("perf", ["--version"]).ok && run("gcc", ["--version"]).ok;

Deno.test({
  name: "live perf record: every callchain line matches perf script -F ip,sym,symoff,dso",
  ignore: !canRecord,
  fn(t) {
    const dir = Deno.makeTempDirSync({ prefix: "callring-sym-" });
    try {
      Deno.writeTextFileSync(`${dir}/prog.c`, PROGRAM);
      assert.ok(
        run("gcc", ["-O1", "-g", "-fno-omit-frame-pointer", "-o", "prog", "prog.c"], dir).ok,
      );
      const rec = run("perf", [
        "record",
        "-q",
        "-e",
        "cpu-clock",
        "-g",
        "-F",
        "4000",
        "-o",
        "p.data",
        "--",
        "./prog",
      ], dir);
      if (!rec.ok) {
        t.step({ name: "perf record unavailable here (skipped)", ignore: true, fn() {} });
        return;
      }
      const expected = parseScript(
        run("perf", ["script", "--ns", "-i", "p.data", "-F", "tid,time,ip,sym,symoff,dso"], dir)
          .out,
      );
      const dump = run("perf", ["report", "-D", "-i", "p.data"], dir).out;
      const got = replayDump(dump, new Symbolizer());
      assert.ok(expected.size > 10, `only ${expected.size} samples`);
      let compared = 0, userFrames = 0;
      for (const [key, lines] of expected) {
        const mine = got.get(key);
        assert.ok(mine, `sample ${key} missing from the dump replay`);
        // perf script stops at its max stack depth; compare what it printed.
        assert.deepEqual(mine.slice(0, lines.length), lines, `sample ${key}`);
        compared++;
        userFrames += lines.filter((l) => l.includes("(" + dir)).length;
      }
      assert.equal(compared, expected.size);
      assert.ok(userFrames > 0, "no frame of the test program was symbolized");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
