/**
 * perf-script-style text output, byte for byte as perf 6.1 prints it for the
 * fields comm, pid, tid, cpu, time, period, event, ip, sym, dso, symoff and
 * addr: field parsing (`-F`, with `+field` / `-field` and `type:` prefixes),
 * the attribute checks perf makes before printing, and one sample's text.
 *
 * @module
 */

import {
  ContextMarkerLo,
  CpuMode,
  hexBig,
  padStart,
  type PerfEventAttr,
  type Sample,
  SampleType,
} from "../abi/mod.ts";
import type { InlineNode } from "../analyze/inlines.ts";

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
  "period",
];

/** perf's default fields for software events (those the sample lacks are dropped silently). */
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

/** A parsed `-F` request. */
export interface ScriptFields {
  /** The selected fields. */
  fields: Set<string>;
  /** Whether the user named the fields (perf's `user_set`): missing attributes are errors. */
  userSet: boolean;
  /** Fields the user removed with `-field` (perf's `user_unset_fields`). */
  removed: Set<string>;
}

/**
 * Parse perf script's `-F` argument.
 *
 * @param spec The argument (e.g. `comm,tid,ip` or `+period` or `sw:ip,sym`), or undefined for defaults.
 * @returns The selection.
 * @throws {ScriptFieldError} "Invalid field requested." (exit 129) for an unknown field, or a
 *   "not supported" error for a perf field callring does not print yet.
 *
 * @example
 * ```ts
 * import { parseScriptFields } from "./perf_script.ts";
 * console.log([...parseScriptFields("comm,tid,ip").fields]); // ["comm", "tid", "ip"]
 * ```
 */
export function parseScriptFields(spec: string | undefined): ScriptFields {
  if (spec === undefined) {
    return { fields: new Set(DEFAULT_SCRIPT_FIELDS), userSet: false, removed: new Set() };
  }
  let body = spec;
  const colon = body.indexOf(":");
  if (colon >= 0) {
    const type = body.slice(0, colon);
    if (!["hw", "sw", "trace", "raw", "synth"].includes(type)) {
      throw new ScriptFieldError(`Invalid event type in field string.`, 129);
    }
    body = body.slice(colon + 1);
  }
  const tokens = body.split(",").map((t) => t.trim()).filter((t) => t.length > 0);
  const relative = tokens.length > 0 && (tokens[0]!.startsWith("+") || tokens[0]!.startsWith("-"));
  const fields = new Set<string>(relative ? DEFAULT_SCRIPT_FIELDS : []);
  const removed = new Set<string>();
  for (const token of tokens) {
    const op = token[0] === "+" || token[0] === "-" ? token[0] : "";
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
    if (op === "-") {
      fields.delete(name);
      removed.add(name);
    } else fields.add(name);
  }
  return { fields, userSet: true, removed };
}

/**
 * Check a field selection against an event's attr exactly as perf script's
 * `evsel__check_attr` does: fields the samples cannot provide are an error
 * when the user named them and are dropped silently otherwise.
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
  const need = (field: string, bit: number, attrName: string) => {
    if (!f.has(field) || st & bit) return;
    if (selection.userSet) {
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
  need("tid", SampleType.TID, "TID");
  need("pid", SampleType.TID, "TID");
  need("time", SampleType.TIME, "TIME");
  need("cpu", SampleType.CPU, "CPU");
  need("period", SampleType.PERIOD, "PERIOD");
}

/**
 * perf script's pipe-mode quirk (`process_attr`): when an attr that records
 * callchains arrives in the stream, `ip` and `sym` are switched on unless the
 * user removed them with `-ip` / `-sym`. File-mode input never does this.
 *
 * @param selection The field selection, changed in place.
 */
export function enablePipeCallchainFields(selection: ScriptFields): void {
  if (!selection.removed.has("ip")) selection.fields.add("ip");
  if (!selection.removed.has("sym")) selection.fields.add("sym");
}

/** Where an address lands, as perf resolves it through the thread's maps. */
export interface ResolvedAddress {
  /** The address perf prints in callchains: map-relative (`map__map_ip`) for user maps. */
  mapIp: bigint;
  /** Symbol name, undefined when unresolved. */
  sym: string | undefined;
  /** Offset of `mapIp` into the symbol. */
  symoff: bigint;
  /** The dso name perf prints (`[kernel.kallsyms]`, a path), undefined without a map. */
  dso: string | undefined;
}

/** Resolves sample addresses (implemented by the symbolizer). */
export interface AddressResolver {
  /**
   * Resolve one address.
   *
   * @param pid Process id of the sample.
   * @param tid Thread id of the sample.
   * @param cpumode `PERF_RECORD_MISC_*` cpumode in effect for this address.
   * @param addr The address.
   * @returns The resolution, or undefined when no map covers the address.
   */
  resolve(pid: number, tid: number, cpumode: number, addr: bigint): ResolvedAddress | undefined;
}

/**
 * Inline expansion of a callchain (perf 6.1's `append_inlines`): for a
 * callchain index (markers counted), the nodes printed in place of that
 * entry, innermost first. Each node prints the entry's address and offset;
 * an inlined node prints its own name, no dso, and ` (inlined)`.
 */
export type InlineExpansion = ReadonlyMap<number, readonly InlineNode[]>;

/** A resolver that knows no maps: every address prints raw and unresolved. */
export const NO_MAPS: AddressResolver = { resolve: () => undefined };

/** Options of {@linkcode ScriptPrinter}. */
export interface ScriptPrinterOptions {
  /** Largest number of callchain entries printed (perf's `--max-stack`, default 127). */
  maxStack?: number;
  /** Width of the event-name column (perf pads to the longest event name). */
  eventNameWidth?: number;
}

const MARKER_HI = 0xffffffff;

/** Formats samples as perf script prints them. */
export class ScriptPrinter {
  readonly #f: Set<string>;
  readonly #resolver: AddressResolver;
  readonly #maxStack: number;
  readonly #nameWidth: number;

  /**
   * Create a printer.
   *
   * @param selection The checked field selection.
   * @param resolver Address resolution for ip/sym/dso/symoff.
   * @param options Printing options.
   */
  constructor(
    selection: ScriptFields,
    resolver: AddressResolver,
    options: ScriptPrinterOptions = {},
  ) {
    this.#f = selection.fields;
    this.#resolver = resolver;
    this.#maxStack = options.maxStack ?? 127;
    this.#nameWidth = options.eventNameWidth ?? 0;
  }

  /**
   * Format one sample, newline included (and the blank line after a callchain).
   *
   * @param sample The decoded sample.
   * @param misc The record header's `misc` (cpumode).
   * @param comm The thread's comm.
   * @param eventName The event name.
   * @param hasCallchain Whether the event records callchains.
   * @param inlines Inline nodes replacing callchain entries (DWARF-unwound
   *   user frames); entries without nodes print as usual.
   * @returns The text.
   */
  format(
    sample: Sample,
    misc: number,
    comm: string,
    eventName: string,
    hasCallchain: boolean,
    inlines?: InlineExpansion,
  ): string {
    const f = this.#f;
    const printChain = f.has("ip") && hasCallchain && sample.callchain !== undefined;
    let out = "";
    if (f.has("comm")) out += printChain ? `${comm} ` : `${padStart(comm, 16)} `;
    const pid = sample.pid ?? -1;
    const tid = sample.tid ?? -1;
    if (f.has("pid") && f.has("tid")) {
      out += `${padStart(String(pid), 5)}/${String(tid).padEnd(5)} `;
    } else if (f.has("pid")) out += `${padStart(String(pid), 5)} `;
    else if (f.has("tid")) out += `${padStart(String(tid), 5)} `;
    if (f.has("cpu")) out += `[${String(sample.cpu ?? 0).padStart(3, "0")}] `;
    if (f.has("time")) out += `${padStart(formatTime(sample.time ?? 0), 12)}: `;
    if (f.has("period")) out += `${padStart(String(sample.period ?? 0), 10)} `;
    if (f.has("event")) out += `${padStart(eventName, this.#nameWidth)}: `;
    if (f.has("addr")) out += padStart(hexBig(sample.addr ?? 0n), 16);
    if (f.has("ip")) {
      const cpumode = misc & 7;
      if (printChain) {
        out += "\n" + this.#chain(sample.callchain!, pid, tid, cpumode, inlines);
      } else {
        out += " " + padStart(hexBig(sample.ip ?? 0n), 16);
        out += this.#symText(this.#resolver.resolve(pid, tid, cpumode, sample.ip ?? 0n));
      }
    }
    return out + "\n";
  }

  #symText(r: ResolvedAddress | undefined, node?: InlineNode): string {
    let out = "";
    const sym = node !== undefined ? node.sym : r?.sym;
    if (this.#f.has("sym")) {
      out += " " + (sym ?? "[unknown]");
      // An inlined symbol has its base symbol's start: the offset is the same.
      if (this.#f.has("symoff") && sym !== undefined) {
        out += "+0x" + (r?.symoff ?? 0n).toString(16);
      }
    }
    if (node?.inlined) return out + " (inlined)";
    if (this.#f.has("dso")) out += ` (${r?.dso ?? "[unknown]"})`;
    return out;
  }

  #chain(
    chain: BigUint64Array,
    pid: number,
    tid: number,
    sampleMode: number,
    inlines: InlineExpansion | undefined,
  ): string {
    const words = new Uint32Array(chain.buffer, chain.byteOffset, chain.length * 2);
    let cpumode = sampleMode;
    let out = "";
    let printed = 0;
    for (let i = 0; i < chain.length && printed < this.#maxStack; i++) {
      const lo = words[2 * i]!;
      const hi = words[2 * i + 1]!;
      if (hi === MARKER_HI && lo >= ContextMarkerLo.MAX) {
        const next = markerCpuMode(lo, cpumode);
        if (next < 0) return ""; // perf discards the whole chain on an unknown marker
        cpumode = next;
        continue;
      }
      printed++;
      const ip = chain[i]!;
      const r = this.#resolver.resolve(pid, tid, cpumode, ip);
      const ipText = "\t" + padStart(hexBig(r ? r.mapIp : ip), 16);
      const nodes = inlines?.get(i);
      if (nodes === undefined || nodes.length === 0) out += ipText + this.#symText(r) + "\n";
      // perf's --max-stack bounds unwound entries, not the inline nodes they expand to.
      else for (const node of nodes) out += ipText + this.#symText(r, node) + "\n";
    }
    return out;
  }
}

/**
 * The cpumode a callchain marker switches to (perf's `add_callchain_ip`).
 *
 * @param lo Low 32 bits of the marker.
 * @param _current The cpumode before the marker.
 * @returns The cpumode after it, or -1 for a marker perf 6.1 does not know
 *   (perf then discards the whole callchain).
 */
export function markerCpuMode(lo: number, _current: number): number {
  switch (lo) {
    case ContextMarkerLo.HV:
      return CpuMode.HYPERVISOR;
    case ContextMarkerLo.KERNEL:
      return CpuMode.KERNEL;
    case ContextMarkerLo.USER:
      return CpuMode.USER;
    case ContextMarkerLo.GUEST_KERNEL:
      return CpuMode.GUEST_KERNEL;
    case ContextMarkerLo.GUEST_USER:
      return CpuMode.GUEST_USER;
    default:
      return -1;
  }
}

/**
 * Format a timestamp in nanoseconds as perf's `%lu.%06lu` (microseconds).
 *
 * @param ns Nanoseconds.
 * @returns Seconds with six decimals, truncated.
 */
export function formatTime(ns: number): string {
  const secs = Math.floor(ns / 1e9);
  const usecs = Math.floor((ns - secs * 1e9) / 1e3);
  return `${secs}.${String(usecs).padStart(6, "0")}`;
}
