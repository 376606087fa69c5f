/**
 * Which kind of input a path holds, told by its first bytes: perf.data
 * (`PERFILE2`, byte-swapped `2ELIFREP`, version 1 `PERFFILE`), a callring
 * capture (`CALLRING`), or `perf script` text (by content). `-` is pipe-mode
 * perf.data on stdin.
 *
 * @module
 */

import { FormatError } from "../abi/mod.ts";
import { looksLikePerfScriptText } from "./perf_script_text.ts";

/**
 * The kinds of input told apart here. `perf-script-text` (what `perf script`
 * printed, told by content) holds samples already symbolized, not records:
 * the profile loader reads it, the record stream does not.
 */
export type InputFormat = "perf.data" | "capture" | "perf-script-text";

/** Thrown when the input is neither perf.data nor a callring capture. */
export class InputFormatError extends FormatError {
  /**
   * Creates the instance.
   * @param source The input name.
   * @param magic The first bytes found.
   */
  constructor(source: string, magic: string) {
    super(
      `Not a perf.data file or callring capture: magic ${JSON.stringify(magic)}, ` +
        'expected "PERFILE2" or "CALLRING"',
      0,
      source,
    );
    this.name = "InputFormatError";
  }
}

const latin1 = new TextDecoder("latin1");

/**
 * Tell perf.data from a callring capture by the first 8 bytes.
 *
 * @param path Input path (`-` is pipe-mode perf.data on stdin).
 * @returns The format.
 * @throws {InputFormatError} When the magic is neither.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 */
export async function detectInputFormat(path: string): Promise<InputFormat> {
  if (path === "-") return "perf.data";
  const file = await Deno.open(path, { read: true });
  try {
    const head = new Uint8Array(8);
    let n = 0;
    while (n < 8) {
      const r = await file.read(head.subarray(n));
      if (r === null) break;
      n += r;
    }
    const magic = latin1.decode(head.subarray(0, n));
    if (magic === "CALLRING") return "capture";
    // perf.data variants (byte-swapped, version 1) get their precise message from the reader.
    if (magic === "PERFILE2" || magic === "2ELIFREP" || magic === "PERFFILE") return "perf.data";
    const text = new Uint8Array(4096);
    text.set(head.subarray(0, n));
    let m = n;
    while (n === 8 && m < text.length) {
      const r = await file.read(text.subarray(m));
      if (r === null) break;
      m += r;
    }
    if (looksLikePerfScriptText(text.subarray(0, m))) return "perf-script-text";
    throw new InputFormatError(path, magic);
  } finally {
    file.close();
  }
}
