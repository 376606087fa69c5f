/**
 * Number formatting shared by the outputs, matching C's printf where perf's
 * output is reproduced.
 *
 * @module
 */

/**
 * Formats like C `printf("%.2f", x)` with glibc's exact round-half-to-even on the
 * binary value. JavaScript's `toFixed` rounds exact ties away from zero (`0.125`
 * -> `"0.13"`, glibc prints `"0.12"`); ties at two decimals are exactly the
 * values whose 8-fold is an odd integer.
 * @param x The value.
 * @returns The text with two decimals.
 * @example
 * ```ts
 * import { formatPercent } from "./format.ts";
 * formatPercent(0.125); // "0.12"
 * formatPercent(92.2693); // "92.27"
 * ```
 */
export function formatPercent(x: number): string {
  const eight = x * 8;
  if (Number.isInteger(eight) && Math.abs(eight) % 2 === 1) {
    const lower = Math.floor(x * 100); // exact: x*100 = 12.5 * eight is a half-integer
    const cents = lower % 2 === 0 ? lower : lower + 1;
    const sign = cents < 0 ? "-" : "";
    const abs = Math.abs(cents);
    return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
  }
  return x.toFixed(2);
}

/**
 * Escapes text for XML/HTML content and attribute values.
 * @param text Raw text.
 * @returns Escaped text.
 */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}
