import { Worker } from "node:worker_threads";
import type { ReadArgs, ReaderReply, ReaderRequest, ReadName, ReadResult } from "./read-queries.js";
import { CounterMap } from "../util/counter-map.js";
import { after, internalErrors } from "../util/guard.js";

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
  private worker: Worker | undefined;
  private running: Pending | undefined;
  private readonly queue: Pending[] = [];
  private nextId = 1;

  constructor(private readonly options: DatabaseReaderOptions) {}

  read<K extends ReadName>(name: K, args: ReadArgs<K>): Promise<ReadResult<K>> {
    const { timeoutMs = 5000, maxQueued = 16 } = this.options;
    if (this.queue.length >= maxQueued) return Promise.reject(this.refuse("busy", `the database is busy: ${this.queue.length} reads are already waiting`));
    return new Promise((resolve, reject) => {
      const p: Pending = {
        request: { id: this.nextId++, name, args },
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
    await this.worker?.terminate();
    this.worker = undefined;
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
      const worker = this.worker;
      this.worker = undefined;
      void worker?.terminate();
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
      try {
        // Throws for arguments that cannot be cloned, or a thread that cannot start: that read
        // fails alone, and the ones behind it still run.
        this.ensureWorker().postMessage(p.request);
        this.running = p;
      } catch (err) {
        clearTimeout(p.timer);
        p.reject(this.refuse("error", `the read could not be started: ${(err as Error).message}`));
      }
    }
  }

  private settle(reply: ReaderReply): void {
    const p = this.running;
    if (p === undefined || p.request.id !== reply.id) return;
    this.running = undefined;
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(this.refuse("error", `the database cannot be read: ${reply.error}`));
    this.pump();
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL("./reader-worker.js", import.meta.url), { workerData: { path: this.options.path } });
    worker.unref();
    worker.on("message", internalErrors.guard("reader", (m: ReaderReply) => this.settle(m)));
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (this.running !== undefined) this.settle({ id: this.running.request.id, ok: false, error: why });
    };
    worker.on("error", (err) => lost(err.message));
    worker.on("exit", (code) => lost(`reader thread exited with ${code}`));
    this.worker = worker;
    return worker;
  }
}
