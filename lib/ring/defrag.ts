/**
 * Reassembly of continuation fragments into whole samples, with ordered
 * output.
 *
 * Records are pushed in stream (merge) order. A head sample (a SAMPLE whose
 * `cpu.res` is non-zero) opens a slot in the output queue at its position; its
 * fragments, from any CPU and in any order, fill it; when every entry has
 * arrived the slot turns into one ordinary SAMPLE with the full callchain
 * (`cpu.res` cleared) and the queue releases it in its original position.
 * Fragments that arrive before their head are held too.
 *
 * Memory is bounded: at most `maxPendingEvents` events may wait, and at most
 * `maxQueuedRecords` records may queue behind a waiting head. Past either
 * limit the oldest waiting event is given up and counted in `stats.incomplete`
 * (the "lost" of fragmented events); so is everything still waiting at
 * {@linkcode Defragmenter.finish}. Duplicated pieces are ignored and counted;
 * fragments of events already completed or given up count as duplicates or
 * orphans respectively. Nothing is dropped silently.
 *
 * @module
 */

import { RecordType, type SampleFormat, SampleLayout, SampleType } from "../abi/mod.ts";
import { decodeAnyFragment, fragmentEventKey } from "../abi/extensions.ts";

/** One record travelling through the reader pipeline. */
export interface StreamRecord {
  /** The whole record (header included); owned by the pipeline. */
  bytes: Uint8Array;
  /** CPU stream it came from. */
  cpu: number;
  /** Time (own, or inherited from the previous timed record of its stream). */
  time: number;
  /** Position in its CPU stream. */
  position: number;
}

/** Options of a {@linkcode Defragmenter}. */
export interface DefragOptions {
  /** Events that may wait for pieces at once (default 4096). */
  maxPendingEvents?: number;
  /** Records that may queue behind a waiting head (default 65536). */
  maxQueuedRecords?: number;
}

/** Counters of a {@linkcode Defragmenter}. */
export interface DefragStats {
  /** Events reassembled. */
  completed: number;
  /** Events given up incomplete (counted as lost). */
  incomplete: number;
  /** Duplicate heads or fragments ignored. */
  duplicates: number;
  /** Fragments whose event was already given up (their count is in `incomplete`). */
  orphans: number;
  /** Fragments received. */
  fragments: number;
  /** Callchains cut to fit a 65535-byte record. */
  truncated: number;
  /**
   * Records whose fields contradict their size (a sample shorter than its sample_type, a
   * fragment index outside its event): passed on untouched for the decoder to report, never
   * reassembled.
   */
  malformed: number;
}

interface Pending {
  key: number;
  head: StreamRecord | undefined;
  slot: Slot | undefined;
  pieces: Map<number, Uint8Array>;
  total: number;
  received: number;
  lastIndex: number;
}

interface Slot {
  rec: StreamRecord | undefined;
  pending: Pending | undefined;
  dead: boolean;
}

/** Offsets inside a SAMPLE record that reassembly needs (from {@linkcode SampleLayout}). */
interface ChainSpot {
  /** Offset of `cpu.res` (u32) or -1. */
  cpuRes: number;
  /** Offset of the callchain `nr` u64. */
  callchain: number;
}

function chainSpot(view: DataView, layout: SampleLayout): ChainSpot {
  return { cpuRes: layout.cpu >= 0 ? layout.cpu + 4 : -1, callchain: layout.callchainAt(view, 0) };
}

/** Reassembles fragmented samples and releases records in order. */
export class Defragmenter {
  /** Counters. */
  readonly stats: DefragStats = {
    completed: 0,
    incomplete: 0,
    duplicates: 0,
    orphans: 0,
    fragments: 0,
    truncated: 0,
    malformed: 0,
  };
  readonly #format: SampleFormat;
  readonly #layout: SampleLayout;
  readonly #maxPending: number;
  readonly #maxQueued: number;
  readonly #pending = new Map<number, Pending>();
  #queue: Slot[] = [];
  #qHead = 0;
  readonly #done = new Set<number>();
  readonly #doneOrder: number[] = [];
  readonly #given = new Set<number>();
  readonly #givenOrder: number[] = [];

  /**
   * Create a defragmenter.
   *
   * @param format Sample format of the stream's samples.
   * @param options Memory bounds.
   */
  constructor(format: SampleFormat, options: DefragOptions = {}) {
    this.#format = format;
    this.#layout = SampleLayout.of(format);
    this.#maxPending = options.maxPendingEvents ?? 4096;
    this.#maxQueued = options.maxQueuedRecords ?? 65536;
  }

  /** Events currently waiting for pieces. */
  get pendingEvents(): number {
    return this.#pending.size;
  }

  /** Records queued (ready or waiting). */
  get queued(): number {
    return this.#queue.length - this.#qHead;
  }

  /**
   * Push the next record of the merged stream.
   *
   * @param rec The record (its bytes are kept).
   */
  push(rec: StreamRecord): void {
    const b = rec.bytes;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const type = view.getUint32(0, true);
    if (type === RecordType.CALLRING_FRAGMENT || type === RecordType.CALLRING_FRAGMENT_COMPACT) {
      this.#fragment(view, rec);
    } else if (type === RecordType.SAMPLE && this.#format.sampleType & SampleType.CALLCHAIN) {
      const layout = safeSpot(view, this.#layout);
      if (layout === undefined) {
        // damage the chunk CRC did not catch (or a forged record): not ours to reassemble
        this.stats.malformed++;
        this.#enqueue({ rec, pending: undefined, dead: false });
      } else {
        const seq = layout.cpuRes >= 0 ? view.getUint32(layout.cpuRes, true) : 0;
        if (seq === 0) this.#enqueue({ rec, pending: undefined, dead: false });
        else this.#head(view, rec, seq, layout);
      }
    } else {
      this.#enqueue({ rec, pending: undefined, dead: false });
    }
    this.#enforceBounds();
  }

  /**
   * Take the next record that is ready in order.
   *
   * @returns The record, or undefined when the front waits for pieces or the queue is empty.
   */
  pop(): StreamRecord | undefined {
    while (this.#qHead < this.#queue.length) {
      const slot = this.#queue[this.#qHead];
      if (slot.dead) {
        this.#advance();
        continue;
      }
      if (slot.pending) return undefined;
      this.#advance();
      return slot.rec;
    }
    return undefined;
  }

  /** End of input: every waiting event is given up (counted incomplete). */
  finish(): void {
    for (const p of [...this.#pending.values()]) this.#giveUp(p);
  }

  #advance(): void {
    this.#queue[this.#qHead] = undefined as unknown as Slot;
    this.#qHead++;
    if (this.#qHead > 4096 && this.#qHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#qHead);
      this.#qHead = 0;
    }
  }

  #enqueue(slot: Slot): void {
    this.#queue.push(slot);
  }

  #getPending(key: number): Pending | undefined {
    let p = this.#pending.get(key);
    if (p) return p;
    if (this.#done.has(key) || this.#given.has(key)) return undefined;
    p = {
      key,
      head: undefined,
      slot: undefined,
      pieces: new Map(),
      total: -1,
      received: 0,
      lastIndex: -1,
    };
    this.#pending.set(key, p);
    return p;
  }

  #head(view: DataView, rec: StreamRecord, seq: number, layout: ChainSpot): void {
    const cpu = view.getUint32(layout.cpuRes - 4, true);
    const key = fragmentEventKey(cpu, seq);
    const p = this.#getPending(key);
    if (!p || p.head) {
      if (this.#given.has(key)) this.stats.orphans++;
      else this.stats.duplicates++;
      return;
    }
    p.head = rec;
    p.received += view.getUint32(layout.callchain, true);
    p.slot = { rec: undefined, pending: p, dead: false };
    this.#enqueue(p.slot);
    this.#tryComplete(p);
  }

  #fragment(view: DataView, rec: StreamRecord): void {
    this.stats.fragments++;
    const f = decodeAnyFragment(view, 0, rec.position);
    const p = this.#getPending(f.eventKey);
    if (!p) {
      if (this.#given.has(f.eventKey)) this.stats.orphans++;
      else this.stats.duplicates++;
      return;
    }
    if (p.pieces.has(f.index) || f.index === 0) {
      this.stats.duplicates++;
      return;
    }
    if (f.count * 8 + f.entriesOffset > rec.bytes.length || f.index > 0xffff) {
      this.stats.malformed++;
      return;
    }
    p.pieces.set(f.index, rec.bytes.subarray(f.entriesOffset, f.entriesOffset + f.count * 8));
    p.received += f.count;
    // compact fragments (and Steven-style writers before the last piece) carry no total
    if (f.total > 0) p.total = f.total;
    if (f.flags & 2) p.lastIndex = f.index;
    this.#tryComplete(p);
  }

  #tryComplete(p: Pending): void {
    if (
      !p.head || p.lastIndex < 0 || p.pieces.size !== p.lastIndex ||
      (p.total >= 0 && p.received !== p.total)
    ) {
      return;
    }
    // as many pieces as the last index, but are they 1..last? (a damaged index is not)
    for (let i = 1; i <= p.lastIndex; i++) if (!p.pieces.has(i)) return;
    const head = p.head;
    const hb = head.bytes;
    const hv = new DataView(hb.buffer, hb.byteOffset, hb.byteLength);
    const layout = chainSpot(hv, this.#layout);
    const headNr = hv.getUint32(layout.callchain, true);
    const ccEnd = layout.callchain + 8 + headNr * 8;
    const rest = hb.length - ccEnd;
    let total = p.total >= 0 ? p.total : p.received;
    const room = Math.floor((0xfff8 - layout.callchain - 8 - rest) / 8);
    if (total > room) {
      total = room;
      this.stats.truncated++;
    }
    const out = new Uint8Array(layout.callchain + 8 + total * 8 + rest);
    out.set(hb.subarray(0, ccEnd), 0);
    const ov = new DataView(out.buffer);
    let w = ccEnd;
    for (let i = 1; i <= p.lastIndex && w < layout.callchain + 8 + total * 8; i++) {
      const piece = p.pieces.get(i)!;
      const n = Math.min(piece.length, layout.callchain + 8 + total * 8 - w);
      out.set(piece.subarray(0, n), w);
      w += n;
    }
    out.set(hb.subarray(ccEnd), w);
    ov.setUint16(6, out.length, true);
    ov.setUint32(layout.callchain, total, true);
    ov.setUint32(layout.callchain + 4, 0, true);
    if (layout.cpuRes >= 0) ov.setUint32(layout.cpuRes, 0, true);
    p.slot!.rec = { bytes: out, cpu: head.cpu, time: head.time, position: head.position };
    p.slot!.pending = undefined;
    this.#pending.delete(p.key);
    remember(this.#done, this.#doneOrder, p.key);
    this.stats.completed++;
  }

  #giveUp(p: Pending): void {
    this.#pending.delete(p.key);
    if (p.slot) {
      p.slot.dead = true;
      p.slot.pending = undefined;
    }
    remember(this.#given, this.#givenOrder, p.key);
    this.stats.incomplete++;
  }

  #enforceBounds(): void {
    while (this.#pending.size > this.#maxPending) {
      this.#giveUp(this.#pending.values().next().value!);
    }
    while (this.queued > this.#maxQueued) {
      const front = this.#queue[this.#qHead];
      if (front.pending) this.#giveUp(front.pending);
      else break;
    }
  }
}

const REMEMBER = 65536;

function remember(set: Set<number>, order: number[], key: number): void {
  set.add(key);
  order.push(key);
  if (order.length > REMEMBER * 2) {
    for (const k of order.splice(0, order.length - REMEMBER)) set.delete(k);
  }
}

/**
 * The sample's layout when the record is long enough for its sample_type and callchain; else
 * undefined.
 */
function safeSpot(view: DataView, sampleLayout: SampleLayout): ChainSpot | undefined {
  const size = view.byteLength;
  if (sampleLayout.fixedEnd + 8 > size) return undefined;
  const layout = chainSpot(view, sampleLayout);
  if (layout.callchain < 0 || layout.callchain + 8 > size) return undefined;
  if (layout.cpuRes + 4 > size) return undefined;
  const nr = view.getUint32(layout.callchain, true);
  if (view.getUint32(layout.callchain + 4, true) !== 0 || layout.callchain + 8 + nr * 8 > size) {
    return undefined;
  }
  return layout;
}
