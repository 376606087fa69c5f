/**
 * Ring readers.
 *
 * - {@linkcode RingReader} consumes a producer/consumer ring the way
 *   `perf_mmap__read` does: load `data_head`, read records up to it (copying a
 *   record that straddles the end of the data area into a private buffer, like
 *   perf's `event_copy`), then store `data_tail` to give the room back.
 * - {@linkcode snapshotOverwrite} reads a write-backward (flight recorder)
 *   ring from `data_head` (newest record) towards older records, and proves
 *   each copied record intact by re-reading the writer's reserve position
 *   after the copy (a seqlock-style check): a record whose bytes the writer may
 *   have reached since the read started is discarded together with everything
 *   older, so a torn or half-overwritten record is never returned, even while
 *   the writer keeps running.
 *
 * @module
 */

import { FormatError, HEADER_SIZE, RecordType } from "../abi/mod.ts";
import {
  loadBackwardWritten,
  loadClosed,
  loadCounter,
  loadHead,
  loadTail,
  loadTailPush,
  RingExt,
  type RingMemory,
  storeTail,
} from "./layout.ts";

/** Called for each record; `view`/`offset` are only valid during the call. */
export type RecordCallback = (
  view: DataView,
  offset: number,
  size: number,
  position: number,
) => void;

/** Consumer of a producer/consumer ring. */
export class RingReader {
  /** The ring memory. */
  readonly ring: RingMemory;
  readonly #copy = new Uint8Array(0x10000);
  readonly #copyView = new DataView(this.#copy.buffer);
  /** Records handed out so far. */
  records = 0;
  /** Bytes consumed so far. */
  bytes = 0;

  /**
   * Create a consumer.
   *
   * @param ring Ring memory (possibly attached in a Worker).
   */
  constructor(ring: RingMemory) {
    if (ring.overwrite || ring.tailPush) {
      throw new RangeError(
        "Cannot consume an overwrite ring: use snapshotOverwrite or TailPushReader",
      );
    }
    this.ring = ring;
  }

  /** The consumer position (`data_tail`). */
  get tail(): number {
    return loadTail(this.ring);
  }

  /**
   * Hand out the raw bytes between `data_tail` and `data_head` (one or two
   * pieces when they wrap), then advance `data_tail`.
   *
   * @param sink Receives each piece and its stream position; the bytes view
   *   the ring and must be copied before returning.
   * @returns Bytes drained.
   */
  drain(sink: (bytes: Uint8Array, position: number) => void): number {
    return this.#drainTo(sink, loadHead(this.ring));
  }

  /**
   * Like {@linkcode drain}, but only up to the end of the last closed sub-buffer: the reader of a
   * header-padded sub-buffer ring takes whole sub-buffers (the open one's `used` is not written
   * yet).
   *
   * @param sink Receives each piece and its stream position.
   * @returns Bytes drained.
   */
  drainClosed(sink: (bytes: Uint8Array, position: number) => void): number {
    return this.#drainTo(sink, Math.min(loadHead(this.ring), loadClosed(this.ring)));
  }

  #drainTo(sink: (bytes: Uint8Array, position: number) => void, head: number): number {
    const m = this.ring;
    const tail = loadTail(m);
    const n = head - tail;
    if (n <= 0) return 0;
    const off = (tail >>> 0) & m.mask;
    const first = Math.min(n, m.dataSize - off);
    sink(m.data.subarray(off, off + first), tail);
    if (first < n) sink(m.data.subarray(0, n - first), tail + first);
    storeTail(m, head);
    this.bytes += n;
    return n;
  }

  /**
   * Hand out every record between `data_tail` and `data_head`, then advance `data_tail`.
   *
   * @param onRecord Called per record with a view, offset, size and stream position.
   * @returns Records read.
   * @throws {FormatError} When a header is impossible (size 0, unaligned, or past `data_head`);
   *   the offset in the error is the record's stream position.
   */
  read(onRecord: RecordCallback): number {
    const m = this.ring;
    const head = loadHead(m);
    let pos = loadTail(m);
    const start = pos;
    const dv = m.dataView;
    let n = 0;
    while (pos < head) {
      const off = (pos >>> 0) & m.mask;
      const size = dv.getUint16(off + 6, true);
      if (size < HEADER_SIZE || (size & 7) !== 0 || pos + size > head) {
        throw new FormatError(
          `Cannot read ring record: impossible size ${size} (data_head ${head})`,
          pos,
          "ring",
        );
      }
      if (off + size <= m.dataSize) {
        onRecord(dv, off, size, pos);
      } else {
        const first = m.dataSize - off;
        this.#copy.set(m.data.subarray(off, m.dataSize), 0);
        this.#copy.set(m.data.subarray(0, size - first), first);
        onRecord(this.#copyView, 0, size, pos);
      }
      pos += size;
      n++;
    }
    storeTail(m, pos);
    this.records += n;
    this.bytes += pos - start;
    return n;
  }
}

/** Result of {@linkcode snapshotOverwrite}. */
export interface OverwriteSnapshot {
  /** The intact records, oldest first, back to back. */
  bytes: Uint8Array;
  /** Number of records in `bytes`. */
  records: number;
  /** Bytes written backwards (`-data_head`) when the snapshot started. */
  head: number;
  /** True when the walk stopped at a record the writer may have overwritten during the read. */
  stoppedAtOverwrite: boolean;
}

/** Options of {@linkcode snapshotOverwrite}. */
export interface SnapshotOptions {
  /** Test hook called after each header read and each body copy (a writer may run there). */
  onStep?: (step: "header" | "copied") => void;
}

/**
 * Copy the intact records of a write-backward ring, newest first, and return
 * them oldest first. The writer may run concurrently (another thread, or the
 * `onStep` hook): every record is validated after its copy.
 *
 * @param ring Ring memory of an overwrite ring.
 * @param options Hooks.
 * @returns The snapshot.
 * @throws {RangeError} When the ring is not an overwrite ring.
 *
 * @example
 * ```ts
 * import { createRingMemory } from "./layout.ts";
 * import { RingWriter } from "./writer.ts";
 * import { snapshotOverwrite } from "./reader.ts";
 * const ring = createRingMemory(4096, { overwrite: true });
 * const w = new RingWriter(ring);
 * for (let i = 0; i < 1000; i++) w.write(new Uint8Array([1, 0, 0, 0, 0, 0, 16, 0, i & 255, 0, 0, 0, 0, 0, 0, 0]));
 * console.log(snapshotOverwrite(ring).records); // 256 (the newest 4096 bytes)
 * ```
 */
export function snapshotOverwrite(
  ring: RingMemory,
  options: SnapshotOptions = {},
): OverwriteSnapshot {
  if (!ring.overwrite) {
    throw new RangeError("Cannot snapshot a consume-mode ring as overwrite ring");
  }
  const words = ring.pageWords;
  const committed = loadBackwardWritten(words);
  const size = ring.dataSize;
  const dv = ring.dataView;
  const out = new Uint8Array(Math.min(size, committed));
  // Records are collected newest first at the end of `out` growing downwards,
  // which yields oldest-first order without a second pass.
  let outStart = out.length;
  let p = 0;
  let records = 0;
  let stoppedAtOverwrite = false;
  const hook = options.onStep;
  while (p + HEADER_SIZE <= size && p < committed) {
    const off = ((-committed + p) >>> 0) & ring.mask;
    const recSize = dv.getUint16(off + 6, true);
    hook?.("header");
    if (
      recSize < HEADER_SIZE || (recSize & 7) !== 0 || p + recSize > size || p + recSize > committed
    ) {
      // Never-written space, the wrap point, or a header torn by the writer:
      // all are the end of what can be trusted (the check below decides which).
      stoppedAtOverwrite = !intact(
        words,
        committed,
        p,
        recSize < HEADER_SIZE ? HEADER_SIZE : recSize,
        size,
      );
      break;
    }
    if (recSize > outStart) break;
    const dst = outStart - recSize;
    const first = Math.min(recSize, size - off);
    out.set(ring.data.subarray(off, off + first), dst);
    if (first < recSize) out.set(ring.data.subarray(0, recSize - first), dst + first);
    hook?.("copied");
    if (!intact(words, committed, p, recSize, size)) {
      stoppedAtOverwrite = true;
      break;
    }
    outStart = dst;
    p += recSize;
    records++;
  }
  return { bytes: out.slice(outStart), records, head: committed, stoppedAtOverwrite };
}

/** A record at distance `p` from the committed head is intact while the writer has not reserved into it. */
function intact(
  words: Int32Array,
  committed: number,
  p: number,
  recSize: number,
  size: number,
): boolean {
  const reserved = loadCounter(words, RingExt.reserveSeq, RingExt.reserve);
  return reserved - committed + p + recSize <= size;
}

/** Result of one {@linkcode TailPushReader.snapshot}. */
export interface TailPushSnapshot {
  /** The intact records read this time, oldest first, back to back. */
  bytes: Uint8Array;
  /** Stream position of `bytes[0]`. */
  position: number;
  /** Data records in `bytes` (LOST and PAD records excluded). */
  records: number;
  /**
   * Data records the writer pushed out before this reader read them (this snapshot), plus the
   * drops reported by LOST records pushed out unread.
   */
  overwritten: number;
  /** True when records copied were pushed out during the copy (discarded, counted next time). */
  stoppedAtOverwrite: boolean;
}

/**
 * Reader of a tail-push overwrite ring while its writer keeps running (Masami's and Mathieu's
 * case against Peter's "I don't consider reading while writing (in overwrite mode) a valid
 * case", seed L9247): each snapshot copies the records from where it stopped (or from
 * `data_tail`, when the writer pushed past it) to `data_head`, then re-reads `data_tail`;
 * records the tail passed during the copy may be torn and are discarded. Loss is exact: the
 * writer publishes, with `data_tail`, how many data records lie before it, so every record is
 * either read once or counted in `overwritten` once.
 */
export class TailPushReader {
  /** The ring memory. */
  readonly ring: RingMemory;
  #pos = 0;
  #before = 0;
  /** Data records read so far. */
  records = 0;
  /** Data records overwritten before being read, so far. */
  overwritten = 0;

  /**
   * Create the reader.
   *
   * @param ring Ring memory of a tail-push ring.
   * @throws {RangeError} When the ring is not a tail-push ring.
   */
  constructor(ring: RingMemory) {
    if (!ring.tailPush) throw new RangeError("Cannot read a ring without tail-push as one");
    this.ring = ring;
  }

  /**
   * Copy what was written since the last snapshot.
   *
   * @param onStep Test hook called after the copy (a writer may run there).
   * @returns The snapshot.
   * @throws {FormatError} On an impossible record header inside the copied range.
   */
  snapshot(onStep?: () => void): TailPushSnapshot {
    const m = this.ring;
    const head = loadHead(m);
    const [tail, pushed] = loadTailPush(m);
    let overwritten = 0;
    if (tail > this.#pos) {
      overwritten = pushed - this.#before;
      this.#pos = tail;
      this.#before = pushed;
    }
    const start = this.#pos;
    const n = head - start;
    const out = new Uint8Array(Math.max(0, n));
    const off = (start >>> 0) & m.mask;
    const first = Math.min(n, m.dataSize - off);
    if (n > 0) {
      out.set(m.data.subarray(off, off + first), 0);
      if (first < n) out.set(m.data.subarray(0, n - first), first);
    }
    onStep?.();
    const [tail2] = loadTailPush(m);
    const v = new DataView(out.buffer);
    let p = 0;
    let records = 0;
    let lostRead = 0;
    // records wholly at or after tail2 were not touched by the writer during the copy
    while (p < n) {
      const size = v.getUint16(p + 6, true);
      if (start + p < tail2) {
        // pushed during the copy: maybe torn; skip by the writer's own boundaries next time
        break;
      }
      if (size < HEADER_SIZE || (size & 7) !== 0 || p + size > n) {
        throw new FormatError(
          `Cannot read ring record: impossible size ${size}`,
          start + p,
          "ring",
        );
      }
      const type = v.getUint32(p, true);
      if (type === RecordType.LOST) {
        lostRead += v.getUint32(p + 16, true) + v.getUint32(p + 20, true) * 2 ** 32;
      } else if (type !== RecordType.CALLRING_PAD) records++;
      p += size;
    }
    this.#pos = start + p;
    // the writer counts a LOST record it pushes out by the drops it reports: so does the reader
    this.#before += records + lostRead;
    this.records += records;
    this.overwritten += overwritten;
    return {
      bytes: out.subarray(0, p),
      position: start,
      records,
      overwritten,
      stoppedAtOverwrite: p < n,
    };
  }
}
