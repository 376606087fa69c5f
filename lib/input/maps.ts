/**
 * Per-process address-space maps built from PERF_RECORD_MMAP/MMAP2, FORK and
 * EXIT events, following perf 6.1's `machine.c` / `map.c` / `maps.c`:
 *
 * - kernel mappings (`[kernel.kallsyms]_text`, module `.ko` files, any MMAP
 *   with pid -1 or a kernel cpumode) go to one machine-wide kernel map list;
 * - user mappings go to the process (pid) of the event; threads of a process
 *   share its maps; FORK of a new process copies the parent's maps;
 * - a new mapping trims or splits older overlapping ones
 *   (`maps__fixup_overlappings`);
 * - `map_ip` is `ip - start + pgoff` for file-backed maps, the identity for
 *   anonymous (`//anon`, `/dev/zero`, `/anon_hugepage` -> `/tmp/perf-PID.map`
 *   JIT maps) and DSO-less memory (`[heap]`, `[stack*`, `/SYSV*`), the
 *   identity for the kernel, and `pgoff` is forced to 0 for `[vdso]`.
 *
 * @module
 */

/** perf cpumode values (header.misc & 7). */
export const CPUMODE_UNKNOWN = 0;
/** Kernel-mode sample or mapping. */
export const CPUMODE_KERNEL = 1;
/** User-mode sample or mapping. */
export const CPUMODE_USER = 2;
/** Hypervisor. */
export const CPUMODE_HYPERVISOR = 3;
/** Guest kernel. */
export const CPUMODE_GUEST_KERNEL = 4;
/** Guest user. */
export const CPUMODE_GUEST_USER = 5;

/** An MMAP or MMAP2 record, decoded. */
export interface MmapEvent {
  /** Process id (-1 / 0xffffffff for kernel mappings). */
  pid: number;
  /** Thread id. */
  tid: number;
  /** Start address. */
  addr: bigint;
  /** Length in bytes. */
  len: bigint;
  /** File offset of the mapping start. */
  pgoff: bigint;
  /** Mapped file name as recorded. */
  filename: string;
  /** header.misc & 7. */
  cpumode: number;
  /** PROT_* bits (MMAP2 only). */
  prot?: number;
  /** Hex build-id of an MMAP2 record with `PERF_RECORD_MISC_MMAP_BUILD_ID`. */
  buildId?: string;
}

/** A FORK record (also used for thread creation, where pid === ppid). */
export interface ForkEvent {
  /** New process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** New thread id. */
  tid: number;
  /** Parent thread id. */
  ptid: number;
}

/** How a map translates addresses and which DSO it names. */
export type MapKind = "file" | "anon" | "nodso" | "vdso" | "kernel" | "module";

/** One mapping `[start, end)`. */
export interface MapEntry {
  /** First address. */
  readonly start: bigint;
  /** End address (exclusive). */
  readonly end: bigint;
  /** File offset of `start` (0 for vdso). */
  readonly pgoff: bigint;
  /** Recorded file name. */
  readonly filename: string;
  /** Translation / naming class. */
  readonly kind: MapKind;
  /** DSO name perf prints for this map (`dso->name`). */
  readonly dso: string;
  /** Build-id the MMAP2 record carried (perf sets it on the DSO when none is known). */
  readonly buildId?: string;
}

/**
 * perf's `map->map_ip`: the address inside the DSO for a runtime address.
 *
 * @param map The mapping.
 * @param ip Runtime address.
 * @returns Map-relative address (file offset for file-backed maps).
 */
export function mapIp(map: MapEntry, ip: bigint): bigint {
  switch (map.kind) {
    case "file":
    case "vdso":
    case "module":
      return BigInt.asUintN(64, ip - map.start + map.pgoff);
    default:
      return ip;
  }
}

function isAnon(filename: string): boolean {
  return filename === "//anon" || filename.startsWith("/dev/zero") ||
    filename.startsWith("/anon_hugepage");
}

function isNoDso(filename: string): boolean {
  return filename.startsWith("[stack") || filename.startsWith("/SYSV") || filename === "[heap]";
}

/**
 * Module name perf derives from a `.ko` path: basename without the `.ko*`
 * suffix, `-` turned into `_`, in brackets.
 *
 * @param filename Module path or `[name]`.
 * @returns e.g. `[kvm_intel]`, or undefined if `filename` is not a module.
 */
export function kernelModuleDsoName(filename: string): string | undefined {
  if (filename.startsWith("[") && filename.endsWith("]") && !filename.startsWith("[kernel")) {
    return filename.replaceAll("-", "_");
  }
  const base = filename.slice(filename.lastIndexOf("/") + 1);
  const m = /^(.*)\.ko(\.[a-z0-9]+)?$/.exec(base);
  if (m === null) return undefined;
  return `[${m[1].replaceAll("-", "_")}]`;
}

/**
 * Build the map entry perf's `map__new` / kernel-mmap handling would create.
 *
 * @param ev The MMAP event.
 * @returns The entry (not yet inserted anywhere).
 */
export function mapEntryFor(ev: MmapEvent): MapEntry {
  const start = ev.addr, end = ev.addr + ev.len;
  const kernelSide = isKernelEvent(ev);
  if (kernelSide) {
    const mod = kernelModuleDsoName(ev.filename);
    if (mod !== undefined) {
      return { start, end, pgoff: 0n, filename: ev.filename, kind: "module", dso: mod };
    }
    return {
      start,
      end,
      pgoff: ev.pgoff,
      filename: ev.filename,
      kind: "kernel",
      dso: "[kernel.kallsyms]",
    };
  }
  if (ev.filename === "[vdso]") {
    return { start, end, pgoff: 0n, filename: ev.filename, kind: "vdso", dso: "[vdso]" };
  }
  if (isAnon(ev.filename)) {
    return {
      start,
      end,
      pgoff: ev.pgoff,
      filename: ev.filename,
      kind: "anon",
      dso: `/tmp/perf-${ev.pid}.map`,
    };
  }
  if (isNoDso(ev.filename)) {
    return { start, end, pgoff: ev.pgoff, filename: ev.filename, kind: "nodso", dso: ev.filename };
  }
  const file: MapEntry = {
    start,
    end,
    pgoff: ev.pgoff,
    filename: ev.filename,
    kind: "file",
    dso: ev.filename,
  };
  return ev.buildId === undefined ? file : { ...file, buildId: ev.buildId };
}

function isKernelEvent(ev: MmapEvent): boolean {
  return ev.pid === -1 || ev.pid === 0xffffffff || ev.cpumode === CPUMODE_KERNEL ||
    ev.cpumode === CPUMODE_GUEST_KERNEL;
}

/** A sorted, non-overlapping list of mappings. */
export class MapList {
  #maps: MapEntry[] = [];
  #last: MapEntry | undefined;
  #version = 0;

  /**
   * Changes on every {@linkcode MapList.insert}: caches of what addresses
   * resolve to through this list are valid while it stays the same.
   *
   * @returns The version number.
   */
  get version(): number {
    return this.#version;
  }

  /**
   * The mappings of this list.
   *
   * @returns The mappings in address order.
   */
  entries(): readonly MapEntry[] {
    return this.#maps;
  }

  /**
   * Insert a mapping, trimming or splitting the parts of older mappings it
   * overlaps (`maps__fixup_overlappings`).
   *
   * @param map The new mapping.
   */
  insert(map: MapEntry): void {
    const out: MapEntry[] = [];
    for (const pos of this.#maps) {
      if (pos.end <= map.start || pos.start >= map.end) {
        out.push(pos);
        continue;
      }
      if (pos.start < map.start) out.push({ ...pos, end: map.start });
      if (pos.end > map.end) {
        out.push({ ...pos, start: map.end, pgoff: pos.pgoff + (map.end - pos.start) });
      }
    }
    out.push(map);
    out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.#maps = out;
    this.#last = undefined;
    this.#version++;
  }

  /** Remove every mapping (the version changes, so caches of the list are invalid). */
  clear(): void {
    this.#maps = [];
    this.#last = undefined;
    this.#version++;
  }

  /**
   * Find the mapping containing an address.
   *
   * @param addr Runtime address.
   * @returns The mapping, or undefined.
   */
  find(addr: bigint): MapEntry | undefined {
    const last = this.#last;
    if (last !== undefined && addr >= last.start && addr < last.end) return last;
    const maps = this.#maps;
    let lo = 0, hi = maps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = maps[mid];
      if (addr < m.start) hi = mid - 1;
      else if (addr >= m.end) lo = mid + 1;
      else return this.#last = m;
    }
    return undefined;
  }

  /**
   * Copy the list (a forked process gets its own maps).
   *
   * @returns An independent copy.
   */
  clone(): MapList {
    const c = new MapList();
    c.#maps = this.#maps.slice();
    return c;
  }
}

/**
 * Address spaces of every process seen plus the machine's kernel maps.
 *
 * @example
 * ```ts
 * import { AddressSpaces, CPUMODE_USER } from "./maps.ts";
 * const spaces = new AddressSpaces();
 * spaces.processMmap({ pid: 7, tid: 7, addr: 0x400000n, len: 0x1000n, pgoff: 0n,
 *   filename: "/bin/x", cpumode: CPUMODE_USER });
 * console.log(spaces.lookup(7, 0x400010n, CPUMODE_USER)?.dso); // "/bin/x"
 * ```
 */
export class AddressSpaces {
  /** Machine-wide kernel and module maps. */
  readonly kernel: MapList = new MapList();
  readonly #processes = new Map<number, MapList>();

  /**
   * Apply an MMAP / MMAP2 record.
   *
   * @param ev The record.
   * @returns The inserted entry.
   */
  processMmap(ev: MmapEvent): MapEntry {
    const entry = mapEntryFor(ev);
    if (entry.kind === "kernel" || entry.kind === "module") {
      this.kernel.insert(entry);
    } else {
      this.#process(ev.pid).insert(entry);
    }
    return entry;
  }

  /**
   * Apply a FORK record: a new process (pid !== ppid) gets a copy of the
   * parent's maps; a new thread shares its process's maps.
   *
   * @param ev The record.
   */
  processFork(ev: ForkEvent): void {
    if (ev.pid === ev.ppid) return;
    const parent = this.#processes.get(ev.ppid);
    this.#processes.set(ev.pid, parent === undefined ? new MapList() : parent.clone());
  }

  /** Forget every mapping of the kernel and of every process. */
  clear(): void {
    this.kernel.clear();
    this.#processes.clear();
  }

  /**
   * The maps of a process (created empty on first use).
   *
   * @param pid Process id.
   * @returns Its map list.
   */
  process(pid: number): MapList {
    return this.#process(pid);
  }

  /**
   * The maps of a process, if any were recorded or inherited.
   *
   * @param pid Process id.
   * @returns Its map list, or undefined (no list is created).
   */
  existingProcess(pid: number): MapList | undefined {
    return this.#processes.get(pid);
  }

  #process(pid: number): MapList {
    let maps = this.#processes.get(pid);
    if (maps === undefined) this.#processes.set(pid, maps = new MapList());
    return maps;
  }

  /**
   * perf's `thread__find_map` on the host: kernel cpumode searches the
   * kernel maps, user cpumode the process's maps, anything else finds
   * nothing.
   *
   * @param pid Process id.
   * @param addr Runtime address.
   * @param cpumode CPUMODE_* of the address.
   * @returns The mapping, or undefined.
   */
  lookup(pid: number, addr: bigint, cpumode: number): MapEntry | undefined {
    if (cpumode === CPUMODE_KERNEL) return this.kernel.find(addr);
    if (cpumode === CPUMODE_USER) return this.#processes.get(pid)?.find(addr);
    return undefined;
  }
}
