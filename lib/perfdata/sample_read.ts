/**
 * Samples with PERF_SAMPLE_READ (`perf record -e '{a,b}:S'`, leader
 * sampling, or `--sample-read`): perf delivers such a sample once per read
 * value, to the event owning the value's id, with the period the counter
 * advanced by since that id's previous sample, and drops values that did not
 * advance (perf's `perf_evlist__deliver_sample`, `deliver_sample_group` and
 * `deliver_sample_value` in util/session.c). This module turns one such
 * sample into those deliveries.
 *
 * @module
 */

import { ReadFormat, type Sample, SampleType } from "../abi/mod.ts";
import type { PerfDataEvent } from "./evlist.ts";

/** One delivery of a PERF_SAMPLE_READ sample. */
export interface ReadDelivery {
  /** The event owning the read value's id. */
  event: PerfDataEvent;
  /** How far its counter advanced since its previous sample. */
  period: number;
}

/** Splits PERF_SAMPLE_READ samples as perf's session delivers them. */
export class SampleReadSplitter {
  readonly #events: () => readonly PerfDataEvent[];
  #byId = new Map<number, PerfDataEvent>();
  #known = 0;
  /** Counter value by id at its previous sample (perf's `sid->period`). */
  readonly #last = new Map<number, number>();
  /** Read values whose id belongs to no event (perf's `nr_unknown_id`): not delivered. */
  unknownIds = 0;

  /**
   * Create a splitter.
   *
   * @param events The file's events (read again when their number changes: pipe mode).
   */
  constructor(events: () => readonly PerfDataEvent[]) {
    this.#events = events;
  }

  /**
   * The deliveries of one sample.
   *
   * @param event The sample's event.
   * @param sample The decoded sample.
   * @returns undefined when the event has no PERF_SAMPLE_READ (deliver the
   *   sample as it is); otherwise the deliveries in read order (possibly none).
   */
  split(event: PerfDataEvent, sample: Sample): ReadDelivery[] | undefined {
    if ((event.attr.sampleType & SampleType.READ) === 0) return undefined;
    const values = sample.read?.values ?? [];
    const group = (event.attr.readFormat & ReadFormat.GROUP) !== 0;
    const out: ReadDelivery[] = [];
    for (const v of group ? values : values.slice(0, 1)) {
      const id = v.id ?? 0;
      const owner = this.#owner(id);
      if (owner === undefined) {
        this.unknownIds++;
        continue;
      }
      const period = v.value - (this.#last.get(id) ?? 0);
      this.#last.set(id, v.value);
      if (period === 0) continue; // "There's no reason to deliver sample for zero period"
      out.push({ event: owner, period });
    }
    return out;
  }

  #owner(id: number): PerfDataEvent | undefined {
    const events = this.#events();
    let e = events.length === this.#known ? this.#byId.get(id) : undefined;
    // Ids arrive with attrs and EVENT_DESC (pipe mode): rebuild on a miss.
    if (e === undefined) {
      this.#byId = new Map();
      for (const ev of events) for (const i of ev.ids) this.#byId.set(i, ev);
      this.#known = events.length;
      e = this.#byId.get(id);
    }
    return e;
  }
}
