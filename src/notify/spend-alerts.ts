import type { Clock } from "../util/clock.js";
import type { Alert } from "./alert.js";

/** What the spend alerts read: today's and this month's spend by channel, budgets, call counters. */
export interface SpendAlertSources {
  /** undefined until the database has been read (or with --no-db). */
  spend(): { dayStartMs: number; monthStartMs: number; byChannel: ReadonlyArray<{ channel: string; costToday: number; costMonth: number }> } | undefined;
  /** A channel's limits in USD, null where it has none (no --budgets: always null). */
  limits(channel: string): { daily: number | null; monthly: number | null };
  /** Calls since the bridge started, and those with no price, by channel and model. */
  calls(): Iterable<{ channel: string; model: string; requests: number; unpriced: number }>;
}

export interface RunawayOptions {
  windowMs: number;
  /** Calls a second over the window above which a channel is looping (the alert rule's floor with no record yesterday). */
  perSecond: number;
}

export const DEFAULT_RUNAWAY: RunawayOptions = { windowMs: 600_000, perSecond: 5 };

/** Keys of alerts already sent in their period, at most (older periods' go first). */
const MAX_SENT = 10_000;

const usd = (n: number) => `${n.toFixed(2)} USD`;

/**
 * The spend alerts of the shipped rules, as messages: budget exceeded (day or month), a loop of
 * LLM calls, calls to a model with no price. Each is sent once per channel per period (the day or
 * month of --timezone), and a restart does not send it again (the keys are kept with the
 * notifier's state). They have no "resolved": a period's spend only grows.
 */
export class SpendAlerts {
  private readonly sent = new Set<string>();
  private readonly unpricedSeen = new Map<string, number>();
  /** Per channel: [time, calls so far] samples over the runaway window, oldest first. */
  private readonly callSamples = new Map<string, Array<[number, number]>>();

  constructor(
    private readonly sources: SpendAlertSources,
    private readonly clock: Clock,
    private readonly snoozed: (channel: string) => boolean,
    private readonly emit: (alert: Alert) => void,
    private readonly runaway: RunawayOptions = DEFAULT_RUNAWAY,
    private readonly changed: () => void = () => {},
  ) {}

  check(): void {
    const now = this.clock.now();
    const spend = this.sources.spend();
    if (spend !== undefined) this.budgets(spend, now);
    const dayStart = spend?.dayStartMs ?? Math.floor(now / 86_400_000) * 86_400_000;
    this.calls(now, dayStart);
  }

  snapshot(): string[] {
    return [...this.sent];
  }

  restore(keys: readonly string[]): void {
    for (const k of keys.slice(-MAX_SENT)) this.sent.add(k);
  }

  private budgets(spend: NonNullable<ReturnType<SpendAlertSources["spend"]>>, now: number): void {
    for (const c of spend.byChannel) {
      const limits = this.sources.limits(c.channel);
      const periods = [
        ["day", limits.daily, c.costToday, spend.dayStartMs],
        ["month", limits.monthly, c.costMonth, spend.monthStartMs],
      ] as const;
      for (const [period, limit, cost, start] of periods) {
        if (limit === null || cost <= limit) continue;
        this.once(`KissBotBudgetExceeded\u0000${c.channel}\u0000${period}\u0000${start}`, {
          name: "KissBotBudgetExceeded",
          channel: c.channel,
          severity: "critical",
          status: "firing",
          summary: `KissBot ${c.channel} has exceeded its LLM budget for the ${period}.`,
          description: `Bot ${c.channel} has spent ${usd(cost)} on LLM calls this ${period}, more than its budget of ${usd(limit)}. Told once this ${period}.`,
          startsAt: now,
          endsAt: null,
          labels: { period },
          reminder: false,
        });
      }
    }
  }

  private calls(now: number, dayStart: number): void {
    const byChannel = new Map<string, number>();
    for (const s of this.sources.calls()) {
      byChannel.set(s.channel, (byChannel.get(s.channel) ?? 0) + s.requests);
      const key = `${s.channel}\u0000${s.model}`;
      const seen = this.unpricedSeen.get(key) ?? 0;
      if (s.unpriced <= seen) continue;
      this.unpricedSeen.set(key, s.unpriced);
      this.once(`KissBotLlmUnpriced\u0000${key}\u0000${dayStart}`, {
        name: "KissBotLlmUnpriced",
        channel: s.channel,
        severity: "warning",
        status: "firing",
        summary: `LLM calls of KissBot ${s.channel} to ${s.model} have no price.`,
        description: `Bot ${s.channel} made calls to ${s.model} that reported no cost, and the bridge's price table has no price for that model: their cost is unknown, not zero, and budgets do not see it. Told once a day.`,
        startsAt: now,
        endsAt: null,
        labels: { model: s.model },
        reminder: false,
      });
    }
    for (const [channel, total] of byChannel) this.watchRate(channel, total, now, dayStart);
    for (const channel of this.callSamples.keys()) if (!byChannel.has(channel)) this.callSamples.delete(channel);
    for (const key of this.unpricedSeen.keys()) if (!byChannel.has(key.slice(0, key.indexOf("\u0000")))) this.unpricedSeen.delete(key);
  }

  /** A loop: more than perSecond calls a second over a whole window. */
  private watchRate(channel: string, total: number, now: number, dayStart: number): void {
    let samples = this.callSamples.get(channel);
    if (samples === undefined) this.callSamples.set(channel, (samples = []));
    samples.push([now, total]);
    // Keep the newest sample at least a window old, as the base of the rate.
    while (samples.length > 2 && now - samples[1]![0] >= this.runaway.windowMs) samples.shift();
    const [t0, n0] = samples[0]!;
    if (now - t0 < this.runaway.windowMs) return;
    const rate = (total - n0) / ((now - t0) / 1000);
    if (rate <= this.runaway.perSecond) return;
    this.once(`KissBotLlmRunaway\u0000${channel}\u0000${dayStart}`, {
      name: "KissBotLlmRunaway",
      channel,
      severity: "critical",
      status: "firing",
      summary: `KissBot ${channel} is calling its LLM in a loop.`,
      description: `Bot ${channel} has made ${rate.toFixed(1)} LLM calls a second over the last ${Math.round(this.runaway.windowMs / 60_000)} minutes, more than ${this.runaway.perSecond} a second. Each call costs money. Told once a day.`,
      startsAt: now,
      endsAt: null,
      labels: {},
      reminder: false,
    });
  }

  /** Sends `alert` unless its key was sent already; a snoozed channel's is held, not marked. */
  private once(key: string, alert: Alert): void {
    if (this.sent.has(key) || this.snoozed(alert.channel)) return;
    this.sent.add(key);
    if (this.sent.size > MAX_SENT) this.sent.delete(this.sent.values().next().value!);
    this.emit(alert);
    this.changed();
  }
}
