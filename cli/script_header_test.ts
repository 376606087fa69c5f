/**
 * `script --header`, `--header-only` and `-I` against perf 6.1: recordings
 * made now (file and pipe mode, stdin), the committed fixtures, and foreign
 * files of the shared corpus (old perf versions, hybrid and group headers,
 * pipe mode), byte for byte on the same file (the `captured on` line is the
 * file's mtime for both).
 */
import assert from "node:assert/strict";
import {
  corpusFile,
  fixture,
  perfAvailable,
  perfCanRecord,
  recordBurn,
  runPerf,
} from "../lib/testing/perf_tool.ts";
import { runCli } from "../lib/testing/cli_run.ts";

/** perf script and callring script on the same file and arguments: equal stdout. */
async function same(path: string, args: string[]): Promise<string> {
  const perf = await runPerf(["script", "-i", path, ...args]);
  const ours = await runCli("script", ["-i", path, ...args]);
  assert.equal(perf.code, 0, perf.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout, perf.stdout, `${path} ${args.join(" ")}`);
  return ours.stdout;
}

Deno.test({
  name:
    "script --header-only / --header / -I equal live perf script (fresh file and pipe recordings)",
  ignore: !(await perfCanRecord()),
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await recordBurn(dir, ["-g", "--sample-cpu"], 50);
    const pipe = await recordBurn(dir, [], 50, true);
    const only = await same(file, ["--header-only"]);
    for (
      const line of [
        "# captured on    : ",
        "# data offset    : ",
        "# cmdline : ",
        "# event : name = cpu-clock, , id = {",
        "# CPU_TOPOLOGY info available, use -I to display",
        "# pmu mappings: ",
        "# sample duration : ",
        "# missing features: ",
      ]
    ) assert.ok(only.includes("\n" + line), line);
    assert.ok(only.endsWith("# ========\n#\n"));
    const full = await same(file, ["--header-only", "-I"]);
    assert.match(full, /^# sibling threads : /m);
    assert.match(full, /^# CPU cache info:$/m);
    await same(file, ["--header", "-F", "comm,tid,time,ip"]);
    // pipe mode: the block has offsets 0 and no features; --header prints them as they arrive
    const pipeOnly = await same(pipe, ["--header-only"]);
    assert.match(pipeOnly, /^# data offset {4}: 0$/m);
    assert.doesNotMatch(pipeOnly, /hostname/);
    const pipeHeader = await same(pipe, ["--header", "-F", "comm,tid,time"]);
    assert.match(pipeHeader, /^# hostname : /m);
    await same(pipe, ["-I", "-F", "comm,tid,time"]);
    // from stdin redirected from the file: perf's fstat of it (a shell does the redirection)
    const viaStdin = async (tool: "perf" | "ours") => {
      const cmd = tool === "perf"
        ? ["perf", "script"]
        : [Deno.execPath(), "run", "-A", new URL("./script.ts", import.meta.url).pathname];
      const quoted = [...cmd, "-i", "-", "--header", "-F", "comm,tid"]
        .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
      const out = await new Deno.Command("sh", {
        args: ["-c", `${quoted} < "$0"`, pipe],
        env: { PERF_PAGER: "cat", LC_ALL: "C", NO_COLOR: "1" },
        stdout: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout);
    };
    assert.match(await viaStdin("perf"), /^# hostname : /m);
    assert.equal(await viaStdin("ours"), await viaStdin("perf"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "script --header-only [-I] equals perf script on the fixtures and corpus files",
  ignore: !(await perfAvailable()),
}, async () => {
  const files = [
    fixture("fp.data"),
    fixture("pipe.data"),
    fixture("nocpu.data"),
    ...[
      "quipper__perf.data.armv7.perf_3.14-3.8", // a malformed CPUDESC: later features print empty
      "quipper__perf.data.weight_struct", // topology without core ids (perf's size rule)
      "quipper__perf.data.hybrid_topology", // HYBRID_TOPOLOGY, PMU_CAPS, three events
      "quipper__perf.data.group_desc-4.14",
      "quipper__perf.data.intel_pt-4.14", // AUXTRACE
      "lnt__fib-aarch64.perf_data", // perf 4.0: no CPUDESC, attr size 104
      "perfparser__vector_static_gcc_perf.data.zstd", // COMPRESSED
      "quipper__perf.data.piped.header_features-4.16",
      "quipper__perf.data.branch_stack_spec", // BPF_PROG_INFO with BTF-named sub-programs
    ].map(corpusFile).filter((f): f is string => f !== undefined),
  ];
  for (const f of files) {
    await same(f, ["--header-only"]);
    await same(f, ["--header-only", "-I"]);
  }
});

Deno.test("script and report --header-only refuse a callring capture in one line (exit 1)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cap = `${dir}/cap.data`;
    const rec = await runCli("record", ["--duration", "20", "-o", cap]);
    assert.equal(rec.code, 0, rec.stderr);
    for (const command of ["script", "report"]) {
      const r = await runCli(command, ["-i", cap, "--header-only"]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(
        r.stderr,
        `callring ${command}: error: --header-only: ${cap} is a capture input, which has no ` +
          "perf.data header\n",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
