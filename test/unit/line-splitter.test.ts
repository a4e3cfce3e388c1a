import { test } from "node:test";
import assert from "node:assert/strict";
import { LineSplitter } from "../../src/transport/line-splitter.js";

function split(max: number, chunks: string[], end = true) {
  const lines: string[] = [];
  let tooLong = 0;
  const s = new LineSplitter(max, { line: (l) => lines.push(l.toString()), tooLong: () => tooLong++ });
  for (const c of chunks) s.push(Buffer.from(c));
  if (end) s.end();
  return { lines, tooLong };
}

test("splits lines across and within chunks, strips \\r, keeps a final unterminated line", () => {
  assert.deepEqual(split(100, ["a\nb", "c\r\n", "d\n\ne"]), { lines: ["a", "bc", "d", "", "e"], tooLong: 0 });
});

test("a line of exactly the maximum passes; one byte more is discarded up to its newline", () => {
  assert.deepEqual(split(5, ["12345\n123456\nok\n"]), { lines: ["12345", "ok"], tooLong: 1 });
  assert.deepEqual(split(5, ["12345\r\n"]), { lines: ["12345"], tooLong: 0 });
});

test("an over-long line spread over chunks is reported once and the next line survives", () => {
  assert.deepEqual(split(4, ["abc", "def", "ghi", "jkl\nnext\n"]), { lines: ["next"], tooLong: 1 });
});

test("an over-long line with no newline before the end is dropped, not emitted", () => {
  assert.deepEqual(split(4, ["abcdefgh"]), { lines: [], tooLong: 1 });
});
