import type { Features } from "../protocol/messages.js";

export const BOT_STATUSES = ["online", "stale", "dead"] as const;
export type BotStatus = (typeof BOT_STATUSES)[number];

/**
 * `pending` until the registry's first look at the PID; `hidden` when this host cannot see it
 * (a bot in another PID namespace), whose liveness then follows its heartbeats alone.
 */
export type Visibility = "pending" | "visible" | "hidden";

export interface Bot {
  readonly channel: string;
  pid: number;
  /** null: the bot never said (an implicit registration from a heartbeat, or none sent). */
  features: Features | null;
  registeredAt: number;
  lastHeartbeatAt: number | null;
  status: BotStatus;
  visibility: Visibility;
  /** Bumped on every (re-)registration, so late results about an older process are ignored. */
  generation: number;
  startTime: number | null;
  cpuSeconds: number | null;
  cpuSampledAt: number | null;
  /** Cores in use over the last sample interval; null until two samples exist. */
  cpuRatio: number | null;
  rssBytes: number | null;
  /** Not stale before this time, whatever its heartbeat age (a bot restored after a bridge outage). */
  staleGraceUntil: number;
  /** What the bot reported about itself in its heartbeats. */
  selfReportedRssBytes: number | null;
  selfReportedCpuRatio: number | null;
}

/** 1 while the process runs; for a PID we cannot see, while its heartbeats are fresh. */
export function isUp(bot: Bot): boolean {
  if (bot.status === "dead") return false;
  return bot.visibility === "hidden" ? bot.status === "online" : true;
}

/** The time the heartbeat age counts from: the last heartbeat, or registration before the first. */
export function lastSignOfLife(bot: Bot): number {
  return bot.lastHeartbeatAt ?? bot.registeredAt;
}

/** Seconds since the bot last gave a sign of life, as every sink reports it. */
export function heartbeatAgeSeconds(bot: Bot, now: number): number {
  return Math.max(0, (now - lastSignOfLife(bot)) / 1000);
}

/** Resident memory as reported: sampled, or the bot's own figure when its PID is not visible; none once dead. */
export function reportedRssBytes(bot: Bot): number | null {
  if (bot.status === "dead") return null;
  return bot.visibility === "hidden" ? bot.selfReportedRssBytes : bot.rssBytes;
}

/** CPU (1.0 = one core) as reported: sampled, or the bot's own figure when its PID is not visible; none once dead. */
export function reportedCpuRatio(bot: Bot): number | null {
  if (bot.status === "dead") return null;
  return bot.visibility === "hidden" ? bot.selfReportedCpuRatio : bot.cpuRatio;
}
