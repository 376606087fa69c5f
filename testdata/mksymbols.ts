/**
 * Build `testdata/symbols/`: everything the fixtures need to be symbolized
 * as they were when they were recorded, so no test depends on the kernel,
 * `/usr/lib` or `~/.debug` of the machine that runs it.
 *
 * The directory is both a perf `--symfs` root (the recorded paths of the
 * user DSOs, and `/usr/lib/debug/.build-id/...` debug files under it) and a
 * `HOME` whose `.debug/` is a perf build-id cache (`perf buildid-cache`
 * layout: `.debug/[kernel.kallsyms]/<id>/kallsyms`,
 * `.debug/<path>/<id>/elf`, `.debug/.build-id/xx/<rest> -> ../../<path>/<id>`).
 *
 * To stay small the files are trimmed, not changed in what perf reads:
 * - the kallsyms copy keeps, of the running kernel's `/proc/kallsyms`, the
 *   symbols the fixtures' kernel addresses fall in, the symbol after each
 *   (it decides where perf ends the symbol) and the relocation reference
 *   `_text`;
 * - ELF files keep their layout; the bytes of sections perf and addr2line
 *   never read for symbols (code, data) are zeroed, and compressed sections
 *   that are not needed become `SHT_NOBITS`.
 *
 * Run from the repository root after `testdata/regen.sh`, on the machine
 * and boot that recorded the fixtures, as root (real kallsyms addresses):
 *
 *     deno run -A testdata/mksymbols.ts
 *
 * It then checks that perf, given only this directory
 * (`HOME=testdata/symbols perf script --symfs testdata/symbols --kallsyms ...`),
 * prints exactly the committed expectations.
 *
 * @module
 */

import { ElfFile } from "../lib/analyze/elf.ts";

const FIXTURES = ["fp", "sys", "dwarf", "pipe", "nocpu"];
const root = new URL("./symbols/", import.meta.url).pathname;
const testdata = new URL("./", import.meta.url).pathname;

/** Sections whose bytes perf (symbols, PLT, unwinding) or addr2line read. */
const KEEP = /^\.(note|dynsym|dynstr|symtab|strtab|shstrtab|gnu\.version|gnu\.hash|hash|rela?\.|plt|got|gnu_debuglink|gnu_debugaltlink|eh_frame|debug_(info|abbrev|line|line_str|str|str_offsets|addr|ranges|rnglists|aranges)$|dynamic|interp)/;

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const out = new Deno.Command(cmd, {
    args,
    env: { PERF_PAGER: "cat", LC_ALL: "C", ...env },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A copy of an ELF file with the bytes of sections outside KEEP zeroed. */
function trimElf(from: string, to: string, dwarf = true): void {
  const bytes = Deno.readFileSync(from);
  const elf = ElfFile.open(from);
  const view = new DataView(bytes.buffer);
  const { shoff } = elf.header;
  try {
    elf.sections.forEach((s, i) => {
      if (s.type === 8 || s.type === 0) return; // NOBITS, NULL
      if (KEEP.test(s.name) && (dwarf || !s.name.startsWith(".debug_"))) return;
      const off = Number(s.offset), size = Number(s.size);
      bytes.fill(0, off, off + size);
      if (s.flags & 0x800n) {
        // SHF_COMPRESSED: an all-zero stream is no stream; say "no bytes" instead.
        view.setUint32(shoff + i * 64 + 4, 8, true); // sh_type = SHT_NOBITS
      }
    });
  } finally {
    elf.close();
  }
  Deno.mkdirSync(to.slice(0, to.lastIndexOf("/")), { recursive: true });
  Deno.writeFileSync(to, bytes, { mode: 0o755 });
}

/** The kallsyms lines the fixtures' kernel addresses need (see the module doc). */
function trimKallsyms(text: string, addrs: bigint[]): string {
  const lines = text.split("\n").filter((l) => l !== "");
  const parsed = lines.map((l, i) => {
    const [a, type, name] = l.split(" ");
    const t = type.toUpperCase();
    const kept = (t === "T" || t === "W" || t === "D" || t === "B") && !name.startsWith("$");
    return { i, addr: BigInt("0x" + a), kept, name };
  });
  const sorted = parsed.filter((p) => p.kept).sort((a, b) =>
    a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.i - b.i
  );
  const starts = [...new Set(sorted.map((p) => p.addr))];
  const want = new Set<bigint>();
  for (const a of addrs) {
    let lo = 0, hi = starts.length - 1, k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= a) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (k < 0) continue;
    want.add(starts[k]);
    if (k + 1 < starts.length) want.add(starts[k + 1]);
  }
  const keep = new Set<number>();
  for (const p of parsed) {
    if (want.has(p.addr) && p.kept) keep.add(p.i);
    if (p.name === "_text" || p.name === "_stext" || p.name === "_etext") keep.add(p.i);
  }
  return lines.filter((_, i) => keep.has(i)).join("\n") + "\n";
}

function buildIdOf(path: string): string {
  const elf = ElfFile.open(path);
  try {
    const id = elf.buildId();
    if (id === undefined) throw new Error(`${path}: no build-id`);
    return id;
  } finally {
    elf.close();
  }
}

/** Put `file` into the build-id cache as perf buildid-cache does. */
function cacheAdd(path: string, id: string, file: string, name = "elf"): void {
  const dir = `${root}.debug${path}/${id}`;
  Deno.mkdirSync(dir, { recursive: true });
  Deno.copyFileSync(file, `${dir}/${name}`);
  const linkDir = `${root}.debug/.build-id/${id.slice(0, 2)}`;
  Deno.mkdirSync(linkDir, { recursive: true });
  const link = `${linkDir}/${id.slice(2)}`;
  try {
    Deno.removeSync(link);
  } catch {
    // absent
  }
  Deno.symlinkSync(`../..${path}/${id}`, link);
}

function fieldsOf(name: string): string {
  return name === "nocpu"
    ? "comm,pid,tid,time,period,event,ip,sym,dso,symoff"
    : "comm,pid,tid,cpu,time,period,event,ip,sym,dso,symoff";
}

function main(): void {
  try {
    Deno.removeSync(root, { recursive: true });
  } catch {
    // first run
  }
  Deno.mkdirSync(root, { recursive: true });
  // Kernel: the running kernel recorded the fixtures (its build-id is in their headers).
  const kernelId = run("perf", ["buildid-list", "-i", `${testdata}fp.data`]).split("\n")
    .find((l) => l.endsWith(" [kernel.kallsyms]"))!.split(" ")[0];
  const kallsyms = Deno.readTextFileSync("/proc/kallsyms");
  const addrs = new Set<bigint>();
  const dsos = new Set<string>();
  /** DSOs with DWARF-unwound frames: addr2line reads their DWARF for inline frames. */
  const inlined = new Set<string>();
  for (const f of FIXTURES) {
    for (const line of run("perf", ["script", "-i", `${testdata}${f}.data`, "-F", "ip"]).split("\n")) {
      const a = line.trim().split(" ")[0];
      if (/^ffff[0-9a-f]{12}$/.test(a)) addrs.add(BigInt("0x" + a));
    }
    const sym = Deno.readTextFileSync(`${testdata}${f}.script-sym.txt`);
    for (const m of sym.matchAll(/ \((\/[^()]*)\)$/gm)) {
      dsos.add(m[1]);
      if (f === "dwarf") inlined.add(m[1]);
    }
  }
  const kdir = `${root}.debug/[kernel.kallsyms]/${kernelId}`;
  Deno.mkdirSync(kdir, { recursive: true });
  Deno.writeTextFileSync(`${kdir}/kallsyms`, trimKallsyms(kallsyms, [...addrs]));
  Deno.mkdirSync(`${root}.debug/.build-id/${kernelId.slice(0, 2)}`, { recursive: true });
  Deno.symlinkSync(
    `../../[kernel.kallsyms]/${kernelId}`,
    `${root}.debug/.build-id/${kernelId.slice(0, 2)}/${kernelId.slice(2)}`,
  );
  // User DSOs at their recorded paths (the symfs part), their build-id debug
  // files, and the ones the recordings name by build-id in the cache too.
  for (const dso of [...dsos].sort()) {
    const local = dso === "/tmp/callring-fixture/burn" ? `${testdata}bin/burn` : dso;
    trimElf(local, `${root}${dso.slice(1)}`);
    const id = buildIdOf(local);
    const debug = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
    try {
      Deno.statSync(debug);
      trimElf(debug, `${root}${debug.slice(1)}`, inlined.has(dso));
    } catch {
      // no separate debug file
    }
    if (dso === "/tmp/callring-fixture/burn") cacheAdd(dso, id, `${root}${dso.slice(1)}`);
  }
  // Check: perf with nothing but this directory prints the committed outputs.
  let bad = 0;
  const noTip = (t: string) => t.replace(/\n# \(Tip:.*\n/, "\n");
  for (const f of FIXTURES) {
    const args = ["-i", `${testdata}${f}.data`, "--symfs", root, "--kallsyms", `${kdir}/kallsyms`];
    const checks: [string, string[]][] = [
      ["script-sym", ["script", ...args, "-F", fieldsOf(f)]],
      ["script-default", ["script", ...args]],
      ["report-self", ["report", ...args, "--stdio", "--no-children", "--sort", "sym"]],
      ["report-children", ["report", ...args, "--stdio", "--children", "--sort", "sym"]],
    ];
    for (const [out, cmd] of checks) {
      const got = noTip(run("perf", cmd, { HOME: root }));
      const same = got === noTip(Deno.readTextFileSync(`${testdata}${f}.${out}.txt`));
      if (!same) bad++;
      console.log(`${f}.${out}: perf with testdata/symbols ${same ? "matches" : "DIFFERS"}`);
    }
  }
  for (const p of [...walk(root)].sort()) {
    console.log(`${Deno.lstatSync(p).size.toString().padStart(9)} ${p.slice(root.length)}`);
  }
  if (bad) Deno.exit(1);
}

function* walk(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`.replace("//", "/");
    if (e.isDirectory) yield* walk(p);
    else yield p;
  }
}

if (import.meta.main) main();
