import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess, until } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { kissbotDb, kissbotDbAsync, kissbotQuery, STARTING_POINTS, readRows } from "../helpers/kissbot-db.js";
import { waitFor } from "../helpers/wait.js";
import type { Samples } from "../helpers/samples.js";

const tmp = () => mkdtempSync(join(tmpdir(), "kb-install-"));

const llm = (channel: string, model: string, feature: string) => ({ channel, model, feature });

/** What the fixture's bots log for call i (test/fixtures/kissbot_db.py log-calls). */
const callTokens = (i: number) => ({ tin: 100 + (i % 50), tout: 20 + (i % 10) });

for (const [name, make] of Object.entries(STARTING_POINTS)) {
  test(`real install, database ${name}: the bridge writes every table and KissBot's writers keep succeeding while it runs`, async (t) => {
    const dir = tmp();
    const db = join(dir, "kissbot_monitor.db");
    make(db);
    const bridge = await startBridgeProcess(["--sample-interval", "0.2"], { dir });
    t.after(() => bridge.stop());
    const bot = await PythonBot.start("socket_bot", bridge.socket);
    t.after(() => bot.exit());
    await bot.send('register {"llm": true}');
    await bot.send("heartbeat");
    await bot.send("llm gpt-4o ask 145 87 900");
    await waitFor("the bridge's rows in all three tables", () => {
      const n = readRows(db, "SELECT (SELECT COUNT(*) FROM bot_status WHERE channel = 'socket_bot') AS s, (SELECT COUNT(*) FROM bot_metrics WHERE channel = 'socket_bot') AS m, (SELECT COUNT(*) FROM llm_usage WHERE channel = 'socket_bot') AS u")[0]!;
      return n["s"] === 1 && Number(n["m"]) >= 1 && n["u"] === 1 ? true : undefined;
    });
    // KissBot's Monitor and its bots' logger, writing beside the running bridge.
    assert.deepEqual(await kissbotDbAsync("monitor-write", db, "kissbot_mon"), { ok: true });
    assert.deepEqual(await kissbotDbAsync("log-calls", db, "kissbot_bot", "5", "gpt-4o", "ask"), { ok: true });
    const s = await until(bridge, "the bots' own rows in /metrics", (x) => x.get("kissbot_llm_requests_total", llm("kissbot_bot", "gpt-4o", "ask")) === 5);
    // The socket call is counted once: on arrival, not again when its row is read back.
    assert.equal(s.get("kissbot_llm_requests_total", llm("socket_bot", "gpt-4o", "ask")), 1);
    assert.equal(s.get("kissbot_llm_cost_usd_total", { ...llm("socket_bot", "gpt-4o", "ask"), cost_source: "computed" }), (145 * 2.5 + 87 * 10) / 1e6);
    const writes = s.series("kissbot_bridge_db_errors_total").filter((l) => s.get("kissbot_bridge_db_errors_total", l)! > 0);
    assert.deepEqual(writes, [], "no database operation of the bridge failed");
    // The guide's query reads the bridge's row and the bots' rows alike.
    const rows = kissbotQuery(db, "SELECT channel, estimated_cost FROM llm_usage ORDER BY timestamp DESC;");
    assert.equal(rows.filter((r) => r["channel"] === "kissbot_bot").length, 5);
  });
}

test("1,000 calls from 4 concurrent bot processes, one commit each, with a bridge restart in the middle: each counted exactly once", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  kissbotDb("monitor-init", db); // a real install: the Monitor made the file (and llm_usage without cost_usd)
  const writers = ["bot_a", "bot_b", "bot_c", "bot_d"];
  const phase = (calls: number) => Promise.all(writers.map((w) => kissbotDbAsync("log-calls", db, w, String(calls), "gpt-4o-mini", "chat")));
  const expected = { requests: 0, tin: 0, tout: 0 };
  const add = (calls: number) => {
    for (let i = 0; i < calls; i++) {
      const { tin, tout } = callTokens(i);
      expected.requests += 4;
      expected.tin += 4 * tin;
      expected.tout += 4 * tout;
    }
  };
  const totals = (s: Samples) => {
    let requests = 0;
    let tin = 0;
    let tout = 0;
    for (const w of writers) {
      const l = llm(w, "gpt-4o-mini", "chat");
      requests += s.get("kissbot_llm_requests_total", l) ?? 0;
      tin += s.get("kissbot_llm_tokens_total", { ...l, token_type: "input" }) ?? 0;
      tout += s.get("kissbot_llm_tokens_total", { ...l, token_type: "output" }) ?? 0;
    }
    return { requests, tin, tout };
  };

  const first = await startBridgeProcess([], { dir });
  // Phase 1: 400 calls while the bridge runs.
  for (const r of await phase(100)) assert.deepEqual(r, { ok: true }, "the bots' inserts succeed");
  add(100);
  const s1 = await until(first, "400 calls counted", (s) => totals(s).requests === 400);
  assert.deepEqual(totals(s1), expected);
  assert.equal(await first.stop(), 0);

  // Phase 2: 300 calls while no bridge runs; phase 3: 300 more once the next one is up.
  const down = { ...expected };
  for (const r of await phase(75)) assert.deepEqual(r, { ok: true });
  add(75);
  const second = await startBridgeProcess([], { dir, socket: first.socket });
  t.after(() => second.stop());
  const running = phase(75);
  for (const r of await running) assert.deepEqual(r, { ok: true });
  const third = callTokensSum(75);
  const s2 = await until(second, "600 more calls counted", (s) => totals(s).requests === 600, 15_000);
  assert.deepEqual(totals(s2), { requests: 600, tin: expected.tin - down.tin + third.tin, tout: expected.tout - down.tout + third.tout });
  assert.equal(s2.get("kissbot_bridge_db_rejected_rows_total", { reason: "invalid_field" }), 0);
  // llm_totals, the bots' own running totals, exported as they are.
  assert.equal(s2.get("kissbot_llm_recorded_requests_total"), 1000);
  assert.equal(s2.get("kissbot_llm_recorded_tokens_total", { token_type: "input" }), expected.tin + third.tin);
});

function callTokensSum(calls: number) {
  let tin = 0;
  let tout = 0;
  for (let i = 0; i < calls; i++) {
    tin += 4 * callTokens(i).tin;
    tout += 4 * callTokens(i).tout;
  }
  return { tin, tout };
}

test("a bad row from a bot is counted by reason and skipped; the rows around it are counted", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  await waitFor("the bridge's tables", () => (readRows(db, "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'bridge_state'")[0]!["n"] === 1 ? true : undefined));
  const row = (r: Record<string, unknown>) => assert.deepEqual(kissbotDb("log-row", db, JSON.stringify({ ts: new Date().toISOString(), feature: "ask", tokens_in: 10, tokens_out: 5, ...r })), { ok: true });
  row({ channel: "good", model: "gpt-4o", latency_ms: 100, cost_usd: 0.5 });
  row({ channel: "good", model: "some-local-model", latency_ms: null });
  row({ channel: "good", model: "gpt-4o", tokens_in: -3 });
  row({ channel: "good", model: "gpt-4o", tokens_in: 1e12 });
  row({ channel: "bad channel <b>", model: "gpt-4o" });
  row({ channel: "good", model: "gpt-4o", latency_ms: "fast" });
  row({ channel: "good", model: "gpt-4o", latency_ms: 250 });
  const s = await until(bridge, "the good rows", (x) => x.get("kissbot_llm_requests_total", llm("good", "gpt-4o", "ask")) === 2);
  assert.equal(s.get("kissbot_llm_requests_total", llm("good", "some-local-model", "ask")), 1);
  assert.equal(s.get("kissbot_llm_unpriced_requests_total", llm("good", "some-local-model", "ask")), 1, "an unknown model is counted, never priced as 0");
  assert.equal(s.get("kissbot_llm_cost_usd_total", { ...llm("good", "some-local-model", "ask"), cost_source: "computed" }), undefined);
  assert.equal(s.get("kissbot_llm_latency_seconds_count", llm("good", "some-local-model", "ask")), undefined, "a NULL latency is no observation");
  assert.equal(s.get("kissbot_llm_latency_seconds_count", llm("good", "gpt-4o", "ask")), 2);
  assert.equal(s.get("kissbot_llm_cost_usd_total", { ...llm("good", "gpt-4o", "ask"), cost_source: "reported" }), 0.5);
  assert.equal(s.get("kissbot_llm_cost_usd_total", { ...llm("good", "gpt-4o", "ask"), cost_source: "computed" }), (10 * 2.5 + 5 * 10) / 1e6);
  assert.equal(s.get("kissbot_bridge_db_rejected_rows_total", { reason: "negative_value" }), 1);
  assert.equal(s.get("kissbot_bridge_db_rejected_rows_total", { reason: "out_of_range" }), 1);
  assert.equal(s.get("kissbot_bridge_db_rejected_rows_total", { reason: "invalid_channel" }), 1);
  assert.equal(s.get("kissbot_bridge_db_rejected_rows_total", { reason: "invalid_field" }), 1);
  assert.equal(s.get("kissbot_bridge_db_followed_rows_total"), 7);
  assert.equal(s.get("kissbot_bridge_db_errors_total", { op: "follow" }), 0);
  assert.ok(bridge.proc.exitCode === null, "the bridge still runs");
});

test("KissBot's shutdown (stop heartbeat, unregister, unregister again) is quiet; a register from a PID not running is refused", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("kb_bot", bridge.socket);
  t.after(() => bot.exit());
  await bot.send("register {}");
  await bot.send("start_heartbeat 30");
  await until(bridge, "registered", (s) => s.get("kissbot_bot_up", { channel: "kb_bot" }) === 1);
  await bot.send("stop_heartbeat");
  await bot.send("unregister");
  await bot.send("unregister");
  const s = await until(bridge, "both goodbyes", (x) => x.get("kissbot_bridge_messages_total", { message_type: "unregister" }) === 2);
  assert.equal(s.get("kissbot_bot_up", { channel: "kb_bot" }), undefined);
  assert.equal(s.get("kissbot_bridge_ignored_messages_total", { reason: "duplicate_unregister" }), 1);
  assert.equal(s.get("kissbot_bridge_ignored_messages_total", { reason: "unknown_bot" }), 0);
  assert.deepEqual(bridge.logs.filter((l) => l["level"] === 40 && l["channel"] === "kb_bot"), [], "no warning for KissBot's normal shutdown");

  // PID 2^22 - 1 is above any pid_max this machine uses by default: no such process.
  await bot.send('raw {"type": "register", "channel": "ghost", "pid": 4194303}');
  const g = await until(bridge, "the ghost refused", (x) => x.get("kissbot_bridge_ignored_messages_total", { reason: "pid_not_running" }) === 1);
  assert.equal(g.get("kissbot_bot_up", { channel: "ghost" }), undefined, "not shown as a bot");
  assert.ok(bridge.logs.some((l) => l["channel"] === "ghost" && /registration refused/.test(String(l["msg"]))));
});

test("--kissbot-config: KissBot's monitoring section and root give the defaults", async (t) => {
  const root = tmp();
  mkdirSync(join(root, "config"));
  const socket = join(root, "kb.sock");
  writeFileSync(join(root, "config", "config.yaml"), `bot:\n  name: x\nmonitoring:\n  enabled: true\n  socket_path: ${socket}\n  metrics_interval: 0.2\n  heartbeat_interval: 30\n  stale_timeout: 1\n  data_retention_days: 7\n`);
  const bridge = await startBridgeProcess(["--kissbot-config", join(root, "config", "config.yaml")], { dir: root, socket, bare: true });
  t.after(() => bridge.stop());
  const ready = bridge.logs.find((l) => l["msg"] === "kissbot-bridge ready")!;
  assert.equal(ready["socket"], socket);
  assert.equal(ready["db"], join(root, "kissbot_monitor.db"), "the database KissBot's Monitor and bots share, in the KissBot root");
  const bot = await PythonBot.start("cfg_bot", socket);
  t.after(() => bot.exit());
  await bot.send("register");
  await until(bridge, "stale after stale_timeout (1 s)", (s) => s.get("kissbot_bot_status", { channel: "cfg_bot", status: "stale" }) === 1);
});
