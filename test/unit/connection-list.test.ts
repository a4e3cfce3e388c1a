import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionList, type Linked } from "../../src/transport/connection-list.js";

class Item implements Linked<Item> {
  prev: Item | undefined;
  next: Item | undefined;
  listed = false;
  constructor(readonly name: string) {}
}

const names = (list: ConnectionList<Item>) => [...list].map((i) => i.name);

test("holds what was added, newest first, and forgets what was removed from anywhere", () => {
  const list = new ConnectionList<Item>();
  const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => new Item(n)) as [Item, Item, Item, Item];
  for (const i of [a, b, c, d]) list.add(i);
  assert.deepEqual(names(list), ["d", "c", "b", "a"]);
  list.remove(c); // middle
  list.remove(d); // head
  list.remove(a); // tail
  assert.deepEqual(names(list), ["b"]);
  assert.equal(list.size, 1);
  list.remove(b);
  assert.deepEqual(names(list), []);
  assert.equal(list.size, 0);
});

test("removing twice counts once; an item can be added again", () => {
  const list = new ConnectionList<Item>();
  const a = new Item("a");
  const b = new Item("b");
  list.add(a);
  list.add(b);
  list.remove(a);
  list.remove(a);
  assert.equal(list.size, 1);
  assert.deepEqual(names(list), ["b"]);
  list.add(a);
  assert.deepEqual(names(list), ["a", "b"]);
  assert.equal(list.size, 2);
});

test("each item may be removed while the list is walked (how shutdown and the idle sweep close connections)", () => {
  const list = new ConnectionList<Item>();
  for (const n of ["a", "b", "c", "d", "e"]) list.add(new Item(n));
  const seen: string[] = [];
  for (const i of list) {
    seen.push(i.name);
    if (i.name !== "c") list.remove(i);
  }
  assert.deepEqual(seen, ["e", "d", "c", "b", "a"]);
  assert.deepEqual(names(list), ["c"]);
  assert.equal(list.size, 1);
});
