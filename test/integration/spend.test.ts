import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess, until } from "../helpers/bridge-process.js";
import { kissbotDb, kissbotQuery } from "../helpers/kissbot-db.js";
import { sendOnce } from "../helpers/raw-client.js";
import { runCli } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";

const tmp = () => mkdtempSync(join(tmpdir(), "kb-spend-"));

const call = (channel: string, cost: number | null, feature = "ask") =>
  `${JSON.stringify({ type: "llm_usage", channel, model: "gpt-4o", feature, tokens_in: 1000, tokens_out: 100, latency_ms: 500, ...(cost === null ? {} : { estimated_cost: cost }) })}\n`;

test("spend gauges come from the database: equal to a SQL sum over today's rows (the bridge's and the bots' own), and the same after a restart", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  let bridge = await startBridgeProcess(["--timezone", "Europe/Paris"], { dir });
  t.after(() => bridge.stop());
  assert.equal(await sendOnce(bridge.socket, call("spender", 0.25).repeat(4) + call("spender", null)), true);
  assert.equal(kissbotDb("log-calls", db, "spender", "3").ok, true);
  const sql = () => Number(kissbotQuery(db, "SELECT SUM(cost_usd) AS s FROM llm_usage WHERE channel = 'spender'")[0]!["s"]);
  const first = await until(bridge, "today's spend", (s) => s.get("kissbot_llm_spend_requests", { channel: "spender", period: "day" }) === 8, 15_000);
  const expected = sql();
  assert.ok(Math.abs(first.get("kissbot_llm_spend_usd", { channel: "spender", period: "day" })! - expected) < 1e-9, `${first.get("kissbot_llm_spend_usd", { channel: "spender", period: "day" })} vs SQL ${expected}`);
  // 4 × 0.25 reported, one call priced from the table (gpt-4o: 2.5 and 10 USD per 1M tokens), three bots' rows.
  assert.ok(expected > 1.0035 && expected < 1.1);
  assert.equal(first.get("kissbot_llm_spend_usd", { channel: "spender", period: "month" }), first.get("kissbot_llm_spend_usd", { channel: "spender", period: "day" }));
  assert.ok(first.get("kissbot_llm_spend_period_end_timestamp_seconds", { period: "day" })! > Date.now() / 1000);

  await bridge.stop();
  bridge = await startBridgeProcess(["--timezone", "Europe/Paris"], { dir });
  const again = await until(bridge, "today's spend after the restart", (s) => s.get("kissbot_llm_spend_requests", { channel: "spender", period: "day" }) === 8, 15_000);
  assert.ok(Math.abs(again.get("kissbot_llm_spend_usd", { channel: "spender", period: "day" })! - expected) < 1e-9);
});

const BUDGETS = `# USD
default: { daily_usd: 2, monthly_usd: 40 }
channels:
  big_spender:
    daily_usd: 20
    features:
      ask: { daily_usd: 5 }
`;

test("a budget file: exported per channel (its own or the default) and per feature; reloaded on SIGHUP, a bad reload keeps the budgets and says why", async (t) => {
  const dir = tmp();
  const file = join(dir, "budgets.yaml");
  writeFileSync(file, BUDGETS);
  const bridge = await startBridgeProcess(["--budgets", file], { dir });
  t.after(() => bridge.stop());
  await sendOnce(bridge.socket, call("small_fry", 0.1));
  const s = await until(bridge, "budgets of both channels", (x) => x.get("kissbot_llm_budget_usd", { channel: "small_fry", period: "day" }) !== undefined, 15_000);
  assert.equal(s.get("kissbot_llm_budget_usd", { channel: "small_fry", period: "day" }), 2, "the default");
  assert.equal(s.get("kissbot_llm_budget_usd", { channel: "small_fry", period: "month" }), 40);
  assert.equal(s.get("kissbot_llm_budget_usd", { channel: "big_spender", period: "day" }), 20, "its own");
  assert.equal(s.get("kissbot_llm_budget_usd", { channel: "big_spender", period: "month" }), 40, "the default's monthly");
  assert.equal(s.get("kissbot_llm_feature_budget_usd", { channel: "big_spender", feature: "ask", period: "day" }), 5);

  writeFileSync(file, BUDGETS.replace("daily_usd: 20", "daily_usd: 30"));
  bridge.proc.kill("SIGHUP");
  await until(bridge, "the new budget", (x) => x.get("kissbot_llm_budget_usd", { channel: "big_spender", period: "day" }) === 30, 15_000);
  writeFileSync(file, BUDGETS.replace("daily_usd: 20", "daily_usd: lots"));
  bridge.proc.kill("SIGHUP");
  const failed = await waitFor("the failed reload", () => bridge.logs.find((l) => l["msg"] === "budgets reload failed; keeping the running budgets"));
  assert.match(String(failed["err"]), /budgets\.yaml line 5: channels\.big_spender\.daily_usd must be a number of US dollars/);
  assert.equal((await bridge.samples()).get("kissbot_llm_budget_usd", { channel: "big_spender", period: "day" }), 30, "the running budgets are kept");
  assert.equal(bridge.proc.exitCode, null);
});

test("a bad budget file stops the bridge at start with exit 2, naming the file, the line and the fault", async () => {
  const dir = tmp();
  for (const [text, expected] of [
    ["default: { daily_usd: -1 }\n", /budgets\.yaml line 1: default\.daily_usd must be a number of US dollars from 0 to 1e9, not "-1"/],
    ["channels:\n  ok_channel:\n    weekly_usd: 3\n", /budgets\.yaml line 3: unknown key "weekly_usd" in channels\.ok_channel/],
    ["channels:\n  'not a channel': { daily_usd: 1 }\n", /budgets\.yaml line 2: channel "not a channel" is not a channel name/],
    ["default: [1, 2\n", /budgets\.yaml line \d+:/],
  ] as const) {
    const file = join(dir, "budgets.yaml");
    writeFileSync(file, text);
    const r = await runCli(["--budgets", file, "--socket", join(dir, "s.sock"), "--listen", "127.0.0.1:0", "--db", join(dir, "x.db")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, expected);
    assert.match(r.stderr, /^kissbot-bridge: invalid --budgets: /);
  }
});

test("kissbot-bridge usage --by day --csv: calls, tokens and cost per calendar day, for a spreadsheet", async (t) => {
  const dir = tmp();
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  await sendOnce(bridge.socket, call("acct", 0.5).repeat(3) + call("acct", 0.25, "=cmd|' /C calc'!A0"));
  await until(bridge, "committed", (s) => s.get("kissbot_bridge_db_rows_written_total", { table: "llm_usage" }) === 4, 15_000);
  const where = ["--url", bridge.url, "--db", join(dir, "kissbot_monitor.db")];
  const byDay = await runCli(["usage", "--by", "day", "--since", "2d", "--timezone", "Asia/Kolkata", "--csv", ...where]);
  assert.equal(byDay.code, 0, byDay.stderr);
  const lines = byDay.stdout.split("\r\n");
  assert.equal(lines[0], "day,calls,tokens_in,tokens_out,mean_latency_ms,p50_latency_ms,p95_latency_ms,cost_usd");
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata" }).format(Date.now());
  assert.equal(lines.at(-2), `${today},4,4000,400,500,500,500,1.75`);
  assert.equal(lines.at(-1), "", "CRLF after every record");
  const byFeature = await runCli(["usage", "--by", "feature", "--csv", ...where]);
  assert.match(byFeature.stdout, /^'=cmd\|' \/C calc'!A0,1,/m, "a name that looks like a formula is text in a spreadsheet");
  const bad = await runCli(["usage", "--by", "day", "--timezone", "Mars/Olympus", ...where]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid --timezone/);
});
