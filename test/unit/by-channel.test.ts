import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3, { type Database } from "better-sqlite3";
import { openDatabase } from "../../src/db/database.js";
import { usageByDayFromDatabase, usageFromDatabase } from "../../src/store/read/queries.js";
import { idRangeFromDatabase, ID_RANGE_SQL } from "../../src/spend/spend-queries.js";
import { StoreWriter } from "../../src/store/write/store-writer.js";
import { RateLimitedLog } from "../../src/log/rate-limited-log.js";
import { createLogger } from "../../src/log/logger.js";
import { ManualClock } from "../../src/util/clock.js";
import { DELETE_LLM_USAGE_BEFORE } from "../../src/db/by-channel.js";

const tmpDb = () => join(mkdtempSync(join(tmpdir(), "kb-by-channel-")), "kissbot_monitor.db");
const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "000+00:00");
const NOW = Date.parse("2026-11-26T12:00:00Z");

/** 3,000 calls of 40 channels over 30 days, in an order unrelated to their times (as bots' own rows and late commits come). */
function filled(path: string): Database {
  const { db } = openDatabase(path);
  const insert = db.prepare("INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, latency_ms, cost_usd) VALUES (?, ?, ?, 'ask', ?, 5, ?, 0.01)");
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) insert.run(iso(NOW - Math.floor(next() * 30 * 86_400_000)), `chan_${i % 40}`, i % 3 ? "gpt-4o" : "mistral", 10 + (i % 17), 100 + (i % 900));
  })();
  return db;
}

const plan = (db: Database, sql: string, ...args: unknown[]) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).join("; ");

test("llm_usage keeps KissBot's (channel, ts) index and no index on ts of its own: one b-tree less for every insert", () => {
  const { db } = openDatabase(tmpDb());
  const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'llm_usage' AND sql IS NOT NULL ORDER BY name").pluck().all();
  assert.deepEqual(indexes, ["idx_llm_usage_channel_ts"]);
  db.close();
});

test("a file from an earlier bridge loses its ts index, keeps an index of the user's own, and stays readable by that bridge", () => {
  const path = tmpDb();
  openDatabase(path).db.close();
  const old = new BetterSqlite3(path);
  old.exec("CREATE INDEX llm_usage_ts ON llm_usage(ts); CREATE INDEX my_own_ts ON llm_usage(ts, model); PRAGMA user_version = 2");
  old.close();
  const { db } = openDatabase(path);
  assert.equal(db.pragma("user_version", { simple: true }), 2, "the schema version is unchanged: the earlier bridge still opens the file");
  const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'llm_usage' AND sql IS NOT NULL ORDER BY name").pluck().all();
  assert.deepEqual(indexes, ["idx_llm_usage_channel_ts", "my_own_ts"]);
  db.close();
});

test("time ranges across channels read the same rows as a walk of the table, channel by channel through KissBot's index", () => {
  const db = filled(tmpDb());
  // What SQL says without the bridge's queries: a plain walk of the table.
  const walk = (sql: string, ...args: unknown[]) => db.prepare(sql).all(...args) as Record<string, unknown>[];
  for (const days of [0.5, 3, 29]) {
    const since = NOW - days * 86_400_000;
    const expected = walk("SELECT model AS key, COUNT(*) AS calls, SUM(tokens_in) AS tokens_in FROM llm_usage NOT INDEXED WHERE ts >= ? GROUP BY model ORDER BY model", iso(since));
    const got = usageFromDatabase(db, since, "model").map((u) => ({ key: u.key, calls: u.calls, tokens_in: u.tokens_in })).sort((a, b) => a.key.localeCompare(b.key));
    assert.deepEqual(got, expected, `usage since ${days} days`);
    const first = walk("SELECT MIN(id) AS first FROM llm_usage NOT INDEXED WHERE ts >= ?", iso(since))[0]!["first"] as number;
    assert.deepEqual(idRangeFromDatabase(db, { sinceMs: since }), { afterId: first - 1, maxId: 3000 });
  }
  const byDay = usageByDayFromDatabase(db, NOW - 6 * 86_400_000, NOW, "UTC");
  const expectedDays = walk("SELECT substr(ts, 1, 10) AS key, COUNT(*) AS calls FROM llm_usage NOT INDEXED WHERE ts >= ? GROUP BY 1 ORDER BY 1", iso(Date.parse("2026-11-20T00:00:00Z")));
  assert.deepEqual(byDay.map((d) => ({ key: d.key, calls: d.calls })), expectedDays);
  assert.deepEqual(idRangeFromDatabase(db, { sinceMs: NOW + 1 }), { afterId: 3000, maxId: 3000 }, "nothing since: an empty range");
  db.close();
});

/** The statements `read` runs on `db`, each with its arguments. */
function statementsOf(db: Database, read: () => void): { sql: string; args: unknown[] }[] {
  const seen: { sql: string; args: unknown[] }[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const statement = prepare(sql);
    const all = statement.all.bind(statement);
    statement.all = ((...args: unknown[]) => (seen.push({ sql, args }), all(...args))) as typeof statement.all;
    return statement;
  }) as typeof db.prepare;
  try {
    read();
  } finally {
    db.prepare = prepare;
  }
  return seen;
}

test("no time-range read walks llm_usage: each channel's range is one seek of KissBot's index", () => {
  const db = filled(tmpDb());
  const since = NOW - 86_400_000;
  const reads = statementsOf(db, () => {
    usageFromDatabase(db, since, "channel");
    usageByDayFromDatabase(db, since, NOW, "Europe/Paris");
  });
  assert.equal(reads.length, 2);
  const plans = [
    ...reads.map((r) => plan(db, r.sql, ...r.args)),
    plan(db, ID_RANGE_SQL, "t"),
    plan(db, DELETE_LLM_USAGE_BEFORE, "t"),
  ];
  for (const p of plans) {
    assert.match(p, /SEARCH llm_usage USING (COVERING )?INDEX idx_llm_usage_channel_ts \(channel=\? AND ts[<>]\?( AND ts<\?)?\)/, p);
    assert.doesNotMatch(p, /SCAN llm_usage/, p);
  }
  db.close();
});

test("usage retention deletes the old rows of every channel and no other", async () => {
  const path = tmpDb();
  const db = filled(path);
  const cutoff = iso(NOW - 10 * 86_400_000);
  const keep = db.prepare("SELECT COUNT(*) FROM llm_usage WHERE ts >= ?").pluck().get(cutoff) as number;
  db.close();
  const clock = new ManualClock(NOW);
  const w = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: 10 }, new RateLimitedLog(createLogger("silent"), clock), clock);
  await w.flush();
  await w.close();
  const after = new BetterSqlite3(path, { readonly: true });
  assert.equal(after.prepare("SELECT COUNT(*) FROM llm_usage").pluck().get(), keep);
  assert.equal(after.prepare("SELECT COUNT(*) FROM llm_usage WHERE ts < ?").pluck().get(cutoff), 0);
  after.close();
});
