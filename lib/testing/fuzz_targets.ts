/**
 * The fuzz targets {@linkcode FuzzPool} workers run: every entry point that
 * reads a recording, each reporting its records to the {@linkcode FuzzGuard}
 * (record bound, memory checks) and its warnings.
 *
 * | target         | entry point                                                     |
 * | -------------- | --------------------------------------------------------------- |
 * | `perfdata`     | `openPerfData(path)` then `records()` (file or pipe mode)       |
 * | `perfdata-stream` | `openPerfDataStream` over the bytes in uneven pieces (pipe mode) |
 * | `load`         | `loadProfile(path)` (the report path; perf.data or capture)     |
 * | `script`       | `runPerfScript(path)` (the script path; perf.data or capture)   |
 * | `capture`      | `CaptureReader.open(captureMemorySource)` then `read` (accounting in `stats`) |
 * | `capture-seek` | `CaptureReader.seekTime` then `read` from the offset found       |
 * | `capture-view` | `openCaptureFile(path)` then `records()`                         |
 *
 * Options (all optional): `kallsyms` (path), `inline` (addr2line expansion,
 * default false: it starts processes), `ordered`, `chunkSize`, `piece`
 * (stream piece size), `from`, `maxReorder`, `time` (seek target).
 *
 * @module
 */

import type { ReadWarning } from "../abi/mod.ts";
import { openPerfData, openPerfDataStream } from "../perfdata/reader.ts";
import { loadProfile } from "../analyze/load.ts";
import { runPerfScript } from "../output/script_run.ts";
import { captureMemorySource, CaptureReader, type CaptureReadSummary } from "../capture/reader.ts";
import { openCaptureFile } from "../input/capture_input.ts";
import {
  FuzzBoundError,
  type FuzzGuard,
  type FuzzTarget,
  type FuzzTargetReport,
} from "./fuzz_runner.ts";

/** Most output text a script run may print per input byte. */
const SCRIPT_CHARS_PER_BYTE = 256;

function report(
  warnings: readonly (string | ReadWarning)[],
  records: number,
  stats = {},
): FuzzTargetReport {
  return { warnings: warnings.length, firstWarning: String(warnings[0] ?? ""), records, stats };
}

function num(v: string | number | boolean | undefined): number | undefined {
  return typeof v === "number" ? v : undefined;
}

/** The capture reader's accounting, flattened. */
function captureStats(sum: CaptureReadSummary): Record<string, number> {
  let streamRecords = 0;
  let lost = 0;
  for (const c of sum.cpus.values()) {
    streamRecords += c.streamRecords;
    lost += c.lost;
  }
  return {
    records: sum.records,
    streamRecords,
    lost,
    damagedRecords: sum.damagedRecords,
    damagedEstimate: sum.damagedEstimate,
    damagedStreamBytes: sum.damagedStreamBytes,
    uncountedBytes: sum.uncountedBytes,
    unattributedBytes: sum.unattributedBytes,
    incompleteEvents: sum.incompleteEvents,
    chunks: sum.chunks,
  };
}

async function readCapture(
  bytes: Uint8Array,
  guard: FuzzGuard,
  from: (r: CaptureReader) => Promise<number | undefined>,
  maxReorder: number | undefined,
): Promise<FuzzTargetReport> {
  const reader = await CaptureReader.open(captureMemorySource(bytes));
  try {
    guard.memory();
    const start = await from(reader);
    const sum = await reader.read(() => guard.record(), { from: start, maxReorder });
    return report(sum.warnings.map((w) => w.message), sum.records, captureStats(sum));
  } finally {
    reader.close();
  }
}

/** Every target by name. */
export const targets: Record<string, FuzzTarget> = {
  async perfdata({ path, options }, guard) {
    const warnings: ReadWarning[] = [];
    const file = await openPerfData(path, {
      onWarning: (m) => warnings.push(m),
      ordered: options.ordered !== false,
      chunkSize: num(options.chunkSize),
    });
    try {
      guard.memory();
      for await (const _ of file.records()) guard.record();
    } finally {
      file.close();
    }
    return report(warnings, guard.records);
  },

  async "perfdata-stream"({ bytes, options }, guard) {
    const piece = num(options.piece) ?? 4093;
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= bytes.length) return c.close();
        c.enqueue(bytes.slice(at, at + piece));
        at += piece;
      },
    });
    const warnings: ReadWarning[] = [];
    const file = await openPerfDataStream(stream, {
      onWarning: (m) => warnings.push(m),
      chunkSize: num(options.chunkSize),
    });
    try {
      guard.memory();
      for await (const _ of file.records()) guard.record();
    } finally {
      file.close();
    }
    return report(warnings, guard.records);
  },

  async load({ path, options }, guard) {
    const warnings: ReadWarning[] = [];
    const r = await loadProfile(path, {
      kallsyms: typeof options.kallsyms === "string" ? options.kallsyms : undefined,
      inline: options.inline === true,
      onWarning: (m) => warnings.push(m),
      onProgress: () => guard.memory(),
    });
    guard.record(r.profile.samplesRead);
    return report(r.warnings.length >= warnings.length ? r.warnings : warnings, guard.records);
  },

  async script({ path, options }, guard) {
    const warnings: ReadWarning[] = [];
    let chars = 0;
    let writes = 0;
    const summary = await runPerfScript(path, {
      kallsyms: typeof options.kallsyms === "string" ? options.kallsyms : undefined,
      inline: options.inline === true,
      read: { onWarning: (m) => warnings.push(m) },
      write: (s) => {
        chars += s.length;
        if (chars > 65536 + SCRIPT_CHARS_PER_BYTE * guard.maxRecords * 8) {
          throw new FuzzBoundError(`script printed over ${chars} characters`);
        }
        if ((++writes & 255) === 0) guard.memory();
      },
    });
    guard.record(summary.records);
    const all = summary.warnings.length >= warnings.length ? summary.warnings : warnings;
    return report(all, guard.records, { samples: summary.samples, chars });
  },

  capture({ bytes, options }, guard) {
    const from = num(options.from);
    return readCapture(bytes, guard, () => Promise.resolve(from), num(options.maxReorder));
  },

  "capture-seek"({ bytes, options }, guard) {
    const time = num(options.time) ?? 0;
    return readCapture(
      bytes,
      guard,
      async (r) => (await r.seekTime(time)).offset,
      num(options.maxReorder),
    );
  },

  async "capture-view"({ path }, guard) {
    const file = await openCaptureFile(path, path);
    try {
      guard.memory();
      for await (const _ of file.records()) guard.record();
    } finally {
      file.close();
    }
    return report(file.warnings, guard.records);
  },
};
