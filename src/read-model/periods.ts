import { periodStarts } from "../calendar/period.js";
import { parseSince } from "./usage.js";

/**
 * The period an availability answer covers: the last `since` (24h, 7d, 30d…) up to now, or a
 * calendar month (YYYY-MM) cut at midnight in the time zone, as `uptime`, the API and the digest
 * accept it.
 */
export type PeriodQuery = { since?: string | undefined; month?: string | undefined };

export function monthRange(month: string, timeZone: string): { fromMs: number; toMs: number } | undefined {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month.trim());
  if (m === null) return undefined;
  // The middle of the month is in it whatever the zone's offset.
  const p = periodStarts(Date.UTC(Number(m[1]), Number(m[2]) - 1, 15), timeZone);
  return { fromMs: p.monthStartMs, toMs: p.nextMonthStartMs };
}

/** The period asked for, or words saying what is wrong (for a 400 or exit code 2). */
export function resolvePeriod(q: PeriodQuery, nowMs: number, timeZone: string, fallbackSince = "30d"): { fromMs: number; toMs: number; label: string } | { error: string } {
  if (q.since !== undefined && q.month !== undefined) return { error: "since and month exclude each other" };
  if (q.month !== undefined) {
    const r = monthRange(q.month, timeZone);
    return r === undefined ? { error: `month must look like 2026-11, not ${JSON.stringify(q.month)}` } : { ...r, label: q.month };
  }
  const since = q.since ?? fallbackSince;
  const ms = parseSince(since);
  return ms === undefined ? { error: `since must look like 24h, 7d or 30d, not ${JSON.stringify(since)}` } : { fromMs: nowMs - ms, toMs: nowMs, label: since };
}
