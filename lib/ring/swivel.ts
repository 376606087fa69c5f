/**
 * Peter Zijlstra's snapshot of a flight recorder: "If you want to snapshot buffers, do that,
 * simply swivel the whole trace buffer, and continue tracing in a new one, then consume the old
 * trace in a consistent manner" (seed L9627-9630; "Snapshot is fine, just swivel the whole
 * buffer", L9669). His answer to reading an overwrite buffer while its writer runs, which he
 * held "plain impossible" to do consistently (L9620).
 *
 * Two `write_backward` rings of the same size (perf's overwrite ring, `writer.ts`) and one
 * control word: bit 0 the active ring, bit 1 BUSY while the writer holds a reservation. The
 * writer takes the active ring at each outermost reservation with one `Atomics.or` (which also
 * sets BUSY) and clears BUSY with `Atomics.and` after the outermost commit, having published the
 * ring's committed count. {@linkcode SwivelReader.swivel} flips the active bit with
 * `compareExchange(word, active, other)`, which succeeds only while BUSY is clear: from then on
 * the writer writes into the other ring and the retired one has no writer, so the reader copies
 * it whole and consistently, with no torn record to detect (unlike `snapshotOverwrite` of a live
 * ring). Nested reservations stay in the ring of their outermost one.
 *
 * Loss accounting is exact, on the reader's side: a retired ring holds the records committed
 * since its previous retirement that its `dataSize` bytes still keep, and its committed count
 * says how many were committed, so `overwritten = committed since then - records taken`.
 *
 * The price Mathieu named (L9961-9972): twice the memory, the inactive ring idle.
 *
 * @module
 */

import { getU64, HEADER_SIZE, RecordType, setU64 } from "../abi/mod.ts";
import { createRingMemory, RingExt, type RingMemory } from "./layout.ts";
import { snapshotOverwrite } from "./reader.ts";
import type { RecordWriter } from "./sample_writer.ts";
import { RingWriter, type RingWriterOptions } from "./writer.ts";

const BUSY = 2;

/** The memory of a swivel flight recorder: two rings and the control word. */
export interface SwivelMemory {
  /** The two `write_backward` rings. */
  readonly rings: readonly [RingMemory, RingMemory];
  /** The control word (bit 0 active ring, bit 1 BUSY), in a buffer of its own. */
  readonly control: Int32Array;
}

/**
 * Allocate a swivel flight recorder.
 *
 * @param dataSize Data bytes of each ring (a power of two >= 4096; the recorder holds twice this).
 * @param options `shared` for SharedArrayBuffers (reader in a Worker).
 * @returns The memory.
 * @throws {RangeError} On an impossible size.
 */
export function createSwivelRing(
  dataSize: number,
  options: { shared?: boolean } = {},
): SwivelMemory {
  const rings: [RingMemory, RingMemory] = [
    createRingMemory(dataSize, { shared: options.shared, overwrite: true }),
    createRingMemory(dataSize, { shared: options.shared, overwrite: true }),
  ];
  const buf = options.shared ? new SharedArrayBuffer(8) : new ArrayBuffer(8);
  return { rings, control: new Int32Array(buf) };
}

/**
 * Attach to a swivel recorder made with `shared` (e.g. in a Worker).
 *
 * @param rings The two rings (from `attachRingMemory`).
 * @param control The control word's buffer.
 * @returns The memory.
 */
export function attachSwivelRing(
  rings: readonly [RingMemory, RingMemory],
  control: SharedArrayBuffer,
): SwivelMemory {
  return { rings, control: new Int32Array(control) };
}

/** The writer side: a {@linkcode RecordWriter} over whichever ring is active. */
export class SwivelWriter implements RecordWriter {
  /** The memory. */
  readonly memory: SwivelMemory;
  /** One ring writer per ring. */
  readonly writers: readonly [RingWriter, RingWriter];
  readonly #control: Int32Array;
  readonly #shared: boolean;
  #cur: RingWriter;
  #ring = 0;
  #nest = 0;
  /** Times the writer found the other ring active at an outermost reservation. */
  switches = 0;

  /**
   * Create the writer.
   *
   * @param memory From {@linkcode createSwivelRing}.
   * @param options Options of both ring writers (no sync points, no sub-buffers: they are
   *   `write_backward` rings).
   */
  constructor(memory: SwivelMemory, options: RingWriterOptions = {}) {
    this.memory = memory;
    this.writers = [
      new RingWriter(memory.rings[0], options),
      new RingWriter(memory.rings[1], options),
    ];
    this.#control = memory.control;
    this.#shared = memory.control.buffer instanceof SharedArrayBuffer;
    this.#cur = this.writers[0];
  }

  /** The active ring's data words (read after each reservation). */
  get dataWords(): Uint32Array {
    return this.#cur.dataWords;
  }

  /** The active ring writer's scratch words. */
  get scratchWords(): Uint32Array {
    return this.#cur.scratchWords;
  }

  /** The ring (both have the same `dataSize`). */
  get ring(): RingMemory {
    return this.#cur.ring;
  }

  /** Index of the ring the writer writes into. */
  get activeRing(): number {
    return this.#ring;
  }

  /** Records committed into both rings. */
  get committed(): number {
    return this.writers[0].stats.committed + this.writers[1].stats.committed;
  }

  /** Reservations attempted in both rings (a `write_backward` ring never drops). */
  get attempted(): number {
    return this.writers[0].stats.attempted + this.writers[1].stats.attempted;
  }

  /**
   * Reserve `size` bytes in the active ring (see `RingWriter.reserve`).
   *
   * @param size Record size.
   * @param time Record time.
   * @returns A handle into {@linkcode dataWords} / {@linkcode scratchWords}.
   */
  reserve(size: number, time?: number): number {
    if (this.#nest === 0) {
      const c = this.#control;
      const s = this.#shared ? Atomics.or(c, 0, BUSY) : c[0];
      if (!this.#shared) c[0] = s | BUSY;
      const k = s & 1;
      if (k !== this.#ring) {
        this.#ring = k;
        this.#cur = this.writers[k];
        this.switches++;
      }
    }
    this.#nest++;
    return this.#cur.reserve(size, time);
  }

  /** Commit the innermost reservation; the outermost publishes and clears BUSY. */
  commit(): void {
    const w = this.#cur;
    w.commit();
    if (--this.#nest > 0) return;
    // the committed count first: the reader reads it once it has retired the ring
    setU64(w.ring.page, RingExt.committed, w.stats.committed);
    if (this.#shared) Atomics.and(this.#control, 0, ~BUSY);
    else this.#control[0] &= ~BUSY;
  }

  /**
   * Reserve, copy and commit a complete record.
   *
   * @param record The record bytes.
   * @param time Its time.
   * @returns True (a `write_backward` ring never drops).
   */
  write(record: Uint8Array, time?: number): boolean {
    const h = this.reserve(record.length, time);
    const w = this.#cur;
    if (h < w.ring.dataSize) w.ring.data.set(record, h);
    else new Uint8Array(w.scratchWords.buffer).set(record, h - w.ring.dataSize);
    this.commit();
    return true;
  }
}

/** What one {@linkcode SwivelReader.swivel} took from the retired ring. */
export interface SwivelTake {
  /** Index of the retired ring. */
  ring: number;
  /** Its records committed since its previous retirement that it still held, oldest first. */
  bytes: Uint8Array;
  /** Data records in `bytes`. */
  records: number;
  /** Records committed into it since its previous retirement and overwritten before this one. */
  overwritten: number;
  /**
   * Position of `bytes[0]` in the CPU's stream: bytes written into both rings before it, so the
   * stream skips exactly the overwritten bytes.
   */
  position: number;
}

/** The reader side: retires the active ring and copies it. */
export class SwivelReader {
  /** The memory. */
  readonly memory: SwivelMemory;
  /** Per ring: bytes written backwards at its last retirement, and records committed then. */
  readonly #taken: [{ head: number; committed: number }, { head: number; committed: number }] = [
    { head: 0, committed: 0 },
    { head: 0, committed: 0 },
  ];
  #written = 0;
  /** Data records taken so far. */
  records = 0;
  /** Records overwritten before a swivel took them, so far. */
  overwritten = 0;
  /** Swivels that found the writer busy and retried. */
  retries = 0;

  /**
   * Create the reader.
   *
   * @param memory The recorder's memory.
   */
  constructor(memory: SwivelMemory) {
    this.memory = memory;
  }

  /**
   * Swivel: make the other ring active (waiting while the writer holds a reservation), then copy
   * the retired one, which no writer touches any more.
   *
   * @param maxSpins Attempts while the writer is busy before giving up (default: no limit).
   * @returns What the retired ring held, or undefined when the writer stayed busy.
   */
  swivel(maxSpins = Infinity): SwivelTake | undefined {
    const c = this.memory.control;
    let old = -1;
    for (let i = 0; i < maxSpins; i++) {
      const s = Atomics.load(c, 0);
      if ((s & BUSY) === 0 && Atomics.compareExchange(c, 0, s, s ^ 1) === s) {
        old = s & 1;
        break;
      }
      this.retries++;
    }
    if (old < 0) return undefined;
    return this.#take(old);
  }

  #take(k: number): SwivelTake {
    const ring = this.memory.rings[k];
    const prev = this.#taken[k];
    const committed = getU64(ring.page, RingExt.committed);
    const snap = snapshotOverwrite(ring);
    const head = snap.head;
    // the newest bytes it holds, less those taken at its previous retirement
    const start = snap.head - snap.bytes.length;
    const skip = Math.max(0, prev.head - start);
    const bytes = snap.bytes.subarray(skip);
    const records = countData(bytes);
    const overwritten = committed - prev.committed - records;
    const epochBytes = head - prev.head;
    const position = this.#written + epochBytes - bytes.length;
    this.#written += epochBytes;
    this.#taken[k] = { head, committed };
    this.records += records;
    this.overwritten += overwritten;
    return { ring: k, bytes, records, overwritten, position };
  }
}

/** Data records (PAD excluded) in back-to-back record bytes. */
function countData(b: Uint8Array): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let n = 0;
  for (let p = 0; p + HEADER_SIZE <= b.length;) {
    if (v.getUint32(p, true) !== RecordType.CALLRING_PAD) n++;
    p += v.getUint16(p + 6, true);
  }
  return n;
}
