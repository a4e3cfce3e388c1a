import type { Config } from "../config/config.js";
import type { DatabaseFeature } from "./database.js";
import type { NotifyFeature } from "./notify.js";
import type { RecordFeature } from "./record.js";
import { intervalPart, type Part } from "../lifecycle/lifecycle.js";
import type { RateLimitedLog } from "../log/rate-limited-log.js";
import { channelLimits, type ReloadableBudgets } from "../spend/budget-file.js";
import { latestDigest } from "../digest/schedule.js";
import { digestText } from "../digest/digest-text.js";
import type { Clock } from "../util/clock.js";

/** Whether a digest is due is checked this often (cheap: a few date computations; the database is read only when one is due), and at start, so one missed while down goes out late. */
const DIGEST_CHECK_MS = 1000;

/**
 * --notify-digest weekly|monthly: one message for the fleet to every --notify target, once per
 * period at --notify-digest-at, never twice across restarts (the notifier keeps the key of the
 * last one sent). Turned on for the first time, it starts with the next period rather than
 * sending the last one at once. Absent without --notify, a database or a digest period.
 */
export function digestFeature(config: Config, db: DatabaseFeature, notify: NotifyFeature, record: RecordFeature, budgets: ReloadableBudgets | undefined, clock: Clock, log: RateLimitedLog): Part[] {
  const notifier = notify.notifier;
  const reader = db.reader;
  const period = config.notifyDigest;
  if (period === "off" || notifier === undefined || reader === undefined) return [];
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const w = latestDigest(period, clock.now(), config.notifyDigestAt, config.timezone);
      if (notifier.digestSent === w.key) return;
      if (notifier.digestSent === null) {
        notifier.sendDigest(w.key, undefined);
        log.info({ next: period }, "digests are on: the first one goes out at the end of this period");
        return;
      }
      await db.flushed();
      let rows;
      try {
        rows = await reader.read("digest", { fromMs: w.fromMs, toMs: w.toMs, previousFromMs: w.previousFromMs, nowMs: clock.now(), live: record.live });
      } catch (err) {
        // A busy or locked database: read again at the next check (the digest is late, not lost).
        log.warn("digest:read", { err: (err as Error).message, digest: w.key }, "the digest's figures could not be read; trying again");
        return;
      }
      const budget = (channel: string) => (budgets === undefined ? null : channelLimits(budgets.current, channel).monthly);
      if (notifier.sendDigest(w.key, digestText(w, rows, budget, config.timezone))) log.info({ digest: w.key, channels: rows.length, late: clock.now() - w.dueMs > DIGEST_CHECK_MS }, "digest sent");
    } finally {
      running = false;
    }
  };
  return [intervalPart("digest", "notify", DIGEST_CHECK_MS, check, "at-start")];
}
