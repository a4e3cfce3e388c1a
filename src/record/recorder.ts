import type { RegistryObserver } from "../registry/bot-registry.js";
import type { Bot } from "../registry/bot.js";
import type { Clock } from "../util/clock.js";
import { DAY_MS } from "../util/units.js";
import type { Cause, RecordedState, RecordRow } from "./record-row.js";

/** What the recorder last wrote of a channel, as a restart reads it back (record-queries.ts). */
export interface RecordedChannel {
  channel: string;
  state: RecordedState | null;
  cause: Cause | null;
  /** When the snooze last recorded ends; null when none was in force. */
  snoozedUntil: number | null;
}

export type RecorderOptions = {
  /**
   * State changes a channel may write in one UTC day; past it the rest of the day is one
   * `flapping` interval (counted as down), its row carrying how many changes it stands for.
   */
  maxChangesPerDay: number;
  /** Channels followed at most (the registry bounds bots far below this). */
  maxChannels: number;
};

type Day = { day: number; changes: number; flap: RecordRow | undefined };

/** A bot's state as the record counts it: online is up; stale and dead are down, from the moment the bridge says so. */
export function recordedStateOf(bot: Bot): { state: RecordedState; cause: Cause | null } {
  if (bot.status === "online") return { state: "up", cause: null };
  return { state: "down", cause: bot.status };
}

/**
 * Turns the registry's transitions and the snoozes into record rows, one per real change: a
 * heartbeat, a second register of a running bot or a stale bot found dead a second later by
 * another path write nothing new. Written through the store with its next commit, in the same
 * transaction as bot_status, so the two never disagree after a crash.
 */
export class Recorder {
  private readonly last = new Map<string, { state: RecordedState; cause: Cause | null }>();
  /** Channels snoozed now, with when their snooze ends. */
  private readonly snoozedUntil = new Map<string, number>();
  private readonly days = new Map<string, Day>();
  #dropped = 0;
  /** Changes not recorded because maxChannels channels were already followed, all of them up or down. */
  get dropped(): number {
    return this.#dropped;
  }

  constructor(
    private readonly clock: Clock,
    private readonly write: (row: RecordRow) => void,
    private readonly options: RecorderOptions,
  ) {}

  /** The channel's state as last recorded (stopped after a graceful unregister); undefined for a channel never seen. */
  stateOf(channel: string): RecordedState | undefined {
    return this.last.get(channel)?.state;
  }

  /** What the last run recorded, so that a restart writes only what changed while it was away (bots still there first). */
  restore(channels: readonly RecordedChannel[]): void {
    const stoppedLast = [...channels.filter((c) => c.state !== "stopped"), ...channels.filter((c) => c.state === "stopped")];
    for (const c of stoppedLast.slice(0, this.options.maxChannels)) {
      if (c.state !== null) this.last.set(c.channel, { state: c.state, cause: c.cause });
      if (c.snoozedUntil !== null) this.snoozedUntil.set(c.channel, c.snoozedUntil);
    }
  }

  observer(): RegistryObserver {
    return {
      registered: (bot) => this.set(bot.channel, "up", null),
      statusChanged: (bot) => {
        const { state, cause } = recordedStateOf(bot);
        this.set(bot.channel, state, cause);
      },
      unregistered: (bot) => this.set(bot.channel, "stopped", null),
    };
  }

  /**
   * After the registry was restored and its bots looked at: each bot's state as it is now. A
   * channel recorded up or down that the registry no longer has is left as it was: nothing says
   * what became of it.
   */
  sync(bots: Iterable<Bot>): void {
    for (const b of bots) {
      const { state, cause } = recordedStateOf(b);
      this.set(b.channel, state, cause);
    }
  }

  /**
   * The snoozes in force (read every second from bot_snoozes): a new one is recorded from when it
   * was set (at most now), one that ran out at its end, one taken back now.
   */
  snoozes(active: Iterable<{ channel: string; untilMs: number; setAtMs: number }>): void {
    const now = this.clock.now();
    const seen = new Set<string>();
    for (const s of active) {
      if (s.untilMs <= now) continue;
      seen.add(s.channel);
      const known = this.snoozedUntil.get(s.channel);
      if (known === s.untilMs) continue;
      if (known === undefined && this.snoozedUntil.size >= this.options.maxChannels) {
        this.#dropped++;
        continue;
      }
      // A new snooze from when it was set; one made longer or shorter, from now.
      this.write([s.channel, known === undefined ? Math.min(now, s.setAtMs) : now, "snooze", "snoozed", null, 1, s.untilMs]);
      this.snoozedUntil.set(s.channel, s.untilMs);
    }
    for (const [channel, until] of this.snoozedUntil) {
      if (seen.has(channel)) continue;
      this.snoozedUntil.delete(channel);
      // One that ran out needs no row: its own end says when (timeline.ts). One taken back, now.
      if (until > now) this.write([channel, now, "snooze", "unsnoozed", null, 1, null]);
    }
  }

  /** A day's flapping interval ends with the day: the bot's state as it is now starts the next. */
  tick(): void {
    const today = Math.floor(this.clock.now() / DAY_MS);
    for (const [channel, d] of this.days) {
      if (d.day === today) continue;
      this.days.delete(channel);
      const now = this.last.get(channel);
      if (d.flap !== undefined && now !== undefined) this.write([channel, this.clock.now(), "state", now.state, now.cause, 1, null]);
    }
  }

  /**
   * Makes room by forgetting the channel that stopped longest ago (its record stays in the
   * database; a new change of it is written as a change). False when every channel followed is
   * up or down: then the new one is left out and counted, never one that is still there.
   */
  private forgetOneStopped(): boolean {
    for (const [channel, s] of this.last) {
      if (s.state !== "stopped") continue;
      this.last.delete(channel);
      this.days.delete(channel);
      return true;
    }
    return false;
  }

  private set(channel: string, state: RecordedState, cause: Cause | null): void {
    const prev = this.last.get(channel);
    if (prev !== undefined && prev.state === state && prev.cause === cause) return;
    if (prev === undefined && this.last.size >= this.options.maxChannels && !this.forgetOneStopped()) {
      this.#dropped++;
      return;
    }
    // Kept in order of last change: the channel stopped longest ago is forgotten first.
    this.last.delete(channel);
    this.last.set(channel, { state, cause });
    const now = this.clock.now();
    const today = Math.floor(now / DAY_MS);
    let d = this.days.get(channel);
    if (d === undefined || d.day !== today) {
      // A flapping interval of an earlier day ends here (tick() had not run since midnight).
      d = { day: today, changes: 0, flap: undefined };
      this.days.set(channel, d);
    }
    if (d.flap !== undefined) {
      // Merged: the flapping row is written again with one more change counted.
      d.flap = [channel, d.flap[1], "state", "down", "flapping", d.flap[5] + 1, null];
      this.write(d.flap);
      return;
    }
    d.changes++;
    if (d.changes > this.options.maxChangesPerDay) {
      d.flap = [channel, now, "state", "down", "flapping", 1, null];
      this.write(d.flap);
      return;
    }
    this.write([channel, now, "state", state, cause, 1, null]);
  }
}
