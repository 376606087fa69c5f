/**
 * perf-report-style `--stdio` text output, laid out exactly like
 * `perf report --stdio` of perf 6.1 (header, column widths, `%.2f%%` percents,
 * `-g graph,0.5` call graphs in caller or callee order, `--children`,
 * `--percent-limit`, `-q`, one-value filter headers). The report starts with
 * `# callring:` comment lines that state samples read, samples lost and
 * truncated stacks; everything after them is meant to be byte-identical to
 * perf's output (minus perf's random "Tip" trailer), entry order included:
 * the entries come from {@linkcode buildHistogram} (perf's histogram trees,
 * `report_hist.ts`) and their call graphs from `report_callchain.ts`.
 *
 * @example
 * ```ts
 * import { ProfileBuilder } from "../analyze/profile.ts";
 * import { textReport } from "./text_report.ts";
 * const b = new ProfileBuilder();
 * b.add({ frames: [{ sym: "leaf", dso: "/bin/x", kernel: false }], weight: 1, pid: 1, tid: 1,
 *   cpu: 0, comm: "x", time: 0, context: "task", truncated: false });
 * console.log(textReport(b.build(), { sort: ["sym"] }));
 * ```
 *
 * @module
 */

import type { SelfFrameSelector, StackSelfFrames } from "../analyze/call_tree.ts";
import type { Profile } from "../analyze/profile.ts";
import { formatPercent } from "./format.ts";
import {
  buildHistogram,
  type HistEntry,
  hppValue,
  ReportOptionError,
  SORT_HEADERS,
  type SortKey,
} from "./report_hist.ts";
import {
  type FieldList,
  HPP_COLUMNS,
  type HppField,
  type ReportField,
  reportLayout,
} from "./report_fields.ts";
import type { ThreadNames } from "../input/threads.ts";

export { chainName } from "./report_callchain.ts";
export {
  buildHistogram,
  dsoShortName,
  type EntryRef,
  type HistEntry,
  type Histogram,
  type HistogramOptions,
  parseSortKeys,
  ReportOptionError,
  type SortKey,
  sortNeedsSampleOrder,
  symbolColumn,
} from "./report_hist.ts";

/** Options of {@linkcode textReport}. */
export interface TextReportOptions {
  /** `--children` (true) or `--no-children` (false, default). */
  children?: boolean;
  /** `--sort` keys, default `["comm", "dso", "sym"]` like perf. */
  sort?: readonly SortKey[];
  /** `-g` order: default callee without children, caller with children (perf's defaults); "none" disables graphs. */
  callGraph?: "caller" | "callee" | "none";
  /** perf's `-n` / `--show-nr-samples`: a `Samples` column of self sample counts (default false). */
  showSamples?: boolean;
  /**
   * The threads once the recording was read (`LoadResult.threadNames`): placeholder comms
   * shown as perf overrode them, and the Command column as wide as the threads' comms now.
   */
  threadNames?: ThreadNames;
  /** The order perf created the dso objects in, for equal-weight call-graph children. */
  dsoOrder?: ReadonlyMap<string, number>;
  /**
   * The frame each stack record's self weight is charged to (default
   * `selfFrameOf`: the profile's `stackSelf`, else the leaf; perf
   * charges the sampled address's own symbol, not its inline frames).
   */
  selfFrame?: SelfFrameSelector;
  /**
   * perf's entry filters (`--comms`, `--pid`, `--tid`, `--dsos`, `--symbols`),
   * asked per stack record with its self frame and sample class: false hides
   * the entries the record creates, whose weight stays in the totals.
   */
  keep?: (selfFrame: number, cls: number) => boolean;
  /** perf's `-F` / `--fields` (see `report_fields.ts`); undefined: perf's default columns. */
  fields?: FieldList;
  /** Whether `sort` was given (`-s`); a strict `-F` without `-s` has only its own keys. */
  sortGiven?: boolean;
  /** perf's `--max-stack`: callchain entries used per sample (see `HistogramOptions.maxStack`). */
  maxStack?: number;
  /** The stacks are DWARF-unwound: `maxStack` cuts kernel and user parts apart (as perf). */
  dwarfStacks?: boolean;
  /** `--percent-limit`: hides entries and call-graph branches below this percent (default 0, graphs 0.5). */
  percentLimit?: number;
  /** `-g graph,<threshold>`: hides call-graph branches below this percent (overrides percentLimit for graphs). */
  graphThreshold?: number;
  /** `-g folded`: perf's folded callchain lines instead of the graph (default graph). */
  graphFolded?: boolean;
  /** `-g graph,<threshold>,<print limit>`: at most this many branches per level (or folded lines). */
  graphPrintLimit?: number;
  /** Event name for the header (default `cpu-clock`). */
  eventName?: string;
  /** Emit the leading `# callring:` accounting lines (default true). */
  accountingHeader?: boolean;
  /** perf's `-q` / `--quiet`: no header lines, only the entries (default false). */
  quiet?: boolean;
  /**
   * perf's one-value filter lists (`--comms X`, `--dsos X`, `--symbols X`):
   * a sort key with a one-value list prints `# comm: X` in the header and
   * its column is left out (unless every column would be).
   */
  singleValueFilters?: Partial<Record<"comm" | "dso" | "sym", string>>;
  /**
   * A `--dsos` list was given: perf then does not widen the Shared Object column to an
   * unresolved address's 16 (`hists__set_unres_dso_col_len`).
   */
  dsoList?: boolean;
  /** perf's `--percentage relative`: percents of the entries shown, not of every sample. */
  relative?: boolean;
  /** perf's `--time` argument, named in the header as `(time slices: ...)`. */
  timeSlices?: string;
  /**
   * perf's header text (`--header`, or `-I` of a pipe's features; see
   * `perf_header_print.ts`): it takes the place of the "To display the perf.data
   * header info" hint, or follows it (`afterHint`: `-I` alone); with `quiet`, it
   * comes first (a pipe's features, which perf prints even then).
   */
  perfHeader?: { text: string; afterHint?: boolean };
  /**
   * A later event's section of a multi-event report: only its `# Samples`
   * header and entries, without the report's preamble (default false).
   */
  continuation?: boolean;
  /**
   * perf's group view (`--group`, the default when the recording names
   * groups): the profile is the group leader's, these are the other members'
   * in group order; each entry gets one percent column per member.
   */
  group?: ReportGroup;
}

/** The members of an event group, for {@linkcode TextReportOptions.group}. */
export interface ReportGroup {
  /** perf's `evsel__group_desc`: `anon group { a, b }` or `name { a, b }`. */
  readonly description: string;
  /** The members after the leader, in group order. */
  readonly members: readonly ReportSection[];
}

/** One event's part of a multi-event report: its profile and name. */
export interface ReportSection {
  /** The event's profile. */
  readonly profile: Profile & StackSelfFrames;
  /** The event's name as perf prints it. */
  readonly eventName: string;
  /** The section's entry filter (else `options.keep`): frame ids are the profile's own. */
  readonly keep?: TextReportOptions["keep"];
  /** perf's group view of the section: its other members. */
  readonly group?: ReportGroup;
}

/**
 * Renders a report of several events as perf's `evlist__tty_browse_hists`
 * does: the preamble once, then one section per event (`# Samples: N of
 * event 'X'`, its own column widths and entries, two blank lines).
 * @param sections The events to show, in the file's event order (perf leaves
 *   out events without samples and, in group view, the group members).
 * @param options Report options (`eventName` is taken from each section).
 * @returns The report text.
 */
export function textReportSections(
  sections: readonly ReportSection[],
  options: TextReportOptions = {},
): string {
  // No event has samples: perf's stdio preamble alone (cmd_report prints it before the
  // session finds "The ... data has no samples!", which goes to stderr).
  if (sections.length === 0) {
    return options.quiet
      ? ""
      : "# To display the perf.data header info, please use --header/--header-only options.\n#\n";
  }
  return sections.map((s, i) =>
    textReport(s.profile, {
      ...options,
      eventName: s.eventName,
      keep: s.keep ?? options.keep,
      group: s.group,
      continuation: i > 0,
    })
  ).join("");
}

/** The `# comm: X` names of perf's `__get_elide`. */
const ELIDE_NAMES: Readonly<Record<"comm" | "dso" | "sym", string>> = {
  comm: "comm",
  dso: "dso",
  sym: "symbol",
};

/**
 * Renders a perf-report-style text report.
 * @param profile The profile.
 * @param options Report options.
 * @returns The report text (ends with the two blank lines perf prints).
 */
export function textReport(
  profile: Profile & StackSelfFrames,
  options: TextReportOptions = {},
): string {
  if (options.fields !== undefined && options.group !== undefined) {
    throw new ReportOptionError("--fields with perf's group view is not done by callring");
  }
  const layout = reportLayout({
    fields: options.fields,
    sort: options.sort ?? ["comm", "dso", "sym"],
    sortGiven: options.sortGiven,
    children: options.children,
    showSamples: options.showSamples,
  });
  // sort__setup_elide: a key with a one-value filter list is named in the header and its
  // column left out, unless that would leave none; an elided key does not order the output.
  const sort = layout.keys;
  const keyColumns = layout.columns.flatMap((f) => "key" in f ? [sort.indexOf(f.key)] : []);
  const elideLines: string[] = [];
  const elided = new Set<number>();
  for (const i of keyColumns) {
    const k = sort[i];
    const value = k === "comm" || k === "dso" || k === "sym"
      ? options.singleValueFilters?.[k]
      : undefined;
    if (value === undefined) continue;
    elideLines.push(`# ${ELIDE_NAMES[k as "comm" | "dso" | "sym"]}: ${value}`);
    elided.add(i);
  }
  if (keyColumns.every((i) => elided.has(i))) elided.clear();
  const shownField = (f: ReportField) => !("key" in f) || !elided.has(sort.indexOf(f.key));
  const chainLimit = Math.fround(options.graphThreshold ?? options.percentLimit ?? 0.5);
  const hist = buildHistogram(profile, {
    ...options,
    sort,
    sorts: layout.sorts.filter(shownField),
    // the graphs' threshold (below): of every sample, unless relative to the entries shown
    minHit: options.relative ? 0 : Math.trunc(profile.totalWeight * (chainLimit / 100)),
  });
  const { children, order } = hist;
  const limit = Math.fround(options.percentLimit ?? 0);
  const shown = hist.entries.filter((e) => !e.filtered);
  // perf's totals: every sample, or with --percentage relative those of the entries shown
  // (hists__inc_filter_stats adds each unfiltered entry's self period and count).
  let total = profile.totalWeight;
  let samples = profile.samples;
  if (options.relative) {
    total = samples = 0;
    for (const e of shown) {
      total += e.self;
      samples += e.selfSamples;
    }
  }
  const percentOf = (v: number) => (total ? (100 * v) / total : 0);
  const sortValue = (e: HistEntry) => (children ? e.children : e.self);
  const present = shown.filter((e) => sortValue(e) > 0 || e.self > 0);
  const list = present.filter((e) => Math.fround(percentOf(sortValue(e))) >= limit);

  // Group view: one value per member for each entry, matched by the entry's keys.
  const group = options.group && groupRows(profile, list, total, samples, options);
  const rows: ReportRow[] = group?.rows ?? list.map((e) => ({
    entry: e,
    columns: e.columns,
    samples: e.selfSamples,
    values: [[e.self, e.children]],
  }));
  const n = 1 + (options.group?.members.length ?? 0);
  const totals = group?.totals ?? [total];

  const columns = layout.columns.filter(shownField);

  // Column widths come from every entry (hists__calc_col_len), shown or below the limit.
  const widths = sort.map((k) => SORT_HEADERS[k].length);
  const threads = options.threadNames;
  const commLength = (e: HistEntry, c: string): number => {
    const cls = profile.classes[e.cls];
    return threads === undefined || cls === undefined ? c.length : threads.comm(cls.tid).length;
  };
  const dsoAt = sort.indexOf("dso");
  // hists__calc_col_len measures he->trace_output, which only sort__trace_cmp fills: the entry
  // of a lone sample (no second walk, no callchain node compared with it) keeps the header's
  const traceMeasured = profile.samples > 1 || children;
  for (const e of [...present, ...(group?.dummies ?? [])]) {
    // hists__calc_col_len: an entry without a symbol widens the dso column to 16 hex digits
    if (
      dsoAt >= 0 && widths[dsoAt] < 16 && options.dsoList !== true &&
      profile.frames.syms[e.frame] === undefined
    ) widths[dsoAt] = 16;
    e.columns.forEach((c, i) => {
      // perf keeps CPU at 3 and measures a symbol by its name (`sym->namelen + 4`: without the
      // " (inlined)" suffix or a data object's "+0x" offset), and a comm by its thread's comm now
      // (thread__comm_len), which may be shorter than the entry's
      const sym = sort[i] === "sym" ? profile.frames.syms[e.frame] : undefined;
      const len = sym !== undefined
        ? sym.length + 4
        : sort[i] === "comm"
        ? commLength(e, c)
        : c.length;
      if (sort[i] === "trace" && !traceMeasured) return;
      if (sort[i] !== "cpu" && len > widths[i]) widths[i] = len;
    });
  }
  // a group's percent columns are as wide as its members' values together (8 each)
  const hppWidth = (f: HppField) =>
    f === "sample" || f === "period" ? HPP_COLUMNS[f].width : HPP_COLUMNS[f].width * n;
  const heading = (f: ReportField): string => {
    if ("key" in f) return SORT_HEADERS[f.key].padEnd(widths[sort.indexOf(f.key)]);
    const name = f.hpp === "overhead" && layout.selfName ? "Self" : HPP_COLUMNS[f.hpp].header;
    return name.padStart(hppWidth(f.hpp));
  };
  const dots = (f: ReportField): string =>
    ".".repeat("key" in f ? widths[sort.indexOf(f.key)] : hppWidth(f.hpp));

  const what = group
    ? `events '${options.group!.description}'`
    : `event '${options.eventName ?? "cpu-clock"}'`;
  const out = reportPreamble(
    profile,
    options,
    elideLines,
    group?.samples ?? samples,
    group?.eventCount ?? total,
    what,
  );
  if (!options.quiet) {
    out.push("# " + columns.map(heading).join("  "));
    out.push("# " + columns.map(dots).join("  "));
    out.push("#");
  }

  const minHit = Math.trunc(total * (chainLimit / 100));
  // perf leaves out the entry's own frame when the -s order (no -F) starts with sym
  const skipFirst = options.fields === undefined && sort[0] === "sym";
  // (the last of every column: an elided last one still makes the symbol before it padded)
  const lastField = layout.columns[layout.columns.length - 1];
  const pct = (v: number, i: number) =>
    (formatPercent(totals[i] ? (100 * v) / totals[i] : 0) + "%").padStart(8);
  const cell = (row: ReportRow, f: ReportField): string => {
    if ("key" in f) {
      const i = sort.indexOf(f.key);
      const c = row.columns[i];
      // Every column is padded to its width, but a symbol in the last one is not (perf's "%.*s"),
      // and a comm is cut to its column ("%-*.*s").
      if (f === lastField && f.key === "sym") return c;
      // "%-.*s": cut to the column, padded only when not last (hist_entry__snprintf_alignment)
      if (f.key === "trace") {
        const cut = c.slice(0, widths[i]);
        return f === lastField ? cut : cut.padEnd(widths[i]);
      }
      return (f.key === "comm" ? c.slice(0, widths[i]) : c).padEnd(widths[i]);
    }
    const w = hppWidth(f.hpp);
    switch (f.hpp) {
      case "overhead":
        return row.values.map((v, i) => pct(v[0], i)).join("");
      case "overhead_children":
        // hpp__fmt_acc without children: N/A
        return children ? row.values.map((v, i) => pct(v[1], i)).join("") : "N/A".padStart(w);
      case "sample":
        return String(row.samples).padStart(w);
      default: {
        const v = hppValue(row.entry!, f.hpp);
        return f.hpp === "period"
          ? String(v).padStart(w)
          : (formatPercent(totals[0] ? (100 * v) / totals[0] : 0) + "%").padStart(w);
      }
    }
  };
  for (const row of rows) {
    const e = row.entry;
    out.push("  " + columns.map((f) => cell(row, f)).join("  "));
    if (order !== "none" && e !== undefined) {
      // graph percents are of every sample, also with --percentage relative
      if (options.graphFolded) {
        hist.printFolded(out, e, profile.totalWeight, minHit, options.graphPrintLimit);
      } else {hist.printGraph(
          out,
          e,
          profile.totalWeight,
          minHit,
          skipFirst,
          options.graphPrintLimit,
        );}
    }
  }
  out.push("");
  out.push("");
  return out.join("\n") + "\n";
}

/**
 * perf's stdio preamble of a report section (`hists__fprintf_nr_sample_events`
 * and the lines before it): up to its `# Event count` line and the `#` after
 * it (without `-q`), or the lines `-q` keeps.
 * @param profile The section's profile (its loss accounting).
 * @param options The report options (quiet, continuation, perf header, time slices).
 * @param elideLines perf's one-value filter lines (`# comm: burn`).
 * @param samples The section's sample count.
 * @param eventCount Its event count.
 * @param what `event 'NAME'` or `events 'GROUP'`.
 * @returns The lines.
 */
export function reportPreamble(
  profile: Profile,
  options: TextReportOptions,
  elideLines: readonly string[],
  samples: number,
  eventCount: number,
  what: string,
): string[] {
  const out: string[] = [];
  const first = options.continuation !== true;
  // a pipe's features print as their records arrive, -q or not
  if (options.quiet && first && options.perfHeader !== undefined) {
    out.push(...options.perfHeader.text.replace(/\n$/, "").split("\n"));
  }
  // perf prints the one-value filter lines even with -q (sort__setup_elide writes them).
  if (options.quiet && first) out.push(...elideLines);
  if (!options.quiet) {
    if (first) {
      if (options.accountingHeader !== false) out.push(...accountingLines(profile));
      const header = options.perfHeader;
      if (header === undefined || header.afterHint) {
        out.push(
          "# To display the perf.data header info, please use --header/--header-only options.",
        );
        out.push("#");
      }
      if (header !== undefined) out.push(...header.text.replace(/\n$/, "").split("\n"));
      out.push(...(elideLines.length > 0 ? elideLines : ["#"]));
      if (elideLines.length > 0) out.push("#");
      out.push(`# Total Lost Samples: ${profile.lost.lostSamples}`);
      out.push("#");
    } else if (options.accountingHeader !== false) {
      out.push(
        // its samples; the losses are the file's, stated once in the preamble
        accountingLines(profile)[0].replace(
          "# callring: ",
          `# callring: event '${options.eventName ?? "cpu-clock"}': `,
        ),
      );
    }
    const slices = options.timeSlices === undefined ? "" : ` (time slices: ${options.timeSlices})`;
    out.push(`# Samples: ${convertUnit(samples)} of ${what}${slices}`);
    out.push(`# Event count (approx.): ${eventCount}`);
    out.push("#");
  }
  return out;
}

/** One printed entry: the leader's entry (undefined for a member-only one) and its values. */
interface ReportRow {
  /** The leader's histogram entry; undefined for an entry only group members have. */
  entry: HistEntry | undefined;
  /** The sort-key columns' texts. */
  columns: string[];
  /** Self sample count (the leader's). */
  samples: number;
  /** Per group member (leader first): [self, children] weights. */
  values: [number, number][];
}

/**
 * perf's group view (`hists__match` / `hists__link`, `__hpp__sort`): each
 * member's histogram entry joins the leader's entry with the same sort keys;
 * entries only a member has join with zero leader values; the rows are then
 * ordered by the leader's value, then each member's in group order, ties
 * kept in histogram order. Entries are matched by their columns' texts and
 * object, where perf compares symbols by their start address: the same
 * name at another address of one object would be joined here.
 */
function groupRows(
  profile: Profile,
  list: readonly HistEntry[],
  total: number,
  samples: number,
  options: TextReportOptions,
): {
  rows: ReportRow[];
  dummies: HistEntry[];
  totals: number[];
  samples: number;
  eventCount: number;
} {
  const members = options.group!.members;
  const n = 1 + members.length;
  const keyOf = (e: HistEntry, p: Profile) =>
    `${e.columns.join("\u0000")}\u0000${p.frames.dsos[e.frame] ?? ""}`;
  const zero = (): [number, number][] => Array.from({ length: n }, () => [0, 0]);
  const rows: ReportRow[] = [];
  const byKey = new Map<string, ReportRow>();
  for (const e of list) {
    const values = zero();
    values[0] = [e.self, e.children];
    const row = { entry: e, columns: e.columns, samples: e.selfSamples, values };
    rows.push(row);
    byKey.set(keyOf(e, profile), row);
  }
  const totals = [total];
  let nrSamples = samples, eventCount = total;
  const dummies: HistEntry[] = [];
  members.forEach((m, k) => {
    // (a member's call graphs are not printed: no tries)
    const hist = buildHistogram(m.profile, { ...options, keep: m.keep, minHit: Infinity });
    totals.push(m.profile.totalWeight);
    nrSamples += m.profile.samples;
    eventCount += m.profile.totalWeight;
    for (const e of hist.entries) {
      if (e.filtered || (e.self === 0 && e.children === 0)) continue;
      const key = keyOf(e, m.profile);
      let row = byKey.get(key);
      if (row === undefined) {
        // hists__link: a member-only entry joins the leader's with zero leader values
        row = { entry: undefined, columns: e.columns, samples: 0, values: zero() };
        rows.push(row);
        byKey.set(key, row);
        dummies.push(e);
      }
      row.values[k + 1] = [e.self, e.children];
    }
  });
  // __hpp__sort compares the members' self values after the leader's (the children column
  // has no group comparison, __hpp__sort_acc), ahead of the sort keys. The leader's order
  // already follows every comparison before the self one, so only runs of entries that tie
  // up to there are reordered, by the members' self values; Array.prototype.sort is stable.
  const children = options.children ?? false;
  const bySelves = (a: ReportRow, b: ReportRow) => {
    for (let i = 1; i < n; i++) {
      const d = b.values[i][0] - a.values[i][0];
      if (d !== 0) return d;
    }
    return 0;
  };
  const tie = (a: HistEntry, b: HistEntry) =>
    a.self === b.self &&
    (!children || (a.children === b.children &&
      (profile.classes[a.cls].tid !== profile.classes[b.cls].tid || a.maxDepth === b.maxDepth)));
  const leaders = rows.slice(0, list.length);
  const sorted: ReportRow[] = [];
  for (let i = 0; i < leaders.length;) {
    let j = i + 1;
    while (j < leaders.length && tie(leaders[j - 1].entry!, leaders[j].entry!)) j++;
    sorted.push(...leaders.slice(i, j).sort(bySelves));
    i = j;
  }
  sorted.push(...rows.slice(list.length).sort(bySelves));
  rows.splice(0, rows.length, ...sorted);
  return { rows, dummies, totals, samples: nrSamples, eventCount };
}

/**
 * The `# callring:` accounting comment lines placed before the perf-compatible part.
 * @param profile The profile.
 * @returns Lines without newlines.
 */
export function accountingLines(profile: Profile): string[] {
  const l = profile.lost;
  // Records inside damaged capture bytes: counted, plus an estimate where they could not be.
  let damage = "";
  if (l.damagedRecords > 0 || l.damagedEstimate > 0) {
    damage = `, ${l.damagedRecords} records lost to damage`;
    if (l.damagedEstimate > 0) damage += ` + ~${l.damagedEstimate} estimated`;
  }
  return [
    `# callring: samples read: ${profile.samplesRead}, kept: ${profile.samples}, ` +
    `truncated stacks: ${profile.truncatedSamples}`,
    `# callring: lost: ${l.lostRecords} events in LOST records, ${l.lostSamples} in LOST_SAMPLES, ` +
    `${l.incompleteFragments} incomplete fragments, ${l.damagedRanges} damaged ranges (${l.damagedBytes} bytes)` +
    damage +
    (l.overwriteCounts > 0
      ? `, ${l.overwritten} records overwritten in the flight recorder before a snapshot took them`
      : ""),
    ...auxLines(l),
  ];
}

/** The AUX area line, when the input has AUX data (perf decodes it; callring counts it). */
function auxLines(l: Profile["lost"]): string[] {
  if (l.auxTraceRecords + l.auxRecords + l.auxErrors === 0) return [];
  return [
    `# callring: AUX area data not decoded: ${l.auxBytes} bytes in ${l.auxTraceRecords} ` +
    `PERF_RECORD_AUXTRACE records; ${l.auxRecords} PERF_RECORD_AUX records (${l.auxTruncated} ` +
    `lost, ${l.auxPartial} with gaps, ${l.auxCollision} collisions); ${l.auxErrors} ` +
    "AUXTRACE_ERROR records",
  ];
}

/** perf's convert_unit + "%lu%c": 1467 -> "1K", 401 -> "401 ". */
function convertUnit(value: number): string {
  let v = value;
  let unit = " ";
  for (const u of ["K", "M", "G"]) {
    if (v > 1000) {
      v = Math.floor(v / 1000);
      unit = u;
    }
  }
  return `${v}${unit}`;
}
