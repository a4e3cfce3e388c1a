import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { StoreWriter } from "../../src/store/write/store-writer.js";
import { openDatabase } from "../../src/db/database.js";
import { SCHEMA_VERSION } from "../../src/db/schema.js";
import { restorableBots, usageFromDatabase } from "../../src/store/read/queries.js";
import { toSqlTime } from "../../src/db/timestamps.js";
import { BotRegistry } from "../../src/registry/bot-registry.js";
import { ProcessSampler } from "../../src/sampler/process-sampler.js";
import type { ProcessSnapshot } from "../../src/sampler/process-source.js";
import { ChannelLog } from "../../src/channel-log/channel-log.js";
import { RateLimitedLog } from "../../src/log/rate-limited-log.js";
import { createLogger } from "../../src/log/logger.js";
import { ManualClock } from "../../src/util/clock.js";
import { rowsOf, toColumns } from "../../src/store/write/usage-columns.js";
import type { UsageRow } from "../../src/store/write/writer-protocol.js";
import { waitFor } from "../helpers/wait.js";

const tmp = () => mkdtempSync(join(tmpdir(), "kb-store-"));
const quiet = (clock: ManualClock) => new RateLimitedLog(createLogger("silent"), clock);
const usage = (channel: string, tokensIn: number, latencyMs: number | null = null) => ({ type: "llm_usage" as const, channel, model: "gpt-4", feature: "jokes", tokensIn, tokensOut: 1, latencyMs, estimatedCostUsd: null, operation: null, costUsd: null, costSource: null });

test("the writer batches: thousands of rows, one transaction", async () => {
  const clock = new ManualClock();
  const path = join(tmp(), "batch.db");
  const w = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, quiet(clock), clock);
  for (let i = 0; i < 5000; i++) w.llmUsage(usage("c", i));
  assert.equal(w.queuedRows, 5000);
  await w.flush();
  assert.equal(w.commits, 1);
  assert.equal(w.written.get("llm_usage"), 5000);
  await w.close();
  const db = new BetterSqlite3(path, { readonly: true });
  assert.deepEqual(db.prepare("SELECT COUNT(*) n, SUM(tokens_in) s FROM llm_usage").get(), { n: 5000, s: (4999 * 5000) / 2 });
  db.close();
});

test("llm_usage rows cross to the writer thread as columns: every value comes back, nulls and repeated strings included", () => {
  const rows: UsageRow[] = [
    ["2026-11-26T10:00:00.000000+00:00", "a", "gpt-4o", "ask", 10, 5, 120.5, 0.0012, "computed"],
    ["2026-11-26T10:00:00.000000+00:00", "b", "gpt-4o", "ask", 0, 0, null, null, null],
    ["2026-11-26T10:00:00.001000+00:00", "a", "mistral-large", "ask", 1e9, 3, 0, 0, "reported"],
  ];
  const columns = toColumns(rows);
  const back: UsageRow[] = [...rowsOf(columns)];
  assert.deepEqual(back, rows);
  assert.deepEqual(columns.strings, ["2026-11-26T10:00:00.000000+00:00", "a", "gpt-4o", "ask", "computed", "b", "2026-11-26T10:00:00.001000+00:00", "mistral-large", "reported"], "each string once");
  for (const _ of rowsOf(toColumns([]))) assert.fail("no rows, no row");
});

test("a full queue stops the sockets being read instead of dropping rows; reading resumes once it drains", async () => {
  const clock = new ManualClock();
  const signals: boolean[] = [];
  const w = new StoreWriter({ path: join(tmp(), "q.db"), retentionDays: 7, usageRetentionDays: null, maxQueuedRows: 10, onBackpressure: (full) => signals.push(full) }, quiet(clock), clock);
  try {
    for (let i = 0; i < 10; i++) w.llmUsage(usage("c", i));
    assert.deepEqual(signals, [true], "backpressure at the bound");
    // Lines already read when reading stopped are kept, up to twice the bound; only then dropped.
    for (let i = 0; i < 15; i++) w.llmUsage(usage("c", i));
    assert.equal(w.dropped, 5);
    await w.flush();
    await w.flush();
    assert.deepEqual(signals, [true, false], "reading resumes once the rows are committed");
    assert.equal(w.written.get("llm_usage"), 20);
  } finally {
    await w.close();
  }
});

test("rows that filled the queue during a commit are committed as soon as it ends, not at the next tick (reading stays paused until then)", async () => {
  const clock = new ManualClock();
  const signals: boolean[] = [];
  // No timer runs (start() is not called): only a commit that chains another can write the rest.
  const w = new StoreWriter({ path: join(tmp(), "c.db"), retentionDays: 7, usageRetentionDays: null, maxQueuedRows: 10, flushIntervalMs: 3_600_000, onBackpressure: (full) => signals.push(full) }, quiet(clock), clock);
  try {
    w.llmUsage(usage("c", 0));
    const first = w.flush();
    await null; // the commit has taken its one row and is on the writer thread
    for (let i = 1; i <= 10; i++) w.llmUsage(usage("c", i));
    assert.deepEqual(signals, [true], "reading paused at the bound");
    await first;
    await waitFor("the rest committed without a timer", () => (w.written.get("llm_usage") === 11 ? true : undefined), 5_000, 10);
    assert.equal(w.commits, 2);
    assert.equal(w.queuedRows, 0);
    assert.deepEqual(signals, [true, false], "reading resumed");
  } finally {
    await w.close();
  }
});

test("a database that fails drops past the bound rather than stopping the sockets (heartbeats must keep flowing)", async () => {
  const clock = new ManualClock();
  const signals: boolean[] = [];
  const dir = tmp();
  const w = new StoreWriter({ path: join(dir, "missing", "q.db"), retentionDays: 7, usageRetentionDays: null, maxQueuedRows: 10, onBackpressure: (full) => signals.push(full) }, quiet(clock), clock);
  try {
    await w.flush();
    assert.equal(w.writable, false);
    for (let i = 0; i < 25; i++) w.llmUsage(usage("c", i));
    assert.deepEqual(signals, [], "never paused while the database is broken");
    assert.equal(w.dropped, 15);
  } finally {
    await w.close();
  }
});

test("a database file deleted under the writer is noticed and created again; nothing is written into the unlinked file", async () => {
  const clock = new ManualClock();
  const path = join(tmp(), "d.db");
  const w = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, quiet(clock), clock);
  try {
    await w.open();
    w.llmUsage(usage("c", 1));
    await w.flush();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
    w.llmUsage(usage("c", 2));
    await w.flush();
    assert.equal(w.errors.get("replaced"), 1);
    assert.equal(w.writable, true);
  } finally {
    await w.close();
  }
  const db = new BetterSqlite3(path, { readonly: true });
  assert.deepEqual(db.prepare("SELECT tokens_in FROM llm_usage").pluck().all(), [2], "the row after the deletion is in the new file");
  db.close();
});

test("an unwritable database is counted, its rows kept, and the writer succeeds once it can", async () => {
  const clock = new ManualClock();
  const dir = tmp();
  const path = join(dir, "later", "x.db"); // the directory does not exist yet
  const w = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, quiet(clock), clock);
  w.llmUsage(usage("c", 1));
  await w.flush();
  await w.flush();
  assert.equal(w.errors.get("open"), 2);
  assert.equal(w.queuedRows, 1, "kept for the next try");
  spawnSync("mkdir", [join(dir, "later")]);
  w.llmUsage(usage("c", 2));
  await w.flush();
  assert.equal(w.written.get("llm_usage"), 2);
  await w.close();
});

test("a failed commit's llm_usage rows go back in front of those that came meanwhile, in order, within the queue bound", async () => {
  const clock = new ManualClock();
  const dir = tmp();
  const path = join(dir, "later", "x.db"); // the directory does not exist yet: opening fails
  const w = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null, maxQueuedRows: 5000 }, quiet(clock), clock);
  try {
    // More rows than the queue first makes room for, a channel each: it grows, strings and all.
    for (let i = 0; i < 2000; i++) w.llmUsage({ ...usage(`c${i}`, i, i % 3 === 0 ? null : i / 2), costUsd: i % 2 === 0 ? i / 1000 : null, costSource: i % 2 === 0 ? "computed" : null });
    const failing = w.flush();
    // The batch has been taken (the writer thread is still starting): these come meanwhile.
    await new Promise((r) => setImmediate(r));
    for (let i = 2000; i < 6000; i++) w.llmUsage(usage("late", i));
    await failing;
    assert.equal(w.errors.get("open"), 1);
    // Room for 5,000 with 4,000 come meanwhile: the failed batch's first 1,000 stay, its last 1,000 go.
    assert.equal(w.dropped, 1000);
    assert.equal(w.queuedRows, 5000);
    spawnSync("mkdir", [join(dir, "later")]);
    await w.flush();
    assert.equal(w.written.get("llm_usage"), 5000);
  } finally {
    await w.close();
  }
  const d = new BetterSqlite3(path, { readonly: true });
  const rows = d.prepare("SELECT channel, tokens_in, latency_ms, cost_usd, cost_source FROM llm_usage ORDER BY id").all() as { channel: string; tokens_in: number; latency_ms: number | null; cost_usd: number | null; cost_source: string | null }[];
  d.close();
  const expected = [
    ...Array.from({ length: 1000 }, (_, i) => ({ channel: `c${i}`, tokens_in: i, latency_ms: i % 3 === 0 ? null : i / 2, cost_usd: i % 2 === 0 ? i / 1000 : null, cost_source: i % 2 === 0 ? "computed" : null })),
    ...Array.from({ length: 4000 }, (_, i) => ({ channel: "late", tokens_in: 2000 + i, latency_ms: null, cost_usd: null, cost_source: null })),
  ];
  assert.deepEqual(rows, expected);
});

test("retention deletes bot_metrics older than --retention-days, and llm_usage only when asked", async () => {
  const clock = new ManualClock(Date.parse("2026-11-25T12:00:00Z"));
  const path = join(tmp(), "r.db");
  const { db } = openDatabase(path);
  const old = toSqlTime(clock.now() - 8 * 86_400_000);
  const recent = toSqlTime(clock.now() - 6 * 86_400_000);
  for (const t of [old, recent]) {
    db.prepare("INSERT INTO bot_metrics (ts, channel, pid, rss_mb, cpu_pct, features_json) VALUES (?, 'c', 1, 1, 1, '{}')").run(t);
    db.prepare("INSERT INTO llm_usage (channel, model, feature, tokens_in, tokens_out, ts) VALUES ('c', 'm', 'f', 1, 1, ?)").run(t);
  }
  db.close();
  const keepUsage = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, quiet(clock), clock);
  await keepUsage.flush();
  await keepUsage.close();
  const check = () => {
    const d = new BetterSqlite3(path, { readonly: true });
    const counts = [d.prepare("SELECT COUNT(*) n FROM bot_metrics").get(), d.prepare("SELECT COUNT(*) n FROM llm_usage").get()].map((r) => (r as { n: number }).n);
    d.close();
    return counts;
  };
  assert.deepEqual(check(), [1, 2]);
  const trimUsage = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: 7 }, quiet(clock), clock);
  await trimUsage.flush();
  await trimUsage.close();
  assert.deepEqual(check(), [1, 1]);
});

test("usage: calls, tokens, mean and nearest-rank p95 latency by group", async () => {
  const clock = new ManualClock(Date.now());
  const path = join(tmp(), "u.db");
  const w = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, quiet(clock), clock);
  for (let i = 1; i <= 20; i++) w.llmUsage(usage("a", 10, i * 100));
  w.llmUsage(usage("b", 5));
  await w.close();
  const { db } = openDatabase(path);
  assert.deepEqual(usageFromDatabase(db, clock.now() - 3_600_000, "channel"), [
    { key: "a", calls: 20, tokens_in: 200, tokens_out: 20, mean_latency_ms: 1050, p50_latency_ms: 1000, p95_latency_ms: 1900, cost_usd: null },
    { key: "b", calls: 1, tokens_in: 5, tokens_out: 1, mean_latency_ms: null, p50_latency_ms: null, p95_latency_ms: null, cost_usd: null },
  ]);
  assert.deepEqual(usageFromDatabase(db, clock.now() + 1000, "channel"), [], "nothing after now");
  db.close();
});

test("restore: a bot whose PID now belongs to another process is dead; one whose process is alive is online", async () => {
  const clock = new ManualClock(Date.now());
  const registry = new BotRegistry(clock, { staleAfterMs: 120_000, maxBots: 10 });
  const processes = new Map<number, ProcessSnapshot>([
    [100, { startTime: 555, zombie: false, cpuSeconds: 1, rssBytes: 10 }],
    [200, { startTime: 999, zombie: false, cpuSeconds: 1, rssBytes: 10 }],
  ]);
  const sampler = new ProcessSampler(registry, { inspect: async (pid) => processes.get(pid) ?? null }, createLogger("silent"), { intervalMs: 1000 });
  const targets = registry.restore([
    { channel: "alive", pid: 100, features: null, registeredAt: clock.now() - 60_000, lastHeartbeatAt: clock.now() - 10_000, startTime: 555, status: "online" },
    { channel: "reused", pid: 200, features: null, registeredAt: clock.now() - 60_000, lastHeartbeatAt: clock.now() - 10_000, startTime: 111, status: "online" },
    { channel: "gone", pid: 300, features: null, registeredAt: clock.now() - 60_000, lastHeartbeatAt: clock.now() - 10_000, startTime: 222, status: "online" },
    { channel: "in_container", pid: 400, features: null, registeredAt: clock.now() - 60_000, lastHeartbeatAt: clock.now() - 10_000, startTime: null, status: "online" },
  ]);
  await sampler.inspectNow(targets);
  assert.deepEqual(["alive", "reused", "gone", "in_container"].map((c) => registry.get(c)!.status), ["online", "dead", "dead", "online"]);
  assert.equal(registry.get("in_container")!.visibility, "hidden");
  assert.equal(registry.get("alive")!.lastHeartbeatAt, clock.now() - 10_000, "heartbeat age survives the restart");
});

test("restorableBots reads the bots still registered: online, stale and dead", () => {
  const path = join(tmp(), "rb.db");
  const { db } = openDatabase(path);
  const ins = db.prepare("INSERT INTO bot_status (channel, pid, status, features_json, registered_at, last_seen, pid_start_time) VALUES (?, ?, ?, ?, ?, ?, ?)");
  ins.run("on", 1, "online", '{"llm":true}', "2026-11-25T10:00:00.000000+00:00", "2026-11-25T10:05:00.123456+00:00", 77);
  ins.run("st", 2, "stale", "{}", "2026-11-25 10:00:00", "2026-11-25 10:00:00", null);
  ins.run("off", 3, "offline", "{}", "2026-11-25 10:00:00", "2026-11-25 10:00:00", null);
  ins.run("dd", 4, "dead", "{}", "2026-11-25 10:00:00", "2026-11-25 10:00:00", null);
  assert.deepEqual(restorableBots(db, 0), [
    { status: "online", channel: "on", pid: 1, features: { llm: true }, registeredAt: Date.parse("2026-11-25T10:00:00Z"), lastHeartbeatAt: Date.parse("2026-11-25T10:05:00.123Z"), startTime: 77 },
    { status: "stale", channel: "st", pid: 2, features: {}, registeredAt: Date.parse("2026-11-25T10:00:00Z"), lastHeartbeatAt: Date.parse("2026-11-25T10:00:00Z"), startTime: null },
    { status: "dead", channel: "dd", pid: 4, features: {}, registeredAt: Date.parse("2026-11-25T10:00:00Z"), lastHeartbeatAt: Date.parse("2026-11-25T10:00:00Z"), startTime: null },
  ]);
  db.close();
});

test("per-bot logs rotate by size and keep a bounded number of files", async () => {
  const clock = new ManualClock();
  const dir = tmp();
  const log = new ChannelLog({ dir, maxBytes: 2000, keep: 2 }, clock, quiet(clock));
  const bot = { channel: "chatty", pid: 7, cpuRatio: 0.25, rssBytes: 50 * 1024 * 1024 } as Parameters<ChannelLog["sampled"]>[0];
  for (let i = 0; i < 200; i++) {
    log.sampled(bot);
    if (i % 20 === 0) await log.drain();
  }
  await log.drain();
  const files = readdirSync(join(dir, "chatty")).sort();
  assert.deepEqual(files, ["instance.log", "instance.log.1", "instance.log.2"]);
  for (const f of files) assert.ok(statSync(join(dir, "chatty", f)).size <= 2000 + 1500, `${f} stays near the bound`);
  assert.match(readFileSync(join(dir, "chatty", "instance.log"), "utf8"), /INFO health pid=7 cpu=25\.0% rss=50\.0 MB\n$/);
  assert.equal(log.errors, 0);
});

test("a per-bot log that cannot be written is counted, never thrown", async () => {
  const clock = new ManualClock();
  const file = join(tmp(), "not-a-dir");
  writeFileSync(file, "x");
  const log = new ChannelLog({ dir: file }, clock, quiet(clock));
  log.unregistered({ channel: "c", pid: 1 } as Parameters<ChannelLog["unregistered"]>[0]);
  await log.drain();
  assert.equal(log.errors, 1);
});

test("a bot's log writer is let go once it unregistered and its last lines are written", async () => {
  const clock = new ManualClock();
  const log = new ChannelLog({ dir: tmp() }, clock, quiet(clock));
  for (let i = 0; i < 1000; i++) {
    const bot = { channel: `c${i}`, pid: i + 1, features: {} } as Parameters<ChannelLog["registered"]>[0];
    log.registered(bot, null, false);
    log.unregistered(bot);
  }
  await log.drain();
  assert.equal(log.openChannels, 0);
  assert.equal(log.errors, 0);
});

test("a reader of committed usage that throws loses no rows: the commit counts, later commits go on, flush never rejects", async () => {
  const clock = new ManualClock();
  const path = join(tmp(), "sink.db");
  const w = new StoreWriter({ path, retentionDays: 7, usageRetentionDays: null }, quiet(clock), clock);
  let told = 0;
  w.observeCommittedUsage({
    committed() {
      throw new Error("a sink's bug");
    },
  });
  w.observeCommittedUsage({ committed: () => void told++ });
  w.llmUsage(usage("c", 1));
  await w.flush();
  w.llmUsage(usage("c", 2));
  await w.flush();
  assert.equal(told, 2, "the other sink is still told of both commits");
  assert.equal(w.written.get("llm_usage"), 2);
  assert.equal(w.commits, 2);
  await w.close();
  const db = new BetterSqlite3(path, { readonly: true });
  assert.deepEqual(db.prepare("SELECT COUNT(*) n FROM llm_usage").get(), { n: 2 });
  db.close();
});
