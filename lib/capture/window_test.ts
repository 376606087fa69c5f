import assert from "node:assert/strict";
import { captureMemorySource, CaptureReader } from "./reader.ts";
import { isSidebandType } from "./format.ts";
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

for (
  const [name, o] of [["stream", {}], ["flight recorder (tail-push)", {
    overwriteDesign: "tail-push",
  }]] as const
) {
  Deno.test(`sampleTimes (${name}): the first and last sample time of a whole read, from a few rounds`, async () => {
    const bytes = await capture({ durationMs: 1000, ...o });
    const times: number[] = [];
    const r1 = await CaptureReader.open(captureMemorySource(bytes));
    await r1.read((r) => {
      if (isSample(r.bytes)) times.push(r.time);
    });
    r1.close();
    const r2 = await CaptureReader.open(captureMemorySource(bytes));
    const t = await r2.sampleTimes();
    r2.close();
    assert.ok(t);
    assert.equal(t.first, Math.min(...times));
    assert.equal(t.last, Math.max(...times));
    // two rounds from each end (of 100), plus the backward scan's 64 KiB windows
    assert.ok(t.bytesRead < bytes.length / 10, `${t.bytesRead} of ${bytes.length}`);
  });
}

Deno.test("readSideBand: every side-band record of a whole read, without the samples", async () => {
  const bytes = await capture({ durationMs: 300 });
  const whole: string[] = [];
  const r1 = await CaptureReader.open(captureMemorySource(bytes));
  await r1.read((r) => {
    const type = new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(0, true);
    if (isSidebandType(type)) whole.push(`${type}@${r.time}`);
  });
  r1.close();
  const side: string[] = [];
  const r2 = await CaptureReader.open(captureMemorySource(bytes));
  const sum = await r2.readSideBand((r) => {
    const type = new DataView(r.bytes.buffer, r.bytes.byteOffset).getUint32(0, true);
    assert.ok(isSidebandType(type));
    side.push(`${type}@${r.time}`);
  });
  r2.close();
  assert.deepEqual(sum.warnings, []);
  assert.ok(whole.length > 100);
  assert.deepEqual([...side].sort(), [...whole].sort());
  assert.ok(sum.bytesRead < bytes.length / 3, `${sum.bytesRead} of ${bytes.length}`);
});

Deno.test("readReverse: onRound is called per round and stops the read", async () => {
  const bytes = await capture({ durationMs: 200 });
  const r = await CaptureReader.open(captureMemorySource(bytes));
  let rounds = 0;
  const sum = await r.readReverse(() => {}, {}, () => ++rounds < 3);
  r.close();
  assert.equal(rounds, 3);
  assert.equal(sum.rounds, 3);
});
