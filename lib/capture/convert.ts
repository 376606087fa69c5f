/**
 * Conversion of a capture to perf.data: records are read in merged time
 * order, fragments reassembled into whole samples, and every callring
 * extension record (0x4c00-0x4cff) dropped, since real perf aborts on unknown
 * record types. Records stream through to the sink with bounded memory.
 *
 * @module
 */

import { CALLRING_RECORD_MAX, CALLRING_RECORD_MIN } from "../abi/mod.ts";
import { PerfDataWriter } from "../perfdata/writer.ts";
import type { CaptureEvent } from "./format.ts";
import type { CaptureReader, CaptureReadSummary } from "./reader.ts";

/** What a perf.data writer must offer: records in, bytes out. */
export interface PerfDataSink {
  /** Append one record (a perf ABI record, header included). */
  write(bytes: Uint8Array): Promise<void>;
  /** Finish the file (data size, features) and close it. */
  close(): Promise<void>;
}

/** Result of {@linkcode captureToPerfData}. */
export interface ConvertSummary {
  /** Records handed to the sink. */
  records: number;
  /** Extension records dropped. */
  droppedExtensions: number;
  /** The reader's summary (warnings, lost, defragmentation counts). */
  read: CaptureReadSummary;
}

/**
 * Stream a capture's records into a perf.data sink.
 *
 * @param reader An open capture.
 * @param sink The perf.data writer (closed at the end).
 * @returns Counts and the read summary.
 */
export async function convertCapture(
  reader: CaptureReader,
  sink: PerfDataSink,
): Promise<ConvertSummary> {
  let records = 0;
  let droppedExtensions = 0;
  const read = await reader.read((rec) => {
    const type = new DataView(rec.bytes.buffer, rec.bytes.byteOffset, 4).getUint32(0, true);
    if (type >= CALLRING_RECORD_MIN && type <= CALLRING_RECORD_MAX) {
      droppedExtensions++;
      return;
    }
    records++;
    return sink.write(rec.bytes);
  }, { keepExtensions: true });
  await sink.close();
  return { records, droppedExtensions, read };
}

/**
 * Convert a capture to a perf.data file that real `perf script` reads.
 *
 * @param reader An open capture.
 * @param path Output path.
 * @param events Events to declare (default: the capture's).
 * @returns Counts and the read summary.
 */
export async function captureToPerfData(
  reader: CaptureReader,
  path: string,
  events: readonly CaptureEvent[] = reader.header.events,
): Promise<ConvertSummary> {
  const writer = await PerfDataWriter.create(path, {
    events: events.map((e) => ({ attr: e.attr, ids: e.ids })),
    nrCpusOnline: reader.header.cpus,
    nrCpusAvailable: reader.header.cpus,
  });
  return await convertCapture(reader, writer);
}
