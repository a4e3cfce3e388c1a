import type { Database, Statement } from "better-sqlite3";
import { toSqlTime } from "./timestamps.js";
import { usageFromDatabase } from "./queries.js";
import type { UsageView } from "../read-model/usage.js";
import { MIB } from "../util/units.js";
import { LLM_CHANNELS, llmRowsByTs } from "./by-channel.js";

/** Points a history series holds at most: the page never asks SQLite for more. */
export const MAX_POINTS = 500;

/** Seconds per bucket so that `rangeMs` fits in MAX_POINTS buckets, at least `minS`. */
export function bucketSeconds(rangeMs: number, minS = 15): number {
  return Math.max(minS, Math.ceil(rangeMs / 1000 / MAX_POINTS));
}

/** Unix seconds of a stored timestamp (KissBot's ISO form), in SQL. */
const EPOCH = "CAST(strftime('%s', substr(ts, 1, 19)) AS INTEGER)";

export interface SpendRow {
  channel: string;
  model: string;
  feature: string;
  calls_today: number;
  cost_today_usd: number | null;
  tokens_today: number;
  calls_month: number;
  cost_month_usd: number | null;
  tokens_month: number;
}

/**
 * LLM spend of the current day and month by channel × model × feature, from llm_usage (the
 * bridge's rows and the bots' own): what a restart does not reset. The period starts are given
 * by the caller (its clock and time zone decide them). Only rows with afterId < id ≤ upToId are
 * read (by primary key, which only grows): the caller adds them to what it has, and reads a
 * period of any size in chunks of ids, each read short. `maxId` is the largest id when the rows
 * were read, in the same transaction.
 */
export function spendFromDatabase(db: Database, a: { dayStartMs: number; monthStartMs: number; afterId: number; upToId?: number; botsOnly?: boolean }): { rows: SpendRow[]; maxId: number } {
  const day = toSqlTime(a.dayStartMs);
  return idRangeRead<SpendRow>(db, db.prepare(spendSql(a.botsOnly)), [day, day, day], a.afterId, a.upToId, Math.min(a.monthStartMs, a.dayStartMs));
}

/** `botsOnly`: only the rows the bots wrote themselves (the bridge's own are summed as it commits them). */
const bots = (botsOnly: boolean | undefined) => (botsOnly === true ? " AND source IS NOT 'socket'" : "");

/**
 * A range of ids by primary key, from a time on: `+ts` keeps SQLite from walking the period by
 * an index on ts instead, should a user have made one (a test checks the plans).
 */
const ID_RANGE_WHERE = "id > ? AND id <= ? AND +ts >= ?";

/**
 * The rows of `select` (whose WHERE is ID_RANGE_WHERE, after `leading` parameters) and the
 * largest id, in one transaction: ids only grow, so every committed row up to it has been seen.
 */
function idRangeRead<T>(db: Database, select: Statement, leading: unknown[], afterId: number, upToId: number | undefined, sinceMs: number): { rows: T[]; maxId: number } {
  const maxId = db.prepare("SELECT COALESCE(MAX(id), 0) FROM llm_usage").pluck();
  return db.transaction(() => ({ rows: select.all(...leading, afterId, upToId ?? Number.MAX_SAFE_INTEGER, toSqlTime(sinceMs)) as T[], maxId: maxId.get() as number }))();
}

/** The spend read: a range of ids, never the whole table. */
export function spendSql(botsOnly?: boolean): string {
  return `SELECT channel, model, feature,
            SUM(ts >= ?) AS calls_today,
            SUM(CASE WHEN ts >= ? THEN cost_usd END) AS cost_today_usd,
            COALESCE(SUM(CASE WHEN ts >= ? THEN tokens_in + tokens_out END), 0) AS tokens_today,
            COUNT(*) AS calls_month, SUM(cost_usd) AS cost_month_usd, COALESCE(SUM(tokens_in + tokens_out), 0) AS tokens_month
     FROM llm_usage WHERE ${ID_RANGE_WHERE}${bots(botsOnly)} GROUP BY channel, model, feature LIMIT ${MAX_SPEND_ROWS + 1}`;
}

/**
 * Where a full read of the rows since `sinceMs` starts (just below the smallest id among them)
 * and ends (the largest id now), for spend's month and latency's hour. The smallest id comes
 * from the period's entries of KissBot's (channel, ts) index, channel by channel, never from a
 * walk of the table.
 */
export function idRangeFromDatabase(db: Database, a: { sinceMs: number }): { afterId: number; maxId: number } {
  const r = db.prepare(ID_RANGE_SQL).get(toSqlTime(a.sinceMs)) as { first: number | null; last: number };
  return { afterId: r.first === null ? r.last : r.first - 1, maxId: r.last };
}

export const ID_RANGE_SQL = `WITH RECURSIVE ${LLM_CHANNELS}
  SELECT (SELECT MIN(llm_usage.id) FROM ${llmRowsByTs(">=")}) AS first, (SELECT COALESCE(MAX(id), 0) FROM llm_usage) AS last`;

/**
 * channel × model × feature groups of spend held at most (a read returns one more, so that
 * what is left out is seen and counted).
 */
export const MAX_SPEND_ROWS = 20_000;

/**
 * Latency histogram cells: buckets of 1% of (latency + 1 ms) on a log scale, so percentiles
 * estimated from them are within half a percent; each cell keeps the sum of its latencies, so a
 * bucket holding one distinct value gives it exactly.
 */
export const LATENCY_BUCKETS_PER_E = 100;

/** Calls of one model in one UTC minute ("YYYY-MM-DDTHH:MM") and latency bucket (null: no latency). */
export type LatencyCell = [minute: string, model: string, bucket: number | null, calls: number, sumMs: number | null];

/** Cells a latency read returns at most (one more, so a cut is seen). */
export const MAX_LATENCY_CELLS = 200_000;

/**
 * The calls since `sinceMs` with afterId < id ≤ upToId (by primary key) as per-minute latency
 * histograms by model: what the status page's last hour is computed from without reading the
 * hour again every minute. `maxId` as in spendFromDatabase.
 */
export function latencyFromDatabase(db: Database, a: { sinceMs: number; afterId: number; upToId?: number; botsOnly?: boolean }): { cells: LatencyCell[]; maxId: number } {
  const { rows, maxId } = idRangeRead<LatencyCell>(db, db.prepare(latencySql(a.botsOnly)).raw(true), [], a.afterId, a.upToId, a.sinceMs);
  return { cells: rows, maxId };
}

/** The latency read: a range of ids, never the whole table. */
export function latencySql(botsOnly?: boolean): string {
  return `SELECT replace(substr(ts, 1, 16), ' ', 'T'), model, CAST(round(ln(latency_ms + 1) * ${LATENCY_BUCKETS_PER_E}) AS INTEGER), COUNT(*), SUM(latency_ms)
     FROM llm_usage WHERE ${ID_RANGE_WHERE}${bots(botsOnly)} GROUP BY 1, 2, 3 LIMIT ${MAX_LATENCY_CELLS + 1}`;
}

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
