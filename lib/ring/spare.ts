/**
 * Mathieu Desnoyers' flight recorder: a ring of sub-buffers reached through a page table, plus
 * one spare sub-buffer owned by the reader, which it exchanges for the oldest full one while the
 * writer keeps running:
 *
 * > "the sub-buffer scheme only needs a single buffer with 2 (or more) sub-buffers, plus an extra
 * > sub-buffer owned by the reader that we exchange with the sub-buffer we want to grab for
 * > reading. The reader always grabs the sub-buffer with the oldest data into it. The number of
 * > sub-buffers used is the limit on the number of snapshots that can be taken in a relatively
 * > short time window" (seed L9883-9890)
 *
 * and, for why a table rather than ftrace's list, "it allows to pick a random page (or
 * subbuffer) in the buffer without walking over all pages" (L10580-10583), which is also what
 * makes newest-first reading ({@linkcode SpareSubbufReader.takeNewest}) cheap.
 *
 * Layout: `subbufs + 1` physical sub-buffers of `subbufSize` bytes in one (Shared)ArrayBuffer,
 * a table mapping each of the `subbufs` logical slots to a physical one, and the writer's current
 * slot. Every sub-buffer starts with a header-padded `CALLRING_SUBBUF` header (`subbuf.ts`)
 * whose `used` / `records` are written when it closes; its stream offset is the sub-buffer's
 * sequence number times its size, so a capture sees one stream with gaps where sub-buffers were
 * overwritten.
 *
 * Exchange protocol (lock-free, `Atomics` on shared memory): the writer marks the slot it is
 * entering BUSY with `Atomics.or` and learns which physical buffer it got; the reader swaps a
 * slot only with `compareExchange(table[slot], phys, spare)` where `phys` is not BUSY, so exactly
 * one of them wins each race. The writer clears BUSY when it leaves a slot and no reservation in
 * it is open.
 *
 * Loss accounting is exact and on the writer's side: entering a slot whose physical buffer still
 * holds a closed, untaken sub-buffer overwrites its `records`, counted in `stats.overwritten`; the
 * reader zeroes the header of each buffer it hands back, so a taken sub-buffer is never counted.
 *
 * @module
 */

import {
  decodeSubbufFields,
  encodeSubbufFields,
  SUBBUF_HEADER_SIZE,
  SubbufPadding,
} from "../abi/extensions.ts";
import { setU64 } from "../abi/mod.ts";
import { sealSubbufHeader, SubbufOversizeError, validSubbufAt } from "./subbuf.ts";
import type { RecordWriter } from "./sample_writer.ts";

const BUSY = 1 << 30;
const CONTROL_WORDS = 4;
const CUR = 0;
const SPARE = 1;

/** The memory of a spare-sub-buffer ring. */
export interface SpareRingMemory {
  /** The whole buffer: control words, table, sub-buffers. */
  buffer: ArrayBuffer | SharedArrayBuffer;
  /** Logical sub-buffers the writer cycles through. */
  subbufs: number;
  /** Bytes per sub-buffer. */
  subbufSize: number;
  /** Control words: current slot, reader's spare. */
  control: Int32Array;
  /** Logical slot -> physical sub-buffer (BUSY bit while the writer is in it). */
  table: Int32Array;
  /** The `subbufs + 1` physical sub-buffers. */
  data: Uint8Array;
  /** View of `data`. */
  view: DataView;
}

/**
 * Allocate a spare-sub-buffer ring.
 *
 * @param subbufs Logical sub-buffers (>= 2).
 * @param subbufSize Bytes per sub-buffer (a power of two >= 256).
 * @param options `shared` for a SharedArrayBuffer (reader in a Worker).
 * @returns The memory.
 * @throws {RangeError} On impossible sizes.
 */
export function createSpareRing(
  subbufs: number,
  subbufSize: number,
  options: { shared?: boolean } = {},
): SpareRingMemory {
  if (!Number.isInteger(subbufs) || subbufs < 2 || subbufs > 65536) {
    throw new RangeError(`Cannot create spare ring: need 2..65536 sub-buffers: current ${subbufs}`);
  }
  if (subbufSize < 256 || subbufSize > 1 << 26 || (subbufSize & (subbufSize - 1)) !== 0) {
    throw new RangeError(
      `Cannot create spare ring: sub-buffer size must be a power of two in [256, 2^26]: current ${subbufSize}`,
    );
  }
  const head = (CONTROL_WORDS + subbufs) * 4;
  const base = (head + 7) & ~7;
  const total = base + (subbufs + 1) * subbufSize;
  const buffer = options.shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
  const control = new Int32Array(buffer, 0, CONTROL_WORDS);
  const table = new Int32Array(buffer, CONTROL_WORDS * 4, subbufs);
  for (let i = 0; i < subbufs; i++) table[i] = i;
  control[CUR] = -1;
  control[SPARE] = subbufs;
  const data = new Uint8Array(buffer, base, (subbufs + 1) * subbufSize);
  return {
    buffer,
    subbufs,
    subbufSize,
    control,
    table,
    data,
    view: new DataView(buffer, base, data.length),
  };
}

/**
 * Attach to a spare-sub-buffer ring made by {@linkcode createSpareRing} with `shared` (e.g. in a
 * Worker that received its SharedArrayBuffer).
 *
 * @param buffer The ring's buffer.
 * @param subbufs Logical sub-buffers it was created with.
 * @param subbufSize Bytes per sub-buffer it was created with.
 * @returns The memory.
 * @throws {RangeError} When the buffer is too small for the sizes.
 */
export function attachSpareRing(
  buffer: ArrayBuffer | SharedArrayBuffer,
  subbufs: number,
  subbufSize: number,
): SpareRingMemory {
  const base = ((CONTROL_WORDS + subbufs) * 4 + 7) & ~7;
  const size = (subbufs + 1) * subbufSize;
  if (base + size > buffer.byteLength) {
    throw new RangeError(`Cannot attach spare ring: ${buffer.byteLength} bytes are too few`);
  }
  const data = new Uint8Array(buffer, base, size);
  return {
    buffer,
    subbufs,
    subbufSize,
    control: new Int32Array(buffer, 0, CONTROL_WORDS),
    table: new Int32Array(buffer, CONTROL_WORDS * 4, subbufs),
    data,
    view: new DataView(buffer, base, size),
  };
}

/** Counters of a {@linkcode SpareSubbufWriter}. */
export interface SpareWriterStats {
  /** Records the caller tried to reserve. */
  attempted: number;
  /** Records committed. */
  committed: number;
  /** Records in closed sub-buffers the writer overwrote before the reader took them. */
  overwritten: number;
  /** Sub-buffers opened. */
  subbufs: number;
  /** Unused bytes at the ends of closed sub-buffers. */
  paddingBytes: number;
}

/** The writer of a spare-sub-buffer ring (one per CPU). */
export class SpareSubbufWriter implements RecordWriter {
  /** The memory. */
  readonly memory: SpareRingMemory;
  /** Counters. */
  readonly stats: SpareWriterStats = {
    attempted: 0,
    committed: 0,
    overwritten: 0,
    subbufs: 0,
    paddingBytes: 0,
  };
  /** The physical sub-buffers as u32 words (handles are byte offsets into them). */
  readonly dataWords: Uint32Array;
  /** Never used: records do not cross sub-buffers. */
  readonly scratchWords: Uint32Array = new Uint32Array(0);
  /** Handles are below this. */
  readonly ring: { readonly dataSize: number };
  readonly #cpu: number;
  readonly #sb: number;
  #slot = -1;
  #phys = -1;
  #used = 0;
  #records = 0;
  #seq = 0;
  #lastTime = 0;
  #nest = 0;
  /** Slots whose BUSY bit waits for the outermost commit. */
  readonly #release: number[] = [];

  /**
   * Create the writer.
   *
   * @param memory The ring memory.
   * @param cpu CPU written into the headers.
   */
  constructor(memory: SpareRingMemory, cpu = 0) {
    this.memory = memory;
    this.#cpu = cpu;
    this.#sb = memory.subbufSize;
    this.dataWords = new Uint32Array(
      memory.data.buffer,
      memory.data.byteOffset,
      memory.data.length >> 2,
    );
    this.ring = { dataSize: memory.data.length };
  }

  /** Bytes written so far in sub-buffer stream coordinates (sequence x size + used). */
  get position(): number {
    return this.#slot < 0 ? 0 : (this.#seq - 1) * this.#sb + this.#used;
  }

  /**
   * Reserve `size` bytes in the current sub-buffer, switching to the next one when it does not
   * fit (overwriting it if the reader has not taken it).
   *
   * @param size Record size (a multiple of 8).
   * @param time Record time.
   * @returns A byte offset into `dataWords`' buffer (never -1: a flight recorder never drops).
   * @throws {SubbufOversizeError} When the record cannot fit in one sub-buffer.
   */
  reserve(size: number, time = this.#lastTime): number {
    if (size + SUBBUF_HEADER_SIZE > this.#sb) throw new SubbufOversizeError(size, this.#sb);
    if ((size & 7) !== 0 || size < 8) {
      throw new RangeError(`Cannot reserve ${size} bytes: must be a multiple of 8`);
    }
    this.stats.attempted++;
    if (this.#slot < 0 || this.#used + size > this.#sb) this.#switch(time);
    const off = this.#phys * this.#sb + this.#used;
    this.#used += size;
    this.#records++;
    this.#lastTime = time;
    this.#nest++;
    return off;
  }

  /** Finish the innermost reservation. @throws {RangeError} When none is open. */
  commit(): void {
    if (this.#nest === 0) throw new RangeError("Cannot commit: no open reservation");
    this.#nest--;
    this.stats.committed++;
    if (this.#nest === 0 && this.#release.length > 0) {
      for (const slot of this.#release) Atomics.and(this.memory.table, slot, ~BUSY);
      this.#release.length = 0;
    }
  }

  /**
   * Reserve, copy and commit a record.
   *
   * @param record The record bytes.
   * @param time Record time.
   * @returns True (a flight recorder does not drop).
   */
  write(record: Uint8Array, time = this.#lastTime): boolean {
    const h = this.reserve(record.length, time);
    this.memory.data.set(record, h);
    this.commit();
    return true;
  }

  /**
   * Close the current sub-buffer so the reader can take it (LTTng's "switch"), e.g. at the end.
   *
   * @returns False when a reservation is open.
   */
  flush(): boolean {
    if (this.#nest !== 0) return false;
    if (this.#slot >= 0) this.#close();
    return true;
  }

  #close(): void {
    const m = this.memory;
    const off = this.#phys * this.#sb;
    setU64(m.view, off + 24, this.#lastTime);
    m.view.setUint32(off + 36, this.#used, true);
    m.view.setUint32(off + 40, this.#records, true);
    sealSubbufHeader(m.data, off);
    this.stats.paddingBytes += this.#sb - this.#used;
    const slot = this.#slot;
    this.#slot = -1;
    Atomics.store(m.control, CUR, -1);
    if (this.#nest === 0) Atomics.and(m.table, slot, ~BUSY);
    else this.#release.push(slot);
    this.#nextSlot = (slot + 1) % m.subbufs;
  }

  #nextSlot = 0;

  #switch(time: number): void {
    const m = this.memory;
    if (this.#slot >= 0) this.#close();
    const slot = this.#nextSlot;
    Atomics.store(m.control, CUR, slot);
    const phys = Atomics.or(m.table, slot, BUSY) & ~BUSY;
    const off = phys * this.#sb;
    const old = validSubbufAt(
      m.view,
      off,
      m.view.getUint32(off + 8, true) + m.view.getUint32(off + 12, true) * 2 ** 32,
    );
    if (old && old.used > 0) this.stats.overwritten += old.records;
    encodeSubbufFields(m.view, off, {
      padding: SubbufPadding.HEADER,
      streamOffset: this.#seq * this.#sb,
      startTime: time,
      endTime: 0,
      size: this.#sb,
      used: 0,
      records: 0,
      cpu: this.#cpu,
    });
    sealSubbufHeader(m.data, off);
    this.#seq++;
    this.#slot = slot;
    this.#phys = phys;
    this.#used = SUBBUF_HEADER_SIZE;
    this.#records = 0;
    this.stats.subbufs++;
  }
}

/** A sub-buffer the reader took. */
export interface TakenSubbuf {
  /** The used bytes (header included), copied. */
  bytes: Uint8Array;
  /** Its stream offset (sequence x size). */
  position: number;
  /** Records after the header. */
  records: number;
  /** First and last record times. */
  startTime: number;
  /** Time of the last record. */
  endTime: number;
}

/** The reader of a spare-sub-buffer ring: exchanges its spare for closed sub-buffers. */
export class SpareSubbufReader {
  /** The memory. */
  readonly memory: SpareRingMemory;
  /** Sub-buffers taken. */
  taken = 0;
  /** Records taken. */
  records = 0;
  /** Exchanges lost to the writer (it entered the slot first). */
  raced = 0;

  /**
   * Create the reader.
   *
   * @param memory The ring memory (possibly attached in a Worker).
   */
  constructor(memory: SpareRingMemory) {
    this.memory = memory;
  }

  #closedSlots(): { slot: number; phys: number; position: number }[] {
    const m = this.memory;
    const out: { slot: number; phys: number; position: number }[] = [];
    for (let slot = 0; slot < m.subbufs; slot++) {
      const v = Atomics.load(m.table, slot);
      if (v & BUSY) continue;
      const off = v * m.subbufSize;
      const pos = m.view.getUint32(off + 8, true) + m.view.getUint32(off + 12, true) * 2 ** 32;
      const h = validSubbufAt(m.view, off, pos);
      if (h && h.used > 0) out.push({ slot, phys: v, position: pos });
    }
    return out.sort((a, b) => a.position - b.position);
  }

  #exchange(c: { slot: number; phys: number }): TakenSubbuf | undefined {
    const m = this.memory;
    const spare = Atomics.load(m.control, SPARE);
    if (Atomics.compareExchange(m.table, c.slot, c.phys, spare) !== c.phys) {
      this.raced++;
      return undefined;
    }
    Atomics.store(m.control, SPARE, c.phys);
    const off = c.phys * m.subbufSize;
    const h = decodeSubbufFields(m.view, off);
    const bytes = m.data.slice(off, off + h.used);
    // hand-back state: an empty buffer, so the writer never counts it as overwritten
    m.data.fill(0, off, off + SUBBUF_HEADER_SIZE);
    this.taken++;
    this.records += h.records;
    return {
      bytes,
      position: h.streamOffset,
      records: h.records,
      startTime: h.startTime,
      endTime: h.endTime,
    };
  }

  /**
   * Take the oldest closed sub-buffer ("The reader always grabs the sub-buffer with the oldest
   * data into it", L9885-9886).
   *
   * @returns It, or undefined when none is closed.
   */
  takeOldest(): TakenSubbuf | undefined {
    for (const c of this.#closedSlots()) {
      const t = this.#exchange(c);
      if (t) return t;
    }
    return undefined;
  }

  /**
   * Take the newest closed sub-buffer (reading a flight recorder newest first, L10575-10580).
   *
   * @returns It, or undefined when none is closed.
   */
  takeNewest(): TakenSubbuf | undefined {
    const all = this.#closedSlots();
    for (let i = all.length - 1; i >= 0; i--) {
      const t = this.#exchange(all[i]);
      if (t) return t;
    }
    return undefined;
  }

  /**
   * Snapshot: take every closed sub-buffer, oldest first, while the writer may keep running.
   *
   * @returns The sub-buffers taken.
   */
  snapshot(): TakenSubbuf[] {
    const out: TakenSubbuf[] = [];
    for (const c of this.#closedSlots()) {
      const t = this.#exchange(c);
      if (t) out.push(t);
    }
    return out;
  }
}
