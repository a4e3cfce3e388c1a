import { createServer, type Server, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { chmod, link, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { threadId } from "node:worker_threads";
import { LineSplitter, type ByteBudget, type LineSink } from "./line-splitter.js";
import { claimSocketPath, isOurSocketFile, socketFileId, type SocketFileId } from "./socket-path.js";
import { CounterMap } from "../util/counter-map.js";
import { ConnectionList, type Linked } from "./connection-list.js";
import { withDefaults, type WithDefaults } from "../util/defaults.js";
import { MIB } from "../util/units.js";
import { delay, every as everyMs, internalErrors } from "../util/guard.js";

/** The consumer of framed lines (the ingest stage). */
export interface LineHandler {
  line(line: Buffer): void;
  tooLong(): void;
}

export type SocketServerOptions = {
  path: string;
  /** File mode of the socket, e.g. 0o660. */
  mode: number;
  maxLineBytes: number;
  /** A connection with no data for this long is closed (the original Monitor used 30 s). */
  idleTimeoutMs: number;
  /**
   * A connection that has sent no complete line for this long after connecting, or holds a
   * part of a line this long, is closed: it costs a descriptor and memory and carries nothing.
   */
  lineTimeoutMs?: number;
  /** Open connections at most: past it, the idlest one is closed so a new sender always gets in. */
  maxConnections: number;
  /** listen(2) backlog; default: as deep as the kernel allows (net.core.somaxconn). */
  backlog?: number;
  /** Bytes of partial lines held across all connections at most; past it the biggest holder is closed. */
  maxBufferedBytes?: number;
};

/**
 * The name the socket is bound under before it is linked at `path`. libuv unlinks the name a
 * pipe was bound to when the pipe closes, and when the thread that holds it ends; bound under a
 * name of its own and linked into place, closing removes only that name, never the file of a
 * newer instance that took `path` meanwhile. Undefined when the name would not fit in sun_path
 * (a path within about 14 bytes of its 107 with a short file name): then `path` itself is
 * bound, and stopping removes whatever file is at `path` by then.
 */
function bindingName(path: string): string | undefined {
  const name = join(dirname(path), `.kb-${process.pid.toString(36)}-${threadId}`);
  return Buffer.byteLength(name) < 108 ? name : undefined;
}

/**
 * The accept queue a burst of stock-client sends needs: at 10,000 connects a second (32 senders),
 * 0.4 s in which the socket's thread accepts nothing (waiting for a core, say). Below it, the
 * start logs a warning with the sysctl to raise.
 */
export const WANTED_BACKLOG = 4096;

/** The kernel's cap on a listen backlog; Node's default (511) is often below it. */
export function kernelBacklogLimit(): number {
  try {
    const n = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : 511;
  } catch {
    return 511;
  }
}

export const CONNECTION_DROP_REASONS = ["max_connections", "idle_timeout", "line_timeout", "buffer_limit"] as const;
export type ConnectionDropReason = (typeof CONNECTION_DROP_REASONS)[number];

/** One open connection: its framing, and when it last completed a line (or connected) and last sent anything. */
class Connection implements Linked<Connection>, LineSink {
  prev: Connection | undefined = undefined;
  next: Connection | undefined = undefined;
  listed = false;
  lines = 0;
  lastLineAt: number;
  lastDataAt: number;
  readonly splitter: LineSplitter;

  constructor(
    readonly socket: Socket,
    private readonly server: { handler: LineHandler; overBudget(c: Connection): void },
    maxLineBytes: number,
    budget: ByteBudget,
    now: number,
  ) {
    this.lastLineAt = now;
    this.lastDataAt = now;
    this.splitter = new LineSplitter(maxLineBytes, this, budget);
  }

  line(line: Buffer): void {
    this.lastLineAt = Date.now();
    this.lines++;
    this.server.handler.line(line);
  }

  tooLong(): void {
    this.lastLineAt = Date.now();
    this.lines++;
    this.server.handler.tooLong();
  }

  overBudget(): void {
    this.server.overBudget(this);
  }
}

/**
 * The Monitor's Unix socket: accepts both client styles (a connection per message, or many
 * lines streamed on one), never writes a byte back, and bounds connections, idle time and
 * line length.
 */
export class SocketServer {
  readonly dropped = new CounterMap<ConnectionDropReason>(CONNECTION_DROP_REASONS);
  #connectionsAccepted = 0;
  get connectionsAccepted(): number {
    return this.#connectionsAccepted;
  }
  private server: Server | undefined;
  private fileId: SocketFileId | undefined;
  private readonly connections = new ConnectionList<Connection>();
  private lineTimer: NodeJS.Timeout | undefined;
  private accepting = false;
  private paused = false;
  private lastAcceptAt = 0;
  /** Bytes of partial lines held now, across connections. */
  private buffered = 0;
  private readonly budget: ByteBudget = {
    take: (bytes, holder) => this.takeBuffer(bytes, holder),
    give: (bytes) => (this.buffered -= bytes),
  };

  private readonly options: WithDefaults<SocketServerOptions, "lineTimeoutMs" | "maxBufferedBytes">;

  /** `changed` is told each time a connection is accepted or let go (its counts changed). */
  constructor(
    options: SocketServerOptions,
    readonly handler: LineHandler,
    private readonly changed: () => void = () => {},
  ) {
    this.options = withDefaults(options, { lineTimeoutMs: 5000, maxBufferedBytes: 32 * MIB });
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Room for a partial line to grow. Past the global bound, the connections holding the most
   * are closed (counted) until it fits, unless the one asking holds the most: then it is closed.
   */
  private takeBuffer(bytes: number, holder: LineSplitter): boolean {
    const max = this.options.maxBufferedBytes;
    while (this.buffered + bytes > max) {
      let biggest: Connection | undefined;
      // The list runs newest first: among equals, the oldest connection goes.
      for (const c of this.connections) if (biggest === undefined || c.splitter.heldBytes >= biggest.splitter.heldBytes) biggest = c;
      if (biggest === undefined || biggest.splitter === holder || biggest.splitter.heldBytes <= holder.heldBytes) return false;
      this.overBudget(biggest);
    }
    this.buffered += bytes;
    return true;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** The listen backlog in effect once started. */
  backlog = 0;

  get listening(): boolean {
    return this.accepting;
  }

  async start(): Promise<void> {
    const { path, mode, backlog = kernelBacklogLimit() } = this.options;
    this.backlog = backlog;
    await claimSocketPath(path);
    const bound = bindingName(path) ?? path;
    if (bound !== path) await unlink(bound).catch(() => {});
    const server = createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ path: bound, backlog }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    try {
      await chmod(bound, mode);
      if (bound !== path) {
        // link(2) never replaces: an instance that took the path since the claim keeps it.
        await link(bound, path).catch((err: NodeJS.ErrnoException) => {
          throw err.code === "EEXIST" ? Object.assign(new Error(`listen EADDRINUSE: address already in use ${path}`), { code: "EADDRINUSE" }) : err;
        });
        await unlink(bound);
      }
    } catch (err) {
      server.close();
      throw err;
    }
    this.server = server;
    this.fileId = await socketFileId(path);
    this.accepting = true;
    const { lineTimeoutMs } = this.options;
    // One sweep for every connection instead of a timer each: a stock client's connection lives
    // for one line, and arming and clearing a timer per connection is a measurable part of its cost.
    const sweepMs = Math.max(50, Math.min(1000, lineTimeoutMs / 4, this.options.idleTimeoutMs / 4));
    this.lineTimer = everyMs("transport", sweepMs, () => this.closeSilent(lineTimeoutMs));
  }

  /**
   * Closes connections that sent no line within `timeoutMs` of connecting, or have held part of
   * a line that long, and those that sent nothing for --idle-timeout (a streaming client quiet
   * between whole lines). Never while reading is paused.
   */
  private closeSilent(timeoutMs: number): void {
    if (this.paused) return;
    const now = Date.now();
    const idleMs = this.options.idleTimeoutMs;
    for (const c of this.connections) {
      if ((c.lines === 0 || c.splitter.holding) && now - c.lastLineAt > timeoutMs) {
        this.dropped.inc("line_timeout");
        this.close(c);
      } else if (now - c.lastDataAt > idleMs) {
        this.dropped.inc("idle_timeout");
        this.close(c);
      }
    }
  }

  /** At the limit, the connection that has gone longest without a complete line makes room. */
  private shedIdlest(): void {
    let idlest: Connection | undefined;
    // The list runs newest first: among equals (the same millisecond), the oldest connection goes.
    for (const c of this.connections) if (idlest === undefined || c.lastLineAt <= idlest.lastLineAt) idlest = c;
    if (idlest === undefined) return;
    this.dropped.inc("max_connections");
    this.close(idlest);
  }

  /** Forgets a connection and lets go of its partial line and its socket. */
  private close(c: Connection): void {
    this.forget(c);
    c.socket.destroy();
  }

  private forget(c: Connection): void {
    if (!c.listed) return;
    this.connections.remove(c);
    c.splitter.reset();
    this.changed();
  }

  /** Called by a connection whose partial line the shared budget refused more room: it goes. */
  overBudget(c: Connection): void {
    this.dropped.inc("buffer_limit");
    this.close(c);
  }

  private accept(socket: Socket): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    this.#connectionsAccepted++;
    this.lastAcceptAt = Date.now();
    if (this.connections.size >= this.options.maxConnections) this.shedIdlest();
    const c = new Connection(socket, this, this.options.maxLineBytes, this.budget, this.lastAcceptAt);
    this.connections.add(c);
    this.changed();
    if (this.paused) socket.pause();
    socket.on("data", internalErrors.guard("transport", (chunk: Buffer) => {
      c.lastDataAt = Date.now();
      c.splitter.push(chunk);
    }));
    // The bridge never writes: once the sender is done, the connection is closed at once. Left to
    // Node (allowHalfOpen false), our side would first be shut down for writing, a request and
    // several ticks more per connection: measured, about 10 µs of CPU a stock client's message.
    socket.on("end", internalErrors.guard("transport", () => {
      c.splitter.end();
      this.close(c);
    }));
    // A client that resets the connection is normal for fire-and-forget senders.
    socket.on("error", () => {});
    socket.on("close", internalErrors.guard("transport", () => this.forget(c)));
  }

  /**
   * Backpressure: stop reading every connection (new ones too), so the kernel holds what
   * senders write instead of the bridge dropping it; idle timeouts are suspended meanwhile.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const c of this.connections) c.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const now = Date.now();
    for (const c of this.connections) {
      // The time spent paused is not the sender's silence.
      c.lastLineAt = Math.max(c.lastLineAt, now);
      c.lastDataAt = Math.max(c.lastDataAt, now);
      c.socket.resume();
    }
  }

  /**
   * Shuts down without losing what the kernel already accepted. First the socket file goes, so
   * a new sender fails at once (the stock client sees no file and returns False) instead of
   * being queued and dropped. The connections already in the listen backlog are still
   * accepted and read, and open ones may finish, until none has arrived or sent for a short
   * while, or `graceMs` has passed. Closing unlinks the name bound (see bindingName), not `path`.
   */
  async stop(graceMs: number): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.resume();
    const ours = this.fileId !== undefined && (await isOurSocketFile(this.options.path, this.fileId));
    if (ours) await unlink(this.options.path).catch(() => {});
    const deadline = Date.now() + graceMs;
    const quietMs = 100;
    while (Date.now() < deadline && (this.connections.size > 0 || Date.now() - this.lastAcceptAt < quietMs)) {
      await delay(10);
    }
    this.accepting = false;
    clearInterval(this.lineTimer);
    for (const c of this.connections) this.close(c);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
