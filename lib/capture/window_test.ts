import assert from "node:assert/strict";
import { captureMemorySource, CaptureReader } from "./reader.ts";
import { recordSimulation } from "../sim/recorder.ts";
import { getStrategy } from "../sim/strategies/mod.ts";

async function capture(options: Record<string, unknown>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await recordSimulation(getStrategy("mainline"), {
    write: (b) => {
      parts.push(b.slice());
      return Promise.resolve();
    },
    close: () => {},
  }, { seed: 5, cpus: 4, durationMs: 400, verify: false, ...options });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function isSample(b: Uint8Array): boolean {
  return new DataView(b.buffer, b.byteOffset).getUint32(0, true) === 9;
}

for (
  const [name, o] of [
    ["stream", {}],
    ["sub-buffers, header padding", { ring: "subbuf", subbufSize: 4096, subbufPadding: "header" }],
  ] as const
) {
  Deno.test(`readWindow (${name}): the window's samples, a fraction of the file read`, async () => {
    const bytes = await capture(o);
    const all: number[] = [];
    const side: number[] = [];
    const full = await CaptureReader.open(captureMemorySource(bytes));
    await full.read((r) => {
      if (isSample(r.bytes)) all.push(r.time);
      else if (r.bytes[0] === 3 || r.bytes[0] === 4 || r.bytes[0] === 7) side.push(r.time);
    });
    full.close();
    for (const [a, b] of [[150e6, 152e6], [10e6, 11e6], [390e6, 500e6]]) {
      const expect = all.filter((t) => t >= a && t <= b).length;
      const reader = await CaptureReader.open(captureMemorySource(bytes));
      const got: number[] = [];
      let symbols = 0;
      let tasks = 0;
      const sum = await reader.readWindow(a, b, (r) => {
        if (isSample(r.bytes)) got.push(r.time);
        else if (r.bytes[0] === 0x02 && r.bytes[1] === 0x4c) symbols++;
        else if (r.bytes[0] === 3 || r.bytes[0] === 4 || r.bytes[0] === 7) tasks++;
      });
      // every COMM / EXIT / FORK up to the window's end, the ones between included
      const expectTasks = side.filter((t) => t <= b).length;
      assert.ok(tasks >= expectTasks, `${tasks} of ${expectTasks} task records`);
      reader.close();
      assert.equal(got.length, expect, `window ${a}-${b}`);
      assert.ok(got.every((t) => t >= a && t <= b));
      assert.ok(symbols > 0, "the first round's symbols are delivered");
      assert.deepEqual(sum.warnings, []);
      assert.ok(
        sum.bytesRead < bytes.length / 4,
        `${sum.bytesRead} of ${bytes.length} bytes read for ${a}-${b}`,
      );
    }
  });
}

Deno.test("readReverse: every record of a forward read, newest round first, newest first", async () => {
  const bytes = await capture({ durationMs: 200 });
  const forward: number[] = [];
  const r1 = await CaptureReader.open(captureMemorySource(bytes));
  await r1.read((r) => {
    if (isSample(r.bytes)) forward.push(r.time);
  });
  r1.close();
  const reverse: number[] = [];
  const r2 = await CaptureReader.open(captureMemorySource(bytes));
  const sum = await r2.readReverse((r) => {
    if (isSample(r.bytes)) reverse.push(r.time);
  });
  r2.close();
  assert.deepEqual(sum.warnings, []);
  assert.ok(sum.rounds > 10);
  assert.equal(reverse.length, forward.length);
  assert.deepEqual([...reverse].sort((a, b) => a - b), [...forward].sort((a, b) => a - b));
  assert.equal(reverse[0], Math.max(...forward));
  // stop early: the newest 50 cost a fraction of the file
  const r3 = await CaptureReader.open(captureMemorySource(bytes));
  let n = 0;
  const early = await r3.readReverse(() => ++n < 50);
  r3.close();
  assert.equal(n, 50);
  assert.ok(early.bytesRead < bytes.length / 4, `${early.bytesRead} of ${bytes.length}`);
});
