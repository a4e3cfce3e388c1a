import type { Database } from "better-sqlite3";

/** Bumped by every change to the schema below, with a step in `migrate`. */
export const SCHEMA_VERSION = 1;

/**
 * The original Monitor's tables, so its users' SQL keeps working (`SELECT * FROM bot_status;`,
 * `SELECT * FROM llm_usage ORDER BY timestamp DESC;`), with additions:
 * bot_status.status may also be `dead`; bot_status.pid_start_time tells a reused PID from the
 * registered process after a restart; llm_usage.estimated_cost.
 */
const TABLES: Record<string, { create: string; columns: Record<string, string> }> = {
  bot_status: {
    create: `CREATE TABLE bot_status (
      channel TEXT PRIMARY KEY,
      pid INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'online',
      features TEXT,
      registered_at TIMESTAMP,
      last_heartbeat TIMESTAMP,
      pid_start_time INTEGER
    )`,
    columns: { features: "TEXT", registered_at: "TIMESTAMP", last_heartbeat: "TIMESTAMP", pid_start_time: "INTEGER" },
  },
  llm_usage: {
    create: `CREATE TABLE llm_usage (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      channel TEXT NOT NULL,
      model TEXT NOT NULL,
      feature TEXT NOT NULL,
      tokens_in INTEGER,
      tokens_out INTEGER,
      latency_ms INTEGER,
      estimated_cost REAL,
      timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )`,
    columns: { latency_ms: "INTEGER", estimated_cost: "REAL", timestamp: "TIMESTAMP" },
  },
  bot_metrics: {
    create: `CREATE TABLE bot_metrics (
      timestamp TIMESTAMP NOT NULL,
      channel TEXT NOT NULL,
      pid INTEGER NOT NULL,
      rss_mb REAL,
      cpu_pct REAL,
      features TEXT
    )`,
    columns: { rss_mb: "REAL", cpu_pct: "REAL", features: "TEXT" },
  },
};

const INDEXES = [
  "CREATE INDEX IF NOT EXISTS llm_usage_timestamp ON llm_usage(timestamp)",
  "CREATE INDEX IF NOT EXISTS bot_metrics_timestamp ON bot_metrics(timestamp)",
  "CREATE INDEX IF NOT EXISTS bot_metrics_channel_timestamp ON bot_metrics(channel, timestamp)",
];

function columnsOf(db: Database, table: string): Set<string> {
  return new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
}

/**
 * Brings any database to the current schema: a new file, one of ours from an older version, or
 * one the original Python Monitor wrote (user_version 0, its own column names). Never drops data.
 */
export function migrate(db: Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`database schema version ${version} is newer than this bridge's (${SCHEMA_VERSION}); upgrade the bridge`);
  }
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (const [table, def] of Object.entries(TABLES)) {
      const existing = columnsOf(db, table);
      if (existing.size === 0) {
        db.exec(def.create);
        continue;
      }
      // The original Monitor's bot_metrics called its time column `ts`.
      if (table === "bot_metrics" && existing.has("ts") && !existing.has("timestamp")) {
        db.exec("ALTER TABLE bot_metrics RENAME COLUMN ts TO timestamp");
        existing.add("timestamp");
      }
      for (const [column, type] of Object.entries(def.columns)) {
        if (!existing.has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
      }
      if (table === "bot_metrics" && !existing.has("timestamp")) db.exec("ALTER TABLE bot_metrics ADD COLUMN timestamp TIMESTAMP");
    }
    for (const sql of INDEXES) db.exec(sql);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
