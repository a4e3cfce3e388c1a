import type { Database } from "better-sqlite3";
import type { RestoredBot } from "../../registry/bot-registry.js";
import type { Features } from "../../protocol/messages.js";
import { fromSqlTime, toSqlTime } from "../../db/timestamps.js";
import { NOTIFY_STATE_KEY } from "../../db/schema.js";
import { MIB } from "../../util/units.js";
import { localDay, periodStarts } from "../../calendar/period.js";
import { LLM_CHANNELS, llmRowsByTs } from "../../db/by-channel.js";
import { MAX_USAGE_GROUPS, type UsageGroup, type UsageView } from "../../read-model/usage.js";
import { snoozeView, type BotView } from "../../read-model/bots.js";
import { activeSnoozes } from "../../notify/snoozes.js";

function parseFeatures(text: string | null): Features | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Features) : null;
  } catch {
    return null;
  }
}

type StatusRow = { channel: string; pid: number; status: string; features_json: string | null; registered_at: string | null; last_seen: string | null; pid_start_time: number | null };

const STATUS_COLUMNS = "channel, pid, status, features_json, registered_at, last_seen, pid_start_time";

/** Bots last seen online, stale or dead (still registered): the ones a restarted bridge brings back. */
export function restorableBots(db: Database, now: number): RestoredBot[] {
  const rows = db.prepare(`SELECT ${STATUS_COLUMNS} FROM bot_status WHERE status IN ('online', 'stale', 'dead')`).all() as StatusRow[];
  return rows.map((r) => ({
    status: r.status as RestoredBot["status"],
    channel: r.channel,
    pid: r.pid,
    features: parseFeatures(r.features_json),
    registeredAt: fromSqlTime(r.registered_at) ?? now,
    lastHeartbeatAt: fromSqlTime(r.last_seen),
    startTime: r.pid_start_time,
  }));
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Bots a status answer from the database holds at most (the bridge's own --max-bots bound is lower). */
const MAX_STATUS_ROWS = 100_000;

/** The notifier's state as the last run saved it, read once at start. */
export function savedNotifyState(db: Database): string | undefined {
  const row = db.prepare("SELECT value FROM notify_state WHERE key = ?").get(NOTIFY_STATE_KEY) as { value: string } | undefined;
  return row?.value;
}

/** Bots as the database last knew them (the bridge not running), with each one's latest sample. */
export function botsFromDatabase(db: Database, now: number): BotView[] {
  const rows = db.prepare(`SELECT ${STATUS_COLUMNS} FROM bot_status ORDER BY channel LIMIT ${MAX_STATUS_ROWS}`).all() as StatusRow[];
  const samples = new Map(
    (db.prepare("SELECT channel, rss_mb, cpu_pct FROM bot_metrics WHERE rowid IN (SELECT MAX(rowid) FROM bot_metrics GROUP BY channel)").all() as { channel: string; rss_mb: number | null; cpu_pct: number | null }[]).map((s) => [s.channel, s]),
  );
  const snoozes = new Map(activeSnoozes(db, now).map((s) => [s.channel, s]));
  return rows.map((r) => {
    const registered = fromSqlTime(r.registered_at);
    const heartbeat = fromSqlTime(r.last_seen);
    const sample = samples.get(r.channel);
    const sign = heartbeat ?? registered;
    // Read while no bridge runs: a bot that left or died has no uptime, and one that was running
    // is counted up to its last sign of life, not up to now (nothing says it still runs).
    const running = r.status === "online" || r.status === "stale";
    return {
      channel: r.channel,
      status: r.status,
      pid: r.pid,
      registered_at: iso(registered),
      uptime_seconds: registered === null || !running || sign === null ? null : (sign - registered) / 1000,
      last_heartbeat: iso(heartbeat),
      heartbeat_age_seconds: sign === null ? null : (now - sign) / 1000,
      cpu_ratio: sample?.cpu_pct == null ? null : sample.cpu_pct / 100,
      rss_bytes: sample?.rss_mb == null ? null : sample.rss_mb * MIB,
      features: parseFeatures(r.features_json),
      snooze: snoozeView(snoozes.get(r.channel)),
    };
  });
}

/**
 * LLM usage since `sinceMs`, grouped by channel, model or feature (of one channel when given):
 * calls, tokens, mean, p50 and p95 latency (nearest rank), cost. The same query serves the API,
 * the CLI and the status page.
 */
export function usageFromDatabase(db: Database, sinceMs: number, by: UsageGroup, channel?: string): UsageView[] {
  // `by` is one of USAGE_GROUPS, never user text.
  const columns = `${by} AS key, tokens_in, tokens_out, latency_ms, cost_usd`;
  const since = toSqlTime(sinceMs);
  if (channel !== undefined) return usageQuery(db, "", `SELECT ${columns} FROM llm_usage WHERE channel = ? AND ts >= ?`, "tokens_in + tokens_out DESC, key", [channel, since]);
  return usageQuery(db, `${LLM_CHANNELS}, `, `SELECT ${columns} FROM ${llmRowsByTs(">=")}`, "tokens_in + tokens_out DESC, key", [since]);
}

/**
 * LLM usage by calendar day in `timeZone` (YYYY-MM-DD, oldest first), from the day holding
 * `sinceMs` to today: for accounting. Days are cut at each local midnight, DST included.
 */
export function usageByDayFromDatabase(db: Database, sinceMs: number, nowMs: number, timeZone: string): UsageView[] {
  const days: [string, string, string][] = [];
  let start = periodStarts(sinceMs, timeZone).dayStartMs;
  while (start <= nowMs && days.length < 3700) {
    const next = periodStarts(start, timeZone).nextDayStartMs;
    days.push([localDay(start, timeZone), toSqlTime(start), toSqlTime(next)]);
    start = next;
  }
  if (days.length === 0) return [];
  const values = days.map(() => "(?, ?, ?)").join(", ");
  // Day by day, then channel by channel: each is one seek of KissBot's (channel, ts) index.
  const recent = `SELECT days.key AS key, tokens_in, tokens_out, latency_ms, cost_usd
    FROM days CROSS JOIN llm_channels CROSS JOIN llm_usage ON llm_usage.channel = llm_channels.name AND llm_usage.ts >= days.start AND llm_usage.ts < days.end`;
  return usageQuery(db, `days(key, start, end) AS (VALUES ${values}), ${LLM_CHANNELS}, `, recent, "key", days.flat());
}

function usageQuery(db: Database, ctes: string, recent: string, order: string, params: unknown[]): UsageView[] {
  return db
    .prepare(
      `WITH RECURSIVE ${ctes}recent AS (${recent}), totals AS (
         SELECT key, COUNT(*) AS calls, COALESCE(SUM(tokens_in), 0) AS tokens_in, COALESCE(SUM(tokens_out), 0) AS tokens_out,
                AVG(latency_ms) AS mean_latency_ms, SUM(cost_usd) AS cost_usd
         FROM recent GROUP BY key
       ), ranked AS (
         SELECT key, latency_ms, ROW_NUMBER() OVER (PARTITION BY key ORDER BY latency_ms) AS rn, COUNT(*) OVER (PARTITION BY key) AS n
         FROM recent WHERE latency_ms IS NOT NULL
       ), quantiles AS (
         SELECT key, MIN(CASE WHEN rn * 100 >= 50 * n THEN latency_ms END) AS p50_latency_ms,
                MIN(CASE WHEN rn * 100 >= 95 * n THEN latency_ms END) AS p95_latency_ms
         FROM ranked GROUP BY key
       )
       SELECT totals.key, calls, tokens_in, tokens_out, mean_latency_ms, p50_latency_ms, p95_latency_ms, cost_usd
       FROM totals LEFT JOIN quantiles USING (key)
       ORDER BY ${order}
       LIMIT ${MAX_USAGE_GROUPS}`,
    )
    .all(...params) as UsageView[];
}
