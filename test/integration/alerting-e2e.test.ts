import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { freePort, startService, WebhookRecorder } from "../helpers/services.js";
import { dashboardQueries } from "../helpers/promql.js";
import { waitFor, sleep } from "../helpers/wait.js";

/**
 * The repo's alert rules, recording rules, Alertmanager routing and dashboards, run by the real
 * Prometheus and Alertmanager against the real bridge and real bot processes, from the same files
 * docker-compose.yml uses. Only addresses and timings are changed for the test: scrape and
 * evaluation every 1 s, --stale-after 2 s. The rules' own `for` durations and the routing's
 * group_wait are the shipped ones.
 */
test("alerts page for a hung bot and a killed one, never for a graceful exit; a bridge outage pages once and inhibits the bots' alerts", { timeout: 420_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-e2e-"));
  const webhook = new WebhookRecorder();
  await webhook.start();
  t.after(() => webhook.stop());

  const amPort = await freePort();
  const amConfig = join(dir, "alertmanager.yml");
  const shipped = readFileSync(join(REPO_ROOT, "alertmanager", "alertmanager.yml"), "utf8");
  assert.match(shipped, /http:\/\/127\.0\.0\.1:5001\//);
  writeFileSync(amConfig, shipped.replaceAll("http://127.0.0.1:5001/", `http://127.0.0.1:${webhook.port}/`));
  const am = await startService("alertmanager", "prometheus-alertmanager", [
    `--config.file=${amConfig}`,
    `--storage.path=${join(dir, "am-data")}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    "--cluster.listen-address=",
  ], `http://127.0.0.1:${amPort}`);
  t.after(() => am.stop());

  const bridge = await startBridgeProcess(["--stale-after", "2", "--sample-interval", "0.5"], { dir });
  t.after(() => bridge.stop());
  const bridgeTarget = bridge.url.replace("http://", "");

  const promPort = await freePort();
  const promConfig = join(dir, "prometheus.yml");
  // The shipped prometheus.yml (the one docker-compose.yml uses), with this machine's addresses
  // and the test's short intervals.
  let promYml = readFileSync(join(REPO_ROOT, "prometheus", "prometheus.yml"), "utf8");
  for (const [from, to] of [
    ["scrape_interval: 15s", "scrape_interval: 1s"],
    ["evaluation_interval: 15s", "evaluation_interval: 1s"],
    ['"alertmanager:9093"', `"127.0.0.1:${amPort}"`],
    ['"bridge:9877"', `"${bridgeTarget}"`],
    ["- rules/*.yml", `- ${join(REPO_ROOT, "prometheus", "rules")}/*.yml`],
  ] as const) {
    assert.ok(promYml.includes(from), `prometheus.yml has ${from}`);
    promYml = promYml.replaceAll(from, to);
  }
  writeFileSync(promConfig, promYml);
  const prom = await startService("prometheus", "prometheus", [
    `--config.file=${promConfig}`,
    `--storage.tsdb.path=${join(dir, "prom-data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    // Field notes: resend quickly, or the first notification may wait a minute.
    "--rules.alert.resend-delay=1s",
  ], `http://127.0.0.1:${promPort}`);
  t.after(() => prom.stop());
  const query = async (expr: string) => {
    const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
    return body.data.result;
  };

  const bots: Record<string, PythonBot> = {};
  for (const channel of ["stale_bot", "killed_bot", "leaving_bot", "busy_bot"]) {
    const bot = await PythonBot.start(channel, bridge.socket);
    t.after(() => bot.exit());
    bots[channel] = bot;
    assert.equal(await bot.send('register {"llm": true, "translator": false}'), "True");
    await bot.send("start_heartbeat 0.5");
  }
  const busy = bots["busy_bot"]!;
  let busyWorking = true;
  const busyLoop = (async () => {
    for (let i = 0; busyWorking; i++) {
      await busy.send(`raw {"type":"llm_usage","channel":"busy_bot","model":"gpt-4o","feature":"${i % 2 ? "jokes" : "translator"}","tokens_in":${100 + i},"tokens_out":40,"latency_ms":${200 + (i % 5) * 300},"estimated_cost":0.002}`);
      await busy.send(`raw {"type":"custom_metric","channel":"busy_bot","metric_name":"queue_depth","value":${i % 7}}`);
      await sleep(250);
    }
  })();

  await waitFor("Prometheus to see four bots up", async () => ((await query("count(kissbot_bot_up == 1)"))[0]?.value[1] === "4" ? true : undefined), 30_000, 250);

  // Every panel query of every dashboard returns data while bots are active.
  for (const file of ["kissbot-overview.json", "kissbot-bot.json"]) {
    const d = JSON.parse(readFileSync(join(REPO_ROOT, "grafana", "dashboards", file), "utf8")) as Parameters<typeof dashboardQueries>[0];
    for (const q of dashboardQueries(d)) {
      const expr = q.expr.replaceAll("$channel", "busy_bot").replaceAll("$__rate_interval", "30s");
      const result = await waitFor(`data for ${file} "${q.panel}": ${expr}`, async () => {
        const r = await query(expr);
        return r.length > 0 ? r : undefined;
      }, 30_000, 500);
      assert.ok(result.length > 0);
    }
  }
  t.diagnostic("every dashboard query returned data");

  // Now the incidents, all at once.
  const stale = bots["stale_bot"]!;
  await stale.send("stop_heartbeat");
  await stale.send("heartbeat");
  const lastHeartbeat = Date.now();
  await bots["killed_bot"]!.kill();
  const killedAt = Date.now();
  await bots["leaving_bot"]!.send("stop_heartbeat");
  assert.equal(await bots["leaving_bot"]!.send("unregister"), "True");

  const stalePage = await waitFor("KissBotStale for stale_bot at the pager", () => webhook.firing("/page", { alertname: "KissBotStale", channel: "stale_bot" })[0], 180_000, 250);
  assert.equal(stalePage.labels["severity"], "critical");
  assert.match(stalePage.annotations["description"]!, /^Bot stale_bot has sent no heartbeat for /);
  assert.equal(stalePage.annotations["runbook_url"], "docs/runbook.md#kissbotstale");
  const downPage = await waitFor("KissBotDown for killed_bot at the pager", () => webhook.firing("/page", { alertname: "KissBotDown", channel: "killed_bot" })[0], 180_000, 250);
  assert.equal(downPage.labels["instance"], bridgeTarget);
  t.diagnostic(`last heartbeat → KissBotStale page: ${((stalePage.receivedAt - lastHeartbeat) / 1000).toFixed(1)} s; SIGKILL → KissBotDown page: ${((downPage.receivedAt - killedAt) / 1000).toFixed(1)} s`);

  await sleep(5000);
  const allAlerts = webhook.notifications.flatMap((n) => n.alerts);
  assert.deepEqual(allAlerts.filter((a) => a.labels["channel"] === "leaving_bot"), [], "a graceful unregister pages nobody");
  assert.deepEqual(allAlerts.filter((a) => a.labels["channel"] === "busy_bot"), [], "a healthy bot pages nobody");
  assert.ok(webhook.firing("/watchdog", { alertname: "Watchdog" }).length > 0, "the Watchdog reaches the dead man's switch");

  // The bridge goes away: one page for it, and the bots' alerts are inhibited.
  busyWorking = false;
  await busyLoop;
  const bridgeStopped = Date.now();
  await bridge.stop();
  const bridgePage = await waitFor("KissBotBridgeDown at the pager", () => webhook.firing("/page", { alertname: "KissBotBridgeDown" })[0], 180_000, 250);
  assert.equal(bridgePage.labels["instance"], bridgeTarget);
  t.diagnostic(`bridge stopped → KissBotBridgeDown page: ${((bridgePage.receivedAt - bridgeStopped) / 1000).toFixed(1)} s`);

  const synthetic = { alertname: "KissBotStale", severity: "critical", channel: "synthetic_bot", instance: bridgeTarget, job: "kissbot-bridge" };
  const posted = await fetch(`${am.url}/api/v2/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([{ labels: synthetic, annotations: { summary: "a bot alert raised while its bridge is down" }, startsAt: new Date().toISOString() }]),
  });
  assert.equal(posted.status, 200);
  const inhibited = await waitFor("the bot alert to be inhibited", async () => {
    const res = await fetch(`${am.url}/api/v2/alerts?filter=${encodeURIComponent('channel="synthetic_bot"')}`);
    const list = (await res.json()) as { status: { state: string; inhibitedBy: string[] } }[];
    return list[0]?.status.state === "suppressed" ? list[0] : undefined;
  }, 20_000, 250);
  assert.ok(inhibited.status.inhibitedBy.length > 0);
  await sleep(12_000); // past the critical route's group_wait
  assert.deepEqual(webhook.firing("/page", { channel: "synthetic_bot" }), [], "no page for a bot while its bridge is down");
});
