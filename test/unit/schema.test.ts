import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { openDatabase } from "../../src/db/database.js";
import { FOLLOW_POSITION_KEY, SCHEMA_VERSION } from "../../src/db/schema.js";
import { StoreWriter } from "../../src/store/write/store-writer.js";
import type { Bot } from "../../src/registry/bot.js";
import { RateLimitedLog } from "../../src/log/rate-limited-log.js";
import { createLogger } from "../../src/log/logger.js";
import { ManualClock } from "../../src/util/clock.js";
import { kissbotDb, kissbotQueries, kissbotQuery, STARTING_POINTS } from "../helpers/kissbot-db.js";

const tmp = () => mkdtempSync(join(tmpdir(), "kb-schema-"));

type Snapshot = Record<string, { columns: string[]; rows: number }>;

function snapshot(path: string): Snapshot {
  if (!existsSync(path)) return {};
  const db = new BetterSqlite3(path, { readonly: true });
  const out: Snapshot = {};
  for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]) {
    const columns = (db.prepare(`PRAGMA table_xinfo(${name})`).all() as { name: string }[]).map((c) => c.name);
    out[name] = { columns, rows: (db.prepare(`SELECT COUNT(*) AS n FROM ${name}`).get() as { n: number }).n };
  }
  db.close();
  return out;
}

const bot = (channel: string, now: number): Bot => ({
  channel,
  pid: 31337,
  features: { llm: true },
  registeredAt: now - 60_000,
  lastHeartbeatAt: now - 5_000,
  status: "online",
  visibility: "visible",
  generation: 1,
  startTime: 99,
  cpuSeconds: 1,
  cpuSampledAt: now,
  cpuRatio: 0.05,
  rssBytes: 40 * 1024 * 1024,
  staleGraceUntil: 0,
  selfReportedRssBytes: null,
  selfReportedCpuRatio: null,
});

for (const [name, make] of Object.entries(STARTING_POINTS)) {
  test(`a database ${name}: opened and migrated; the bridge's writes and KissBot's both succeed; every documented query reads them`, async () => {
    const path = join(tmp(), "kissbot_monitor.db");
    make(path);
    const before = snapshot(path);

    const { db, migration } = openDatabase(path);
    assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    db.close();
    const after = snapshot(path);
    for (const [table, t] of Object.entries(before)) {
      assert.equal(after[table]!.rows, t.rows, `${table}: no row lost`);
      for (const c of t.columns) assert.ok(after[table]!.columns.includes(c), `${table}.${c} is still there`);
    }
    const kissbotUsage = before["llm_usage"]?.columns.includes("ts") === true;
    assert.equal(migration.repairedCostColumn, kissbotUsage && !before["llm_usage"]!.columns.includes("cost_usd"), "KissBot's llm_usage without cost_usd is repaired");

    // The bridge writes each table, through its writer thread.
    const clock = new ManualClock(Date.now());
    const writer = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, new RateLimitedLog(createLogger("silent"), clock), clock);
    await writer.open();
    writer.botState(bot("bridge_bot", clock.now()));
    writer.sample(bot("bridge_bot", clock.now()), 40 * 1024 * 1024, 0.05);
    writer.llmUsage({ type: "llm_usage", channel: "bridge_bot", model: "gpt-4o", feature: "socket", tokensIn: 7, tokensOut: 3, latencyMs: 150, estimatedCostUsd: null, operation: null, costUsd: 0.00005, costSource: "computed" });
    await writer.flush();
    assert.deepEqual([...writer.errors.entries()].filter(([, n]) => n > 0), [], "no write of the bridge failed");
    assert.deepEqual([...writer.written.entries()], [["bot_status", 1], ["llm_usage", 1], ["bot_metrics", 1], ["bot_record", 0]]);

    // KissBot's own writers, beside the bridge (its writer thread holds the file open).
    assert.deepEqual(kissbotDb("monitor-write", path, "kissbot_mon"), { ok: true }, "the Monitor's inserts");
    assert.deepEqual(kissbotDb("log-calls", path, "kissbot_bot", "2"), { ok: true }, "the bots' logger's inserts");
    await writer.close();

    // KissBot's queries (its column names), then the guide's and this README's (the other names),
    // all read by Python's sqlite3 in one process.
    const [kStatus, kUsage, kMetrics, gStatus, gUsage, recent, gHeartbeats, gMetrics] = kissbotQueries(path, [
      "SELECT channel, status, features_json, last_seen FROM bot_status ORDER BY channel",
      "SELECT channel, cost_usd FROM llm_usage WHERE ts > datetime('now', '-30 days')",
      "SELECT ts, features_json FROM bot_metrics WHERE channel = 'bridge_bot'",
      "SELECT * FROM bot_status;",
      "SELECT * FROM llm_usage ORDER BY timestamp DESC;",
      // SQLite's datetime() compares with `timestamp` correctly: the fixtures' rows of 2026-11-20 are not recent.
      "SELECT SUM(ts LIKE '2026-11-20%') AS old, COUNT(*) AS n FROM llm_usage WHERE timestamp > datetime('now', '-5 minutes')",
      "SELECT channel, status, last_heartbeat FROM bot_status",
      "SELECT timestamp, rss_mb FROM bot_metrics WHERE channel = 'bridge_bot'",
    ]);
    assert.ok(kStatus.some((r) => r["channel"] === "bridge_bot" && r["features_json"] === '{"llm":true}' && r["status"] === "online"));
    assert.ok(kStatus.some((r) => r["channel"] === "kissbot_mon"));
    assert.ok(kUsage.some((r) => r["channel"] === "bridge_bot" && r["cost_usd"] === 0.00005));
    assert.equal(kUsage.filter((r) => r["channel"] === "kissbot_bot").length, 2);
    assert.equal(kMetrics.length, 1);

    const bridgeRow = gStatus.find((r) => r["channel"] === "bridge_bot")!;
    assert.equal(bridgeRow["features"], '{"llm":true}');
    assert.match(String(bridgeRow["last_heartbeat"]), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    assert.ok(gUsage.some((r) => r["channel"] === "bridge_bot" && r["estimated_cost"] === 0.00005));
    assert.equal(gUsage.filter((r) => r["channel"] === "kissbot_bot").length, 2);
    assert.ok(String(gUsage[0]!["timestamp"]) >= String(gUsage[gUsage.length - 1]!["timestamp"]), "newest first");
    assert.equal(recent[0]!["old"], 0);
    assert.ok(Number(recent[0]!["n"]) >= 3);
    assert.ok(gHeartbeats.length >= 2);
    assert.equal(gMetrics.length, 1);

    // Opening again changes nothing.
    const again = openDatabase(path);
    assert.deepEqual([again.migration.created, again.migration.rebuilt, again.migration.added], [[], [], []]);
    again.db.close();
  });
}

test("a newer KissBot's tables, with NOT NULL columns the bridge does not know: the bridge's writes give them empty values and succeed", async () => {
  const model = join(tmp(), "model.db");
  openDatabase(model).db.close();
  const m = new BetterSqlite3(model, { readonly: true });
  const creates = m.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN ('bot_status', 'llm_usage', 'bot_metrics')").pluck().all() as string[];
  m.close();
  const path = join(tmp(), "kissbot_monitor.db");
  const d = new BetterSqlite3(path);
  for (const sql of creates) d.exec(sql.replace(/\)\s*$/, ", region TEXT NOT NULL, shard INTEGER NOT NULL)"));
  d.close();

  const clock = new ManualClock(Date.now());
  const writer = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, new RateLimitedLog(createLogger("silent"), clock), clock);
  await writer.open();
  writer.botState(bot("bridge_bot", clock.now()));
  writer.sample(bot("bridge_bot", clock.now()), 40 * 1024 * 1024, 0.05);
  for (let i = 1; i <= 3; i++) writer.llmUsage({ type: "llm_usage", channel: "bridge_bot", model: "gpt-4o", feature: "socket", tokensIn: i, tokensOut: 3, latencyMs: 150, estimatedCostUsd: null, operation: null, costUsd: null, costSource: null });
  await writer.flush();
  await writer.close();
  assert.deepEqual([...writer.errors.entries()].filter(([, n]) => n > 0), [], "no write of the bridge failed");
  assert.deepEqual([...writer.written.entries()], [["bot_status", 1], ["llm_usage", 3], ["bot_metrics", 1], ["bot_record", 0]]);
  for (const table of ["bot_status", "llm_usage", "bot_metrics"]) {
    assert.deepEqual(kissbotQuery(path, `SELECT DISTINCT region, shard FROM ${table} WHERE channel = 'bridge_bot'`), [{ region: "", shard: 0 }], table);
  }
  assert.deepEqual(kissbotQuery(path, "SELECT tokens_in FROM llm_usage ORDER BY id").map((r) => r["tokens_in"]), [1, 2, 3]);
});

test("rows already in llm_usage when the bridge first meets a file are history: the follow position starts after them", () => {
  const path = join(tmp(), "kissbot_monitor.db");
  kissbotDb("log-calls", path, "log_bot", "5");
  const { db } = openDatabase(path);
  assert.equal(db.prepare("SELECT value FROM bridge_state WHERE key = ?").pluck().get(FOLLOW_POSITION_KEY), 5);
  db.close();
});

test("a schema-1 file's rows keep their values under both names, times in KissBot's form", () => {
  const path = join(tmp(), "kissbot_monitor.db");
  STARTING_POINTS["the bridge's schema 1"]!(path);
  const { db } = openDatabase(path);
  assert.deepEqual(db.prepare("SELECT ts, timestamp, cost_usd, estimated_cost, tokens_in FROM llm_usage").get(), {
    ts: "2026-11-20T10:30:00.000000+00:00",
    timestamp: "2026-11-20 10:30:00.000",
    cost_usd: 0.01,
    estimated_cost: 0.01,
    tokens_in: 145,
  });
  assert.deepEqual(db.prepare("SELECT features_json, features, registered_at, last_seen, last_heartbeat, pid_start_time FROM bot_status").get(), {
    features_json: '{"llm": true}',
    features: '{"llm": true}',
    registered_at: "2026-11-20T10:00:00.000000+00:00",
    last_seen: "2026-11-20T11:00:00.000000+00:00",
    last_heartbeat: "2026-11-20 11:00:00.000",
    pid_start_time: 777,
  });
  db.close();
});

test("a database from a newer bridge is refused, not damaged", () => {
  const path = join(tmp(), "future.db");
  const db = new BetterSqlite3(path);
  db.pragma("user_version = 99");
  db.close();
  assert.throws(() => openDatabase(path), /schema version 99 is newer/);
});
