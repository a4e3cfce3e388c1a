import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess, type BridgeProcess } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { startAlertingStack } from "../helpers/alerting-stack.js";
import { dashboardQueries } from "../helpers/promql.js";
import { waitFor, sleep } from "../helpers/wait.js";

/**
 * The shipped rules, recording rules, routing and dashboards, run by the real Prometheus and
 * Alertmanager against the real bridge and real bot processes, with every interval and threshold
 * scaled by one factor (1/15): scrape and evaluation 1 s, `for: 30s` → 2 s, `for: 1m` → 4 s,
 * group_wait 10 s → 667 ms, group_interval 1 m → 4 s, --stale-after 120 s → 8 s, samples and
 * heartbeats every 1 s and 2 s. Every notification, firing and resolved, is recorded per receiver.
 */
const FACTOR = 1 / 15;
const scaled = (shippedMs: number) => shippedMs * FACTOR;
const GROUP_INTERVAL_MS = scaled(60_000);

type Key = string;
const key = (a: { labels: Record<string, string> }): Key => `${a.labels["alertname"]}/${a.labels["channel"] ?? ""}`;

test("paging truth: hung and killed bots page; a bridge outage pages once and resolves no bot; a restart pages no healthy bot; Watchdog keeps its cadence", { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-e2e-"));
  const stack = await startAlertingStack(dir, FACTOR);
  t.after(() => stack.stop());
  const { webhook, query } = stack;
  // Budgets far above what the bots spend here: the dashboards' spend-vs-budget panels get data.
  const budgets = join(dir, "budgets.yaml");
  writeFileSync(budgets, "default: { daily_usd: 1000, monthly_usd: 10000 }\n");
  const bridgeArgs = ["--listen", stack.bridgeAddress, "--stale-after", String(scaled(120)), "--sample-interval", String(scaled(15)), "--budgets", budgets];
  let bridge: BridgeProcess = await startBridgeProcess(bridgeArgs, { dir });
  const socket = bridge.socket;
  t.after(() => bridge.stop());

  const bots: Record<string, PythonBot> = {};
  const startBot = async (channel: string) => {
    const bot = await PythonBot.start(channel, socket);
    // SIGKILL works on a stopped (SIGSTOP) bot too, whatever state a failed run left it in.
    t.after(() => bot.kill());
    bots[channel] = bot;
    assert.equal(await bot.send('register {"llm": true, "translator": false}'), "True");
    await bot.send(`start_heartbeat ${scaled(30)}`);
    return bot;
  };
  for (const channel of ["healthy", "hung", "killed", "leaving", "hangs_in_outage"]) await startBot(channel);
  let busy = true;
  const busyLoop = (async () => {
    for (let i = 0; busy; i++) {
      await bots["healthy"]!.send(`raw {"type":"llm_usage","channel":"healthy","model":"gpt-4o","feature":"${i % 2 ? "jokes" : "translator"}","tokens_in":${100 + i},"tokens_out":40,"latency_ms":${200 + (i % 5) * 300},"estimated_cost":0.002}`);
      await bots["healthy"]!.send(`raw {"type":"custom_metric","channel":"healthy","metric_name":"queue_depth","value":${i % 7}}`);
      await sleep(250);
    }
  })();
  await waitFor("Prometheus to see five bots up", async () => ((await query("count(kissbot_bot_up == 1)"))[0]?.value[1] === "5" ? true : undefined), 30_000, 250);

  // Every panel query of every dashboard returns data while bots are active.
  for (const file of ["kissbot-overview.json", "kissbot-bot.json"]) {
    const d = JSON.parse(readFileSync(join(REPO_ROOT, "grafana", "dashboards", file), "utf8")) as Parameters<typeof dashboardQueries>[0];
    for (const q of dashboardQueries(d)) {
      const expr = q.expr.replaceAll("$channel", "healthy").replaceAll("$__rate_interval", "30s");
      await waitFor(`data for ${file} "${q.panel}": ${expr}`, async () => ((await query(expr)).length > 0 ? true : undefined), 30_000, 500);
    }
  }
  t.diagnostic("every dashboard query returned data");

  // Incidents: one bot hangs, one is killed, one stops gracefully and is restarted at once
  // (KissBot's shutdown: stop the heartbeat, unregister twice).
  const hungAt = Date.now();
  process.kill(bots["hung"]!.proc.pid!, "SIGSTOP");
  const killedAt = Date.now();
  await bots["killed"]!.kill();
  const leaving = bots["leaving"]!;
  await leaving.send("stop_heartbeat");
  await leaving.send("unregister");
  await leaving.send("unregister");
  await leaving.exit();
  await startBot("leaving");

  const stalePage = await waitFor("KissBotStale for the hung bot", () => webhook.firing("/page", { alertname: "KissBotStale", channel: "hung" })[0], 60_000, 100);
  assert.equal(stalePage.annotations["runbook_url"], "http://127.0.0.1:9877/runbook#kissbotstale", "an absolute runbook link, from prometheus.yml's kissbot_runbook_url");
  const downPage = await waitFor("KissBotDown for the killed bot", () => webhook.firing("/page", { alertname: "KissBotDown", channel: "killed" })[0], 60_000, 100);
  t.diagnostic(`(scaled 1/15) hang → page ${((stalePage.receivedAt - hungAt) / 1000).toFixed(1)} s; kill → page ${((downPage.receivedAt - killedAt) / 1000).toFixed(1)} s`);

  // The bridge is killed while one bot is down and one hung: one page, for the bridge, and no
  // "resolved" for either bot.
  busy = false;
  await busyLoop;
  const pagesBefore = new Set(webhook.firing("/page", {}).map(key));
  const bridgeKilledAt = Date.now();
  await bridge.stop("SIGKILL");
  process.kill(bots["hangs_in_outage"]!.proc.pid!, "SIGSTOP");
  const bridgePage = await waitFor("KissBotBridgeDown", () => webhook.firing("/page", { alertname: "KissBotBridgeDown" })[0], 60_000, 100);
  t.diagnostic(`(scaled 1/15) bridge killed → page ${((bridgePage.receivedAt - bridgeKilledAt) / 1000).toFixed(1)} s`);
  await sleep(3 * GROUP_INTERVAL_MS); // room for any wrong notification to arrive
  const newPages = [...new Set(webhook.firing("/page", {}).map(key))].filter((k) => !pagesBefore.has(k));
  assert.deepEqual(newPages, ["KissBotBridgeDown/"], "exactly one new page: the bridge");
  assert.deepEqual(webhook.alerts("/page").filter((a) => a.status === "resolved").map(key), [], "nothing resolved while the bridge is down");

  // The bridge comes back: the dead bot is still dead, the hung one still hung, the healthy one
  // never pages, and the one that hung during the outage pages once its grace has run out.
  const restartedAt = Date.now();
  bridge = await startBridgeProcess(bridgeArgs, { dir, socket });
  await waitFor("KissBotBridgeDown resolved", () => webhook.alerts("/page", { alertname: "KissBotBridgeDown" }).find((a) => a.status === "resolved"), 60_000, 100);
  const lateHang = await waitFor("KissBotStale for the bot that hung during the outage", () => webhook.firing("/page", { alertname: "KissBotStale", channel: "hangs_in_outage" })[0], 60_000, 100);
  t.diagnostic(`(scaled 1/15) bridge restart → page for the bot that hung while it was down: ${((lateHang.receivedAt - restartedAt) / 1000).toFixed(1)} s (grace: one --stale-after)`);
  const s = new Map((await query("kissbot_bot_status == 1")).map((r) => [r.metric["channel"]!, r.metric["status"]!]));
  assert.equal(s.get("killed"), "dead", "dead stays dead across the restart");
  const api = (await (await fetch(`${bridge.url}/api/bots`)).json()) as { bots: { channel: string; status: string; pid: number }[] };
  assert.equal(api.bots.find((b) => b.channel === "killed")?.status, "dead", "and /api/bots (what `kissbot-bridge status` shows) says so");
  assert.equal(s.get("hung"), "stale");
  assert.equal(s.get("healthy"), "online");
  assert.deepEqual(webhook.alerts("/page").filter((a) => a.status === "resolved" && a.labels["channel"] !== undefined).map(key), [], "no bot resolved by the restart");

  // Recovery: the hung bots resume, the dead one is started again; only now do they resolve.
  const recoveredAt = Date.now();
  process.kill(bots["hung"]!.proc.pid!, "SIGCONT");
  process.kill(bots["hangs_in_outage"]!.proc.pid!, "SIGCONT");
  await startBot("killed");
  for (const [alertname, channel] of [["KissBotStale", "hung"], ["KissBotDown", "killed"], ["KissBotStale", "hangs_in_outage"]] as const) {
    const resolved = await waitFor(`${alertname} ${channel} resolved`, () => webhook.alerts("/page", { alertname, channel }).find((a) => a.status === "resolved"), 60_000, 100);
    assert.ok(resolved.receivedAt >= recoveredAt, `${alertname} ${channel} resolved only after the bot recovered`);
  }

  // The whole record of the pager.
  const fired = [...new Set(webhook.firing("/page", {}).map(key))].sort();
  assert.deepEqual(fired, ["KissBotBridgeDown/", "KissBotDown/killed", "KissBotStale/hangs_in_outage", "KissBotStale/hung"], "the healthy bot and the graceful restart never paged");
  for (const a of webhook.alerts("/page").filter((x) => x.status === "resolved")) {
    assert.ok(webhook.firing("/page", {}).some((f) => key(f) === key(a) && f.receivedAt <= a.receivedAt), `${key(a)} resolved after it fired`);
  }
  assert.deepEqual(webhook.alerts("/ticket"), [], "no ticket either");

  // The dead man's switch gets the Watchdog every group_interval (1 minute shipped), not every 2.
  const times = webhook.alerts("/watchdog").map((a) => a.receivedAt);
  const gaps = times.slice(1).map((x, i) => x - times[i]!).sort((a, b) => a - b);
  assert.ok(gaps.length >= 10, `${gaps.length} Watchdog intervals observed`);
  const median = gaps[Math.floor(gaps.length / 2)]!;
  t.diagnostic(`Watchdog: ${gaps.length} intervals, median ${(median / 1000).toFixed(2)} s (group_interval ${(GROUP_INTERVAL_MS / 1000).toFixed(2)} s)`);
  assert.ok(median < 1.5 * GROUP_INTERVAL_MS && median > 0.5 * GROUP_INTERVAL_MS, `Watchdog every ${median} ms, documented ${GROUP_INTERVAL_MS} ms`);
});
