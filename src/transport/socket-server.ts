import { createServer, type Server, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { chmod, unlink } from "node:fs/promises";
import { LineSplitter, type ByteBudget } from "./line-splitter.js";
import { claimSocketPath, isOurSocketFile, socketFileId, type SocketFileId } from "./socket-path.js";
import { CounterMap } from "../util/counter-map.js";

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

async function pathIsFree(path: string): Promise<boolean> {
  const { lstat } = await import("node:fs/promises");
  return lstat(path).then(
    () => false,
    () => true,
  );
}

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

/**
 * The Monitor's Unix socket: accepts both client styles (a connection per message, or many
 * lines streamed on one), never writes a byte back, and bounds connections, idle time and
 * line length.
 */
export class SocketServer {
  readonly dropped = new CounterMap<ConnectionDropReason>(CONNECTION_DROP_REASONS);
  connectionsAccepted = 0;
  private server: Server | undefined;
  private fileId: SocketFileId | undefined;
  /** Each open connection: when it last completed a line (or connected), last sent anything, and its framing. */
  private readonly sockets = new Map<Socket, { lastLineAt: number; lastDataAt: number; lines: number; splitter: LineSplitter }>();
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

  constructor(
    private readonly options: SocketServerOptions,
    private readonly handler: LineHandler,
  ) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Room for a partial line to grow. Past the global bound, the connections holding the most
   * are closed (counted) until it fits, unless the one asking holds the most: then it is closed.
   */
  private takeBuffer(bytes: number, holder: LineSplitter): boolean {
    const max = this.options.maxBufferedBytes ?? 32 * 1024 * 1024;
    while (this.buffered + bytes > max) {
      let biggest: [Socket, LineSplitter] | undefined;
      for (const [socket, state] of this.sockets) {
        if (biggest === undefined || state.splitter.heldBytes > biggest[1].heldBytes) biggest = [socket, state.splitter];
      }
      if (biggest === undefined || biggest[1] === holder || biggest[1].heldBytes <= holder.heldBytes) return false;
      this.dropped.inc("buffer_limit");
      this.sockets.delete(biggest[0]);
      biggest[1].reset();
      biggest[0].destroy();
    }
    this.buffered += bytes;
    return true;
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  get listening(): boolean {
    return this.accepting;
  }

  async start(): Promise<void> {
    const { path, mode, backlog = kernelBacklogLimit() } = this.options;
    await claimSocketPath(path);
    const server = createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ path, backlog }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    await chmod(path, mode);
    this.fileId = await socketFileId(path);
    this.accepting = true;
    const lineTimeoutMs = this.options.lineTimeoutMs ?? 5000;
    // One sweep for every connection instead of a timer each: a stock client's connection lives
    // for one line, and arming and clearing a timer per connection is a measurable part of its cost.
    const every = Math.max(50, Math.min(1000, lineTimeoutMs / 4, this.options.idleTimeoutMs / 4));
    this.lineTimer = setInterval(() => this.closeSilent(lineTimeoutMs), every);
    this.lineTimer.unref();
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
    for (const [socket, state] of this.sockets) {
      if ((state.lines === 0 || state.splitter.holding) && now - state.lastLineAt > timeoutMs) {
        this.dropped.inc("line_timeout");
        socket.destroy();
      } else if (now - state.lastDataAt > idleMs) {
        this.dropped.inc("idle_timeout");
        socket.destroy();
      }
    }
  }

  /** At the limit, the connection that has gone longest without a complete line makes room. */
  private shedIdlest(): void {
    let idlest: Socket | undefined;
    let oldest = Infinity;
    for (const [socket, state] of this.sockets) {
      if (state.lastLineAt < oldest) {
        oldest = state.lastLineAt;
        idlest = socket;
      }
    }
    if (idlest === undefined) return;
    this.dropped.inc("max_connections");
    this.sockets.delete(idlest);
    idlest.destroy();
  }

  private accept(socket: Socket): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    this.connectionsAccepted++;
    this.lastAcceptAt = Date.now();
    if (this.sockets.size >= this.options.maxConnections) this.shedIdlest();
    const handler = this.handler;
    const splitter = new LineSplitter(this.options.maxLineBytes, {
      line(line) {
        state.lastLineAt = Date.now();
        state.lines++;
        handler.line(line);
      },
      tooLong() {
        state.lastLineAt = Date.now();
        state.lines++;
        handler.tooLong();
      },
      overBudget: () => {
        this.dropped.inc("buffer_limit");
        socket.destroy();
      },
    }, this.budget);
    const state = { lastLineAt: this.lastAcceptAt, lastDataAt: this.lastAcceptAt, lines: 0, splitter };
    this.sockets.set(socket, state);
    if (this.paused) socket.pause();
    socket.on("data", (chunk: Buffer) => {
      state.lastDataAt = Date.now();
      splitter.push(chunk);
    });
    socket.on("end", () => splitter.end());
    // A client that resets the connection is normal for fire-and-forget senders.
    socket.on("error", () => {});
    socket.on("close", () => {
      this.sockets.delete(socket);
      splitter.reset();
    });
  }

  /**
   * Backpressure: stop reading every connection (new ones too), so the kernel holds what
   * senders write instead of the bridge dropping it; idle timeouts are suspended meanwhile.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const s of this.sockets.keys()) s.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const now = Date.now();
    for (const [s, state] of this.sockets) {
      // The time spent paused is not the sender's silence.
      state.lastLineAt = Math.max(state.lastLineAt, now);
      state.lastDataAt = Math.max(state.lastDataAt, now);
      s.resume();
    }
  }

  /**
   * Shuts down without losing what the kernel already accepted. First the socket file goes, so
   * a new sender fails at once (the stock client sees no file and returns False) instead of
   * being queued and dropped. The connections already in the listen backlog are still
   * accepted and read, and open ones may finish, until none has arrived or sent for a short
   * while, or `graceMs` has passed. Node unlinks the path when a listening pipe closes, which
   * would delete the socket of a newer instance that has taken the path meanwhile: then the
   * handle is only unref'd, and the process exit releases it without unlinking.
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
    while (Date.now() < deadline && (this.sockets.size > 0 || Date.now() - this.lastAcceptAt < quietMs)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.accepting = false;
    clearInterval(this.lineTimer);
    for (const s of this.sockets.keys()) s.destroy();
    if (await pathIsFree(this.options.path)) await new Promise<void>((resolve) => server.close(() => resolve()));
    else server.unref();
  }
}
