/**
 * A callring capture opened with the perf.data reader's interface
 * ({@linkcode PerfDataFile}): records merged in time order by the capture
 * reader, fragments reassembled, sync records consumed, visited through one
 * reused {@linkcode RawRecord} (samples left undecoded until asked, as the
 * perf.data reader does) or iterated. `CALLRING_SYMBOL` records fill
 * {@linkcode CaptureFile.symbols}; every callring extension record is handed
 * to `onExtensionRecord` and not visited. Damage the capture reader reports
 * becomes typed `damaged` {@linkcode ReadWarning}s; incomplete fragments and
 * records counted in damaged ranges go to the loss accounting.
 *
 * Back-pressure: the capture reader awaits each visit, so memory stays
 * bounded by its reorder window, not by the file.
 *
 * @module
 */

import {
  CALLRING_RECORD_MIN,
  decodeRecord,
  decodeSample,
  FormatError,
  type PerfRecord,
  ReadWarning,
  RecordType,
  SampleDecoder,
  SampleLayout,
} from "../abi/mod.ts";
import { decodeOverwrittenRecord, decodeSymbolRecord } from "../abi/extensions.ts";
import type { CaptureHeader } from "../capture/format.ts";
import { CaptureReader, type CaptureSource } from "../capture/reader.ts";
import { isSidebandType } from "../capture/format.ts";
import { makeEvent, type PerfDataEvent } from "../perfdata/evlist.ts";
import {
  type PerfDataFile,
  type PerfDataInfo,
  RawRecord,
  type ReadRecord,
} from "../perfdata/reader.ts";
import type { StreamRecord } from "../ring/defrag.ts";
import { CaptureSymbols } from "./capture_symbols.ts";
import type { LossAccountant } from "./loss.ts";
import { pull } from "./pull.ts";

/** A callring extension record of a capture (raw bytes, header included). */
export interface ExtensionRecord {
  /** Record type (0x4c00-0x4cff). */
  type: number;
  /** The whole record. */
  bytes: Uint8Array;
  /** CPU stream it came from. */
  cpu: number;
  /** Its time (own or inherited from the previous timed record of its stream). */
  time: number;
}

/** Options of {@linkcode openCaptureFile}. */
export interface CaptureFileOptions {
  /** Called with each warning as it is found. */
  onWarning?: (warning: ReadWarning) => void;
  /** Called with every callring extension record, after the capture's own symbols took it. */
  onExtensionRecord?: (record: ExtensionRecord) => void;
  /**
   * One time window (ns, inclusive) whose samples the caller keeps: a capture is then read with
   * `CaptureReader.readWindow` (first drain round, side-band chunks, seek, the window) instead of
   * end to end. Other inputs ignore it.
   */
  timeWindow?: { start: number; end: number };
  /** Loss accounting to fill (damage, incomplete fragments). */
  accountant?: LossAccountant;
  /** Read newest first (see {@linkcode CaptureReverse}); `timeWindow` is then ignored. */
  reverse?: CaptureReverse;
}

/**
 * Newest-first reading (`CaptureReader.readReverse`, seed L10575-10583): the side-band records
 * (first drain round and chunks flagged SIDEBAND) are read first, in time order, and never
 * visited; then every other record is visited in decreasing time. Before a sample is visited the
 * side-band state is that of its time: every side-band record up to it (`sideBandUpTo` is called
 * with fewer records whenever an older sample needs an earlier state).
 */
export interface CaptureReverse {
  /**
   * Make the side-band state the first `count` of `records` (time order): called once with all
   * of them before the first visit, then with fewer as the read goes back in time.
   */
  sideBandUpTo: (records: readonly PerfRecord[], count: number) => void;
  /** Stop after two drain rounds whose samples are all older than this time (ns). */
  stopBelow?: number;
}

/** A capture opened by {@linkcode openCaptureFile}. */
export interface CaptureFile extends PerfDataFile {
  /** The capture header. */
  readonly header: CaptureHeader;
  /** The capture's own symbol table, filled as its records are read. */
  readonly symbols: CaptureSymbols;
  /** Size of the capture file. */
  readonly fileSize: number;
}

/**
 * Open a capture.
 *
 * @param source The capture path, or a byte source.
 * @param name The input name used in messages.
 * @param options Warnings, extension records, loss accounting.
 * @returns The open capture (visit or iterate its records once, then close).
 * @throws {FormatError} When the file header is not a capture header.
 */
export async function openCaptureFile(
  source: string | CaptureSource,
  name: string,
  options: CaptureFileOptions = {},
): Promise<CaptureFile> {
  const reader = await CaptureReader.open(source);
  const h = reader.header;
  const events: PerfDataEvent[] = h.events.map((e, i) =>
    makeEvent(i, e.attr, e.ids, e.attr.type === 1 && e.attr.config === 0n ? "cpu-clock" : undefined)
  );
  const byId = new Map<number, PerfDataEvent>();
  h.events.forEach((e, i) => e.ids.forEach((id) => byId.set(id, events[i]!)));
  const info: PerfDataInfo = {
    pipe: false,
    events,
    dataOffset: h.size,
    dataSize: reader.fileSize - h.size,
    features: [],
    nrCpusOnline: h.cpus,
    nrCpusAvailable: h.cpus,
  };
  const symbols = new CaptureSymbols();
  const warnings: ReadWarning[] = [];
  const warn = (w: ReadWarning) => {
    warnings.push(w);
    options.onWarning?.(w);
  };
  let bytesRead = h.size;
  let used = false;
  const format = reader.format;
  const decoder = new SampleDecoder(format);
  const layout = SampleLayout.of(format);
  const idAll = events[0]?.sampleIdAll ?? false;
  const first = events[0];

  const raw = new RawRecord();
  /** Take one stream record: extension records are consumed (undefined), others fill `raw`. */
  const take = (rec: StreamRecord): RawRecord | undefined => {
    const b = rec.bytes;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const type = view.getUint32(0, true);
    if (type >= CALLRING_RECORD_MIN) {
      if (type === RecordType.CALLRING_SYMBOL) {
        try {
          symbols.add(decodeSymbolRecord(view, 0, rec.position));
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
          warn(
            new ReadWarning("symbol", `${name}: CPU ${rec.cpu}: ${e.message}; symbol ignored`, {
              offset: rec.position,
            }),
          );
        }
      }
      if (type === RecordType.CALLRING_OVERWRITTEN) {
        try {
          const o = decodeOverwrittenRecord(view, 0, rec.position);
          options.accountant?.overwrittenCount(o.cpu, o.overwritten, o.time);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
          warn(
            new ReadWarning("skipped", `${name}: CPU ${rec.cpu}: ${e.message}; count ignored`, {
              offset: rec.position,
            }),
          );
        }
      }
      options.onExtensionRecord?.({ type, bytes: b, cpu: rec.cpu, time: rec.time });
      return undefined;
    }
    raw.type = type;
    raw.misc = view.getUint16(4, true);
    raw.size = view.getUint16(6, true);
    raw.view = view;
    raw.offset = 0;
    raw.fileOffset = rec.position;
    raw.timeOrNaN = rec.time;
    if (type === RecordType.SAMPLE) {
      const id = layout.idPos >= 0 && 8 + 8 * layout.idPos + 8 <= b.length
        ? view.getUint32(8 + 8 * layout.idPos, true) +
          view.getUint32(12 + 8 * layout.idPos, true) * 0x1_0000_0000
        : undefined;
      raw.event = (id !== undefined ? byId.get(id) : undefined) ?? first;
      // As the perf.data reader: well-formed simple samples stay in their bytes.
      raw.decoder = decoder;
      raw.decoded = decoder.fits(view, 0) ? undefined : {
        type,
        misc: raw.misc,
        size: raw.size,
        sample: decoder.simple
          ? decodeSample(view, 0, format, rec.position) // throws: the record is malformed
          : decoder.decode(view, 0, rec.position),
      };
    } else {
      raw.event = first;
      raw.decoded = decodeRecord(view, 0, format, idAll, rec.position);
      raw.decoder = undefined;
    }
    return raw;
  };

  /** Account the loss and warnings of a read. */
  const account = (summary: {
    incompleteEvents: number;
    damagedRecords: number;
    damagedEstimate: number;
    warnings: readonly { start: number; end: number; message: string }[];
  }) => {
    const lost = options.accountant?.lost;
    if (lost !== undefined) {
      lost.incompleteFragments += summary.incompleteEvents;
      lost.damagedRecords += summary.damagedRecords;
      lost.damagedEstimate += summary.damagedEstimate;
    }
    for (const w of summary.warnings) {
      const warning = new ReadWarning("damaged", `${name}: ${w.message}`, {
        offset: w.start,
        bytes: Math.max(0, w.end - w.start),
      });
      options.accountant?.warning(warning);
      warn(warning);
    }
  };

  /** The newest-first read of {@linkcode CaptureReverse}. */
  async function readNewestFirst(
    rev: CaptureReverse,
    visit: (record: RawRecord) => void | Promise<void>,
  ): Promise<void> {
    const side: StreamRecord[] = [];
    const sb = await reader.readSideBand((rec) => void side.push(rec));
    bytesRead += sb.bytesRead;
    account({ incompleteEvents: 0, damagedRecords: 0, damagedEstimate: 0, warnings: sb.warnings });
    side.sort((a, b) => a.time - b.time); // stable: equal times keep their file order
    const records: PerfRecord[] = [];
    const times: number[] = [];
    for (const rec of side) {
      const r = take(rec); // symbols and overwritten counts are taken here, once
      if (r === undefined) continue;
      records.push(r.record());
      times.push(rec.time);
    }
    let applied = records.length;
    rev.sideBandUpTo(records, applied);
    /** Side-band records at or before `t` (they come first at equal times). */
    const upTo = (t: number) => {
      let lo = 0, hi = times.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (times[mid]! <= t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    let roundMax = -Infinity;
    let below = 0;
    const sum = await reader.readReverse(
      (rec) => {
        const b = rec.bytes;
        const type = b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
        if (isSidebandType(type)) return; // read above
        const r = take(rec);
        if (r === undefined) return;
        if (type === RecordType.SAMPLE) {
          if (rec.time > roundMax) roundMax = rec.time;
          const need = upTo(rec.time);
          if (need < applied) rev.sideBandUpTo(records, applied = need);
        }
        return visit(r);
      },
      {},
      () => {
        if (rev.stopBelow === undefined) return true;
        below = roundMax < rev.stopBelow ? below + 1 : 0;
        roundMax = -Infinity;
        return below < 2;
      },
    );
    bytesRead += sum.bytesRead;
    account(sum);
  }

  /** Read the capture once, handing each stream record to `onRecord`; then account the summary. */
  async function readAll(onRecord: (rec: StreamRecord) => unknown): Promise<void> {
    if (used) throw new Error(`${name}: the capture's records can be read only once`);
    used = true;
    const w = options.timeWindow;
    const summary = w
      ? await reader.readWindow(w.start, w.end, onRecord)
      : await reader.read(onRecord);
    bytesRead += summary.bytesRead;
    account(summary);
  }

  function forEachRecord(visit: (record: RawRecord) => void | Promise<void>): Promise<void> {
    const rev = options.reverse;
    if (rev !== undefined) {
      if (used) throw new Error(`${name}: the capture's records can be read only once`);
      used = true;
      return readNewestFirst(rev, visit);
    }
    return readAll((rec) => {
      const r = take(rec);
      return r === undefined ? undefined : visit(r);
    });
  }

  async function* records(): AsyncIterableIterator<ReadRecord> {
    if (options.reverse !== undefined) {
      // a pulled record may be taken after later ones changed the side-band state
      throw new RangeError(
        `${name}: newest-first reading visits records through forEachRecord only`,
      );
    }
    // Records are taken (symbols, extension hooks) as the consumer reaches them, in order.
    for await (const rec of pull<StreamRecord>((push) => readAll(push))) {
      const r = take(rec);
      if (r !== undefined) {
        yield { record: r.record(), event: r.event, offset: r.fileOffset, time: r.time };
      }
    }
  }

  return {
    info,
    header: h,
    symbols,
    fileSize: reader.fileSize,
    warnings,
    get bytesRead() {
      return bytesRead;
    },
    forEachRecord,
    records,
    close() {
      reader.close();
    },
  };
}
