/**
 * FlameGraph "folded" (collapsed) stacks, as `stackcollapse-perf.pl` (FlameGraph
 * master, 2024) produces them from `perf script` output. Rules followed:
 *
 * - one line per distinct stack: `comm;root;...;leaf count`, frames root-first,
 *   joined by `;`; lines sorted bytewise (`sort { $a cmp $b }`);
 * - the process name is the comm as the Perl regex `^(\S.+?)\s+(\d+)` reads it
 *   off the perf script line, then spaces turned into `_` (so the comm
 *   `burn worker 1` becomes `burn_worker`: the script takes `1` for the pid;
 *   `exactComm: true` keeps `burn_worker_1`); `comm-pid` / `comm-pid/tid` with
 *   `includePid` / `includeTid`;
 * - count = the sample period when perf script prints it (it does by default,
 *   so `count: "period"` is the default), else 1 per sample;
 * - symbol offsets (`+0x..`) are not part of names; an unresolved symbol becomes
 *   `[<basename of dso>]`, or `[unknown]` when the dso is unknown too;
 * - "tidy generic": `;` in names becomes `:`, everything from the first `(`
 *   is dropped (unless the name looks like a Go method `pkg.(*T).m` or the paren
 *   starts `(anonymous namespace)`), quotes are removed; frames whose name starts
 *   with `(` are skipped;
 * - kernel annotation `_[k]` is off by default (`annotateKernel`);
 * - truncated stacks get a `[truncated]` frame right after the process name
 *   (`markTruncated: false` leaves it out, as perf script text has none).
 *
 * @module
 */

import { CHAINLESS, type Profile } from "../analyze/profile.ts";

/** Options of {@linkcode foldedStacks}. */
export interface FoldedOptions {
  /** Count by summed period (default, like stackcollapse-perf.pl on default perf script) or by samples. */
  count?: "period" | "samples";
  /** Append `_[k]` to kernel frames (stackcollapse-perf.pl `--kernel`). */
  annotateKernel?: boolean;
  /** Use `comm-pid` as the first frame (`--pid`). */
  includePid?: boolean;
  /** Use `comm-pid/tid` as the first frame (`--tid`). */
  includeTid?: boolean;
  /** Keep the whole comm instead of reproducing the Perl script's comm parsing quirk. */
  exactComm?: boolean;
  /** Leave out the process name frame (`--no-pname` style). */
  omitProcessName?: boolean;
  /**
   * Keep the `[truncated]` frame of stacks cut short (default true). perf
   * script prints a callchain cut at the kernel's or `--max-stack`'s limit
   * without a mark, so stackcollapse-perf.pl output of a perf.data has none.
   */
  markTruncated?: boolean;
}

/**
 * Name of a frame in folded output, per the stackcollapse-perf.pl rules.
 * @param profile Profile.
 * @param frame Frame id.
 * @param annotateKernel Append `_[k]` to kernel frames.
 * @returns The name, or undefined when the frame is skipped.
 */
export function foldedFrameName(
  profile: Profile,
  frame: number,
  annotateKernel = false,
): string | undefined {
  const t = profile.frames;
  const kind = t.kinds[frame];
  if (kind === "truncated" || kind === "marker") return t.names[frame];
  let func = t.syms[frame];
  const dso = t.dsos[frame];
  if (func === undefined) {
    func = dso === undefined ? "[unknown]" : `[${dso.replace(/.*\//, "")}]`;
  } else if (func.startsWith("(")) {
    return undefined;
  }
  func = func.replace(/;/g, ":");
  if (!/\.\(.*\)\./.test(func)) func = func.replace(/\((?!anonymous namespace\)).*/, "");
  func = func.replace(/["']/g, "");
  if (annotateKernel && kind === "kernel" && dso !== undefined && /(^\[|vmlinux$)/.test(dso)) {
    func += "_[k]";
  }
  return func;
}

/**
 * The comm as stackcollapse-perf.pl extracts it from a `perf script` sample line
 * (`^(\S.+?)\s+(\d+)\/*(\d+)*\s+`): a trailing space-separated number in the comm
 * is taken for the pid and dropped.
 * @param comm Command name.
 * @returns What the Perl script would use (before spaces become `_`).
 */
export function stackcollapseComm(comm: string): string {
  const m = /^(\S.+?)\s+(\d+)\/*(\d+)*\s+/.exec(`${comm} 0 `);
  return m ? m[1] : comm;
}

/**
 * Folded stacks as a map from stack line (without count) to count.
 * @param profile Profile.
 * @param options Options.
 * @returns Map stack -> count (insertion order unspecified; see {@linkcode foldedStacks}).
 */
export function foldedCounts(profile: Profile, options: FoldedOptions = {}): Map<string, number> {
  const out = new Map<string, number>();
  // Frame and process names once per frame / class (regexes), not once per stack.
  const names: (string | null | undefined)[] = new Array(profile.frames.size);
  const name = (f: number) => {
    let n = names[f];
    if (n === undefined) {
      n = names[f] = options.markTruncated === false && profile.frames.kinds[f] === "truncated"
        ? null
        : foldedFrameName(profile, f, options.annotateKernel) ?? null;
    }
    return n;
  };
  const pnames: (string | undefined)[] = new Array(profile.classes.length);
  const pnameOf = (c: number) => {
    let pname = pnames[c];
    if (pname === undefined) {
      const cls = profile.classes[c];
      const comm = options.exactComm ? cls.comm : stackcollapseComm(cls.comm);
      pname = comm;
      if (options.includeTid) pname = `${comm}-${cls.pid}/${cls.tid}`;
      else if (options.includePid) pname = `${comm}-${cls.pid}`;
      pname = pnames[c] = pname.replace(/ /g, "_");
    }
    return pname;
  };
  const parts: string[] = [];
  for (let i = 0; i < profile.stackCount; i++) {
    parts.length = 0;
    if (!options.omitProcessName) parts.push(pnameOf(profile.stackClass[i]));
    // perf script prints no frame line for a callchain with no entry: the comm alone
    const chainless = profile.stackSelf?.[i] === CHAINLESS;
    for (
      let node = chainless ? 0 : profile.stackNode[i];
      node > 0;
      node = profile.nodeParent[node]
    ) {
      const n = name(profile.nodeFrame[node]);
      if (n !== null) parts.push(n);
    }
    if (parts.length === 0) continue;
    // Frames were collected leaf-first after the process name: put them root-first.
    const first = options.omitProcessName ? 0 : 1;
    for (let a = first, b = parts.length - 1; a < b; a++, b--) {
      const t = parts[a];
      parts[a] = parts[b];
      parts[b] = t;
    }
    const key = parts.join(";");
    const c = options.count === "samples" ? profile.stackSamples[i] : profile.stackWeight[i];
    out.set(key, (out.get(key) ?? 0) + c);
  }
  return out;
}

/**
 * Renders folded stacks, one `stack count` line each, sorted like the Perl script.
 * @param profile Profile.
 * @param options Options.
 * @returns The text (newline-terminated lines).
 * @example
 * ```ts
 * import { ProfileBuilder } from "../analyze/profile.ts";
 * import { foldedStacks } from "./folded.ts";
 * const b = new ProfileBuilder();
 * b.add({ frames: [{ sym: "leaf", dso: "/bin/x", kernel: false }], weight: 5, pid: 1, tid: 1,
 *   cpu: 0, comm: "my prog", time: 0, context: "task", truncated: false });
 * foldedStacks(b.build()); // "my_prog;leaf 5\n"
 * ```
 */
export function foldedStacks(profile: Profile, options: FoldedOptions = {}): string {
  const counts = foldedCounts(profile, options);
  const keys = [...counts.keys()].sort(byteCompare);
  return keys.map((k) => `${k} ${counts.get(k)}\n`).join("");
}

/** Compares like Perl `cmp` on UTF-8 bytes (same as UTF-16 order outside the astral planes). */
export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A malformed folded line. */
export class FoldedSyntaxError extends SyntaxError {
  /** 1-based line number. */
  readonly line: number;
  /**
   * Creates the instance.
   * @param line Line number.
   * @param text Line text.
   */
  constructor(line: number, text: string) {
    super(
      `folded input line ${line}: expected "frame;frame;... count", got ${
        JSON.stringify(text.slice(0, 80))
      }`,
    );
    this.name = "FoldedSyntaxError";
    this.line = line;
  }
}

/** One parsed folded line. */
export interface FoldedLine {
  /** Frames root-first (the first is usually the process name). */
  frames: string[];
  /** Count. */
  count: number;
}

/**
 * Parses folded text (`a;b;c 12` per line; blank lines ignored), as difffolded.pl does.
 * @param text Folded text.
 * @returns Parsed lines.
 */
export function parseFolded(text: string): FoldedLine[] {
  const out: FoldedLine[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") return;
    const m = /^(.*?)\s+(\d+(?:\.\d*)?)$/.exec(line);
    if (!m) throw new FoldedSyntaxError(i + 1, line);
    out.push({ frames: m[1].split(";"), count: Number(m[2]) });
  });
  return out;
}
