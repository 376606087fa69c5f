/**
 * Where perf 6.1 looks for the symbols of a DSO, by build-id: the files
 * `dso__load` tries for a user DSO (`binary_type_symtab` order in
 * tools/perf/util/symbol.c, file names from `dso__read_binary_type_filename`
 * in util/dso.c, all joined with `--symfs`), and the kallsyms or vmlinux
 * `dso__load_kernel_sym` / `dso__find_kallsyms` pick for the kernel.
 *
 * The kernel rule, as perf 6.1 applies it:
 * 1. `--kallsyms FILE` or `--vmlinux FILE`: that file and only that one;
 * 2. the build-id cache's vmlinux (`.build-id/xx/rest/elf`) and perf's
 *    vmlinux path list (`vmlinux`, `/boot/vmlinux`, `/boot/vmlinux-REL`,
 *    `/usr/lib/debug/boot/vmlinux-REL`, `/lib/modules/REL/build/vmlinux`,
 *    `/usr/lib/debug/lib/modules/REL/vmlinux`,
 *    `/usr/lib/debug/boot/vmlinux-REL.debug`), each only with the recorded
 *    build-id;
 * 3. with `--symfs`: nothing more (perf does not try local files);
 * 4. `/proc/kallsyms` when the recording names no kernel build-id, or the
 *    recorded one is the running kernel's (`/sys/kernel/notes`);
 * 5. the build-id cache's `[kernel.kallsyms]/<id>/kallsyms`;
 * 6. else no kernel symbols, and perf's error line
 *    `No kallsyms or vmlinux with build-id <id> was found`.
 *
 * @module
 */

import { findBuildIdNote } from "./elf.ts";

/** Where symbols may come from (perf's `--symfs`, `--kallsyms`, `--vmlinux`, build-id dir). */
export interface SymbolSourceOptions {
  /** kallsyms file (perf's `--kallsyms`): used whatever build-id the recording names. */
  kallsyms?: string;
  /** vmlinux image (perf's `--vmlinux`): used only when its build-id matches. */
  vmlinux?: string;
  /** Root prefixed to every file perf looks for (perf's `--symfs`); "" for none. */
  symfs?: string;
  /** perf build-id cache directory; default `$HOME/.debug`; "" disables it. */
  buildIdDir?: string;
  /** Debug-info roots (perf's `/usr/lib/debug`); default `["/usr/lib/debug"]`. */
  debugRoots?: string[];
  /**
   * Build-id of the running kernel; default read from `/sys/kernel/notes`
   * (null: none known). Tests set it to model another machine.
   */
  runningKernelBuildId?: string | null;
  /** OS release used in perf's vmlinux path list; default the running kernel's. */
  osRelease?: string;
  /** Demangle user-space C++ and Rust names as perf does (default true; perf's `--no-demangle`). */
  demangle?: boolean;
}

/** perf's `__symbol__join_symfs`. */
export function joinSymfs(symfs: string | undefined, path: string): string {
  if (!symfs) return path;
  return symfs.replace(/\/+$/, "") + (path.startsWith("/") ? path : "/" + path);
}

/**
 * The build-id cache directory perf uses (`buildid_dir`): the option, else
 * `$HOME/.debug`; "" when disabled or `HOME` is unset.
 *
 * @param options The symbol-source options.
 * @returns The directory, or "".
 */
export function buildIdDir(options: SymbolSourceOptions): string {
  if (options.buildIdDir !== undefined) return options.buildIdDir;
  const home = Deno.env.get("HOME");
  return home ? `${home}/.debug` : "";
}

/**
 * perf's `build_id_cache__linkname`: `<dir>/.build-id/xx/rest`.
 *
 * @param dir The build-id cache directory.
 * @param buildId Hex build-id.
 * @returns The link path.
 */
export function buildIdLinkName(dir: string, buildId: string): string {
  return `${dir}/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}`;
}

/**
 * The candidate files of a user DSO in `dso__load` order: debuglink targets,
 * the build-id cache (`elf`, then `debug`), `/usr/lib/debug` by path and by
 * build-id, then the recorded path itself. The caller rejects any whose
 * build-id differs from `buildId` (perf's `symsrc__init`).
 *
 * @param filename The DSO path as recorded.
 * @param buildId The DSO's build-id (recorded, else read from the local file).
 * @param debugLink The local file's `.gnu_debuglink` name, if any.
 * @param options Symbol sources.
 * @returns Paths to try, in order.
 */
export function userCandidates(
  filename: string,
  buildId: string | undefined,
  debugLink: string | undefined,
  options: SymbolSourceOptions,
): string[] {
  const roots = (options.debugRoots ?? ["/usr/lib/debug"]).map((r) => joinSymfs(options.symfs, r));
  const cache = buildIdDir(options);
  const local = joinSymfs(options.symfs, filename);
  const out: string[] = [];
  const dir = local.slice(0, Math.max(0, local.lastIndexOf("/")));
  if (debugLink !== undefined) {
    // debuglink_paths: "%.0s%s", "%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s"
    out.push(debugLink, `${dir}/${debugLink}`, `${dir}/.debug/${debugLink}`);
    for (const r of options.debugRoots ?? ["/usr/lib/debug"]) out.push(`${r}${dir}/${debugLink}`);
  }
  if (buildId !== undefined && buildId.length > 2) {
    if (cache !== "") {
      const link = buildIdLinkName(cache, buildId);
      out.push(`${link}/elf`, `${link}/debug`);
    }
    for (const r of roots) out.push(`${r}${filename}.debug`, `${r}${filename}`);
    for (const r of roots) {
      out.push(`${r}/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`);
    }
  } else {
    for (const r of roots) out.push(`${r}${filename}.debug`, `${r}${filename}`);
  }
  out.push(local);
  return out;
}

/** Where the kernel's symbols come from. */
export type KernelSource =
  | {
    /** A kallsyms file. */
    kind: "kallsyms";
    /** Its path. */
    path: string;
    /** Whether a `kcore` beside it makes perf use the kernel's text ranges. */
    kcore: boolean;
  }
  | {
    /** A vmlinux ELF image. */
    kind: "vmlinux";
    /** Its path. */
    path: string;
  }
  | {
    /** No symbols: addresses print raw. */
    kind: "none";
    /** perf's error line, when it prints one. */
    warning?: string;
  };

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

let runningId: string | null | undefined;

/**
 * The running kernel's build-id from `/sys/kernel/notes` (perf's `sysfs__read_build_id`).
 *
 * @returns The hex id, or null when unreadable.
 */
export function runningKernelBuildId(): string | null {
  if (runningId === undefined) {
    try {
      runningId = findBuildIdNote(Deno.readFileSync("/sys/kernel/notes")) ?? null;
    } catch {
      runningId = null;
    }
  }
  return runningId;
}

function osRelease(options: SymbolSourceOptions): string | undefined {
  if (options.osRelease !== undefined) return options.osRelease;
  try {
    return Deno.osRelease();
  } catch {
    return undefined;
  }
}

/**
 * perf's vmlinux candidates (`vmlinux_path__init`, build-id cache first as in
 * `dso__load_vmlinux_path`), symfs-joined.
 *
 * @param buildId The recorded kernel build-id, if any.
 * @param options Symbol sources.
 * @returns Paths, in order.
 */
export function vmlinuxCandidates(
  buildId: string | undefined,
  options: SymbolSourceOptions,
): string[] {
  const out: string[] = [];
  const cache = buildIdDir(options);
  if (buildId !== undefined && cache !== "") out.push(`${buildIdLinkName(cache, buildId)}/elf`);
  const rel = osRelease(options);
  const list = ["vmlinux", "/boot/vmlinux"];
  if (rel !== undefined) {
    list.push(
      `/boot/vmlinux-${rel}`,
      `/usr/lib/debug/boot/vmlinux-${rel}`,
      `/lib/modules/${rel}/build/vmlinux`,
      `/usr/lib/debug/lib/modules/${rel}/vmlinux`,
      `/usr/lib/debug/boot/vmlinux-${rel}.debug`,
    );
  }
  for (const p of list) out.push(p.startsWith("/") ? joinSymfs(options.symfs, p) : p);
  return out;
}

/**
 * Decide where the kernel's symbols come from (see the module doc).
 *
 * @param recordedBuildId The kernel build-id the recording names, if any.
 * @param options Symbol sources.
 * @param vmlinuxBuildId Reads an ELF file's build-id (undefined if not ELF or unreadable).
 * @returns The source.
 */
export function kernelSource(
  recordedBuildId: string | undefined,
  options: SymbolSourceOptions,
  vmlinuxBuildId: (path: string) => string | undefined,
): KernelSource {
  if (options.kallsyms !== undefined) {
    return { kind: "kallsyms", path: options.kallsyms, kcore: hasKcore(options.kallsyms) };
  }
  const matches = (p: string) => {
    const id = vmlinuxBuildId(p);
    return id !== undefined && (recordedBuildId === undefined || id === recordedBuildId);
  };
  if (options.vmlinux !== undefined) {
    return matches(options.vmlinux) ? { kind: "vmlinux", path: options.vmlinux } : { kind: "none" };
  }
  for (const p of vmlinuxCandidates(recordedBuildId, options)) {
    if (isFile(p) && matches(p)) return { kind: "vmlinux", path: p };
  }
  if (options.symfs) return { kind: "none" };
  const running = options.runningKernelBuildId !== undefined
    ? options.runningKernelBuildId
    : runningKernelBuildId();
  if (recordedBuildId === undefined || recordedBuildId === running) {
    return { kind: "kallsyms", path: "/proc/kallsyms", kcore: hasKcore("/proc/kallsyms") };
  }
  const cache = buildIdDir(options);
  if (cache !== "") {
    const path = `${cache}/[kernel.kallsyms]/${recordedBuildId}/kallsyms`;
    if (isFile(path)) return { kind: "kallsyms", path, kcore: hasKcore(path) };
  }
  return {
    kind: "none",
    warning: `No kallsyms or vmlinux with build-id ${recordedBuildId} was found`,
  };
}

/** perf's `dso__load_kcore` needs a readable `kcore` beside the kallsyms file. */
function hasKcore(kallsyms: string): boolean {
  const kcore = kallsyms.slice(0, kallsyms.lastIndexOf("/") + 1) + "kcore";
  try {
    Deno.openSync(kcore, { read: true }).close();
    return true;
  } catch {
    return false;
  }
}
