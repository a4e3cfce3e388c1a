import type { Database, Statement } from "better-sqlite3";
import { toSqlTime } from "../db/timestamps.js";
import { LLM_CHANNELS, llmRowsByTs } from "../db/by-channel.js";
import { LATENCY_BUCKETS_PER_E, type LatencyCell } from "./spend-cells.js";

/**
 * Spend's and latency's reads of llm_usage, run on the database reader thread (store/read):
 * by ranges of ids, never the whole table.
 */

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
