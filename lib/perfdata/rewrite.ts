/**
 * Copy a perf.data file record for record through {@linkcode PerfDataWriter},
 * e.g. into the byte order of a big-endian machine: what perf reads of the
 * copy is what it reads of the original. The events, their ids and the
 * features callring decodes (hostname, os release, version, arch, nrcpus,
 * cmdline, build-ids, sample time, event names) are carried over; the other
 * feature sections (CPU topology, PMU mappings...) are not.
 *
 * @example Write the big-endian twin of a file
 * ```ts ignore
 * import { rewritePerfData } from "./rewrite.ts";
 * await rewritePerfData("perf.data", "perf.be.data", { bigEndian: true });
 * ```
 *
 * @module
 */

import { RecordType } from "../abi/mod.ts";
import { openPerfData } from "./reader.ts";
import { PerfDataWriter } from "./writer.ts";

/** Options of {@linkcode rewritePerfData}. */
export interface RewriteOptions {
  /** Write the copy big-endian (as ppc64 / s390x perf does). */
  bigEndian?: boolean;
}

/** What {@linkcode rewritePerfData} copied. */
export interface RewriteSummary {
  /** Records written. */
  records: number;
}

/** Pipe-mode header records: the copy is a file and carries them in its header. */
const HEADER_RECORDS = new Set<number>([
  RecordType.HEADER_ATTR,
  RecordType.HEADER_FEATURE,
  RecordType.HEADER_EVENT_TYPE,
]);

/**
 * Copy `input` to `output` (file mode).
 *
 * @param input A perf.data file (file or pipe mode, either byte order).
 * @param output The copy.
 * @param options Byte order of the copy.
 * @returns Counts.
 * @throws {RangeError} For data the copy cannot carry: AUX area payloads,
 *   tracing data, or (big-endian) a record type without a byte-order conversion.
 */
export async function rewritePerfData(
  input: string,
  output: string,
  options: RewriteOptions = {},
): Promise<RewriteSummary> {
  const file = await openPerfData(input, { ordered: false });
  if (file.info.bigEndian) {
    file.close();
    throw new RangeError(`${input}: the input is big-endian; rewrite little-endian files`);
  }
  try {
    const info = file.info;
    if (info.tracingData !== undefined) {
      throw new RangeError(`${input}: tracing data (tracepoint formats) is not rewritten`);
    }
    const writer = await PerfDataWriter.create(output, {
      events: info.events.map((e) => ({ attr: e.attr, ids: e.ids, name: e.name })),
      hostname: info.hostname,
      osRelease: info.osRelease,
      version: info.version,
      arch: info.arch,
      nrCpusOnline: info.nrCpusOnline,
      nrCpusAvailable: info.nrCpusAvailable,
      cmdline: info.cmdline,
      buildIds: info.buildIds,
      autoFinishedRound: false,
      bigEndian: options.bigEndian,
    });
    let records = 0;
    try {
      // The data section as it is on disk, record by record (the reader does not keep
      // the bytes of the records it decodes).
      const bytes = await Deno.readFile(input);
      const end = Math.min(bytes.length, info.dataOffset + info.dataSize);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let p = info.dataOffset; p + 8 <= end;) {
        const type = view.getUint32(p, true);
        const size = view.getUint16(p + 6, true);
        if (size < 8 || p + size > end) {
          throw new RangeError(`${input}: record type ${type} at offset ${p} has size ${size}`);
        }
        if (type === RecordType.AUXTRACE || type === RecordType.HEADER_TRACING_DATA) {
          throw new RangeError(
            `${input}: record type ${type} at offset ${p}: its payload is not rewritten`,
          );
        }
        if (
          options.bigEndian &&
          (type === RecordType.COMPRESSED || type === RecordType.COMPRESSED2)
        ) {
          throw new RangeError(
            `${input}: compressed data (offset ${p}) is not rewritten big-endian`,
          );
        }
        if (!HEADER_RECORDS.has(type)) {
          await writer.write(bytes.slice(p, p + size));
          records++;
        }
        p += size;
      }
    } finally {
      await writer.close();
    }
    return { records };
  } finally {
    file.close();
  }
}
