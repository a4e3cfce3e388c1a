/** What the list links: an item carries its own links, so adding and removing allocate nothing. */
export interface Linked<T> {
  prev: T | undefined;
  next: T | undefined;
  /** On the list now (removing twice is harmless). */
  listed: boolean;
}

/**
 * The open connections, as a doubly linked list through the connections themselves. A Map keyed
 * by socket did the same job, but a stock client's connection lives for one line, and that churn
 * of a Map doubled the cost of every young-generation garbage collection: measured, with
 * nothing else changed, 305 ms against 157 ms of scavenges for 120,000 connections.
 */
export class ConnectionList<T extends Linked<T>> {
  private head: T | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(item: T): void {
    item.prev = undefined;
    item.next = this.head;
    if (this.head !== undefined) this.head.prev = item;
    this.head = item;
    item.listed = true;
    this.count++;
  }

  remove(item: T): void {
    if (!item.listed) return;
    if (item.prev !== undefined) item.prev.next = item.next;
    else this.head = item.next;
    if (item.next !== undefined) item.next.prev = item.prev;
    item.prev = item.next = undefined;
    item.listed = false;
    this.count--;
  }

  /** Newest first. Removing the item in hand while iterating is safe. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let item = this.head; item !== undefined; ) {
      const next = item.next;
      yield item;
      item = next;
    }
  }
}
