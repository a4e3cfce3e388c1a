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

test("a partial line costs at most twice its bytes (plus 256) against the shared budget, given back when the line ends", () => {
  let used = 0;
  const budget = { take: (n: number) => ((used += n), true), give: (n: number) => (used -= n) };
  const lines: string[] = [];
  const s = new LineSplitter(65536, { line: (l) => lines.push(l.toString()), tooLong: () => {} }, budget);
  for (let i = 0; i < 10_000; i++) {
    s.push(Buffer.from("a"));
    assert.ok(used <= 2 * (i + 1) + 256, `${used} bytes charged for ${i + 1} held`);
  }
  s.push(Buffer.from("\n"));
  assert.equal(lines[0]!.length, 10_000);
  assert.equal(used, 0);
});

test("a splitter refused room by the budget drops its partial line and reports it once", () => {
  let over = 0;
  const lines: string[] = [];
  const s = new LineSplitter(65536, { line: (l) => lines.push(l.toString()), tooLong: () => {}, overBudget: () => over++ }, { take: () => false, give: () => {} });
  s.push(Buffer.from("part of a line"));
  s.push(Buffer.from(" and more\nnext\n"));
  assert.equal(over, 1);
  assert.deepEqual(lines, ["next"]);
});
