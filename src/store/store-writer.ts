import type { Database, Statement } from "better-sqlite3";
import type { Bot } from "../registry/bot.js";
import type { LlmUsageMessage } from "../protocol/messages.js";
import type { RateLimitedLog } from "../log/rate-limited-log.js";
import type { Clock } from "../util/clock.js";
import { CounterMap } from "../util/counter-map.js";
import { openDatabase } from "./database.js";
import { toSqlTime } from "./timestamps.js";

export const DB_OPS = ["open", "write", "retention"] as const;
export type DbOp = (typeof DB_OPS)[number];
export const DB_TABLES = ["bot_status", "llm_usage", "bot_metrics"] as const;
export type DbTable = (typeof DB_TABLES)[number];

export type StoreWriterOptions = {
  path: string;
  /** bot_metrics rows older than this are deleted, daily. */
  retentionDays: number;
  /** llm_usage rows older than this are deleted, daily; null keeps them. */
  usageRetentionDays: number | null;
  flushIntervalMs?: number;
  /** Rows waiting for the next commit at most; further ones are dropped and counted. */
  maxQueuedRows?: number;
};

type StatusRow = [channel: string, pid: number, status: string, features: string | null, registeredAt: string, lastHeartbeat: string | null, pidStartTime: number | null];
type UsageRow = [channel: string, model: string, feature: string, tokensIn: number, tokensOut: number, latencyMs: number | null, cost: number | null, timestamp: string];
type SampleRow = [timestamp: string, channel: string, pid: number, rssMb: number | null, cpuPct: number | null, features: string | null];

const DAY_MS = 86_400_000;

/**
 * The persistence sink. Rows are queued in memory and committed in one transaction per interval
 * (and at shutdown), so a burst costs one commit a second, not one per message, and no disk I/O
 * happens on the ingest path. A database that cannot be opened or written (locked, read-only,
 * corrupt, full, missing directory) never stops ingest: failures are counted and logged, the
 * rows kept (within the queue bound) and the writer tries again at the next interval.
 */
export class StoreWriter {
  readonly errors = new CounterMap<DbOp>(DB_OPS);
  readonly written = new CounterMap<DbTable>(DB_TABLES);
  dropped = 0;
  commits = 0;
  private db: Database | undefined;
  private statements: { status: Statement; usage: Statement; sample: Statement } | undefined;
  private statuses = new Map<string, StatusRow>();
  private usage: UsageRow[] = [];
  private samples: SampleRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastRetention = 0;

  constructor(
    private readonly options: StoreWriterOptions,
    private readonly log: RateLimitedLog,
    private readonly clock: Clock,
  ) {}

  get queuedRows(): number {
    return this.statuses.size + this.usage.length + this.samples.length;
  }

  /** Opens the database now if it can; a failure is counted, and retried at every flush. */
  open(): Database | undefined {
    if (this.db !== undefined) return this.db;
    try {
      const db = openDatabase(this.options.path);
      this.statements = {
        status: db.prepare(`INSERT INTO bot_status (channel, pid, status, features, registered_at, last_heartbeat, pid_start_time)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(channel) DO UPDATE SET pid = excluded.pid, status = excluded.status, features = excluded.features,
            registered_at = excluded.registered_at, last_heartbeat = excluded.last_heartbeat, pid_start_time = excluded.pid_start_time`),
        usage: db.prepare("INSERT INTO llm_usage (channel, model, feature, tokens_in, tokens_out, latency_ms, estimated_cost, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
        sample: db.prepare("INSERT INTO bot_metrics (timestamp, channel, pid, rss_mb, cpu_pct, features) VALUES (?, ?, ?, ?, ?, ?)"),
      };
      this.db = db;
    } catch (err) {
      this.errors.inc("open");
      this.log.warn("db:open", { err: (err as Error).message, path: this.options.path }, "cannot open the database; will retry");
    }
    return this.db;
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** The bot's current state replaces any queued one: one row per bot per commit. */
  botState(bot: Bot, status: string = bot.status): void {
    this.statuses.set(bot.channel, [
      bot.channel,
      bot.pid,
      status,
      bot.features === null ? null : JSON.stringify(bot.features),
      toSqlTime(bot.registeredAt),
      bot.lastHeartbeatAt === null ? null : toSqlTime(bot.lastHeartbeatAt),
      bot.visibility === "visible" ? bot.startTime : null,
    ]);
  }

  llmUsage(msg: LlmUsageMessage): void {
    if (this.full()) return;
    this.usage.push([msg.channel, msg.model, msg.feature, msg.tokensIn, msg.tokensOut, msg.latencyMs, msg.estimatedCostUsd, toSqlTime(this.clock.now())]);
  }

  sample(bot: Bot, rssBytes: number | null, cpuRatio: number | null): void {
    if (this.full()) return;
    this.samples.push([
      toSqlTime(this.clock.now()),
      bot.channel,
      bot.pid,
      rssBytes === null ? null : rssBytes / (1024 * 1024),
      cpuRatio === null ? null : cpuRatio * 100,
      bot.features === null ? null : JSON.stringify(bot.features),
    ]);
  }

  /** Commits everything queued in one transaction. */
  flush(): void {
    const db = this.open();
    if (db === undefined || this.statements === undefined) return;
    this.retention();
    if (this.queuedRows === 0) return;
    const { status, usage, sample } = this.statements;
    const statuses = [...this.statuses.values()];
    const usageRows = this.usage;
    const sampleRows = this.samples;
    try {
      db.transaction(() => {
        for (const r of statuses) status.run(r);
        for (const r of usageRows) usage.run(r);
        for (const r of sampleRows) sample.run(r);
      })();
    } catch (err) {
      // Kept for the next try; new rows queue behind them within the bound.
      this.errors.inc("write");
      this.log.warn("db:write", { err: (err as Error).message }, "database write failed; will retry");
      return;
    }
    this.commits++;
    this.written.inc("bot_status", statuses.length);
    this.written.inc("llm_usage", usageRows.length);
    this.written.inc("bot_metrics", sampleRows.length);
    // A newer state queued during the commit stays queued.
    for (const row of statuses) if (this.statuses.get(row[0]) === row) this.statuses.delete(row[0]);
    this.usage = this.usage === usageRows ? [] : this.usage;
    this.samples = this.samples === sampleRows ? [] : this.samples;
  }

  /** Deletes old rows at most once a day (and at the first flush). */
  private retention(): void {
    const now = this.clock.now();
    if (now - this.lastRetention < DAY_MS || this.db === undefined) return;
    // Only the first run and then once a day.
    this.lastRetention = now;
    try {
      this.db.prepare("DELETE FROM bot_metrics WHERE timestamp < ?").run(toSqlTime(now - this.options.retentionDays * DAY_MS));
      if (this.options.usageRetentionDays !== null) {
        this.db.prepare("DELETE FROM llm_usage WHERE timestamp < ?").run(toSqlTime(now - this.options.usageRetentionDays * DAY_MS));
      }
    } catch (err) {
      this.errors.inc("retention");
      this.log.warn("db:retention", { err: (err as Error).message }, "deleting old rows failed");
    }
  }

  /** The database for readers in this process (the JSON API); undefined while it cannot be opened. */
  get database(): Database | undefined {
    return this.db;
  }

  /** Commits what is queued and closes the file. */
  close(): void {
    clearInterval(this.timer);
    this.flush();
    this.db?.close();
    this.db = undefined;
  }

  private full(): boolean {
    if (this.usage.length + this.samples.length < (this.options.maxQueuedRows ?? 100_000)) return false;
    this.dropped++;
    return true;
  }
}
