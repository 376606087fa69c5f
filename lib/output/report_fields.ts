/**
 * perf report's output fields (`-F` / `--fields`) and how they combine with
 * the sort keys, as perf 6.1's `setup_sorting` (tools/perf/util/sort.c)
 * builds its two lists: the output columns (`perf_hpp_list.fields`) and the
 * sort list (`perf_hpp_list.sorts`) that orders the entries and, through
 * its sort keys, tells them apart.
 *
 * - Without `-F`: the columns are `Children` (with `--children`), `Self` or
 *   `Overhead`, `Samples` (`-n`), then the sort keys; the sort list is the
 *   overhead columns, then the sort keys, then `Samples`.
 * - `-F a,b` (strict): the columns are the fields, then the sort keys not
 *   among them; the sort list is the `-s` keys (none unless given), then
 *   the fields not among them. `-n` and the `Self` name do not apply.
 * - `-F +a,b`: the default columns, then the fields, then the sort keys not
 *   among them; the sort list is the default one, then the fields not in it.
 *
 * Field names match as perf matches them: case-insensitively, a name given
 * by any prefix, the sort keys' table before the overhead columns' (`s` is
 * `symbol`, `sa` is `sample`).
 *
 * @example
 * ```ts
 * import { parseFields, reportLayout } from "./report_fields.ts";
 * const layout = reportLayout({ fields: parseFields("overhead,sym"), sort: ["dso"] });
 * layout.columns; // overhead, sym, dso
 * ```
 *
 * @module
 */

import { ReportOptionError, type SortKey } from "./report_hist.ts";

/** perf's overhead and count columns (`hpp_dimensions`). */
export type HppField =
  | "overhead"
  | "overhead_sys"
  | "overhead_us"
  | "overhead_guest_sys"
  | "overhead_guest_us"
  | "overhead_children"
  | "sample"
  | "period";

/** One output column or sort-list item: an overhead column or a sort key. */
export type ReportField = { readonly hpp: HppField } | { readonly key: SortKey };

/** A parsed `-F` argument. */
export interface FieldList {
  /** `+a,b`: the fields follow the default columns. */
  readonly append: boolean;
  /** The fields, in order, each once. */
  readonly fields: readonly ReportField[];
}

/**
 * perf 6.1's sort dimensions in table order (`common_sort_dimensions`, then
 * the branch and memory ones), with the sort key callring prints for the
 * ones it does (undefined: perf's, not printed here).
 */
const SORT_DIMENSIONS: readonly (readonly [string, SortKey | undefined])[] = [
  ["pid", "pid"],
  ["comm", "comm"],
  ["dso", "dso"],
  ["symbol", "sym"],
  ["parent", undefined],
  ["cpu", "cpu"],
  ["socket", undefined],
  ["srcline", undefined],
  ["srcfile", undefined],
  ["local_weight", undefined],
  ["weight", undefined],
  ["transaction", undefined],
  ["trace", "trace"],
  ["symbol_size", undefined],
  ["dso_size", undefined],
  ["cgroup", undefined],
  ["cgroup_id", undefined],
  ["ipc_null", undefined],
  ["time", undefined],
  ["code_page_size", undefined],
  ["local_ins_lat", undefined],
  ["ins_lat", undefined],
  ["local_p_stage_cyc", undefined],
  ["p_stage_cyc", undefined],
  ["addr", undefined],
  ["dso_from", undefined],
  ["dso_to", undefined],
  ["symbol_from", undefined],
  ["symbol_to", undefined],
  ["mispredict", undefined],
  ["abort", undefined],
  ["in_tx", undefined],
  ["cycles", undefined],
  ["srcline_from", undefined],
  ["srcline_to", undefined],
  ["ipc_lbr", undefined],
  ["addr_from", undefined],
  ["addr_to", undefined],
  ["symbol_daddr", undefined],
  ["dso_daddr", undefined],
  ["locked", undefined],
  ["tlb", undefined],
  ["mem", undefined],
  ["snoop", undefined],
  ["dcacheline", undefined],
  ["symbol_iaddr", undefined],
  ["phys_daddr", undefined],
  ["data_page_size", undefined],
  ["blocked", undefined],
];

/** perf's `hpp_dimensions`, in table order. */
const HPP_DIMENSIONS: readonly HppField[] = [
  "overhead",
  "overhead_sys",
  "overhead_us",
  "overhead_guest_sys",
  "overhead_guest_us",
  "overhead_children",
  "sample",
  "period",
];

/** Column headers and widths of the overhead columns (`perf_hpp__format`). */
export const HPP_COLUMNS: Readonly<Record<HppField, { header: string; width: number }>> = {
  overhead: { header: "Overhead", width: 8 },
  overhead_sys: { header: "sys", width: 8 },
  overhead_us: { header: "usr", width: 8 },
  overhead_guest_sys: { header: "guest sys", width: 9 },
  overhead_guest_us: { header: "guest usr", width: 9 },
  overhead_children: { header: "Children", width: 8 },
  sample: { header: "Samples", width: 12 },
  period: { header: "Period", width: 12 },
};

/**
 * Parse a `-F` / `--fields` argument as perf's `setup_output_list` does.
 *
 * @param text The argument (`overhead,sym`, `+period,sample`).
 * @returns The fields.
 * @throws {ReportOptionError} `Unknown --fields key: \`x'` for a name perf
 *   does not know, `Invalid --fields key: \`+'` for a lone `+`, and a
 *   message naming perf's fields that callring does not print.
 */
export function parseFields(text: string): FieldList {
  const append = text.startsWith("+");
  const body = append ? text.slice(1) : text;
  if (body === "") throw new ReportOptionError("Invalid --fields key: `+'");
  const fields: ReportField[] = [];
  const seen = new Set<string>();
  for (const tok of body.split(",")) {
    if (tok === "") continue;
    const t = tok.toLowerCase();
    let field: ReportField | undefined;
    const dim = SORT_DIMENSIONS.find(([name]) => name.startsWith(t));
    if (dim !== undefined) {
      if (dim[1] === undefined) {
        throw new ReportOptionError(
          `--fields key \`${dim[0]}' is perf's, not printed by callring (it prints ` +
            `${[...HPP_DIMENSIONS, "pid", "comm", "dso", "symbol", "cpu", "trace"].join(", ")})`,
        );
      }
      field = { key: dim[1] };
    } else {
      const hpp = HPP_DIMENSIONS.find((name) => name.startsWith(t));
      if (hpp === undefined) throw new ReportOptionError(`Unknown --fields key: \`${tok}'`);
      field = { hpp };
    }
    const id = fieldId(field);
    if (seen.has(id)) continue;
    seen.add(id);
    fields.push(field);
  }
  return { append, fields };
}

/** A field's identity (`hpp:overhead`, `key:sym`). */
function fieldId(f: ReportField): string {
  return "hpp" in f ? `hpp:${f.hpp}` : `key:${f.key}`;
}

/** What {@linkcode reportLayout} builds the lists from. */
export interface LayoutOptions {
  /** The `-F` argument, parsed; undefined without `-F`. */
  fields?: FieldList;
  /** The sort keys: `-s`, or perf's default (`comm,dso,sym`) when `-s` was not given. */
  sort: readonly SortKey[];
  /** Whether `-s` was given (a strict `-F` without it has no sort keys but its own). */
  sortGiven?: boolean;
  /** `--children` (perf's `cumulate_callchain`). */
  children?: boolean;
  /** `-n` / `--show-nr-samples` (ignored with a strict `-F`, as perf does). */
  showSamples?: boolean;
}

/** perf's output and sort lists. */
export interface ReportLayout {
  /** The output columns, in order. */
  columns: ReportField[];
  /** The sort list: orders the entries (first decisive item wins). */
  sorts: ReportField[];
  /** The sort keys of the sort list, in its order: what tells entries apart. */
  keys: SortKey[];
  /** Whether the overhead column is named `Self` (default columns with `--children`). */
  selfName: boolean;
}

/**
 * perf's `setup_sorting`: the output columns and the sort list.
 *
 * @param options Fields, sort keys, children, `-n`.
 * @returns The columns, the sort list and its sort keys.
 */
export function reportLayout(options: LayoutOptions): ReportLayout {
  const strict = options.fields !== undefined && !options.fields.append;
  const children = options.children === true;
  const keyFields: ReportField[] = strict && !options.sortGiven
    ? []
    : options.sort.map((key) => ({ key }));
  // setup_overhead: the overhead columns before the sort keys, unless -F is strict
  const sorts: ReportField[] = strict ? [...keyFields] : [
    ...(children ? [{ hpp: "overhead_children" as const }] : []),
    { hpp: "overhead" },
    ...keyFields,
  ];
  // perf_hpp__init: the default columns, unless -F is strict
  const columns: ReportField[] = strict ? [] : [
    ...(children ? [{ hpp: "overhead_children" as const }] : []),
    { hpp: "overhead" },
    ...(options.showSamples ? [{ hpp: "sample" as const }] : []),
  ];
  const add = (list: ReportField[], f: ReportField) => {
    if (!list.some((g) => fieldId(g) === fieldId(f))) list.push(f);
  };
  for (const f of options.fields?.fields ?? []) add(columns, f);
  // perf_hpp__setup_output_field: sort keys join the columns;
  for (const f of sorts) add(columns, f);
  // perf_hpp__append_sort_keys: the columns join the sort list
  for (const f of columns) add(sorts, f);
  const keys = sorts.flatMap((f) => "key" in f ? [f.key] : []);
  return { columns, sorts, keys, selfName: !strict && children };
}
