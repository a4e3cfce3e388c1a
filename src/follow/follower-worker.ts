import { workerData } from "node:worker_threads";
import { serve } from "../util/worker-channel.js";
import BetterSqlite3, { type Database, type Statement } from "better-sqlite3";
import { fileIdentity, matchSidecarModes, WRITE_BUSY_TIMEOUT_MS, writableNow } from "../db/database.js";
import { FOLLOW_POSITION_KEY } from "../db/schema.js";
import type { FollowedRow, FollowerReply, FollowerRequest, RecordedTotals } from "./follow-protocol.js";

/**
 * Reads, on its own thread, the llm_usage rows that KissBot's bots commit straight into the
 * database: by primary key after the saved position, in bounded batches, one batch in flight.
 * The position moves on (in memory, then in bridge_state once the main thread has counted the
 * batch), so a row is handed over once, across restarts too.
 */
const { path, pollIntervalMs, batchRows } = workerData as { path: string; pollIntervalMs: number; batchRows: number };

type Open = { db: Database; read: (from: number, limit: number) => { rows: FollowedRow[]; maxId: number }; save: Statement; totals: Statement | undefined; identity: string | undefined };
let open: Open | undefined;
/** Read from bridge_state once; after that, memory is ahead of (or equal to) what is saved. */
let position: number | undefined;
let stopping = false;
let timer: NodeJS.Timeout | undefined;
let awaitingAck = false;
let lastTotals = "";

/** Nothing is asked of this thread: it reads on its own, and is told `ack` and `stop`. */
const channel = serve<FollowerRequest, never, FollowerReply>(
  () => {
    throw new Error("the follower thread answers no requests");
  },
  { onEvent: (m) => handle(m) },
);
const post = (m: FollowerReply) => channel.emit(m);

function connect(): Open {
  const identity = fileIdentity(path);
  if (identity === undefined) throw new Error(`${path} does not exist`);
  matchSidecarModes(path);
  const db = new BetterSqlite3(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${WRITE_BUSY_TIMEOUT_MS}`);
    position ??= (db.prepare("SELECT value FROM bridge_state WHERE key = ?").pluck().get(FOLLOW_POSITION_KEY) as number | undefined) ?? 0;
    // Rows the bridge wrote itself (source 'socket') were counted when they arrived: SQLite
    // skips them, and only the position moves past them (to the largest id seen, read in the same
    // transaction: ids only grow, so every committed row below it has been seen).
    const select = db
      .prepare("SELECT id, ts, channel, model, feature, tokens_in, tokens_out, latency_ms, cost_usd FROM llm_usage WHERE id > ? AND source IS NOT 'socket' ORDER BY id LIMIT ?")
      .raw(true);
    const maxId = db.prepare("SELECT MAX(id) FROM llm_usage").pluck();
    const read = db.transaction((from: number, limit: number) => ({ rows: select.all(from, limit) as FollowedRow[], maxId: (maxId.get() as number | null) ?? 0 }));
    const save = db.prepare("UPDATE bridge_state SET value = ? WHERE key = ?");
    return { db, read, save, totals: totalsStatement(db), identity };
  } catch (err) {
    db.close();
    throw err;
  }
}

function totalsStatement(db: Database): Statement | undefined {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'llm_totals'").get();
  return exists === undefined ? undefined : db.prepare("SELECT tokens_in_total, tokens_out_total, calls_total FROM llm_totals WHERE id = 1").raw(true);
}

function readTotals(o: Open): RecordedTotals | null {
  // The bots create llm_totals on their first call: look for it again until it exists.
  o.totals ??= totalsStatement(o.db);
  const r = o.totals?.get() as [number, number, number] | undefined;
  return r === undefined ? null : { tokensIn: Number(r[0]) || 0, tokensOut: Number(r[1]) || 0, calls: Number(r[2]) || 0 };
}

function poll(): void {
  timer = undefined;
  if (stopping || awaitingAck) return;
  try {
    if (open !== undefined && replaced(open)) {
      // A new file has its own rows and its own saved position (the writer starts it at the
      // rows already there): the old position means nothing in it.
      close();
      position = undefined;
      lastTotals = "";
    }
    open ??= connect();
    const from = position!;
    const { rows, maxId } = open.read(from, batchRows);
    const totals = readTotals(open);
    // A full batch may have more behind it; a short one has seen every row up to maxId.
    const next = rows.length === batchRows ? rows[rows.length - 1]![0] : Math.max(from, maxId, rows[rows.length - 1]?.[0] ?? 0);
    if (rows.length === 0) {
      if (next !== from) {
        position = next;
        open.save.run(position, FOLLOW_POSITION_KEY);
      }
      const key = JSON.stringify(totals);
      if (key !== lastTotals) post({ type: "totals", totals });
      lastTotals = key;
      return schedule(pollIntervalMs);
    }
    position = next;
    lastTotals = JSON.stringify(totals);
    awaitingAck = true;
    post({ type: "rows", rows, totals });
  } catch (err) {
    post({ type: "error", message: (err as Error).message });
    close();
    schedule(pollIntervalMs);
  }
}

/** The file at `path` is no longer the one this connection has open (deleted, or replaced). */
function replaced(o: Open): boolean {
  return fileIdentity(path) !== o.identity;
}

function schedule(ms: number): void {
  // Held open only while the bridge can write the file (database.ts, matchSidecarModes); the
  // position stays in memory meanwhile.
  if (open !== undefined && !writableNow(path)) close();
  if (!stopping && timer === undefined) timer = setTimeout(poll, ms);
}

function close(): void {
  try {
    open?.db.close();
  } catch {
    // already unusable
  }
  open = undefined;
}

function handle(m: FollowerRequest): void {
  if (m.type === "ack") {
    awaitingAck = false;
    try {
      open?.save.run(position, FOLLOW_POSITION_KEY);
    } catch (err) {
      post({ type: "error", message: (err as Error).message });
      // A connection that opened a read-only file stays read-only after the file is fixed:
      // only a new one can write (the position stays in memory meanwhile).
      close();
    }
    // A full batch means more are waiting: read on at once, else at the next interval.
    schedule(0);
    return;
  }
  stopping = true;
  clearTimeout(timer);
  close();
  post({ type: "stopped" });
}

schedule(0);
