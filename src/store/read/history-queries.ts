import type { Database } from "better-sqlite3";
import { toSqlTime } from "../../db/timestamps.js";
import { usageFromDatabase } from "./queries.js";
import type { UsageView } from "../../read-model/usage.js";
import { MIB } from "../../util/units.js";

/** Points a history series holds at most: the page never asks SQLite for more. */
export const MAX_POINTS = 500;

/** Seconds per bucket so that `rangeMs` fits in MAX_POINTS buckets, at least `minS`. */
export function bucketSeconds(rangeMs: number, minS = 15): number {
  return Math.max(minS, Math.ceil(rangeMs / 1000 / MAX_POINTS));
}

/** Unix seconds of a stored timestamp (KissBot's ISO form), in SQL. */
const EPOCH = "CAST(strftime('%s', substr(ts, 1, 19)) AS INTEGER)";

export interface BotHistoryView {
  range_seconds: number;
  bucket_seconds: number;
  /** Unix seconds, one per bucket with samples. */
  resources: { t: number[]; cpu_ratio: (number | null)[]; rss_bytes: (number | null)[] };
  llm: { t: number[]; calls: number[]; tokens: number[]; cost_usd: number[] };
  by_model: UsageView[];
  by_feature: UsageView[];
}

/** One bot's CPU, memory and LLM use over a range, down-sampled to MAX_POINTS buckets at most. */
export function botHistoryFromDatabase(db: Database, a: { channel: string; nowMs: number; rangeMs: number }): BotHistoryView {
  const since = a.nowMs - a.rangeMs;
  const bucket = bucketSeconds(a.rangeMs);
  const resources = db
    .prepare(
      `SELECT (${EPOCH} / ?) * ? AS t, AVG(cpu_pct) / 100.0 AS cpu, AVG(rss_mb) AS rss
       FROM bot_metrics WHERE channel = ? AND ts >= ? GROUP BY 1 ORDER BY 1 LIMIT ${MAX_POINTS + 1}`,
    )
    .raw(true)
    .all(bucket, bucket, a.channel, toSqlTime(since)) as [number, number | null, number | null][];
  const llm = db
    .prepare(
      `SELECT (${EPOCH} / ?) * ? AS t, COUNT(*), COALESCE(SUM(tokens_in + tokens_out), 0), COALESCE(SUM(cost_usd), 0)
       FROM llm_usage WHERE channel = ? AND ts >= ? GROUP BY 1 ORDER BY 1 LIMIT ${MAX_POINTS + 1}`,
    )
    .raw(true)
    .all(bucket, bucket, a.channel, toSqlTime(since)) as [number, number, number, number][];
  return {
    range_seconds: a.rangeMs / 1000,
    bucket_seconds: bucket,
    resources: { t: resources.map((r) => r[0]), cpu_ratio: resources.map((r) => r[1]), rss_bytes: resources.map((r) => (r[2] === null ? null : r[2] * MIB)) },
    llm: { t: llm.map((r) => r[0]), calls: llm.map((r) => r[1]), tokens: llm.map((r) => r[2]), cost_usd: llm.map((r) => r[3]) },
    by_model: usageFromDatabase(db, since, "model", a.channel),
    by_feature: usageFromDatabase(db, since, "feature", a.channel),
  };
}
