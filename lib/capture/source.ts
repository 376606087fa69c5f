/**
 * Where a capture's bytes come from: random access by file offset, a file
 * (read in pieces, never whole) or bytes in memory.
 *
 * @module
 */

/** Random-access byte source (a file, or bytes in memory for tests). */
export interface CaptureSource {
  /** Read into `buf` at file offset `position`; returns bytes read (0 at end of file). */
  readAt(buf: Uint8Array, position: number): Promise<number>;
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Release the source. */
  close(): void;
}

/**
 * A {@linkcode CaptureSource} over a file (Deno.open, seek + read; never whole-file).
 *
 * @param path File path.
 * @returns The source.
 */
export async function captureFileSource(path: string): Promise<CaptureSource> {
  const file = await Deno.open(path, { read: true });
  return {
    async readAt(buf: Uint8Array, position: number): Promise<number> {
      await file.seek(position, Deno.SeekMode.Start);
      let n = 0;
      while (n < buf.length) {
        const r = await file.read(buf.subarray(n));
        if (r === null) break;
        n += r;
      }
      return n;
    },
    async size(): Promise<number> {
      return (await file.stat()).size;
    },
    close(): void {
      file.close();
    },
  };
}

/**
 * A {@linkcode CaptureSource} over bytes in memory.
 *
 * @param bytes The bytes.
 * @returns The source.
 */
export function captureMemorySource(bytes: Uint8Array): CaptureSource {
  return {
    readAt(buf: Uint8Array, position: number): Promise<number> {
      const n = Math.max(0, Math.min(buf.length, bytes.length - position));
      buf.set(bytes.subarray(position, position + n));
      return Promise.resolve(n);
    },
    size: () => Promise.resolve(bytes.length),
    close(): void {},
  };
}
