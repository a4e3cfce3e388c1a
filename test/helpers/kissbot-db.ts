import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { FIXTURES } from "./paths.js";
import { PYTHON } from "./python.js";

const SCRIPT = join(FIXTURES, "kissbot_db.py");

export type KissbotDbResult = { ok: boolean; error?: string };

/** Runs one command of test/fixtures/kissbot_db.py (KissBot's Monitor and bots' logger, in Python). */
export function kissbotDb(cmd: string, path: string, ...args: string[]): KissbotDbResult {
  const r = spawnSync(PYTHON, [SCRIPT, cmd, path, ...args], { encoding: "utf8" });
  if (r.stdout.trim() === "") throw new Error(`kissbot_db.py ${cmd}: ${r.stderr}`);
  return JSON.parse(r.stdout) as KissbotDbResult;
}

/** The same, without blocking the test's event loop (for writers running beside the bridge). */
export function kissbotDbAsync(cmd: string, path: string, ...args: string[]): Promise<KissbotDbResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, [SCRIPT, cmd, path, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("exit", () => (out.trim() === "" ? reject(new Error(`kissbot_db.py ${cmd}: ${err}`)) : resolve(JSON.parse(out) as KissbotDbResult)));
  });
}

/** Holds SQLite's write lock on `db` from another process until `release()`. */
export async function holdWriteLock(db: string): Promise<{ release(): Promise<void> }> {
  const locker = spawn(PYTHON, ["-c", "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\nsys.stdin.read()\nc.execute('COMMIT')", db], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((r) => locker.stdout!.once("data", r));
  const exited = new Promise((r) => locker.once("exit", r));
  return {
    release: async () => {
      locker.stdin!.end();
      await exited;
    },
  };
}

/**
 * Rows of a query read in this process, read-only: for polling until the bridge has committed
 * something (a Python start per poll would cost the machine more than the test it waits in).
 * What KissBot's tools read is checked with `kissbotQuery`.
 */
export function readRows(path: string, sql: string): Record<string, unknown>[] {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/**
 * Rows of a query, read by Python's sqlite3 as KissBot's tools would. `within`: a command that
 * runs it elsewhere (inside another process's namespaces, where its file system is mounted).
 */
export function kissbotQuery(path: string, sql: string, within: readonly string[] = []): Record<string, unknown>[] {
  return kissbotQueries(path, [sql], within)[0]!;
}

/** Several queries' rows, read in one Python process (each start costs a few hundred ms). */
export function kissbotQueries<const Q extends readonly string[]>(path: string, sqls: Q, within: readonly string[] = []): { [K in keyof Q]: Record<string, unknown>[] } {
  const [command, ...args] = [...within, PYTHON, SCRIPT, "query", path, ...sqls];
  const r = spawnSync(command!, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`query failed: ${r.stdout}${r.stderr}`);
  return r.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>[]) as { [K in keyof Q]: Record<string, unknown>[] };
}

/** The bridge's schema 1 (its first release), as it created a new file. */
export const SCHEMA_1_SQL = `CREATE TABLE bot_status (channel TEXT PRIMARY KEY, pid INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'online', features TEXT, registered_at TIMESTAMP, last_heartbeat TIMESTAMP, pid_start_time INTEGER);
CREATE TABLE llm_usage (id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, model TEXT NOT NULL, feature TEXT NOT NULL, tokens_in INTEGER, tokens_out INTEGER, latency_ms INTEGER, estimated_cost REAL, timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE bot_metrics (timestamp TIMESTAMP NOT NULL, channel TEXT NOT NULL, pid INTEGER NOT NULL, rss_mb REAL, cpu_pct REAL, features TEXT);
CREATE INDEX llm_usage_timestamp ON llm_usage(timestamp);
CREATE INDEX bot_metrics_timestamp ON bot_metrics(timestamp);
CREATE INDEX bot_metrics_channel_timestamp ON bot_metrics(channel, timestamp);
INSERT INTO bot_status VALUES ('old_bot', 4242, 'offline', '{"llm": true}', '2026-11-20 10:00:00.000', '2026-11-20 11:00:00.000', 777);
INSERT INTO llm_usage (channel, model, feature, tokens_in, tokens_out, latency_ms, estimated_cost, timestamp) VALUES ('old_bot', 'gpt-4', 'jokes', 145, 87, 1200, 0.01, '2026-11-20 10:30:00.000');
INSERT INTO bot_metrics VALUES ('2026-11-20 10:30:15.000', 'old_bot', 4242, 55.5, 3.2, '{"llm": true}');
PRAGMA user_version = 1;`;

/** The layout KissBot's protocol document and the guide describe (never created by KissBot's code). */
export const GUIDE_SQL = `CREATE TABLE bot_status (channel TEXT PRIMARY KEY, pid INTEGER NOT NULL, status TEXT, features TEXT, registered_at TIMESTAMP, last_heartbeat TIMESTAMP);
CREATE TABLE llm_usage (id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, model TEXT NOT NULL, feature TEXT NOT NULL, tokens_in INTEGER, tokens_out INTEGER, latency_ms INTEGER, timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE bot_metrics (ts TIMESTAMP, channel TEXT, pid INTEGER, rss_mb REAL, cpu_pct REAL, features TEXT);
INSERT INTO bot_status VALUES ('old_bot', 4242, 'offline', '{"llm": true}', '2026-11-20 10:00:00', '2026-11-20 11:00:00');
INSERT INTO llm_usage (channel, model, feature, tokens_in, tokens_out, latency_ms, timestamp) VALUES ('old_bot', 'gpt-4', 'jokes', 145, 87, 1200, '2026-11-20 10:30:00');
INSERT INTO bot_metrics VALUES ('2026-11-20 10:30:15', 'old_bot', 4242, 55.5, 3.2, '{"llm": true}');`;

/** Runs SQL with Debian's sqlite3 command line. */
export function sqlite3Exec(path: string, sql: string): void {
  const r = spawnSync("sqlite3", [path], { input: sql, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
}

/**
 * Every way a kissbot_monitor.db may look when the bridge first opens it, with a row or more of
 * its own in each table that exists.
 */
export const STARTING_POINTS: Record<string, (path: string) => void> = {
  "a new file": () => {},
  "made by KissBot's Monitor": (p) => {
    kissbotDb("monitor-init", p);
    kissbotDb("monitor-write", p, "mon_bot");
  },
  "made by the bots' LLM logger": (p) => {
    kissbotDb("log-calls", p, "log_bot", "3");
  },
  "Monitor first, then the bots' logger (KissBot's own bug: no cost_usd)": (p) => {
    kissbotDb("monitor-init", p);
    kissbotDb("monitor-write", p, "mon_bot");
    kissbotDb("logger-init", p);
  },
  "the bots' logger first, then the Monitor": (p) => {
    kissbotDb("log-calls", p, "log_bot", "3");
    kissbotDb("monitor-init", p);
    kissbotDb("monitor-write", p, "mon_bot");
  },
  "the bridge's schema 1": (p) => sqlite3Exec(p, SCHEMA_1_SQL),
  "laid out as the guide describes": (p) => sqlite3Exec(p, GUIDE_SQL),
  "KissBot's, as schema 1 left it (bot_metrics.ts renamed, every write failing)": (p) => {
    kissbotDb("monitor-init", p);
    kissbotDb("monitor-write", p, "mon_bot");
    sqlite3Exec(
      p,
      `ALTER TABLE bot_status ADD COLUMN features TEXT; ALTER TABLE bot_status ADD COLUMN last_heartbeat TIMESTAMP; ALTER TABLE bot_status ADD COLUMN pid_start_time INTEGER;
ALTER TABLE llm_usage ADD COLUMN estimated_cost REAL; ALTER TABLE llm_usage ADD COLUMN timestamp TIMESTAMP;
ALTER TABLE bot_metrics RENAME COLUMN ts TO timestamp; ALTER TABLE bot_metrics ADD COLUMN features TEXT;
CREATE INDEX llm_usage_timestamp ON llm_usage(timestamp); PRAGMA user_version = 1;`,
    );
  },
};
