import { heartbeatAgeSeconds, reportedCpuRatio, reportedRssBytes, type Bot } from "../registry/bot.js";
import type { Features } from "../protocol/messages.js";

// The read model: what the HTTP API, the CLI and the status page show of a bot, whether it comes
// from the live registry (below) or from the database while no bridge runs (store/queries.ts).

/** One bot as `kissbot-bridge status` and GET /api/bots show it. */
export interface BotView {
  channel: string;
  status: string;
  pid: number;
  registered_at: string | null;
  uptime_seconds: number | null;
  last_heartbeat: string | null;
  heartbeat_age_seconds: number | null;
  cpu_ratio: number | null;
  rss_bytes: number | null;
  features: Features | null;
  /** A planned outage (`kissbot-bridge snooze`): no alert until `until`. */
  snooze: SnoozeView | null;
}

export interface SnoozeView {
  until: string;
  reason: string;
}

/** Where a bot's snooze is looked up (the bridge's SnoozeBook). */
export type SnoozeLookup = { get(channel: string): { untilMs: number; reason: string } | undefined } | undefined;

export const snoozeView = (s: { untilMs: number; reason: string } | undefined): SnoozeView | null => (s === undefined ? null : { until: new Date(s.untilMs).toISOString(), reason: s.reason });

/**
 * A bot as every reader sees it: GET /api/bots (what `kissbot-bridge status` prints), and the
 * status page's rows, which extend it. One function, so they never disagree.
 */
export function botView(b: Bot, now: number, snoozes: SnoozeLookup): BotView {
  return {
    channel: b.channel,
    status: b.status,
    pid: b.pid,
    registered_at: new Date(b.registeredAt).toISOString(),
    uptime_seconds: (now - b.registeredAt) / 1000,
    last_heartbeat: b.lastHeartbeatAt === null ? null : new Date(b.lastHeartbeatAt).toISOString(),
    heartbeat_age_seconds: heartbeatAgeSeconds(b, now),
    cpu_ratio: reportedCpuRatio(b),
    rss_bytes: reportedRssBytes(b),
    features: b.features === null ? null : { ...b.features },
    snooze: snoozeView(snoozes?.get(b.channel)),
  };
}
