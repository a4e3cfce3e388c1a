import type { Database } from "better-sqlite3";
import { localDay, periodStarts } from "../calendar/period.js";
import type { RecordedChannel } from "./recorder.js";
import type { Cause, RecordedState } from "./record-row.js";
import { dayBars, incidents, segments, summarise, type Change, type ChannelAvailability, type ChannelRecord, type Coverage, type DayBar, type Incident, type Segment } from "./timeline.js";

/** The bridge now running, whose run reaches up to now rather than to its last mark. */
export type LiveRun = { startedMs: number } | null;

/** Channels an answer holds at most (the bridge's --max-bots bound is lower). */
export const MAX_RECORD_CHANNELS = 100_000;
/** Incidents one answer lists at most, newest first. */
export const MAX_INCIDENTS = 500;

/** Every channel of the record, by seeking the primary key once per channel (no walk of the table). */
const CHANNELS = `WITH RECURSIVE ch(name) AS (
    SELECT MIN(channel) FROM bot_record
    UNION ALL
    SELECT (SELECT MIN(channel) FROM bot_record WHERE channel > ch.name) FROM ch WHERE ch.name IS NOT NULL)
  SELECT name FROM ch WHERE name IS NOT NULL LIMIT ${MAX_RECORD_CHANNELS}`;

const hasRecord = (db: Database) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bot_record'").get() !== undefined;

/** Statements prepared once per read (each is a seek of bot_record's key). */
function statements(db: Database) {
  return {
    lastState: db.prepare("SELECT at_ms AS atMs, state, cause FROM bot_record WHERE channel = ? AND kind = 'state' AND at_ms < ? ORDER BY at_ms DESC LIMIT 1"),
    lastSnooze: db.prepare("SELECT state, until_ms AS untilMs FROM bot_record WHERE channel = ? AND kind = 'snooze' AND at_ms < ? ORDER BY at_ms DESC LIMIT 1"),
    lastNotDown: db.prepare("SELECT MAX(at_ms) FROM bot_record WHERE channel = ? AND kind = 'state' AND at_ms < ? AND state <> 'down'").pluck(),
    firstDownAfter: db.prepare("SELECT MIN(at_ms) FROM bot_record WHERE channel = ? AND kind = 'state' AND at_ms > ? AND state = 'down'").pluck(),
    changes: db.prepare("SELECT at_ms AS atMs, kind, state, cause, until_ms AS untilMs FROM bot_record WHERE channel = ? AND kind IN ('state', 'snooze') AND at_ms >= ? AND at_ms < ? ORDER BY at_ms, kind"),
  };
}
type Statements = ReturnType<typeof statements>;

/** The end of the snooze recorded last before `beforeMs` (null if it was taken back, or none was). */
function snoozedUntil(st: Statements, channel: string, beforeMs: number): number | null {
  const s = st.lastSnooze.get(channel, beforeMs) as { state: string; untilMs: number | null } | undefined;
  return s?.state === "snoozed" ? (s.untilMs ?? Number.MAX_SAFE_INTEGER) : null;
}

/**
 * The channel's record from `fromMs` to `toMs`, reaching back to the start of an incident that
 * was going on at `fromMs` (so that it is listed whole and never counted twice).
 */
function channelRecord(st: Statements, channel: string, fromMs: number, toMs: number): { startMs: number; record: ChannelRecord } {
  let startMs = fromMs;
  const before = st.lastState.get(channel, fromMs) as { atMs: number; state: RecordedState; cause: Cause | null } | undefined;
  if (before?.state === "down") {
    const up = st.lastNotDown.get(channel, fromMs) as number | null;
    startMs = (st.firstDownAfter.get(channel, up ?? -1) as number | null) ?? before.atMs;
  }
  const prior = startMs === fromMs ? before : (st.lastState.get(channel, startMs) as typeof before);
  return {
    startMs,
    record: {
      prior: prior === undefined ? null : { state: prior.state, cause: prior.cause },
      priorSnoozedUntil: snoozedUntil(st, channel, startMs),
      changes: st.changes.all(channel, startMs, toMs) as Change[],
    },
  };
}

/** When a bridge was running between the two times: each run up to its clean end, else its last mark; the live one up to now. */
export function coverageFromDatabase(db: Database, fromMs: number, toMs: number, live: LiveRun, nowMs: number): Coverage {
  const runs = db.prepare("SELECT started_ms AS s, COALESCE(ended_ms, mark_ms) AS e FROM bridge_runs WHERE started_ms < ? AND COALESCE(ended_ms, mark_ms) > ?").all(toMs, fromMs) as { s: number; e: number }[];
  const out: [number, number][] = runs.map((r) => [r.s, live !== null && r.s === live.startedMs ? nowMs : r.e]);
  if (live !== null) out.push([live.startedMs, nowMs]);
  return out;
}

function listChannels(db: Database, only: readonly string[] | undefined): string[] {
  if (only !== undefined) return [...new Set(only)].slice(0, MAX_RECORD_CHANNELS);
  return db.prepare(CHANNELS).pluck().all() as string[];
}

type Window = { fromMs: number; toMs: number; nowMs: number; live: LiveRun };

/** One channel's segments over the window (and back to the start of an incident going on at its start). */
function channelSegments(st: Statements, channel: string, w: Window, coverage: Coverage): Segment[] {
  const to = Math.min(w.toMs, w.nowMs);
  const { startMs, record } = channelRecord(st, channel, w.fromMs, to);
  return segments(record, coverage, startMs, to);
}

export interface AvailabilityView {
  from: string;
  to: string;
  channels: ChannelAvailability[];
}

/**
 * Availability of every channel (or those named) over [fromMs, toMs), as `uptime --json` and
 * GET /api/v1/availability show it. A channel is listed when it was up, down or snoozed within
 * the period, or when it was named.
 */
export function availabilityFromDatabase(db: Database, a: Window & { channels?: string[] | undefined }): AvailabilityView {
  const to = Math.min(a.toMs, a.nowMs);
  const view: AvailabilityView = { from: new Date(a.fromMs).toISOString(), to: new Date(to).toISOString(), channels: [] };
  if (!hasRecord(db)) return view;
  const st = statements(db);
  // Coverage from far enough back for any incident going on at the start (a year and more).
  const coverage = coverageFromDatabase(db, Number.MIN_SAFE_INTEGER, to, a.live, a.nowMs);
  for (const channel of listChannels(db, a.channels)) {
    const s = summarise(channel, channelSegments(st, channel, a, coverage), a.fromMs, to);
    if (a.channels !== undefined || s.up_seconds + s.down_seconds + s.snoozed_seconds > 0) view.channels.push(s);
  }
  return view;
}

export interface IncidentView {
  start: string;
  end: string | null;
  duration_seconds: number;
  cause: Cause;
}

const incidentView = (i: Incident): IncidentView => ({ start: new Date(i.startMs).toISOString(), end: i.endMs === null ? null : new Date(i.endMs).toISOString(), duration_seconds: i.downMs / 1000, cause: i.cause });

/** A channel's incidents that overlap [fromMs, now), newest first, at most `limit`. */
export function incidentsFromDatabase(db: Database, a: Window & { channel: string; limit?: number }): IncidentView[] {
  if (!hasRecord(db)) return [];
  const to = Math.min(a.toMs, a.nowMs);
  const segs = channelSegments(statements(db), a.channel, a, coverageFromDatabase(db, Number.MIN_SAFE_INTEGER, to, a.live, a.nowMs));
  return incidents(segs)
    .filter((i) => (i.endMs ?? Infinity) > a.fromMs && i.downMs > 0)
    .reverse()
    .slice(0, Math.min(a.limit ?? MAX_INCIDENTS, MAX_INCIDENTS))
    .map(incidentView);
}

/** The start of each of the last `days` calendar days in the zone, oldest first (today last). */
export function dayStarts(nowMs: number, days: number, timeZone: string): number[] {
  const out = [periodStarts(nowMs, timeZone).dayStartMs];
  while (out.length < days) out.unshift(periodStarts(out[0]! - 1, timeZone).dayStartMs);
  return out;
}

export interface StripsView {
  timezone: string;
  /** YYYY-MM-DD, oldest first; the last is today. */
  days: string[];
  channels: { channel: string; bars: DayBar[] }[];
}

/** One bar a day for the last `days` days, per channel (or those named): the status page's strips. */
export function stripsFromDatabase(db: Database, a: { days: number; timeZone: string; nowMs: number; live: LiveRun; channels?: string[] | undefined }): StripsView {
  const starts = dayStarts(a.nowMs, a.days, a.timeZone);
  const view: StripsView = { timezone: a.timeZone, days: starts.map((s) => localDay(s, a.timeZone)), channels: [] };
  if (!hasRecord(db)) return view;
  const st = statements(db);
  const w: Window = { fromMs: starts[0]!, toMs: a.nowMs, nowMs: a.nowMs, live: a.live };
  const coverage = coverageFromDatabase(db, Number.MIN_SAFE_INTEGER, a.nowMs, a.live, a.nowMs);
  for (const channel of listChannels(db, a.channels)) view.channels.push({ channel, bars: dayBars(channelSegments(st, channel, w, coverage), starts, a.nowMs) });
  return view;
}

/** The periods a bot's view shows. */
export const BOT_PERIODS = ["24h", "7d", "30d", "this_month", "last_month"] as const;

export interface BotAvailabilityView {
  timezone: string;
  periods: Array<{ period: (typeof BOT_PERIODS)[number]; from: string; to: string } & ChannelAvailability>;
  incidents: IncidentView[];
}

/** A bot's availability over 24 h, 7 d, 30 d, this and last calendar month, and its incidents of the last 90 days. */
export function botAvailabilityFromDatabase(db: Database, a: { channel: string; timeZone: string; nowMs: number; live: LiveRun }): BotAvailabilityView {
  const p = periodStarts(a.nowMs, a.timeZone);
  const lastMonth = periodStarts(p.monthStartMs - 1, a.timeZone).monthStartMs;
  const windows: Array<[(typeof BOT_PERIODS)[number], number, number]> = [
    ["24h", a.nowMs - 86_400_000, a.nowMs],
    ["7d", a.nowMs - 7 * 86_400_000, a.nowMs],
    ["30d", a.nowMs - 30 * 86_400_000, a.nowMs],
    ["this_month", p.monthStartMs, a.nowMs],
    ["last_month", lastMonth, p.monthStartMs],
  ];
  const view: BotAvailabilityView = { timezone: a.timeZone, periods: [], incidents: [] };
  if (!hasRecord(db)) return view;
  const st = statements(db);
  const coverage = coverageFromDatabase(db, Number.MIN_SAFE_INTEGER, a.nowMs, a.live, a.nowMs);
  for (const [period, fromMs, toMs] of windows) {
    const segs = channelSegments(st, a.channel, { fromMs, toMs, nowMs: a.nowMs, live: a.live }, coverage);
    view.periods.push({ period, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), ...summarise(a.channel, segs, fromMs, toMs) });
  }
  view.incidents = incidentsFromDatabase(db, { channel: a.channel, fromMs: a.nowMs - 90 * 86_400_000, toMs: a.nowMs, nowMs: a.nowMs, live: a.live, limit: 100 });
  return view;
}

/** What the record last says of each channel, read once at start (the recorder's memory). */
export function recordedChannels(db: Database): RecordedChannel[] {
  if (!hasRecord(db)) return [];
  const st = statements(db);
  return listChannels(db, undefined).map((channel) => {
    const last = st.lastState.get(channel, Number.MAX_SAFE_INTEGER) as { state: RecordedState; cause: Cause | null } | undefined;
    return { channel, state: last?.state ?? null, cause: last?.cause ?? null, snoozedUntil: snoozedUntil(st, channel, Number.MAX_SAFE_INTEGER) };
  });
}
