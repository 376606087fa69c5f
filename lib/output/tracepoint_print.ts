/**
 * A tracepoint's payload as perf script prints it (`-F trace`, the default
 * for tracepoints): the event's `print fmt` evaluated against its
 * PERF_SAMPLE_RAW bytes, as libtraceevent's `tep_print_event(...,
 * TEP_PRINT_INFO)` does (event-parse.c: `process_arg`, `eval_num_arg`,
 * `print_str_arg`, `pretty_print`). The format string takes printf
 * conversions (`%d %u %x %s %c %p` with flags, width, precision and
 * `h`/`hh`/`l`/`ll`/`z` lengths); the arguments are C expressions over
 * `REC->field` with casts, arithmetic, comparisons, `?:`, and the helpers
 * `__print_flags`, `__print_symbolic`, `__get_str`, `__get_dynamic_array_len`.
 * A format using anything else is reported as not decoded (see
 * {@linkcode TracepointPrinter.undecoded}); nothing is guessed.
 *
 * @module
 */

import type { TraceEventFormat, TraceField, TracingData } from "../perfdata/tracing_data.ts";

/** A print fmt callring does not evaluate (names the construct). */
export class TraceFormatError extends Error {
  /**
   * Create the error.
   *
   * @param message What is not supported.
   */
  constructor(message: string) {
    super(message);
    this.name = "TraceFormatError";
  }
}

type Node =
  | { k: "num"; v: bigint }
  | { k: "str"; v: string }
  | { k: "field"; f: TraceField }
  | { k: "un"; op: string; a: Node }
  | { k: "bin"; op: string; a: Node; b: Node }
  | { k: "cond"; c: Node; a: Node; b: Node }
  | { k: "cast"; bits: number; signed: boolean; a: Node }
  | { k: "call"; name: string; args: Node[] }
  | { k: "list"; items: Node[] };

type Tok = { t: "num"; v: bigint } | { t: "str"; v: string } | { t: "id"; v: string } | {
  t: "op";
  v: string;
};

const OPS = [
  "->",
  "<<",
  ">>",
  "<=",
  ">=",
  "==",
  "!=",
  "&&",
  "||",
  "(",
  ")",
  "{",
  "}",
  "[",
  "]",
  ",",
  "?",
  ":",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "^",
  "!",
  "~",
  "<",
  ">",
  ".",
];

function unescape(s: string): string {
  return s.replace(/\\(n|t|r|\\|"|'|0|x[0-9a-fA-F]{1,2}|[0-7]{1,3})/g, (_m, e: string) => {
    switch (e[0]) {
      case "n":
        return "\n";
      case "t":
        return "\t";
      case "r":
        return "\r";
      case "x":
        return String.fromCharCode(parseInt(e.slice(1), 16));
      default:
        if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
        return e;
    }
  });
}

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      const body = unescape(text.slice(i + 1, j));
      if (c === "'") out.push({ t: "num", v: BigInt(body.charCodeAt(0) || 0) });
      else {
        // Adjacent string literals concatenate.
        const last = out[out.length - 1];
        if (last?.t === "str") last.v += body;
        else out.push({ t: "str", v: body });
      }
      i = j + 1;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*/.exec(text.slice(i))!;
      const lit = m[1]!;
      const v = /^0[0-7]+$/.test(lit) ? BigInt("0o" + lit.slice(1)) : BigInt(lit);
      out.push({ t: "num", v });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      out.push({ t: "id", v: m[0] });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op === undefined) throw new TraceFormatError(`character ${JSON.stringify(c)}`);
    out.push({ t: "op", v: op });
    i += op.length;
  }
  return out;
}

/** C types of casts: bits and signedness. */
function castType(words: string[]): { bits: number; signed: boolean } | undefined {
  const w = words.filter((x) => x !== "const" && x !== "volatile");
  if (w.length === 0) return undefined;
  if (w[w.length - 1] === "*") return { bits: 64, signed: false };
  const s = w.join(" ");
  const fixed: Record<string, [number, boolean]> = {
    u8: [8, false],
    s8: [8, true],
    u16: [16, false],
    s16: [16, true],
    u32: [32, false],
    s32: [32, true],
    u64: [64, false],
    s64: [64, true],
    __u8: [8, false],
    __u16: [16, false],
    __u32: [32, false],
    __u64: [64, false],
    __s8: [8, true],
    __s16: [16, true],
    __s32: [32, true],
    __s64: [64, true],
    bool: [8, false],
    _Bool: [8, false],
    size_t: [64, false],
    ssize_t: [64, true],
    pid_t: [32, true],
    gfp_t: [32, false],
    char: [8, true],
    "signed char": [8, true],
    "unsigned char": [8, false],
    short: [16, true],
    "unsigned short": [16, false],
    int: [32, true],
    signed: [32, true],
    unsigned: [32, false],
    "unsigned int": [32, false],
    long: [64, true],
    "unsigned long": [64, false],
    "long long": [64, true],
    "unsigned long long": [64, false],
  };
  const f = fixed[s];
  return f ? { bits: f[0], signed: f[1] } : undefined;
}

class Parser {
  #p = 0;
  constructor(readonly toks: Tok[], readonly fields: Map<string, TraceField>) {}

  get done(): boolean {
    return this.#p >= this.toks.length;
  }

  #peek(v: string): boolean {
    const t = this.toks[this.#p];
    return t !== undefined && t.t === "op" && t.v === v;
  }

  #eat(v: string): void {
    if (!this.#peek(v)) {
      throw new TraceFormatError(`expected "${v}" at token ${this.#p}`);
    }
    this.#p++;
  }

  args(): Node[] {
    const out: Node[] = [];
    while (!this.done) {
      out.push(this.expr());
      if (this.done) break;
      this.#eat(",");
    }
    return out;
  }

  expr(): Node {
    const c = this.#binary(0);
    if (this.#peek("?")) {
      this.#p++;
      const a = this.expr();
      this.#eat(":");
      const b = this.expr();
      return { k: "cond", c, a, b };
    }
    return c;
  }

  static readonly PREC: Record<string, number> = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6,
    "!=": 6,
    "<": 7,
    ">": 7,
    "<=": 7,
    ">=": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
  };

  #binary(min: number): Node {
    let a = this.#unary();
    for (;;) {
      const t = this.toks[this.#p];
      if (t === undefined || t.t !== "op") return a;
      const prec = Parser.PREC[t.v];
      if (prec === undefined || prec <= min) return a;
      this.#p++;
      const b = this.#binary(prec);
      a = { k: "bin", op: t.v, a, b };
    }
  }

  #unary(): Node {
    const t = this.toks[this.#p];
    if (t?.t === "op" && (t.v === "!" || t.v === "~" || t.v === "-" || t.v === "+")) {
      this.#p++;
      return { k: "un", op: t.v, a: this.#unary() };
    }
    if (t?.t === "op" && t.v === "(") {
      // A cast: "(" type words ")".
      const words: string[] = [];
      let q = this.#p + 1;
      while (q < this.toks.length) {
        const x = this.toks[q]!;
        if (x.t === "id" || (x.t === "op" && x.v === "*")) {
          words.push(x.v);
          q++;
        } else break;
      }
      const ct = this.toks[q];
      const cast = words.length > 0 && ct?.t === "op" && ct.v === ")" ? castType(words) : undefined;
      if (cast !== undefined && !(words.length === 1 && this.fields.has(words[0]!))) {
        this.#p = q + 1;
        return { k: "cast", ...cast, a: this.#unary() };
      }
    }
    return this.#postfix();
  }

  #postfix(): Node {
    const t = this.toks[this.#p];
    if (t === undefined) throw new TraceFormatError("unexpected end of the arguments");
    this.#p++;
    if (t.t === "num") return { k: "num", v: t.v };
    if (t.t === "str") return { k: "str", v: t.v };
    if (t.t === "op" && t.v === "(") {
      const e = this.expr();
      this.#eat(")");
      return e;
    }
    if (t.t === "op" && t.v === "{") {
      const items: Node[] = [];
      while (!this.#peek("}")) {
        items.push(this.expr());
        if (this.#peek(",")) this.#p++;
      }
      this.#eat("}");
      return { k: "list", items };
    }
    if (t.t === "id") {
      if (t.v === "REC") {
        this.#eat("->");
        const name = this.toks[this.#p++];
        if (name?.t !== "id") throw new TraceFormatError("REC-> without a field name");
        const f = this.fields.get(name.v);
        if (f === undefined) throw new TraceFormatError(`unknown field REC->${name.v}`);
        return { k: "field", f };
      }
      if (this.#peek("(")) {
        this.#p++;
        const args: Node[] = [];
        while (!this.#peek(")")) {
          args.push(this.expr());
          if (this.#peek(",")) this.#p++;
          else break;
        }
        this.#eat(")");
        return { k: "call", name: t.v, args };
      }
      // Helpers name their field bare: __get_str(filename).
      const f = this.fields.get(t.v);
      if (f !== undefined) return { k: "field", f };
      throw new TraceFormatError(`identifier ${t.v}`);
    }
    throw new TraceFormatError(`token "${t.v}"`);
  }
}

const MASK64 = (1n << 64n) - 1n;

/** A compiled tracepoint format. */
interface Compiled {
  pieces: (string | Conv)[];
  args: Node[];
}

/** One printf conversion. */
interface Conv {
  flags: string;
  width: number | "*" | undefined;
  precision: number | "*" | undefined;
  length: string;
  conv: string;
}

function parseFormat(fmt: string): (string | Conv)[] {
  const out: (string | Conv)[] = [];
  let lit = "";
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c !== "%") {
      lit += c;
      i++;
      continue;
    }
    if (fmt[i + 1] === "%") {
      lit += "%";
      i += 2;
      continue;
    }
    const m = /^%([-+ 0#]*)(\*|[0-9]+)?(?:\.(\*|[0-9]+))?(hh|h|ll|l|z|j|t|L)?([diouxXcsp])/.exec(
      fmt.slice(i),
    );
    if (!m) throw new TraceFormatError(`conversion ${JSON.stringify(fmt.slice(i, i + 4))}`);
    if (m[5] === "p" && /[A-Za-z]/.test(fmt[i + m[0].length] ?? "")) {
      throw new TraceFormatError(`conversion %p${fmt[i + m[0].length]}`);
    }
    if (lit) out.push(lit);
    lit = "";
    const num = (s: string | undefined) =>
      s === undefined ? undefined : s === "*" ? "*" : Number(s);
    out.push({
      flags: m[1] ?? "",
      width: num(m[2]),
      precision: num(m[3]),
      length: m[4] ?? "",
      conv: m[5]!,
    });
    i += m[0].length;
  }
  if (lit) out.push(lit);
  return out;
}

function compile(ev: TraceEventFormat): Compiled {
  if (ev.printFmt === undefined) throw new TraceFormatError("no print fmt");
  const toks = tokenize(ev.printFmt);
  if (toks[0]?.t !== "str") throw new TraceFormatError("print fmt does not start with a string");
  const fields = new Map(ev.fields.map((f) => [f.name, f]));
  const pieces = parseFormat(toks[0].v);
  const rest = toks.slice(1);
  if (rest.length > 0 && !(rest[0]!.t === "op" && rest[0]!.v === ",")) {
    throw new TraceFormatError("text after the format string");
  }
  const args = new Parser(rest.slice(1), fields).args();
  // Check the helpers now, so unsupported ones are found before printing.
  const check = (n: Node): void => {
    if (n.k === "call" && !HELPERS.has(n.name)) throw new TraceFormatError(`helper ${n.name}()`);
    if ("a" in n) check(n.a);
    if ("b" in n) check(n.b);
    if (n.k === "cond") check(n.c);
    if (n.k === "call") n.args.forEach(check);
    if (n.k === "list") n.items.forEach(check);
  };
  args.forEach(check);
  return { pieces, args };
}

const HELPERS = new Set([
  "__print_flags",
  "__print_symbolic",
  "__get_str",
  "__get_dynamic_array_len",
]);

type Value = bigint | string;

/** Evaluation of one payload. */
class Evaluator {
  constructor(
    readonly raw: Uint8Array,
    readonly view: DataView,
    readonly little: boolean,
    readonly longBits: number,
  ) {}

  read(offset: number, size: number): bigint {
    const v = this.view, le = this.little;
    if (offset < 0 || offset + size > this.raw.length) return 0n;
    switch (size) {
      case 1:
        return BigInt(v.getUint8(offset));
      case 2:
        return BigInt(v.getUint16(offset, le));
      case 4:
        return BigInt(v.getUint32(offset, le));
      case 8:
        return v.getBigUint64(offset, le);
      default:
        return 0n;
    }
  }

  fieldString(f: TraceField): string {
    let start = f.offset, len = f.size;
    if (f.dynamic) {
      const loc = Number(this.read(f.offset, 4));
      start = loc & 0xffff;
      len = loc >>> 16;
      if (f.type.startsWith("__rel_loc")) start += f.offset + f.size;
    }
    const end = Math.min(this.raw.length, start + len);
    let s = "";
    for (let i = start; i < end; i++) {
      const b = this.raw[i]!;
      if (b === 0) break;
      s += String.fromCharCode(b);
    }
    return s;
  }

  value(n: Node): Value {
    switch (n.k) {
      case "num":
        return n.v;
      case "str":
        return n.v;
      case "field":
        if (n.f.string) return this.fieldString(n.f);
        return this.read(n.f.offset, n.f.size);
      case "call":
        return this.call(n.name, n.args);
      case "cond":
        return this.num(n.c) !== 0n ? this.value(n.a) : this.value(n.b);
      default:
        return this.num(n);
    }
  }

  num(n: Node): bigint {
    switch (n.k) {
      case "num":
        return n.v;
      case "str":
        throw new TraceFormatError("a string used as a number");
      case "field":
        return n.f.dynamic
          ? this.read(n.f.offset, 4)
          : n.f.string
          ? BigInt(this.raw[n.f.offset] ?? 0)
          : this.read(n.f.offset, n.f.size);
      case "un": {
        const a = this.num(n.a);
        switch (n.op) {
          case "!":
            return a === 0n ? 1n : 0n;
          case "~":
            return ~a & MASK64;
          case "-":
            return -a & MASK64;
          default:
            return a;
        }
      }
      case "cast": {
        const m = (1n << BigInt(n.bits)) - 1n;
        const v = this.num(n.a) & m;
        return n.signed && v >> BigInt(n.bits - 1) ? (v - (m + 1n)) & MASK64 : v;
      }
      case "cond":
        return this.num(n.c) !== 0n ? this.num(n.a) : this.num(n.b);
      case "bin": {
        const a = this.num(n.a), b = this.num(n.b);
        switch (n.op) {
          case "+":
            return (a + b) & MASK64;
          case "-":
            return (a - b) & MASK64;
          case "*":
            return (a * b) & MASK64;
          case "/":
            return b === 0n ? 0n : a / b;
          case "%":
            return b === 0n ? 0n : a % b;
          case "<<":
            return (a << b) & MASK64;
          case ">>":
            return a >> b;
          case "&":
            return a & b;
          case "|":
            return a | b;
          case "^":
            return a ^ b;
          case "&&":
            return a !== 0n && b !== 0n ? 1n : 0n;
          case "||":
            return a !== 0n || b !== 0n ? 1n : 0n;
          case "==":
            return a === b ? 1n : 0n;
          case "!=":
            return a !== b ? 1n : 0n;
          case "<":
            return a < b ? 1n : 0n;
          case ">":
            return a > b ? 1n : 0n;
          case "<=":
            return a <= b ? 1n : 0n;
          case ">=":
            return a >= b ? 1n : 0n;
        }
        throw new TraceFormatError(`operator ${n.op}`);
      }
      case "call": {
        const v = this.call(n.name, n.args);
        if (typeof v === "string") throw new TraceFormatError(`${n.name}() used as a number`);
        return v;
      }
      case "list":
        throw new TraceFormatError("a { } list used as a value");
    }
  }

  call(name: string, args: Node[]): Value {
    switch (name) {
      case "__get_str": {
        const a = args[0];
        if (a?.k !== "field") throw new TraceFormatError("__get_str() of a non-field");
        return this.fieldString(a.f);
      }
      case "__get_dynamic_array_len": {
        const a = args[0];
        if (a?.k !== "field") {
          throw new TraceFormatError("__get_dynamic_array_len() of a non-field");
        }
        return BigInt(Number(this.read(a.f.offset, 4)) >>> 16);
      }
      case "__print_symbolic": {
        const v = this.num(args[0]!);
        for (const item of args.slice(1)) {
          if (item.k !== "list" || item.items.length < 2) continue;
          if (this.num(item.items[0]!) === v) return String(this.value(item.items[1]!));
        }
        return "0x" + v.toString(16);
      }
      case "__print_flags": {
        let v = this.num(args[0]!);
        const delim = args[1] !== undefined ? String(this.value(args[1])) : "";
        let out = "";
        let printed = false;
        for (const item of args.slice(2)) {
          if (item.k !== "list" || item.items.length < 2) continue;
          const f = this.num(item.items[0]!);
          const s = String(this.value(item.items[1]!));
          if (v === 0n && f === 0n) {
            out += s;
            break;
          }
          if (f !== 0n && (v & f) === f) {
            if (printed && delim) out += delim;
            out += s;
            printed = true;
            v &= ~f;
          }
        }
        if (v !== 0n) {
          if (printed && delim) out += delim;
          out += "0x" + v.toString(16);
        }
        return out;
      }
    }
    throw new TraceFormatError(`helper ${name}()`);
  }
}

function pad(s: string, width: number | undefined, flags: string, numeric: boolean): string {
  if (width === undefined || s.length >= width) return s;
  if (flags.includes("-")) return s.padEnd(width);
  if (numeric && flags.includes("0")) {
    const sign = /^[-+ ]/.test(s) ? s[0]! : "";
    const prefix = /^[-+ ]?0[xX]/.test(s) ? s.slice(sign.length, sign.length + 2) : "";
    const body = s.slice(sign.length + prefix.length);
    return sign + prefix + body.padStart(width - sign.length - prefix.length, "0");
  }
  return s.padStart(width);
}

function lengthBits(length: string, longBits: number): number {
  switch (length) {
    case "hh":
      return 8;
    case "h":
      return 16;
    case "l":
    case "z":
    case "j":
    case "t":
      return longBits;
    case "ll":
    case "L":
      return 64;
    default:
      return 32;
  }
}

function formatConv(
  c: Conv,
  v: Value,
  width: number | undefined,
  prec: number | undefined,
  longBits: number,
): string {
  if (c.conv === "s") {
    let s = typeof v === "string" ? v : v.toString();
    if (prec !== undefined) s = s.slice(0, prec);
    return pad(s, width, c.flags, false);
  }
  if (typeof v === "string") {
    throw new TraceFormatError(`%${c.conv} of a string`);
  }
  if (c.conv === "c") return pad(String.fromCharCode(Number(v & 0xffn)), width, c.flags, false);
  if (c.conv === "p") {
    const s = v === 0n ? "(nil)" : "0x" + (v & MASK64).toString(16);
    return pad(s, width, c.flags, false);
  }
  const bits = lengthBits(c.length, longBits);
  const m = (1n << BigInt(bits)) - 1n;
  let u = v & m;
  let neg = false;
  if (c.conv === "d" || c.conv === "i") {
    if (u >> BigInt(bits - 1)) {
      neg = true;
      u = (m + 1n) - u;
    }
  }
  let digits: string;
  switch (c.conv) {
    case "x":
      digits = u.toString(16);
      break;
    case "X":
      digits = u.toString(16).toUpperCase();
      break;
    case "o":
      digits = u.toString(8);
      break;
    default:
      digits = u.toString();
  }
  if (prec !== undefined) digits = digits.padStart(prec, "0");
  if (c.flags.includes("#") && u !== 0n) {
    if (c.conv === "x") digits = "0x" + digits;
    else if (c.conv === "X") digits = "0X" + digits;
    else if (c.conv === "o") digits = "0" + digits;
  }
  const sign = neg
    ? "-"
    : c.flags.includes("+") && (c.conv === "d" || c.conv === "i")
    ? "+"
    : c.flags.includes(" ") && (c.conv === "d" || c.conv === "i")
    ? " "
    : "";
  return pad(sign + digits, width, prec !== undefined ? c.flags.replace("0", "") : c.flags, true);
}

/**
 * Prints tracepoint payloads of one file (formats compiled once per event).
 */
export class TracepointPrinter {
  readonly #data: TracingData;
  readonly #compiled = new Map<number, Compiled | TraceFormatError>();
  /** Payloads not printed, by `system:name (reason)`. */
  readonly undecoded = new Map<string, number>();

  /**
   * Create a printer.
   *
   * @param data The file's tracing data.
   */
  constructor(data: TracingData) {
    this.#data = data;
  }

  /**
   * The payload text of one sample, or undefined (counted in
   * {@linkcode TracepointPrinter.undecoded}) when the event has no format
   * or its print fmt uses what callring does not evaluate.
   *
   * @param id The tracepoint id (`attr.config`).
   * @param raw The sample's PERF_SAMPLE_RAW bytes.
   * @returns The text perf prints after the event name.
   */
  format(id: number, raw: Uint8Array): string | undefined {
    const ev = this.#data.events.get(id);
    if (ev === undefined) {
      this.#count(`tracepoint id ${id} (no format in the tracing data)`);
      return undefined;
    }
    let c = this.#compiled.get(id);
    if (c === undefined) {
      try {
        c = compile(ev);
      } catch (e) {
        if (!(e instanceof TraceFormatError)) throw e;
        c = e;
      }
      this.#compiled.set(id, c);
    }
    if (c instanceof TraceFormatError) {
      this.#count(`${ev.system}:${ev.name} (print fmt: ${c.message})`);
      return undefined;
    }
    const ev8 = new Evaluator(
      raw,
      new DataView(raw.buffer, raw.byteOffset, raw.byteLength),
      !this.#data.bigEndian,
      this.#data.longSize * 8 || 64,
    );
    try {
      let out = "";
      let ai = 0;
      for (const piece of c.pieces) {
        if (typeof piece === "string") {
          out += piece;
          continue;
        }
        let width = piece.width, prec = piece.precision;
        if (width === "*") width = Number(ev8.num(c.args[ai++]!));
        if (prec === "*") prec = Number(ev8.num(c.args[ai++]!));
        const arg = c.args[ai++];
        if (arg === undefined) throw new TraceFormatError("fewer arguments than conversions");
        out += formatConv(piece, ev8.value(arg), width, prec, ev8.longBits);
      }
      return out;
    } catch (e) {
      if (!(e instanceof TraceFormatError)) throw e;
      this.#count(`${ev.system}:${ev.name} (${e.message})`);
      return undefined;
    }
  }

  #count(what: string): void {
    this.undecoded.set(what, (this.undecoded.get(what) ?? 0) + 1);
  }
}
