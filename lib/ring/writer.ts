/**
 * The ring writer: `reserve` / write / `commit`, modelled on the kernel's
 * `perf_output_begin` / `perf_output_put_handle` (kernel/events/ring_buffer.c).
 *
 * - **Nesting.** A writer interrupted by another on the same CPU (an NMI
 *   arriving while a task-context writer holds a reservation) reserves the next
 *   bytes; `nest` counts open reservations and only the outermost `commit`
 *   publishes `data_head`, re-checking the reserve position afterwards in case
 *   a nested writer reserved in the window (the `goto again` of
 *   `perf_output_put_handle`). Commits must come in LIFO order, as interrupts
 *   nest. Publishing is one store of `data_head`'s low u32 (the seqcount of
 *   `layout.ts` is bumped only when the high u32 changes, every 4 GiB).
 * - **Wrap-around.** Records wrap at the end of the data area. A reservation
 *   that wraps is handed out in a per-level scratch slot and copied into the
 *   ring (in two pieces) at commit; the common case writes straight into the
 *   ring bytes. Nothing is allocated per record.
 * - **Producer/consumer mode.** When `data_tail` leaves less room than the
 *   record needs (`CIRC_SPACE`, one byte kept free) the record is dropped and
 *   counted; the next reservation that fits is preceded by a `PERF_RECORD_LOST`
 *   carrying the exact count.
 * - **Overwrite mode** is perf's `write_backward`: records are placed at
 *   decreasing addresses, `data_head` is published as `-bytes_written`, the
 *   newest record starts at `data_head` and older ones follow it; the oldest are
 *   overwritten. The reserve position is published too, so a concurrent reader
 *   can prove that what it copied was not overwritten meanwhile.
 * - **Sync points** (consume mode): with `syncDistance` set, a sync record is
 *   placed in front of a reservation whenever the next record could otherwise
 *   end more than `syncDistance` bytes after the previous sync, so sync records
 *   start at most `syncDistance` bytes apart.
 * - **Sub-buffers** (`subbufSize`, see `subbuf.ts`): the first reservation of
 *   each sub-buffer is preceded by its header; a record that would cross the
 *   boundary closes the sub-buffer (NOP records, or `used` in the header) and
 *   goes after the next header, all in one reservation. Events larger than a
 *   sub-buffer throw {@linkcode SubbufOversizeError}. `closeSubbuf` is the
 *   flush ("switch") a reader of header-padded rings waits for.
 * - **Tail-push overwrite** (a ring made with `tailPush`): Peter's design,
 *   "simply parse the events and push the tail pointer ahead of the
 *   reservation before you trample on it" (seed L9212-9213). Where the
 *   consume mode would drop, the writer walks record headers from `data_tail`
 *   and advances it (and a count of the data records it pushed out, under one
 *   seqcount) until the reservation fits, then writes. Peter's sketch tested
 *   `while (tail + size - head < 0)` on unsigned longs, which Mathieu showed
 *   is never true (L9333-9343); here the room test is `size - 1 - (head -
 *   tail) < need` on exact integers. The tail never passes the outermost open
 *   reservation (a nested writer drops instead). A `PERF_RECORD_LOST` pushed out adds its count
 *   to the pushed count (the drops it reported would otherwise vanish with it). Peter's amortisation (first
 *   record offset per page frame, L9215-9217) is not built: the walk reads one
 *   header per pushed record.
 *
 * @module
 */

import {
  HEADER_SIZE,
  MmapPage,
  RecordType,
  SampleLayout,
  setU64,
  writeSampleId,
} from "../abi/mod.ts";
import {
  encodeSubbufFields,
  encodeSyncFields,
  SUBBUF_HEADER_SIZE,
  SubbufPadding,
  SYNC_CRC_OFFSET,
  SYNC_RECORD_SIZE,
} from "../abi/extensions.ts";
import { crc32 } from "./crc32.ts";
import {
  loadTail,
  RingExt,
  type RingMemory,
  setStat,
  storeCounter,
  storeCounterHalves,
  storeTailPush,
} from "./layout.ts";
import { sealSubbufHeader, SubbufOversizeError } from "./subbuf.ts";

export { SubbufOversizeError } from "./subbuf.ts";

/** Deepest reservation nesting (task, softirq, hardirq, NMI, and room for nested NMIs/faults). */
export const MAX_NEST = 8;
/** Largest record a reservation may hold (`header.size` is a u16). */
export const MAX_RECORD_SIZE = 0xfff8;

/** Options of a {@linkcode RingWriter}. */
export interface RingWriterOptions {
  /** CPU number, written into LOST trailers and sync records. */
  cpu?: number;
  /** Event id written into `PERF_RECORD_LOST.id` and the trailer's ID fields. */
  lostId?: number;
  /** `sample_type` of the event; with `sampleIdAll` LOST records get a `sample_id` trailer. */
  sampleType?: number;
  /** Whether the event has `sample_id_all`. */
  sampleIdAll?: boolean;
  /** pid / tid written into LOST trailers. */
  pid?: number;
  /** tid written into LOST trailers. */
  tid?: number;
  /** Emit a sync record at least every this many bytes (0 = never; consume mode only). */
  syncDistance?: number;
  /**
   * Cut the data area into sub-buffers of this many bytes (a power of two in [256, dataSize / 2];
   * 0 = stream ring). Forward rings only, without sync records (the sub-buffer headers are the
   * sync points).
   */
  subbufSize?: number;
  /** How sub-buffer ends are padded: NOP records (default) or the size in the header. */
  subbufPadding?: "nop" | "header";
  /**
   * Test hook: called inside `commit` after `data_head` was stored and after
   * `nest` was cleared, where an NMI can interrupt the kernel's put_handle.
   */
  onPublishWindow?: (where: "head-stored" | "nest-cleared") => void;
}

/** Counters of a writer. `attempted = committed + dropped` at all times. */
export interface RingWriterStats {
  /** Records the caller tried to reserve (sync and LOST records excluded). */
  attempted: number;
  /** Records committed (sync and LOST records excluded). */
  committed: number;
  /** Records dropped for lack of room. */
  dropped: number;
  /** Sum of the counts carried by emitted LOST records. */
  lostReported: number;
  /** LOST records emitted. */
  lostRecords: number;
  /** Sync records emitted. */
  syncRecords: number;
  /** Times `commit` looped because a nested writer reserved during publication. */
  publishRetries: number;
  /** Sub-buffers opened (sub-buffer rings). */
  subbufs: number;
  /** Bytes of sub-buffer padding (NOP records or header-style unused ends). */
  paddingBytes: number;
  /** Data records the tail pushed out (tail-push rings). */
  pushed: number;
}

const SCRATCH_SLOT = 0x10000;
const TWO_32 = 0x1_0000_0000;
const HEAD_WORD = MmapPage.dataHead >> 2;
const RESERVE_WORD = RingExt.reserve >> 2;

/** Writes records into one ring; one writer per ring (per CPU), as in the kernel. */
export class RingWriter {
  /** The ring memory. */
  readonly ring: RingMemory;
  /** Counters. */
  readonly stats: RingWriterStats = {
    attempted: 0,
    committed: 0,
    dropped: 0,
    lostReported: 0,
    lostRecords: 0,
    syncRecords: 0,
    publishRetries: 0,
    subbufs: 0,
    paddingBytes: 0,
    pushed: 0,
  };
  /** The ring's data area (for direct writes at offsets below `dataSize`). */
  readonly data: DataView;
  /** Scratch slots for wrapping reservations (offsets at and above `dataSize`). */
  readonly scratch: DataView;
  /** The ring's data area as u32 words (word `h >> 2` for a handle `h` below `dataSize`). */
  readonly dataWords: Uint32Array;
  /** The scratch slots as u32 words (word `(h - dataSize) >> 2` for a wrapping handle `h`). */
  readonly scratchWords: Uint32Array;
  readonly #scratchBytes: Uint8Array;
  readonly #bytes: Uint8Array;
  readonly #words: Int32Array;
  readonly #shared: boolean;
  readonly #size: number;
  readonly #mask: number;
  readonly #overwrite: boolean;
  readonly #cpu: number;
  readonly #lostId: number;
  readonly #trailer: SampleLayout;
  readonly #trailerSize: number;
  readonly #pid: number;
  readonly #tid: number;
  readonly #syncDistance: number;
  readonly #hook: RingWriterOptions["onPublishWindow"];
  readonly #subbuf: number;
  readonly #headerPad: boolean;
  readonly #tailPush: boolean;
  /** Whether every reservation takes the slow path (sync, sub-buffers, tail push). */
  readonly #slow: boolean;
  #sbStart = -1;
  #sbRecords = 0;
  #sbLastTime = 0;
  #closedHi = -1;
  /** Start of the outermost open reservation (the tail never passes it). */
  #outerPos = 0;
  /** rb->head: forward position, or bytes reserved backwards. */
  #head = 0;
  #tail = 0;
  #nest = 0;
  #lost = 0;
  #syncSeq = 0;
  #lastSync = -1;
  #lastTime = 0;
  /** High u32 of the last `data_head` / reserve position stored (-1: none yet). */
  #headHi = -1;
  #reserveHi = -1;
  readonly #levelPos = new Float64Array(MAX_NEST);
  /** Per nesting level: 0 when the reservation is in the ring, else its size (scratch slot). */
  readonly #levelWrapped = new Int32Array(MAX_NEST);

  /**
   * Create the writer of a ring.
   *
   * @param ring Ring memory from `createRingMemory`.
   * @param options Writer options.
   * @throws {RangeError} When `syncDistance` is set below 256 or on an overwrite ring.
   */
  constructor(ring: RingMemory, options: RingWriterOptions = {}) {
    this.ring = ring;
    this.data = ring.dataView;
    this.#bytes = ring.data;
    this.#size = ring.dataSize;
    this.#mask = ring.mask;
    this.#overwrite = ring.overwrite;
    this.#cpu = options.cpu ?? 0;
    this.#lostId = options.lostId ?? 0;
    this.#trailer = SampleLayout.ofType(options.sampleIdAll ? (options.sampleType ?? 0) : 0);
    this.#trailerSize = this.#trailer.trailer.size;
    this.#pid = options.pid ?? -1;
    this.#tid = options.tid ?? -1;
    this.#syncDistance = options.syncDistance ?? 0;
    this.#hook = options.onPublishWindow;
    if (this.#syncDistance && (this.#syncDistance < 256 || ring.overwrite || ring.tailPush)) {
      throw new RangeError(
        `Cannot create writer: sync distance must be >= 256 on a consume-mode ring: current ${this.#syncDistance}`,
      );
    }
    this.#subbuf = options.subbufSize ?? 0;
    this.#headerPad = options.subbufPadding === "header";
    this.#tailPush = ring.tailPush === true;
    const sb = this.#subbuf;
    if (
      sb !== 0 &&
      (sb < 256 || sb > ring.dataSize / 2 || (sb & (sb - 1)) !== 0 || ring.overwrite ||
        ring.tailPush || this.#syncDistance !== 0)
    ) {
      throw new RangeError(
        `Cannot create writer: sub-buffer size must be a power of two in [256, ${
          ring.dataSize / 2
        }] on a forward consume ring without sync records: current ${sb}`,
      );
    }
    this.#slow = this.#syncDistance !== 0 || sb !== 0 || this.#tailPush;
    ring.page.setUint32(RingExt.subbufSize, sb, true);
    ring.page.setUint32(
      RingExt.subbufPadding,
      this.#headerPad ? SubbufPadding.HEADER : SubbufPadding.NOP,
      true,
    );
    this.#scratchBytes = new Uint8Array(MAX_NEST * SCRATCH_SLOT);
    this.scratch = new DataView(this.#scratchBytes.buffer);
    this.dataWords = new Uint32Array(ring.buffer, ring.data.byteOffset, ring.dataSize >> 2);
    this.scratchWords = new Uint32Array(this.#scratchBytes.buffer);
    this.#words = ring.pageWords;
    this.#shared = typeof SharedArrayBuffer !== "undefined" &&
      ring.buffer instanceof SharedArrayBuffer;
  }

  /** Current reservation nesting depth. */
  get nest(): number {
    return this.#nest;
  }

  /** The writer's reserve position (`rb->head`; bytes reserved backwards in overwrite mode). */
  get head(): number {
    return this.#head;
  }

  /** Records dropped and not yet reported by a LOST record. */
  get pendingLost(): number {
    return this.#lost;
  }

  /**
   * Reserve room for one record of `size` bytes (a multiple of 8).
   *
   * @param size Record size in bytes, header included.
   * @param time Time of the record, used for sync records and LOST trailers.
   * @returns A handle offset: write the record at `viewOf(h)` / `offsetOf(h)`
   *   (below `dataSize` that is the ring itself), then call {@linkcode commit}.
   *   -1 when the record was dropped (no commit then).
   * @throws {RangeError} When `size` is not a multiple of 8 in [8, 65528], or nesting exceeds MAX_NEST.
   */
  reserve(size: number, time = this.#lastTime): number {
    if ((size & 7) !== 0 || size < HEADER_SIZE || size > MAX_RECORD_SIZE) {
      throw new RangeError(`Cannot reserve ${size} bytes: must be a multiple of 8 in [8, 65528]`);
    }
    const level = this.#nest;
    if (level >= MAX_NEST) {
      throw new RangeError(`Cannot reserve: nesting deeper than ${MAX_NEST}`);
    }
    this.#nest = level + 1;
    this.#lastTime = time;
    this.stats.attempted++;
    if (this.#overwrite) return this.#reserveBackward(level, size);
    if (this.#lost > 0 || this.#slow) return this.#reserveSlow(level, size, time);
    // Fast path: no LOST record pending, no sync records.
    const pos = this.#head;
    // data_tail only grows: re-read it only when the cached value says "full".
    if (this.#size - 1 - (pos - this.#tail) < size) {
      this.#tail = loadTail(this.ring);
      if (this.#size - 1 - (pos - this.#tail) < size) return this.#drop();
    }
    this.#head = pos + size;
    return this.#handle(level, pos, size);
  }

  #reserveSlow(level: number, size: number, time: number): number {
    const lostSize = this.#lost > 0 ? 24 + this.#trailerSize : 0;
    let pos: number;
    try {
      pos = this.#frame(level, lostSize + size, time);
    } catch (e) {
      this.#nest = level;
      this.stats.attempted--;
      throw e;
    }
    if (pos < 0) return this.#drop();
    if (level === 0) this.#outerPos = pos;
    if (lostSize) {
      this.#writeLost(pos, time);
      pos += lostSize;
    }
    return this.#handle(level, pos, size);
  }

  /**
   * Make room for `need` bytes (LOST record + record): the sync record, or the sub-buffer
   * padding and header, that must precede them are written and `head` is advanced past all of
   * it. Returns where the `need` bytes go, or -1 when they do not fit (nothing written).
   */
  #frame(level: number, need: number, time: number): number {
    let syncSize = 0;
    const sd = this.#syncDistance;
    if (sd) {
      if (need + SYNC_RECORD_SIZE > sd) {
        throw new RangeError(
          `Cannot reserve ${need} bytes: record exceeds sync distance ${sd} minus the sync record`,
        );
      }
      if (this.#lastSync < 0 || this.#head + need > this.#lastSync + sd) {
        syncSize = SYNC_RECORD_SIZE;
      }
    }
    let pad = 0;
    let hdr = 0;
    const sb = this.#subbuf;
    if (sb) {
      if (need + SUBBUF_HEADER_SIZE > sb) throw new SubbufOversizeError(need, sb);
      // sb divides 2^32, so the low 32 bits of head give the offset in the sub-buffer
      const inSb = (this.#head >>> 0) & (sb - 1);
      if (inSb === 0) hdr = SUBBUF_HEADER_SIZE;
      else if (inSb + need > sb) {
        pad = sb - inSb;
        hdr = SUBBUF_HEADER_SIZE;
      }
    }
    const total = pad + hdr + syncSize + need;
    if (this.#size - 1 - (this.#head - this.#tail) < total) {
      if (!this.#tailPush) {
        this.#tail = loadTail(this.ring);
        if (this.#size - 1 - (this.#head - this.#tail) < total) return -1;
      } else if (!this.#pushTail(level, total)) return -1;
    }
    let pos = this.#head;
    this.#head = pos + total;
    // a sub-buffer filled exactly is closed here, with no padding
    if (pad || (hdr && this.#sbStart >= 0)) {
      this.#closeAt(pos, pad);
      pos += pad;
    }
    if (hdr) {
      this.#openSubbuf(pos, time);
      pos += hdr;
    }
    if (syncSize) {
      this.#writeSync(pos, time);
      pos += syncSize;
    }
    if (sb) {
      this.#sbRecords += need > 0 ? 1 : 0;
      this.#sbLastTime = time;
    }
    return pos;
  }

  /** Tail-push overwrite: advance `data_tail` over whole records until `total` bytes fit. */
  #pushTail(level: number, total: number): boolean {
    const limit = level > 0 ? this.#outerPos : this.#head;
    const dv = this.data;
    let tail = this.#tail;
    let pushed = this.stats.pushed;
    while (this.#size - 1 - (this.#head - tail) < total) {
      if (tail >= limit) return false;
      const off = (tail >>> 0) & this.#mask;
      const rs = dv.getUint16(off + 6, true);
      if (rs < HEADER_SIZE || (rs & 7) !== 0) {
        throw new RangeError(`Cannot push the tail: impossible record size ${rs} at ${tail}`);
      }
      const type = dv.getUint32(off, true);
      if (type === RecordType.LOST) {
        // the drops it reports are gone with it: counted as pushed out, so the reader's
        // accounting stays exact (it counts the LOST records it did read the same way)
        pushed += dv.getUint32(((tail + 16) >>> 0) & this.#mask, true) +
          dv.getUint32(((tail + 20) >>> 0) & this.#mask, true) * TWO_32;
      } else if (type !== RecordType.CALLRING_PAD) pushed++; // PAD: an unused reservation end
      tail += rs;
    }
    this.#tail = tail;
    this.stats.pushed = pushed;
    // published before the bytes are overwritten: a reader's post-copy check sees it
    storeTailPush(this.ring, tail, pushed);
    return true;
  }

  #openSubbuf(pos: number, time: number): void {
    const off = (pos >>> 0) & this.#mask;
    encodeSubbufFields(this.data, off, {
      padding: this.#headerPad ? SubbufPadding.HEADER : SubbufPadding.NOP,
      streamOffset: pos,
      startTime: time,
      endTime: 0,
      size: this.#subbuf,
      used: 0,
      records: 0,
      cpu: this.#cpu,
    });
    sealSubbufHeader(this.#bytes, off);
    this.#sbStart = pos;
    this.#sbRecords = 0;
    this.stats.subbufs++;
  }

  /** Close the open sub-buffer at `pos` with `pad` bytes of padding. */
  #closeAt(pos: number, pad: number): void {
    this.stats.paddingBytes += pad;
    if (this.#headerPad) {
      if (this.#sbStart >= 0) {
        const off = (this.#sbStart >>> 0) & this.#mask;
        setU64(this.data, off + 24, this.#sbLastTime);
        this.data.setUint32(off + 36, pos - this.#sbStart, true);
        this.data.setUint32(off + 40, this.#sbRecords, true);
        sealSubbufHeader(this.#bytes, off);
      }
    } else {
      // NOP records: only their headers are written, the rest keeps stale bytes
      for (let at = pos, left = pad; left > 0;) {
        const n = Math.min(left, MAX_RECORD_SIZE);
        const off = (at >>> 0) & this.#mask;
        this.data.setUint32(off, RecordType.CALLRING_PAD, true);
        this.data.setUint16(off + 4, 0, true);
        this.data.setUint16(off + 6, n, true);
        at += n;
        left -= n;
      }
    }
    this.#sbStart = -1;
    const closed = pos + pad;
    const hi = Math.floor(closed / TWO_32);
    if (hi === this.#closedHi && !this.#shared) this.#words[RingExt.closed >> 2] = closed | 0;
    else {
      storeCounter(this.#words, RingExt.closedSeq, RingExt.closed, closed);
      this.#closedHi = hi;
    }
  }

  /**
   * Close the open sub-buffer now (LTTng's "switch"): pad its end so a reader of a
   * header-padded ring can take it. Call between reservations (e.g. before a final drain).
   *
   * @param time Time stamped as the sub-buffer's last record time when nothing was written yet.
   * @returns True when no sub-buffer is open any more; false when nested or the padding does
   *   not fit yet (drain and retry).
   */
  closeSubbuf(time = this.#lastTime): boolean {
    const sb = this.#subbuf;
    if (sb === 0) return true;
    if (this.#nest !== 0) return false;
    const inSb = (this.#head >>> 0) & (sb - 1);
    if (inSb === 0) {
      if (this.#sbStart >= 0) this.#closeAt(this.#head, 0);
      return true;
    }
    const pad = sb - inSb;
    if (this.#size - 1 - (this.#head - this.#tail) < pad) {
      this.#tail = loadTail(this.ring);
      if (this.#size - 1 - (this.#head - this.#tail) < pad) return false;
    }
    if (this.#sbRecords === 0) this.#sbLastTime = time;
    this.#closeAt(this.#head, pad);
    this.#head += pad;
    this.#nest = 1;
    this.#putHandle();
    return true;
  }

  /** End of the last closed sub-buffer (sub-buffer rings; `head` otherwise). */
  get closedPosition(): number {
    if (this.#subbuf === 0) return this.#head;
    const inSb = (this.#head >>> 0) & (this.#subbuf - 1);
    return this.#head - inSb;
  }

  /**
   * Bytes one reservation can hold at the current position without closing the open
   * sub-buffer: the room left in it (its header deducted when the next reservation opens one),
   * minus a pending `PERF_RECORD_LOST` that would go first. Infinity on stream rings. What
   * `reserve_unlimited` (`unlimited.ts`) asks for, so a piece ends at the sub-buffer end instead
   * of padding it.
   *
   * @returns Bytes (a multiple of 8), or Infinity.
   */
  roomInSubbuf(): number {
    const sb = this.#subbuf;
    if (sb === 0) return Infinity;
    const lost = this.#lost > 0 ? 24 + this.#trailerSize : 0;
    const inSb = (this.#head >>> 0) & (sb - 1);
    return (inSb === 0 ? sb - SUBBUF_HEADER_SIZE : sb - inSb) - lost;
  }

  /** Largest reservation a sub-buffer can take (its header and a LOST record deducted); Infinity on stream rings. */
  get maxSubbufRecord(): number {
    return this.#subbuf === 0
      ? Infinity
      : this.#subbuf - SUBBUF_HEADER_SIZE - 24 - this.#trailerSize;
  }

  /**
   * Give back the unused end of the innermost open reservation (a reservation whose final size
   * was not known when it was made, `unlimited.ts`): possible only while nothing was reserved
   * after it, which the caller proves with the `head` it read right after its `reserve`.
   * Forward rings only (a `write_backward` record starts at its reserve position).
   *
   * @param end {@linkcode head} right after the reservation was made.
   * @param bytes Bytes to give back (a multiple of 8, less than the reservation).
   * @returns False when something was reserved after it (pad the end instead) or the ring is
   *   an overwrite ring; true when `head` moved back by `bytes`.
   * @throws {RangeError} When no reservation is open or `bytes` is not a multiple of 8.
   */
  giveBack(end: number, bytes: number): boolean {
    const level = this.#nest - 1;
    if (level < 0) throw new RangeError("Cannot give back: no open reservation");
    if ((bytes & 7) !== 0 || bytes < 0) {
      throw new RangeError(`Cannot give back ${bytes} bytes: must be a multiple of 8`);
    }
    if (this.#overwrite || this.#head !== end) return false;
    const wrapped = this.#levelWrapped[level];
    if (wrapped !== 0) {
      if (bytes >= wrapped) {
        throw new RangeError(`Cannot give back ${bytes} of a ${wrapped}-byte reservation`);
      }
      this.#levelWrapped[level] = wrapped - bytes;
    }
    this.#head -= bytes;
    return true;
  }

  #drop(): number {
    this.#lost++;
    this.stats.dropped++;
    setStat(this.ring, RingExt.dropped, this.stats.dropped);
    this.#putHandle();
    return -1;
  }

  #reserveBackward(level: number, size: number): number {
    const head = this.#head += size;
    // Published before the caller writes, so a snapshot can tell what may be overwritten.
    const hi = head >= TWO_32 ? Math.floor(head / TWO_32) : 0;
    const lo = head - hi * TWO_32;
    if (hi === this.#reserveHi) this.#store(RESERVE_WORD, lo);
    else {
      storeCounterHalves(this.#words, RingExt.reserveSeq, RingExt.reserve, lo, hi);
      this.#reserveHi = hi;
    }
    return this.#handle(level, -head, size);
  }

  #handle(level: number, pos: number, size: number): number {
    const off = (pos >>> 0) & this.#mask;
    if (off + size <= this.#size) {
      this.#levelWrapped[level] = 0;
      return off;
    }
    this.#levelPos[level] = pos;
    this.#levelWrapped[level] = size;
    return this.#size + level * SCRATCH_SLOT;
  }

  /**
   * The view to write a reservation into.
   *
   * @param handle A handle from {@linkcode reserve}.
   * @returns The ring's data view, or the scratch view for a wrapping reservation.
   */
  viewOf(handle: number): DataView {
    return handle < this.#size ? this.data : this.scratch;
  }

  /**
   * The byte offset of a reservation inside {@linkcode viewOf}.
   *
   * @param handle A handle from {@linkcode reserve}.
   * @returns The offset.
   */
  offsetOf(handle: number): number {
    return handle < this.#size ? handle : handle - this.#size;
  }

  /**
   * Finish the innermost open reservation; the outermost commit publishes
   * `data_head` (perf_output_put_handle).
   *
   * @throws {RangeError} When no reservation is open.
   */
  commit(): void {
    const level = this.#nest - 1;
    if (level < 0) throw new RangeError("Cannot commit: no open reservation");
    const wrapped = this.#levelWrapped[level];
    if (wrapped !== 0) {
      this.#copyIn(this.#levelPos[level], this.#scratchBytes, level * SCRATCH_SLOT, wrapped);
    }
    this.stats.committed++;
    if (level > 0) {
      // Nested: the outermost commit publishes (and sees this record's bytes).
      this.#nest = level;
      return;
    }
    if (this.#hook === undefined) {
      // Outermost commit with no test hook: nothing can interrupt between the
      // store and clearing `nest` in this single-threaded writer, so the
      // kernel's re-check loop cannot fire.
      this.#publish(this.#head);
      this.#nest = 0;
      return;
    }
    this.#putHandle();
  }

  #putHandle(): void {
    for (;;) {
      const nest = this.#nest;
      if (nest > 1) {
        this.#nest = nest - 1;
        return;
      }
      const head = this.#head;
      this.#publish(head);
      this.#hook?.("head-stored");
      this.#nest = 0;
      this.#hook?.("nest-cleared");
      if (head === this.#head) return;
      this.#nest = 1;
      this.stats.publishRetries++;
    }
  }

  /**
   * Store `data_head`. Only a change of its high u32 needs the seqcount
   * (odd, two halves, even); otherwise one store of the low u32 is atomic for
   * every reader, with or without the seqcount.
   */
  #publish(head: number): void {
    let hi = head >= TWO_32 ? Math.floor(head / TWO_32) : 0;
    let lo = head - hi * TWO_32;
    if (this.#overwrite) {
      // The kernel publishes -head (two's complement) for write_backward.
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
      lo = (~lo + 1) >>> 0;
    }
    if (hi === this.#headHi) this.#store(HEAD_WORD, lo);
    else {
      storeCounterHalves(this.#words, RingExt.headSeq, MmapPage.dataHead, lo, hi);
      this.#headHi = hi;
    }
  }

  /** Store one control-page word: with release order on shared memory, plainly otherwise. */
  #store(word: number, value: number): void {
    if (this.#shared) Atomics.store(this.#words, word, value | 0);
    else this.#words[word] = value | 0;
  }

  /**
   * Reserve, copy and commit a complete record.
   *
   * @param record The record bytes (`header.size` = length, a multiple of 8).
   * @param time Time of the record (sync / LOST stamps).
   * @returns True when written, false when dropped.
   */
  write(record: Uint8Array, time = this.#lastTime): boolean {
    const h = this.reserve(record.length, time);
    if (h < 0) return false;
    if (h < this.#size) this.#bytes.set(record, h);
    else this.#scratchBytes.set(record, h - this.#size);
    this.commit();
    return true;
  }

  /**
   * Try to report pending drops now with a standalone LOST record (the kernel
   * does this on the next successful output; call it before a final drain).
   *
   * @param time Time for the LOST trailer.
   * @returns True when nothing is pending any more.
   */
  flushLost(time = this.#lastTime): boolean {
    if (this.#lost === 0 || this.#overwrite) return this.#lost === 0;
    const size = 24 + this.#trailerSize;
    if (this.#nest !== 0) return false;
    if (!this.#tailPush) this.#tail = loadTail(this.ring);
    const pos = this.#frame(0, size, time);
    if (pos < 0) return false;
    setStat(this.ring, RingExt.committed, this.stats.committed);
    this.#nest = 1;
    this.#writeLost(pos, time);
    this.#putHandle();
    return true;
  }

  #copyIn(pos: number, src: Uint8Array, from: number, len: number): void {
    const off = (pos >>> 0) & this.#mask;
    const first = Math.min(len, this.#size - off);
    this.#bytes.set(src.subarray(from, from + first), off);
    if (first < len) this.#bytes.set(src.subarray(from + first, from + len), 0);
  }

  readonly #tmp = new Uint8Array(128);
  readonly #tmpView = new DataView(this.#tmp.buffer);

  #writeLost(pos: number, time: number): void {
    const v = this.#tmpView;
    const size = 24 + this.#trailerSize;
    v.setUint32(0, RecordType.LOST, true);
    v.setUint16(4, 0, true);
    v.setUint16(6, size, true);
    setU64(v, 8, this.#lostId);
    setU64(v, 16, this.#lost);
    writeSampleId(v, 24, this.#trailer, {
      pid: this.#pid,
      tid: this.#tid,
      time,
      id: this.#lostId,
      cpu: this.#cpu,
    });
    this.#copyIn(pos, this.#tmp, 0, size);
    this.stats.lostReported += this.#lost;
    this.stats.lostRecords++;
    this.#lost = 0;
  }

  #writeSync(pos: number, time: number): void {
    const v = this.#tmpView;
    encodeSyncFields(v, 0, {
      seq: this.#syncSeq,
      time,
      streamOffset: pos,
      prevOffset: this.#lastSync < 0 ? pos : this.#lastSync,
      cpu: this.#cpu,
    });
    v.setUint32(SYNC_CRC_OFFSET, crc32(this.#tmp, 0, SYNC_CRC_OFFSET), true);
    this.#copyIn(pos, this.#tmp, 0, SYNC_RECORD_SIZE);
    this.#syncSeq++;
    this.#lastSync = pos;
    this.stats.syncRecords++;
  }
}
