import type { RateLimitedLog } from "../log/rate-limited-log.js";
import type { FollowArgs, FollowedRow, FollowResult, RecordedTotals } from "./follow-protocol.js";
import { after, delay } from "../util/guard.js";
import { withDefaults, type WithDefaults } from "../util/defaults.js";

/** Where the bots' rows go: checked and counted like socket messages (Ingest.row). */
export interface RowSink {
  row(value: Record<string, unknown>): void;
}

export type LlmRowFollowerOptions = {
  path: string;
  /** How often to look for new rows when the last look found none. */
  pollIntervalMs?: number;
  /** Rows handed over at most per batch, so each batch is a short slice of the main thread's time (measured in docs/BENCHMARKS.md). */
  batchRows?: number;
};

/** Where the follower reads (the database reader's thread) and has its position saved (the writer's next commit). */
export interface FollowSource {
  follow(args: FollowArgs): Promise<FollowResult>;
  save(position: number): void;
}

/**
 * Turns the llm_usage rows KissBot's bots write straight into the database into metrics, as if
 * each call had come over the socket. The reads run on the database reader's thread, one
 * bounded batch at a time; this thread checks and counts each batch, then has its position
 * saved. The position lives here, so a reader thread ended for a slow API read loses nothing,
 * and a batch is never counted twice. Rows the bridge wrote from socket messages are skipped.
 */
export class LlmRowFollower {
  #errors = 0;
  get errors(): number {
    return this.#errors;
  }
  #totals: RecordedTotals | null = null;
  /** The bots' llm_totals row, while the table exists. */
  get totals(): RecordedTotals | null {
    return this.#totals;
  }
  /** Counted up to here; null until the first read says where the saved position is. */
  private position: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopping = false;
  private readonly options: WithDefaults<LlmRowFollowerOptions, "pollIntervalMs" | "batchRows">;

  constructor(
    options: LlmRowFollowerOptions,
    private readonly source: FollowSource,
    private readonly sink: RowSink,
    private readonly log: RateLimitedLog,
  ) {
    this.options = withDefaults(options, { pollIntervalMs: 500, batchRows: 2000 });
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops after the batch in hand is counted and its position saved; bounded. */
  async stop(boundMs = 1000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await Promise.race([this.polling, delay(boundMs)]);
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer = after("follower", ms, () => (this.polling = this.poll().finally(() => (this.polling = undefined))));
  }

  private async poll(): Promise<void> {
    const { batchRows, pollIntervalMs } = this.options;
    try {
      const r = await this.source.follow({ afterId: this.position, limit: batchRows });
      for (const row of r.rows) this.sink.row(toWire(row));
      this.#totals = r.totals;
      this.position = r.from;
      if (r.next !== r.from) {
        this.position = r.next;
        this.source.save(r.next);
      }
      // A full batch means more are waiting: read on at once, else at the next interval.
      this.schedule(r.rows.length === batchRows ? 0 : pollIntervalMs);
    } catch (err) {
      this.#errors++;
      this.log.warn("db:follow", { err: (err as Error).message, path: this.options.path }, "reading the bots' llm_usage rows failed; will retry");
      this.schedule(pollIntervalMs);
    }
  }
}

/** A row with the socket message's field names, so one decoder checks both. */
function toWire(r: FollowedRow): Record<string, unknown> {
  return { type: "llm_usage", id: r[0], ts: r[1], channel: r[2], model: r[3], feature: r[4], tokens_in: r[5], tokens_out: r[6], latency_ms: r[7], estimated_cost: r[8] };
}
