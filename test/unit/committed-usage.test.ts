import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "better-sqlite3";
import { openDatabase } from "../../src/db/database.js";
import { StoreWriter } from "../../src/store/write/store-writer.js";
import { idRangeFromDatabase, latencyFromDatabase, spendFromDatabase } from "../../src/spend/spend-queries.js";
import type { LatencyCell } from "../../src/spend/spend-cells.js";
import { usageFromDatabase } from "../../src/store/read/queries.js";
import type { CommittedUsage } from "../../src/spend/spend-cells.js";
import { SpendWatch, type SpendSource } from "../../src/spend/spend-watch.js";
import { RateLimitedLog } from "../../src/log/rate-limited-log.js";
import { createLogger } from "../../src/log/logger.js";
import { ManualClock } from "../../src/util/clock.js";
import type { PricedLlmUsage } from "../../src/pricing/price-table.js";

const NOW = Date.parse("2026-11-26T15:59:58Z");
const tmpDb = () => join(mkdtempSync(join(tmpdir(), "kb-committed-")), "kissbot_monitor.db");

function writer(path: string, clock: ManualClock): StoreWriter {
  return new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, new RateLimitedLog(createLogger("silent"), clock), clock);
}

const call = (i: number): PricedLlmUsage => ({
  type: "llm_usage",
  channel: `chan_${i % 4}`,
  model: i % 3 ? "gpt-4o" : "mistral",
  feature: i % 2 ? "ask" : "joke",
  tokensIn: 10 + (i % 7),
  tokensOut: 3,
  latencyMs: i % 5 ? 100 + (i % 400) : null,
  estimatedCostUsd: null,
  operation: null,
  costUsd: i % 6 ? 0.001 * (i % 11) : null,
  costSource: i % 6 ? "computed" : null,
});

/** A bot's own row, written straight into the file (KissBot's logger), as of `ms`. */
function botRow(db: Database, ms: number, i: number): void {
  db.prepare("INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, latency_ms, cost_usd) VALUES (?, ?, 'gpt-4o', 'bot', 20, 5, ?, 0.002)").run(
    new Date(ms).toISOString().replace("Z", "000+00:00"),
    `chan_${i % 4}`,
    200 + i,
  );
}

const sortCells = <T extends unknown[]>(cells: T[]) => [...cells].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

test("the writer thread's sums of a commit are SQL's over the rows it inserted: by minute, spend and latency", async () => {
  const path = tmpDb();
  const clock = new ManualClock(NOW);
  const w = writer(path, clock);
  const commits: CommittedUsage[] = [];
  w.observeCommittedUsage({ committed: (u) => commits.push(u) });
  for (let i = 0; i < 600; i++) {
    if (i === 300) clock.advance(5_000); // into the next minute
    w.llmUsage(call(i));
  }
  await w.flush();
  await w.close();
  assert.equal(commits.length, 1);
  const [u] = commits as [CommittedUsage];
  const { db } = openDatabase(path);
  assert.deepEqual([u.firstId, u.lastId], [1, 600]);
  const spend = db
    .prepare(
      "SELECT replace(substr(ts, 1, 16), ' ', 'T'), channel, model, feature, COUNT(*), SUM(cost_usd), SUM(tokens_in + tokens_out) FROM llm_usage WHERE id BETWEEN ? AND ? GROUP BY 1, 2, 3, 4",
    )
    .raw(true)
    .all(u.firstId, u.lastId) as unknown[][];
  const near = (a: unknown[][], b: unknown[][]) => a.map((r, i) => r.map((v, j) => (typeof v === "number" && typeof b[i]![j] === "number" ? Math.round(v * 1e9) : v)));
  assert.deepEqual(near(sortCells(u.spend), sortCells(spend)), near(sortCells(spend), sortCells(u.spend)));
  assert.equal(u.spend.length, spend.length);
  const latency: LatencyCell[] = latencyFromDatabase(db, { sinceMs: 0, afterId: 0 }).cells;
  assert.deepEqual(near(sortCells(u.latency), sortCells(latency)), near(sortCells(latency), sortCells(u.latency)));
  assert.equal(u.latency.length, latency.length);
  db.close();
});

test("spend and latency take the bridge's rows from its commits and the bots' from reads: SQL's sums, whatever lands while a full read runs", async (t) => {
  const path = tmpDb();
  const clock = new ManualClock(NOW);
  const { db } = openDatabase(path);
  t.after(() => db.close());
  for (let i = 0; i < 50; i++) botRow(db, NOW - 3_000_000 + i * 1000, i); // history: read by the first full read
  const w = writer(path, clock);
  t.after(() => w.close());
  await w.open();
  for (let i = 0; i < 200; i++) w.llmUsage(call(i));
  await w.flush();

  let during = 0;
  const plain: SpendSource = {
    spend: async (a) => spendFromDatabase(db, a),
    idRange: async (a) => idRangeFromDatabase(db, a),
    latency: async (a) => latencyFromDatabase(db, a),
  };
  // Between the chunks of each full read, the bridge commits and a bot writes.
  const between = async () => {
    for (let i = 0; i < 40; i++) w.llmUsage(call(1000 + during * 40 + i));
    botRow(db, clock.now(), during);
    during++;
    await w.flush();
  };
  const source: SpendSource = {
    spend: async (a) => {
      const r = spendFromDatabase(db, a);
      if (a.upToId !== undefined) await between();
      return r;
    },
    idRange: plain.idRange,
    latency: async (a) => {
      const r = latencyFromDatabase(db, a);
      if (a.upToId !== undefined) await between();
      return r;
    },
  };
  const watch = new SpendWatch(source, clock, "Europe/Paris", 5000, 60);
  w.observeCommittedUsage(watch);
  await watch.refresh();
  assert.ok(during >= 4, `commits landed during the full reads (${during})`);
  // After them: more of both, read and committed the ordinary way.
  for (let i = 0; i < 100; i++) w.llmUsage(call(5000 + i));
  botRow(db, clock.now(), 99);
  await w.flush();
  const sameAsSql = (when: string) => {
    const sql = db
      .prepare("SELECT channel, COUNT(*) AS calls, SUM(cost_usd) AS cost, SUM(tokens_in + tokens_out) AS tokens FROM llm_usage GROUP BY channel ORDER BY channel")
      .all() as { channel: string; calls: number; cost: number; tokens: number }[];
    const got = watch.totals("channel").sort((a, b) => a.key.localeCompare(b.key));
    assert.deepEqual(
      got.map((t) => [t.key, t.calls_today, t.calls_month, t.tokens_month, Math.round(t.cost_month_usd * 1e9)]),
      sql.map((r) => [r.channel, r.calls, r.calls, r.tokens, Math.round(r.cost * 1e9)]),
      when,
    );
  };
  clock.advance(5_000); // into the next hour, the same day in Paris
  await watch.refresh();
  sameAsSql("between full reads: the commits since added as they came, the bots' rows read");
  clock.advance(60_000); // the first full read is read again after a minute
  await watch.refresh();
  sameAsSql("after the second full read");
  const byModel = usageFromDatabase(db, clock.now() - 3_600_000, "model");
  assert.deepEqual(
    watch.latency.map((l) => [l.key, l.calls]).sort(),
    byModel.map((m) => [m.key, m.calls]).sort(),
    "the hour's calls by model",
  );
});

test("commits too many to hold while a full read runs: it starts over from a new end, and still adds up to SQL's sums", async (t) => {
  const path = tmpDb();
  const clock = new ManualClock(NOW);
  const { db } = openDatabase(path);
  t.after(() => db.close());
  const w = writer(path, clock);
  t.after(() => w.close());
  await w.open();
  for (let i = 0; i < 300; i++) w.llmUsage(call(i));
  await w.flush();
  const ranges: number[] = [];
  let commitsLeft = 3;
  const source: SpendSource = {
    spend: async (a) => {
      const r = spendFromDatabase(db, a);
      if (a.upToId !== undefined && commitsLeft > 0) {
        commitsLeft--;
        for (let i = 0; i < 50; i++) w.llmUsage(call(2000 + commitsLeft * 50 + i));
        await w.flush();
      }
      return r;
    },
    idRange: async (a) => {
      const r = idRangeFromDatabase(db, a);
      if (a.sinceMs < NOW - 86_400_000) ranges.push(r.maxId); // spend's month, not latency's hour
      return r;
    },
    latency: async (a) => latencyFromDatabase(db, a),
  };
  // Room for about one commit's cells while a full read runs.
  const watch = new SpendWatch(source, clock, "Europe/Paris", 5000, 100, 40);
  w.observeCommittedUsage(watch);
  await watch.refresh();
  clock.advance(5_000);
  await watch.refresh();
  clock.advance(5_000);
  await watch.refresh();
  assert.equal(ranges[0], 300);
  assert.ok(ranges.length >= 2 && ranges[1]! > 300, `the month's full read started over from a later end: ${JSON.stringify(ranges)}`);
  const sql = db.prepare("SELECT COUNT(*) AS calls, SUM(tokens_in + tokens_out) AS tokens FROM llm_usage").get() as { calls: number; tokens: number };
  const got = watch.totals("channel").reduce((a, x) => ({ calls: a.calls + x.calls_month, tokens: a.tokens + x.tokens_month }), { calls: 0, tokens: 0 });
  assert.deepEqual(got, sql);
  assert.equal(sql.calls, 450);
});
