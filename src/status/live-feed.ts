import type { ServerResponse } from "node:http";
import type { BotRow, StatusView } from "./overview.js";
import { every, internalErrors } from "../util/guard.js";

/** Live viewers at most: each costs a tick's JSON a second. */
const MAX_CLIENTS = 64;
/** Bytes a slow viewer may leave unread before it is dropped (it reconnects and starts afresh). */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

/** The fields of a row that change every second on their own: the page ticks them itself. */
function stableKey(r: BotRow): string {
  const { heartbeat_age_seconds: _a, uptime_seconds: _u, ...rest } = r;
  return JSON.stringify(rest);
}

/**
 * Server-sent events for the status page: on connect, every bot ("bots"); then each second the
 * overview ("overview") and only the bots that changed or left ("diff"). A bot's row changes
 * when its status, process figures, spend or sparkline do, not because a second passed.
 */
export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private keys = new Map<string, string>();

  constructor(
    private readonly view: StatusView,
    private readonly everyMs = 1000,
  ) {}

  get viewers(): number {
    return this.clients.size;
  }

  /** Takes the response over as an event stream; false when the viewer limit is reached. */
  join(res: ServerResponse): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", Connection: "keep-alive", "X-Accel-Buffering": "no" });
    res.write("retry: 2000\n\n");
    if (this.clients.size === 0) this.keys = this.currentKeys(this.view.bots());
    this.clients.add(res);
    res.on("close", internalErrors.guard("live_feed", () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.pause();
    }));
    this.send(res, "bots", this.view.bots());
    this.send(res, "overview", this.view.overview());
    this.timer ??= every("live_feed", this.everyMs, () => this.tick());
    return true;
  }

  close(): void {
    this.pause();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private currentKeys(rows: BotRow[]): Map<string, string> {
    return new Map(rows.map((r) => [r.channel, stableKey(r)]));
  }

  private tick(): void {
    const rows = this.view.bots();
    const keys = this.currentKeys(rows);
    const upsert = rows.filter((r) => this.keys.get(r.channel) !== keys.get(r.channel));
    const remove = [...this.keys.keys()].filter((c) => !keys.has(c));
    this.keys = keys;
    const overview = `event: overview\ndata: ${JSON.stringify(this.view.overview())}\n\n`;
    const diff = upsert.length + remove.length === 0 ? "" : `event: diff\ndata: ${JSON.stringify({ upsert, remove })}\n\n`;
    for (const c of this.clients) this.write(c, overview + diff);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    this.write(res, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_UNSENT_BYTES) {
      res.destroy();
      return;
    }
    res.write(text);
  }
}
