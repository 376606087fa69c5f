import { deepStrictEqual as eq, ok, throws } from "node:assert/strict";
import {
  looksLikePerfScriptText,
  MAX_FRAMES,
  parseFrameText,
  parseHeaderLine,
  readPerfScriptText,
  ScriptTextParser,
  type ScriptTextSample,
  ScriptTextSyntaxError,
} from "./perf_script_text.ts";

const fixture = (name: string) => new URL(`../../testdata/${name}`, import.meta.url).pathname;

Deno.test("header lines of perf's default output and -F variants", () => {
  const h = (line: string) => {
    const r = parseHeaderLine(line);
    return r && [r.comm, r.pid, r.tid, r.cpu, r.time, r.period, r.event, r.rest];
  };
  eq(h("burn 11168/11168 [000]   516.952078:     500000 cpu-clock: "), [
    "burn",
    11168,
    11168,
    0,
    516952078000,
    500000,
    "cpu-clock",
    "",
  ]);
  eq(h("burn worker 1 11168/11170 [001]   516.955567:     500000 cpu-clock: "), [
    "burn worker 1",
    11168,
    11170,
    1,
    516955567000,
    500000,
    "cpu-clock",
    "",
  ]);
  // default output: tid only (pid unknown)
  eq(h("burn 11175 [000]   518.049545:    2000000 cpu-clock: "), [
    "burn",
    -1,
    11175,
    0,
    518049545000,
    2000000,
    "cpu-clock",
    "",
  ]);
  // no cpu; --ns; modifiers in the event; padded comm without callchain
  eq(h("burn 11262/11262   520.255561:     500000 cpu-clock: "), [
    "burn",
    11262,
    11262,
    -1,
    520255561000,
    500000,
    "cpu-clock",
    "",
  ]);
  eq(h("x 5/6 [002] 12.000000123:  7 cycles:u: ")?.slice(4, 7), [12000000123, 7, "cycles:u"]);
  eq(
    h("            burn 11168/11168 [000]   516.952078:     500000 cpu-clock:  ffffffff8134515f"),
    ["burn", 11168, 11168, 0, 516952078000, 500000, "cpu-clock", " ffffffff8134515f"],
  );
  // comm only, no time/period: the event alone is not a sample line
  eq(h("hello world: "), undefined);
  eq(h("\tffffffff8134515f"), undefined);
});

Deno.test("frame lines: symbol, offset, object, inlined, unknown, (deleted)", () => {
  eq(parseFrameText("ffffffff8134515f flush_tlb_mm_range+0x4af ([kernel.kallsyms])"), {
    sym: "flush_tlb_mm_range",
    dso: "[kernel.kallsyms]",
    ip: 0xffffffff8134515fn,
    kernel: true,
  });
  eq(parseFrameText("            11b9 leaf+0x18 (/tmp/callring-fixture/burn)"), {
    sym: "leaf",
    dso: "/tmp/callring-fixture/burn",
    ip: 0x11b9n,
    kernel: false,
  });
  eq(parseFrameText("               0 [unknown] ([unknown])"), {
    sym: undefined,
    dso: undefined,
    ip: 0n,
    kernel: false,
  });
  eq(parseFrameText("           27304 __libc_start_main_impl+0x84 (inlined)"), {
    sym: "__libc_start_main_impl",
    dso: undefined,
    ip: 0x27304n,
    kernel: false,
    inlined: true,
  });
  eq(parseFrameText("            27304 (inlined)")?.inlined, true);
  eq(parseFrameText("1200 operator new(unsigned long)+0x1 (/tmp/a (deleted))"), {
    sym: "operator new(unsigned long)",
    dso: "/tmp/a (deleted)",
    ip: 0x1200n,
    kernel: false,
  });
  eq(
    parseFrameText("ffffffffc0a01234 nft_do_chain+0x4 (/lib/modules/x/nf_tables.ko)")?.kernel,
    true,
  );
  eq(parseFrameText("            11c3"), {
    sym: undefined,
    dso: undefined,
    ip: 0x11c3n,
    kernel: false,
  });
  eq(parseFrameText("not a frame"), undefined);
});

function parseAll(
  text: string,
  chunk = text.length,
): { samples: ScriptTextSample[]; p: ScriptTextParser } {
  const samples: ScriptTextSample[] = [];
  const p = new ScriptTextParser({ source: "t.txt", onSample: (s) => samples.push(s) });
  for (let i = 0; i < text.length; i += chunk) p.push(text.slice(i, i + chunk));
  p.end();
  return { samples, p };
}

const SMALL = "# comment\n" +
  "burn 1/2 [000]     1.000001:     500000 cpu-clock: \n" +
  "\tffffffff8134515f do_x+0x4 ([kernel.kallsyms])\n" +
  "\t               0 [unknown] ([unknown])\n" +
  "\t            11b9 leaf+0x18 (/bin/burn)\n" +
  "\t            11ff main (/bin/burn)\n" +
  "\n" +
  "burn worker 1 1/3 [001]     1.000002:     250000 cpu-clock: \n" +
  "\t            11b9 leaf+0x18 (/bin/burn)\n" +
  "\t  burn.c:12\n" +
  "\n";

Deno.test("samples: leaf-first frames, unmapped frames in the leaf's mode, skipped lines named", () => {
  const { samples, p } = parseAll(SMALL);
  eq(samples.length, 2);
  eq(samples[0].frames.map((f) => [f.sym, f.kernel]), [
    ["do_x", true],
    [undefined, true], // no map: the sample's (the leaf's) cpumode, as perf prints it
    ["leaf", false],
    ["main", false],
  ]);
  eq([samples[1].comm, samples[1].tid, samples[1].weight, samples[1].callchain], [
    "burn worker 1",
    3,
    250000,
    true,
  ]);
  eq(p.skipped, { comments: 1, other: 1, deep: 0 });
  eq(p.warnings, [
    "t.txt: 1 lines inside samples are not callchain frames and were skipped (first at line 10)",
  ]);
});

Deno.test("chunk boundaries anywhere give the same samples", () => {
  const whole = parseAll(SMALL).samples;
  for (let chunk = 1; chunk < 40; chunk++) eq(parseAll(SMALL, chunk).samples, whole);
});

Deno.test("a line that is no sample header outside samples: one error naming the line", () => {
  throws(() => parseAll("burn 1/1 [000] 1.0: 1 cpu-clock: \n\nrandom text here\n"), (e) => {
    ok(e instanceof ScriptTextSyntaxError);
    eq(e.line, 3);
    ok(e.message.startsWith("t.txt: line 3: not a perf script sample line"));
    return true;
  });
});

Deno.test("detection by content: text yes, perf.data, captures and binary no", async () => {
  ok(looksLikePerfScriptText(new TextEncoder().encode(SMALL)));
  const data = await Deno.readFile(fixture("fp.data"));
  ok(!looksLikePerfScriptText(data.subarray(0, 4096)));
  ok(!looksLikePerfScriptText(new TextEncoder().encode("CALLRING\n")));
  ok(!looksLikePerfScriptText(new TextEncoder().encode("main;leaf 12\n")));
  ok(!looksLikePerfScriptText(new Uint8Array(0)));
  // a cut in the middle of a UTF-8 sequence is not a reason to refuse
  const bytes = new TextEncoder().encode("bürn 1/1 [000] 1.0: 1 cpu-clock: \n\t1 ä");
  ok(looksLikePerfScriptText(bytes.subarray(0, bytes.length - 1)));
});

for (const name of ["fp", "sys", "nocpu", "pipe", "dwarf"]) {
  Deno.test(`every sample of ${name}'s perf script outputs is read`, async () => {
    const heads = (await Deno.readTextFile(fixture(`${name}.script.txt`))).split("\n")
      .filter((l) => l !== "" && !l.startsWith("\t")).length;
    for (const v of ["script", "script-sym", "script-default"]) {
      const samples: ScriptTextSample[] = [];
      const r = await readPerfScriptText(fixture(`${name}.${v}.txt`), (s) => samples.push(s));
      eq(r.samples, heads, v);
      eq(r.warnings, [], v);
      ok(samples.every((s) => s.callchain && s.frames.length > 0 && s.eventName === "cpu-clock"));
    }
  });
}

Deno.test("perf script -G output: one frame per sample, on the header line", async () => {
  for (const v of ["fp.script-nocg.txt", "fp.script-sym-nocg.txt"]) {
    const samples: ScriptTextSample[] = [];
    await readPerfScriptText(fixture(v), (s) => samples.push(s));
    ok(samples.length > 100);
    ok(samples.every((s) => !s.callchain && s.frames.length === 1));
    eq(samples[0].frames[0].ip, 0xffffffff8134515fn);
    eq(samples[0].frames[0].kernel, true);
  }
});

Deno.test("input without newlines: an error after 16 MiB, not unbounded memory", () => {
  const p = new ScriptTextParser({ source: "big.txt", onSample: () => {} });
  const chunk = "x".repeat(1 << 20);
  throws(() => {
    for (let i = 0; i < 20; i++) p.push(chunk);
  }, /big.txt: line 1: line longer than 16 MiB/);
});

Deno.test("a callchain of 127 entries (perf script's limit) is marked truncated, 126 is not", () => {
  const sample = (n: number) =>
    "deep 1/1 [000] 1.000000: 1 cpu-clock: \n" +
    "\t            1243 deep+0x3 (/bin/burn)\n".repeat(n) +
    "\n";
  eq(parseAll(sample(127) + sample(126)).samples.map((s) => s.truncated), [true, false]);
});

Deno.test("a sample with more frame lines than MAX_FRAMES keeps MAX_FRAMES, counted and named", () => {
  const text = "x 1/1 [000] 1.000000: 1 cpu-clock: \n" + "\t1 f (/bin/x)\n".repeat(MAX_FRAMES + 3) +
    "\n";
  const { samples, p } = parseAll(text, 1 << 16);
  eq(samples[0].frames.length, MAX_FRAMES);
  eq(samples[0].truncated, true);
  eq(p.skipped.deep, 3);
  ok(p.warnings[0].includes(`3 frame lines beyond ${MAX_FRAMES} in one sample`));
});
