import type { Database } from "better-sqlite3";

/**
 * Bumped by every change to the tables below. Kept in `PRAGMA user_version`. Indexes do not
 * bump it: an older bridge makes the ones it wants again, and a newer one drops them.
 */
export const SCHEMA_VERSION = 2;

/** Where the follower of the bots' own llm_usage rows has read up to (see follow/). */
export const FOLLOW_POSITION_KEY = "llm_usage_followed_id";

/** notify_state's key for the notifier's incidents and waiting messages (notify/notifier.ts). */
export const NOTIFY_STATE_KEY = "notifier";

/**
 * Tables of the bridge's own, outside KissBot's schema: created when missing, never rebuilt.
 * bot_snoozes is written by `kissbot-bridge snooze` (another process) and read by the bridge.
 * bot_record and bridge_runs are the record availability is computed from (record/).
 */
export const BRIDGE_TABLES = [
  "CREATE TABLE IF NOT EXISTS bridge_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
  "CREATE TABLE IF NOT EXISTS notify_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS bot_snoozes (channel TEXT PRIMARY KEY, until_ms INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '', set_at_ms INTEGER NOT NULL)",
  // The record (record/): every bot's state changes and snoozes, and when a bridge was running.
  "CREATE TABLE IF NOT EXISTS bot_record (channel TEXT NOT NULL, kind TEXT NOT NULL, at_ms INTEGER NOT NULL, state TEXT NOT NULL, cause TEXT, changes INTEGER NOT NULL DEFAULT 1, until_ms INTEGER, PRIMARY KEY (channel, kind, at_ms)) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS bridge_runs (started_ms INTEGER PRIMARY KEY, mark_ms INTEGER NOT NULL, ended_ms INTEGER)",
];

/**
 * A column the bridge writes or reads. `from` lists older names whose values it takes over when a
 * table is rebuilt; `time` columns are rewritten to KissBot's ISO format on the way.
 */
type RealColumn = { name: string; decl: string; from?: string[]; fill?: string; time?: true };
/** A read-only alias (a virtual generated column), so queries written for either naming work. */
type Alias = { name: string; decl: string };
type TableSpec = { real: RealColumn[]; aliases: Alias[] };

const NORMALISED = (column: string) => `strftime('%Y-%m-%d %H:%M:%f', ${column})`;
const NOW_ISO = "strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')";

/**
 * The tables as KissBot itself creates them (its Monitor and its bots' LLM logger, see
 * shared/REAL_KISSBOT.md): same columns, same NOT NULL constraints, so each of KissBot's writers
 * keeps working whichever side created the file. The names the guide and this README use
 * (`timestamp`, `features`, `last_heartbeat`, `estimated_cost`) are generated columns over
 * KissBot's, so both sets of queries read the same rows; `timestamp` and `last_heartbeat` read
 * as "YYYY-MM-DD HH:MM:SS.SSS" UTC, which SQLite's datetime() compares correctly.
 * Added by the bridge: bot_status.pid_start_time (the process's identity across a restart),
 * llm_usage.source ('socket' for rows the bridge wrote from socket messages; NULL for rows a bot
 * wrote itself) and llm_usage.cost_source ('reported' or 'computed' by the bridge's price table).
 */
export const TABLES: Record<"bot_status" | "bot_metrics" | "llm_usage", TableSpec> = {
  bot_status: {
    real: [
      { name: "channel", decl: "TEXT PRIMARY KEY" },
      { name: "pid", decl: "INTEGER NOT NULL", fill: "0" },
      { name: "status", decl: "TEXT NOT NULL", fill: "'offline'" },
      { name: "features_json", decl: "TEXT NOT NULL", from: ["features"], fill: "'{}'" },
      { name: "registered_at", decl: "TEXT NOT NULL", from: ["last_seen", "last_heartbeat"], fill: NOW_ISO, time: true },
      { name: "last_seen", decl: "TEXT NOT NULL", from: ["last_heartbeat", "registered_at"], fill: NOW_ISO, time: true },
      { name: "pid_start_time", decl: "INTEGER" },
    ],
    aliases: [
      { name: "features", decl: "TEXT GENERATED ALWAYS AS (features_json) VIRTUAL" },
      { name: "last_heartbeat", decl: `TEXT GENERATED ALWAYS AS (${NORMALISED("last_seen")}) VIRTUAL` },
    ],
  },
  bot_metrics: {
    real: [
      { name: "id", decl: "INTEGER PRIMARY KEY AUTOINCREMENT" },
      { name: "ts", decl: "TEXT NOT NULL", from: ["timestamp"], fill: NOW_ISO, time: true },
      { name: "channel", decl: "TEXT NOT NULL", fill: "''" },
      { name: "pid", decl: "INTEGER NOT NULL", fill: "0" },
      { name: "rss_mb", decl: "REAL NOT NULL", fill: "0" },
      { name: "cpu_pct", decl: "REAL NOT NULL", fill: "0" },
      { name: "features_json", decl: "TEXT NOT NULL", from: ["features"], fill: "'{}'" },
    ],
    aliases: [
      { name: "timestamp", decl: `TEXT GENERATED ALWAYS AS (${NORMALISED("ts")}) VIRTUAL` },
      { name: "features", decl: "TEXT GENERATED ALWAYS AS (features_json) VIRTUAL" },
    ],
  },
  llm_usage: {
    real: [
      { name: "id", decl: "INTEGER PRIMARY KEY AUTOINCREMENT" },
      { name: "ts", decl: "TEXT NOT NULL", from: ["timestamp"], fill: NOW_ISO, time: true },
      { name: "channel", decl: "TEXT NOT NULL", fill: "''" },
      { name: "model", decl: "TEXT NOT NULL", fill: "''" },
      { name: "feature", decl: "TEXT NOT NULL", fill: "''" },
      { name: "tokens_in", decl: "INTEGER NOT NULL", fill: "0" },
      { name: "tokens_out", decl: "INTEGER NOT NULL", fill: "0" },
      { name: "latency_ms", decl: "REAL" },
      { name: "cost_usd", decl: "REAL", from: ["estimated_cost"] },
      { name: "source", decl: "TEXT" },
      { name: "cost_source", decl: "TEXT" },
    ],
    aliases: [
      { name: "timestamp", decl: `TEXT GENERATED ALWAYS AS (${NORMALISED("ts")}) VIRTUAL` },
      { name: "estimated_cost", decl: "REAL GENERATED ALWAYS AS (cost_usd) VIRTUAL" },
    ],
  },
};

/**
 * Indexes, named as KissBot names its own where they are the same, so neither side builds a
 * duplicate. Indexes of schema 1 on `timestamp` go: that name is a generated column now. The
 * bridge's earlier `llm_usage_ts` goes too: it cost every insert (the bots' as well) a b-tree
 * more, for reads that KissBot's `(channel, ts)` index serves (see by-channel.ts).
 */
const INDEXES = [
  "CREATE INDEX IF NOT EXISTS idx_llm_usage_channel_ts ON llm_usage(channel, ts)",
  "CREATE INDEX IF NOT EXISTS idx_bot_metrics_channel_ts ON bot_metrics(channel, ts)",
  "CREATE INDEX IF NOT EXISTS bot_metrics_ts ON bot_metrics(ts)",
];
const SCHEMA_1_INDEXES = ["llm_usage_timestamp", "bot_metrics_timestamp", "bot_metrics_channel_timestamp"];
const RETIRED_INDEXES = ["llm_usage_ts"];

type ColumnInfo = { name: string; type: string; notnull: number; dflt_value: unknown; pk: number; hidden: number };

export function columnsOf(db: Database, table: string): ColumnInfo[] {
  return db.prepare(`PRAGMA table_xinfo(${table})`).all() as ColumnInfo[];
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A time column's value in KissBot's format: ISO 8601 with a T, microseconds and +00:00. */
function isoTime(expr: string): string {
  return `CASE WHEN ${expr} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*' THEN ${expr} ELSE strftime('%Y-%m-%dT%H:%M:%f000+00:00', ${expr}) END`;
}

/** What opening the database changed, for the log. */
export interface MigrationReport {
  from: number;
  created: string[];
  rebuilt: string[];
  added: string[];
  /** KissBot's own bug: an llm_usage without cost_usd, which makes its bots' inserts fail. */
  repairedCostColumn: boolean;
}

function createTable(db: Database, table: string, spec: TableSpec): void {
  const cols = [...spec.real.map((c) => `${c.name} ${c.decl}`), ...spec.aliases.map((a) => `${a.name} ${a.decl}`)];
  db.exec(`CREATE TABLE ${table} (\n  ${cols.join(",\n  ")}\n)`);
}

/**
 * Rebuilds a table into the current form when a name the bridge needs as a writable column is a
 * real column under another name (schema 1 stored `timestamp`, `features`, `last_heartbeat`,
 * `estimated_cost`). Every row and every column is kept: the old names become generated
 * columns, unknown columns are carried over as they were.
 */
function rebuild(db: Database, table: string, spec: TableSpec, existing: ColumnInfo[]): void {
  const have = new Set(existing.filter((c) => c.hidden === 0).map((c) => c.name));
  const known = new Set([...spec.real.map((c) => c.name), ...spec.aliases.map((a) => a.name), ...spec.real.flatMap((c) => c.from ?? [])]);
  const extra = existing.filter((c) => c.hidden === 0 && !known.has(c.name));
  const indexes = (db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table) as { name: string; sql: string }[]).filter(
    (i) => !SCHEMA_1_INDEXES.includes(i.name) && !RETIRED_INDEXES.includes(i.name),
  );
  const tmp = `${table}_rebuild_v${SCHEMA_VERSION}`;
  const cols = [...spec.real.map((c) => `${c.name} ${c.decl}`), ...extra.map((c) => `${quote(c.name)} ${c.type}`), ...spec.aliases.map((a) => `${a.name} ${a.decl}`)];
  db.exec(`DROP TABLE IF EXISTS ${tmp}`);
  db.exec(`CREATE TABLE ${tmp} (\n  ${cols.join(",\n  ")}\n)`);
  const values = spec.real.map((c) => {
    const sources = [c.name, ...(c.from ?? [])].filter((n) => have.has(n)).map((n) => (c.time ? isoTime(n) : n));
    if (c.fill !== undefined) sources.push(c.fill);
    if (sources.length === 0) return "NULL";
    return sources.length === 1 ? sources[0]! : `COALESCE(${sources.join(", ")})`;
  });
  const targets = [...spec.real.map((c) => c.name), ...extra.map((c) => quote(c.name))];
  values.push(...extra.map((c) => quote(c.name)));
  db.exec(`INSERT INTO ${tmp} (${targets.join(", ")}) SELECT ${values.join(", ")} FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`ALTER TABLE ${tmp} RENAME TO ${table}`);
  for (const i of indexes) db.exec(i.sql);
}

/** True when the table must be rebuilt rather than extended (see rebuild). */
function needsRebuild(spec: TableSpec, existing: ColumnInfo[]): boolean {
  const real = new Set(existing.filter((c) => c.hidden === 0).map((c) => c.name));
  const names = new Set(existing.map((c) => c.name));
  if (spec.aliases.some((a) => real.has(a.name))) return true;
  return spec.real.some((c) => !names.has(c.name) && (c.from ?? []).some((f) => real.has(f)));
}

/**
 * Brings any kissbot_monitor.db to the current schema, in one transaction: a new file; one made
 * by KissBot's Monitor, by its bots' LLM logger, or both, in either order; one of the bridge's
 * schema 1; one laid out as the guide describes. No column is renamed or dropped, no row lost.
 * Safe to run on every start: a database already current is only checked.
 */
export function migrate(db: Database): MigrationReport {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`database schema version ${version} is newer than this bridge's (${SCHEMA_VERSION}); upgrade the bridge`);
  }
  const report: MigrationReport = { from: version, created: [], rebuilt: [], added: [], repairedCostColumn: false };
  db.transaction(() => {
    for (const [table, spec] of Object.entries(TABLES)) {
      const existing = columnsOf(db, table);
      if (existing.length === 0) {
        createTable(db, table, spec);
        report.created.push(table);
        continue;
      }
      const names = new Set(existing.map((c) => c.name));
      if (table === "llm_usage" && names.has("ts") && !names.has("cost_usd")) report.repairedCostColumn = true;
      if (needsRebuild(spec, existing)) {
        rebuild(db, table, spec, existing);
        report.rebuilt.push(table);
        continue;
      }
      for (const c of spec.real) {
        if (names.has(c.name)) continue;
        // ALTER TABLE cannot add a NOT NULL column without a default: added columns are nullable.
        db.exec(`ALTER TABLE ${table} ADD COLUMN ${c.name} ${c.decl.replace(/ NOT NULL| PRIMARY KEY.*$/g, "")}`);
        report.added.push(`${table}.${c.name}`);
      }
      for (const a of spec.aliases) {
        if (names.has(a.name)) continue;
        db.exec(`ALTER TABLE ${table} ADD COLUMN ${a.name} ${a.decl}`);
        report.added.push(`${table}.${a.name}`);
      }
    }
    for (const name of [...SCHEMA_1_INDEXES, ...RETIRED_INDEXES]) db.exec(`DROP INDEX IF EXISTS ${name}`);
    for (const sql of INDEXES) db.exec(sql);
    for (const sql of BRIDGE_TABLES) db.exec(sql);
    // Rows already in llm_usage when the bridge first meets the file are history, not new calls.
    db.prepare("INSERT OR IGNORE INTO bridge_state (key, value) SELECT ?, COALESCE(MAX(id), 0) FROM llm_usage").run(FOLLOW_POSITION_KEY);
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
  return report;
}
