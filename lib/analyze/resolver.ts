/**
 * The contract between symbolization and printing: an
 * {@linkcode AddressResolver} answers where an address of a sample lands
 * (map-relative address, symbol, offset, dso), with optional scopes that let
 * printers cache per map list. The session implements it
 * ({@linkcode "./session.ts".PerfSession.resolver}); the script printer and
 * others consume it.
 *
 * @module
 */

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

/** What resolutions depend on besides the address (see {@linkcode AddressResolver.scope}). */
export interface ResolverScope {
  /** Changes whenever some address of the scope may resolve differently. */
  readonly version: number;
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
  /**
   * Optional: the scope answering lookups for `(pid, tid, cpumode)`, such
   * as a process's map list. Two lookups of one address through the same
   * scope object, with its `version` unchanged, must resolve the same, so
   * printers may cache the text printed per scope and address. Without it
   * nothing is cached.
   *
   * @param pid Process id of the sample.
   * @param tid Thread id of the sample.
   * @param cpumode `PERF_RECORD_MISC_*` cpumode.
   * @returns The scope.
   */
  scope?(pid: number, tid: number, cpumode: number): ResolverScope;
}

/** A resolver that knows no maps: every address prints raw and unresolved. */
export const NO_MAPS: AddressResolver = { resolve: () => undefined };
