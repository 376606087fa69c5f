/**
 * A tracepoint's payload as perf script prints it (`-F trace`, the default
 * for tracepoints): the event's `print fmt` evaluated against its
 * PERF_SAMPLE_RAW bytes, as libtraceevent's `tep_print_event(...,
 * TEP_PRINT_INFO)` does (event-parse.c: `process_arg`, `eval_num_arg`,
 * `print_str_arg`, `pretty_print`). The format string takes printf
 * conversions (`%d %u %x %s %c %p` with flags, width, precision and
 * `h`/`hh`/`l`/`ll`/`z` lengths, and the kernel-function pointers
 * `%pS %ps %pF %pf` through a {@linkcode KernelSymbolizer}, as perf's
 * `machine__resolve_kernel_addr`); the arguments are C expressions over
 * `REC->field` with casts, arithmetic, comparisons, `?:`, and the helpers
 * `__print_flags`, `__print_symbolic`, `__get_str`, `__get_dynamic_array_len`.
 * A format using anything else is reported as not decoded (see
 * {@linkcode TracepointPrinter.undecoded}); nothing is guessed.
 *
 * @module
 */

import type { TraceEventFormat, TraceField, TracingData } from "../perfdata/tracing_data.ts";

/**
 * The kernel symbol an address falls in, as perf's tracepoint function
 * resolver finds it (`machine__resolve_kernel_addr`): its name and the
 * address's offset from its start; undefined when no kernel symbol covers it.
 */
export type KernelSymbolizer = (addr: bigint) => { name: string; offset: bigint } | undefined;

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
  | { k: "index"; f: TraceField; i: Node }
  | { k: "atom"; name: string }
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

/**
 * What a cast does to a value, as libtraceevent's `eval_type_str`: the
 * sized types `u8 u16 u32 s8 s16 s32` and (`unsigned`) `char`, `short`,
 * `int` keep their low bits (never sign-extended: the sign comes from the
 * conversion that prints the value); every other type (pointers, `long`,
 * `u64`, `struct`, typedefs such as `loff_t`) leaves it as it is.
 */
function castType(words: string[]): { bits: number; signed: boolean } {
  const w = words.filter((x) => x !== "const" && x !== "volatile");
  if (w[w.length - 1] === "*") return { bits: 64, signed: false };
  let s = w.join(" ");
  if (s.startsWith("unsigned ")) s = s.slice(9);
  const bits: Record<string, number> = {
    u8: 8,
    s8: 8,
    u16: 16,
    s16: 16,
    u32: 32,
    s32: 32,
    char: 8,
    short: 16,
    int: 32,
  };
  return { bits: bits[s] ?? 64, signed: false };
}

/**
 * libtraceevent's `eval_flag`: the value of a `__print_symbolic` /
 * `__print_flags` table entry written as a bare name (an enum the kernel did
 * not turn into a number): the softirq and hrtimer names it knows, else
 * all ones (`-1ULL`, which matches nothing).
 */
const KNOWN_FLAGS: Readonly<Record<string, bigint>> = {
  HI_SOFTIRQ: 0n,
  TIMER_SOFTIRQ: 1n,
  NET_TX_SOFTIRQ: 2n,
  NET_RX_SOFTIRQ: 3n,
  BLOCK_SOFTIRQ: 4n,
  IRQ_POLL_SOFTIRQ: 5n,
  TASKLET_SOFTIRQ: 6n,
  SCHED_SOFTIRQ: 7n,
  HRTIMER_SOFTIRQ: 8n,
  RCU_SOFTIRQ: 9n,
  HRTIMER_NORESTART: 0n,
  HRTIMER_RESTART: 1n,
};

/**
 * libtraceevent's operator priorities (`get_op_prio`): a larger number binds
 * more loosely; unary nodes have 0.
 */
const OP_PRIO: Readonly<Record<string, number>> = {
  "~": 4,
  "!": 4,
  "*": 6,
  "/": 6,
  "%": 6,
  "+": 7,
  "-": 7,
  "<<": 8,
  ">>": 8,
  "<": 9,
  ">": 9,
  "<=": 9,
  ">=": 9,
  "==": 10,
  "!=": 10,
  "&": 11,
  "^": 12,
  "|": 13,
  "&&": 14,
  "||": 15,
  "?": 16,
};

/** The binary operators of libtraceevent's `process_op`. */
const BINARY_OPS = new Set([
  ">>",
  "<<",
  "&",
  "|",
  "&&",
  "||",
  "-",
  "+",
  "*",
  "^",
  "/",
  "%",
  "<",
  ">",
  "<=",
  ">=",
  "==",
  "!=",
]);

/**
 * A print argument while it is parsed, as libtraceevent's `tep_print_arg`:
 * operator nodes are rewritten in place (`process_op` copies structs), so
 * the tree is the one perf evaluates, its quirks included (below).
 */
type Arg =
  | { kind: "prim"; node: Node }
  | { kind: "null" }
  | { kind: "atom"; words: string[] }
  | { kind: "op"; op: string; left: Arg | undefined; right: Arg | undefined; prio: number };

/** An operator node of {@linkcode Arg}. */
type OpArg = Extract<Arg, { kind: "op" }>;

/** Replace `target`'s contents by `source`'s (a C struct assignment). */
function assignArg(target: Arg, source: Arg): void {
  for (const k of Object.keys(target)) delete (target as Record<string, unknown>)[k];
  Object.assign(target, source);
}

/**
 * The arguments of a print fmt, parsed the way libtraceevent's
 * `process_arg` / `process_op` / `process_paren` build their tree, which is
 * not always C's: an operand in parentheses whose operator binds more
 * loosely than the one before it is rotated above it
 * (`REC->flags & (A | B)` is `(REC->flags & A) | B`), operators of one
 * priority group to the right (`a - b - c` is `a - (b - c)`), and the false
 * branch of `?:` is one operand. perf prints what that tree evaluates to.
 */
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

  /** The next token when it is an operator `process_op` continues with (not `:`). */
  #peekOp(): string | undefined {
    const t = this.toks[this.#p];
    if (t?.t !== "op") return undefined;
    return BINARY_OPS.has(t.v) || t.v === "?" ? t.v : undefined;
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

  /** One argument: `process_arg`, then `process_op` while an operator follows. */
  expr(): Node {
    return toNode(this.#full());
  }

  #full(): Arg {
    const arg = this.#primary();
    const op = this.#peekOp();
    if (op !== undefined) {
      this.#p++;
      this.#op(arg, op);
    }
    return arg;
  }

  /** `process_op` of the operator `token` (already read) with `arg` as its left side. */
  #op(arg: Arg, token: string): void {
    let right: Arg | undefined;
    if (arg.kind === "op" && arg.left === undefined) {
      // a single op: its operand is one argument
      right = this.#primary();
      arg.left = { kind: "null" };
      arg.right = right;
    } else if (token === "?") {
      const left: Arg = { ...arg } as Arg;
      assignArg(arg, { kind: "op", op: "?", left, right: undefined, prio: 0 });
      // process_cond: the true branch takes operators, the false branch is one argument
      const yes = this.#primary();
      for (let op = this.#peekOp(); op !== undefined; op = this.#peekOp()) {
        this.#p++;
        this.#op(yes, op);
      }
      this.#eat(":");
      const no = this.#primary();
      (arg as OpArg).right = { kind: "op", op: ":", left: yes, right: no, prio: 0 };
    } else if (BINARY_OPS.has(token)) {
      const left: Arg = { ...arg } as Arg;
      assignArg(arg, { kind: "op", op: token, left, right: undefined, prio: OP_PRIO[token]! });
      // "could just be a type pointer": (struct page *)
      if (token === "*" && this.#peek(")") && left.kind === "atom") {
        assignArg(arg, { kind: "atom", words: [...left.words, "*"] });
        return;
      }
      right = this.#primary();
      if (right.kind === "op" && OP_PRIO[token]! < (OP_PRIO[right.op] ?? -1)) {
        // "rotate ops according to the priority"
        const r = right as OpArg;
        (arg as OpArg).right = r.left;
        const tmp = { ...arg } as Arg;
        assignArg(arg, { ...r });
        assignArg(right, tmp);
        (arg as OpArg).left = right;
      } else {
        (arg as OpArg).right = right;
      }
    } else {
      throw new TraceFormatError(`operator ${token}`);
    }
    const next = this.#peekOp();
    if (next === undefined) return;
    this.#p++;
    // "higher prios need to be closer to the root"
    const prio = OP_PRIO[next] ?? -1;
    if (prio > (arg as OpArg).prio) return this.#op(arg, next);
    if (right === undefined) throw new TraceFormatError(`operator ${next} after ?:`);
    return this.#op(right, next);
  }

  /** `process_arg_token`: one operand (an operator expression only inside parentheses). */
  #primary(): Arg {
    const t = this.toks[this.#p];
    if (t === undefined) throw new TraceFormatError("unexpected end of the arguments");
    this.#p++;
    if (t.t === "num") return { kind: "prim", node: { k: "num", v: t.v } };
    if (t.t === "str") return { kind: "prim", node: { k: "str", v: t.v } };
    if (t.t === "op" && t.v === "(") return this.#paren();
    if (t.t === "op" && t.v === "{") {
      const items: Node[] = [];
      while (!this.#peek("}")) {
        items.push(this.expr());
        if (this.#peek(",")) this.#p++;
      }
      this.#eat("}");
      return { kind: "prim", node: { k: "list", items } };
    }
    if (t.t === "op" && (t.v === "!" || t.v === "~" || t.v === "-" || t.v === "+")) {
      const arg: Arg = { kind: "op", op: t.v, left: undefined, right: undefined, prio: 0 };
      this.#op(arg, t.v);
      return arg;
    }
    if (t.t !== "id") throw new TraceFormatError(`token "${t.v}"`);
    if (t.v === "REC") {
      this.#eat("->");
      const name = this.toks[this.#p++];
      if (name?.t !== "id") throw new TraceFormatError("REC-> without a field name");
      const f = this.fields.get(name.v);
      if (f === undefined) throw new TraceFormatError(`unknown field REC->${name.v}`);
      if (this.#peek("[")) {
        // an element of an array field: REC->args[0]
        this.#p++;
        const i = this.expr();
        this.#eat("]");
        if (!f.array || f.arrayLength === 0) {
          throw new TraceFormatError(`REC->${name.v}[] of a field that is no fixed array`);
        }
        return { kind: "prim", node: { k: "index", f, i } };
      }
      return { kind: "prim", node: { k: "field", f } };
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
      return { kind: "prim", node: { k: "call", name: t.v, args } };
    }
    // Helpers name their field bare: __get_str(filename).
    const f = this.fields.get(t.v);
    if (f !== undefined) return { kind: "prim", node: { k: "field", f } };
    // "atoms can be more than one token long": unsigned long, struct page
    const words = [t.v];
    for (let w = this.toks[this.#p]; w?.t === "id"; w = this.toks[++this.#p]) words.push(w.v);
    return { kind: "atom", words };
  }

  /** `process_paren`: an expression, or a typecast when an operand follows. */
  #paren(): Arg {
    const arg = this.#full();
    this.#eat(")");
    const next = this.toks[this.#p];
    const item = next !== undefined && (next.t !== "op" || next.v === "(");
    if (!item) return arg;
    if (arg.kind !== "atom") throw new TraceFormatError("a typecast of no type");
    const cast = castType(arg.words);
    const a = toNode(this.#primary());
    return { kind: "prim", node: { k: "cast", ...cast, a } };
  }
}

/** The evaluated form of a parsed argument. */
function toNode(arg: Arg): Node {
  switch (arg.kind) {
    case "prim":
      return arg.node;
    case "null":
      return { k: "num", v: 0n };
    case "atom":
      // eval_num_arg: strtoull of the atom's text (0 for a name); by name in flag tables
      return arg.words.length === 1 ? { k: "atom", name: arg.words[0]! } : { k: "num", v: 0n };
    case "op": {
      if (arg.op === "?") {
        const r = arg.right;
        if (r?.kind !== "op" || r.op !== ":" || arg.left === undefined) {
          throw new TraceFormatError("a ?: without its branches");
        }
        return { k: "cond", c: toNode(arg.left), a: toNode(r.left!), b: toNode(r.right!) };
      }
      if (arg.op === ":") throw new TraceFormatError("a : outside ?:");
      const b = toNode(arg.right ?? { kind: "null" });
      if (arg.left === undefined || arg.left.kind === "null") return { k: "un", op: arg.op, a: b };
      return { k: "bin", op: arg.op, a: toNode(arg.left), b };
    }
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
    let conv = m[5]!;
    if (conv === "p" && /[A-Za-z0-9]/.test(fmt[i + m[0].length] ?? "")) {
      const ext = fmt[i + m[0].length]!;
      // pretty_print: %pF %pf %pS %ps print the function (print_function); others are not done
      if (!"FfSs".includes(ext)) throw new TraceFormatError(`conversion %p${ext}`);
      conv = "p" + ext;
      i++;
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
      conv,
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
  "__builtin_expect",
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
      case "atom":
        return n.name;
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
      case "atom":
        return 0n;
      case "index": {
        const size = n.f.size / n.f.arrayLength;
        const i = Number(this.num(n.i));
        if (!Number.isInteger(size) || i < 0 || i >= n.f.arrayLength) {
          throw new TraceFormatError(`index ${i} of ${n.f.name}[${n.f.arrayLength}]`);
        }
        return this.read(n.f.offset + i * size, size);
      }
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
      case "cast":
        return this.num(n.a) & ((1n << BigInt(n.bits)) - 1n);
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

  /** A flag table entry's value (`eval_flag` of its text). */
  flag(n: Node): bigint {
    if (n.k === "atom") return KNOWN_FLAGS[n.name] ?? MASK64;
    return this.num(n) & MASK64;
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
      case "__builtin_expect": // process_builtin_expect: the first argument
        if (args[0] === undefined) throw new TraceFormatError("__builtin_expect() of nothing");
        return this.value(args[0]);
      case "__print_symbolic": {
        const v = this.num(args[0]!);
        for (const item of args.slice(1)) {
          if (item.k !== "list" || item.items.length < 2) continue;
          const name = this.value(item.items[1]!);
          if (typeof name !== "string") break; // a `{ 0, NULL }` sentinel ends the table
          if (this.flag(item.items[0]!) === v) return name;
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
          const name = this.value(item.items[1]!);
          if (typeof name !== "string") break; // a `{ 0, NULL }` sentinel ends the table
          const f = this.flag(item.items[0]!);
          const s = name;
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
  kernelSymbol: KernelSymbolizer | undefined,
  printk: ReadonlyMap<bigint, string>,
): string {
  if (c.conv.length === 2) {
    // print_function: the name, with +0x<offset> for F and S; else the address
    if (typeof v === "string") throw new TraceFormatError(`%${c.conv} of a string`);
    if (kernelSymbol === undefined) throw new TraceFormatError(`conversion %${c.conv}`);
    const addr = v & (longBits === 32 ? 0xffff_ffffn : MASK64);
    const f = kernelSymbol(addr);
    if (f === undefined) return "0x" + addr.toString(16);
    return c.conv === "pF" || c.conv === "pS" ? `${f.name}+0x${f.offset.toString(16)}` : f.name;
  }
  if (c.conv === "s") {
    // print_str_arg: a pointer is the printk string at its address (find_printk), or "%llx"
    let s = typeof v === "string" ? v : printk.get(v) ?? v.toString(16);
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
  readonly #kernelSymbol: KernelSymbolizer | undefined;

  /**
   * Create a printer.
   *
   * @param data The file's tracing data.
   * @param kernelSymbol Finds the kernel functions of `%pS`-style conversions
   *   (without it, formats that use them are not decoded).
   */
  constructor(data: TracingData, kernelSymbol?: KernelSymbolizer) {
    this.#data = data;
    this.#kernelSymbol = kernelSymbol;
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
        out += formatConv(
          piece,
          ev8.value(arg),
          width,
          prec,
          ev8.longBits,
          this.#kernelSymbol,
          this.#data.printk,
        );
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
