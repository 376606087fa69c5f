import assert from "node:assert/strict";
import { type ByteReader, ChunkedInput, readerFromStream } from "./chunked.ts";

function memoryReader(bytes: Uint8Array, maxPerRead: number): ByteReader & { reads: number } {
  let pos = 0;
  return {
    reads: 0,
    read(p: Uint8Array): Promise<number | null> {
      this.reads++;
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(p.length, maxPerRead, bytes.length - pos);
      p.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
  };
}

const DATA = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);

Deno.test("ChunkedInput: ensure/skip sees the input in order for any chunk size", async () => {
  for (const chunkSize of [1, 2, 3, 7, 64, 1000, 1 << 20]) {
    const input = new ChunkedInput(memoryReader(DATA, 5000), chunkSize);
    let pos = 0;
    let step = 1;
    while (await input.ensure(step)) {
      assert.equal(input.bytes[input.start], DATA[pos]);
      assert.equal(input.bytes[input.start + step - 1], DATA[pos + step - 1]);
      input.skip(step);
      pos += step;
      step = (step * 7 + 3) % 70_000 + 1;
      assert.equal(input.position, pos);
    }
    assert.ok(DATA.length - pos < step, `chunk ${chunkSize}`);
    assert.equal(input.bytesRead, DATA.length);
    // The buffer never grows beyond one chunk plus one record.
    assert.ok(input.bytes.length <= chunkSize + 65543);
  }
});

Deno.test("ChunkedInput: limit stops reading; take copies", async () => {
  const input = new ChunkedInput(memoryReader(DATA, 100), 64, 10, 1000);
  const head = await input.take(500);
  assert.deepEqual(head, DATA.subarray(0, 500));
  assert.equal(input.position, 510);
  assert.equal(await input.ensure(501), false);
  assert.equal(input.available, 500);
  assert.equal(input.bytesRead, 1000);
});

Deno.test("ChunkedInput: rejects a zero chunk size", () => {
  assert.throws(() => new ChunkedInput(memoryReader(DATA, 1), 0), RangeError);
});

Deno.test("readerFromStream: splits stream chunks into the caller's buffers", async () => {
  const stream = ReadableStream.from([DATA.subarray(0, 10), DATA.subarray(10, 100_000)]);
  const input = new ChunkedInput(readerFromStream(stream), 333);
  const all = await input.take(100_000);
  assert.deepEqual(all, DATA.subarray(0, 100_000));
  assert.equal(await input.ensure(1), false);
});
