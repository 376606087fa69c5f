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

/**
 * What a {@linkcode ReadWarning} reports, for loss accounting without
 * reading its text:
 * - `truncated-file`: the header promises more data than the file has;
 * - `truncated`: reading stopped inside a record (`bytes` left unread);
 * - `damaged`: a damaged range was skipped (`bytes` of it);
 * - `skipped`: well-formed records not decoded (unknown type or id; `count` of them);
 * - `unsupported`: data this reader does not decode, named and counted;
 * - `feature`: a header feature section that could not be used;
 * - `symbol`: a symbol record or table that could not be used;
 * - `aux`: AUX area data (not decoded) and what perf says of it (lost, gaps, errors).
 */
export type WarningKind =
  | "truncated-file"
  | "truncated"
  | "damaged"
  | "skipped"
  | "unsupported"
  | "feature"
  | "symbol"
  | "aux";

/** Optional details of a {@linkcode ReadWarning}. */
export interface ReadWarningDetails {
  /** Byte offset in the input, when known. */
  offset?: number;
  /** Bytes the warning is about (lost, skipped or left unread). */
  bytes?: number;
  /** Records the warning is about. */
  count?: number;
  /** Whether reading stopped here. */
  stops?: boolean;
}

/**
 * A problem a reader recovered from: typed (kind, offset, counts) for
 * accounting, with a one-line message for people (`String(w)` is the message).
 */
export class ReadWarning {
  /** What happened. */
  readonly kind: WarningKind;
  /** The one-line message (input name first). */
  readonly message: string;
  /** Byte offset in the input, or -1 when unknown. */
  readonly offset: number;
  /** Bytes the warning is about (0 when none). */
  readonly bytes: number;
  /** Records the warning is about (0 when none). */
  readonly count: number;
  /** Whether reading stopped here. */
  readonly stops: boolean;

  /**
   * Create a warning.
   *
   * @param kind What happened.
   * @param message The one-line message.
   * @param details Offset, byte and record counts.
   */
  constructor(kind: WarningKind, message: string, details: ReadWarningDetails = {}) {
    this.kind = kind;
    this.message = message;
    this.offset = details.offset ?? -1;
    this.bytes = details.bytes ?? 0;
    this.count = details.count ?? 0;
    this.stops = details.stops ?? false;
  }

  /** The message. @returns It. */
  toString(): string {
    return this.message;
  }
}
