import assert from "node:assert/strict";
import { FormatError, RecordType } from "./mod.ts";
import {
  decodeFragment,
  decodeSyncFields,
  encodeFragmentHeader,
  encodeSyncFields,
  FRAGMENT_HEADER_SIZE,
  fragmentEventKey,
  FragmentFlag,
  hasSyncShape,
  SYNC_RECORD_SIZE,
} from "./extensions.ts";

Deno.test("fragment header round-trips and the wire id is cpu<<48|seq", () => {
  const v = new DataView(new ArrayBuffer(FRAGMENT_HEADER_SIZE + 16));
  const size = encodeFragmentHeader(v, 0, 40, 7, 2, FragmentFlag.LAST, 300, 2);
  assert.equal(size, 48);
  assert.equal(v.getUint32(0, true), RecordType.CALLRING_FRAGMENT);
  assert.equal(v.getBigUint64(8, true), (40n << 48n) | 7n);
  const f = decodeFragment(v, 0);
  assert.deepEqual([f.cpu, f.seq, f.index, f.flags, f.total, f.count], [40, 7, 2, 2, 300, 2]);
  assert.equal(f.eventKey, fragmentEventKey(40, 7));
  v.setUint32(28, 3, true);
  assert.throws(() => decodeFragment(v, 0, 100), FormatError);
});

Deno.test("sync fields round-trip and the shape check needs the magic", () => {
  const v = new DataView(new ArrayBuffer(SYNC_RECORD_SIZE));
  encodeSyncFields(v, 0, { seq: 3, time: 2 ** 40, streamOffset: 4096, prevOffset: 1024, cpu: 5 });
  assert.ok(hasSyncShape(v, 0));
  const s = decodeSyncFields(v, 0);
  assert.deepEqual([s.seq, s.time, s.streamOffset, s.prevOffset, s.cpu], [
    3,
    2 ** 40,
    4096,
    1024,
    5,
  ]);
  v.setUint8(20, v.getUint8(20) ^ 1);
  assert.ok(!hasSyncShape(v, 0));
});
