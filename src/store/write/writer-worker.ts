import { closeSync, existsSync, openSync, statSync, unlinkSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { serve } from "../../util/worker-channel.js";
import type { Database, Statement } from "better-sqlite3";
import { matchSidecarModes, openDatabase } from "../../db/database.js";
import { insertInto, insertSelect } from "./inserts.js";
import { DELETE_LLM_USAGE_BEFORE } from "../../db/by-channel.js";
import { FOLLOW_POSITION_KEY, NOTIFY_STATE_KEY, type MigrationReport } from "../../db/schema.js";
import { toSqlTime } from "../../db/timestamps.js";
import type { Batch, ReplayReport, SampleRow, StatusRow, WorkerReply, WorkerRequest } from "./writer-protocol.js";
import { indexed, rowCount, rowsOf, toColumns, type UsageColumns } from "./usage-columns.js";
import { batchKey, entryRows, journalPath, readJournal } from "./journal.js";
import { aggregateUsage } from "../../spend/spend-cells.js";
import { DAY_MS } from "../../util/units.js";
import type { RecordRow, RunMark } from "../../record/record-row.js";

/**
 * The database's writer, on its own thread: opening (and migrating), committing batches and
 * deleting old rows all block, so none of it may run on the thread that reads the socket.
 */
const { path, retentionDays, usageRetentionDays, recordRetentionDays, fileMode, run } = workerData as { path: string; retentionDays: number; usageRetentionDays: number | null; recordRetentionDays: number; fileMode: number; run: string };

/** A new database file is created private (SQLite gives its -wal and -shm files the same mode). */
function createPrivate(): void {
  if (!existsSync(path)) closeSync(openSync(path, "a", fileMode));
}


const USAGE_COLUMNS = ["ts", "channel", "model", "feature", "tokens_in", "tokens_out", "latency_ms", "cost_usd", "cost_source"];
/** The rows being committed, as a virtual table of this connection only (never in the file). */
const QUEUED_USAGE = "kissbot_bridge_queued_usage";
let queuedUsage: UsageColumns | undefined;

let db: Database | undefined;
let statements: { status: Statement; usage: Statement; sample: Statement; marker: Statement; follow: Statement; notify: Statement; record: Statement; run: Statement } | undefined;
/** What replaying the journal did, told with the next reply. */
let replay: ReplayReport | undefined;
let migration: MigrationReport | undefined;
/** The file the connection has open: a file deleted or replaced under it is noticed by this. */
let identity: { dev: number; ino: number } | undefined;

/** The open file is still the one at `path`; else the connection is closed, to be opened anew. */
function checkIdentity(): string | undefined {
  if (db === undefined || identity === undefined) return undefined;
  let now: { dev: number; ino: number } | undefined;
  try {
    now = statSync(path);
  } catch {
    now = undefined;
  }
  if (now !== undefined && now.dev === identity.dev && now.ino === identity.ino) return undefined;
  closeDb();
  return now === undefined ? "the database file was deleted under the bridge; creating it again" : "the database file was replaced under the bridge; opening the new one";
}

function closeDb(): void {
  try {
    db?.close();
  } catch {
    // already unusable
  }
  db = undefined;
  statements = undefined;
  identity = undefined;
}

function open(): string | undefined {
  if (db !== undefined) return undefined;
  try {
    createPrivate();
    matchSidecarModes(path);
    const opened = openDatabase(path);
    const d = opened.db;
    // A batch's rows in one INSERT … SELECT: llm_usage's AUTOINCREMENT counter is written once a
    // statement, not once a row. The statement's journal stays in memory (one batch's pages).
    d.pragma("temp_store = MEMORY");
    d.table(QUEUED_USAGE, {
      columns: USAGE_COLUMNS,
      *rows() {
        if (queuedUsage !== undefined) yield* rowsOf(queuedUsage);
      },
    });
    migration = opened.migration;
    statements = {
      status: insertInto(
        d,
        "bot_status",
        ["channel", "pid", "status", "features_json", "registered_at", "last_seen", "pid_start_time"],
        ` ON CONFLICT(channel) DO UPDATE SET pid = excluded.pid, status = excluded.status, features_json = excluded.features_json,
          registered_at = excluded.registered_at, last_seen = excluded.last_seen, pid_start_time = excluded.pid_start_time`,
      ),
      // source = 'socket': the follower of the bots' own rows skips these (they were counted on arrival).
      usage: insertSelect(d, "llm_usage", USAGE_COLUMNS, QUEUED_USAGE, new Map([["source", "'socket'"]])),
      sample: insertInto(d, "bot_metrics", ["ts", "channel", "pid", "rss_mb", "cpu_pct", "features_json"]),
      marker: d.prepare("INSERT INTO bridge_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      follow: d.prepare("UPDATE bridge_state SET value = ? WHERE key = ?"),
      notify: d.prepare("INSERT INTO notify_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      // A flapping interval's row is written again as its count grows: the same key, replaced.
      record: d.prepare("INSERT INTO bot_record (channel, at_ms, kind, state, cause, changes, until_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(channel, kind, at_ms) DO UPDATE SET state = excluded.state, cause = excluded.cause, changes = excluded.changes, until_ms = excluded.until_ms"),
      run: d.prepare("INSERT INTO bridge_runs (started_ms, mark_ms, ended_ms) VALUES (?, ?, ?) ON CONFLICT(started_ms) DO UPDATE SET mark_ms = MAX(mark_ms, excluded.mark_ms), ended_ms = COALESCE(excluded.ended_ms, ended_ms)"),
    };
    db = d;
    identity = statSync(path);
  } catch (err) {
    return (err as Error).message;
  }
  try {
    replay = replayJournal(db) ?? replay;
    return undefined;
  } catch (err) {
    // Retried with the next open: the journal stays until every batch in it is committed.
    closeDb();
    return `replaying the journal of rows set aside at the last shutdown: ${(err as Error).message}`;
  }
}

/** Inserts one batch's rows (inside the caller's transaction); the ids its llm_usage rows took. */
function insertRows(
  statuses: readonly StatusRow[],
  usageRows: UsageColumns,
  samples: readonly SampleRow[],
  state: { followPosition?: number | undefined; notifyState?: string | undefined; record?: readonly RecordRow[] | undefined; mark?: RunMark | undefined },
): { firstId: number; lastId: number } {
  const { status, usage, sample, follow, notify, record, run: runs } = statements!;
  if (state.followPosition !== undefined) follow.run(state.followPosition, FOLLOW_POSITION_KEY);
  if (state.notifyState !== undefined) notify.run(NOTIFY_STATE_KEY, state.notifyState);
  if (state.mark !== undefined) runs.run(state.mark.startedMs, state.mark.markMs, state.mark.ended ? state.mark.markMs : null);
  for (const r of state.record ?? []) record.run(r);
  let firstId = 0;
  let lastId = 0;
  for (const r of statuses) status.run(r);
  if (rowCount(usageRows) > 0) {
    queuedUsage = usageRows;
    try {
      const { changes, lastInsertRowid } = usage.run();
      lastId = Number(lastInsertRowid);
      firstId = lastId - changes + 1;
    } finally {
      queuedUsage = undefined;
    }
  }
  for (const r of samples) sample.run(r);
  return { firstId, lastId };
}

/** Commits the batches an earlier shutdown set aside, each once, then removes the journal. */
function replayJournal(d: Database): ReplayReport | undefined {
  const file = journalPath(path);
  const journal = readJournal(file);
  const forgetOtherRuns = () => d.prepare("DELETE FROM bridge_state WHERE key LIKE 'batch:%' AND key <> ?").run(batchKey(run));
  if (journal === undefined) {
    forgetOtherRuns();
    return undefined;
  }
  const committed = d.prepare("SELECT value FROM bridge_state WHERE key = ?").pluck();
  const report: ReplayReport = { rows: 0, skipped: 0, torn: journal.torn };
  for (const e of journal.entries) {
    const done = committed.get(batchKey(e.run)) as number | undefined;
    if (done !== undefined && done >= e.seq) {
      report.skipped++;
      continue;
    }
    d.transaction(() => {
      insertRows(e.statuses, toColumns(e.usage), e.samples, e);
      statements!.marker.run(batchKey(e.run), e.seq);
    })();
    report.rows += entryRows(e);
  }
  unlinkSync(file);
  forgetOtherRuns();
  return report;
}

function retention(now: number): string | undefined {
  if (db === undefined) return undefined;
  try {
    const cutoff = toSqlTime(now - retentionDays * DAY_MS);
    db.prepare("DELETE FROM bot_metrics WHERE ts < ?").run(cutoff);
    // Bots that left (unregistered or refused) longer ago than the retention: churn leaves no rows.
    db.prepare("DELETE FROM bot_status WHERE status = 'offline' AND last_seen < ?").run(cutoff);
    if (usageRetentionDays !== null) db.prepare(DELETE_LLM_USAGE_BEFORE).run(toSqlTime(now - usageRetentionDays * DAY_MS));
    // The record keeps each channel's last state (and snooze) before the cutoff: what held then still counts after it.
    const recordCutoff = now - recordRetentionDays * DAY_MS;
    db.prepare("DELETE FROM bot_record WHERE at_ms < ? AND (channel, kind, at_ms) NOT IN (SELECT channel, kind, MAX(at_ms) FROM bot_record WHERE at_ms < ? GROUP BY channel, kind)").run(recordCutoff, recordCutoff);
    db.prepare("DELETE FROM bridge_runs WHERE COALESCE(ended_ms, mark_ms) < ?").run(recordCutoff);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function commit(batch: Batch): WorkerReply {
  // Never "write" into an unlinked file: rows committed there would be lost without an error.
  const replaced = checkIdentity();
  const openError = open();
  if (openError !== undefined || db === undefined || statements === undefined) return { type: "committed", ok: false, op: "open", error: openError ?? "not open" };
  const retentionError = batch.retention ? retention(batch.now) : undefined;
  const { marker } = statements;
  // One transaction: the batch's llm_usage rows take the ids firstId to lastId, nothing between;
  // the batch's number is recorded with them, so a copy set aside at shutdown is never committed twice.
  let ids = { firstId: 0, lastId: 0 };
  try {
    db.transaction(() => {
      ids = insertRows(batch.statuses, batch.usage, batch.samples, batch);
      marker.run(batchKey(batch.run), batch.seq);
    })();
  } catch (err) {
    // Opened anew at the next try: permissions fixed, a full disk freed, a lock gone.
    closeDb();
    return { type: "committed", ok: false, op: "write", error: (err as Error).message, retentionError };
  }
  // Summed here, so spend and latency need not read the bridge's own rows back (1.5 µs a row on the reader).
  const committedUsage = ids.firstId === 0 ? undefined : aggregateUsage(indexed(batch.usage), ids.firstId, ids.lastId);
  const replayed = takeReplay();
  return { type: "committed", ok: true, retentionError, replaced, usage: committedUsage, replay: replayed };
}

function takeReplay(): ReplayReport | undefined {
  const r = replay;
  replay = undefined;
  return r;
}

serve(
  (m: WorkerRequest): WorkerReply => {
    if (m.type === "open") {
      const error = open();
      const reply: WorkerReply = { type: "opened", error, migration, replay: takeReplay() };
      migration = undefined;
      return reply;
    }
    if (m.type === "commit") return commit(m.batch);
    closeDb();
    return { type: "closed" };
  },
  // A batch's cells go back with the reply (transferred, not copied), to be freed on the main
  // thread: a large batch outlives several collections while it commits, and left here, a dead
  // batch waited for a full collection of this thread's small heap.
  { transfer: (_reply, m) => (m.type === "commit" ? [m.batch.usage.cells.buffer] : []) },
);
