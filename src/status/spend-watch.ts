import type { Clock } from "../util/clock.js";
import type { SpendRow } from "../store/status-queries.js";
import type { UsageView } from "../store/queries.js";
import { periodStarts } from "./period.js";

/** What the watch reads from the database (the reader thread, bounded in time). */
export interface SpendSource {
  spend(a: { dayStartMs: number; monthStartMs: number }): Promise<SpendRow[]>;
  latencyByModel(sinceMs: number): Promise<UsageView[]>;
}

export interface SpendTotals {
  key: string;
  calls_today: number;
  cost_today_usd: number;
  tokens_today: number;
  calls_month: number;
  cost_month_usd: number;
  tokens_month: number;
}

/**
 * Today's and this month's LLM spend, read from llm_usage every `everyMs` (so a restart resets
 * nothing), with the periods of `timeZone`; and the last hour's latency by model. The last good
 * read is kept while a read fails; `error` says why.
 */
export class SpendWatch {
  rows: SpendRow[] = [];
  latency: UsageView[] = [];
  /** When the figures were read (Unix ms), null before the first read. */
  readAt: number | null = null;
  error: string | null = null;
  dayStartMs = 0;
  monthStartMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly source: SpendSource,
    private readonly clock: Clock,
    private readonly timeZone: string,
    private readonly everyMs = 5_000,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads now (one read at a time: a caller arriving meanwhile shares it). */
  refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Totals of today and this month, grouped by channel, model or feature, largest month first. */
  totals(by: "channel" | "model" | "feature"): SpendTotals[] {
    const out = new Map<string, SpendTotals>();
    for (const r of this.rows) {
      const key = r[by];
      let t = out.get(key);
      if (t === undefined) out.set(key, (t = { key, calls_today: 0, cost_today_usd: 0, tokens_today: 0, calls_month: 0, cost_month_usd: 0, tokens_month: 0 }));
      t.calls_today += r.calls_today;
      t.cost_today_usd += r.cost_today_usd ?? 0;
      t.tokens_today += r.tokens_today;
      t.calls_month += r.calls_month;
      t.cost_month_usd += r.cost_month_usd ?? 0;
      t.tokens_month += r.tokens_month;
    }
    return [...out.values()].sort((a, b) => b.cost_month_usd - a.cost_month_usd || b.calls_month - a.calls_month || a.key.localeCompare(b.key));
  }

  private async read(): Promise<void> {
    const now = this.clock.now();
    const p = periodStarts(now, this.timeZone);
    try {
      const [rows, latency] = await Promise.all([this.source.spend(p), this.source.latencyByModel(now - 3_600_000)]);
      this.rows = rows;
      this.latency = latency;
      this.dayStartMs = p.dayStartMs;
      this.monthStartMs = p.monthStartMs;
      this.readAt = now;
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
  }
}
