import type { Clock } from "../util/clock.js";
import type { Alert } from "./alert.js";

/** A bot found down: what a person needs to know about it. */
export interface Down {
  channel: string;
  name: "KissBotDown" | "KissBotStale";
  /** The bridge's status word: dead or stale. */
  state: string;
  why: string;
  pid: number;
  lastHeartbeatAt: number | null;
}

/** One bot's trouble: pending through the grace period, then firing until it ends. */
interface Incident extends Down {
  since: number;
  firing: boolean;
  /** When it was last sent (first notice or reminder); null while pending or held by a snooze. */
  sentAt: number | null;
}

/** Down transitions of a channel in the flap window; while `flapping`, single incidents are not sent. */
interface Flaps {
  downs: number[];
  flapping: boolean;
  /** The bot's trouble as last seen, or null while it is up. */
  current: Down | null;
  since: number;
}

export interface PagerOptions {
  graceMs: number;
  /**
   * Alerts are grouped for this long before a message goes (notifier.ts). A bot's alert joins
   * the group this long before its grace ends, so the message leaves when the grace does; an
   * alert still waiting in the group when its bot comes back is withdrawn, never sent.
   */
  groupWaitMs: number;
  repeatMs: number;
  /** Down this many times within flapWindowMs: flapping. */
  flapCount: number;
  flapWindowMs: number;
  /** Channels followed at most (incidents and flap records each); the registry bounds bots below this. */
  maxChannels: number;
}

/** What a restart keeps (saved with the notifier's state, notifier.ts). */
export interface PagerState {
  incidents: Incident[];
  flaps: Array<[string, Flaps]>;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/**
 * The rules of the bridge's own notifications, the same truth as the shipped alert rules
 * (README "paging truth"): a bot down (dead, or stale) past the grace period is reported once,
 * its return as resolved; a graceful unregister or a quick return says nothing; a bot still down
 * is reminded every repeat; a bot that goes down flapCount times within the flap window is
 * reported once as flapping, until a whole window passes without a fall. A snoozed bot's alerts
 * are held (a pending one fires if it is still down when the snooze ends) and its resolved
 * messages dropped.
 */
export class Pager {
  private readonly incidents = new Map<string, Incident>();
  private readonly flaps = new Map<string, Flaps>();

  constructor(
    private readonly options: PagerOptions,
    private readonly clock: Clock,
    private readonly snoozed: (channel: string) => boolean,
    private readonly emit: (alert: Alert) => void,
    /** Told whenever the state a restart needs has changed. */
    private readonly changed: () => void = () => {},
    /** Takes a channel's bot alert back if it has not left yet; true if it had not. */
    private readonly withdraw: (channel: string) => boolean = () => false,
  ) {}

  get firing(): number {
    let n = 0;
    for (const i of this.incidents.values()) if (i.firing) n++;
    for (const f of this.flaps.values()) if (f.flapping) n++;
    return n;
  }

  /** The bot went down (died, or stopped sending heartbeats). */
  down(d: Down): void {
    const now = this.clock.now();
    const flaps = this.flapRecord(d.channel, now);
    // stale then dead is one fall, not two.
    if (flaps.current === null) this.fall(flaps, now);
    flaps.current = d;
    if (flaps.flapping) return this.changed();
    const open = this.incidents.get(d.channel);
    if (open !== undefined) {
      // stale then dead is one incident: its facts are updated, nothing new is sent.
      Object.assign(open, { name: d.name, state: d.state, why: d.why, pid: d.pid, lastHeartbeatAt: d.lastHeartbeatAt });
      return this.changed();
    }
    if (flaps.downs.length >= this.options.flapCount) return this.startFlapping(d.channel, flaps, now);
    if (this.incidents.size >= this.options.maxChannels) return;
    this.incidents.set(d.channel, { ...d, since: now, firing: false, sentAt: null });
    this.changed();
  }

  /** The bot is back: heartbeats again, or a new process registered for its channel. */
  up(channel: string, why: string): void {
    const flaps = this.flaps.get(channel);
    if (flaps !== undefined) flaps.current = null;
    this.close(channel, `back: ${why}`);
  }

  /** The bot unregistered: stopped on purpose, so nothing is said unless it had been reported. */
  gone(channel: string): void {
    const flaps = this.flaps.get(channel);
    if (flaps?.flapping === true) this.send(this.flappingAlert(channel, flaps, "resolved", "it was stopped (unregistered)"));
    this.flaps.delete(channel);
    this.close(channel, "it was stopped (unregistered)");
  }

  /** Fires what outlived its grace, reminds what is still down, settles what stopped flapping. */
  tick(): void {
    const now = this.clock.now();
    for (const i of this.incidents.values()) {
      if (this.snoozed(i.channel)) continue;
      if (!i.firing && now - i.since >= Math.max(0, this.options.graceMs - this.options.groupWaitMs)) {
        i.firing = true;
        i.sentAt = now;
        this.send(this.incidentAlert(i, "firing", false));
        this.changed();
      } else if (i.firing && i.sentAt !== null && now - i.sentAt >= this.options.repeatMs) {
        i.sentAt = now;
        this.send(this.incidentAlert(i, "firing", true));
        this.changed();
      }
    }
    for (const [channel, f] of this.flaps) {
      f.downs = f.downs.filter((t) => now - t < this.options.flapWindowMs);
      if (f.downs.length > 0) continue;
      if (f.flapping) this.settle(channel, f, now);
      else if (f.current === null) this.flaps.delete(channel);
    }
  }

  /**
   * After a restart: bots the registry has as down but no incident for (down before this run
   * began, never reported) get one from now; incidents whose bot is up, or gone, end.
   */
  sync(bots: ReadonlyMap<string, Down | null>): void {
    for (const [channel, down] of bots) if (down !== null && !this.incidents.has(channel) && this.flaps.get(channel)?.flapping !== true) this.down(down);
    for (const channel of [...this.incidents.keys(), ...this.flaps.keys()]) {
      const down = bots.get(channel);
      if (down === undefined) this.gone(channel);
      else if (down === null) this.up(channel, "found running after a restart of the bridge");
    }
  }

  snapshot(): PagerState {
    return { incidents: [...this.incidents.values()], flaps: [...this.flaps] };
  }

  restore(state: PagerState): void {
    for (const i of state.incidents.slice(0, this.options.maxChannels)) this.incidents.set(i.channel, i);
    for (const [channel, f] of state.flaps.slice(0, this.options.maxChannels)) this.flaps.set(channel, f);
  }

  private close(channel: string, why: string): void {
    const i = this.incidents.get(channel);
    if (i === undefined) return;
    this.incidents.delete(channel);
    // Still waiting in its group: the bot came back within its grace after all, so nothing is said.
    if (i.firing && !this.withdraw(channel) && !this.snoozed(channel)) this.send({ ...this.incidentAlert(i, "resolved", false), description: `Bot ${channel} is ${why}. It had been ${i.state} since ${new Date(i.since).toISOString()}.` });
    this.changed();
  }

  private flapRecord(channel: string, now: number): Flaps {
    let f = this.flaps.get(channel);
    if (f === undefined) {
      f = { downs: [], flapping: false, current: null, since: now };
      if (this.flaps.size < this.options.maxChannels) this.flaps.set(channel, f);
    }
    return f;
  }

  private fall(f: Flaps, now: number): void {
    f.downs = f.downs.filter((t) => now - t < this.options.flapWindowMs);
    f.downs.push(now);
    if (f.downs.length > this.options.flapCount) f.downs.shift();
  }

  private startFlapping(channel: string, f: Flaps, now: number): void {
    f.flapping = true;
    f.since = now;
    this.incidents.delete(channel);
    this.send(this.flappingAlert(channel, f, "firing", ""));
    this.changed();
  }

  /** A whole window without a fall: one message says how it ended; a bot still down fires at once. */
  private settle(channel: string, f: Flaps, now: number): void {
    f.flapping = false;
    const down = f.current;
    this.send(this.flappingAlert(channel, f, "resolved", down === null ? "it has stayed up" : `it has stayed ${down.state}`));
    this.flaps.delete(channel);
    if (down !== null) {
      const i: Incident = { ...down, since: now, firing: true, sentAt: now };
      this.incidents.set(channel, i);
      this.send(this.incidentAlert(i, "firing", false));
    }
    this.changed();
  }

  private send(alert: Alert): void {
    if (!this.snoozed(alert.channel)) this.emit(alert);
  }

  private incidentAlert(i: Incident, status: Alert["status"], reminder: boolean): Alert {
    const now = this.clock.now();
    const heartbeat = i.lastHeartbeatAt === null ? "never sent a heartbeat" : `last heartbeat ${new Date(i.lastHeartbeatAt).toISOString()}`;
    const summary = status === "resolved" ? `KissBot ${i.channel} is back.` : i.name === "KissBotDown" ? `KissBot ${i.channel} is down.` : `KissBot ${i.channel} stopped sending heartbeats.`;
    const still = reminder ? `Still ${i.state} after ${minutes(now - i.since)}. ` : "";
    return {
      name: i.name,
      channel: i.channel,
      severity: "critical",
      status,
      summary: reminder ? `Reminder: ${summary}` : summary,
      description: `${still}Bot ${i.channel} (PID ${i.pid}) is ${i.state} since ${new Date(i.since).toISOString()}: ${i.why}; ${heartbeat}.`,
      startsAt: i.since,
      endsAt: status === "resolved" ? now : null,
      labels: { state: i.state },
      reminder,
    };
  }

  private flappingAlert(channel: string, f: Flaps, status: Alert["status"], how: string): Alert {
    const now = this.clock.now();
    return {
      name: "KissBotFlapping",
      channel,
      severity: "warning",
      status,
      summary: status === "firing" ? `KissBot ${channel} is flapping.` : `KissBot ${channel} stopped flapping.`,
      description:
        status === "firing"
          ? `Bot ${channel} went down ${this.options.flapCount} times within ${minutes(this.options.flapWindowMs)} (it comes back and falls again: a crash loop?). No more messages about it until it settles for ${minutes(this.options.flapWindowMs)}.`
          : `Bot ${channel} has not gone down for ${minutes(this.options.flapWindowMs)}: ${how}.`,
      startsAt: f.since,
      endsAt: status === "resolved" ? now : null,
      labels: {},
      reminder: false,
    };
  }
}
