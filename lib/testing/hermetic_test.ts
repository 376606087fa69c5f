// The fixture tests pass on a machine with another kernel build and another libc: they run here
// inside a private mount namespace (`unshare -m`) where bind mounts put another kernel build-id
// over /sys/kernel/notes, another kernel's kallsyms over /proc/kallsyms, a libc with another
// build-id over this one, and empty directories over /usr/lib/debug, ~/.debug and
// /tmp/callring-fixture. perf itself is checked to see a foreign machine there (it prints its
// "No kallsyms or vmlinux with build-id" line for a fixture without the fixtures' symbols).
import assert from "node:assert/strict";
import { findBuildIdNote } from "../analyze/elf.ts";
import { fixture, perfAvailable } from "./perf_tool.ts";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";

/** Why the namespace cannot be made here, or undefined when it can. */
function cannotIsolate(): string | undefined {
  if (Deno.uid() !== 0) return "needs root for mount namespaces and bind mounts";
  try {
    const r = new Deno.Command("unshare", {
      args: ["-m", "sh", "-c", "mount --bind /tmp /tmp"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (!r.success) return "unshare -m / mount --bind not permitted here";
  } catch {
    return "unshare is not installed";
  }
  try {
    Deno.readFileSync("/sys/kernel/notes");
    Deno.statSync(LIBC);
  } catch {
    return `/sys/kernel/notes or ${LIBC} is missing`;
  }
  return undefined;
}

/** The bytes with every byte of the build-id note's descriptor flipped. */
function otherBuildId(bytes: Uint8Array): Uint8Array {
  const id = findBuildIdNote(bytes);
  const out = bytes.slice();
  if (id === undefined) return out;
  const want = Uint8Array.from(id.match(/../g)!.map((h) => parseInt(h, 16)));
  for (let at = 0; at + want.length <= out.length; at++) {
    if (want.every((b, k) => out[at + k] === b)) {
      for (let k = 0; k < want.length; k++) out[at + k] = out[at + k]! ^ 0x5a;
      return out;
    }
  }
  return out;
}

/** Another kernel build's kallsyms: the same addresses with the built-in names rotated. */
function otherKallsyms(text: string): string {
  const lines = text.split("\n").filter((l) => l !== "");
  const builtin = lines.map((l, i) => [l, i] as const).filter(([l]) => !l.includes("\t"));
  const names = builtin.map(([l]) => l.split(" ").slice(2).join(" "));
  const shift = Math.min(1000, Math.max(1, names.length >> 1));
  const out = [...lines];
  builtin.forEach(([l, i], k) => {
    const [addr, type] = l.split(" ");
    out[i] = `${addr} ${type} ${names[(k + shift) % names.length]}`;
  });
  return out.join("\n") + "\n";
}

const WHY = cannotIsolate();

Deno.test({
  name: `fixture tests pass with another kernel build, another libc, no debug files${
    WHY === undefined ? "" : ` (ignored: ${WHY})`
  }`,
  ignore: WHY !== undefined,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "callring-foreign-" });
  try {
    await Deno.writeFile(`${dir}/notes`, otherBuildId(await Deno.readFile("/sys/kernel/notes")));
    await Deno.writeTextFile(
      `${dir}/kallsyms`,
      otherKallsyms(await Deno.readTextFile("/proc/kallsyms")),
    );
    await Deno.writeFile(`${dir}/libc.so.6`, otherBuildId(await Deno.readFile(LIBC)), {
      mode: 0o755,
    });
    await Deno.mkdir(`${dir}/empty`);
    await Deno.mkdir("/tmp/callring-fixture", { recursive: true });
    const home = Deno.env.get("HOME") ?? "/root";
    const mounts = [
      [`${dir}/notes`, "/sys/kernel/notes"],
      [`${dir}/kallsyms`, "/proc/kallsyms"],
      [`${dir}/libc.so.6`, LIBC],
      [`${dir}/empty`, "/tmp/callring-fixture"],
    ];
    for (const d of ["/usr/lib/debug", `${home}/.debug`]) {
      try {
        if (Deno.statSync(d).isDirectory) mounts.push([`${dir}/empty`, d]);
      } catch {
        // absent: nothing to hide
      }
    }
    const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const perfCheck = (await perfAvailable())
      ? `PERF_PAGER=cat perf script -i ${q(fixture("fp.data"))} -F ip,sym 2>&1 >/dev/null | ` +
        `grep -q 'No kallsyms or vmlinux with build-id' && echo FOREIGN-KERNEL; `
      : "";
    const tests = [
      "../analyze/load_test.ts",
      "../output/script_run_test.ts",
      "../analyze/unwind_test.ts",
      "../../cli/report_folded_test.ts",
      "../../cli/report_test.ts",
      "../../cli/report_script_text_test.ts",
      "../perfdata/writer_test.ts",
    ].map((p) => new URL(p, import.meta.url).pathname);
    const script = mounts.map(([from, to]) => `mount --bind ${q(from!)} ${q(to!)}`).join(" && ") +
      ` && ${perfCheck}exec ${q(Deno.execPath())} test -A --no-check ` +
      // The tests about fixtures (their names say which); live recordings are left out.
      `--filter '/(fp|sys|dwarf|pipe|nocpu)\\.data|\\((fp|sys|dwarf|pipe|nocpu)\\)|fixture/' ${
        tests.map(q).join(" ")
      }`;
    const out = await new Deno.Command("unshare", {
      args: ["-m", "sh", "-c", script],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (perfCheck) assert.match(text, /FOREIGN-KERNEL/, "perf sees another kernel build");
    assert.equal(out.code, 0, text.slice(-4000));
    const passed = Number(/ok \| (\d+) passed/.exec(text)?.[1] ?? 0);
    assert.ok(passed >= 20, `the fixture tests ran: ${text.slice(-600)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
