import { worse, type Cause, type RecordedState, type RecordKind } from "./record-row.js";

/**
 * How a stretch of a bot's time counts. `unknown`: no bridge was running (never invented
 * afterwards); `snoozed` and `stopped` are neither up nor down.
 */
export type Category = "up" | "down" | "stopped" | "snoozed" | "unknown";

export interface Segment {
  fromMs: number;
  toMs: number;
  category: Category;
  /** For down: stale, dead or flapping. */
  cause: Cause | null;
}

/** A change as read back from bot_record. */
export interface Change {
  atMs: number;
  kind: RecordKind;
  state: string;
  cause: Cause | null;
  /** A snooze's end. */
  untilMs: number | null;
}

/** One channel's record over a window: what held at its start, and the changes within it, oldest first. */
export interface ChannelRecord {
  /** The state in force at the window's start; null when the channel had not been seen yet. */
  prior: { state: RecordedState; cause: Cause | null } | null;
  /** When the snooze in force at the window's start ends; null when none was. */
  priorSnoozedUntil: number | null;
  changes: readonly Change[];
}

/** When a bridge was running: [start, end) intervals, any order, may overlap. */
export type Coverage = ReadonlyArray<readonly [number, number]>;

function merged(coverage: Coverage): [number, number][] {
  const sorted = coverage.filter(([s, e]) => e > s).map(([s, e]) => [s, e] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const c of sorted) {
    const last = out.at(-1);
    if (last !== undefined && c[0] <= last[1]) last[1] = Math.max(last[1], c[1]);
    else out.push(c);
  }
  return out;
}

/**
 * The channel's time from `fromMs` to `toMs`, cut where its category changes. Time before the
 * channel was first seen is left out (it belongs to no category).
 */
export function segments(record: ChannelRecord, coverage: Coverage, fromMs: number, toMs: number): Segment[] {
  if (toMs <= fromMs) return [];
  const runs = merged(coverage);
  const cuts = new Set<number>([fromMs, toMs]);
  for (const c of record.changes) if (c.atMs > fromMs && c.atMs < toMs) cuts.add(c.atMs);
  // A snooze ends by itself: its end is a cut even with no row there.
  for (const until of [record.priorSnoozedUntil, ...record.changes.map((c) => c.untilMs)]) if (until !== null && until > fromMs && until < toMs) cuts.add(until);
  for (const [s, e] of runs) {
    if (s > fromMs && s < toMs) cuts.add(s);
    if (e > fromMs && e < toMs) cuts.add(e);
  }
  const times = [...cuts].sort((a, b) => a - b);
  let state = record.prior;
  let snoozedUntil = record.priorSnoozedUntil ?? -Infinity;
  let next = 0;
  let run = 0;
  const out: Segment[] = [];
  for (let i = 0; i + 1 < times.length; i++) {
    const a = times[i]!;
    const b = times[i + 1]!;
    for (; next < record.changes.length && record.changes[next]!.atMs <= a; next++) {
      const c = record.changes[next]!;
      if (c.kind === "snooze") snoozedUntil = c.state === "snoozed" ? (c.untilMs ?? Infinity) : -Infinity;
      else state = { state: c.state as RecordedState, cause: c.cause };
    }
    if (state === null) continue;
    while (run < runs.length && runs[run]![1] <= a) run++;
    const covered = run < runs.length && runs[run]![0] <= a;
    const category: Category = !covered ? "unknown" : a < snoozedUntil ? "snoozed" : state.state;
    const cause = category === "down" ? state.cause : null;
    const prev = out.at(-1);
    if (prev !== undefined && prev.toMs === a && prev.category === category && prev.cause === cause) prev.toMs = b;
    else out.push({ fromMs: a, toMs: b, category, cause });
  }
  return out;
}

export interface Totals {
  up_seconds: number;
  down_seconds: number;
  stopped_seconds: number;
  snoozed_seconds: number;
  unknown_seconds: number;
}

export const emptyTotals = (): Totals => ({ up_seconds: 0, down_seconds: 0, stopped_seconds: 0, snoozed_seconds: 0, unknown_seconds: 0 });

/** Seconds in each category within [fromMs, toMs). */
export function totals(segs: readonly Segment[], fromMs: number, toMs: number): Totals {
  // Summed in whole milliseconds, divided once: no 5.653000000000001 s.
  const t = emptyTotals();
  for (const s of segs) {
    const ms = Math.min(s.toMs, toMs) - Math.max(s.fromMs, fromMs);
    if (ms > 0) t[`${s.category}_seconds`] += ms;
  }
  for (const k of Object.keys(t) as (keyof Totals)[]) t[k] /= 1000;
  return t;
}

/** up ÷ (up + down); null when the period holds neither. */
export function availability(t: Totals): number | null {
  const counted = t.up_seconds + t.down_seconds;
  return counted === 0 ? null : t.up_seconds / counted;
}

export interface Incident {
  startMs: number;
  /** null while it goes on. */
  endMs: number | null;
  /** Time down within it: the bridge's absence and snoozes in the middle are not counted. */
  downMs: number;
  cause: Cause;
}

/**
 * Each stretch of down time is one incident, from the first moment down until the bot is up
 * (or stopped) again. The bridge's absence or a snooze in the middle continues it: a restart of
 * the bridge never opens a second one.
 */
export function incidents(segs: readonly Segment[]): Incident[] {
  const out: Incident[] = [];
  let open: Incident | undefined;
  for (const s of segs) {
    if (s.category === "down") {
      open ??= { startMs: s.fromMs, endMs: null, downMs: 0, cause: s.cause ?? "dead" };
      if (out.at(-1) !== open) out.push(open);
      open.downMs += s.toMs - s.fromMs;
      open.cause = worse(open.cause, s.cause) ?? open.cause;
    } else if ((s.category === "up" || s.category === "stopped") && open !== undefined) {
      open.endMs = s.fromMs;
      open = undefined;
    }
  }
  return out;
}

/** Down time of an incident that falls within [fromMs, toMs). */
export function downWithin(segs: readonly Segment[], i: Incident, fromMs: number, toMs: number): number {
  let ms = 0;
  const end = i.endMs ?? Infinity;
  for (const s of segs) {
    if (s.category !== "down" || s.fromMs < i.startMs || s.toMs > end) continue;
    ms += Math.max(0, Math.min(s.toMs, toMs) - Math.max(s.fromMs, fromMs));
  }
  return ms;
}

/** One period's figures for a channel, as `uptime --json` and /api/v1/availability give them. */
export interface ChannelAvailability extends Totals {
  channel: string;
  availability: number | null;
  incidents: number;
  longest_down_seconds: number;
  /** Mean down time of the incidents that ended within the period; null when none did. */
  mean_time_to_recover_seconds: number | null;
}

/** The figures of [fromMs, toMs) from segments that may reach further back (an incident in progress at its start). */
export function summarise(channel: string, segs: readonly Segment[], fromMs: number, toMs: number): ChannelAvailability {
  const t = totals(segs, fromMs, toMs);
  let count = 0;
  let longest = 0;
  let recovered = 0;
  let recoveredMs = 0;
  for (const i of incidents(segs)) {
    const within = downWithin(segs, i, fromMs, toMs);
    if (within <= 0) continue;
    count++;
    longest = Math.max(longest, within);
    if (i.endMs !== null && i.endMs <= toMs) {
      recovered++;
      recoveredMs += i.downMs;
    }
  }
  return { channel, availability: availability(t), ...t, incidents: count, longest_down_seconds: longest / 1000, mean_time_to_recover_seconds: recovered === 0 ? null : recoveredMs / recovered / 1000 };
}

/** A day of a strip: its availability (null where nothing was observed up or down) and the incidents that began in it. */
export interface DayBar {
  availability: number | null;
  up_seconds: number;
  down_seconds: number;
  incidents: number;
}

/** Bars for the days starting at each of `dayStarts` (ascending), the last one ending at `endMs`: one sweep of the segments. */
export function dayBars(segs: readonly Segment[], dayStarts: readonly number[], endMs: number): DayBar[] {
  const up = dayStarts.map(() => 0);
  const down = dayStarts.map(() => 0);
  const count = dayStarts.map(() => 0);
  const dayOf = (t: number) => {
    // The last day starting at or before t (binary search).
    let lo = 0;
    let hi = dayStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (dayStarts[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const first = dayStarts[0] ?? endMs;
  for (const s of segs) {
    if (s.category !== "up" && s.category !== "down") continue;
    let from = Math.max(s.fromMs, first);
    const to = Math.min(s.toMs, endMs);
    for (let k = dayOf(from); from < to; k++) {
      const until = Math.min(to, dayStarts[k + 1] ?? endMs);
      (s.category === "up" ? up : down)[k]! += until - from;
      from = until;
    }
  }
  for (const i of incidents(segs)) if (i.startMs >= first && i.startMs < endMs) count[dayOf(i.startMs)]!++;
  return dayStarts.map((_, k) => {
    const counted = up[k]! + down[k]!;
    return { availability: counted === 0 ? null : up[k]! / counted, up_seconds: up[k]! / 1000, down_seconds: down[k]! / 1000, incidents: count[k]! };
  });
}
