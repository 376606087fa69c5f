/**
 * A callring capture seen as a perf.data file: the same {@linkcode PerfDataFile} interface the
 * perf.data reader offers (info, records in time order, warnings), so perf-script style code
 * runs on captures unchanged. Records come from the capture reader merged in time order with
 * fragments reassembled; sync records are consumed; `CALLRING_SYMBOL` records fill
 * {@linkcode CaptureAsPerfData.symbols}; other extension records are skipped. Memory is bounded
 * by a small queue between the reader and the consumer.
 *
 * @module
 */
import { decodeRecord, FormatError, RecordType } from "../abi/mod.ts";
import { decodeSymbolRecord } from "../abi/extensions.ts";
import { SimulatedSymbols } from "../analyze/sim_symbols.ts";
import { makeEvent } from "../perfdata/evlist.ts";
import type { PerfDataFile, PerfDataInfo, ReadRecord } from "../perfdata/reader.ts";
import { CaptureReader } from "./reader.ts";
import type { StreamRecord } from "../ring/defrag.ts";

/** A capture opened through {@linkcode openCaptureAsPerfData}. */
export interface CaptureAsPerfData extends PerfDataFile {
  /** The capture's own symbol table, filled as its records are read. */
  readonly symbols: SimulatedSymbols;
}

const QUEUE_HIGH = 1024;

/**
 * Open a capture with the perf.data reader's interface.
 *
 * @param path The capture file.
 * @returns The open capture (iterate `records()` once, then `close()`).
 * @throws {FormatError} When the file header is not a capture header.
 * @example
 * ```ts ignore
 * import { openCaptureAsPerfData } from "./perfdata_view.ts";
 * const f = await openCaptureAsPerfData("callring.data");
 * for await (const { record } of f.records()) console.log(record.type);
 * f.close();
 * ```
 */
export async function openCaptureAsPerfData(path: string): Promise<CaptureAsPerfData> {
  const reader = await CaptureReader.open(path);
  const h = reader.header;
  const events = h.events.map((e, i) =>
    makeEvent(i, e.attr, e.ids, e.attr.type === 1 && e.attr.config === 0n ? "cpu-clock" : undefined)
  );
  const byId = new Map<number, number>();
  h.events.forEach((e, i) => e.ids.forEach((id) => byId.set(id, i)));
  const info: PerfDataInfo = {
    pipe: false,
    events,
    dataOffset: h.size,
    dataSize: reader.fileSize - h.size,
    features: [],
    nrCpusOnline: h.cpus,
    nrCpusAvailable: h.cpus,
  };
  const symbols = new SimulatedSymbols();
  const warnings: string[] = [];
  let bytesRead = h.size;
  let closed = false;
  const format = reader.format;
  const idAll = events[0]?.sampleIdAll ?? false;

  async function* records(): AsyncIterableIterator<ReadRecord> {
    let queue: StreamRecord[] = [];
    let wakeConsumer: (() => void) | undefined;
    let resumeReader: (() => void) | undefined;
    let done = false;
    let failure: unknown;
    const reading = reader.read((rec) => {
      if (closed) return;
      queue.push(rec);
      wakeConsumer?.();
      wakeConsumer = undefined;
      if (queue.length < QUEUE_HIGH) return;
      return new Promise<void>((r) => resumeReader = r);
    }).then((summary) => {
      bytesRead += summary.bytesRead;
      for (const w of summary.warnings) warnings.push(`${path}: ${w.message}`);
    }, (e) => failure = e).finally(() => {
      done = true;
      wakeConsumer?.();
    });
    try {
      while (true) {
        if (queue.length > 0) {
          const batch = queue;
          queue = [];
          resumeReader?.();
          resumeReader = undefined;
          for (const rec of batch) {
            const d = decode(rec);
            if (d) yield d;
          }
          continue;
        }
        if (done) break;
        await new Promise<void>((r) => wakeConsumer = r);
      }
      await reading;
      if (failure !== undefined) throw failure;
    } finally {
      closed = true;
      resumeReader?.();
    }
  }

  function decode(rec: StreamRecord): ReadRecord | undefined {
    const view = new DataView(rec.bytes.buffer, rec.bytes.byteOffset, rec.bytes.byteLength);
    const type = view.getUint32(0, true);
    if (type === RecordType.CALLRING_SYMBOL) {
      try {
        symbols.add(decodeSymbolRecord(view, 0, rec.position));
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        warnings.push(`${path}: CPU ${rec.cpu}: ${e.message}; symbol ignored`);
      }
      return undefined;
    }
    if (type >= RecordType.CALLRING_FRAGMENT) return undefined;
    const record = decodeRecord(view, 0, format, idAll, rec.position);
    let event = events[0];
    if ("sample" in record) {
      const id = record.sample.id ?? record.sample.identifier;
      if (id !== undefined) event = events[byId.get(id) ?? 0];
    }
    return { record, event, offset: rec.position, time: rec.time };
  }

  return {
    info,
    warnings,
    symbols,
    get bytesRead() {
      return bytesRead;
    },
    records,
    close() {
      closed = true;
      reader.close();
    },
  };
}
