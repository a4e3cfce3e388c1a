import { BodyServer } from "./body-server.js";
import { waitFor } from "./wait.js";

/** A PUT of a message as the homeserver saw it. */
export interface MatrixPut {
  at: number;
  roomId: string;
  txnId: string;
  token: string;
  status: number;
  // The m.room.message content, read field by field by the tests.
  body: any;
}

type Answer = { status: number; body: object } | "lose-answer";

/**
 * A stand-in Matrix homeserver, written from the client-server API (v3): resolves room aliases
 * (GET /directory/room/{alias}), takes m.room.message events (PUT /rooms/{id}/send/{type}/{txnId})
 * with a bearer token and, as a homeserver must, takes a transaction id it already has as the same
 * event: a retried message appears once in the room. Answers can be queued: a 429 with
 * M_LIMIT_EXCEEDED and retry_after_ms, or a lost answer (the event is kept, 500 answered).
 */
export class MatrixServer {
  readonly puts: MatrixPut[] = [];
  readonly lookups: string[] = [];
  /** The room's timeline: one entry per event, whatever the retries. */
  readonly timeline: Array<{ roomId: string; body: any }> = [];
  private readonly txns = new Map<string, string>();
  private readonly answers: Answer[] = [];
  private readonly server = new BodyServer((req, raw, res) => {
    const reply = (status: number, body: object) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (token !== this.token) return reply(401, { errcode: "M_UNKNOWN_TOKEN", error: "Invalid access token passed." });
    const path = (req.url ?? "").split("?")[0]!;
    const alias = /^\/_matrix\/client\/v3\/directory\/room\/([^/]+)$/.exec(path);
    if (req.method === "GET" && alias !== null) {
      const name = decodeURIComponent(alias[1]!);
      this.lookups.push(name);
      const id = this.rooms.get(name);
      return id === undefined ? reply(404, { errcode: "M_NOT_FOUND", error: `Room alias ${name} not found` }) : reply(200, { room_id: id, servers: ["localhost"] });
    }
    const send = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/send\/m\.room\.message\/([^/]+)$/.exec(path);
    if (req.method !== "PUT" || send === null) return reply(404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
    const roomId = decodeURIComponent(send[1]!);
    const txnId = decodeURIComponent(send[2]!);
    const body = JSON.parse(raw.toString("utf8"));
    const answer = this.answers.shift();
    const put = (status: number) => this.puts.push({ at: Date.now(), roomId, txnId, token, status, body });
    if (answer !== undefined && answer !== "lose-answer") {
      put(answer.status);
      return reply(answer.status, answer.body);
    }
    const key = `${token}\u0000${txnId}`;
    let eventId = this.txns.get(key);
    if (eventId === undefined) {
      eventId = `$event${this.timeline.length}`;
      this.txns.set(key, eventId);
      this.timeline.push({ roomId, body });
    }
    if (answer === "lose-answer") {
      put(500);
      return reply(500, { errcode: "M_UNKNOWN", error: "answer lost on the way back" });
    }
    put(200);
    reply(200, { event_id: eventId });
  });

  constructor(
    private readonly token: string,
    private readonly rooms: ReadonlyMap<string, string>,
  ) {}

  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  get host(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  answer(...answers: Answer[]): void {
    this.answers.push(...answers);
  }

  waitTimeline(count: number, timeoutMs = 15_000): Promise<Array<{ roomId: string; body: any }>> {
    return waitFor(`${count} event(s) in the room (have ${this.timeline.length})`, () => (this.timeline.length >= count ? this.timeline : undefined), timeoutMs, 20);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
