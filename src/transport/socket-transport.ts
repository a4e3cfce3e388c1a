import { Worker } from "node:worker_threads";
import { CONNECTION_DROP_REASONS, type ConnectionDropReason, type LineHandler, type SocketServerOptions } from "./socket-server.js";
import { forEachLine } from "./line-batch.js";
import { STAT_SLOTS, statSlot, type FromSocketThread, type SocketThreadData, type ToSocketThread } from "./socket-thread-protocol.js";
import { CounterMap } from "../util/counter-map.js";
import { after, delay, internalErrors } from "../util/guard.js";

/** The socket thread failed to listen: the message (and errno code) it failed with. */
export class TransportStartError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/**
 * The Monitor socket, served by a thread of its own (socket-thread.ts runs the SocketServer
 * there). The main thread gets framed lines in batches and hands each to `handler` in the order
 * read. The thread holds back reading (never accepting) while 20,000 lines or 16 MiB wait for
 * the main thread. A thread that dies is counted as an internal error of the transport and started again.
 */
export class SocketTransport {
  /** The listen backlog in effect once started. */
  backlog = 0;
  private worker: Worker | undefined;
  /** The running thread's counts (STAT_SLOTS), shared with it. */
  private stats = new BigInt64Array(new SharedArrayBuffer(8 * STAT_SLOTS.length));
  /** Counts of threads before it (one that died and was replaced). */
  private readonly earlier = STAT_SLOTS.map(() => 0);
  private paused = false;
  /** Bytes and lines of batches handled, shared with the thread, which holds back reading when it is far ahead. */
  private handled = new BigInt64Array(new SharedArrayBuffer(16));
  private stopping = false;
  private started: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private stopped: (() => void) | undefined;
  #listening = false;

  constructor(
    private readonly options: SocketServerOptions,
    private readonly handler: LineHandler,
  ) {}

  private stat(name: (typeof STAT_SLOTS)[number], cumulative = true): number {
    const i = statSlot(name);
    return (cumulative ? this.earlier[i]! : 0) + Number(Atomics.load(this.stats, i));
  }

  get connectionsAccepted(): number {
    return this.stat("accepted");
  }

  get openConnections(): number {
    return this.stat("open", false);
  }

  get bufferedBytes(): number {
    return this.stat("buffered", false);
  }

  /** Connections the thread closed, by reason. */
  get dropped(): CounterMap<ConnectionDropReason> {
    const counts = new CounterMap<ConnectionDropReason>(CONNECTION_DROP_REASONS);
    for (const reason of CONNECTION_DROP_REASONS) counts.inc(reason, this.stat(reason));
    return counts;
  }

  get listening(): boolean {
    return this.#listening;
  }

  async start(): Promise<void> {
    this.handled = new BigInt64Array(new SharedArrayBuffer(16));
    this.stats = new BigInt64Array(new SharedArrayBuffer(8 * STAT_SLOTS.length));
    const workerData: SocketThreadData = { options: this.options, handled: this.handled.buffer as SharedArrayBuffer, stats: this.stats.buffer as SharedArrayBuffer };
    const worker = new Worker(new URL("./socket-thread.js", import.meta.url), { workerData });
    this.worker = worker;
    worker.on("message", internalErrors.guard("transport", (m: FromSocketThread) => this.receive(m)));
    worker.on("error", (err) => this.lost(worker, err));
    worker.on("exit", (code) => this.lost(worker, new Error(`the socket thread exited with ${code}`)));
    const started = new Promise<void>((resolve, reject) => (this.started = { resolve, reject }));
    this.send({ op: "start" });
    if (this.paused) this.send({ op: "pause" });
    try {
      await started;
    } catch (err) {
      if (this.worker === worker) this.worker = undefined;
      await Promise.race([worker.terminate(), delay(500)]);
      throw err;
    }
  }

  /** Backpressure: the thread stops reading (it still accepts), so the kernel holds what senders write. */
  pause(): void {
    this.paused = true;
    this.send({ op: "pause" });
  }

  resume(): void {
    this.paused = false;
    this.send({ op: "resume" });
  }

  /**
   * As SocketServer.stop, on the thread: the socket file goes first, the connections already
   * queued are still read; every line read is handled here before this resolves.
   */
  async stop(graceMs: number): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.stopping = true;
    const stopped = new Promise<void>((resolve) => (this.stopped = resolve));
    this.send({ op: "stop", graceMs });
    // Within the part's bound of 3 s (main.ts), thread ending included.
    await Promise.race([stopped, delay(graceMs + 1000)]);
    this.#listening = false;
    this.worker = undefined;
    await Promise.race([worker.terminate(), delay(500)]);
  }

  private send(m: ToSocketThread): void {
    this.worker?.postMessage(m);
  }

  private receive(m: FromSocketThread): void {
    switch (m.kind) {
      case "batch":
        this.handle(m.bytes, m.tooLong);
        Atomics.add(this.handled, 0, BigInt(m.bytes.byteLength));
        Atomics.add(this.handled, 1, BigInt(m.lines));
        return;
      case "started":
        this.backlog = m.backlog;
        this.#listening = true;
        return this.started?.resolve();
      case "failed":
        return this.started?.reject(new TransportStartError(m.message, m.code));
      case "error":
        return internalErrors.report("transport", Object.assign(new Error(m.message), { stack: m.stack }));
      case "stopped":
        return this.stopped?.();
    }
  }

  /** Each line in turn; one that throws is counted and the rest of the batch still goes in. */
  private handle(bytes: ArrayBuffer, tooLong: number): void {
    const handler = this.handler;
    forEachLine(new Uint8Array(bytes), (line) => {
      try {
        handler.line(line);
      } catch (err) {
        internalErrors.report("transport", err);
      }
    });
    for (let i = 0; i < tooLong; i++) handler.tooLong();
  }

  /** The thread died: counted, and a new one takes the socket after a second (then every 5 s until one does). */
  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    const wasListening = this.#listening;
    this.worker = undefined;
    this.#listening = false;
    // Its counts go on from where they were; its open connections and unfinished lines went with it.
    for (const [i, name] of STAT_SLOTS.entries()) if (name !== "open" && name !== "buffered") this.earlier[i]! += Number(Atomics.load(this.stats, i));
    this.stats = new BigInt64Array(new SharedArrayBuffer(8 * STAT_SLOTS.length));
    this.started?.reject(new TransportStartError(err.message, undefined));
    if (this.stopping) return this.stopped?.();
    internalErrors.report("transport", err);
    // A thread that never listened failed its start, which its caller hears about.
    if (wasListening) this.restartAfter(1000);
  }

  private restartAfter(ms: number): void {
    after("transport", ms, async () => {
      if (this.stopping || this.worker !== undefined) return;
      try {
        await this.start();
      } catch (e) {
        internalErrors.report("transport", e);
        this.restartAfter(5000);
      }
    });
  }
}
