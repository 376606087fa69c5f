/**
 * Shared by the benchmarks: medians, peak-RSS parsers, a streaming text digest
 * and the report text both tools print alike.
 *
 * @module
 */

/**
 * Median of a non-empty list of numbers (mean of the middle two for an even count).
 *
 * @param xs The values.
 * @returns The median.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of no values");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Peak resident set in kB from GNU time's `-v` report.
 *
 * @param text The report `/usr/bin/time -v -o FILE` wrote.
 * @returns kB, or undefined when the line is missing.
 */
export function rssFromTimeV(text: string): number | undefined {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Peak resident set in kB from a `/proc/<pid>/status` text (its `VmHWM` line).
 *
 * @param text The status file's text.
 * @returns kB, or undefined when the line is missing (e.g. a zombie).
 */
export function rssFromProcStatus(text: string): number | undefined {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Streaming 32-bit FNV-1a over byte chunks, with the byte count. */
export class TextDigest {
  /** FNV-1a state. */
  hash = 0x811c9dc5;
  /** Bytes seen. */
  bytes = 0;
  /** Add a chunk. @param b The bytes. */
  update(b: Uint8Array): void {
    let h = this.hash;
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    this.hash = h;
    this.bytes += b.length;
  }
  /** The digest as text. @returns Bytes and hash. */
  toString(): string {
    return `${this.bytes} B, fnv1a ${(this.hash >>> 0).toString(16).padStart(8, "0")}`;
  }
}

/**
 * Report text without callring's `# callring:` accounting lines and perf's
 * trailing `# (Tip: ...)` paragraph (and the blank line before it).
 *
 * @param text A `report --stdio` output.
 * @returns Its lines that both tools print, trailing blank lines dropped.
 */
export function comparableReport(text: string): string[] {
  let lines = text.split("\n").filter((l) => !l.startsWith("# callring:"));
  const tip = lines.findIndex((l) => l.startsWith("# (Tip:"));
  if (tip > 0) lines = lines.slice(0, tip - 1);
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * First line where two texts differ, 1-based; undefined when they are equal.
 *
 * @param a Lines of one text.
 * @param b Lines of the other.
 * @returns The line number or undefined.
 */
export function firstDifference(a: readonly string[], b: readonly string[]): number | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i + 1;
  return undefined;
}
