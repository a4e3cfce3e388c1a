import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/db/database.js";
import { latencyFromDatabase, latencySql, MAX_SPEND_ROWS, ID_RANGE_SQL, spendFromDatabase, idRangeFromDatabase, spendSql } from "../../src/spend/spend-queries.js";
import { usageByDayFromDatabase, usageFromDatabase } from "../../src/store/read/queries.js";
import { SpendWatch, type SpendSource } from "../../src/spend/spend-watch.js";
import { periodStarts } from "../../src/calendar/period.js";
import { ManualClock } from "../../src/util/clock.js";
import type { Database } from "better-sqlite3";

const PARIS = "Europe/Paris";
/** KissBot's timestamp form. */
const ts = (iso: string) => new Date(iso).toISOString().replace("Z", "000+00:00");

function database(): Database {
  return openDatabase(join(mkdtempSync(join(tmpdir(), "kb-spend-")), "kissbot_monitor.db")).db;
}

function insert(db: Database, iso: string, channel: string, cost: number): void {
  db.prepare("INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, cost_usd, source) VALUES (?, ?, 'gpt-4o', 'ask', 10, 5, ?, 'bots')").run(ts(iso), channel, cost);
}

/** The sum SQL gives over a half-open UTC interval, written out by hand (no code of the bridge's). */
function sqlSum(db: Database, channel: string, fromIso: string, toIso: string): number {
  return (db.prepare("SELECT COALESCE(SUM(cost_usd), 0) FROM llm_usage WHERE channel = ? AND ts >= ? AND ts < ?").pluck().get(channel, ts(fromIso), ts(toIso)) as number);
}

/** The reads the bridge's reader thread runs, here in-process on the same database. */
function source(db: () => Database): SpendSource {
  return { spend: async (a) => spendFromDatabase(db(), a), idRange: async (a) => idRangeFromDatabase(db(), a), latency: async (a) => latencyFromDatabase(db(), a) };
}

function watch(db: Database, clock: ManualClock): SpendWatch {
  return new SpendWatch(source(() => db), clock, PARIS);
}

const spent = (w: SpendWatch, channel: string) => w.totals("channel").find((t) => t.key === channel) ?? { cost_today_usd: 0, cost_month_usd: 0, calls_today: 0 };

test("spend by calendar day and month in a non-UTC zone: across midnight, equal to a SQL sum over the same rows", async () => {
  const db = database();
  insert(db, "2026-10-31T22:30:00Z", "c", 1); // Paris 31 Oct 23:30: last month
  insert(db, "2026-10-31T23:30:00Z", "c", 2); // Paris 1 Nov 00:30: this month
  insert(db, "2026-11-26T12:00:00Z", "c", 4); // Paris 26 Nov 13:00
  insert(db, "2026-11-26T22:50:00Z", "c", 8); // Paris 26 Nov 23:50
  insert(db, "2026-11-26T23:10:00Z", "c", 16); // Paris 27 Nov 00:10: after midnight there, before it in UTC
  // In Paris it is 26 Nov 23:55 (22:55 UTC): the 00:10 row is in the future of the clock but
  // the bridge reads what the table holds, as SQL would.
  const clock = new ManualClock(Date.parse("2026-11-26T22:55:00Z"));
  const w = watch(db, clock);
  await w.refresh();
  assert.equal(spent(w, "c").cost_today_usd, sqlSum(db, "c", "2026-11-25T23:00:00Z", "2100-01-01T00:00:00Z"));
  assert.equal(spent(w, "c").cost_today_usd, 4 + 8 + 16);
  assert.equal(spent(w, "c").cost_month_usd, sqlSum(db, "c", "2026-10-31T23:00:00Z", "2100-01-01T00:00:00Z"));
  assert.equal(spent(w, "c").cost_month_usd, 2 + 4 + 8 + 16);

  // Ten minutes later it is 27 Nov in Paris (still the 26th in UTC): the day starts again.
  clock.advance(10 * 60_000);
  await w.refresh();
  assert.equal(spent(w, "c").cost_today_usd, sqlSum(db, "c", "2026-11-26T23:00:00Z", "2100-01-01T00:00:00Z"));
  assert.equal(spent(w, "c").cost_today_usd, 16);
  assert.equal(spent(w, "c").cost_month_usd, 30);
  assert.equal(periodStarts(clock.now(), PARIS).dayStartMs, Date.parse("2026-11-26T23:00:00Z"));
});

test("spend read incrementally equals a full read and a SQL sum, and a new watch (a restart) reads the same", async () => {
  const db = database();
  const clock = new ManualClock(Date.parse("2026-11-26T15:00:00Z"));
  for (let i = 0; i < 50; i++) insert(db, `2026-11-26T${String(8 + (i % 6)).padStart(2, "0")}:0${i % 10}:00Z`, i % 2 ? "a" : "b", 0.01 * (i + 1));
  const w = watch(db, clock);
  await w.refresh();
  // Rows added after the first read are read by id, not by a full scan.
  for (let i = 0; i < 30; i++) insert(db, "2026-11-26T14:30:00Z", i % 3 ? "a" : "c", 0.5);
  clock.advance(5000);
  await w.refresh();
  for (const channel of ["a", "b", "c"]) {
    const expected = sqlSum(db, channel, "2026-11-25T23:00:00Z", "2100-01-01T00:00:00Z");
    assert.ok(Math.abs(spent(w, channel).cost_today_usd - expected) < 1e-9, `${channel}: ${spent(w, channel).cost_today_usd} vs ${expected}`);
  }
  const restarted = watch(db, clock);
  await restarted.refresh();
  assert.deepEqual(restarted.totals("channel").map((t) => [t.key, t.calls_today, Math.round(t.cost_today_usd * 1e6)]), w.totals("channel").map((t) => [t.key, t.calls_today, Math.round(t.cost_today_usd * 1e6)]));
});

test("spend and latency reads visit only the rows added since the last (by id) or the period's (by time), never the whole table", () => {
  const db = database();
  for (let i = 0; i < 200; i++) insert(db, "2026-11-26T14:30:00Z", `c${i % 20}`, 0.5);
  const explain = (sql: string, ...args: unknown[]) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).join("; ");
  const spend = explain(spendSql(), "d", "d", "d", 5, 500, "m");
  assert.match(spend, /SEARCH llm_usage USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/, spend);
  const range = explain(ID_RANGE_SQL, "m");
  assert.match(range, /SEARCH llm_usage USING COVERING INDEX idx_llm_usage_channel_ts \(channel=\? AND ts>\?\)/, range);
  const latency = explain(latencySql(), 5, 500, "t");
  assert.match(latency, /SEARCH llm_usage USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/, latency);
  assert.doesNotMatch(`${spend}; ${range}; ${latency}`, /SCAN llm_usage/);
});

function call(db: Database, iso: string, model: string, latencyMs: number | null): void {
  db.prepare("INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, latency_ms, source) VALUES (?, 'c', ?, 'ask', 10, 5, ?, 'bots')").run(ts(iso), model, latencyMs);
}

/** What the watch shows next to SQL's nearest-rank percentiles over the same hour of rows. */
function latencyAgainstSql(db: Database, w: SpendWatch, nowMs: number) {
  const exact = usageFromDatabase(db, nowMs - 3_600_000, "model");
  assert.deepEqual(w.latency.map((l) => [l.key, l.calls]).sort(), exact.map((e) => [e.key, e.calls]).sort());
  for (const e of exact) {
    const got = w.latency.find((l) => l.key === e.key)!;
    for (const p of ["p50_latency_ms", "p95_latency_ms"] as const) {
      if (e[p] === null) assert.equal(got[p], null);
      else assert.ok(Math.abs(got[p]! - e[p]!) <= 0.005 * (e[p]! + 1), `${e.key} ${p}: ${got[p]} vs SQL's ${e[p]}`);
    }
  }
}

test("the hour's latency by model, kept from reads of new rows only, agrees with SQL's percentiles over the hour; old minutes drop out", async () => {
  const db = database();
  const clock = new ManualClock(Date.parse("2026-11-26T15:00:30Z"));
  // Outside the hour at the first read: never counted.
  call(db, "2026-11-26T13:50:00Z", "gpt-4o", 99_999);
  // Distinct latencies a bucket each: the percentiles are SQL's exactly.
  for (const [i, l] of [300, 400, 500, 600, 700, 800].entries()) call(db, `2026-11-26T14:2${i}:10Z`, "gpt-4o", l);
  call(db, "2026-11-26T14:30:00Z", "gpt-4o", null);
  const asked: string[] = [];
  const w = new SpendWatch({ ...source(() => db), latency: async (a) => (asked.push(a.upToId === undefined ? "new rows" : "chunk"), latencyFromDatabase(db, a)) }, clock, PARIS);
  await w.refresh();
  assert.deepEqual(w.latency, [{ key: "gpt-4o", calls: 7, p50_latency_ms: 500, p95_latency_ms: 800 }]);
  latencyAgainstSql(db, w, clock.now());

  // A minute later: thousands of calls of two models, spread over many buckets, read by id only.
  db.transaction(() => {
    for (let i = 0; i < 4000; i++) call(db, `2026-11-26T14:${String(40 + (i % 20)).padStart(2, "0")}:00Z`, i % 3 ? "claude-3-haiku" : "gpt-4o", 50 + ((i * 7919) % 9000) + (i % 10) / 10);
  })();
  clock.advance(60_000);
  await w.refresh();
  latencyAgainstSql(db, w, clock.now());
  assert.equal(w.latency[0]!.key, "claude-3-haiku", "most calls first");

  // 45 minutes on, the first rows (14:20 to 14:30) are more than an hour old: they drop out.
  clock.advance(Date.parse("2026-11-26T15:35:30Z") - clock.now());
  await w.refresh();
  latencyAgainstSql(db, w, clock.now());
  assert.equal(w.latency.find((l) => l.key === "gpt-4o")!.calls, 1334);
  assert.deepEqual(asked, ["chunk", "new rows", "new rows", "new rows"], "the hour in chunks at the first read, after it only the new rows");
});

test("a database file replaced under the watch (its ids start again lower): the new file's hour of latency is read whole", async () => {
  const [before, after] = [database(), database()];
  for (let i = 0; i < 20; i++) call(before, "2026-11-26T14:30:00Z", "old-model", 1000);
  call(after, "2026-11-26T14:40:00Z", "new-model", 250);
  let current = before;
  const clock = new ManualClock(Date.parse("2026-11-26T15:00:00Z"));
  // Chunks of 5 ids: the hour of the first file is read in four.
  const w = new SpendWatch(source(() => current), clock, PARIS, 5000, 5);
  await w.refresh();
  assert.deepEqual(w.latency, [{ key: "old-model", calls: 20, p50_latency_ms: 1000, p95_latency_ms: 1000 }]);
  current = after;
  clock.advance(60_000);
  await w.refresh();
  assert.deepEqual(w.latency, [{ key: "new-model", calls: 1, p50_latency_ms: 250, p95_latency_ms: 250 }]);
  // Spend too: the new file's month is read whole at the next read.
  clock.advance(5000);
  await w.refresh();
  assert.deepEqual(w.totals("model").map((t) => [t.key, t.calls_month]), [["new-model", 1]]);
});

test("a full read goes through the month in chunks of ids, each a read of its own, and adds up to SQL's sum; a chunk that fails is read again, not skipped", async () => {
  const db = database();
  const clock = new ManualClock(Date.parse("2026-11-26T15:00:00Z"));
  insert(db, "2026-10-15T12:00:00Z", "old", 100); // last month: below the range read
  db.transaction(() => {
    for (let i = 0; i < 1000; i++) insert(db, `2026-11-${String(1 + (i % 26)).padStart(2, "0")}T10:00:00Z`, `c${i % 7}`, 0.01 * ((i % 13) + 1));
  })();
  const reads: [number, number | undefined][] = [];
  let failOnce = true;
  const s = source(() => db);
  const w = new SpendWatch(
    {
      ...s,
      spend: async (a) => {
        if (a.upToId !== undefined && a.afterId > 500 && failOnce) {
          failOnce = false;
          throw new Error("the database is busy");
        }
        reads.push([a.afterId, a.upToId]);
        return s.spend(a);
      },
    },
    clock,
    PARIS,
    5000,
    100,
  );
  await w.refresh();
  assert.equal(w.error, "the database is busy");
  assert.equal(w.readAt, null, "nothing shown before the month has been read");
  clock.advance(60_000);
  await w.refresh();
  assert.equal(w.error, null);
  const chunks = reads.filter(([, to]) => to !== undefined);
  assert.equal(chunks.length, 10, JSON.stringify(chunks));
  assert.deepEqual(chunks[0], [1, 101], "from the month's first id, not the table's");
  for (const [from, to] of chunks) assert.ok(to! - from <= 100);
  assert.deepEqual(chunks.map(([from]) => from), [1, 101, 201, 301, 401, 501, 601, 701, 801, 901], "the failed chunk read again, none skipped or read twice");
  for (let i = 0; i < 7; i++) {
    const expected = sqlSum(db, `c${i}`, "2026-10-31T23:00:00Z", "2100-01-01T00:00:00Z");
    assert.ok(Math.abs(spent(w, `c${i}`).cost_month_usd - expected) < 1e-9, `c${i}: ${spent(w, `c${i}`).cost_month_usd} vs ${expected}`);
  }
  assert.equal(spent(w, "old").cost_month_usd, 0);
});

test("the spend held is bounded: past 20,000 channel × model × feature groups new ones are left out and counted, known ones keep adding up", async () => {
  const db = database();
  const clock = new ManualClock(Date.parse("2026-11-26T15:00:00Z"));
  db.transaction(() => {
    for (let i = 0; i < MAX_SPEND_ROWS + 5; i++) insert(db, "2026-11-26T14:00:00Z", `ch${String(i).padStart(6, "0")}`, 0.25);
  })();
  const w = watch(db, clock);
  await w.refresh();
  assert.equal(w.totals("channel").length, MAX_SPEND_ROWS);
  assert.equal(w.refused, 1, "the read returns one group past the bound, so the cut is seen");
  // Between full reads: new channels are refused, a known one still adds up.
  const known = w.totals("channel")[0]!.key;
  for (let i = 0; i < 10; i++) insert(db, "2026-11-26T14:30:00Z", `late${i}`, 1);
  insert(db, "2026-11-26T14:30:00Z", known, 2);
  clock.advance(5000);
  await w.refresh();
  assert.equal(w.totals("channel").length, MAX_SPEND_ROWS);
  assert.equal(w.refused, 11);
  assert.equal(spent(w, known).cost_month_usd, 2.25);
});

test("usage by day cuts at local midnight, DST included", () => {
  const db = database();
  insert(db, "2026-03-28T22:30:00Z", "c", 1); // Paris 28 Mar 23:30 (UTC+1)
  insert(db, "2026-03-28T23:30:00Z", "c", 2); // Paris 29 Mar 00:30, the day clocks go forward
  insert(db, "2026-03-29T21:30:00Z", "c", 4); // Paris 29 Mar 23:30 (UTC+2)
  insert(db, "2026-03-29T22:30:00Z", "c", 8); // Paris 30 Mar 00:30
  const rows = usageByDayFromDatabase(db, Date.parse("2026-03-28T12:00:00Z"), Date.parse("2026-03-30T12:00:00Z"), PARIS);
  assert.deepEqual(rows.map((r) => [r.key, r.calls, r.cost_usd]), [["2026-03-28", 1, 1], ["2026-03-29", 2, 6], ["2026-03-30", 1, 8]]);
});
