import type { Database, Statement } from "better-sqlite3";
import { fileIdentity } from "../db/database.js";
import { FOLLOW_POSITION_KEY } from "../db/schema.js";
import type { FollowArgs, FollowedRow, FollowResult, RecordedTotals } from "./follow-protocol.js";

/**
 * The follower's read of the llm_usage rows KissBot's bots commit straight into the database:
 * a read like any other on the database reader's thread (store/read), on its read-only
 * connection. Nothing here writes: the position is the main thread's (llm-row-follower.ts) and
 * is saved by the writer thread with its next commit, so the reader's thread, ended when a read
 * outlives its time, is never inside a write (better-sqlite3 aborts the process when a thread is
 * ended while SQLite waits for a lock).
 */
const statements = new WeakMap<Database, { read: (from: number, limit: number) => { rows: FollowedRow[]; maxId: number }; saved: Statement }>();
/** The file the last read was from: one replaced since has its own rows and its own saved position. */
let lastFile: string | undefined;

function prepared(db: Database) {
  let p = statements.get(db);
  if (p === undefined) {
    // Rows the bridge wrote itself (source 'socket') were counted when they arrived: SQLite
    // skips them, and only the position moves past them (to the largest id seen, read in the same
    // transaction: ids only grow, so every committed row below it has been seen).
    const select = db
      .prepare("SELECT id, ts, channel, model, feature, tokens_in, tokens_out, latency_ms, cost_usd FROM llm_usage WHERE id > ? AND source IS NOT 'socket' ORDER BY id LIMIT ?")
      .raw(true);
    const maxId = db.prepare("SELECT MAX(id) FROM llm_usage").pluck();
    const read = db.transaction((from: number, limit: number) => ({ rows: select.all(from, limit) as FollowedRow[], maxId: (maxId.get() as number | null) ?? 0 }));
    statements.set(db, (p = { read, saved: db.prepare("SELECT value FROM bridge_state WHERE key = ?").pluck() }));
  }
  return p;
}

function readTotals(db: Database): RecordedTotals | null {
  // The bots create llm_totals on their first call: looked for at every read until it exists.
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'llm_totals'").get();
  if (exists === undefined) return null;
  const r = db.prepare("SELECT tokens_in_total, tokens_out_total, calls_total FROM llm_totals WHERE id = 1").raw(true).get() as [number, number, number] | undefined;
  return r === undefined ? null : { tokensIn: Number(r[0]) || 0, tokensOut: Number(r[1]) || 0, calls: Number(r[2]) || 0 };
}

/**
 * The next rows after `afterId` (null: the saved position), at most `limit`. A file replaced
 * since the last read starts again at its own saved position, and `from` says so.
 */
export function followRows(db: Database, a: FollowArgs): FollowResult {
  const file = fileIdentity(db.name);
  const replaced = lastFile !== undefined && file !== lastFile;
  lastFile = file;
  const { read, saved } = prepared(db);
  const from = a.afterId === null || replaced ? ((saved.get(FOLLOW_POSITION_KEY) as number | undefined) ?? 0) : a.afterId;
  const { rows, maxId } = read(from, a.limit);
  // A full batch may have more behind it; a short one has seen every row up to maxId.
  const next = rows.length === a.limit ? rows[rows.length - 1]![0] : Math.max(from, maxId, rows[rows.length - 1]?.[0] ?? 0);
  return { from, rows, next, totals: readTotals(db) };
}
