import type { Logger } from "./logger.js";
import type { Clock } from "../util/clock.js";

/**
 * Logs at most `burst` messages per key in each window and reports how many it held back,
 * so a bot spamming bad lines cannot flood the log while every rejection is still counted
 * in metrics.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly windowMs = 10_000,
    private readonly burst = 5,
  ) {}

  /** Rare events (one per start, say) need no limit. */
  info(fields: Record<string, unknown>, msg: string): void {
    this.log.info(fields, msg);
  }

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.clock.now();
    let w = this.windows.get(key);
    if (w === undefined || now - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(key, w);
      if (suppressed > 0) this.log.warn({ key, suppressed }, "similar messages were suppressed");
    }
    if (w.logged < this.burst) {
      w.logged++;
      this.log.warn(fields, msg);
    } else {
      w.suppressed++;
    }
    // Keys are rejection reasons (a fixed set), but bound the map anyway.
    if (this.windows.size > 1000) this.windows.clear();
  }
}
