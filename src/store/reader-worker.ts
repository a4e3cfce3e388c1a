import { statSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import type { Database } from "better-sqlite3";
import { openReadOnly } from "./database.js";
import { READ_QUERIES, type ReaderReply, type ReaderRequest } from "./read-queries.js";

/**
 * Runs the API's database reads on their own thread: a read of millions of rows blocks this
 * thread, never the one that reads the socket and serves /metrics. The main thread bounds how
 * long it waits and ends this thread if a read outlives that.
 */
const { path } = workerData as { path: string };

let db: Database | undefined;
let identity: { dev: number; ino: number } | undefined;

/** The connection, reopened when the file was replaced or deleted since it was opened. */
function connection(): Database {
  const now = statSync(path);
  if (db !== undefined && identity !== undefined && (now.dev !== identity.dev || now.ino !== identity.ino)) {
    db.close();
    db = undefined;
  }
  if (db === undefined) {
    db = openReadOnly(path);
    identity = { dev: now.dev, ino: now.ino };
  }
  return db;
}

parentPort!.on("message", (m: ReaderRequest) => {
  let reply: ReaderReply;
  try {
    const query = READ_QUERIES[m.name] as (db: Database, args: unknown) => unknown;
    reply = { id: m.id, ok: true, value: query(connection(), m.args) };
  } catch (err) {
    try {
      db?.close();
    } catch {
      // already unusable
    }
    db = undefined;
    reply = { id: m.id, ok: false, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
