import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { forEachLine, LineBatcher, type LineBatch } from "../../src/transport/line-batch.js";

/** What the main thread gets from the batches: every line, in order, and the too-long count. */
function unbatch(batches: LineBatch[]): { lines: string[]; tooLong: number } {
  const lines: string[] = [];
  let tooLong = 0;
  for (const b of batches) {
    let n = 0;
    forEachLine(new Uint8Array(b.bytes), (l) => {
      lines.push(l.toString("latin1"));
      n++;
    });
    assert.equal(n, b.lines, "a batch's count matches its lines");
    tooLong += b.tooLong;
  }
  return { lines, tooLong };
}

test("every line handed to the batcher reaches the other side once, whole and in order, whatever the batch size", () => {
  const line = fc.string({ unit: fc.integer({ min: 0, max: 255 }).filter((c) => c !== 0x0a).map((c) => String.fromCharCode(c)), maxLength: 300 });
  fc.assert(
    fc.property(fc.array(fc.oneof(line, fc.constant(null)), { maxLength: 200 }), fc.integer({ min: 1, max: 2048 }), (items, maxBatch) => {
      const batches: LineBatch[] = [];
      const b = new LineBatcher((batch) => batches.push(batch), maxBatch);
      for (const item of items) {
        if (item === null) b.tooLong();
        else b.line(Buffer.from(item, "latin1"));
      }
      b.flush();
      const got = unbatch(batches);
      assert.deepEqual(got.lines, items.filter((i) => i !== null));
      assert.equal(got.tooLong, items.filter((i) => i === null).length);
      // Each batch is handed on as soon as it holds maxBatch bytes.
      for (const batch of batches.slice(0, -1)) assert.ok(batch.bytes.byteLength <= maxBatch + 301);
    }),
  );
});

test("lines that come within a millisecond go over in one batch, handed on after it", async () => {
  const batches: LineBatch[] = [];
  const b = new LineBatcher((batch) => batches.push(batch));
  for (let i = 0; i < 1000; i++) b.line(Buffer.from(`{"type":"heartbeat","n":${i}}`));
  b.tooLong();
  assert.equal(batches.length, 0, "nothing before the turn ends");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(batches.length, 1);
  assert.equal(batches[0]!.lines, 1000);
  assert.equal(batches[0]!.tooLong, 1);
  assert.equal(unbatch(batches).lines[999], `{"type":"heartbeat","n":999}`);
});

test("a batch's buffer is its own, so it can be transferred, and the batcher's next lines do not touch it", () => {
  const batches: LineBatch[] = [];
  const b = new LineBatcher((batch) => batches.push(batch));
  b.line(Buffer.from("first"));
  b.flush();
  b.line(Buffer.from("XXXXXXXX"));
  b.flush();
  assert.equal(Buffer.from(batches[0]!.bytes).toString(), "first\n");
  assert.equal(batches[0]!.bytes.byteLength, 6);
  // Transferring detaches the buffer; the batcher keeps working.
  structuredClone(batches[1]!.bytes, { transfer: [batches[1]!.bytes] });
  b.line(Buffer.from("third"));
  b.flush();
  assert.equal(Buffer.from(batches[2]!.bytes).toString(), "third\n");
});
