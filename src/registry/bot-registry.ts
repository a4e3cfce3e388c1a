import type { Clock } from "../util/clock.js";
import type { HeartbeatMessage, RegisterMessage, UnregisterMessage } from "../protocol/messages.js";
import type { ProcessSnapshot } from "./process-snapshot.js";
import { lastSignOfLife, type Bot, type BotStatus } from "./bot.js";
import { MIB } from "../util/units.js";
import { withDefaults, type WithDefaults } from "../util/defaults.js";

/** Told about every change of a bot; logs, the usage book, the sampler and persistence listen. */
export interface RegistryObserver {
  /**
   * A new process to look at (the sampler's cue), told at once. With --unseen-pids refuse,
   * `registered` and everything after it come only once that look found the process running:
   * a refused registration leaves no trace (no log folder, row or event), only its count and a
   * rate-limited log line (`refused`).
   */
  admitted?(bot: Bot): void;
  registered?(bot: Bot, replacedPid: number | null, implicit: boolean): void;
  heartbeat?(bot: Bot): void;
  statusChanged?(bot: Bot, from: BotStatus, why: string): void;
  /** The first look after registration found the process: its start time is now known. */
  identified?(bot: Bot): void;
  /** A periodic look at the bot's process succeeded (the bot is alive, figures updated). */
  sampled?(bot: Bot): void;
  unregistered?(bot: Bot): void;
  /** The first look found no such process and --unseen-pids is refuse: the bot is forgotten, never having been announced. */
  refused?(bot: Bot, why: string): void;
}

/** A registration held back until the first look at its process (--unseen-pids refuse). */
type Unannounced = { replacedPid: number | null; implicit: boolean };

/** A bot as persisted, brought back after a restart of the bridge. */
export interface RestoredBot {
  channel: string;
  pid: number;
  features: Bot["features"];
  registeredAt: number;
  lastHeartbeatAt: number | null;
  /** The process's start time when it was last seen; null if its PID was not visible. */
  startTime: number | null;
  /** The status it had when the bridge stopped. */
  status: BotStatus;
}

export type RegistryOptions = {
  staleAfterMs: number;
  /** Bots beyond this many are refused, so label sets stay bounded. */
  maxBots: number;
  /**
   * A bot whose PID turns out not to be running here is dropped (the original Monitor refused
   * such a register), rather than followed by its heartbeats alone.
   */
  refuseUnseenPids?: boolean;
  /** Feature series (bot × feature flag) at most across all bots; flags past it are dropped. */
  maxFeatureSeries?: number;
};

export type RegisterOutcome = "registered" | "bot_limit";
export type HeartbeatOutcome = "ok" | "implicit" | "pid_mismatch" | "bot_limit";
export type UnregisterOutcome = "ok" | "unknown_bot" | "pid_mismatch" | "duplicate_unregister";

const featureCount = (bot: Bot) => (bot.features === null ? 0 : Object.keys(bot.features).length);

/** Unregistered bots remembered, so the second unregister of KissBot's shutdown is recognised. */
const REMEMBERED_GOODBYES = 1000;

/** What the sampler wants to look at. */
export interface SampleTarget {
  channel: string;
  pid: number;
  generation: number;
}

/**
 * The bots this bridge knows, by channel, and their state machine:
 * online ⇄ stale (heartbeat freshness), → dead (process gone, zombie, or PID reused);
 * unregister removes a bot outright. Every transition is reported once to the observers.
 */
export class BotRegistry {
  private readonly bots = new Map<string, Bot>();
  private readonly observers: RegistryObserver[] = [];
  /** channel → PID of bots that unregistered lately, oldest first. */
  private readonly goodbyes = new Map<string, number>();
  private nextGeneration = 1;
  /** Bots registered but not announced yet, by generation (at most one per bot held). */
  private readonly unannounced = new Map<number, Unannounced>();
  /** Feature flags held by all bots together, and flags dropped because of the bound. */
  private featureSeries = 0;
  #featuresRefused = 0;
  get featuresRefused(): number {
    return this.#featuresRefused;
  }

  private readonly options: WithDefaults<RegistryOptions, "refuseUnseenPids" | "maxFeatureSeries">;

  constructor(
    private readonly clock: Clock,
    options: RegistryOptions,
  ) {
    this.options = withDefaults(options, { refuseUnseenPids: false, maxFeatureSeries: Infinity });
  }

  observe(observer: RegistryObserver): void {
    this.observers.push(observer);
  }

  get size(): number {
    return this.bots.size;
  }

  get(channel: string): Bot | undefined {
    return this.bots.get(channel);
  }

  all(): IterableIterator<Bot> {
    return this.bots.values();
  }

  register(msg: RegisterMessage): RegisterOutcome {
    const bot = this.admit(msg.channel, msg.pid, msg.features, false);
    return bot === undefined ? "bot_limit" : "registered";
  }

  heartbeat(msg: HeartbeatMessage): HeartbeatOutcome {
    let bot = this.bots.get(msg.channel);
    let outcome: HeartbeatOutcome = "ok";
    if (bot === undefined) {
      // The bridge may have restarted under a running bot: keep it visible without a re-register.
      bot = this.admit(msg.channel, msg.pid, null, true);
      if (bot === undefined) return "bot_limit";
      outcome = "implicit";
    } else if (bot.pid !== msg.pid) {
      return "pid_mismatch";
    }
    const now = this.clock.now();
    bot.lastHeartbeatAt = now;
    if (msg.rssMb !== null) bot.selfReportedRssBytes = msg.rssMb * MIB;
    if (msg.cpuPct !== null) bot.selfReportedCpuRatio = msg.cpuPct / 100;
    if (bot.status === "stale") this.setStatus(bot, "online", "heartbeat received");
    if (!this.unannounced.has(bot.generation)) for (const o of this.observers) o.heartbeat?.(bot);
    return outcome;
  }

  unregister(msg: UnregisterMessage): UnregisterOutcome {
    const bot = this.bots.get(msg.channel);
    if (bot === undefined) return this.goodbyes.get(msg.channel) === msg.pid ? "duplicate_unregister" : "unknown_bot";
    // An old process saying goodbye after its replacement registered must not remove the new one.
    if (bot.pid !== msg.pid) return "pid_mismatch";
    this.bots.delete(msg.channel);
    this.featureSeries -= featureCount(bot);
    this.goodbyes.delete(msg.channel);
    this.goodbyes.set(msg.channel, msg.pid);
    if (this.goodbyes.size > REMEMBERED_GOODBYES) this.goodbyes.delete(this.goodbyes.keys().next().value!);
    // A bot that was never announced leaves as quietly as it came.
    if (!this.unannounced.delete(bot.generation)) for (const o of this.observers) o.unregistered?.(bot);
    return "ok";
  }

  /** Moves bots between online and stale by heartbeat age. Called on a tick and before every scrape. */
  evaluate(): void {
    const now = this.clock.now();
    for (const bot of this.bots.values()) {
      if (bot.status === "dead") continue;
      const fresh = now - lastSignOfLife(bot) <= this.options.staleAfterMs || now < bot.staleGraceUntil;
      if (fresh && bot.status === "stale") this.setStatus(bot, "online", "heartbeat received");
      if (!fresh && bot.status === "online") {
        this.setStatus(bot, "stale", `no heartbeat for ${Math.round((now - lastSignOfLife(bot)) / 1000)} s`);
      }
    }
  }

  /** Bots whose process can be watched from here. */
  sampleTargets(): SampleTarget[] {
    const targets: SampleTarget[] = [];
    for (const b of this.bots.values()) {
      // A pending bot whose first look failed gets another one in the next round.
      if (b.visibility !== "hidden" && b.status !== "dead") {
        targets.push({ channel: b.channel, pid: b.pid, generation: b.generation });
      }
    }
    return targets;
  }

  /**
   * Records a look at a bot's process. The first look after registration decides whether the
   * PID is visible here and sets the baseline; later ones detect exit, zombies and PID reuse.
   */
  applySample(target: SampleTarget, snap: ProcessSnapshot | null): void {
    const bot = this.bots.get(target.channel);
    if (bot === undefined || bot.generation !== target.generation || bot.status === "dead") return;
    const now = this.clock.now();
    if (bot.visibility === "pending") {
      // A restored bot brings the start time its process had: null then means it is gone.
      const restoredVisible = bot.startTime !== null;
      if (snap === null && !restoredVisible) {
        if (this.options.refuseUnseenPids) return this.refuse(bot, `PID ${bot.pid} is not running`);
        bot.visibility = "hidden";
        return;
      }
      bot.visibility = "visible";
      if (snap === null) return this.die(bot, "process exited while the bridge was down");
      bot.startTime ??= snap.startTime;
      this.announce(bot);
    }
    if (snap === null) return this.die(bot, "process exited without unregistering");
    if (snap.zombie) return this.die(bot, "process exited (zombie) without unregistering");
    if (snap.startTime !== bot.startTime) return this.die(bot, "PID now belongs to another process");
    if (bot.cpuSeconds !== null && bot.cpuSampledAt !== null && now > bot.cpuSampledAt && snap.cpuSeconds >= bot.cpuSeconds) {
      bot.cpuRatio = (snap.cpuSeconds - bot.cpuSeconds) / ((now - bot.cpuSampledAt) / 1000);
    }
    const baseline = bot.cpuSampledAt === null;
    bot.cpuSeconds = snap.cpuSeconds;
    bot.cpuSampledAt = now;
    bot.rssBytes = snap.rssBytes;
    for (const o of this.observers) baseline ? o.identified?.(bot) : o.sampled?.(bot);
  }

  /**
   * Brings back bots persisted before a restart, without a message from them. Returns the
   * processes of the live ones, for the caller to look at (ProcessSampler.inspectNow) before
   * trusting them: a process gone, or a PID now held by another process, makes the bot dead.
   * A bot that was dead stays dead (and exported) until it registers again or unregisters.
   * A bot that was online gets one full stale-after from now to send a heartbeat, so the time
   * the bridge was down never counts against it; one that was stale stays stale.
   */
  restore(rows: readonly RestoredBot[]): SampleTarget[] {
    const targets: SampleTarget[] = [];
    const now = this.clock.now();
    for (const r of rows) {
      if (this.bots.has(r.channel) || this.bots.size >= this.options.maxBots) continue;
      const bot = this.newBot(r.channel, r.pid, this.withinFeatureBound(r.features), r.registeredAt);
      bot.lastHeartbeatAt = r.lastHeartbeatAt;
      bot.startTime = r.startTime;
      this.bots.set(r.channel, bot);
      if (r.status === "dead") {
        bot.status = "dead";
        bot.visibility = r.startTime === null ? "hidden" : "visible";
        continue;
      }
      if (r.status === "stale") bot.status = "stale";
      else bot.staleGraceUntil = now + this.options.staleAfterMs;
      targets.push({ channel: bot.channel, pid: bot.pid, generation: bot.generation });
    }
    this.evaluate();
    return targets;
  }

  private refuse(bot: Bot, why: string): void {
    this.bots.delete(bot.channel);
    this.unannounced.delete(bot.generation);
    this.featureSeries -= featureCount(bot);
    for (const o of this.observers) o.refused?.(bot, why);
  }

  /** Tells the observers of a registration held back until its process was seen. */
  private announce(bot: Bot): void {
    const held = this.unannounced.get(bot.generation);
    if (held === undefined) return;
    this.unannounced.delete(bot.generation);
    for (const o of this.observers) o.registered?.(bot, held.replacedPid, held.implicit);
  }

  private die(bot: Bot, why: string): void {
    bot.cpuSeconds = bot.cpuSampledAt = bot.cpuRatio = bot.rssBytes = null;
    this.setStatus(bot, "dead", why);
  }

  /** The channel's bot unregistered lately and has not registered again. */
  unregisteredLately(channel: string): boolean {
    return this.goodbyes.has(channel) && !this.bots.has(channel);
  }

  private admit(channel: string, pid: number, features: Bot["features"], implicit: boolean): Bot | undefined {
    const previous = this.bots.get(channel);
    if (previous === undefined && this.bots.size >= this.options.maxBots) return undefined;
    this.goodbyes.delete(channel);
    if (previous !== undefined) {
      this.featureSeries -= featureCount(previous);
      this.unannounced.delete(previous.generation);
    }
    const bot = this.newBot(channel, pid, this.withinFeatureBound(features), this.clock.now());
    this.bots.set(channel, bot);
    const replacedPid = previous !== undefined && previous.pid !== pid ? previous.pid : null;
    for (const o of this.observers) o.admitted?.(bot);
    if (this.options.refuseUnseenPids) this.unannounced.set(bot.generation, { replacedPid, implicit });
    else for (const o of this.observers) o.registered?.(bot, replacedPid, implicit);
    return bot;
  }

  /** The flags that still fit under maxFeatureSeries (in the order sent), counted as held. */
  private withinFeatureBound(features: Bot["features"]): Bot["features"] {
    if (features === null) return null;
    const room = this.options.maxFeatureSeries - this.featureSeries;
    const names = Object.keys(features);
    if (names.length <= room) {
      this.featureSeries += names.length;
      return features;
    }
    const kept: NonNullable<Bot["features"]> = Object.create(null) as NonNullable<Bot["features"]>;
    for (const name of names.slice(0, Math.max(0, room))) kept[name] = features[name]!;
    this.#featuresRefused += names.length - Object.keys(kept).length;
    this.featureSeries += Object.keys(kept).length;
    return kept;
  }

  private newBot(channel: string, pid: number, features: Bot["features"], registeredAt: number): Bot {
    return {
      channel,
      pid,
      features,
      registeredAt,
      lastHeartbeatAt: null,
      status: "online",
      visibility: "pending",
      generation: this.nextGeneration++,
      startTime: null,
      cpuSeconds: null,
      cpuSampledAt: null,
      cpuRatio: null,
      rssBytes: null,
      staleGraceUntil: 0,
      selfReportedRssBytes: null,
      selfReportedCpuRatio: null,
    };
  }

  private setStatus(bot: Bot, to: BotStatus, why: string): void {
    const from = bot.status;
    if (from === to) return;
    bot.status = to;
    for (const o of this.observers) o.statusChanged?.(bot, from, why);
  }
}
