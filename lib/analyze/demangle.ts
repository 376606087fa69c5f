/**
 * Symbol demangling as perf 6.1 prints it (`demangle_sym` in
 * tools/perf/util/symbol-elf.c): libiberty's `cplus_demangle(name,
 * DMGL_NO_OPTS)`, which tries Rust (legacy and v0, hash dropped) before C++
 * (Itanium), prints no parameter lists and uses the short `std::string`
 * forms. perf applies it to every ELF symbol and every `name@plt` of a user
 * DSO (not to kernel symbols), so the demangled name is the name everywhere:
 * script, report, folded stacks, flamegraphs, speedscope, the API.
 *
 * The demangler is binutils' `c++filt` (the same libiberty as perf's), run
 * with `-p -i` (no parameters, no implementation details: the flags closest
 * to perf's none) on batches of names given as arguments, so each name is
 * demangled whole. perf demangles a name with trailing text that is not part
 * of a mangling (`_ZN1a1bEv@@VERS`) as its mangled prefix; so do we. Without
 * a runnable `c++filt`, names stay as they are (as perf built without a
 * demangler prints them), and {@linkcode Demangler.available} says so.
 *
 * @module
 */

/** Characters c++filt keeps inside one mangled name. */
const TOKEN = /^[A-Za-z0-9_$.]+/;
/** Names libiberty's `cplus_demangle` may change: Itanium `_Z`, Rust v0 `_R`. */
const MANGLED = /^_[ZR]/;
/** Most bytes of names per c++filt run (well below the argument size limit). */
const BATCH_BYTES = 64 * 1024;

/** Options of {@linkcode Demangler}. */
export interface DemanglerOptions {
  /** The c++filt program (default `c++filt` from PATH). */
  program?: string;
}

/**
 * Batched, cached demangling through c++filt.
 *
 * @example
 * ```ts ignore
 * import { Demangler } from "./demangle.ts";
 * const d = new Demangler();
 * console.log(d.demangleAll(["_ZN3geo6Engine9histogramEv", "main"]));
 * // ["geo::Engine::histogram", "main"]
 * ```
 */
export class Demangler {
  readonly #program: string;
  readonly #cache = new Map<string, string>();
  #available: boolean | undefined;

  /**
   * Create a demangler.
   *
   * @param options The program to run.
   */
  constructor(options: DemanglerOptions = {}) {
    this.#program = options.program ?? "c++filt";
  }

  /**
   * Whether c++filt runs here (checked once).
   *
   * @returns True when names can be demangled.
   */
  available(): boolean {
    if (this.#available === undefined) {
      try {
        this.#available = new Deno.Command(this.#program, {
          args: ["--version"],
          stdout: "null",
          stderr: "null",
        }).outputSync().success;
      } catch {
        this.#available = false;
      }
    }
    return this.#available;
  }

  /**
   * Demangle one name (see {@linkcode Demangler.demangleAll}).
   *
   * @param name A symbol name.
   * @returns The name perf prints.
   */
  demangle(name: string): string {
    return this.demangleAll([name])[0]!;
  }

  /**
   * Demangle names as perf 6.1 does; names that are not mangled come back as
   * they are. One c++filt run per batch of unseen names.
   *
   * @param names Symbol names.
   * @returns The names perf prints, in the same order.
   */
  demangleAll(names: readonly string[]): string[] {
    const todo: string[] = [];
    const queued = new Set<string>();
    for (const n of names) {
      if (!MANGLED.test(n) || this.#cache.has(n)) continue;
      const head = TOKEN.exec(n)?.[0] ?? n;
      if (!queued.has(head) && !this.#cache.has(head)) {
        queued.add(head);
        todo.push(head);
      }
    }
    if (todo.length > 0 && this.available()) this.#run(todo);
    return names.map((n) => {
      if (!MANGLED.test(n)) return n;
      const cached = this.#cache.get(n);
      if (cached !== undefined) return cached;
      const head = TOKEN.exec(n)?.[0] ?? n;
      const d = this.#cache.get(head);
      // A prefix that demangles stands for the whole name (perf without DMGL_PARAMS).
      const out = d !== undefined && d !== head ? d : n;
      this.#cache.set(n, out);
      return out;
    });
  }

  #run(names: string[]): void {
    for (let i = 0; i < names.length;) {
      const batch: string[] = [];
      let bytes = 0;
      while (i < names.length && (batch.length === 0 || bytes + names[i]!.length < BATCH_BYTES)) {
        bytes += names[i]!.length + 1;
        batch.push(names[i++]!);
      }
      let lines: string[] | undefined;
      try {
        const out = new Deno.Command(this.#program, {
          args: ["-p", "-i", "--", ...batch],
          stdout: "piped",
          stderr: "null",
        }).outputSync();
        if (out.success) lines = new TextDecoder().decode(out.stdout).split("\n");
      } catch {
        lines = undefined;
      }
      batch.forEach((n, k) => {
        const d = lines?.[k];
        this.#cache.set(n, d === undefined || d === "" ? n : d);
      });
    }
  }
}
