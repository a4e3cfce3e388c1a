import type { Database } from "better-sqlite3";
import { LLM_CHANNELS, llmRowsByTs } from "../db/by-channel.js";
import { toSqlTime } from "../db/timestamps.js";
import { availabilityFromDatabase, type LiveRun } from "../record/record-queries.js";

/** One channel's line of a digest. */
export interface DigestRow {
  channel: string;
  availability: number | null;
  previous_availability: number | null;
  incidents: number;
  longest_down_seconds: number;
  calls: number;
  tokens: number;
  cost_usd: number;
  /** Calls with no cost (no price known): their spend is unknown, not zero. */
  unpriced_calls: number;
}

type Usage = { channel: string; calls: number; tokens: number; cost_usd: number | null; unpriced: number };

/** LLM calls, tokens, cost and unpriced calls per channel in [fromMs, toMs), one seek of (channel, ts) per channel. */
function usageByChannel(db: Database, fromMs: number, toMs: number): Map<string, Usage> {
  const rows = db
    .prepare(
      `WITH RECURSIVE ${LLM_CHANNELS}
       SELECT channel, COUNT(*) AS calls, COALESCE(SUM(tokens_in + tokens_out), 0) AS tokens, SUM(cost_usd) AS cost_usd, SUM(cost_usd IS NULL) AS unpriced
       FROM ${llmRowsByTs(">=")} AND llm_usage.ts < ? GROUP BY channel`,
    )
    .all(toSqlTime(fromMs), toSqlTime(toMs)) as Usage[];
  return new Map(rows.map((r) => [r.channel, r]));
}

/** The digest's figures: each channel that was up, down or snoozed, or called an LLM, in the period. */
export function digestFromDatabase(db: Database, a: { fromMs: number; toMs: number; previousFromMs: number; nowMs: number; live: LiveRun }): DigestRow[] {
  const now = availabilityFromDatabase(db, { fromMs: a.fromMs, toMs: a.toMs, nowMs: a.nowMs, live: a.live });
  const before = new Map(availabilityFromDatabase(db, { fromMs: a.previousFromMs, toMs: a.fromMs, nowMs: a.nowMs, live: a.live }).channels.map((c) => [c.channel, c.availability]));
  const usage = usageByChannel(db, a.fromMs, a.toMs);
  const channels = [...new Set([...now.channels.map((c) => c.channel), ...usage.keys()])].sort();
  const avail = new Map(now.channels.map((c) => [c.channel, c]));
  return channels.map((channel) => {
    const c = avail.get(channel);
    const u = usage.get(channel);
    return {
      channel,
      availability: c?.availability ?? null,
      previous_availability: before.get(channel) ?? null,
      incidents: c?.incidents ?? 0,
      longest_down_seconds: c?.longest_down_seconds ?? 0,
      calls: u?.calls ?? 0,
      tokens: u?.tokens ?? 0,
      cost_usd: u?.cost_usd ?? 0,
      unpriced_calls: u?.unpriced ?? 0,
    };
  });
}
