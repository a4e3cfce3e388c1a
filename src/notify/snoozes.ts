import type { Database } from "better-sqlite3";
import type { Clock } from "../util/clock.js";

/** A planned outage: the bot's alerts are held until `untilMs`. */
export interface Snooze {
  channel: string;
  untilMs: number;
  reason: string;
  setAtMs: number;
}

/** Snoozes held at most: more than any bridge's bots (--max-bots is at most a million, 2000 by default). */
export const MAX_SNOOZES = 10_000;

const hasTable = (db: Database) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bot_snoozes'").get() !== undefined;

/** Snoozes not yet over at `now`, by channel (a database older than snoozes has none). */
export function activeSnoozes(db: Database, now: number): Snooze[] {
  if (!hasTable(db)) return [];
  return db.prepare(`SELECT channel, until_ms AS untilMs, reason, set_at_ms AS setAtMs FROM bot_snoozes WHERE until_ms > ? ORDER BY channel LIMIT ${MAX_SNOOZES}`).all(now) as Snooze[];
}

/** Writes or replaces a channel's snooze, and clears those that are over (`kissbot-bridge snooze`). */
export function setSnooze(db: Database, s: Snooze): void {
  db.transaction(() => {
    db.prepare("DELETE FROM bot_snoozes WHERE until_ms <= ?").run(s.setAtMs);
    db.prepare("INSERT INTO bot_snoozes (channel, until_ms, reason, set_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT(channel) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason, set_at_ms = excluded.set_at_ms").run(s.channel, s.untilMs, s.reason, s.setAtMs);
  })();
}

/** Ends a channel's snooze now; false if it had none. */
export function removeSnooze(db: Database, channel: string, now: number): boolean {
  return db.prepare("DELETE FROM bot_snoozes WHERE channel = ? AND until_ms > ?").run(channel, now).changes > 0;
}

/**
 * The snoozes the running bridge honours, as last read from the database (polled every second
 * on the reader thread: the `snooze` command writes them from another process). A snooze ends by
 * itself: `until` is checked against the clock, not only at the next read.
 */
export class SnoozeBook {
  private byChannel = new Map<string, Snooze>();
  #error: string | null = null;
  get error(): string | null {
    return this.#error;
  }

  constructor(
    private readonly clock: Clock,
    private readonly read: (now: number) => Promise<Snooze[]>,
  ) {}

  private readonly listeners: ((active: Snooze[]) => void)[] = [];

  /** Told the snoozes in force after every successful read (the record follows them). */
  observe(listener: (active: Snooze[]) => void): void {
    this.listeners.push(listener);
  }

  async refresh(): Promise<void> {
    try {
      const list = await this.read(this.clock.now());
      this.byChannel = new Map(list.map((s) => [s.channel, s]));
      this.#error = null;
      for (const l of this.listeners) l(this.active());
    } catch (err) {
      // The last snoozes read stay in force: a locked database must not wake a snoozed bot's pager.
      this.#error = (err as Error).message;
    }
  }

  get(channel: string): Snooze | undefined {
    const s = this.byChannel.get(channel);
    return s !== undefined && s.untilMs > this.clock.now() ? s : undefined;
  }

  isSnoozed(channel: string): boolean {
    return this.get(channel) !== undefined;
  }

  active(): Snooze[] {
    const now = this.clock.now();
    return [...this.byChannel.values()].filter((s) => s.untilMs > now);
  }
}
