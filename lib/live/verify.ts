/**
 * Read a live capture back and check it against what the recorder drained,
 * per ring: every record drained is read back (`streamRecords`, LOST records
 * apart), the LOST counts agree, and nothing was lost to damage; the
 * synthesized side-band stream holds exactly the records synthesized. This is
 * the simulator's `written = read + lost` check for a kernel-written ring,
 * where the recorder's count of drained records stands in for "written".
 *
 * @module
 */

import { CaptureReader } from "../capture/reader.ts";
import type { LiveRecordResult } from "./recorder.ts";

/** Per ring: drained by the recorder vs read back from the capture. */
export interface LiveReadBack {
  /** Ring index (its capture stream is its CPU). */
  ring: number;
  /** Records drained, LOST records excluded. */
  drained: number;
  /** Records read back, LOST records excluded. */
  read: number;
  /** Kernel-reported lost records, as drained. */
  lost: number;
  /** ... and as read back. */
  lostRead: number;
}

/** Result of {@linkcode verifyLiveCapture}. */
export interface LiveVerification {
  /** Per ring. */
  rings: LiveReadBack[];
  /** Synthesized side-band records written / read back. */
  sideband: { written: number; read: number };
  /** Every count agrees and no damage was found. */
  balanced: boolean;
  /** The reader's warnings. */
  warnings: string[];
}

/**
 * Read the capture written by a live recording and compare.
 *
 * @param path The capture.
 * @param result The recording's result.
 * @returns The comparison.
 */
export async function verifyLiveCapture(
  path: string,
  result: LiveRecordResult,
): Promise<LiveVerification> {
  const reader = await CaptureReader.open(path);
  try {
    const summary = await reader.read(() => {});
    const rings = result.rings.map((s) => {
      const c = summary.cpus.get(s.stream);
      return {
        ring: s.ring,
        drained: s.records - s.lostRecords,
        read: c?.streamRecords ?? 0,
        lost: s.lost,
        lostRead: c?.lost ?? 0,
      };
    });
    const sidebandRead = summary.cpus.get(result.sidebandStream)?.streamRecords ?? 0;
    const written = result.synthesized.records + result.sidebandExtra;
    const balanced = rings.every((r) => r.drained === r.read && r.lost === r.lostRead) &&
      sidebandRead === written && summary.damagedStreamBytes === 0 &&
      summary.unattributedBytes === 0;
    return {
      rings,
      sideband: { written, read: sidebandRead },
      balanced,
      warnings: summary.warnings.map((w) => w.message),
    };
  } finally {
    reader.close();
  }
}

/**
 * One line for the summary.
 *
 * @param v The verification.
 * @returns The line.
 */
export function formatVerification(v: LiveVerification): string {
  const read = v.rings.reduce((n, r) => n + r.read, 0);
  const drained = v.rings.reduce((n, r) => n + r.drained, 0);
  const bad = v.rings.filter((r) => r.drained !== r.read || r.lost !== r.lostRead);
  return `  read back: ${read} of ${drained} drained records, side-band ${v.sideband.read} of ` +
    `${v.sideband.written}` +
    (v.balanced
      ? ", every ring balanced"
      : `, MISMATCH on ring ${bad.map((r) => r.ring).join(",") || "side-band"}`) +
    v.warnings.map((w) => `\n  warning: ${w}`).join("");
}
