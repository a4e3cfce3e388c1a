import BetterSqlite3, { type Database } from "better-sqlite3";
import { migrate } from "./schema.js";

/** Opens (creating if need be) and migrates the database, in WAL mode so readers never block the writer. */
export function openDatabase(path: string, options: { readonly?: boolean } = {}): Database {
  const db = new BetterSqlite3(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  try {
    db.pragma("busy_timeout = 2000");
    if (!options.readonly) {
      db.pragma("journal_mode = WAL");
      // WAL with NORMAL loses no committed transaction on a process crash (only on power loss).
      db.pragma("synchronous = NORMAL");
      migrate(db);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
