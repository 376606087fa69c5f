/**
 * Steven Rostedt's writer API for events of unknown size (seed L10434-10453):
 *
 * > event = ring_buffer_reserve_unlimited();
 * > ring_buffer_assign(event, data1);
 * > ring_buffer_assign(event, data2);
 * > ring_buffer_commit(event);
 *
 * > "The ring_buffer_reserve_unlimited() could reserve a bunch of space beyond one ring buffer.
 * > It could reserve data in fragments. Then the ring_buffer_assgin() could either copy directly
 * > to the event (if the event exists on one sub buffer) or do a copy the space was fragmented."
 *
 * Built here for the event the thread needed it for, a callchain sample whose depth is known only
 * once the unwinder is done: {@linkcode UnlimitedWriter.reserveUnlimited} takes the fixed sample
 * fields and reserves one **piece** without knowing the size: `pieceSize` bytes, or on a
 * sub-buffer ring the room left in the open sub-buffer (so a piece ends where the sub-buffer
 * ends instead of padding it). {@linkcode UnlimitedWriter.assign} appends callchain entries,
 * copying straight into the piece; when the piece is full the next piece is reserved and the
 * event continues in it as a continuation fragment (`CALLRING_FRAGMENT_COMPACT`, the 16-byte
 * header: no total is needed, the last piece carries LAST). {@linkcode UnlimitedWriter.commit}
 * writes the final size: the head sample's `header.size` and callchain `nr`, and `cpu.res` = the
 * event's sequence number when it was fragmented (0 otherwise), exactly as `SampleWriter` writes
 * head + fragments, so the capture reader reassembles it the same way. The unused end of the
 * last piece is given back to the ring when nothing was reserved after it, else it becomes a
 * `CALLRING_PAD` record.
 *
 * Nesting ("it can get complex due to interrupts coming in and also reserving between
 * fragments", L10449-10450): the head piece stays reserved (ring nesting level L) until the
 * commit, every continuation piece is reserved, filled and committed one level deeper, so an
 * interrupt's records land between the pieces and nothing is published before the head commits.
 * An interrupt may itself use `reserveUnlimited` (each nesting level has its own event state);
 * events must commit in LIFO order, as interrupts nest.
 *
 * When the space runs out (L10450-10451):
 *
 * - **the head piece does not fit**: the event is dropped whole and counted by the ring writer
 *   (`PERF_RECORD_LOST` reports it) and here in `stats.dropped`; `assign` and `commit` then do
 *   nothing. Not knowing the size costs room: `stats.droppedWouldFit` counts the dropped events
 *   whose final size would have fitted the room a sized `reserve` had (the reservation asked for
 *   a whole piece).
 * - **a continuation piece does not fit**: that piece is dropped (counted by the ring writer, so
 *   `written = read + lost` holds per record), the rest of the event is not written, and the
 *   head and the pieces before it are committed as they are: the reader finds no LAST piece and
 *   counts the event incomplete (lost). Counted in `stats.truncated`.
 * - **overwrite rings**: a committed event's pieces can be overwritten separately ("what happens
 *   if a partial fragment is overwritten"); the reader then finds a head or fragments without the
 *   rest and counts the event incomplete. While the event is open, a tail-push ring's tail never
 *   passes its head piece (the writer's rule for open reservations), and on a `write_backward`
 *   ring no piece or nested event is reserved that would wrap over the open head piece (its
 *   commit still writes the size there): the event is cut there instead, as above.
 *
 * Fragment sequence numbers are this writer's own: do not mix it with a `SampleWriter` on the
 * same CPU's ring.
 *
 * @module
 */

import { RecordType, SampleLayout, SampleType } from "../abi/mod.ts";
import { COMPACT_FRAGMENT_HEADER_SIZE, FragmentFlag } from "../abi/extensions.ts";
import { FAST_SAMPLE_TYPES, type SampleFields } from "./sample_writer.ts";
import { loadTail } from "./layout.ts";
import { MAX_NEST, MAX_RECORD_SIZE, type RingWriter } from "./writer.ts";

/** Options of an {@linkcode UnlimitedWriter}. */
export interface UnlimitedWriterOptions {
  /** Bytes each piece reserves (a multiple of 8 in [fixed fields + 16, 65528]; default 1024). */
  pieceSize?: number;
}

/** Counters of an {@linkcode UnlimitedWriter}. */
export interface UnlimitedWriterStats {
  /** Events reserved (dropped ones included). */
  events: number;
  /** Events committed in one piece. */
  contiguous: number;
  /** Events committed in more than one piece, every piece written. */
  fragmented: number;
  /** Continuation pieces written. */
  pieces: number;
  /** Events whose head piece did not fit (nothing written). */
  dropped: number;
  /** Dropped events whose final size would have fitted the room left at the reservation. */
  droppedWouldFit: number;
  /** Events cut short: a continuation piece did not fit (the reader counts them incomplete). */
  truncated: number;
  /** Unused piece bytes given back to the ring. */
  givenBack: number;
  /** Unused piece bytes padded with `CALLRING_PAD` (something was reserved after the piece). */
  paddingBytes: number;
}

/** The state of one open event; obtained from {@linkcode UnlimitedWriter.reserveUnlimited}. */
export interface UnlimitedEvent {
  /** False when the head piece did not fit: assign and commit do nothing. */
  readonly reserved: boolean;
  /** Callchain entries assigned so far (also those of a dropped or cut event). */
  readonly entries: number;
}

/** Per-nesting-level event state (preallocated: nothing is allocated per event). */
class EventState implements UnlimitedEvent {
  reserved = false;
  open = false;
  entries = 0;
  /** Room a sized reservation would have had (for droppedWouldFit). */
  room = 0;
  /** Bytes of the pieces closed so far. */
  bytes = 0;
  /** Head piece: words, index of its first word, its nr word, entry capacity, entries in it. */
  headU: Uint32Array = new Uint32Array(0);
  headP = 0;
  nrP = 0;
  headCap = 0;
  headSize = 0;
  headEnd = 0;
  cpuP = -1;
  cpu = 0;
  misc = 0;
  /** Current continuation piece (index 0: none). */
  index = 0;
  pieceU: Uint32Array = new Uint32Array(0);
  pieceP = 0;
  pieceCap = 0;
  pieceCount = 0;
  pieceSize = 0;
  pieceEnd = 0;
  /** Where the next entry goes (words, index), entries left there. */
  u: Uint32Array = new Uint32Array(0);
  p = 0;
  left = 0;
  cut = false;
  seq = 0;
}

const PAD_MIN = 8;

/** `reserve_unlimited` / `assign` / `commit` over a {@linkcode RingWriter}. */
export class UnlimitedWriter {
  /** Counters. */
  readonly stats: UnlimitedWriterStats = {
    events: 0,
    contiguous: 0,
    fragmented: 0,
    pieces: 0,
    dropped: 0,
    droppedWouldFit: 0,
    truncated: 0,
    givenBack: 0,
    paddingBytes: 0,
  };
  readonly #w: RingWriter;
  readonly #piece: number;
  readonly #fixed: number;
  readonly #layout: SampleLayout;
  readonly #sampleType: number;
  readonly #states: EventState[] = [];
  #depth = 0;
  #seq = 0;

  /**
   * Create the writer.
   *
   * @param writer The ring writer of the CPU (stream or sub-buffer, consume or overwrite).
   * @param sampleType `sample_type`: CALLCHAIN and CPU, and only IDENTIFIER|IP|TID|TIME|ID|
   *   STREAM_ID|CPU|PERIOD|CALLCHAIN.
   * @param options Piece size.
   * @throws {RangeError} On unsupported sample_type bits or a piece size out of range.
   */
  constructor(writer: RingWriter, sampleType: number, options: UnlimitedWriterOptions = {}) {
    if (
      (sampleType & ~FAST_SAMPLE_TYPES) !== 0 || !(sampleType & SampleType.CALLCHAIN) ||
      !(sampleType & SampleType.CPU)
    ) {
      throw new RangeError(
        `Cannot write unlimited events: sample_type 0x${
          sampleType.toString(16)
        } needs CALLCHAIN and CPU and only IDENTIFIER|IP|TID|TIME|ID|STREAM_ID|CPU|PERIOD`,
      );
    }
    this.#w = writer;
    this.#sampleType = sampleType;
    this.#layout = SampleLayout.ofType(sampleType);
    this.#fixed = this.#layout.fixedEnd;
    const piece = options.pieceSize ?? 1024;
    const limit = Math.min(MAX_RECORD_SIZE, writer.maxSubbufRecord, writer.ring.dataSize / 2);
    if (
      !Number.isInteger(piece) || (piece & 7) !== 0 || piece < this.#fixed + 16 || piece > limit
    ) {
      throw new RangeError(
        `Cannot write unlimited events: piece size must be a multiple of 8 in [${
          this.#fixed + 16
        }, ${limit}]: current ${piece}`,
      );
    }
    this.#piece = piece;
    for (let i = 0; i < MAX_NEST; i++) this.#states.push(new EventState());
  }

  /** Bytes each piece reserves (less where a sub-buffer ends sooner). */
  get pieceSize(): number {
    return this.#piece;
  }

  /**
   * On an overwrite (`write_backward`) ring, whether `size` more bytes would wrap over the
   * outermost open event's head piece, which the commit still writes into: such a piece (or
   * nested event) is not reserved at all, the event is cut (or the nested event dropped) as when
   * a consume ring runs out of room. The ring never sees the reservation, so its own counts stay
   * exact.
   */
  #lapsOpenHead(size: number): boolean {
    const w = this.#w;
    if (!w.ring.overwrite) return false;
    const outer = this.#states[0];
    if (this.#depth === 0 || !outer.open || !outer.reserved) return false;
    return w.head + size - (outer.headEnd - outer.headSize) > w.ring.dataSize;
  }

  /** The size a reservation gets now: the piece, or the room left in the open sub-buffer. */
  #pieceNow(min: number): number {
    const room = this.#w.roomInSubbuf();
    if (room >= min && room < this.#piece) return room;
    return this.#piece;
  }

  /**
   * Reserve an event of unknown size and write its fixed sample fields.
   *
   * @param s The fixed fields (read, not kept).
   * @returns The event (a per-nesting-level object, reused): pass it to {@linkcode assign} and
   *   {@linkcode commit}. `reserved` is false when the head piece did not fit.
   * @throws {RangeError} When events nest deeper than the ring writer allows.
   */
  reserveUnlimited(s: SampleFields): UnlimitedEvent {
    if (this.#depth >= MAX_NEST) throw new RangeError("Cannot reserve: events nested too deep");
    const e = this.#states[this.#depth++];
    const w = this.#w;
    this.stats.events++;
    e.open = true;
    e.entries = 0;
    e.index = 0;
    e.cut = false;
    e.seq = 0;
    e.bytes = 0;
    const size = this.#pieceNow(this.#fixed + 16);
    // a nested event (depth > 1) must not wrap over the outer event's open head
    const h = this.#depth > 1 && this.#lapsOpenHead(size) ? -1 : w.reserve(size, s.time);
    if (h < 0) {
      e.reserved = false;
      // the free bytes a sized reservation would have had (overwrite rings never drop)
      e.room = w.ring.dataSize - 1 - (w.head - loadTail(w.ring));
      this.stats.dropped++;
      return e;
    }
    e.reserved = true;
    e.headEnd = w.head;
    e.headSize = size;
    const wrapped = h >= w.ring.dataSize;
    const u = wrapped ? w.scratchWords : w.dataWords;
    let p = (wrapped ? h - w.ring.dataSize : h) >> 2;
    e.headU = u;
    e.headP = p;
    e.misc = s.misc & 0xffff;
    e.cpu = s.cpu;
    const t = this.#sampleType;
    u[p] = RecordType.SAMPLE;
    u[p + 1] = e.misc; // size written at commit
    p += 2;
    if (t & SampleType.IDENTIFIER) p = putU64(u, p, s.id);
    if (t & SampleType.IP) {
      u[p] = s.ipLo;
      u[p + 1] = s.ipHi;
      p += 2;
    }
    if (t & SampleType.TID) {
      u[p] = s.pid;
      u[p + 1] = s.tid;
      p += 2;
    }
    if (t & SampleType.TIME) p = putU64(u, p, s.time);
    if (t & SampleType.ID) p = putU64(u, p, s.id);
    if (t & SampleType.STREAM_ID) p = putU64(u, p, s.id);
    e.cpuP = p;
    u[p] = s.cpu;
    u[p + 1] = 0;
    p += 2;
    if (t & SampleType.PERIOD) p = putU64(u, p, s.period);
    e.nrP = p;
    u[p + 1] = 0;
    p += 2;
    e.headCap = (size - this.#fixed - 8) >> 3;
    e.u = u;
    e.p = p;
    e.left = e.headCap;
    return e;
  }

  /**
   * Assign one callchain entry.
   *
   * @param ev The event from {@linkcode reserveUnlimited}.
   * @param lo Low 32 bits.
   * @param hi High 32 bits.
   */
  assign(ev: UnlimitedEvent, lo: number, hi: number): void {
    const e = ev as EventState;
    e.entries++;
    if (!e.reserved || e.cut) return;
    if (e.left === 0 && !this.#nextPiece(e)) return;
    e.u[e.p] = lo;
    e.u[e.p + 1] = hi;
    e.p += 2;
    e.left--;
  }

  /**
   * Assign callchain entries, copied across pieces as they fill.
   *
   * @param ev The event from {@linkcode reserveUnlimited}.
   * @param words Entries as u32 pairs (lo, hi).
   * @param from First entry.
   * @param n Entries.
   */
  assignWords(ev: UnlimitedEvent, words: Uint32Array, from: number, n: number): void {
    const e = ev as EventState;
    e.entries += n;
    if (!e.reserved || e.cut) return;
    let at = from * 2;
    let rest = n;
    while (rest > 0) {
      if (e.left === 0 && !this.#nextPiece(e)) return;
      const k = Math.min(rest, e.left);
      const u = e.u;
      const p = e.p;
      // below 64 words a loop beats `set` (which needs a subarray object)
      if (k <= 32) { for (let i = 0; i < 2 * k; i++) u[p + i] = words[at + i]; }
      else u.set(words.subarray(at, at + 2 * k), p);
      e.p += 2 * k;
      e.left -= k;
      at += 2 * k;
      rest -= k;
    }
  }

  /** Close the full current piece (head or fragment) and reserve the next one. */
  #nextPiece(e: EventState): boolean {
    const w = this.#w;
    if (e.index === 0) {
      // the head is full: it becomes a fragmented event's head
      e.seq = this.#seq = this.#seq >= 0xffffffff ? 1 : this.#seq + 1;
      e.bytes += e.headSize;
    } else {
      this.#closeFragment(e, false);
      w.commit();
    }
    if (e.index >= 0xffff) {
      e.cut = true;
      this.stats.truncated++;
      return false;
    }
    const size = this.#pieceNow(COMPACT_FRAGMENT_HEADER_SIZE + 8);
    const h = this.#lapsOpenHead(size) ? -1 : w.reserve(size);
    if (h < 0) {
      e.cut = true;
      this.stats.truncated++;
      return false;
    }
    e.index++;
    this.stats.pieces++;
    e.pieceEnd = w.head;
    e.pieceSize = size;
    const wrapped = h >= w.ring.dataSize;
    const u = wrapped ? w.scratchWords : w.dataWords;
    const q = (wrapped ? h - w.ring.dataSize : h) >> 2;
    e.pieceU = u;
    e.pieceP = q;
    e.pieceCap = (size - COMPACT_FRAGMENT_HEADER_SIZE) >> 3;
    u[q] = RecordType.CALLRING_FRAGMENT_COMPACT;
    u[q + 2] = e.seq;
    u[q + 3] = (e.index | (e.cpu << 16)) >>> 0;
    e.u = u;
    e.p = q + 4;
    e.left = e.pieceCap;
    return true;
  }

  /** Write the current fragment's header word; with `last`, trim its unused end. */
  #closeFragment(e: EventState, last: boolean): void {
    const count = e.pieceCap - e.left;
    const used = COMPACT_FRAGMENT_HEADER_SIZE + count * 8;
    const flags = (e.index === 1 ? FragmentFlag.FIRST : 0) | (last ? FragmentFlag.LAST : 0);
    e.pieceU[e.pieceP + 1] = flags | (used << 16);
    e.bytes += used;
    if (used < e.pieceSize) this.#trim(e.pieceU, e.pieceP, used, e.pieceSize, e.pieceEnd);
  }

  /** The unused end of a piece: given back to the ring, or a PAD record. */
  #trim(u: Uint32Array, p: number, used: number, size: number, end: number): void {
    const rest = size - used;
    if (this.#w.giveBack(end, rest)) {
      this.stats.givenBack += rest;
      return;
    }
    if (rest < PAD_MIN) return;
    const q = p + (used >> 2);
    u[q] = RecordType.CALLRING_PAD;
    u[q + 1] = rest << 16;
    this.stats.paddingBytes += rest;
  }

  /**
   * Commit the event with its final size (the outermost ring commit publishes it).
   *
   * @param ev The innermost open event.
   * @returns The event's final size: bytes of its head and pieces in the ring (padding
   *   excluded; 0 when dropped).
   * @throws {RangeError} When `ev` is not the innermost open event.
   */
  commit(ev: UnlimitedEvent): number {
    const e = ev as EventState;
    if (this.#depth === 0 || this.#states[this.#depth - 1] !== e || !e.open) {
      throw new RangeError("Cannot commit: not the innermost open unlimited event");
    }
    this.#depth--;
    e.open = false;
    const w = this.#w;
    if (!e.reserved) {
      if (this.#fixed + 8 + 8 * e.entries <= e.room) this.stats.droppedWouldFit++;
      return 0;
    }
    let bytes: number;
    if (e.index === 0 && !e.cut) {
      const n = e.headCap - e.left;
      const size = this.#fixed + 8 + 8 * n;
      e.headU[e.headP + 1] = e.misc | (size << 16);
      e.headU[e.nrP] = n;
      // a head that filled exactly and stopped there is still one piece: res stays 0
      if (size < e.headSize) this.#trim(e.headU, e.headP, size, e.headSize, e.headEnd);
      bytes = size;
      this.stats.contiguous++;
    } else {
      if (!e.cut) {
        this.#closeFragment(e, true);
        w.commit();
        this.stats.fragmented++;
      }
      e.headU[e.headP + 1] = e.misc | (e.headSize << 16);
      e.headU[e.nrP] = e.headCap;
      e.headU[e.cpuP + 1] = e.seq;
      bytes = e.bytes;
    }
    w.commit();
    return bytes;
  }
}

function putU64(u: Uint32Array, p: number, value: number): number {
  const hi = value >= 0 && value < 0x1_0000_0000 ? 0 : Math.floor(value / 0x1_0000_0000);
  u[p] = value - hi * 0x1_0000_0000;
  u[p + 1] = hi;
  return p + 2;
}
