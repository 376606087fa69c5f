/**
 * `callring report`: a profile of a perf.data file (file or pipe mode) or a
 * callring capture, with `perf report`'s options and text layout.
 *
 *     deno task report -i perf.data --stdio --no-children --sort sym
 *     deno task report --folded > out.folded
 *     deno task report --flamegraph out.svg --speedscope out.json
 *     deno task report -i before.data --diff after.data
 *
 * Decisions (where perf has no equivalent or callring differs):
 * - `-i` also reads `perf script` text (perf's default output or `-F` lists,
 *   with or without callchains), told by content: `report -i out.txt --folded`
 *   gives what the perf.data it was printed from gives.
 * - `-i` defaults to `perf.data`; when that file does not exist and
 *   `callring.data` does, `callring.data` is read instead.
 * - `--children` is the default when the samples carry callchains (as in
 *   perf). On pipe-mode perf.data, perf 6.1 silently turns `--children` off
 *   (keeping caller-order graphs); callring does the same so reports match.
 * - `--folded` prints folded stacks instead of the text report;
 *   `--flamegraph` / `--speedscope` / `--pprof` write files and suppress the text report
 *   unless `--stdio` is also given.
 * - `--diff OTHER` compares the input (baseline) with OTHER: a table of the
 *   biggest changes, or with `--folded` the `difffolded.pl` lines
 *   (`stack baseline comparison`); with an HTML `--flamegraph`, a
 *   differential flame graph (widths from OTHER, red grew, blue shrank).
 * - Samples read, samples lost and truncated stacks are stated in `# callring:`
 *   lines before the perf-compatible text (on stderr for other outputs).
 * - `-n` / `--show-nr-samples` adds perf's `Samples` column; weighting every
 *   sample 1 instead of by its period (for every output) is
 *   `--count-samples`, which perf has no equivalent of.
 *
 * Exit status: 0 ok, 1 bad or missing input, 2 usage error.
 *
 * @module
 */

import { Command } from "commander";
import { type FilterOptions, FilterSyntaxError, sampleFilter } from "../lib/analyze/filter.ts";
import {
  type LoadOptions,
  loadProfile,
  type LoadResult,
  reportedEvents,
  UnknownEventError,
} from "../lib/analyze/load.ts";
import { DEFAULT_MAX_STACK } from "../lib/analyze/unwind.ts";
import { loadScriptTextProfile } from "../lib/analyze/script_text_load.ts";
import { isPerfScriptTextFile } from "../lib/input/perf_script_text.ts";
import { diffFolded } from "../lib/analyze/diff.ts";
import { perfDiff } from "../lib/output/perf_diff.ts";
import { AttrType, SampleType } from "../lib/abi/mod.ts";
import { TraceTexts } from "../lib/output/trace_report.ts";
import { branchReportText, BranchViews } from "../lib/output/branch_report.ts";
import { foldedStacks } from "../lib/output/folded.ts";
import { flamegraphHtml } from "../lib/output/flamegraph_html.ts";
import { flamegraphSvg } from "../lib/output/flamegraph_svg.ts";
import { speedscopeFile } from "../lib/output/speedscope.ts";
import { pprofBytes } from "../lib/output/pprof.ts";
import {
  CallGraphParamError,
  type CallGraphParams,
  parseCallGraphParams,
} from "../lib/output/report_callchain.ts";
import type { Profile } from "../lib/analyze/profile.ts";
import { type FieldList, parseFields } from "../lib/output/report_fields.ts";
import { readThreadCounts } from "../lib/analyze/thread_counts.ts";
import { threadCountsTable } from "../lib/output/thread_counts_print.ts";
import {
  accountingLines,
  dsoShortName,
  parseSortKeys,
  ReportOptionError,
  type SortKey,
  sortNeedsSampleOrder,
  textReportSections,
} from "../lib/output/text_report.ts";
import {
  checkInputFile,
  checkOutputFile,
  cliProgram,
  ExitCode,
  fail,
  failOn,
  progressBar,
  warn,
  writeStdout,
} from "./_common.ts";

import {
  perfHeaderFeatureText,
  PerfHeaderInputError,
  perfHeaderOutputText,
  perfHeaderSource,
  readPerfHeaderInfo,
} from "../lib/output/perf_header_print.ts";
import type { InputInfo } from "../lib/input/open.ts";

const COMMAND = "report";

/**
 * Run `callring report` with the given arguments.
 *
 * @param args The command-line arguments (without the command name).
 */
export async function main(args: string[]): Promise<void> {
  const program = new Command(COMMAND)
    .description(
      "Profile a perf.data file (or callring capture) like `perf report`: text call tree, " +
        "folded stacks, flamegraphs, speedscope, differential profiles.",
    )
    .option(
      "-i, --input <file>",
      "input: perf.data, pipe-mode data, - for stdin, a callring capture, or perf script text " +
        "(default perf.data, or callring.data when only that exists)",
    )
    .option("--stdio", "text report on stdout (the default output)")
    .option("--branch-stack", "branch mode: one entry per branch target (default with --sort)")
    .option("--no-branch-stack", "the samples, not their branch stacks")
    .option("--children", "accumulate callers' time into callees (default with callchains)")
    .option("--no-children", "only self time per entry")
    .option("-s, --sort <keys>", "sort keys: comm,dso,sym,pid,cpu,trace", "comm,dso,sym")
    .option(
      "-F, --fields <fields>",
      "output columns: overhead, overhead_sys, overhead_us, overhead_guest_sys, " +
        "overhead_guest_us, overhead_children, sample, period and the sort keys; +F,... " +
        "follows the default columns (sort keys not named are appended, as in perf)",
    )
    .option(
      "-g, --call-graph <params>",
      "call graph, perf's tokens in any order: graph, folded or none, <threshold %>, " +
        "<print limit>, caller or callee, function, percent (graph,0.5,caller,function,percent)",
    )
    .option("-G, --inverted", "caller-order call graphs (as perf's alias of -g caller)")
    .option(
      "--percent-limit <pct>",
      "hide entries and graph branches below this percent (default: entries 0, graphs 0.5)",
    )
    .option("--cpu <list>", "only samples on these CPUs (0-3,5)")
    .option("--pid <list>", "only these process ids (text report: perf's entry filter)")
    .option("--tid <list>", "only these thread ids (text report: perf's entry filter)")
    .option("-c, --comms <list>", "only these command names (text report: perf's entry filter)")
    .option("--comm <list>", "the same as --comms")
    .option("-d, --dsos <list>", "text report: only entries of samples in these dsos")
    .option("-S, --symbols <list>", "text report: only entries of samples in these symbols")
    .option(
      "--percentage <mode>",
      "absolute (of every sample, the default) or relative (of the entries shown)",
      "absolute",
    )
    .option("--context <list>", "only these contexts: task, softirq, hardirq, nmi")
    .option("--time <start,end>", "only samples in this time window (seconds)")
    .option("--kallsyms <file>", "kallsyms file for kernel symbols (default: by build-id, as perf)")
    .option("--symfs <dir>", "look for symbol files relative to this directory (as perf)")
    .option("--no-demangle", "print C++ and Rust symbol names as they are in the ELF file")
    .option("--max-stack <n>", "largest number of callchain entries used", "127")
    .option("--event <name>", "event to report (default: the first with samples)")
    .option("-n, --show-nr-samples", "show a Samples column (self sample counts), like perf")
    .option(
      "--count-samples",
      "weight samples 1 each instead of by period (callring; all outputs)",
    )
    .option("--folded", "print folded stacks (stackcollapse-perf.pl format) instead")
    .option("--flamegraph <file>", "write a flamegraph: .svg or .html")
    .option("--title <text>", "flamegraph title (default: input and event)")
    .option("--width <px>", "flamegraph width in pixels (HTML default: the window's)")
    .option("--palette <name>", "HTML flamegraph palette: hot, cold or gray", "hot")
    .option("--minwidth <px>", "HTML flamegraph: leave out frames narrower than this", "0.1")
    .option("--speedscope <file>", "write a speedscope JSON profile")
    .option(
      "--pprof <file>",
      "write a gzipped pprof profile.proto (go tool pprof, Pyroscope, Parca)",
    )
    .option(
      "--diff <other>",
      "compare with another recording as perf diff does (input = baseline; --folded: difffolded)",
    )
    .option("--header", "print perf's header of the file (its features) before the report")
    .option("--header-only", "print perf's header of the file only")
    .option(
      "-I, --show-info",
      "with --header: the topologies in full; in pipe mode the features print without it too",
    )
    .option(
      "-T, --threads",
      "after the text report, perf's per-thread event counts (PERF_RECORD_READ, perf record -s)",
    )
    .option("-q, --quiet", "no header lines, no warnings, no progress")
    .option("-f, --force", "overwrite --flamegraph / --speedscope files of another kind");
  cliProgram(program, COMMAND).parse(args, { from: "user" });

  interface ReportFlags extends FilterOptions {
    input?: string;
    stdio?: boolean;
    children?: boolean;
    sort: string;
    fields?: string;
    callGraph?: string;
    inverted?: boolean;
    percentLimit?: string;
    kallsyms?: string;
    symfs?: string;
    demangle?: boolean;
    maxStack: string;
    event?: string;
    showNrSamples?: boolean;
    countSamples?: boolean;
    folded?: boolean;
    flamegraph?: string;
    title?: string;
    width?: string;
    palette: string;
    minwidth: string;
    speedscope?: string;
    pprof?: string;
    diff?: string;
    quiet?: boolean;
    header?: boolean;
    headerOnly?: boolean;
    showInfo?: boolean;
    threads?: boolean;
    force?: boolean;
    comms?: string;
    dsos?: string;
    symbols?: string;
    percentage: string;
  }

  const opts = program.opts<ReportFlags>();
  // commander sets `children` to true by default once `--no-children` exists; see rawArgs.
  const childrenGiven = args.some((a) => a === "--children" || a === "--no-children");
  const branchGiven = args.includes("--no-branch-stack")
    ? false
    : args.includes("--branch-stack")
    ? true
    : undefined;
  const sortGiven = args.some((a) => a === "--sort" || a.startsWith("--sort=") || /^-s/.test(a));

  function usage(message: string): never {
    fail(COMMAND, message, ExitCode.USAGE);
  }

  function defaultInput(): string {
    const exists = (p: string) => {
      try {
        Deno.statSync(p);
        return true;
      } catch {
        return false;
      }
    };
    if (!exists("perf.data") && exists("callring.data")) return "callring.data";
    return "perf.data";
  }

  const input = opts.input ?? defaultInput();
  let sort: SortKey[];
  const filter: FilterOptions = {
    cpu: opts.cpu,
    pid: opts.pid,
    tid: opts.tid,
    comm: opts.comms ?? opts.comm,
    context: opts.context,
    time: opts.time,
  };
  let graph: CallGraphParams | undefined;
  let fields: FieldList | undefined;
  try {
    sort = parseSortKeys(opts.sort);
    if (opts.fields !== undefined) fields = parseFields(opts.fields);
    sampleFilter(filter);
    if (opts.callGraph !== undefined) graph = parseCallGraphParams(opts.callGraph);
  } catch (e) {
    if (
      e instanceof FilterSyntaxError || e instanceof ReportOptionError ||
      e instanceof CallGraphParamError
    ) usage(e.message);
    throw e;
  }
  if (opts.percentage !== "absolute" && opts.percentage !== "relative") {
    usage(`--percentage must be absolute or relative: current "${opts.percentage}"`);
  }
  const fileOutputs = opts.flamegraph !== undefined || opts.speedscope !== undefined ||
    opts.pprof !== undefined;
  const textOutput = opts.diff === undefined && !opts.folded && (!fileOutputs || opts.stdio);
  // perf's branch view, per event (filled while the input is read); the trace key's texts
  const branchViews = new BranchViews();
  const traceTexts = new TraceTexts();
  const entryFilters = opts.dsos !== undefined || opts.symbols !== undefined;
  if (entryFilters && !textOutput) {
    usage("--dsos / --symbols filter the text report only (as in perf report)");
  }
  if (fields !== undefined && !textOutput) usage("--fields: columns of the text report only");
  if (opts.threads && !textOutput) usage("--threads: a table after the text report only");
  // perf report's --comms/--pid/--tid mark entries filtered (their samples stay in the
  // totals); the text report does the same, the other outputs drop the samples.
  const threadFilters = filter.pid !== undefined || filter.tid !== undefined ||
    filter.comm !== undefined;
  const percentLimit = opts.percentLimit === undefined ? undefined : Number(opts.percentLimit);
  if (percentLimit !== undefined && !(Number.isFinite(percentLimit) && percentLimit >= 0)) {
    usage(`--percent-limit must be a non-negative number: current "${opts.percentLimit}"`);
  }
  const maxStack = Number(opts.maxStack);
  if (!Number.isInteger(maxStack) || maxStack < 1) {
    usage(`--max-stack must be a positive integer: current "${opts.maxStack}"`);
  }
  if (opts.flamegraph && !/\.(svg|html?)$/i.test(opts.flamegraph)) {
    usage(`--flamegraph file must end in .svg or .html: current "${opts.flamegraph}"`);
  }
  if (opts.flamegraph !== undefined) {
    const kind = /\.svg$/i.test(opts.flamegraph) ? "svg" : "html";
    checkOutputFile(COMMAND, opts.flamegraph, kind, opts.force === true);
  }
  if (opts.speedscope !== undefined) {
    checkOutputFile(COMMAND, opts.speedscope, "json", opts.force === true);
  }

  const weight = opts.countSamples ? "samples" : "period";
  const htmlFlamegraph = opts.flamegraph !== undefined && !/\.svg$/i.test(opts.flamegraph);
  const width = opts.width === undefined ? undefined : Number(opts.width);
  if (width !== undefined && !(Number.isInteger(width) && width >= 100 && width <= 100000)) {
    usage(`--width must be a whole number of pixels, 100 or more: current "${opts.width}"`);
  }
  const minWidth = Number(opts.minwidth);
  if (!(Number.isFinite(minWidth) && minWidth >= 0)) {
    usage(`--minwidth must be a non-negative number: current "${opts.minwidth}"`);
  }
  if (!["hot", "cold", "gray"].includes(opts.palette)) {
    usage(`--palette must be hot, cold or gray: current "${opts.palette}"`);
  }

  /** Progress on stderr for large inputs on a TTY (cli-progress is loaded only then). */
  async function progressReporter(path: string): Promise<
    { update: LoadOptions["onProgress"]; stop: () => void } | undefined
  > {
    if (opts.quiet || path === "-" || !Deno.stderr.isTerminal()) return undefined;
    let size = 0;
    try {
      size = Deno.statSync(path).size;
    } catch {
      return undefined;
    }
    if (size < 16 << 20) return undefined;
    const bar = await progressBar("reading {bar} {percentage}% | {value}/{total} MiB");
    const mib = (n: number) => Math.round(n / (1 << 20));
    bar.update(0, mib(size));
    return { update: (read: number) => bar.update(mib(read), mib(size)), stop: bar.stop };
  }

  /**
   * Load `path` into a profile. `perAddress`: one frame per instruction address (pprof's
   * locations); `again`: the input was loaded before, its warnings are not printed twice.
   */
  async function load(
    path: string,
    loadFilter = filter,
    perAddress = false,
    again = false,
  ): Promise<LoadResult> {
    const quiet = opts.quiet === true || again;
    checkInputFile(COMMAND, path);
    // perf script text (told by content): until the input layer detects it.
    if (await isPerfScriptTextFile(path)) {
      const result = await loadScriptTextProfile(path, {
        filter,
        weight,
        event: opts.event,
        timeline: htmlFlamegraph,
      });
      if (!quiet) { for (const w of result.warnings) warn(COMMAND, w.message); }
      return result;
    }
    const bar = await progressReporter(path);
    try {
      return await loadProfile(path, {
        filter: loadFilter,
        weight,
        kallsyms: opts.kallsyms,
        symbols: { symfs: opts.symfs, demangle: opts.demangle },
        // the text report cuts callchains itself, from the root in caller order (as perf);
        // unwound user stacks stop at --max-stack from the leaf in any order
        maxStack: textOutput && !perAddress ? Math.max(maxStack, DEFAULT_MAX_STACK) : maxStack,
        userMaxStack: maxStack,
        event: opts.event,
        timeline: htmlFlamegraph && !perAddress,
        sampleOrder: textOutput && !perAddress && sortNeedsSampleOrder(sort),
        perAddress,
        // perf's branch mode for the text report: with --sort, entries of branch targets;
        // without, perf's default branch view (comm,dso_from,symbol_from,symbol_to,cycles)
        branchMode: textOutput && !perAddress ? (branchGiven ?? "auto") : false,
        onBranch: textOutput && !perAddress && !sortGiven
          ? (...a) => branchViews.add(...a)
          : undefined,
        // perf's trace key (the default view of tracepoint recordings)
        traceText: textOutput && !perAddress &&
            (!sortGiven || sort.includes("trace") ||
              fields?.fields.some((f) => "key" in f && f.key === "trace"))
          ? (...a) => traceTexts.text(...a)
          : undefined,
        onWarning: quiet ? undefined : (w) => warn(COMMAND, w.message),
        onProgress: bar?.update,
      });
    } finally {
      bar?.stop();
    }
  }

  function hasCallchains(result: LoadResult): boolean {
    const ev = result.info.events[result.event];
    return ev !== undefined && (ev.attr.sampleType & SampleType.CALLCHAIN) !== 0;
  }

  /** `--call-graph dwarf`: the user part of the stacks unwound from stack copies. */
  function isDwarf(result: LoadResult): boolean {
    const ev = result.info.events[result.event];
    return ev !== undefined && (ev.attr.sampleType & SampleType.STACK_USER) !== 0;
  }

  async function writeOutputFile(path: string, text: string): Promise<void> {
    await Deno.writeTextFile(path, text);
    if (!opts.quiet) console.error(`callring ${COMMAND}: wrote ${path}`);
  }

  /** The text report's entry filter (perf's `al->filtered`), or undefined. */
  function entryKeep(profile: Profile): ((frame: number, cls: number) => boolean) | undefined {
    if (!threadFilters && !entryFilters) return undefined;
    const ids = (text: string | undefined) =>
      text === undefined ? undefined : new Set(text.split(",").map(Number));
    const names = (text: string | undefined) =>
      text === undefined ? undefined : new Set(text.split(","));
    const pids = ids(filter.pid), tids = ids(filter.tid), comms = names(filter.comm);
    const dsos = names(opts.dsos), syms = names(opts.symbols);
    const t = profile.frames;
    return (frame, cls) => {
      const c = profile.classes[cls];
      if (comms && !comms.has(c.comm)) return false;
      if (pids && !pids.has(c.pid)) return false;
      if (tids && !tids.has(c.tid)) return false;
      const dso = t.dsos[frame];
      // machine__resolve: the dso list is checked only for samples with a map
      if (
        dsos && dso !== undefined && !dsos.has(dsoShortName(dso, t.kinds[frame] === "kernel")) &&
        !dsos.has(dso)
      ) {
        return false;
      }
      if (syms && (t.syms[frame] === undefined || !syms.has(t.syms[frame]!))) return false;
      return true;
    };
  }

  /**
   * perf's `--header` text (and a pipe's features for `-I`) in the text report's preamble;
   * with `-q` only a pipe's features, which perf prints as their records arrive.
   */
  function perfHeaderFor(info: InputInfo): { text: string; afterHint: boolean } | undefined {
    if (!(opts.header || opts.showInfo || opts.headerOnly)) return undefined;
    if (opts.quiet && !info.pipe) return undefined;
    if (info.format !== "perf.data") {
      if (opts.header) {
        fail(
          COMMAND,
          `--header: ${input} is a ${info.format} input, which has no perf.data header`,
        );
      }
      return undefined;
    }
    const out = opts.quiet
      ? perfHeaderFeatureText(perfHeaderSource(info.perf), {
        mtime: new Date(0),
        full: opts.showInfo === true,
      })
      : perfHeaderOutputText(info.perf, input, {
        header: opts.header ? "header" : undefined,
        full: opts.showInfo === true,
      });
    for (const w of out.warnings) warn(COMMAND, `${input}: ${w}`);
    return out.text === "" ? undefined : { text: out.text, afterHint: !opts.header };
  }

  /** perf's one-value filter lists (`# comm: X` headers, elided columns). */
  function singleValues(): Partial<Record<"comm" | "dso" | "sym", string>> {
    const one = (text: string | undefined) =>
      text !== undefined && text.split(",").length === 1 ? text : undefined;
    return { comm: one(filter.comm), dso: one(opts.dsos), sym: one(opts.symbols) };
  }

  // perf report --header-only: the header (a pipe's features too), nothing else; with -q
  // perf prints no header block: a file's report follows, a pipe's features only
  if (opts.headerOnly) {
    try {
      checkInputFile(COMMAND, input);
      const info = await readPerfHeaderInfo(input);
      if (!opts.quiet || info.pipe) {
        const out = opts.quiet
          ? perfHeaderFeatureText(perfHeaderSource(info), {
            mtime: new Date(0),
            full: opts.showInfo === true,
          })
          : perfHeaderOutputText(info, input, {
            header: "only",
            full: opts.showInfo === true,
            pipeFeaturesWhenOnly: true,
          });
        for (const w of out.warnings) warn(COMMAND, `${input}: ${w}`);
        writeStdout(out.text);
        return;
      }
    } catch (e) {
      if (e instanceof PerfHeaderInputError) fail(COMMAND, `--header-only: ${e.message}`);
      failOn(COMMAND, e);
    }
  }

  try {
    const textFilter = { ...filter, pid: undefined, tid: undefined, comm: undefined };
    // pprof the only output: one per-address load serves it (the totals are the same)
    const pprofOnly = opts.pprof !== undefined && !textOutput && !opts.folded &&
      opts.flamegraph === undefined && opts.speedscope === undefined && opts.diff === undefined;
    const result = await load(input, textOutput ? textFilter : filter, pprofOnly);
    const profile = result.profile;
    if (
      filter.time !== undefined && result.info.format === "capture" && !opts.quiet &&
      result.info.size !== undefined && result.bytesRead < result.info.size
    ) {
      console.error(
        `callring ${COMMAND}: --time ${filter.time}: read ${result.bytesRead} of ` +
          `${result.info.size} bytes of ${input}`,
      );
    }
    const eventName = result.events[result.event]?.name ?? "cpu-clock";
    const given = (["cpu", "pid", "tid", "comm", "context", "time"] as const)
      .filter((k) => (textOutput ? textFilter : filter)[k] !== undefined)
      .map((k) => `--${k} ${filter[k]}`);
    if (profile.samples === 0 && given.length > 0 && !opts.quiet) {
      // (a --time window may have been skipped to without reading its samples)
      const read = profile.samplesRead > 0
        ? `none of the ${profile.samplesRead} samples`
        : "no sample";
      warn(
        COMMAND,
        `${given.join(" ")}: ${read} of ${input} matched` +
          (opts.context !== undefined
            ? " (the context is told from the interrupt entry functions on the kernel stack)"
            : ""),
      );
    } else if (result.event < 0 && !opts.quiet) {
      warn(COMMAND, `The ${input} data has no samples!`);
    }

    const htmlOptions = {
      weight,
      eventName,
      palette: opts.palette,
      minWidth,
      ...(width !== undefined ? { width } : {}),
    } as const;
    if (opts.diff !== undefined) {
      const other = await load(opts.diff);
      if (htmlFlamegraph) {
        // Widths from the comparison, colours by the change from the baseline.
        await writeOutputFile(
          opts.flamegraph!,
          flamegraphHtml(other.profile, {
            ...htmlOptions,
            title: opts.title ?? `${input} -> ${opts.diff} (${eventName})`,
            baseline: profile,
          }),
        );
        if (!opts.stdio && !opts.folded) Deno.exit(ExitCode.OK);
      }
      if (opts.folded) {
        writeStdout(diffFolded(
          foldedStacks(profile, { count: weight }),
          foldedStacks(other.profile, { count: weight }),
        ));
      } else {
        // perf diff's table (Baseline, Delta Abs), every entry; `callring diff` has its options.
        writeStdout(perfDiff(profile, other.profile, { eventName }));
      }
      Deno.exit(ExitCode.OK);
    }

    // The file outputs drop the samples --comms/--pid/--tid reject; the text report keeps them.
    const fileProfile = fileOutputs && textOutput && threadFilters
      ? (await load(input, filter, false, true)).profile
      : profile;
    if (opts.flamegraph !== undefined) {
      const title = opts.title ?? `${input} (${eventName})`;
      const text = htmlFlamegraph
        ? flamegraphHtml(fileProfile, { ...htmlOptions, title })
        : flamegraphSvg(fileProfile, { title, weight, ...(width !== undefined ? { width } : {}) });
      await writeOutputFile(opts.flamegraph, text);
    }
    if (opts.speedscope !== undefined) {
      const file = speedscopeFile(fileProfile, { weight, name: input });
      await writeOutputFile(opts.speedscope, JSON.stringify(file));
    }
    if (opts.pprof !== undefined) {
      // Locations per instruction address: a per-address load, unless the first one was (perf
      // script text has no per-address frames beyond what it printed: its profile as loaded).
      const perAddress = pprofOnly || await isPerfScriptTextFile(input)
        ? { profile: fileProfile, buildIds: result.buildIds }
        : await load(input, filter, true, true);
      const bytes = pprofBytes(perAddress.profile, { eventName, buildIds: perAddress.buildIds });
      await Deno.writeFile(opts.pprof, bytes);
      if (!opts.quiet) console.error(`callring ${COMMAND}: wrote ${opts.pprof}`);
    }
    if (opts.folded) {
      if (!opts.quiet) { for (const line of accountingLines(profile)) console.error(line); }
      // perf script prints stacks cut at the max-stack limit unmarked: so does stackcollapse
      const markTruncated = result.info.format === "capture";
      writeStdout(foldedStacks(profile, { count: weight, markTruncated }));
    } else if (textOutput) {
      const callchains = hasCallchains(result);
      let children = childrenGiven ? opts.children === true : callchains;
      if (result.branchMode) {
        // setup_sorting in branch mode: cumulate_callchain = false
        children = false;
      }
      let order: "caller" | "callee" | "none" | undefined = graph?.mode === "none"
        ? "none"
        : graph?.order;
      if (opts.inverted && order !== "none") order = "caller";
      if (children && result.info.pipe) {
        // perf 6.1 decides on cumulation before the pipe's attrs arrive: no Children column.
        order ??= "caller";
        children = false;
      }
      if (!callchains) {
        order = "none";
        // report__setup_sample_type: --children without callchains is silently ignored
        children = false;
      }
      // Without --event: one section per event, as perf prints them.
      const section = (index: number) => {
        const p = result.eventProfiles.get(index) ?? profile;
        return {
          profile: p,
          eventName: result.events.find((e) => e.index === index)?.name ?? eventName,
          keep: entryKeep(p),
        };
      };
      const sections = opts.event === undefined
        ? reportedEvents(result).map((r) => ({
          ...section(r.index),
          group: r.description === undefined
            ? undefined
            : { description: r.description, members: r.members.map(section) },
        }))
        : [{ profile, eventName, keep: entryKeep(profile) }];
      const base = {
        children,
        sort: sort as readonly SortKey[],
        callGraph: order,
        fields,
        sortGiven,
        maxStack,
        dwarfStacks: isDwarf(result),
        percentLimit,
        graphThreshold: graph?.threshold,
        graphFolded: graph?.mode === "folded",
        graphPrintLimit: graph?.printLimit,
        eventName,
        showSamples: opts.showNrSamples === true,
        quiet: opts.quiet === true,
        accountingHeader: opts.quiet !== true,
        singleValueFilters: singleValues(),
        dsoList: opts.dsos !== undefined,
        relative: opts.percentage === "relative",
        threadNames: result.threadNames,
        dsoOrder: result.dsoOrder,
        timeSlices: opts.time,
        perfHeader: perfHeaderFor(result.info),
      };
      // (perf 6.1 picks its default sort keys before a pipe's attrs arrive: not for pipes)
      const allTracepoints = result.events.length > 0 && !result.info.pipe &&
        result.info.events.every((e) => e.attr.type === AttrType.TRACEPOINT);
      const traceView = !sortGiven && fields === undefined && allTracepoints && !result.branchMode;
      const untraced = traceTexts.untraced;
      const undecoded = () => [...traceTexts.undecoded].map(([k, n]) => `${n} of ${k}`).join(", ");
      if (traceView && untraced > 0) {
        // a payload callring cannot print: the sample view, and what was not decoded
        if (!opts.quiet) {
          warn(
            COMMAND,
            `${input}: perf's trace view needs every payload printed; ${untraced} were not ` +
              `(${undecoded()}): this is the sample view`,
          );
        }
      } else if (traceView) base.sort = ["trace"];
      else if (
        untraced > 0 && !opts.quiet &&
        (sort.includes("trace") || fields?.fields.some((f) => "key" in f && f.key === "trace"))
      ) {
        warn(
          COMMAND,
          `${input}: ${untraced} tracepoint payloads were not printed (${undecoded()}): ` +
            "their trace entries say [undecoded EVENT]",
        );
      }
      // perf's other views: one section per event with entries
      const viewSections = <H>(
        hists: Map<number, H>,
        render: (p: Profile, h: H, o: typeof base & { continuation: boolean }) => string,
      ): string => {
        const shown = result.events.filter((e) => hists.has(e.index));
        if (shown.length === 0) return textReportSections([], base);
        return shown.map((e, i) =>
          render(result.eventProfiles.get(e.index) ?? profile, hists.get(e.index)!, {
            ...base,
            eventName: e.name,
            continuation: i > 0,
          })
        ).join("");
      };
      if (result.branchMode && !sortGiven) {
        writeStdout(viewSections(branchViews.hists, branchReportText));
      } else writeStdout(textReportSections(sections, base));
      // perf_read_values_display after the report (perf's tip line, random, is left out)
      if (opts.threads) writeStdout(threadCountsTable(await readThreadCounts(input)));
    } else if (!opts.quiet) {
      for (const line of accountingLines(profile)) console.error(line);
    }
  } catch (e) {
    if (e instanceof UnknownEventError || e instanceof ReportOptionError) usage(e.message);
    failOn(COMMAND, e);
  }
}

if (import.meta.main) await main(Deno.args);
