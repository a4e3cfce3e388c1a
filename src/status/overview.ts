import { botView, type SnoozeLookup } from "../read-model/bots.js";
import type { TargetView } from "../notify/delivery.js";
import { channelLimits, type BudgetTable } from "../spend/budget-file.js";
import type { Bot } from "../registry/bot.js";
import type { BotView } from "../read-model/bots.js";
import type { LlmSeries } from "../usage/usage-book.js";
import type { CounterMap } from "../util/counter-map.js";
import type { Clock } from "../util/clock.js";
import type { BotHistory, LifecycleEvent, Spark } from "./bot-history.js";
import type { CounterHistory } from "./counter-history.js";
import type { SpendTotals, SpendWatch } from "../spend/spend-watch.js";
import { dict } from "../util/dict.js";

/** Version of the status API's JSON (/api/v1/...): fields are only added within a version. */
export const STATUS_API_VERSION = 1;

/** Sparkline points per bot in the overview (the last hour, down-sampled). */
const SPARK_POINTS = 60;

/** What the status page reads; every stage exposes its own figures. */
export interface StatusSources {
  clock: Clock;
  version: string;
  startedAt: number;
  socketPath: string;
  bots: { all(): Iterable<Bot>; get(channel: string): Bot | undefined };
  history: BotHistory;
  messages: CounterHistory;
  rejected: CounterHistory;
  tokensByModel: CounterHistory;
  usage: { llmSeries(): readonly LlmSeries[] };
  transport: { openConnections: number };
  /** Absent with --no-db. */
  spend?: SpendWatch | undefined;
  store?: { writable: boolean; queuedRows: number; commits: number; lastCommitAt: number | null; errors: CounterMap; dropped: number } | undefined;
  /** Absent while OTLP push is off. */
  otlp?: { successes: number; failures: number; lastResult: "success" | "failure" | null } | undefined;
  /** Absent without --budgets. */
  budgets?: { current: BudgetTable } | undefined;
  snoozes?: SnoozeLookup;
  /** Absent without --notify: the targets (never their URLs) and what is firing. */
  notifications?: { views(): TargetView[]; firing: number } | undefined;
  /** A bot's events as its per-bot log has them (they outlive a restart); absent with --no-channel-logs. */
  loggedEvents?: ((channel: string, limit: number) => Promise<LifecycleEvent[]>) | undefined;
}

/** A bot as the page's table shows it: what `kissbot-bridge status` shows, plus history and spend. */
export interface BotRow extends BotView {
  spark: Spark;
  /** null with --no-db; budget_usd: the channel's daily budget, null without one. */
  llm_today: { calls: number; cost_usd: number; budget_usd: number | null } | null;
}

export interface Overview {
  api_version: number;
  generated_at: string;
  server_time_ms: number;
  bridge: {
    version: string;
    started_at: string;
    uptime_seconds: number;
    socket: string;
    open_connections: number;
    messages_per_second: Record<string, number>;
    rejected_last_hour: Record<string, number>;
    database: { writable: boolean; queued_rows: number; commits: number; last_commit_at: string | null; errors: Record<string, number>; dropped_rows: number } | null;
    otlp: { successes: number; failures: number; last_result: string | null } | null;
    /** null without --notify. */
    notifications: { firing: number; targets: { name: string; kind: string; queued: number; last_sent_at: string | null; last_error: { at: string; message: string } | null }[] } | null;
  };
  llm: {
    tokens_per_minute: { t: number[]; series: Record<string, number[]> };
    spend: { as_of: string | null; error: string | null; day_start: string; month_start: string; by_channel: (SpendTotals & { budget_today_usd: number | null; budget_month_usd: number | null })[]; by_model: SpendTotals[]; by_feature: SpendTotals[] } | null;
    latency_by_model: { key: string; p50_latency_ms: number | null; p95_latency_ms: number | null; calls: number }[];
    unpriced_by_model: Record<string, number>;
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function thin(s: Spark | undefined): Spark {
  if (s === undefined) return { t: [], cpu: [], rss: [] };
  if (s.t.length <= SPARK_POINTS) return s;
  const step = s.t.length / SPARK_POINTS;
  const out: Spark = { t: [], cpu: [], rss: [] };
  for (let i = 0; i < SPARK_POINTS; i++) {
    const j = Math.min(s.t.length - 1, Math.round((i + 1) * step) - 1);
    out.t.push(s.t[j]!);
    out.cpu.push(s.cpu[j]!);
    out.rss.push(s.rss[j]!);
  }
  return out;
}

const TOP = 20;
/** Lifecycle events a bot's view lists. */
const EVENTS = 50;

/** The status page's view model; /api/bots and `kissbot-bridge status` share its bot fields (botView). */
export class StatusView {
  constructor(private readonly s: StatusSources) {}

  botRow(b: Bot, now: number, today: Map<string, SpendTotals> | undefined): BotRow {
    const spend = today?.get(b.channel);
    return {
      ...botView(b, now, this.s.snoozes),
      spark: thin(this.s.history.spark(b.channel)),
      llm_today: today === undefined ? null : { calls: spend?.calls_today ?? 0, cost_usd: spend?.cost_today_usd ?? 0, budget_usd: this.dailyBudget(b.channel) },
    };
  }

  private dailyBudget(channel: string): number | null {
    const t = this.s.budgets?.current;
    return t === undefined ? null : channelLimits(t, channel).daily;
  }

  bots(): BotRow[] {
    const now = this.s.clock.now();
    const today = this.s.spend === undefined ? undefined : new Map(this.s.spend.totals("channel").map((t) => [t.key, t]));
    return [...this.s.bots.all()].map((b) => this.botRow(b, now, today));
  }

  async bot(channel: string): Promise<{ bot: BotRow | null; events: LifecycleEvent[] }> {
    const b = this.s.bots.get(channel);
    const today = this.s.spend === undefined ? undefined : new Map(this.s.spend.totals("channel").map((t) => [t.key, t]));
    const logged = (await this.s.loggedEvents?.(channel, EVENTS)) ?? [];
    const events = mergeEvents(this.s.history.recentEvents(EVENTS, channel), logged, EVENTS);
    return { bot: b === undefined ? null : this.botRow(b, this.s.clock.now(), today), events };
  }

  overview(): Overview {
    const s = this.s;
    const now = s.clock.now();
    const unpriced = dict<number>();
    for (const x of s.usage.llmSeries()) if (x.unpriced > 0) unpriced[x.model] = (unpriced[x.model] ?? 0) + x.unpriced;
    const store = s.store;
    return {
      api_version: STATUS_API_VERSION,
      generated_at: new Date(now).toISOString(),
      server_time_ms: now,
      bridge: {
        version: s.version,
        started_at: new Date(s.startedAt).toISOString(),
        uptime_seconds: (now - s.startedAt) / 1000,
        socket: s.socketPath,
        open_connections: s.transport.openConnections,
        messages_per_second: s.messages.rate(60_000),
        rejected_last_hour: Object.fromEntries(Object.entries(s.rejected.increase(3_600_000)).filter(([, n]) => n > 0)),
        database:
          store === undefined
            ? null
            : { writable: store.writable, queued_rows: store.queuedRows, commits: store.commits, last_commit_at: iso(store.lastCommitAt), errors: Object.fromEntries(store.errors.entries()), dropped_rows: store.dropped },
        otlp: s.otlp === undefined ? null : { successes: s.otlp.successes, failures: s.otlp.failures, last_result: s.otlp.lastResult },
        notifications:
          s.notifications === undefined
            ? null
            : {
                firing: s.notifications.firing,
                targets: s.notifications.views().map((t) => ({ name: t.name, kind: t.kind, queued: t.queued, last_sent_at: iso(t.lastSentAt), last_error: t.lastError === null ? null : { at: new Date(t.lastError.at).toISOString(), message: t.lastError.message } })),
              },
      },
      llm: {
        tokens_per_minute: s.tokensByModel.perMinute(3_600_000),
        spend:
          s.spend === undefined
            ? null
            : {
                as_of: iso(s.spend.readAt),
                error: s.spend.error,
                day_start: new Date(s.spend.dayStartMs).toISOString(),
                month_start: new Date(s.spend.monthStartMs).toISOString(),
                by_channel: s.spend.totals("channel").slice(0, TOP).map((t) => {
                  const l = s.budgets === undefined ? null : channelLimits(s.budgets.current, t.key);
                  return { ...t, budget_today_usd: l?.daily ?? null, budget_month_usd: l?.monthly ?? null };
                }),
                by_model: s.spend.totals("model").slice(0, TOP),
                by_feature: s.spend.totals("feature").slice(0, TOP),
              },
        latency_by_model: (s.spend?.latency ?? []).slice(0, TOP).map((r) => ({ key: r.key, p50_latency_ms: r.p50_latency_ms, p95_latency_ms: r.p95_latency_ms, calls: r.calls })),
        unpriced_by_model: unpriced,
      },
    };
  }
}

/**
 * A bot's events, newest first: the log's (they outlive a restart), then those held in memory
 * that the log has not been written with yet (it is written asynchronously). The log and the
 * memory each read the clock for the same event, so their times may differ by the millisecond
 * that ticked in between: an event held is the log's when the log has one of the same kind and
 * PID within a second (issue 27: each registration was listed twice, now and then).
 */
export function mergeEvents(held: readonly LifecycleEvent[], logged: readonly LifecycleEvent[], limit: number): LifecycleEvent[] {
  const newest = logged[0]?.at ?? -Infinity;
  const inLog = (e: LifecycleEvent) => logged.some((l) => l.event === e.event && l.pid === e.pid && Math.abs(l.at - e.at) < 1000);
  return [...held.filter((e) => e.at > newest && !inLog(e)), ...logged].slice(0, limit);
}
