import { parentPort, Worker, type Transferable } from "node:worker_threads";
import { delay, internalErrors, type Component } from "./guard.js";

/** On the wire: a request with its id, its reply or error with the same id, or an event the thread sends on its own. */
type Envelope<T> = { id: number; body: T } | { id: number; error: string } | { event: T };

/** The thread ended (an error, an exit, or `restart`) before it answered. */
export class WorkerLost extends Error {}

export type WorkerChannelOptions<Ev> = {
  /** The thread's module (it calls `serve`). */
  url: URL;
  workerData: unknown;
  /** The component a throwing handler is counted under (kissbot_bridge_internal_errors_total). */
  component: Component;
  /** Messages the thread sends on its own, not as replies. */
  onEvent?: (event: Ev) => void;
  /** The thread was lost (an error, or an exit nobody asked for); the next request starts a new one. */
  onLost?: (why: string) => void;
};

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/**
 * A typed channel to a worker thread, the one piece every thread of the bridge is built on. The
 * thread starts with the first message and holds the process open until it is closed: an
 * unref() here had no effect, as the "message" listener below refs the thread again, and the
 * bridge relies on a reply keeping the event loop alive (its shutdown awaits the writer's). Each request
 * gets an id and the reply with that id; a thread lost to an error or an exit fails every request
 * in flight with WorkerLost, and the next message starts a new thread. Nothing thrown by a
 * handler reaches the event loop (counted instead). Ending a thread is always bounded:
 * better-sqlite3 aborts the process when a thread is terminated while SQLite waits for a lock,
 * so the bridge's threads wait for locks briefly (db/database.ts) and callers let a wait end
 * before they close.
 */
export class WorkerChannel<Req, Rep, Ev = never> {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly options: WorkerChannelOptions<Ev>) {}

  /** A thread is running. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Starts the thread now, for one that works on its own from the start (the follower). */
  start(): void {
    this.ensure();
  }

  /** Sends `body` and resolves with the thread's reply; rejects with WorkerLost, or the handler's error. Throws for a body that cannot be cloned. */
  request(body: Req, transfer: readonly Transferable[] = []): Promise<Rep> {
    const worker = this.ensure();
    const id = this.nextId++;
    worker.postMessage({ id, body } satisfies Envelope<Req>, transfer);
    return new Promise<Rep>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Sends `body` with no reply expected (an acknowledgement, a stop). */
  post(body: Req): void {
    this.ensure().postMessage({ event: body } satisfies Envelope<Req>);
  }

  /** Ends the thread now (a read that outlived its time): requests in flight fail with WorkerLost. */
  restart(why: string): void {
    const worker = this.worker;
    if (worker === undefined) return;
    this.lost(worker, why, false);
    void worker.terminate();
  }

  /** Ends the thread, waiting at most `boundMs` for it. */
  async close(boundMs = 500): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.lost(worker, "the thread was closed", false);
    await Promise.race([worker.terminate(), delay(boundMs)]);
  }

  private ensure(): Worker {
    if (this.worker !== undefined) return this.worker;
    const { url, workerData, component } = this.options;
    const worker = new Worker(url, { workerData });
    worker.on(
      "message",
      internalErrors.guard(component, (m: Envelope<Rep | Ev>) => {
        if ("event" in m) return this.options.onEvent?.(m.event as Ev);
        const p = this.pending.get(m.id);
        if (p === undefined) return;
        this.pending.delete(m.id);
        if ("error" in m) p.reject(new Error(m.error));
        else p.resolve(m.body);
      }),
    );
    worker.on("error", (err) => this.lost(worker, err.message, true));
    worker.on("exit", (code) => this.lost(worker, `the thread exited with ${code}`, true));
    this.worker = worker;
    return worker;
  }

  private lost(worker: Worker, why: string, unexpected: boolean): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new WorkerLost(why));
    if (unexpected) internalErrors.guard(this.options.component, () => this.options.onLost?.(why))();
  }
}

/**
 * The thread's side: answers each request with `handle`'s value (and the buffers `transfer`
 * names), or its error; passes messages sent with `post` to `onEvent`. Returns `emit`, for
 * messages the thread sends on its own.
 */
export function serve<Req, Rep, Ev = never>(handle: (body: Req) => Rep, options: { transfer?: (reply: Rep, body: Req) => Transferable[]; onEvent?: (body: Req) => void } = {}): { emit(event: Ev): void } {
  const port = parentPort!;
  port.on("message", (m: Envelope<Req>) => {
    if ("event" in m) return options.onEvent?.(m.event);
    if (!("body" in m)) return;
    let reply: Envelope<Rep>;
    let transfer: Transferable[] = [];
    try {
      const body = handle(m.body);
      reply = { id: m.id, body };
      transfer = options.transfer?.(body, m.body) ?? [];
    } catch (err) {
      reply = { id: m.id, error: (err as Error).message };
    }
    port.postMessage(reply, transfer);
  });
  return { emit: (event: Ev) => port.postMessage({ event } satisfies Envelope<Ev>) };
}
