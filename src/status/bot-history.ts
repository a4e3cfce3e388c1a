import type { RegistryObserver } from "../registry/bot-registry.js";
import { reportedCpuRatio, reportedRssBytes, type Bot, type BotStatus } from "../registry/bot.js";
import type { Clock } from "../util/clock.js";

/** Points kept per bot for its sparklines: an hour at the default 15 s sample interval. */
const SPARK_POINTS = 240;
const SPARK_WINDOW_MS = 3_600_000;

export interface Spark {
  /** Unix seconds. */
  t: number[];
  cpu: (number | null)[];
  rss: (number | null)[];
}

export interface LifecycleEvent {
  /** Unix milliseconds. */
  at: number;
  channel: string;
  pid: number;
  /** registered, stale, online (back), dead, unregistered (refused: only in logs of earlier versions) */
  event: string;
  detail: string;
}

/** Events kept in all (the newest), and per bot at most when a bot's view asks. */
const MAX_EVENTS = 2000;

/**
 * What the status page shows beyond the registry's current state: each bot's CPU and memory
 * over the last hour (kept in memory, bounded per bot, freed when it leaves) and the latest
 * lifecycle events. Fed as a registry observer.
 */
export class BotHistory implements RegistryObserver {
  private readonly sparks = new Map<string, Spark>();
  private readonly events: LifecycleEvent[] = [];

  constructor(private readonly clock: Clock) {}

  registered(bot: Bot, replacedPid: number | null, implicit: boolean): void {
    this.sparks.delete(bot.channel);
    const how = implicit ? "registered implicitly by a heartbeat" : "registered";
    this.event(bot, "registered", replacedPid === null ? how : `${how}, replacing PID ${replacedPid}`);
  }

  heartbeat(bot: Bot): void {
    // A bot whose PID is not visible here reports its own figures in its heartbeats.
    if (bot.visibility === "hidden") this.point(bot);
  }

  sampled(bot: Bot): void {
    this.point(bot);
  }

  statusChanged(bot: Bot, from: BotStatus, why: string): void {
    this.event(bot, bot.status, `${why} (was ${from})`);
  }

  unregistered(bot: Bot): void {
    this.sparks.delete(bot.channel);
    this.event(bot, "unregistered", "graceful exit");
  }

  spark(channel: string): Spark | undefined {
    const s = this.sparks.get(channel);
    if (s === undefined) return undefined;
    const cutoff = (this.clock.now() - SPARK_WINDOW_MS) / 1000;
    let i = 0;
    while (i < s.t.length && s.t[i]! < cutoff) i++;
    return i === 0 ? s : { t: s.t.slice(i), cpu: s.cpu.slice(i), rss: s.rss.slice(i) };
  }

  /** The newest events first; of one bot when `channel` is given. */
  recentEvents(limit: number, channel?: string): LifecycleEvent[] {
    const out: LifecycleEvent[] = [];
    for (let i = this.events.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.events[i]!;
      if (channel === undefined || e.channel === channel) out.push(e);
    }
    return out;
  }

  private point(bot: Bot): void {
    let s = this.sparks.get(bot.channel);
    if (s === undefined) this.sparks.set(bot.channel, (s = { t: [], cpu: [], rss: [] }));
    s.t.push(Math.round(this.clock.now() / 1000));
    s.cpu.push(reportedCpuRatio(bot));
    s.rss.push(reportedRssBytes(bot));
    if (s.t.length > SPARK_POINTS) {
      s.t.shift();
      s.cpu.shift();
      s.rss.shift();
    }
  }

  private event(bot: Bot, event: string, detail: string): void {
    this.events.push({ at: this.clock.now(), channel: bot.channel, pid: bot.pid, event, detail });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }
}
