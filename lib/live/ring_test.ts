import assert from "node:assert/strict";
import { encodeAttr, getU64, MMAP_PAGE_STRUCT_SIZE, MmapPage, RecordType } from "../abi/mod.ts";
import { createRingMemory, RingExt } from "../ring/layout.ts";
import { liveAttr, parseEvent } from "./events.ts";
import { liveUnavailableReason } from "./probe.ts";
import { KernelRing } from "./ring.ts";
import { closeFd, Errno, ioctl, perfEventOpen, PerfIoc, SysError } from "./sys.ts";

const reason = liveUnavailableReason();
if (reason) console.log(`live ring tests skipped: ${reason}`);

function openSelf(overwrite = false): number {
  const event = parseEvent("cpu-clock");
  const attr = (excludeKernel: boolean) =>
    encodeAttr(liveAttr({ event, frequency: 4000, callchain: true, overwrite, excludeKernel }));
  try {
    return perfEventOpen(attr(false), 0, -1);
  } catch (e) {
    // perf_event_paranoid 2 without CAP_PERFMON: user space only, as the recorder falls back.
    if (e instanceof SysError && (e.errno === Errno.EACCES || e.errno === Errno.EPERM)) {
      return perfEventOpen(attr(true), 0, -1);
    }
    throw e;
  }
}

function spin(ms: number): number {
  let x = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

Deno.test({
  name:
    "the kernel's fresh perf_event_mmap_page equals the project's initialised page byte for byte",
  ignore: reason !== undefined,
  fn() {
    const fd = openSelf();
    const ring = new KernelRing(fd, 8, false);
    try {
      const kernel = new Uint8Array(ring.memory.buffer, 0, MMAP_PAGE_STRUCT_SIZE).slice();
      const ours = createRingMemory(8 * 4096);
      const mine = new Uint8Array(ours.buffer, 0, MMAP_PAGE_STRUCT_SIZE).slice();
      // The callring extension lives in __reserved (zero in the kernel's page) and `lock`
      // is the kernel's seqcount of the page update: everything else must agree.
      mine.fill(0, RingExt.magic, MmapPage.dataHead);
      kernel.fill(0, MmapPage.lock, MmapPage.lock + 4);
      const diff: string[] = [];
      for (let i = 0; i < kernel.length; i++) {
        if (kernel[i] !== mine[i]) diff.push(`byte ${i}: kernel ${kernel[i]} ours ${mine[i]}`);
      }
      assert.deepEqual(diff, []);
      assert.equal(getU64(ring.memory.page, MmapPage.dataOffset), 4096);
      assert.equal(getU64(ring.memory.page, MmapPage.dataSize), 8 * 4096);
    } finally {
      ring.close();
      closeFd(fd);
    }
  },
});

Deno.test({
  name: "the project's RingReader consumes a kernel ring: records tile up to data_head",
  ignore: reason !== undefined,
  fn() {
    const fd = openSelf();
    const ring = new KernelRing(fd, 16, false);
    try {
      ioctl(fd, PerfIoc.ENABLE);
      spin(100);
      ioctl(fd, PerfIoc.DISABLE);
      const types = new Map<number, number>();
      let last = -1;
      let bytes = 0;
      const n = ring.reader!.read((view, offset, size, position) => {
        const t = view.getUint32(offset, true);
        types.set(t, (types.get(t) ?? 0) + 1);
        assert.ok(position > last);
        last = position;
        bytes += size;
      });
      assert.ok(n > 0, "the kernel wrote records while the thread spun");
      assert.ok((types.get(RecordType.SAMPLE) ?? 0) > 0);
      // data_tail now equals data_head: the reader gave the space back to the kernel.
      assert.equal(
        getU64(ring.memory.page, MmapPage.dataTail),
        getU64(ring.memory.page, MmapPage.dataHead),
      );
      assert.equal(bytes, getU64(ring.memory.page, MmapPage.dataHead));
    } finally {
      ring.close();
      closeFd(fd);
    }
  },
});

Deno.test({
  name: "a paused write_backward kernel ring snapshots through snapshotOverwrite",
  ignore: reason !== undefined,
  async fn() {
    const { snapshotOverwrite } = await import("../ring/reader.ts");
    const fd = openSelf(true);
    const ring = new KernelRing(fd, 1, true);
    try {
      ioctl(fd, PerfIoc.ENABLE);
      spin(300);
      ring.pause(true);
      const snap = snapshotOverwrite(ring.memory);
      ring.pause(false);
      ioctl(fd, PerfIoc.DISABLE);
      assert.ok(snap.records > 0);
      assert.equal(snap.stoppedAtOverwrite, false);
      // Oldest first, back to back, all whole kernel records.
      const v = new DataView(snap.bytes.buffer);
      let p = 0;
      let samples = 0;
      while (p < snap.bytes.length) {
        const size = v.getUint16(p + 6, true);
        assert.ok(size >= 8 && size % 8 === 0);
        if (v.getUint32(p, true) === RecordType.SAMPLE) samples++;
        p += size;
      }
      assert.equal(p, snap.bytes.length);
      assert.ok(samples > 0);
      assert.ok(snap.bytes.length <= 4096);
    } finally {
      ring.close();
      closeFd(fd);
    }
  },
});
