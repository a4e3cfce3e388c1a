import type { Config } from "../config/config.js";
import type { Core } from "./core.js";
import { intervalPart, type Part } from "../lifecycle/lifecycle.js";
import { ChannelLog } from "../channel-log/channel-log.js";
import { DAY_MS } from "../util/units.js";
import { delay } from "../util/guard.js";
import type { Clock } from "../util/clock.js";

/**
 * Per-bot logs (DIR/{channel}/instance.log), or none with --no-channel-logs. Daily, like the
 * database's retention, the folders of channels gone longer than --retention-days are removed.
 */
export function channelLogsFeature(config: Config, core: Core, clock: Clock): { channelLog: ChannelLog | undefined; files: Part[]; timers: Part[] } {
  if (config.noChannelLogs) return { channelLog: undefined, files: [], timers: [] };
  const channelLog = new ChannelLog({ dir: config.channelLogDir, fileMode: config.fileMode }, clock, core.limitedLog);
  core.registry.observe(channelLog);
  const prune = () => channelLog.prune(config.retentionDays * DAY_MS, (channel) => core.registry.get(channel) !== undefined);
  return {
    channelLog,
    // Its last lines are written with the database's last rows.
    files: [{ name: "channel-log", stop: () => Promise.race([channelLog.drain(), delay(2500)]) }],
    timers: [intervalPart("log-pruner", "channel_log", DAY_MS, prune, "at-start")],
  };
}
