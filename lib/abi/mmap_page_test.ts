import assert from "node:assert/strict";
import {
  initMmapPage,
  MMAP_PAGE_SIZE,
  MmapPage,
  readDataHead,
  readDataTail,
  writeDataHead,
  writeDataTail,
} from "./mmap_page.ts";

Deno.test("MmapPage offsets follow struct perf_event_mmap_page", () => {
  assert.equal(MmapPage.dataHead, 1024);
  assert.equal(MmapPage.dataTail, 1032);
  assert.equal(MmapPage.dataOffset, 1040);
  assert.equal(MmapPage.dataSize, 1048);
  assert.equal(MmapPage.auxSize, 1080);
  assert.equal(MmapPage.timeMult, 52);
});

Deno.test("data_head and data_tail are u64 at their offsets", () => {
  const page = new DataView(new ArrayBuffer(MMAP_PAGE_SIZE));
  initMmapPage(page, 1 << 16);
  assert.equal(page.getUint32(MmapPage.dataSize, true), 65536);
  assert.equal(page.getUint32(MmapPage.dataOffset, true), 4096);
  // perf_event_init_userpage(): size = offsetof(__reserved), cap_bit0_is_deprecated.
  assert.equal(page.getUint32(MmapPage.size, true), 96);
  assert.equal(page.getUint32(MmapPage.capabilities, true), 2);
  writeDataHead(page, 2 ** 40 + 8);
  writeDataTail(page, 2 ** 33);
  assert.equal(page.getUint32(1024, true), 8);
  assert.equal(page.getUint32(1028, true), 256);
  assert.equal(readDataHead(page), 2 ** 40 + 8);
  assert.equal(readDataTail(page), 2 ** 33);
  assert.throws(() => initMmapPage(page, 5000), RangeError);
});
