/** An llm_usage row as the writer inserts it, in its columns' order. */
export type UsageRow = [ts: string, channel: string, model: string, feature: string, tokensIn: number, tokensOut: number, latencyMs: number | null, costUsd: number | null, costSource: string | null];

/**
 * llm_usage rows as they are queued and cross to the writer thread: their numbers in one
 * Float64Array, copied as one block, and each distinct string once. A burst's rows repeat a few
 * channels, models and timestamps. Cloned as an array per row, 5,000 rows cost 0.3–0.7 µs a row
 * to serialize on the thread that reads the socket and 0.3–1.5 µs to rebuild on the writer; as
 * columns, 0.15–0.2 µs and under 0.1 µs (measured here, after warm-up).
 */
export interface UsageColumns {
  strings: string[];
  /** FIELDS cells a row, in UsageRow order: strings by their index, null as NaN (numbers) or NONE (strings). */
  cells: Float64Array<ArrayBuffer>;
}

const FIELDS = 9;
const NONE = -1;
const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
/** Room for this many rows at first; a burst's queue doubles it a few times, once. */
const INITIAL_ROWS = 1024;

/**
 * llm_usage rows queued as columns as they arrive: no array per row, and a string repeated in
 * the batch (a channel, a model, the millisecond's timestamp) is held once, so a queued row
 * keeps no string of its own alive until the commit.
 */
export class UsageColumnsQueue {
  private index = new Map<string, number>();
  private strings: string[] = [];
  private cells: Float64Array<ArrayBuffer>;
  private rows = 0;

  constructor(initialRows = INITIAL_ROWS) {
    this.cells = new Float64Array(Math.max(1, initialRows) * FIELDS);
  }

  get length(): number {
    return this.rows;
  }

  push(ts: string, channel: string, model: string, feature: string, tokensIn: number, tokensOut: number, latencyMs: number | null, costUsd: number | null, costSource: string | null): void {
    let o = this.rows * FIELDS;
    if (o + FIELDS > this.cells.length) {
      const grown = new Float64Array(this.cells.length * 2);
      grown.set(this.cells);
      this.cells = grown;
    }
    const cells = this.cells;
    cells[o++] = this.id(ts);
    cells[o++] = this.id(channel);
    cells[o++] = this.id(model);
    cells[o++] = this.id(feature);
    cells[o++] = tokensIn;
    cells[o++] = tokensOut;
    cells[o++] = latencyMs ?? NaN;
    cells[o++] = costUsd ?? NaN;
    cells[o] = costSource === null ? NONE : this.id(costSource);
    this.rows++;
  }

  /** Adds up to `max` of `c`'s rows (all by default), in order. */
  pushAll(c: UsageColumns, max = Infinity): void {
    let left = max;
    for (const row of rowsOf(c)) {
      if (left-- <= 0) break;
      this.push(...row);
    }
  }

  /** The rows queued so far, as columns; the queue is empty afterwards. */
  take(): UsageColumns {
    const taken = { strings: this.strings, cells: this.cells.slice(0, this.rows * FIELDS) };
    this.index = new Map();
    this.strings = [];
    this.rows = 0;
    return taken;
  }

  private id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.index.set(s, i);
      this.strings.push(s);
    }
    return i;
  }
}

/** Rows as columns, in order (the queue's form, built from arrays: tests and the hand-off bench). */
export function toColumns(rows: readonly UsageRow[]): UsageColumns {
  const q = new UsageColumnsQueue(rows.length);
  for (const r of rows) q.push(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]);
  return q.take();
}

export function rowCount(c: UsageColumns): number {
  return c.cells.length / FIELDS;
}

/** The rows one by one, in UsageRow order (for SQLite to read as a virtual table). */
export function* rowsOf(c: UsageColumns): Generator<UsageRow> {
  const { strings, cells } = c;
  for (let o = 0; o < cells.length; o += FIELDS) {
    const costSource = cells[o + 8]!;
    yield [strings[cells[o]!]!, strings[cells[o + 1]!]!, strings[cells[o + 2]!]!, strings[cells[o + 3]!]!, cells[o + 4]!, cells[o + 5]!, orNull(cells[o + 6]!), orNull(cells[o + 7]!), costSource === NONE ? null : strings[costSource]!];
  }
}

/** The rows as spend's cells read them (spend/spend-cells.ts, IndexedUsageRows). */
export function indexed(c: UsageColumns): { strings: readonly string[]; forEach: (each: Parameters<typeof forEachRowIndexed>[1]) => void } {
  return { strings: c.strings, forEach: (each) => forEachRowIndexed(c, each) };
}

/** Every row's values, the strings given as their indexes in `c.strings` (cheap map keys); no cost source is NONE. */
export function forEachRowIndexed(
  c: UsageColumns,
  each: (ts: number, channel: number, model: number, feature: number, tokensIn: number, tokensOut: number, latencyMs: number | null, costUsd: number | null, costSource: number) => void,
): void {
  const { cells } = c;
  for (let o = 0; o < cells.length; o += FIELDS) each(cells[o]!, cells[o + 1]!, cells[o + 2]!, cells[o + 3]!, cells[o + 4]!, cells[o + 5]!, orNull(cells[o + 6]!), orNull(cells[o + 7]!), cells[o + 8]!);
}
