import type { ReadArgs, ReaderRequest, ReadName, ReadResult } from "./read-queries.js";
import { WorkerChannel } from "../../util/worker-channel.js";
import { CounterMap } from "../../util/counter-map.js";
import { after } from "../../util/guard.js";

export const READ_REFUSALS = ["timeout", "busy", "error"] as const;
export type ReadRefusalReason = (typeof READ_REFUSALS)[number];

/** A read the API answers with 503: the reason, and words for the person who asked. */
export class ReadRefused extends Error {
  constructor(
    readonly reason: ReadRefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export type DatabaseReaderOptions = {
  path: string;
  /** How long a read may take, queueing included, before it is answered 503 (default 5 s). */
  timeoutMs?: number;
  /** Reads waiting behind the running one, at most (default 16). */
  maxQueued?: number;
};

type Pending = { request: ReaderRequest; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/**
 * The API's reads of the database, on a thread of their own and bounded in time and number:
 * a slow database answers 503 with a reason and never holds up ingest or /metrics. A read that
 * outlives its time ends the thread (SQLite cannot be interrupted from another thread); the next
 * read starts a new one.
 */
export class DatabaseReader {
  readonly refused = new CounterMap<ReadRefusalReason>(READ_REFUSALS);
  private readonly channel: WorkerChannel<ReaderRequest, unknown>;
  private running: Pending | undefined;
  private readonly queue: Pending[] = [];

  constructor(private readonly options: DatabaseReaderOptions) {
    this.channel = new WorkerChannel({ url: new URL("./reader-worker.js", import.meta.url), workerData: { path: options.path }, component: "reader" });
  }

  read<K extends ReadName>(name: K, args: ReadArgs<K>): Promise<ReadResult<K>> {
    const { timeoutMs = 5000, maxQueued = 16 } = this.options;
    if (this.queue.length >= maxQueued) return Promise.reject(this.refuse("busy", `the database is busy: ${this.queue.length} reads are already waiting`));
    return new Promise((resolve, reject) => {
      const p: Pending = {
        request: { name, args },
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: after("reader", timeoutMs, () => this.expire(p)),
      };
      this.queue.push(p);
      this.pump();
    });
  }

  async close(): Promise<void> {
    for (const p of [...this.queue, ...(this.running ? [this.running] : [])]) {
      clearTimeout(p.timer);
      p.reject(new ReadRefused("error", "the bridge is stopping"));
    }
    this.queue.length = 0;
    this.running = undefined;
    await this.channel.close();
  }

  private refuse(reason: ReadRefusalReason, message: string): ReadRefused {
    this.refused.inc(reason);
    return new ReadRefused(reason, message);
  }

  private expire(p: Pending): void {
    const { timeoutMs = 5000 } = this.options;
    const message = `the database did not answer within ${timeoutMs / 1000} s`;
    if (this.running === p) {
      this.running = undefined;
      // SQLite cannot be interrupted from another thread: the thread goes, the next read starts one.
      this.channel.restart(message);
      p.reject(this.refuse("timeout", message));
      this.pump();
      return;
    }
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    p.reject(this.refuse("timeout", `${message} (waiting behind a slower read)`));
  }

  private pump(): void {
    while (this.running === undefined) {
      const p = this.queue.shift();
      if (p === undefined) return;
      let reply: Promise<unknown>;
      try {
        // Throws for arguments that cannot be cloned, or a thread that cannot start: that read
        // fails alone, and the ones behind it still run.
        reply = this.channel.request(p.request);
      } catch (err) {
        clearTimeout(p.timer);
        p.reject(this.refuse("error", `the read could not be started: ${(err as Error).message}`));
        continue;
      }
      this.running = p;
      reply.then(
        (value) => this.settle(p, () => p.resolve(value)),
        (err: unknown) => this.settle(p, () => p.reject(this.refuse("error", `the database cannot be read: ${(err as Error).message}`))),
      );
    }
  }

  /** The running read's answer; one that already timed out is ignored. */
  private settle(p: Pending, answer: () => void): void {
    if (this.running !== p) return;
    this.running = undefined;
    clearTimeout(p.timer);
    answer();
    this.pump();
  }
}
