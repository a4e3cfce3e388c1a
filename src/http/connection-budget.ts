import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { every, internalErrors } from "../util/guard.js";
import type { Socket } from "node:net";

interface Held {
  /** When it last began or ended a request, or connected. */
  last: number;
  /** Requests being answered on it. */
  active: number;
}

/** A TLS request's socket wraps the TCP one the server accepted. */
const tcpOf = (s: Socket): Socket => (s as Socket & { _parent?: Socket })._parent ?? s;

/**
 * Bounds a server's connections without letting held ones lock a scraper out: past `max`, the
 * connection idle the longest with no request in flight (one that never sent a whole request
 * included: idle or half-sent) is closed to admit the new one; only when every one is answering
 * a request is the new one closed. A connection without a request in flight for `idleMs` is
 * closed too. Node's own maxConnections would close each new connection instead, and keep the
 * held ones.
 */
export class ConnectionBudget {
  private readonly held = new Map<Socket, Held>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly idleMs: number,
    private readonly now: () => number,
    /** A connection closed to keep the bound: evicted, or refused when none could be. */
    private readonly shed: () => void,
  ) {}

  get size(): number {
    return this.held.size;
  }

  attach(server: Server): void {
    server.on("connection", internalErrors.guard("http", (socket: Socket) => this.admit(socket)));
    server.prependListener(
      "request",
      internalErrors.guard("http", (req: IncomingMessage, res: ServerResponse) => {
        const h = this.held.get(tcpOf(req.socket));
        if (h === undefined) return;
        h.active++;
        h.last = this.now();
        res.once("close", () => {
          h.active--;
          h.last = this.now();
        });
      }),
    );
    this.timer = every("http", 1000, () => this.sweep());
    server.once("close", () => clearInterval(this.timer));
  }

  private admit(socket: Socket): void {
    if (this.held.size >= this.max) {
      const idlest = this.idlest();
      this.shed();
      if (idlest === undefined) {
        socket.destroy();
        return;
      }
      this.drop(idlest);
    }
    this.held.set(socket, { last: this.now(), active: 0 });
    socket.once("close", () => this.held.delete(socket));
  }

  private idlest(): Socket | undefined {
    let best: Socket | undefined;
    let bestLast = Infinity;
    for (const [socket, h] of this.held) {
      if (h.active === 0 && h.last < bestLast) {
        best = socket;
        bestLast = h.last;
      }
    }
    return best;
  }

  private drop(socket: Socket): void {
    this.held.delete(socket);
    socket.destroy();
  }

  private sweep(): void {
    const limit = this.now() - this.idleMs;
    for (const [socket, h] of this.held) if (h.active === 0 && h.last < limit) this.drop(socket);
  }
}
