import { localDay, localWeekday, periodStarts, wallClock } from "../calendar/period.js";

export const DIGEST_PERIODS = ["weekly", "monthly"] as const;
export type DigestPeriod = (typeof DIGEST_PERIODS)[number];

/** One digest: the period it reports, the one before it for comparison, and when it is due. */
export interface DigestWindow {
  period: DigestPeriod;
  /** Names the period once: a digest with a key already sent is never sent again. */
  key: string;
  fromMs: number;
  toMs: number;
  previousFromMs: number;
  dueMs: number;
}

/** Monday 00:00 of the local week holding `ms`. */
function weekStart(ms: number, timeZone: string): number {
  let day = periodStarts(ms, timeZone).dayStartMs;
  while (localWeekday(day, timeZone) !== 1) day = periodStarts(day - 1, timeZone).dayStartMs;
  return day;
}

const startOf = (period: DigestPeriod, ms: number, timeZone: string) => (period === "weekly" ? weekStart(ms, timeZone) : periodStarts(ms, timeZone).monthStartMs);

/**
 * The latest digest due at or before `nowMs`: weekly reports the local week (Monday to Monday)
 * and is due on Monday at `at`; monthly reports the calendar month and is due on the 1st at
 * `at`. A bridge that was down then sends it when it is back (late rather than never).
 */
export function latestDigest(period: DigestPeriod, nowMs: number, at: { hour: number; minute: number }, timeZone: string): DigestWindow {
  let toMs = startOf(period, nowMs, timeZone);
  let dueMs = wallClock(toMs, at.hour, at.minute, timeZone);
  if (dueMs > nowMs) {
    toMs = startOf(period, toMs - 1, timeZone);
    dueMs = wallClock(toMs, at.hour, at.minute, timeZone);
  }
  const fromMs = startOf(period, toMs - 1, timeZone);
  return { period, key: `${period}:${localDay(fromMs, timeZone)}`, fromMs, toMs, previousFromMs: startOf(period, fromMs - 1, timeZone), dueMs };
}
