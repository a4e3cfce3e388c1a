import type { RateLimitedLog } from "../log/rate-limited-log.js";
import type { FollowedRow, FollowerReply, FollowerRequest, RecordedTotals } from "./follow-protocol.js";
import { delay } from "../util/guard.js";
import { WorkerChannel } from "../util/worker-channel.js";

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

/**
 * Turns the llm_usage rows KissBot's bots write straight into the database into metrics, as if
 * each call had come over the socket. Reading runs on a worker thread; the main thread only
 * checks and counts each bounded batch. Rows the bridge wrote from socket messages are skipped.
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
  private channel: WorkerChannel<FollowerRequest, never, FollowerReply> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly options: LlmRowFollowerOptions,
    private readonly sink: RowSink,
    private readonly log: RateLimitedLog,
  ) {}

  start(): void {
    const { path, pollIntervalMs = 500, batchRows = 2000 } = this.options;
    let resolveStopped!: () => void;
    this.stopped = new Promise((r) => (resolveStopped = r));
    const channel = new WorkerChannel<FollowerRequest, never, FollowerReply>({
      url: new URL("./follower-worker.js", import.meta.url),
      workerData: { path, pollIntervalMs, batchRows },
      component: "follower",
      onEvent: (m) => {
        if (m.type === "rows") {
          for (const r of m.rows) this.sink.row(toWire(r));
          this.#totals = m.totals;
          channel.post({ type: "ack" });
        } else if (m.type === "totals") {
          this.#totals = m.totals;
        } else if (m.type === "error") {
          this.#errors++;
          this.log.warn("db:follow", { err: m.message, path }, "reading the bots' llm_usage rows failed; will retry");
        } else {
          resolveStopped();
        }
      },
      onLost: (why) => {
        this.#errors++;
        this.log.warn("db:follow", { err: why, path }, "the llm_usage follower thread failed");
        resolveStopped();
      },
    });
    channel.start();
    this.channel = channel;
  }

  /** Stops after the batch in hand is counted and its position saved; bounded. */
  async stop(boundMs = 1000): Promise<void> {
    const channel = this.channel;
    if (channel === undefined) return;
    this.channel = undefined;
    channel.post({ type: "stop" });
    await Promise.race([this.stopped, delay(boundMs)]);
    // A thread still waiting for a lock (held elsewhere) ends when the wait does (0.5 s at most).
    await channel.close(300);
  }
}

/** A row with the socket message's field names, so one decoder checks both. */
function toWire(r: FollowedRow): Record<string, unknown> {
  return { type: "llm_usage", id: r[0], channel: r[2], model: r[3], feature: r[4], tokens_in: r[5], tokens_out: r[6], latency_ms: r[7], estimated_cost: r[8] };
}
