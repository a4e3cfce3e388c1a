import { BodyServer } from "./body-server.js";
import { waitFor } from "./wait.js";

/** One request as the stand-in received it. */
export interface Received {
  path: string;
  at: number;
  // eslint-style any: the JSON of three formats, read field by field by the tests.
  body: any;
  /** What it answered. */
  status: number;
  /** The request's headers (credentials included: the tests check they arrived). */
  headers: Record<string, string | string[] | undefined>;
}

type Answer = { status: number; body?: string; headers?: Record<string, string> };

/**
 * A stand-in for Discord, Slack and any webhook receiver: records every request (by path, so one
 * server plays all three) and answers 204, or what the test queued (a 429 with Retry-After, a 500).
 */
export class ChatReceiver {
  readonly received: Received[] = [];
  private readonly answers: Answer[] = [];
  private readonly byPath = new Map<string, Answer[]>();
  private readonly server = new BodyServer((req, body, res) => {
    const a = this.byPath.get(req.url ?? "")?.shift() ?? this.answers.shift() ?? { status: req.url?.startsWith("/slack") ? 200 : 204 };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      parsed = body.toString("utf8");
    }
    this.received.push({ path: req.url ?? "", at: Date.now(), body: parsed, status: a.status, headers: req.headers });
    res.writeHead(a.status, { "content-type": "application/json", ...a.headers });
    res.end(a.body ?? (a.status === 200 ? "ok" : ""));
  });

  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.server.port}${path}`;
  }

  /** The next requests get these answers, in order. */
  answer(...answers: Answer[]): void {
    this.answers.push(...answers);
  }

  /** The next requests to `path` (exactly) get these answers, before any of `answer`'s. */
  answerOn(path: string, ...answers: Answer[]): void {
    this.byPath.set(path, [...(this.byPath.get(path) ?? []), ...answers]);
  }

  /** Back to answering every request with success. */
  clearAnswers(): void {
    this.answers.length = 0;
    this.byPath.clear();
  }

  /** Requests to `path` that were answered 2xx: what a person would have seen. */
  delivered(path: string): Received[] {
    return this.received.filter((r) => r.path === path && r.status >= 200 && r.status < 300);
  }

  async waitDelivered(path: string, count: number, timeoutMs = 15_000): Promise<Received[]> {
    return waitFor(`${count} message(s) delivered to ${path} (have ${this.delivered(path).length})`, () => (this.delivered(path).length >= count ? this.delivered(path) : undefined), timeoutMs, 20);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
