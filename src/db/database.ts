import { accessSync, chmodSync, constants, statSync } from "node:fs";
import BetterSqlite3, { type Database } from "better-sqlite3";
import { BRIDGE_TABLES, migrate, type MigrationReport } from "./schema.js";

/**
 * How long a read waits for a lock (rare in WAL mode: only while a checkpoint or recovery runs).
 */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * How long the bridge's own writes (the writer's commits, the follower's saved position) wait for
 * another writer's lock before failing: the rows stay queued and the next commit, a second later,
 * tries again, so a short wait loses nothing. KissBot's bots hold the lock for one INSERT and
 * UPDATE (milliseconds). It must be short because a thread waiting inside SQLite cannot be ended:
 * better-sqlite3 aborts the whole process (SIGABRT, "ToLocalChecked Empty MaybeLocal") when a
 * worker is terminated during that wait, so shutdown waits for the wait to end instead.
 */
export const WRITE_BUSY_TIMEOUT_MS = 500;

/** Opens (creating if need be) and migrates the database, in WAL mode so readers never block the writer. */
export function openDatabase(path: string): { db: Database; migration: MigrationReport } {
  const db = new BetterSqlite3(path);
  try {
    db.pragma(`busy_timeout = ${WRITE_BUSY_TIMEOUT_MS}`);
    db.pragma("journal_mode = WAL");
    // WAL with NORMAL loses no committed transaction on a process crash (only on power loss).
    db.pragma("synchronous = NORMAL");
    const migration = migrate(db);
    return { db, migration };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** A read-only connection to an existing database (the API, the CLI): never creates or migrates. */
export function openReadOnly(path: string): Database {
  matchSidecarModes(path);
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}

/**
 * A connection that writes the bridge's own tables of an existing database (the CLI's snoozes):
 * never creates the file (a new one would be a file no bridge reads) nor migrates KissBot's tables.
 */
export function openForBridgeTables(path: string): Database {
  const db = new BetterSqlite3(path, { fileMustExist: true });
  try {
    // The bridge holds its write lock for one commit at a time.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    for (const sql of BRIDGE_TABLES) db.exec(sql);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * SQLite creates -wal and -shm with the database file's mode of that moment, and shares one -shm
 * mapping between all the connections of a process: a connection that opens a read-only -shm (a
 * restored backup, read-only when the bridge started) leaves every later connection of the
 * process read-only, even once the file is fixed, for as long as any of them stays open. So the
 * sidecars get the file's mode back once the file is writable (only ours; never lowered), and
 * a connection to a file the bridge cannot write is held for one operation only (writableNow),
 * so that all of them are closed at some instant and the next one opens afresh.
 */
export function matchSidecarModes(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return;
  }
  if ((mode & 0o200) === 0) return;
  for (const sidecar of [`${path}-wal`, `${path}-shm`]) {
    try {
      const st = statSync(sidecar);
      if ((st.mode & 0o777) !== mode && st.uid === process.getuid?.()) chmodSync(sidecar, mode);
    } catch {
      // absent, or not ours
    }
  }
}

/** Can this process write the file now (and so hold a connection to it for long)? */
export function writableNow(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** What a long-lived connection compares to notice its file deleted or replaced. */
export function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}
