/**
 * The cost of one eager `vmalloc_sync_all` walk, built from what the walk does instead of one
 * invented figure per mm. The thread gives the shape, not a number:
 *
 * - Linus, L2732-2735: "at vmalloc time, when adding a new page directory entry, walk all the
 *   tens of thousands of existing page tables under a lock that guarantees that we don't add
 *   any new ones (ie it will lock out fork()) and add the required pgd entry to them."
 * - Linus, L3749-3755: the fill granularity is one page-directory entry, "On 32-bit x86, for
 *   example, we'd fill once every 4MB (or 2MB if PAE)".
 * - Linus, L3835-3838: "The whole function is only implemented on 32-bit x86 ... (and on other
 *   architectures by pure chance, likely because their VM fill granularity is so big that they
 *   never saw the problem)."
 * - Avi, L6215-6219: "How long would vmalloc_sync_all take with a few thousand mm_struct take?
 *   We share the pmds, yes?  So it's a few thousand memory accesses."
 * - Avi, L5907: "Module loading can certainly take a vmalloc_sync_all()"; Mathieu,
 *   L6210-6212: USB hotplug "triggers tons of events, many of these actually load modules."
 *
 * What the walk visits comes from the 2.6.35 `arch/x86/mm/fault.c` loops (kernel knowledge,
 * not the thread): x86-32 without PAE steps through every 4 MB page-directory entry from
 * `VMALLOC_START` to `FIXADDR_TOP` (the default 128 MB vmalloc reserve: 32 entries) and, for
 * each one present in `init_mm`, every pgd on `pgd_list` (`vmalloc_sync_one`; an absent
 * reference entry ends that address after one mm); x86-32 with PAE shares the kernel pmd
 * (`SHARED_KERNEL_PMD`) and returns at once; x86-64 steps through the 512 GB top-level entries
 * of the 32 TB vmalloc range (64 of them), skips each one absent in `init_mm` and, for a
 * present one, walks every pgd on `pgd_list`.
 *
 * **Assumed** (no one in the thread measured a walk): the cost of one entry visit
 * ({@link SYNC_ENTRY_NS_ASSUMED}, a cache-missing load and compare in another mm's pgd page),
 * and how many of the range's entries are in use ({@link SyncCostModel.populated}).
 * @module
 */

/** Page-table layout the walk runs over. */
export type SyncArch = "x86-32" | "x86-32-pae" | "x86-64";

/** The three layouts, in `--sync-arch` order. */
export const SYNC_ARCHES: readonly SyncArch[] = ["x86-32", "x86-32-pae", "x86-64"];

/** Assumed cost in ns of visiting one pgd entry in one mm (labelled: not a thread figure). */
export const SYNC_ENTRY_NS_ASSUMED = 15;

/** Per layout: top-level entries covering the vmalloc range, and the default in use. */
export const SYNC_LAYOUT: Readonly<
  Record<SyncArch, { readonly entries: number; readonly populated: number; readonly why: string }>
> = {
  // 128 MB vmalloc reserve / 4 MB per page-directory entry; a machine with modules, ioremaps
  // and perf buffers spread over it: every entry assumed present
  "x86-32": { entries: 32, populated: 32, why: "128 MB vmalloc / 4 MB pgd entries" },
  // SHARED_KERNEL_PMD: every mm points at the same kernel pmd page, nothing to copy
  "x86-32-pae": { entries: 0, populated: 0, why: "kernel pmd shared (SHARED_KERNEL_PMD)" },
  // 32 TB vmalloc / 512 GB pgd entries; allocations assumed to sit in the first one
  "x86-64": { entries: 64, populated: 1, why: "32 TB vmalloc / 512 GB pgd entries" },
};

/** Parameters of the walk's cost. */
export interface SyncCostModel {
  /** Page-table layout (default "x86-32", the only one where the walk copies much). */
  readonly arch?: SyncArch;
  /** ns per entry visit (default {@link SYNC_ENTRY_NS_ASSUMED}, assumed). */
  readonly entryNs?: number;
  /** Entries of the vmalloc range present in `init_mm` (default per layout, assumed). */
  readonly populated?: number;
}

/**
 * Cost of one `vmalloc_sync_all` walk with `mms` address spaces on `pgd_list`.
 * @param mms live address spaces
 * @param m the cost model
 * @returns ns
 * @example
 * ```ts
 * import { vmallocSyncWalkNs } from "./sync_cost.ts";
 * vmallocSyncWalkNs(1000, { arch: "x86-32" }); // 32 entries x 1000 mms x 15 ns = 480,000
 * vmallocSyncWalkNs(1000, { arch: "x86-64" }); // 64 checks + 1 entry x 1000 mms = 15,960
 * ```
 */
export function vmallocSyncWalkNs(mms: number, m: SyncCostModel = {}): number {
  const arch = m.arch ?? "x86-32";
  const layout = SYNC_LAYOUT[arch];
  const ns = m.entryNs ?? SYNC_ENTRY_NS_ASSUMED;
  const present = Math.min(layout.entries, Math.max(0, m.populated ?? layout.populated));
  const absent = layout.entries - present;
  // x86-32: an absent reference entry costs one vmalloc_sync_one and a break; x86-64: a skip
  return ns * (present * mms + absent);
}

/**
 * The per-mm share of one walk (what `record --compare` once took as a flat 500 ns).
 * @param m the cost model
 * @returns ns per live mm
 */
export function vmallocSyncNsPerMm(m: SyncCostModel = {}): number {
  const arch = m.arch ?? "x86-32";
  const layout = SYNC_LAYOUT[arch];
  const present = Math.min(layout.entries, Math.max(0, m.populated ?? layout.populated));
  return (m.entryNs ?? SYNC_ENTRY_NS_ASSUMED) * present;
}
