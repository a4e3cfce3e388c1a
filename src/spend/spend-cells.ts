/**
 * Latency histogram cells: buckets of 1% of (latency + 1 ms) on a log scale, so percentiles
 * estimated from them are within half a percent; each cell keeps the sum of its latencies, so a
 * bucket holding one distinct value gives it exactly.
 */
export const LATENCY_BUCKETS_PER_E = 100;

/** Calls of one model in one UTC minute ("YYYY-MM-DDTHH:MM") and latency bucket (null: no latency). */
export type LatencyCell = [minute: string, model: string, bucket: number | null, calls: number, sumMs: number | null];

/**
 * A commit's rows as the writer holds them, strings given as their indexes in `strings` (cheap
 * map keys); a cost source of -1 is none. Owned here, so spend needs nothing of the writer's.
 */
export interface IndexedUsageRows {
  strings: readonly string[];
  forEach(each: (ts: number, channel: number, model: number, feature: number, tokensIn: number, tokensOut: number, latencyMs: number | null, costUsd: number | null, costSource: number) => void): void;
}

/** Calls of one channel × model × feature in one UTC minute ("YYYY-MM-DDTHH:MM"). */
export type SpendCell = [minute: string, channel: string, model: string, feature: string, calls: number, costUsd: number | null, tokens: number];

/**
 * What a commit added to llm_usage from the socket, summed on the writer thread as spend and
 * latency read them (see spend/spend-watch.ts): the ids the rows took, firstId to lastId (one
 * transaction, so nothing else between them), by minute.
 */
export interface CommittedUsage {
  firstId: number;
  lastId: number;
  spend: SpendCell[];
  latency: LatencyCell[];
}

/**
 * The same sums as spendSql and latencySql over these rows, grouped by minute (a day or month
 * always starts on a minute, in any time zone). Keyed by the strings' indexes in the columns:
 * two lookups of numbers a row (0.6 µs a row with keys built from the text, measured).
 */
export function aggregateUsage(c: IndexedUsageRows, firstId: number, lastId: number): CommittedUsage {
  const { strings } = c;
  const n = strings.length;
  const spend = new Map<number, Map<number, SpendCell>>();
  const latency = new Map<number, Map<number, LatencyCell>>();
  const spendCells: SpendCell[] = [];
  const latencyCells: LatencyCell[] = [];
  // Each timestamp's minute, numbered: rows share a few timestamps, and those a minute or two.
  const minuteOfTs = new Map<number, number>();
  const minuteIds = new Map<string, number>();
  const minuteNames: string[] = [];
  const inner = <T>(m: Map<number, Map<number, T>>, key: number): Map<number, T> => {
    let i = m.get(key);
    if (i === undefined) m.set(key, (i = new Map()));
    return i;
  };
  c.forEach((ts, channel, model, feature, tokensIn, tokensOut, latencyMs, costUsd) => {
    let minute = minuteOfTs.get(ts);
    if (minute === undefined) {
      const name = strings[ts]!.slice(0, 16).replace(" ", "T");
      minute = minuteIds.get(name);
      if (minute === undefined) minuteIds.set(name, (minute = minuteNames.push(name) - 1));
      minuteOfTs.set(ts, minute);
    }
    const byChannel = inner(spend, minute * n + channel);
    let s = byChannel.get(model * n + feature);
    if (s === undefined) {
      byChannel.set(model * n + feature, (s = [minuteNames[minute]!, strings[channel]!, strings[model]!, strings[feature]!, 0, null, 0]));
      spendCells.push(s);
    }
    s[4]++;
    if (costUsd !== null) s[5] = (s[5] ?? 0) + costUsd;
    s[6] += tokensIn + tokensOut;
    const bucket = latencyMs === null ? null : Math.round(Math.log(latencyMs + 1) * LATENCY_BUCKETS_PER_E);
    const byModel = inner(latency, minute * n + model);
    let l = byModel.get(bucket ?? NaN);
    if (l === undefined) {
      byModel.set(bucket ?? NaN, (l = [minuteNames[minute]!, strings[model]!, bucket, 0, null]));
      latencyCells.push(l);
    }
    l[3]++;
    if (latencyMs !== null) l[4] = (l[4] ?? 0) + latencyMs;
  });
  return { firstId, lastId, spend: spendCells, latency: latencyCells };
}
