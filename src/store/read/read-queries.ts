import type { Database } from "better-sqlite3";
import { followRows } from "../../follow/follow-queries.js";
import type { FollowArgs, FollowResult } from "../../follow/follow-protocol.js";
import { botsFromDatabase, usageByDayFromDatabase, usageFromDatabase } from "./queries.js";
import type { BotView } from "../../read-model/bots.js";
import type { UsageGroup, UsageView } from "../../read-model/usage.js";
import { botHistoryFromDatabase, type BotHistoryView } from "./history-queries.js";
import { latencyFromDatabase, spendFromDatabase, idRangeFromDatabase, type SpendRow } from "../../spend/spend-queries.js";
import type { LatencyCell } from "../../spend/spend-cells.js";
import { activeSnoozes, type Snooze } from "../../notify/snoozes.js";
import { digestFromDatabase } from "../../digest/digest-queries.js";
import { availabilityFromDatabase, botAvailabilityFromDatabase, incidentsFromDatabase, stripsFromDatabase } from "../../record/record-queries.js";

/**
 * The reads the HTTP API may ask of the database, by name, so they can run on the reader
 * thread: each takes plain data and returns plain data (structured-clone safe).
 */
export const READ_QUERIES = {
  follow: (db: Database, a: FollowArgs): FollowResult => followRows(db, a),
  usage: (db: Database, a: { sinceMs: number; by: UsageGroup }): UsageView[] => usageFromDatabase(db, a.sinceMs, a.by),
  usageByDay: (db: Database, a: { sinceMs: number; nowMs: number; timeZone: string }): UsageView[] => usageByDayFromDatabase(db, a.sinceMs, a.nowMs, a.timeZone),
  bots: (db: Database, a: { now: number }): BotView[] => botsFromDatabase(db, a.now),
  spend: (db: Database, a: { dayStartMs: number; monthStartMs: number; afterId: number; upToId?: number; botsOnly?: boolean }): { rows: SpendRow[]; maxId: number } => spendFromDatabase(db, a),
  idRange: (db: Database, a: { sinceMs: number }): { afterId: number; maxId: number } => idRangeFromDatabase(db, a),
  latency: (db: Database, a: { sinceMs: number; afterId: number; upToId?: number; botsOnly?: boolean }): { cells: LatencyCell[]; maxId: number } => latencyFromDatabase(db, a),
  snoozes: (db: Database, a: { now: number }): Snooze[] => activeSnoozes(db, a.now),
  botHistory: (db: Database, a: { channel: string; nowMs: number; rangeMs: number }): BotHistoryView => botHistoryFromDatabase(db, a),
  availability: (db: Database, a: Parameters<typeof availabilityFromDatabase>[1]) => availabilityFromDatabase(db, a),
  incidents: (db: Database, a: Parameters<typeof incidentsFromDatabase>[1]) => incidentsFromDatabase(db, a),
  strips: (db: Database, a: Parameters<typeof stripsFromDatabase>[1]) => stripsFromDatabase(db, a),
  botAvailability: (db: Database, a: Parameters<typeof botAvailabilityFromDatabase>[1]) => botAvailabilityFromDatabase(db, a),
  digest: (db: Database, a: Parameters<typeof digestFromDatabase>[1]) => digestFromDatabase(db, a),
};

export type ReadQueries = typeof READ_QUERIES;
export type ReadName = keyof ReadQueries;
export type ReadArgs<K extends ReadName> = Parameters<ReadQueries[K]>[1];
export type ReadResult<K extends ReadName> = ReturnType<ReadQueries[K]>;

export type ReaderRequest = { name: ReadName; args: unknown };
