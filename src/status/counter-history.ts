import type { Clock } from "../util/clock.js";
import { dict } from "../util/dict.js";

/** Bounded: series a snapshot holds at most (model names are bounded by --max-label-values before). */
const MAX_KEYS = 1000;

/**
 * Snapshots of a set of counters taken at a fixed interval over the last hour, so the status
 * page can show rates (messages per second by type, tokens per minute by model) and increases
 * (rejected lines by reason over the hour) without a Prometheus.
 */
export class CounterHistory {
  private readonly snapshots: { at: number; values: Map<string, number> }[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly read: () => Iterable<[string, number]>,
    private readonly keep = 361,
  ) {}

  take(): void {
    const values = new Map<string, number>();
    for (const [k, v] of this.read()) {
      if (values.size >= MAX_KEYS) break;
      values.set(k, (values.get(k) ?? 0) + v);
    }
    this.snapshots.push({ at: this.clock.now(), values });
    if (this.snapshots.length > this.keep) this.snapshots.shift();
  }

  /** Per second over the last `windowMs` (or as much of it as has been seen), by key. */
  rate(windowMs: number): Record<string, number> {
    const last = this.snapshots.at(-1);
    const first = this.oldestWithin(windowMs);
    const out = dict<number>();
    if (last === undefined || first === undefined || last === first) return out;
    const seconds = (last.at - first.at) / 1000;
    for (const [k, v] of last.values) out[k] = Math.max(0, v - (first.values.get(k) ?? 0)) / seconds;
    return out;
  }

  /** How much each counter grew over the last `windowMs` (or as much of it as has been seen). */
  increase(windowMs: number): Record<string, number> {
    const last = this.snapshots.at(-1);
    const first = this.oldestWithin(windowMs);
    const out = dict<number>();
    if (last === undefined || first === undefined) return out;
    for (const [k, v] of last.values) out[k] = Math.max(0, v - (first.values.get(k) ?? 0));
    return out;
  }

  /** Per-minute rates between consecutive snapshots, over the window: {t (Unix s), series by key}. */
  perMinute(windowMs: number): { t: number[]; series: Record<string, number[]> } {
    const from = this.snapshots.length - this.snapshotsWithin(windowMs);
    const t: number[] = [];
    const series = dict<number[]>();
    for (let i = Math.max(1, from); i < this.snapshots.length; i++) {
      const a = this.snapshots[i - 1]!;
      const b = this.snapshots[i]!;
      const minutes = (b.at - a.at) / 60_000;
      t.push(Math.round(b.at / 1000));
      for (const [k, v] of b.values) {
        let s = series[k];
        if (s === undefined) series[k] = s = new Array<number>(t.length - 1).fill(0);
        s.push(Math.max(0, v - (a.values.get(k) ?? 0)) / minutes);
      }
      for (const s of Object.values(series)) if (s.length < t.length) s.push(0);
    }
    return { t, series };
  }

  private snapshotsWithin(windowMs: number): number {
    const cutoff = this.clock.now() - windowMs;
    let n = 0;
    for (let i = this.snapshots.length - 1; i >= 0 && this.snapshots[i]!.at >= cutoff; i--) n++;
    return n;
  }

  private oldestWithin(windowMs: number) {
    const n = this.snapshotsWithin(windowMs);
    return n === 0 ? undefined : this.snapshots[this.snapshots.length - n];
  }
}
