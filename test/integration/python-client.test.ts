import { test } from "node:test";
import assert from "node:assert/strict";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { waitFor } from "../helpers/wait.js";

test("a stock-like Python bot: register → heartbeat → llm_usage → unregister, each visible in /metrics", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.3"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("el_serda", bridge.socket);
  t.after(() => bot.exit());
  const ch = { channel: "el_serda" };

  assert.equal(await bot.send('register {"llm": true, "translator": false}'), "True");
  let m = await waitFor("registration", async () => {
    const s = await bridge.samples();
    return s.get("kissbot_bot_up", ch) === 1 ? s : undefined;
  });
  assert.equal(m.get("kissbot_bot_info", { ...ch, pid: String(bot.pid) }), 1);
  assert.equal(m.get("kissbot_bot_status", { ...ch, status: "online" }), 1);
  assert.equal(m.get("kissbot_bot_status", { ...ch, status: "stale" }), 0);
  assert.equal(m.get("kissbot_bot_feature_enabled", { ...ch, feature: "llm" }), 1);
  assert.equal(m.get("kissbot_bot_feature_enabled", { ...ch, feature: "translator" }), 0);
  assert.equal(m.get("kissbot_bridge_messages_total", { message_type: "register" }), 1);
  const registeredAt = m.get("kissbot_bot_registered_timestamp_seconds", ch)!;
  assert.ok(Math.abs(registeredAt - Date.now() / 1000) < 5, "registration time is now");
  // Before the first heartbeat the age counts from registration.
  assert.equal(m.get("kissbot_bot_last_heartbeat_timestamp_seconds", ch), registeredAt);

  // The process is sampled: RSS is real, and a CPU ratio appears once two samples exist.
  m = await waitFor("process samples", async () => {
    const s = await bridge.samples();
    return s.get("kissbot_process_cpu_usage_ratio", { ...ch, pid: String(bot.pid) }) !== undefined ? s : undefined;
  });
  assert.ok(m.get("kissbot_process_resident_memory_bytes", { ...ch, pid: String(bot.pid) })! > 1_000_000);
  assert.ok(m.get("kissbot_process_cpu_seconds_total", { ...ch, pid: String(bot.pid) })! > 0, "python3 used some CPU to start");

  assert.equal(await bot.send("heartbeat"), "True");
  m = await waitFor("heartbeat", async () => {
    const s = await bridge.samples();
    return s.get("kissbot_bridge_messages_total", { message_type: "heartbeat" }) === 1 ? s : undefined;
  });
  assert.ok(m.get("kissbot_bot_last_heartbeat_timestamp_seconds", ch)! > registeredAt);
  assert.ok(m.get("kissbot_bot_heartbeat_age_seconds", ch)! < 2);

  assert.equal(await bot.send("llm gpt-4 jokes 145 87 1850"), "True");
  assert.equal(await bot.send("llm gpt-4 jokes 100 50 90"), "True");
  assert.equal(await bot.send("llm claude-3-opus translator 10 20"), "True"); // no latency: null on the wire
  m = await waitFor("llm usage", async () => {
    const s = await bridge.samples();
    return s.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 3 ? s : undefined;
  });
  const jokes = { ...ch, model: "gpt-4", feature: "jokes" };
  assert.equal(m.get("kissbot_llm_requests_total", jokes), 2);
  assert.equal(m.get("kissbot_llm_tokens_total", { ...jokes, token_type: "input" }), 245);
  assert.equal(m.get("kissbot_llm_tokens_total", { ...jokes, token_type: "output" }), 137);
  assert.equal(m.get("kissbot_llm_latency_seconds_count", jokes), 2);
  assert.equal(m.get("kissbot_llm_latency_seconds_sum", jokes), 1.94);
  assert.equal(m.get("kissbot_llm_latency_seconds_bucket", { ...jokes, le: "0.08" }), 0);
  assert.equal(m.get("kissbot_llm_latency_seconds_bucket", { ...jokes, le: "0.16" }), 1);
  assert.equal(m.get("kissbot_llm_latency_seconds_bucket", { ...jokes, le: "2.56" }), 2);
  assert.equal(m.get("kissbot_llm_latency_seconds_bucket", { ...jokes, le: "+Inf" }), 2);
  const tr = { ...ch, model: "claude-3-opus", feature: "translator" };
  assert.equal(m.get("kissbot_llm_requests_total", tr), 1);
  assert.equal(m.get("kissbot_llm_tokens_total", { ...tr, token_type: "output" }), 20);
  assert.equal(m.get("kissbot_llm_latency_seconds_count", tr), undefined, "no latency sent, no observation");
  assert.equal(m.get("kissbot_llm_cost_usd_total", jokes), undefined, "no cost sent, no cost series");
  assert.equal(m.get("kissbot_bridge_rejected_lines_total", { reason: "invalid_field" }), 0);

  assert.equal(await bot.send("unregister"), "True");
  m = await waitFor("unregistration", async () => {
    const s = await bridge.samples();
    return s.get("kissbot_bot_up", ch) === undefined ? s : undefined;
  });
  for (const name of ["kissbot_bot_info", "kissbot_bot_status", "kissbot_bot_heartbeat_age_seconds", "kissbot_process_resident_memory_bytes", "kissbot_llm_requests_total", "kissbot_llm_tokens_total", "kissbot_llm_latency_seconds_bucket", "kissbot_bot_feature_enabled"]) {
    assert.deepEqual(m.series(name), [], `${name} is gone after a graceful unregister`);
  }
  assert.equal(m.get("kissbot_bridge_messages_total", { message_type: "unregister" }), 1);
  // One connection per message, as the stock client does.
  assert.equal(m.get("kissbot_bridge_connections_total"), 6);
});
