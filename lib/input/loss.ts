/**
 * What an input lost, counted without reading warning text: the kernel's
 * `PERF_RECORD_LOST` / `PERF_RECORD_LOST_SAMPLES`, capture fragments that
 * never completed, and damaged or truncated ranges from the readers' typed
 * {@linkcode ReadWarning}s.
 *
 * @module
 */

import { type PerfRecord, type ReadWarning, RecordType } from "../abi/mod.ts";
import type { AuxStats } from "../perfdata/mod.ts";

/** Loss accounting filled by the readers; printed in every report header. */
export interface LostAccounting {
  /** Events the kernel reported dropped in PERF_RECORD_LOST records (sum of their `lost`). */
  lostRecords: number;
  /** Samples reported dropped in PERF_RECORD_LOST_SAMPLES records (what perf prints as "Total Lost Samples"). */
  lostSamples: number;
  /** Records cut off at the end of a capture or ring wrap (incomplete fragments). */
  incompleteFragments: number;
  /** Byte ranges skipped as damaged. */
  damagedRanges: number;
  /** Bytes inside the damaged ranges. */
  damagedBytes: number;
  /**
   * Records lost inside damaged ranges, counted from their record headers
   * (captures only; a lost head or fragment also shows in `incompleteFragments`).
   */
  damagedRecords: number;
  /** An estimate, not a count: records lost in damaged bytes that could not be counted. */
  damagedEstimate: number;
  /**
   * Records a flight recorder overwrote before a snapshot took them (captures of overwrite-mode
   * rings): per CPU the last `CALLRING_OVERWRITTEN` count read, summed.
   */
  overwritten: number;
  /** `CALLRING_OVERWRITTEN` records read (0: the input says nothing about overwriting). */
  overwriteCounts: number;
  /** Bytes of AUX area data (Intel PT...) in PERF_RECORD_AUXTRACE payloads: not decoded. */
  auxBytes: number;
  /** PERF_RECORD_AUXTRACE records. */
  auxTraceRecords: number;
  /** PERF_RECORD_AUX records. */
  auxRecords: number;
  /** Of these, flagged TRUNCATED: AUX data the kernel lost. */
  auxTruncated: number;
  /** Flagged PARTIAL: AUX data with gaps. */
  auxPartial: number;
  /** Flagged COLLISION. */
  auxCollision: number;
  /** PERF_RECORD_AUXTRACE_ERROR records perf counts (types 0 and 1). */
  auxErrors: number;
}

/** Returns a fresh all-zero {@linkcode LostAccounting}. */
export function emptyLost(): LostAccounting {
  return {
    lostRecords: 0,
    lostSamples: 0,
    incompleteFragments: 0,
    damagedRanges: 0,
    damagedBytes: 0,
    damagedRecords: 0,
    damagedEstimate: 0,
    overwritten: 0,
    overwriteCounts: 0,
    auxBytes: 0,
    auxTraceRecords: 0,
    auxRecords: 0,
    auxTruncated: 0,
    auxPartial: 0,
    auxCollision: 0,
    auxErrors: 0,
  };
}

/**
 * Fills a {@linkcode LostAccounting} from records and typed warnings. A file
 * cut short is one damaged range (the missing tail plus the partial record
 * before it, perf.data's `truncated-file` then `truncated` warnings); every
 * other damage or truncation warning is one range of its own.
 */
export class LossAccountant {
  /** The counters filled. */
  readonly lost: LostAccounting;
  #tailCounted = false;
  readonly #overwritten = new Map<number, number>();

  /**
   * Create an accountant.
   *
   * @param lost The counters to fill (default: fresh zeros).
   */
  constructor(lost: LostAccounting = emptyLost()) {
    this.lost = lost;
  }

  /**
   * Count a reader warning.
   *
   * @param w The warning.
   */
  warning(w: ReadWarning): void {
    const lost = this.lost;
    switch (w.kind) {
      case "truncated-file":
        if (w.bytes > 0) {
          lost.damagedRanges++;
          lost.damagedBytes += w.bytes;
          this.#tailCounted = true;
        }
        return;
      case "truncated":
        if (!(w.stops && this.#tailCounted)) lost.damagedRanges++;
        lost.damagedBytes += w.bytes;
        return;
      case "damaged":
        lost.damagedRanges++;
        lost.damagedBytes += w.bytes;
        return;
    }
  }

  /**
   * Take a flight recorder's overwritten count (a `CALLRING_OVERWRITTEN` record: cumulative per
   * CPU, so the latest snapshot's count replaces the CPU's earlier one).
   *
   * @param cpu The CPU whose ring it counts.
   * @param count Records overwritten up to that snapshot.
   * @param time The snapshot's time (the latest one wins, whatever the read order).
   */
  overwrittenCount(cpu: number, count: number, time: number): void {
    const prev = this.#latest.get(cpu);
    this.lost.overwriteCounts++;
    if (prev !== undefined && prev > time) return;
    this.#latest.set(cpu, time);
    this.lost.overwritten += count - (this.#overwritten.get(cpu) ?? 0);
    this.#overwritten.set(cpu, count);
  }

  readonly #latest = new Map<number, number>();

  /**
   * Take a perf.data reader's AUX area counts (final once it warns of them).
   *
   * @param aux The reader's counts.
   */
  auxArea(aux: AuxStats): void {
    const l = this.lost;
    l.auxBytes = aux.bytes;
    l.auxTraceRecords = aux.records;
    l.auxRecords = aux.auxRecords;
    l.auxTruncated = aux.truncated;
    l.auxPartial = aux.partial;
    l.auxCollision = aux.collision;
    l.auxErrors = aux.errors[0] + aux.errors[1];
  }

  /**
   * Count a LOST or LOST_SAMPLES record (others are ignored).
   *
   * @param record The record.
   * @returns Whether the record was a loss record.
   */
  record(record: PerfRecord): boolean {
    if (record.type === RecordType.LOST && "lost" in record) {
      this.lost.lostRecords += record.lost;
      return true;
    }
    if (record.type === RecordType.LOST_SAMPLES && "lost" in record) {
      this.lost.lostSamples += record.lost;
      return true;
    }
    return false;
  }
}
