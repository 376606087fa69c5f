import { equal } from "node:assert/strict";
import { DamageLedger } from "./damage.ts";
import { CHUNK_HEADER_SIZE } from "./format.ts";
import type { CaptureCpuStats, CaptureReadSummary } from "./reader.ts";

function summary(): CaptureReadSummary {
  return {
    bytesRead: 0,
    chunks: 0,
    records: 0,
    endOffset: 0,
    warnings: [],
    cpus: new Map(),
    syncRecords: 0,
    subbufHeaders: 0,
    paddingBytes: 0,
    defragmented: 0,
    incompleteEvents: 0,
    duplicatePieces: 0,
    reorderOverflows: 0,
    damagedStreamBytes: 0,
    damagedRecords: 0,
    unattributedBytes: 0,
    uncountedBytes: 0,
    damagedEstimate: 0,
  };
}

function cpu(streamRecords: number, bytes: number): CaptureCpuStats {
  return {
    records: streamRecords,
    lost: 0,
    bytes,
    streamRecords,
    damagedStreamBytes: 0,
    damagedRecords: 0,
    uncountedBytes: 0,
    damagedEstimate: 0,
  };
}

Deno.test("unattributed bytes that can hold a record estimate one, under a larger mean record", () => {
  // a skipped range of one chunk header and 64 payload bytes, in a read whose records
  // average 142 bytes: 64 / 142 rounds to 0, but a 64-byte record fits (the fuzz case
  // "capture sim-deep #8")
  for (const [payload, want] of [[64, 1], [63, 0], [300, 2]] as const) {
    const sum = summary();
    sum.cpus.set(0, cpu(306, 43416));
    const ledger = new DamageLedger((c) => sum.cpus.get(c)!);
    ledger.opaque(CHUNK_HEADER_SIZE + payload);
    ledger.finish(new Map([[0, 43416]]), 1, sum);
    equal(sum.unattributedBytes, payload);
    equal(sum.damagedEstimate, want, `${payload} bytes`);
  }
});
