/**
 * Page-table model for the vmalloc-fault race (seed §1.4-1.5): an `init_mm` reference PGD,
 * per-mm copies of the kernel half made at fork, vmalloc that populates a new top-level entry
 * in `init_mm` only, and lazy `vmalloc_fault` that copies the entry into the faulting mm —
 * looked up through cr3 (patch 1/2) or through `current->active_mm` (the old x86-64 code).
 * @module
 */

/** Number of modelled top-level (PGD) entries covering the vmalloc area. */
export const VMALLOC_PGD_SLOTS = 4096;
/** Base of the simulated vmalloc area. */
export const VMALLOC_BASE = 0xffffc90000000000n;
/** Bytes covered by one modelled PGD slot (kept small so new slots appear often). */
export const PGD_SPAN = 1n << 30n;

/** Page tables of all address spaces. */
export class PageTables {
  /** The reference tables: 1 where the PGD slot is populated. */
  readonly initMm: Uint8Array = new Uint8Array(VMALLOC_PGD_SLOTS);
  /** Kernel-half PGD copy per mm id. */
  readonly mms: Uint8Array[] = [];
  /** The mms of processes that have not exited (what vmalloc_sync_all walks). */
  readonly #live: Uint8Array[] = [];
  #next = 0;
  /** Counters. */
  readonly stats = { vmallocs: 0, newPgdEntries: 0, faultsFixed: 0, wrongMmFills: 0, syncWalks: 0 };

  /**
   * Create an address space whose kernel half is copied from init_mm (fork).
   * @returns the new mm id
   */
  newMm(): number {
    const pgd = this.initMm.slice();
    this.mms.push(pgd);
    this.#live.push(pgd);
    return this.mms.length - 1;
  }

  /** Number of live address spaces. */
  get liveMms(): number {
    return this.#live.length;
  }

  /**
   * An address space is torn down (its process exited): later syncs skip it.
   * @param mm mm id
   */
  releaseMm(mm: number): void {
    const i = this.#live.indexOf(this.mms[mm]);
    if (i >= 0) {
      this.#live[i] = this.#live[this.#live.length - 1];
      this.#live.pop();
    }
  }

  /**
   * vmalloc a block that needs a fresh top-level entry, populated in init_mm only. When all
   * modelled slots are used, the oldest is torn down everywhere and reused.
   * @param eagerSync also copy it into every mm now (vmalloc_sync_all)
   * @returns the slot index (the block's PGD entry)
   */
  vmallocNewPgd(eagerSync: boolean): number {
    const slot = this.#next++ % VMALLOC_PGD_SLOTS;
    if (this.initMm[slot] === 1) { for (const m of this.#live) m[slot] = 0; }
    this.initMm[slot] = 1;
    this.stats.vmallocs++;
    this.stats.newPgdEntries++;
    if (eagerSync) {
      for (const m of this.#live) m[slot] = 1;
      this.stats.syncWalks++;
    }
    return slot;
  }

  /**
   * Is the slot mapped in this mm?
   * @param mm mm id (the one cr3 points at)
   * @param slot PGD slot
   * @returns true if present
   */
  present(mm: number, slot: number): boolean {
    return this.mms[mm][slot] === 1;
  }

  /**
   * vmalloc_fault: copy the entry from init_mm into the mm chosen by the lookup.
   * @param cr3Mm the mm the hardware walks
   * @param currentMm `current->active_mm`
   * @param slot faulting PGD slot
   * @param useCr3 patch 1/2 (true) or the old `current->active_mm` lookup (false)
   * @returns true if the faulting access will now succeed
   */
  vmallocFault(cr3Mm: number, currentMm: number, slot: number, useCr3: boolean): boolean {
    if (this.initMm[slot] !== 1) return false;
    const target = useCr3 ? cr3Mm : currentMm;
    this.mms[target][slot] = 1;
    if (target !== cr3Mm) this.stats.wrongMmFills++;
    else this.stats.faultsFixed++;
    return this.mms[cr3Mm][slot] === 1;
  }
}
