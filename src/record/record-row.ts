/**
 * The record of every bot's state changes (the bot_record table): what availability, incidents,
 * badges and the digest are computed from. A `state` row says what the bot was from its time on
 * (up, down or stopped); a `snooze` row says a snooze began or ended. The bridge's own presence
 * is kept beside it, in bridge_runs (record-queries.ts).
 */
export const RECORDED_STATES = ["up", "down", "stopped"] as const;
export type RecordedState = (typeof RECORDED_STATES)[number];

/** Why a bot is down: the moment the alerts use (stale or dead), or a day's changes merged. */
export const CAUSES = ["stale", "dead", "flapping"] as const;
export type Cause = (typeof CAUSES)[number];

export type RecordKind = "state" | "snooze";
export type SnoozeState = "snoozed" | "unsnoozed";

/**
 * One change, as the writer thread inserts it (channel, kind and time are its key). A snooze
 * row carries when the snooze ends, so its end is known even if no bridge runs then.
 */
export type RecordRow = [channel: string, atMs: number, kind: RecordKind, state: RecordedState | SnoozeState, cause: Cause | null, changes: number, untilMs: number | null];

/** The bridge's run, marked with every commit: its absence after `markMs` is unknown time. */
export interface RunMark {
  startedMs: number;
  markMs: number;
  /** A clean stop: the run ends here, not at its last mark. */
  ended: boolean;
}

/** A cause that is worse wins when an incident has several (stale, then dead). */
export const CAUSE_RANK: ReadonlyMap<Cause, number> = new Map([
  ["stale", 0],
  ["dead", 1],
  ["flapping", 2],
]);

export function worse(a: Cause | null, b: Cause | null): Cause | null {
  if (a === null) return b;
  if (b === null) return a;
  return CAUSE_RANK.get(b)! > CAUSE_RANK.get(a)! ? b : a;
}
