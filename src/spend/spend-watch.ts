import type { Clock } from "../util/clock.js";
import { MAX_SPEND_ROWS, type SpendRow } from "./spend-queries.js";
import { periodStarts } from "../calendar/period.js";
import { LatencyWindow, type LatencyView } from "./latency-window.js";
import type { CommittedUsage, LatencyCell, SpendCell } from "./spend-cells.js";
import { every } from "../util/guard.js";

/** What the watch reads from the database (the reader thread, bounded in time). */
export interface SpendSource {
  spend(a: { dayStartMs: number; monthStartMs: number; afterId: number; upToId?: number; botsOnly?: boolean }): Promise<{ rows: SpendRow[]; maxId: number }>;
  idRange(a: { sinceMs: number }): Promise<{ afterId: number; maxId: number }>;
  latency(a: { sinceMs: number; afterId: number; upToId?: number; botsOnly?: boolean }): Promise<{ cells: LatencyCell[]; maxId: number }>;
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

/** A full read at least this often, so rows deleted or rewritten behind the watch are seen. */
const FULL_READ_MS = 3_600_000;

/**
 * Ids one read of a full read covers at most: a month (or the latency's hour) of millions of
 * rows is read in chunks of 0.2–0.35 s each here, never in one read that outlives the reader's
 * time limit (and is then ended, every time it is tried again).
 */
const FULL_READ_CHUNK_IDS = 250_000;

/**
 * Cells of commits held while a full read runs (to add those it did not see once it is done).
 * Past it the full read starts over, from a new end that takes them in.
 */
const MAX_PENDING_CELLS = 200_000;

/** Commits held while a full read runs, and how many cells they hold. */
type Held = { commits: CommittedUsage[]; cells: number };

/** A full read under way: the ids left to read, and the groups read so far. */
type FullRead = { afterId: number; toId: number; groups: Map<string, SpendRow>; dayStartMs: number; monthStartMs: number; at: number };

/**
 * Today's and this month's LLM spend, read from llm_usage (so a restart resets nothing), with
 * the periods of `timeZone`; and the last hour's latency by model. A full read happens at
 * start, when a day or month begins and hourly, in chunks of ids; in between, only rows added
 * since the last read (by primary key) are read and added, so a large table costs little every
 * few seconds. The hour's latency is kept the same way, read once a minute. The last good
 * figures are kept while a read fails (a full read goes on from its last chunk); `error` says
 * why. Between full reads, the bridge's own rows are not read back: the writer thread sums
 * each commit (`committed`), and reads take only the bots' rows. A commit counts when its ids
 * come after the full read's end; a commit lands whole on one side of any read.
 */
export class SpendWatch {
  #latency: LatencyView[] = [];
  get latency(): readonly LatencyView[] {
    return this.#latency;
  }
  #readAt: number | null = null;
  /** When the figures were read (Unix ms), null before the first read. */
  get readAt(): number | null {
    return this.#readAt;
  }
  #error: string | null = null;
  get error(): string | null {
    return this.#error;
  }
  #dayStartMs = 0;
  get dayStartMs(): number {
    return this.#dayStartMs;
  }
  #monthStartMs = 0;
  get monthStartMs(): number {
    return this.#monthStartMs;
  }
  /** Groups of this month's spend left out because MAX_SPEND_ROWS were held already, counted at each read. */
  private refusedGroups = 0;
  private groups = new Map<string, SpendRow>();
  /** Where the bots' rows have been read up to. */
  private maxId = 0;
  /** The end of the full read `groups` came from: commits after it are added (none before the first). */
  private fullToId = Infinity;
  /** Commits since the full read under way began, for it to add those it did not see. */
  private pending: Held | undefined;
  private fullReadAt = -Infinity;
  private fullRead: FullRead | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private latencyReadAt = -Infinity;
  private readonly latencyWindow = new LatencyWindow();
  /** Where the last latency read ended; undefined until a full read of the hour has succeeded. */
  private latencyMaxId: number | undefined;
  /** As fullToId and pending, for the latency window. */
  private latencyFullToId: number | undefined;
  private latencyPending: Held | undefined;
  /** After a failed read, the next waits a minute: a database too slow for it is not hammered. */
  private retryAt = -Infinity;

  constructor(
    private readonly source: SpendSource,
    private readonly clock: Clock,
    private readonly timeZone: string,
    private readonly everyMs = 5_000,
    private readonly chunkIds = FULL_READ_CHUNK_IDS,
    private readonly maxPendingCells = MAX_PENDING_CELLS,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = every("spend", this.everyMs, () => this.refresh());
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads now (one read at a time: a caller arriving meanwhile shares it). */
  refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** What a commit of the bridge's own llm_usage rows added, summed by the writer thread. */
  committed(u: CommittedUsage): void {
    if (u.firstId > this.fullToId) this.addCells(this.groups, this.#dayStartMs, this.#monthStartMs, u.spend);
    if (this.latencyFullToId !== undefined && this.latencyPending === undefined && u.firstId > this.latencyFullToId) this.latencyWindow.add(u.latency);
    // Too much to hold while a slow full read runs: it starts over, its new end taking these in.
    if (this.held(this.pending, u)) {
      this.fullRead = undefined;
      this.pending = undefined;
      this.fullReadAt = -Infinity;
    }
    if (this.held(this.latencyPending, u)) {
      this.latencyPending = undefined;
      this.latencyMaxId = undefined;
    }
  }

  /** Holds `u` in `h` (when a full read holds commits); true once that passes the bound. */
  private held(h: Held | undefined, u: CommittedUsage): boolean {
    if (h === undefined) return false;
    h.commits.push(u);
    h.cells += u.spend.length + u.latency.length;
    return h.cells > this.maxPendingCells;
  }

  /** Spend groups and latency buckets left out because their bound was reached. */
  get refused(): number {
    return this.refusedGroups + this.latencyWindow.refused;
  }

  /** Every channel × model × feature group. */
  rows(): IterableIterator<SpendRow> {
    return this.groups.values();
  }

  /** Totals of today and this month, grouped by channel, model or feature, largest month first. */
  totals(by: "channel" | "model" | "feature"): SpendTotals[] {
    const out = new Map<string, SpendTotals>();
    for (const r of this.groups.values()) {
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
    if (now < this.retryAt) return;
    const p = periodStarts(now, this.timeZone);
    try {
      if (this.fullRead === undefined && (p.dayStartMs !== this.#dayStartMs || p.monthStartMs !== this.#monthStartMs || now - this.fullReadAt >= FULL_READ_MS)) {
        this.pending ??= { commits: [], cells: 0 };
        const range = await this.source.idRange({ sinceMs: Math.min(p.monthStartMs, p.dayStartMs) });
        if (this.pending === undefined) return; // started over meanwhile (see committed)
        this.fullRead = { afterId: range.afterId, toId: range.maxId, groups: new Map(), dayStartMs: p.dayStartMs, monthStartMs: p.monthStartMs, at: now };
      }
      const f = this.fullRead;
      if (f !== undefined) {
        await this.inChunks(f, async (afterId, upToId) => {
          for (const r of (await this.source.spend({ dayStartMs: f.dayStartMs, monthStartMs: f.monthStartMs, afterId, upToId })).rows) this.add(f.groups, r);
        });
        if (this.fullRead !== f) return; // started over meanwhile
        for (const u of this.pending?.commits ?? []) if (u.firstId > f.toId) this.addCells(f.groups, f.dayStartMs, f.monthStartMs, u.spend);
        this.pending = undefined;
        this.groups = f.groups;
        this.maxId = f.toId;
        // The first full read is read again after a minute: a bridge that stopped as this one
        // started may commit its last rows after it, and those are neither read nor this one's.
        this.fullReadAt = this.fullToId === Infinity ? f.at - FULL_READ_MS + 60_000 : f.at;
        this.fullToId = f.toId;
        this.#dayStartMs = f.dayStartMs;
        this.#monthStartMs = f.monthStartMs;
        this.fullRead = undefined;
      }
      // The bots' rows added since the last read (after a full read: those added while it ran).
      const got = await this.source.spend({ dayStartMs: this.#dayStartMs, monthStartMs: this.#monthStartMs, afterId: this.maxId, botsOnly: true });
      for (const r of got.rows) this.add(this.groups, r);
      // Ids went back: the database file was replaced. The next read reads it whole.
      if (got.maxId < this.maxId) this.fullReadAt = -Infinity;
      this.maxId = got.maxId;
      this.#readAt = now;
      this.#error = null;
      if (now - this.latencyReadAt >= 60_000) await this.readLatency(now);
    } catch (err) {
      this.#error = (err as Error).message;
      this.retryAt = now + 60_000;
    }
  }

  /**
   * The hour whole at the first read, or when ids went back (the database file was replaced),
   * in chunks like spend's month; after that only the rows added since.
   */
  private async readLatency(now: number): Promise<void> {
    const sinceMs = now - 3_600_000;
    let lat = this.latencyMaxId === undefined ? undefined : await this.source.latency({ sinceMs, afterId: this.latencyMaxId, botsOnly: true });
    if (lat === undefined || lat.maxId < this.latencyMaxId!) {
      this.latencyMaxId = undefined;
      const pending: Held = (this.latencyPending = { commits: [], cells: 0 });
      const range = await this.source.idRange({ sinceMs });
      this.latencyWindow.clear();
      await this.inChunks({ afterId: range.afterId, toId: range.maxId }, async (afterId, upToId) => this.latencyWindow.add((await this.source.latency({ sinceMs, afterId, upToId })).cells));
      lat = await this.source.latency({ sinceMs, afterId: range.maxId, botsOnly: true });
      if (this.latencyPending !== pending) return; // started over meanwhile (see committed)
      for (const u of pending.commits) if (u.firstId > range.maxId) this.latencyWindow.add(u.latency);
      this.latencyPending = undefined;
      this.latencyFullToId = range.maxId;
    }
    this.latencyWindow.add(lat.cells);
    this.latencyMaxId = lat.maxId;
    this.#latency = this.latencyWindow.views(now);
    this.latencyReadAt = now;
  }

  /**
   * Reads the ids after `r.afterId` up to `r.toId` in chunks, moving `r.afterId` on after each:
   * a read that failed goes on from there.
   */
  private async inChunks(r: { afterId: number; toId: number }, read: (afterId: number, upToId: number) => Promise<void>): Promise<void> {
    while (r.afterId < r.toId) {
      const upToId = Math.min(r.toId, r.afterId + this.chunkIds);
      await read(r.afterId, upToId);
      r.afterId = upToId;
    }
  }

  /** Cells of the bridge's own rows, into the periods of `groups`; rows before the month are not spend. */
  private addCells(groups: Map<string, SpendRow>, dayStartMs: number, monthStartMs: number, cells: readonly SpendCell[]): void {
    for (const [minute, channel, model, feature, calls, costUsd, tokens] of cells) {
      const at = Date.parse(`${minute}:00Z`);
      if (!(at >= monthStartMs)) continue;
      const today = at >= dayStartMs;
      this.add(groups, {
        channel,
        model,
        feature,
        calls_today: today ? calls : 0,
        cost_today_usd: today ? costUsd : null,
        tokens_today: today ? tokens : 0,
        calls_month: calls,
        cost_month_usd: costUsd,
        tokens_month: tokens,
      });
    }
  }

  private add(groups: Map<string, SpendRow>, r: SpendRow): void {
    const key = `${r.channel}\u0000${r.model}\u0000${r.feature}`;
    const g = groups.get(key);
    if (g === undefined) {
      // Between full reads too: channels that came and went by the ten thousand, each with a
      // call, must not grow the bridge or its series.
      if (groups.size >= MAX_SPEND_ROWS) {
        this.refusedGroups++;
        return;
      }
      groups.set(key, { ...r });
      return;
    }
    g.calls_today += r.calls_today;
    g.cost_today_usd = r.cost_today_usd === null ? g.cost_today_usd : (g.cost_today_usd ?? 0) + r.cost_today_usd;
    g.tokens_today += r.tokens_today;
    g.calls_month += r.calls_month;
    g.cost_month_usd = r.cost_month_usd === null ? g.cost_month_usd : (g.cost_month_usd ?? 0) + r.cost_month_usd;
    g.tokens_month += r.tokens_month;
  }
}
