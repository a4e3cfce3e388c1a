import BetterSqlite3, { type Database } from "better-sqlite3";
import { migrate, type MigrationReport } from "./schema.js";

/**
 * How long a statement waits for another writer's lock. KissBot's bots commit one row per LLM
 * call and its Python connections wait 5 s by default; the bridge waits as long.
 */
export const BUSY_TIMEOUT_MS = 5000;

/** Opens (creating if need be) and migrates the database, in WAL mode so readers never block the writer. */
export function openDatabase(path: string): { db: Database; migration: MigrationReport } {
  const db = new BetterSqlite3(path);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}
