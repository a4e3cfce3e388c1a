/**
 * Counts by a string key with plain arithmetic, so stages on the ingest path can count
 * what they drop without touching prom-client; the metrics sink reads these at scrape time.
 */
export class CounterMap<K extends string = string> {
  private readonly counts = new Map<K, number>();

  constructor(keys: readonly K[] = []) {
    // Pre-seeding makes every known reason visible as 0 before it first happens.
    for (const key of keys) this.counts.set(key, 0);
  }

  inc(key: K, by = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  get(key: K): number {
    return this.counts.get(key) ?? 0;
  }

  entries(): IterableIterator<[K, number]> {
    return this.counts.entries();
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
}
