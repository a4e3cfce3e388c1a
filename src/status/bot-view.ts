import { heartbeatAgeSeconds, reportedCpuRatio, reportedRssBytes, type Bot } from "../registry/bot.js";
import type { BotView } from "../store/queries.js";

/**
 * A bot as every reader sees it: GET /api/bots (what `kissbot-bridge status` prints), and the
 * status page's rows, which extend it. One function, so they never disagree.
 */
export function botView(b: Bot, now: number): BotView {
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
  };
}
