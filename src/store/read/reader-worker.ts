import { workerData } from "node:worker_threads";
import { serve } from "../../util/worker-channel.js";
import type { Database } from "better-sqlite3";
import { fileIdentity, openReadOnly, writableNow } from "../../db/database.js";
import { READ_QUERIES, type ReaderRequest } from "./read-queries.js";

/**
 * Runs the API's database reads on their own thread: a read of millions of rows blocks this
 * thread, never the one that reads the socket and serves /metrics. The main thread bounds how
 * long it waits and ends this thread if a read outlives that.
 */
const { path } = workerData as { path: string };

let db: Database | undefined;
let identity: string | undefined;
/** The connection, reopened when the file was replaced or deleted since it was opened. */
function connection(): Database {
  const now = fileIdentity(path);
  if (db !== undefined && now !== identity) closeDb();
  if (db === undefined) {
    db = openReadOnly(path);
    identity = now;
  }
  return db;
}

function closeDb(): void {
  try {
    db?.close();
  } catch {
    // already unusable
  }
  db = undefined;
}

serve((m: ReaderRequest) => {
  try {
    const query = READ_QUERIES[m.name] as (db: Database, args: unknown) => unknown;
    return query(connection(), m.args);
  } catch (err) {
    closeDb();
    throw err;
  } finally {
    // Held open only while the bridge can write the file (database.ts, matchSidecarModes).
    if (!writableNow(path)) closeDb();
  }
});
