import type { Clock } from "../util/clock.js";
import type { RegistryObserver } from "../registry/bot-registry.js";
import type { Bot } from "../registry/bot.js";
import { CounterMap } from "../util/counter-map.js";
import { delay } from "../util/guard.js";
import type { Alert, Notice } from "./alert.js";
import { Delivery, NOTIFY_OUTCOMES, type DeliveryOptions, type NotifyOutcome, type PendingMessage, type TargetView } from "./delivery.js";
import { Pager, type Down, type PagerOptions, type PagerState } from "./pager.js";
import { SpendAlerts, type SpendAlertSources } from "./spend-alerts.js";
import type { NotifyKind, NotifyTarget } from "./targets.js";

export interface NotifierOptions extends PagerOptions {
  targets: readonly NotifyTarget[];
  /** Where links point (--public-url, else the HTTP address once known). */
  publicUrl: () => string;
  delivery: DeliveryOptions;
}

/** Alerts in one message at most; more wait for the next (each is still sent). */
const MAX_ALERTS_PER_MESSAGE = 50;
/** Alerts waiting to be grouped at most (more than every bot going down at once). */
const MAX_BUFFERED = 5000;
/** Spend is checked this often (it is read from the database every 5 s). */
const SPEND_CHECK_MS = 5000;
/** The state is handed to the store at most this often: it commits once a second anyway. */
const SAVE_MS = 1000;

/** What a restart keeps: written to notify_state with the store's next commit. */
interface SavedState {
  version: 1;
  pager: PagerState;
  outbox: Array<[string, PendingMessage[]]>;
  spendSent: string[];
  buffered: Alert[];
  /** The last digest sent (digest/schedule.ts key); absent before digests existed. */
  digestSent?: string | null;
}

/** How a bot's trouble reads in a message. */
function downOf(bot: Bot, why: string): Down | null {
  if (bot.status === "online") return null;
  return { channel: bot.channel, name: bot.status === "dead" ? "KissBotDown" : "KissBotStale", state: bot.status, why, pid: bot.pid, lastHeartbeatAt: bot.lastHeartbeatAt };
}

/**
 * The bridge's own notifications: the pager's rules (pager.ts) and the spend alerts
 * (spend-alerts.ts) feed a group buffer; a group is sent as one message to every target
 * (delivery.ts). Its state is saved through the store so that a restart neither forgets a
 * message waiting for Discord nor reports a known incident as new.
 */
export class Notifier {
  readonly counts = new Map<NotifyKind, CounterMap<NotifyOutcome>>();
  private readonly pager: Pager;
  private readonly spend: SpendAlerts | undefined;
  private readonly delivery: Delivery;
  private buffered: Alert[] = [];
  private bufferedSince: number | null = null;
  private lastSpendCheck = -Infinity;
  private dirty = false;
  private savedAt = -Infinity;
  #digestSent: string | null = null;
  /** The key of the last digest sent, kept across restarts; null before the first. */
  get digestSent(): string | null {
    return this.#digestSent;
  }

  constructor(
    private readonly options: NotifierOptions,
    private readonly clock: Clock,
    snoozed: (channel: string) => boolean,
    spendSources: SpendAlertSources | undefined,
    /** Where the state goes (the store); undefined with --no-db: nothing survives a restart. */
    private readonly save: ((json: string) => void) | undefined,
  ) {
    for (const t of options.targets) if (!this.counts.has(t.kind)) this.counts.set(t.kind, new CounterMap(NOTIFY_OUTCOMES));
    const changed = () => (this.dirty = true);
    const emit = (a: Alert) => this.buffer(a);
    this.pager = new Pager(options, clock, snoozed, emit, changed, (channel) => this.withdraw(channel));
    this.spend = spendSources === undefined ? undefined : new SpendAlerts(spendSources, clock, snoozed, emit, undefined, changed);
    this.delivery = new Delivery(options.targets, options.delivery, clock, (kind, outcome) => this.counts.get(kind)?.inc(outcome), changed);
  }

  /** The targets after SIGHUP reread the routing file: queues of targets kept are kept. */
  retarget(targets: readonly NotifyTarget[]): void {
    for (const t of targets) if (!this.counts.has(t.kind)) this.counts.set(t.kind, new CounterMap(NOTIFY_OUTCOMES));
    this.delivery.retarget(targets);
  }

  /** Bot transitions, as the registry reports them. */
  observer(): RegistryObserver {
    return {
      statusChanged: (bot, _from, why) => {
        const down = downOf(bot, why);
        if (down === null) this.pager.up(bot.channel, why);
        else this.pager.down(down);
      },
      registered: (bot, _replacedPid, implicit) => this.pager.up(bot.channel, implicit ? "heartbeats again" : `a new process registered (PID ${bot.pid})`),
      unregistered: (bot) => this.pager.gone(bot.channel),
    };
  }

  /** After the registry was restored and its bots looked at: incidents agree with it. */
  sync(bots: Iterable<Bot>): void {
    const view = new Map<string, Down | null>();
    for (const b of bots) view.set(b.channel, downOf(b, b.status === "dead" ? "found dead after a restart of the bridge" : "stale after a restart of the bridge"));
    this.pager.sync(view);
  }

  /** What the last run saved; a state that cannot be read is started afresh (and said). */
  restore(json: string | undefined): string | undefined {
    if (json === undefined) return undefined;
    try {
      const s = JSON.parse(json) as SavedState;
      if (s.version !== 1) return `unknown notifier state version ${String(s.version)}`;
      this.pager.restore(s.pager);
      this.delivery.restore(s.outbox);
      this.spend?.restore(s.spendSent);
      this.buffered = s.buffered.slice(0, MAX_BUFFERED);
      this.#digestSent = typeof s.digestSent === "string" ? s.digestSent : null;
      this.bufferedSince = this.buffered.length > 0 ? this.clock.now() : null;
      return undefined;
    } catch (err) {
      return `the notifier's saved state cannot be read (${(err as Error).message}); starting afresh`;
    }
  }

  /**
   * Sends a digest to every target, once per key: a key already sent (before a restart too) is
   * not sent again. `key` alone marks it sent without a message (digests just turned on).
   */
  sendDigest(key: string, digest: Notice["digest"] | undefined): boolean {
    if (this.#digestSent === key) return false;
    this.#digestSent = key;
    this.dirty = true;
    if (digest !== undefined) this.delivery.enqueue({ alerts: [], digest, publicUrl: this.options.publicUrl() });
    return digest !== undefined;
  }

  /** Runs the rules, sends a group whose wait is over, retries what is due, saves what changed. */
  tick(): void {
    const now = this.clock.now();
    this.pager.tick();
    if (this.spend !== undefined && now - this.lastSpendCheck >= SPEND_CHECK_MS) {
      this.lastSpendCheck = now;
      this.spend.check();
    }
    if (this.bufferedSince !== null && now - this.bufferedSince >= this.options.groupWaitMs) this.flush();
    this.delivery.tick();
    if (this.dirty && this.save !== undefined && now - this.savedAt >= SAVE_MS) {
      this.dirty = false;
      this.savedAt = now;
      this.save(this.stateJson());
    }
  }

  /** Stops with the state saved (the store commits it as it closes). */
  async stop(): Promise<void> {
    await Promise.race([this.delivery.idle(), delay(1000)]);
    if (this.save !== undefined) this.save(this.stateJson());
  }

  get queued(): number {
    return this.delivery.queued;
  }

  get firing(): number {
    return this.pager.firing;
  }

  views(): TargetView[] {
    return this.delivery.views();
  }

  /** A bot's firing alert still in the group is taken out; true if there was one. */
  private withdraw(channel: string): boolean {
    const mine = (a: Alert) => a.channel === channel && a.status === "firing" && (a.name === "KissBotDown" || a.name === "KissBotStale");
    const before = this.buffered.length;
    const news = this.buffered.some((a) => mine(a) && !a.reminder);
    // A reminder waiting is dropped either way: the bot is back.
    this.buffered = this.buffered.filter((a) => !mine(a));
    if (this.buffered.length === before) return false;
    if (this.buffered.length === 0) this.bufferedSince = null;
    this.dirty = true;
    return news;
  }

  private buffer(a: Alert): void {
    this.buffered.push(a);
    if (this.buffered.length > MAX_BUFFERED) {
      this.buffered.shift();
      for (const c of this.counts.values()) c.inc("dropped");
    }
    this.bufferedSince ??= this.clock.now();
    this.dirty = true;
  }

  private flush(): void {
    const alerts = this.buffered.splice(0, MAX_ALERTS_PER_MESSAGE);
    this.bufferedSince = this.buffered.length > 0 ? this.clock.now() - this.options.groupWaitMs : null;
    this.delivery.enqueue({ alerts, publicUrl: this.options.publicUrl() });
  }

  private stateJson(): string {
    const state: SavedState = { version: 1, pager: this.pager.snapshot(), outbox: this.delivery.snapshot(), spendSent: this.spend?.snapshot() ?? [], buffered: this.buffered, digestSent: this.#digestSent };
    return JSON.stringify(state);
  }
}
