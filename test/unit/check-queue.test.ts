import { test } from "node:test";
import assert from "node:assert/strict";
import { CheckQueue } from "../../src/http/check-queue.js";

test("password checks run one at a time, in turn from each address, within their bounds", async () => {
  const q = new CheckQueue(2, 5);
  const order: string[] = [];
  let release: () => void = () => {};
  const job = (name: string) => () => {
    order.push(name);
    return new Promise<void>((r) => (release = r));
  };
  assert.equal(q.offer("flood", job("f1")), true, "runs at once");
  assert.equal(q.offer("flood", job("f2")), true);
  assert.equal(q.offer("flood", job("f3")), true);
  assert.equal(q.offer("flood", job("f4")), false, "two waiting from one address at most");
  assert.equal(q.offer("scraper", job("s1")), true, "another address still gets in");
  assert.equal(q.offer("other", job("o1")), true);
  assert.equal(q.offer("other", job("o2")), true);
  assert.equal(q.offer("fourth", job("x1")), false, "five waiting in all at most");
  assert.deepEqual(order, ["f1"], "one at a time");
  for (let i = 0; i < 6; i++) {
    release();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(order, ["f1", "f2", "s1", "o1", "f3", "o2"], "each address in turn: the scraper does not wait behind the flood");
});
