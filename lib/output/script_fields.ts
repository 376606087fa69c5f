/**
 * perf script's field selection (`-F`): parsing (with `+field` / `-field`
 * and `type:` prefixes), the defaults per event type (perf's `output[]`
 * table of `builtin-script.c`, chosen by `output_type(attr.type)`), and the
 * attribute checks perf makes before printing (`evsel__check_attr`).
 *
 * @module
 */

import { type PerfEventAttr, SampleType } from "../abi/mod.ts";

/** Every field name perf script 6.1 accepts in `-F`. */
export const PERF_SCRIPT_FIELDS: readonly string[] = [
  "comm",
  "tid",
  "pid",
  "time",
  "cpu",
  "event",
  "trace",
  "ip",
  "sym",
  "dso",
  "addr",
  "symoff",
  "srcline",
  "period",
  "iregs",
  "uregs",
  "brstack",
  "brstacksym",
  "flags",
  "data_src",
  "weight",
  "bpf-output",
  "brstackinsn",
  "brstackinsnlen",
  "brstackoff",
  "callindent",
  "insn",
  "insnlen",
  "synth",
  "phys_addr",
  "metric",
  "misc",
  "srccode",
  "ipc",
  "tod",
  "data_page_size",
  "code_page_size",
  "ins_lat",
];

/** The fields callring prints. */
export const SUPPORTED_SCRIPT_FIELDS: readonly string[] = [
  "comm",
  "trace",
  "tid",
  "pid",
  "time",
  "cpu",
  "event",
  "ip",
  "sym",
  "dso",
  "addr",
  "symoff",
  "srcline",
  "period",
  "data_src",
  "weight",
  "ins_lat",
  "brstack",
  "brstacksym",
  "phys_addr",
  "data_page_size",
  "code_page_size",
];

/** perf's default fields for hardware and software events (those the sample lacks are dropped silently). */
export const DEFAULT_SCRIPT_FIELDS: readonly string[] = [
  "comm",
  "tid",
  "cpu",
  "time",
  "period",
  "event",
  "ip",
  "sym",
  "symoff",
  "dso",
];

/** Why a `-F` request cannot be printed; `exitCode` is what perf exits with. */
export class ScriptFieldError extends Error {
  /** The exit code perf uses for the same problem (129 usage, 255 attribute). */
  readonly exitCode: number;

  /**
   * Create the error.
   *
   * @param message The message, as perf prints it.
   * @param exitCode perf's exit code.
   */
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "ScriptFieldError";
    this.exitCode = exitCode;
  }
}

/** perf script's output types (`output_type()`): PERF_TYPE_* below 6, then synth and other PMUs. */
export const ScriptOutputType = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
  BREAKPOINT: 5,
  /** `PERF_TYPE_SYNTH` (0x80000000): events synthesized from AUX data. */
  SYNTH: 6,
  /** Dynamic PMUs (`type` >= 6: intel_pt, cpu_core, uprobes...). */
  OTHER: 7,
} as const;

/** `PERF_TYPE_SYNTH`. */
const PERF_TYPE_SYNTH = 0x80000000;

/**
 * perf script's `output_type()` of an attr type.
 *
 * @param type `perf_event_attr.type`.
 * @returns One of {@linkcode ScriptOutputType}.
 */
export function scriptOutputType(type: number): number {
  if (type === PERF_TYPE_SYNTH) return ScriptOutputType.SYNTH;
  return type < 6 ? type : ScriptOutputType.OTHER;
}

/** perf 6.1's default fields of tracepoints. */
const TRACEPOINT_FIELDS: readonly string[] = ["comm", "tid", "cpu", "time", "event", "trace"];
/** perf 6.1's default fields of synthesized events (no period). */
const SYNTH_FIELDS: readonly string[] = [
  "comm",
  "tid",
  "cpu",
  "time",
  "event",
  "ip",
  "sym",
  "symoff",
  "dso",
];
/** perf 6.1's default fields of raw PMU events. */
const RAW_FIELDS: readonly string[] = [
  ...DEFAULT_SCRIPT_FIELDS,
  "addr",
  "data_src",
  "weight",
  "phys_addr",
  "data_page_size",
  "code_page_size",
  "ins_lat",
];

/**
 * perf's default fields of an output type.
 *
 * @param outputType One of {@linkcode ScriptOutputType}.
 * @returns The field names.
 */
export function defaultScriptFields(outputType: number): readonly string[] {
  switch (outputType) {
    case ScriptOutputType.TRACEPOINT:
      return TRACEPOINT_FIELDS;
    case ScriptOutputType.SYNTH:
      return SYNTH_FIELDS;
    case ScriptOutputType.RAW:
      return RAW_FIELDS;
    default:
      return DEFAULT_SCRIPT_FIELDS;
  }
}

/** Output types of `-F type:...` prefixes. */
const TYPE_PREFIXES: Record<string, number> = {
  hw: ScriptOutputType.HARDWARE,
  sw: ScriptOutputType.SOFTWARE,
  trace: ScriptOutputType.TRACEPOINT,
  raw: ScriptOutputType.RAW,
  synth: ScriptOutputType.SYNTH,
};

/** A parsed `-F` request. */
export interface ScriptFields {
  /** The selected fields. */
  fields: Set<string>;
  /** Whether the user named the fields (perf's `user_set`): missing attributes are errors. */
  userSet: boolean;
  /** Fields the user removed with `-field` (perf's `user_unset_fields`). */
  removed: Set<string>;
  /**
   * Fields the user named to print (perf's `user_set_fields`): only these are
   * errors when the samples lack them; undefined means all selected fields
   * when `userSet`.
   */
  named?: Set<string>;
  /** The output type of a `type:` prefix; undefined when the request is for every type. */
  outputType?: number;
  /** Whether the request edits the defaults (`+field` / `-field`). */
  relative?: boolean;
  /** The request's fields in order, with their `+` / `-` / `` operator. */
  tokens?: readonly (readonly [string, string])[];
  /**
   * perf's warnings for fields a request without `type:` names that some
   * output types cannot print (`'trace' not valid for software events.
   * Ignoring.`), in perf's order: printed to stderr before anything else.
   */
  ignored?: readonly string[];
}

/** perf's `event_type()` names of the output types, in `output[]` order. */
const OUTPUT_TYPE_NAMES: readonly string[] = [
  "hardware",
  "software",
  "tracepoint",
  "hardware-cache",
  "unknown",
  "unknown",
  "unknown",
  "unknown",
];

/** perf 6.1's `invalid_fields` of `trace`: every output type but tracepoints. */
function traceInvalidFor(outputType: number): boolean {
  return outputType !== ScriptOutputType.TRACEPOINT;
}

/**
 * Parse perf script's `-F` argument.
 *
 * @param spec The argument (e.g. `comm,tid,ip` or `+period` or `sw:ip,sym`), or undefined for defaults.
 * @returns The selection (its `fields` for hardware/software events; see
 *   {@linkcode scriptFieldsFor} for other event types).
 * @throws {ScriptFieldError} "Invalid field requested." (exit 129) for an unknown field, or a
 *   "not supported" error for a perf field callring does not print yet.
 *
 * @example
 * ```ts
 * import { parseScriptFields } from "./script_fields.ts";
 * console.log([...parseScriptFields("comm,tid,ip").fields]); // ["comm", "tid", "ip"]
 * ```
 */
export function parseScriptFields(spec: string | undefined): ScriptFields {
  if (spec === undefined) {
    return { fields: new Set(DEFAULT_SCRIPT_FIELDS), userSet: false, removed: new Set() };
  }
  let body = spec;
  let outputType: number | undefined;
  const colon = body.indexOf(":");
  if (colon >= 0) {
    const type = body.slice(0, colon);
    if (!(type in TYPE_PREFIXES)) {
      throw new ScriptFieldError(`Invalid event type in field string.`, 129);
    }
    outputType = TYPE_PREFIXES[type];
    body = body.slice(colon + 1);
  }
  const parts = body.split(",").map((t) => t.trim()).filter((t) => t.length > 0);
  const relative = parts.length > 0 && (parts[0]!.startsWith("+") || parts[0]!.startsWith("-"));
  const tokens: [string, string][] = [];
  const ignored: string[] = [];
  for (const token of parts) {
    const op = token[0] === "+" || token[0] === "-" ? token[0] : "";
    // perf's parse_output_fields: `+x`/`-x` and plain fields in one list is out_badmix.
    if ((op === "") === relative) {
      throw new ScriptFieldError("Cannot mix +-field with overridden fields", 129);
    }
    const name = op ? token.slice(1) : token;
    if (!PERF_SCRIPT_FIELDS.includes(name)) {
      throw new ScriptFieldError("Invalid field requested.", 129);
    }
    if (!SUPPORTED_SCRIPT_FIELDS.includes(name)) {
      throw new ScriptFieldError(
        `Cannot print field '${name}': callring supports ${SUPPORTED_SCRIPT_FIELDS.join(",")}`,
        255,
      );
    }
    if (name === "trace") {
      if (outputType !== undefined && traceInvalidFor(outputType)) {
        // perf's parse_output_fields: a typed request naming an invalid field is an error
        throw new ScriptFieldError(
          `'trace' not valid for ${OUTPUT_TYPE_NAMES[outputType]} events.`,
          129,
        );
      }
      if (outputType === undefined) {
        OUTPUT_TYPE_NAMES.forEach((type, t) => {
          if (traceInvalidFor(t)) ignored.push(`'trace' not valid for ${type} events. Ignoring.`);
        });
      }
    }
    tokens.push([op, name]);
  }
  const sel = apply(
    DEFAULT_SCRIPT_FIELDS,
    relative,
    tokens,
    outputType ?? ScriptOutputType.SOFTWARE,
  );
  return { ...sel, userSet: true, outputType, relative, tokens, ignored };
}

function apply(
  defaults: readonly string[],
  relative: boolean,
  tokens: readonly (readonly [string, string])[],
  outputType: number,
): { fields: Set<string>; removed: Set<string>; named: Set<string> } {
  const fields = new Set<string>(relative ? defaults : []);
  const removed = new Set<string>();
  const named = new Set<string>();
  for (const [op, name] of tokens) {
    // perf: `trace` is invalid for every type but tracepoints (ignored for them).
    if (name === "trace" && outputType !== ScriptOutputType.TRACEPOINT) continue;
    if (op === "-") {
      fields.delete(name);
      removed.add(name);
      named.delete(name);
    } else {
      fields.add(name);
      named.add(name);
    }
  }
  return { fields, removed, named };
}

/**
 * The selection for the events of one output type, as perf keeps one
 * `output[type]` per type: the user's request when it names this type (or
 * no type), perf's defaults of the type otherwise.
 *
 * @param request The parsed `-F` request.
 * @param attrType `perf_event_attr.type` of the event.
 * @returns A fresh selection (to check with {@linkcode checkScriptFields}).
 */
export function scriptFieldsFor(request: ScriptFields, attrType: number): ScriptFields {
  const ot = scriptOutputType(attrType);
  const defaults = defaultScriptFields(ot);
  const forThis = request.userSet &&
    (request.outputType === undefined || request.outputType === ot ||
      // `hw:` covers the hardware-like types perf prints with the hardware table.
      (request.outputType === ScriptOutputType.HARDWARE && ot === ScriptOutputType.HW_CACHE));
  if (!forThis) return { fields: new Set(defaults), userSet: false, removed: new Set() };
  if (request.tokens === undefined) {
    return {
      fields: new Set(request.fields),
      userSet: true,
      removed: new Set(request.removed),
      named: request.named && new Set(request.named),
    };
  }
  const sel = apply(defaults, request.relative ?? false, request.tokens, ot);
  return { ...sel, userSet: true, outputType: ot };
}

/**
 * Check a field selection against an event's attr exactly as perf script's
 * `evsel__check_attr` does: fields the samples cannot provide are an error
 * when the user named them (`-F cpu`, `-F +cpu`) and are dropped silently
 * otherwise (defaults kept by `-F +pid` or `-F -dso` included). (perf 6.1
 * prints `period` without PERF_SAMPLE_PERIOD: `attr.sample_period`.)
 *
 * @param selection The parsed fields (dropped fields are removed in place when not user-set).
 * @param attr The event's attr.
 * @param eventName The event name for messages (e.g. `cpu-clock`).
 * @throws {ScriptFieldError} With perf's message and exit code 255.
 */
export function checkScriptFields(
  selection: ScriptFields,
  attr: PerfEventAttr,
  eventName: string,
): void {
  const f = selection.fields;
  const st = attr.sampleType;
  if (f.has("symoff") && !f.has("sym")) {
    throw new ScriptFieldError("Display of offsets requested but symbol is notselected.", 255);
  }
  const named = selection.named;
  const need = (field: string, bit: number, attrName: string) => {
    if (!f.has(field) || st & bit) return;
    // perf's evsel__do_check_stype: an error only for the fields the user named.
    if (named !== undefined ? named.has(field) : selection.userSet) {
      throw new ScriptFieldError(
        `Samples for '${eventName}' event do not have ${attrName} attribute set. Cannot print '${field}' field.`,
        255,
      );
    }
    f.delete(field);
  };
  need("ip", SampleType.IP, "IP");
  need("addr", SampleType.ADDR, "ADDR");
  if ((f.has("sym") || f.has("dso")) && !(st & (SampleType.IP | SampleType.ADDR))) {
    if (selection.userSet) {
      throw new ScriptFieldError(
        "Display of symbols requested but neither sample IP nor sample address\navailable. Hence, no addresses to convert to symbols.",
        255,
      );
    }
    f.delete("sym");
    f.delete("dso");
    f.delete("symoff");
  }
  if (f.has("srcline") && !f.has("ip")) {
    throw new ScriptFieldError(
      "Display of source line number requested but sample IP is not\n" +
        "selected. Hence, no address to lookup the source line number.",
      255,
    );
  }
  need("tid", SampleType.TID, "TID");
  need("pid", SampleType.TID, "TID");
  need("time", SampleType.TIME, "TIME");
  need("cpu", SampleType.CPU, "CPU");
  need("data_src", SampleType.DATA_SRC, "DATA_SRC");
  need("weight", SampleType.WEIGHT | SampleType.WEIGHT_STRUCT, "WEIGHT");
  need("ins_lat", SampleType.WEIGHT_STRUCT, "WEIGHT_STRUCT");
  need("phys_addr", SampleType.PHYS_ADDR, "PHYS_ADDR");
  need("data_page_size", SampleType.DATA_PAGE_SIZE, "DATA_PAGE_SIZE");
  need("code_page_size", SampleType.CODE_PAGE_SIZE, "CODE_PAGE_SIZE");
}

/**
 * perf script's pipe-mode quirk (`process_attr`): when an attr that records
 * callchains arrives in the stream, `ip` and `sym` are switched on for its
 * output type unless the user removed them with `-ip` / `-sym`. File-mode
 * input never does this.
 *
 * @param selection The field selection of the attr's type, changed in place.
 */
export function enablePipeCallchainFields(selection: ScriptFields): void {
  if (!selection.removed.has("ip")) selection.fields.add("ip");
  if (!selection.removed.has("sym")) selection.fields.add("sym");
}

/**
 * perf script's default for tracepoints that record callchains
 * (`perf_session__check_output_opt`): unless the user chose tracepoint
 * fields, they print `ip`, `sym`, `symoff` and `dso` too.
 *
 * @param selection The tracepoint selection, changed in place.
 */
export function enableTracepointCallchainFields(selection: ScriptFields): void {
  if (selection.userSet) return;
  for (const f of ["ip", "sym", "symoff", "dso"]) selection.fields.add(f);
}
