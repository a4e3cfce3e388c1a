import type { Logger } from "./logger.js";
import type { RateLimitedLog } from "./rate-limited-log.js";
import type { RegistryObserver } from "../registry/bot-registry.js";
import type { Bot, BotStatus } from "../registry/bot.js";

/**
 * Logs each bot transition once, when it happens (not on every sample or scrape). Refused
 * registrations are chosen by whoever writes to the socket, so they share the rate limit of
 * rejected lines.
 */
export function lifecycleLog(log: Logger, limited: RateLimitedLog): RegistryObserver {
  return {
    registered(bot: Bot, replacedPid: number | null, implicit: boolean) {
      log.info({ channel: bot.channel, pid: bot.pid, replacedPid, implicit }, implicit ? "bot registered implicitly by a heartbeat" : "bot registered");
    },
    statusChanged(bot: Bot, from: BotStatus, why: string) {
      const level = bot.status === "online" ? "info" : "warn";
      log[level]({ channel: bot.channel, pid: bot.pid, from, to: bot.status, why }, `bot is ${bot.status}`);
    },
    unregistered(bot: Bot) {
      log.info({ channel: bot.channel, pid: bot.pid }, "bot unregistered");
    },
    refused(bot: Bot, why: string) {
      limited.warn("registry:refused", { channel: bot.channel, pid: bot.pid, why }, "registration refused: the process is not running (--unseen-pids accept follows such bots by their heartbeats)");
    },
  };
}
