/**
 * Typed errors for malformed perf ABI data.
 *
 * @module
 */

/**
 * Malformed binary input: the message names what was wrong and where. `offset`
 * is the byte offset in the file or stream when it is known.
 */
export class FormatError extends SyntaxError {
  /** Byte offset of the problem in the input, or -1 when unknown. */
  readonly offset: number;
  /** Name of the input (file path, "<pipe>", ...) when known. */
  readonly source: string | undefined;

  /**
   * Create a format error.
   *
   * @param message What is wrong (sentence case, no trailing period).
   * @param offset Byte offset of the problem, or -1.
   * @param source Name of the input.
   */
  constructor(message: string, offset = -1, source?: string) {
    const where = offset >= 0 ? ` at offset ${offset} (0x${offset.toString(16)})` : "";
    super(`${source ? source + ": " : ""}${message}${where}`);
    this.name = "FormatError";
    this.offset = offset;
    this.source = source;
  }
}
