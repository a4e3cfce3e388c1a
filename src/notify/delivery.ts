import type { Clock } from "../util/clock.js";
import type { NotifyTarget } from "./targets.js";
import type { Notice } from "./alert.js";
import { render } from "./formats.js";
import { routeNotice } from "./routes.js";
import type { PostResult } from "./http-post.js";
import { send, type Send } from "./send.js";
import { delay, internalErrors } from "../util/guard.js";
import { createHash, randomUUID } from "node:crypto";

/** What became of each attempt: counted in kissbot_bridge_notifications_total{kind,outcome}. */
export const NOTIFY_OUTCOMES = ["sent", "rate_limited", "failed", "rejected", "dropped"] as const;
export type NotifyOutcome = (typeof NOTIFY_OUTCOMES)[number];

/** A message waiting for its target. */
export interface PendingMessage {
  /** The same on every retry (Matrix's transaction id); absent in messages saved before it existed. */
  id?: string;
  body: string;
  queuedAt: number;
  attempts: number;
  nextAt: number;
}

export interface DeliveryOptions {
  /** Messages waiting per target at most; past it the oldest is dropped (and counted). */
  maxQueued: number;
  /** A message not delivered after this long is dropped: news a day old misleads. */
  maxAgeMs: number;
  timeoutMs: number;
  firstBackoffMs: number;
  maxBackoffMs: number;
  userAgent: string;
}

export const DEFAULT_DELIVERY: Omit<DeliveryOptions, "userAgent"> = { maxQueued: 200, maxAgeMs: 24 * 3_600_000, timeoutMs: 10_000, firstBackoffMs: 1000, maxBackoffMs: 300_000 };

/** A target's state, for the status page: never its URL. */
export interface TargetView {
  name: string;
  kind: string;
  queued: number;
  lastSentAt: number | null;
  lastError: { at: number; message: string } | null;
}

class Outbox {
  queue: PendingMessage[] = [];
  inFlight = false;
  lastSentAt: number | null = null;
  lastError: { at: number; message: string } | null = null;
  constructor(public target: NotifyTarget) {}
}

/**
 * Sends each notice to every target, one request at a time per target so messages arrive in
 * order. A failure is retried with exponential backoff; a 429 waits as long as the server asks
 * (Retry-After, or Discord's retry_after) and is never given up; other 4xx answers will not
 * change and are given up at once. Nothing here blocks: requests are async and bounded in time,
 * and each target holds a bounded queue.
 */
export class Delivery {
  private boxes: Outbox[];

  constructor(
    targets: readonly NotifyTarget[],
    private readonly options: DeliveryOptions,
    private readonly clock: Clock,
    private readonly count: (kind: NotifyTarget["kind"], outcome: NotifyOutcome) => void,
    /** Told whenever the queues a restart needs have changed. */
    private readonly changed: () => void = () => {},
    private readonly post: Send = send,
  ) {
    this.boxes = targets.map((t) => new Outbox(t));
  }

  /** Each target is sent the part of the notice its route lets through (--notify-config), if any. */
  enqueue(notice: Notice): void {
    const now = this.clock.now();
    for (const box of this.boxes) {
      const routed = routeNotice(box.target.route, notice);
      if (routed === null) continue;
      box.queue.push({ id: randomUUID(), body: render(box.target.kind, routed), queuedAt: now, attempts: 0, nextAt: now });
      // The oldest waiting goes; never the one in flight (it may be delivered as we speak).
      while (box.queue.length > this.options.maxQueued) {
        box.queue.splice(box.inFlight ? 1 : 0, 1);
        this.count(box.target.kind, "dropped");
      }
    }
    this.changed();
    this.tick();
  }

  /** Starts what is due. Called on the notifier's tick and after each answer. */
  tick(): void {
    const now = this.clock.now();
    for (const box of this.boxes) {
      if (box.inFlight) continue;
      while (box.queue.length > 0 && now - box.queue[0]!.queuedAt > this.options.maxAgeMs) {
        box.queue.shift();
        this.count(box.target.kind, "dropped");
        this.changed();
      }
      const next = box.queue[0];
      if (next === undefined || next.nextAt > now) continue;
      box.inFlight = true;
      next.id ??= createHash("sha256").update(`${next.queuedAt}\u0000${next.body}`).digest("hex").slice(0, 32);
      void this.post(box.target, next.body, next.id, this.options.timeoutMs, this.options.userAgent).then(internalErrors.guard("notify", (r: PostResult) => this.answered(box, next, r)));
    }
  }

  /**
   * New targets (SIGHUP reread the routing file): a target still there keeps its queue and its
   * history, with its new route; the messages of a target taken out are dropped (and counted).
   */
  retarget(targets: readonly NotifyTarget[]): void {
    const old = new Map(this.boxes.map((b) => [b.target.id, b]));
    this.boxes = targets.map((t) => {
      const box = old.get(t.id);
      old.delete(t.id);
      if (box === undefined) return new Outbox(t);
      box.target = t;
      return box;
    });
    for (const gone of old.values()) for (const _ of gone.queue) this.count(gone.target.kind, "dropped");
    this.changed();
    this.tick();
  }

  /** Resolves once nothing is in flight (bounded by the request timeout), for a clean stop. */
  async idle(): Promise<void> {
    while (this.boxes.some((b) => b.inFlight)) await delay(20);
  }

  get queued(): number {
    return this.boxes.reduce((n, b) => n + b.queue.length, 0);
  }

  views(): TargetView[] {
    return this.boxes.map((b) => ({ name: b.target.name, kind: b.target.kind, queued: b.queue.length, lastSentAt: b.lastSentAt, lastError: b.lastError }));
  }

  /** Waiting messages by target id (no URL), for the database. */
  snapshot(): Array<[string, PendingMessage[]]> {
    return this.boxes.map((b) => [b.target.id, b.queue]);
  }

  /** Messages a previous run left waiting, for the targets still configured. */
  restore(saved: ReadonlyArray<[string, PendingMessage[]]>): void {
    const byId = new Map(saved);
    for (const box of this.boxes) box.queue = (byId.get(box.target.id) ?? []).slice(-this.options.maxQueued);
  }

  private answered(box: Outbox, msg: PendingMessage, r: PostResult): void {
    box.inFlight = false;
    const now = this.clock.now();
    const kind = box.target.kind;
    if (r.status >= 200 && r.status < 300) {
      this.done(box, msg);
      box.lastSentAt = now;
      this.count(kind, "sent");
    } else if (r.status === 429) {
      msg.nextAt = now + Math.min(r.retryAfterMs ?? this.options.firstBackoffMs, this.options.maxBackoffMs);
      box.lastError = { at: now, message: `429 rate limited; retrying in ${Math.ceil((msg.nextAt - now) / 1000)} s` };
      this.count(kind, "rate_limited");
    } else if (r.status >= 400 && r.status < 500) {
      // 400, 401, 403, 404: the payload or the URL is wrong; sending it again changes nothing.
      this.done(box, msg);
      box.lastError = { at: now, message: `${r.status} ${r.text}`.trim() };
      this.count(kind, "rejected");
    } else {
      msg.attempts++;
      msg.nextAt = now + Math.min(this.options.firstBackoffMs * 2 ** (msg.attempts - 1), this.options.maxBackoffMs);
      box.lastError = { at: now, message: r.status === 0 ? r.text : `${r.status} ${r.text}`.trim() };
      this.count(kind, "failed");
    }
    this.changed();
    this.tick();
  }

  private done(box: Outbox, msg: PendingMessage): void {
    if (box.queue[0] === msg) box.queue.shift();
  }
}
