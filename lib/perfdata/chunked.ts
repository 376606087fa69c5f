/**
 * Chunked input: a reused buffer over a file or stream that keeps at least
 * one whole record (at most 64 KiB) contiguous, so records spanning read
 * boundaries are handled without reading the input whole.
 *
 * @module
 */

/** Anything with a `read` like `Deno.FsFile` (fills `p`, returns bytes read or null at EOF). */
export interface ByteReader {
  /**
   * Read up to `p.length` bytes.
   *
   * @param p The buffer to fill.
   * @returns Bytes read, or null at end of input.
   */
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Optional synchronous read (regular files: from the page cache this
   * avoids a round trip through the event loop per chunk).
   *
   * @param p The buffer to fill.
   * @returns Bytes read, or null at end of input.
   */
  readSync?(p: Uint8Array): number | null;
}

/** Default read granularity: 1 MiB. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;
/** Largest record (u16 size). */
export const MAX_RECORD_SIZE = 0xffff;

/**
 * Adapt a `ReadableStream<Uint8Array>` to a {@linkcode ByteReader}.
 *
 * @param stream The stream.
 * @returns A reader that copies stream chunks into the caller's buffer.
 */
export function readerFromStream(stream: ReadableStream<Uint8Array>): ByteReader & {
  cancel(): void;
} {
  const reader = stream.getReader();
  let pending: Uint8Array | undefined;
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (!pending || pending.length === 0) {
        const { value, done } = await reader.read();
        if (done) return null;
        pending = value;
      }
      const n = Math.min(p.length, pending.length);
      p.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
    cancel(): void {
      reader.cancel().catch(() => {});
    },
  };
}

/**
 * One buffer of a {@linkcode ChunkedInput}. Code that keeps pointing into the
 * buffer after the input moves on (records queued for reordering) pins it with
 * {@linkcode ChunkedInput.pin} and hands it back with
 * {@linkcode ChunkedInput.release}; a pinned buffer is never overwritten.
 */
export interface InputChunk {
  /** Its number (see {@linkcode ChunkedInput.chunkById}). */
  readonly id: number;
  /** The buffer. */
  readonly bytes: Uint8Array;
  /** DataView over {@linkcode InputChunk.bytes}. */
  readonly view: DataView;
  /** Number of pins. */
  refs: number;
}

/** Free buffers kept for reuse (beyond the current one). */
const POOL_SIZE = 16;

/**
 * A window over an input read in chunks into a reused buffer. `view` and
 * `bytes` are stable until the next {@linkcode ChunkedInput.ensure}. While
 * the current buffer is pinned, compaction moves the unconsumed tail into
 * another buffer (taken from a small pool) instead of overwriting it.
 */
export class ChunkedInput {
  readonly #reader: ByteReader;
  readonly #chunkSize: number;
  readonly #pool: InputChunk[] = [];
  /** Every buffer in use or pooled, by id (ids are never reused; dropped ones are undefined). */
  readonly #byId: (InputChunk | undefined)[] = [];
  /** The current buffer and its pin count. */
  chunk: InputChunk;
  /** The current buffer (its identity changes when the buffer is pinned or a larger one is needed). */
  bytes: Uint8Array;
  /** DataView over {@linkcode ChunkedInput.bytes}. */
  view: DataView;
  /** Offset in `bytes` of the first unconsumed byte. */
  start = 0;
  /** Offset in `bytes` just past the buffered data. */
  end = 0;
  /** Input offset of `bytes[start]`. */
  position: number;
  #limit: number;
  #eof = false;
  /** Total bytes read from the input. */
  bytesRead = 0;

  /**
   * Create a window over an input.
   *
   * @param reader The input.
   * @param chunkSize Read granularity in bytes (>= 1).
   * @param position Input offset of the first byte the reader returns.
   * @param limit Maximum bytes to read (Infinity for streams).
   */
  constructor(reader: ByteReader, chunkSize: number, position = 0, limit = Infinity) {
    if (!(chunkSize >= 1)) throw new RangeError(`chunkSize must be >= 1: current ${chunkSize}`);
    this.#reader = reader;
    this.#chunkSize = Math.floor(chunkSize);
    this.chunk = this.#newChunk();
    this.bytes = this.chunk.bytes;
    this.view = this.chunk.view;
    this.position = position;
    this.#limit = limit;
  }

  #newChunk(): InputChunk {
    const bytes = new Uint8Array(this.#chunkSize + MAX_RECORD_SIZE + 8);
    const id = this.#byId.length;
    const chunk = { id, bytes, view: new DataView(bytes.buffer), refs: 0 };
    this.#byId[id] = chunk;
    return chunk;
  }

  /**
   * A buffer by its id (while it is pinned or current).
   *
   * @param id The id.
   * @returns The buffer.
   */
  chunkById(id: number): InputChunk {
    return this.#byId[id]!;
  }

  /**
   * Pin the current buffer: its bytes stay as they are until every pin is released.
   *
   * @returns The pinned buffer.
   */
  pin(): InputChunk {
    const c = this.chunk;
    c.refs++;
    return c;
  }

  /**
   * Release one pin of a buffer returned by {@linkcode ChunkedInput.pin}.
   *
   * @param chunk The buffer.
   */
  release(chunk: InputChunk): void {
    if (--chunk.refs !== 0 || chunk === this.chunk) return;
    if (this.#pool.length < POOL_SIZE) this.#pool.push(chunk);
    else this.#byId[chunk.id] = undefined;
  }

  /** Move the unconsumed bytes to the start of a buffer that nobody points into. */
  #compact(): void {
    const cur = this.chunk;
    if (cur.refs === 0) {
      this.bytes.copyWithin(0, this.start, this.end);
    } else {
      const next = this.#pool.pop() ?? this.#newChunk();
      next.bytes.set(this.bytes.subarray(this.start, this.end));
      this.chunk = next;
      this.bytes = next.bytes;
      this.view = next.view;
    }
    this.end -= this.start;
    this.start = 0;
  }

  /** Buffered bytes not yet consumed. */
  get available(): number {
    return this.end - this.start;
  }

  #read(): number | null | Promise<number | null> {
    const room = Math.min(this.#chunkSize, this.bytes.length - this.end, this.#limit);
    const p = this.bytes.subarray(this.end, this.end + room);
    const reader = this.#reader;
    return reader.readSync !== undefined ? reader.readSync(p) : reader.read(p);
  }

  /**
   * Make `n` bytes (n <= 65543) available at `start`, reading as needed.
   *
   * @param n Bytes wanted.
   * @returns False when the input ends first.
   */
  async ensure(n: number): Promise<boolean> {
    if (this.end - this.start >= n) return true;
    if (n > this.bytes.length) throw new RangeError(`Cannot buffer ${n} bytes`);
    if (this.start + n > this.bytes.length) this.#compact();
    while (this.end - this.start < n) {
      if (this.#eof || this.#limit <= 0) return false;
      const got = await this.#read();
      if (got === null) {
        this.#eof = true;
        return false;
      }
      this.end += got;
      this.#limit -= got;
      this.bytesRead += got;
    }
    return true;
  }

  /**
   * Read one more chunk (compacting first), for bulk walkers that consume
   * every complete record in the buffer and then ask for more.
   *
   * @returns False at the end of the input.
   */
  async fill(): Promise<boolean> {
    if (this.start > 0) this.#compact();
    if (this.#eof || this.#limit <= 0 || this.end >= this.bytes.length) return false;
    const got = await this.#read();
    if (got === null) {
      this.#eof = true;
      return false;
    }
    this.end += got;
    this.#limit -= got;
    this.bytesRead += got;
    return true;
  }

  /**
   * Consume `n` bytes.
   *
   * @param n Byte count (<= available).
   */
  skip(n: number): void {
    this.start += n;
    this.position += n;
  }

  /**
   * Read exactly `n` bytes into a new array (for headers; n is bounded by the caller).
   *
   * @param n Byte count.
   * @returns The bytes, or null if the input ends first.
   */
  async take(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const want = Math.min(n - filled, MAX_RECORD_SIZE);
      if (!(await this.ensure(want))) return null;
      out.set(this.bytes.subarray(this.start, this.start + want), filled);
      this.skip(want);
      filled += want;
    }
    return out;
  }
}
