import type { Database } from "better-sqlite3";
import type { Bot } from "../../registry/bot.js";
import type { PricedLlmUsage } from "../../pricing/price-table.js";
import { lastSignOfLife } from "../../registry/bot.js";
import { SCHEMA_VERSION, type MigrationReport } from "../../db/schema.js";
import type { RateLimitedLog } from "../../log/rate-limited-log.js";
import type { Clock } from "../../util/clock.js";
import { CounterMap } from "../../util/counter-map.js";
import { openReadOnly, WRITE_BUSY_TIMEOUT_MS } from "../../db/database.js";
import { toSqlTime } from "../../db/timestamps.js";
import { withDefaults, type WithDefaults } from "../../util/defaults.js";
import type { Batch, ReplayReport, SampleRow, StatusRow, WorkerReply, WorkerRequest } from "./writer-protocol.js";
import { DAY_MS, MIB } from "../../util/units.js";
import { rowCount, rowsOf, UsageColumnsQueue } from "./usage-columns.js";
import { appendJournal, entryRows, journalPath, type JournalEntry } from "./journal.js";
import type { CommittedUsage } from "../../spend/spend-cells.js";
import { delay, every } from "../../util/guard.js";
import { WorkerChannel, WorkerLost } from "../../util/worker-channel.js";
import type { RecordRow } from "../../record/record-row.js";

/**
 * Rows queued at most before reading the sockets pauses. Large enough that a burst of stock
 * clients (20,000–25,000 messages a second here) is committed once a second, not every 5,000
 * rows: measured, the writer then spends less CPU a row and the socket's thread waits less for a
 * core (docs/BENCHMARKS.md, "Session 10"). Queued as columns, a row costs about 72 bytes (and the
 * writer holds a copy of the batch it commits); a million-line stream peaked about 30 MB higher
 * than with 10,000.
 */
const MAX_QUEUED_ROWS = 60_000;

/**
 * The run's mark in bridge_runs is moved on at least this often, idle or not: after a crash the
 * time since the last mark is counted as the bridge's absence (unknown), never as a bot's.
 */
export const MARK_INTERVAL_MS = 2000;

export const DB_OPS = ["open", "write", "retention", "replaced"] as const;
export type DbOp = (typeof DB_OPS)[number];
export const DB_TABLES = ["bot_status", "llm_usage", "bot_metrics", "bot_record"] as const;
export type DbTable = (typeof DB_TABLES)[number];

export type StoreWriterOptions = {
  path: string;
  /** bot_metrics rows older than this are deleted, daily. */
  retentionDays: number;
  /** llm_usage rows older than this are deleted, daily; null keeps them. */
  usageRetentionDays: number | null;
  /** bot_record rows (and bridge_runs) older than this are deleted daily, but a channel's last state before it. */
  recordRetentionDays?: number;
  flushIntervalMs?: number;
  /**
   * Rows waiting for the next commit before the sockets stop being read (backpressure, see
   * `onBackpressure`); reading resumes below half of it. Rows are dropped (and counted) only
   * past twice this bound, which backpressure keeps from happening.
   */
  maxQueuedRows?: number;
  /** Mode of a database file the bridge creates (default 640: the bridge's user and group only). */
  fileMode?: number;
  /** Told true when the queue is full (stop reading the sockets), false once it has room again. */
  onBackpressure?: (full: boolean) => void;
};

export interface CommittedUsageSink {
  committed(usage: CommittedUsage): void;
}

const featuresJson = (bot: Bot) => JSON.stringify(bot.features ?? {});

/**
 * The persistence sink. Rows are queued in memory and handed, once per interval (and at
 * shutdown), to a writer thread that commits them in one transaction: a burst costs one commit a
 * second, and neither the commit nor any other disk I/O runs on the thread that reads the socket.
 * A database that cannot be opened or written (locked, read-only, corrupt, full, missing
 * directory) never stops ingest: failures are counted and logged, the rows kept within the queue
 * bound, and the writer tries again at the next interval.
 */
export class StoreWriter {
  readonly errors = new CounterMap<DbOp>(DB_OPS);
  readonly written = new CounterMap<DbTable>(DB_TABLES);
  #lastCommitAt: number | null = null;
  /** When rows were last committed (Unix ms); null before the first commit. */
  get lastCommitAt(): number | null {
    return this.#lastCommitAt;
  }
  #dropped = 0;
  get dropped(): number {
    return this.#dropped;
  }
  #commits = 0;
  get commits(): number {
    return this.#commits;
  }
  #setAside = 0;
  /** Rows written to the journal at shutdown because the database did not take them in time. */
  get setAside(): number {
    return this.#setAside;
  }
  #replayed = 0;
  /** Rows an earlier run set aside, committed by this one. */
  get replayed(): number {
    return this.#replayed;
  }
  /** This run, as batches name it (journal.ts): set-aside batches are committed once. */
  private readonly run = `${Date.now().toString(36)}-${process.pid}`;
  private seq = 0;
  /** The batch the writer thread holds, until it answers: a commit is running while it is set. */
  private inFlight: Batch | undefined;
  /** Shutdown set the queue aside: a late answer changes nothing. */
  private closing = false;
  /** The follower's position, to be saved with the next commit. */
  private followPosition: number | undefined;
  /** The notifier's latest state, to be saved with the next commit (only the latest matters). */
  private notifyState: string | undefined;
  private statuses = new Map<string, StatusRow>();
  private usage = new UsageColumnsQueue();
  private samples: SampleRow[] = [];
  private record: RecordRow[] = [];
  /** When this run began (bridge_runs.started_ms), and when its mark was last handed to a commit. */
  readonly runStartedMs: number;
  private markedAt: number;
  /** close() has begun: the next commit marks the run as ended cleanly. */
  private ending = false;
  private endMarked = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly channel: WorkerChannel<WorkerRequest, WorkerReply>;
  private chain: Promise<void> = Promise.resolve();
  private lastTimestamp: [ms: number, text: string] = [0, toSqlTime(0)];
  private lastRetention: number | undefined;
  private pressing = false;
  private readonly usageSinks: CommittedUsageSink[] = [];
  /** The last commit succeeded: the database is only slow, not broken. */
  private healthy = true;

  private readonly options: WithDefaults<StoreWriterOptions, "flushIntervalMs" | "maxQueuedRows" | "fileMode" | "recordRetentionDays">;

  constructor(
    options: StoreWriterOptions,
    private readonly log: RateLimitedLog,
    private readonly clock: Clock,
  ) {
    this.options = withDefaults(options, { flushIntervalMs: 1000, maxQueuedRows: MAX_QUEUED_ROWS, fileMode: 0o640, recordRetentionDays: 400 });
    const { path, retentionDays, usageRetentionDays, recordRetentionDays, fileMode } = this.options;
    this.runStartedMs = clock.now();
    this.markedAt = -Infinity;
    this.channel = new WorkerChannel({ url: new URL("./writer-worker.js", import.meta.url), workerData: { path, retentionDays, usageRetentionDays, recordRetentionDays, fileMode, run: this.run }, component: "store" });
  }

  /** Told what each commit added to llm_usage from the socket (spend and latency add it up). */
  observeCommittedUsage(sink: CommittedUsageSink): void {
    this.usageSinks.push(sink);
  }

  /** The last open or commit succeeded. */
  get writable(): boolean {
    return this.healthy;
  }

  get queuedRows(): number {
    return this.statuses.size + this.boundedRows;
  }

  /**
   * Opens (and migrates) the database on the writer thread, then a reading connection here for
   * the caller to read the start-up state with and close. Resolves undefined when the database
   * cannot be opened (counted; the writer keeps trying at every interval).
   */
  async open(): Promise<Database | undefined> {
    const reply = await this.request({ type: "open" });
    if (reply.type !== "opened") return undefined;
    if (reply.error !== undefined) {
      this.healthy = false;
      this.failed("open", reply.error);
      return undefined;
    }
    if (reply.migration !== undefined) this.reportMigration(reply.migration);
    this.noteReplay(reply.replay);
    try {
      return openReadOnly(this.options.path);
    } catch {
      return undefined;
    }
  }

  start(): void {
    this.timer = every("store", this.options.flushIntervalMs, () => {
      if (this.inFlight === undefined) void this.flush();
    });
  }

  /**
   * The bot's current state replaces any queued one: one row per bot per commit. KissBot's
   * columns are NOT NULL: unknown features are written as {}, and last_seen is the last sign of
   * life (registration before the first heartbeat), as KissBot's Monitor writes it.
   */
  botState(bot: Bot, status: string = bot.status): void {
    this.statuses.set(bot.channel, [
      bot.channel,
      bot.pid,
      status,
      featuresJson(bot),
      toSqlTime(bot.registeredAt),
      toSqlTime(lastSignOfLife(bot)),
      bot.visibility === "visible" ? bot.startTime : null,
    ]);
  }

  llmUsage(msg: PricedLlmUsage): void {
    if (this.full()) return;
    this.usage.push(this.now(), msg.channel, msg.model, msg.feature, msg.tokensIn, msg.tokensOut, msg.latencyMs, msg.costUsd, msg.costSource);
  }

  /** A bot_metrics row; KissBot's table wants both figures, so a look without them writes nothing. */
  sample(bot: Bot, rssBytes: number | null, cpuRatio: number | null): void {
    if (rssBytes === null || cpuRatio === null || this.full()) return;
    this.samples.push([this.now(), bot.channel, bot.pid, rssBytes / MIB, cpuRatio * 100, featuresJson(bot)]);
  }

  /** A change of a bot's state or snooze (record/recorder.ts), committed with the bot_status it goes with. */
  recordChange(row: RecordRow): void {
    if (this.full()) return;
    this.record.push(row);
  }

  /**
   * The follower has counted the bots' rows up to `position`: saved in bridge_state with the next
   * commit (and set aside with the rows at shutdown), by this thread, the only one that writes.
   */
  saveFollowPosition(position: number): void {
    this.followPosition = position;
  }

  /** The notifier's state (incidents, messages waiting): saved in notify_state with the next commit. */
  saveNotifyState(json: string): void {
    this.notifyState = json;
  }

  /** State to save that is not rows: a commit is due for it even with no row queued. */
  private get stateQueued(): boolean {
    return this.followPosition !== undefined || this.notifyState !== undefined || this.markDue;
  }

  /** The run's mark is due: its interval has passed, or the clean end is not written yet. */
  private get markDue(): boolean {
    return this.ending ? !this.endMarked : this.clock.now() - this.markedAt >= MARK_INTERVAL_MS;
  }

  /** Commits everything queued so far; resolves once it is committed (or has failed and been requeued). */
  flush(): Promise<void> {
    // Never rejects: a chain left rejected would skip every later commit (and a timer's `void`
    // would make it an unhandled rejection, which ends the process).
    this.chain = this.chain
      .then(() => this.commitQueued())
      .catch((err: unknown) => this.failed("write", (err as Error).message));
    return this.chain;
  }

  /**
   * Commits what is queued, stops the writer thread and closes the files, within `boundMs` and
   * a little more: what the database has not taken by then (locked by another process, a full
   * disk) is set aside in the journal beside it, for the next start to commit.
   */
  async close(boundMs = 2000): Promise<void> {
    clearInterval(this.timer);
    this.ending = true;
    // A commit that fails at once (a lock SQLite will not wait for) is tried again until the bound.
    const deadline = Date.now() + boundMs;
    for (let left = boundMs; left > 0; left = deadline - Date.now()) {
      await Promise.race([this.flush().then(() => this.settled()), delay(left)]);
      if (this.inFlight === undefined && this.queuedRows === 0 && !this.stateQueued) break;
      await delay(Math.min(100, deadline - Date.now()));
    }
    this.closing = true;
    this.setAsideQueued();
    if (!this.channel.running) return;
    // A thread inside SQLite must not be ended (database.ts, WRITE_BUSY_TIMEOUT_MS): the commit in
    // flight returns within the lock wait, its rows already set aside, and is told apart at replay.
    await Promise.race([this.settled(), delay(WRITE_BUSY_TIMEOUT_MS + 1500)]);
    if (this.inFlight === undefined) await Promise.race([this.request({ type: "close" }), delay(1000)]);
    await this.channel.close(500);
  }

  /** The batch in flight and the queue, appended to the journal and synced (or counted as dropped). */
  private setAsideQueued(): void {
    const entries: JournalEntry[] = [];
    const entry = (b: Batch): JournalEntry => ({ run: b.run, seq: b.seq, statuses: b.statuses, usage: [...rowsOf(b.usage)], samples: b.samples, followPosition: b.followPosition, notifyState: b.notifyState, record: b.record, mark: b.mark });
    if (this.inFlight !== undefined) entries.push(entry(this.inFlight));
    if (this.queuedRows > 0 || this.stateQueued) entries.push(entry(this.takeBatch(this.clock.now(), false)));
    const kept = entries.filter((e) => entryRows(e) > 0 || e.followPosition !== undefined || e.notifyState !== undefined || e.mark?.ended === true);
    const rows = kept.reduce((n, e) => n + entryRows(e), 0);
    if (kept.length === 0) return;
    try {
      appendJournal(journalPath(this.options.path), kept, this.options.fileMode);
      this.#setAside += rows;
      this.log.info({ rows, journal: journalPath(this.options.path) }, "the database did not take these rows in time; set aside for the next start");
    } catch (err) {
      this.#dropped += rows;
      this.log.warn("db:journal", { err: (err as Error).message, rows }, "cannot set rows aside in the journal; they are lost");
    }
  }

  private takeBatch(now: number, retention: boolean): Batch {
    const mark = { startedMs: this.runStartedMs, markMs: now, ended: this.ending };
    const batch: Batch = { run: this.run, seq: ++this.seq, now, retention, statuses: [...this.statuses.values()], usage: this.usage.take(), samples: this.samples, followPosition: this.followPosition, notifyState: this.notifyState, record: this.record, mark };
    this.markedAt = now;
    if (this.ending) this.endMarked = true;
    this.statuses = new Map();
    this.samples = [];
    this.record = [];
    this.followPosition = undefined;
    this.notifyState = undefined;
    return batch;
  }

  private noteReplay(r: ReplayReport | undefined): void {
    if (r === undefined) return;
    this.#replayed += r.rows;
    this.log.info({ rows: r.rows, alreadyCommitted: r.skipped, tornLines: r.torn, journal: journalPath(this.options.path) }, "committed the rows the last shutdown set aside");
  }

  /** Resolves once no commit is running or chained (a commit may chain another, see commitQueued). */
  private async settled(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.chain;
      await chain;
    } while (chain !== this.chain);
  }

  private async commitQueued(): Promise<void> {
    const now = this.clock.now();
    // Old rows are deleted at the first commit, then once a day, with or without new rows.
    const retention = this.lastRetention === undefined || now - this.lastRetention >= DAY_MS;
    if (this.queuedRows === 0 && !retention && !this.stateQueued) return;
    if (this.closing) return;
    const batch = this.takeBatch(now, retention);
    this.inFlight = batch;
    // Cloned, not transferred: a failed commit's rows are requeued from this side's copy.
    // A writer thread that cannot be started or sent the batch fails the commit like a write: requeued.
    const reply = await this.request({ type: "commit", batch })
      .catch((err: unknown): WorkerReply => ({ type: "committed", ok: false, op: "write", error: (err as Error).message }))
      .finally(() => {
        this.inFlight = undefined;
      });
    if (reply.type !== "committed") return;
    // Set aside already: a failure requeues nothing, a success is counted below.
    if (!reply.ok && this.closing) return;
    if (reply.retentionError !== undefined) this.failed("retention", reply.retentionError);
    else if (reply.ok && retention) this.lastRetention = now;
    if (!reply.ok) {
      this.healthy = false;
      this.failed(reply.op, reply.error);
      this.requeue(batch);
      // A database that fails must not stop heartbeats being read (every bot would go stale):
      // rows past the bound are dropped and counted instead, as before backpressure.
      this.relieve(true);
      return;
    }
    this.healthy = true;
    this.noteReplay(reply.replay);
    if (reply.usage !== undefined) this.tellSinks(reply.usage);
    if (reply.replaced !== undefined) {
      this.failed("replaced", reply.replaced);
    }
    this.relieve();
    // Still half full (rows arrived during the commit): commit again now. While reading is
    // paused no new row would start a commit, and waiting for the next tick stalled the sockets.
    if (this.halfFull) void this.flush();
    const usageRows = rowCount(batch.usage);
    if (batch.statuses.length + usageRows + batch.samples.length + batch.record.length === 0) return;
    this.#commits++;
    this.#lastCommitAt = this.clock.now();
    this.written.inc("bot_status", batch.statuses.length);
    this.written.inc("llm_usage", usageRows);
    this.written.inc("bot_metrics", batch.samples.length);
    this.written.inc("bot_record", batch.record.length);
  }

  /** The rows are committed whatever a sink does: one that throws is logged, the others still told. */
  private tellSinks(usage: CommittedUsage): void {
    for (const sink of this.usageSinks) {
      try {
        sink.committed(usage);
      } catch (err) {
        this.log.warn("db:sink", { err: (err as Error).message }, "a reader of committed LLM usage failed; spend or latency may miss these rows until its next full read");
      }
    }
  }

  /** A failed batch goes back in front of what arrived meanwhile, within the queue bound. */
  private requeue(batch: Batch): void {
    this.followPosition ??= batch.followPosition;
    this.notifyState ??= batch.notifyState;
    if (batch.mark?.ended === true) this.endMarked = false;
    // The record is a handful of rows a day per bot: kept whole, in front, whatever the bound.
    this.record = batch.record.concat(this.record);
    for (const row of batch.statuses) if (!this.statuses.has(row[0])) this.statuses.set(row[0], row);
    const room = this.options.maxQueuedRows - this.boundedRows;
    const failedRows = rowCount(batch.usage);
    const usageKept = Math.min(failedRows, Math.max(0, room));
    const samples = batch.samples.slice(0, Math.max(0, room - usageKept));
    this.#dropped += failedRows - usageKept + batch.samples.length - samples.length;
    const usage = new UsageColumnsQueue();
    usage.pushAll(batch.usage, usageKept);
    usage.pushAll(this.usage.take());
    this.usage = usage;
    this.samples = samples.concat(this.samples);
  }

  /**
   * The writer thread's reply. A thread lost meanwhile (it is replaced at the next commit)
   * answers as a failed write, so its batch is requeued. Rejects, never throws, when the message
   * cannot be sent.
   */
  private async request(m: WorkerRequest): Promise<WorkerReply> {
    try {
      return await this.channel.request(m);
    } catch (err) {
      if (err instanceof WorkerLost) return { type: "committed", ok: false, op: "write", error: err.message };
      throw err;
    }
  }

  private reportMigration(m: MigrationReport): void {
    const changed = m.created.length + m.rebuilt.length + m.added.length > 0;
    if (changed || m.from !== SCHEMA_VERSION) {
      this.log.info({ path: this.options.path, from: m.from, to: SCHEMA_VERSION, created: m.created, rebuilt: m.rebuilt, added: m.added }, "database schema brought up to date");
    }
    if (m.repairedCostColumn) {
      this.log.warn(
        "db:repaired",
        { path: this.options.path },
        "llm_usage had no cost_usd column (made by KissBot's Monitor before its bots' logger), so every LLM row the bots tried to log was failing; added the column",
      );
    }
  }

  private failed(op: DbOp, error: string): void {
    this.errors.inc(op);
    this.log.warn(`db:${op}`, { err: error, path: this.options.path }, `database ${op} failed; will retry`);
  }

  /** Timestamps change once a millisecond: format each only once. */
  private now(): string {
    const ms = this.clock.now();
    if (this.lastTimestamp[0] !== ms) this.lastTimestamp = [ms, toSqlTime(ms)];
    return this.lastTimestamp[1];
  }

  /** Rows the queue bound counts: LLM calls and samples (status rows are one per bot, replaced in place). */
  private get boundedRows(): number {
    return this.usage.length + this.samples.length + this.record.length;
  }

  /** Past half the bound a commit starts at once, and paused reading stays paused. */
  private get halfFull(): boolean {
    return this.boundedRows >= this.options.maxQueuedRows / 2;
  }

  private full(): boolean {
    const queued = this.boundedRows;
    const max = this.options.maxQueuedRows;
    // A burst: commit now rather than at the next tick.
    if (this.halfFull && this.inFlight === undefined) void this.flush();
    if (queued + 1 >= max && !this.pressing && this.healthy) {
      this.pressing = true;
      this.options.onBackpressure?.(true);
    }
    // Lines already read when reading stopped still fit; only a hard bound drops.
    if (queued < (this.healthy ? 2 * max : max)) return false;
    this.#dropped++;
    return true;
  }

  /** Reading resumes once the queue is below half its bound (or at once when `force`). */
  private relieve(force = false): void {
    if (!this.pressing) return;
    if (!force && this.halfFull) return;
    this.pressing = false;
    this.options.onBackpressure?.(false);
  }
}
