import { createServer, type Server, type Socket } from "node:net";
import { chmod } from "node:fs/promises";
import { LineSplitter } from "./line-splitter.js";
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
  maxConnections: number;
  /** listen(2) backlog: bursts of one-connection-per-message clients need room. */
  backlog?: number;
};

export const CONNECTION_DROP_REASONS = ["max_connections", "idle_timeout"] as const;
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
  private readonly sockets = new Set<Socket>();
  private accepting = false;

  constructor(
    private readonly options: SocketServerOptions,
    private readonly handler: LineHandler,
  ) {}

  get openConnections(): number {
    return this.sockets.size;
  }

  get listening(): boolean {
    return this.accepting;
  }

  async start(): Promise<void> {
    const { path, mode, backlog = 511 } = this.options;
    await claimSocketPath(path);
    const server = createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections;
    server.on("drop", () => this.dropped.inc("max_connections"));
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
  }

  private accept(socket: Socket): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    this.connectionsAccepted++;
    this.sockets.add(socket);
    const splitter = new LineSplitter(this.options.maxLineBytes, this.handler);
    socket.setTimeout(this.options.idleTimeoutMs, () => {
      this.dropped.inc("idle_timeout");
      socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => splitter.push(chunk));
    socket.on("end", () => splitter.end());
    // A client that resets the connection is normal for fire-and-forget senders.
    socket.on("error", () => {});
    socket.on("close", () => this.sockets.delete(socket));
  }

  /**
   * Stops taking new connections, lets open ones finish sending for up to `graceMs`, then
   * closes them. Removes the socket file only if it is still the one this process created:
   * Node unlinks the path when a listening pipe closes, which would otherwise delete the
   * socket of a newer instance that replaced ours; in that case the listening handle is left
   * to the process exit, which does not unlink.
   */
  async stop(graceMs: number): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.accepting = false;
    const ours = this.fileId !== undefined && (await isOurSocketFile(this.options.path, this.fileId));
    const closed = ours ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
