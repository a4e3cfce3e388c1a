import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess, type BridgeProcess } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { REPO_ROOT } from "../helpers/paths.js";
import { ALERTMANAGER_KEYS, PROMETHEUS_KEYS, scaleDurations } from "../helpers/alerting-stack.js";
import { freePort, startService, WebhookRecorder, type Service } from "../helpers/services.js";
import { dashboardQueries } from "../helpers/promql.js";
import { fileURLToPath } from "node:url";
import { insideNamespace, insideNetworkNamespace, makeHosts, type NetHost } from "../helpers/netns.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Many hosts, for real: three network namespaces made here, each with one bridge, its own bots
 * and database; one central Prometheus in the root namespace scraping them over TLS with basic
 * auth through file_sd_configs (prometheus/fleet/prometheus.yml as shipped), the shipped rules and
 * routing, and remote_write to a second Prometheus (the long-term store's stand-in). Every
 * interval is scaled by 1/15, as in the single-host end-to-end test.
 */
const FACTOR = 1 / 15;

type Query = (expr: string) => Promise<{ metric: Record<string, string>; value: [number, string] }[]>;

function queryOf(service: Service): Query {
  return async (expr) => {
    const res = await fetch(`${service.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
    return body.data.result;
  };
}

function scrapeOnce(address: string, ca: Buffer, auth?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: address, port: 9877, path: "/metrics", ca, headers: auth === undefined ? {} : { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    })
      .on("error", reject)
      .end();
  });
}

/** The shipped fleet config, its paths and addresses pointed at this test's. */
function fleetPrometheusConfig(dir: string, tls: string, amPort: number, longTermPort: number): string {
  const rulesDir = join(dir, "rules");
  mkdirSync(rulesDir, { recursive: true });
  for (const f of readdirSync(join(REPO_ROOT, "prometheus", "rules"))) writeFileSync(join(rulesDir, f), scaleDurations(readFileSync(join(REPO_ROOT, "prometheus", "rules", f), "utf8"), FACTOR, PROMETHEUS_KEYS));
  let yml = scaleDurations(readFileSync(join(REPO_ROOT, "prometheus", "fleet", "prometheus.yml"), "utf8"), FACTOR, PROMETHEUS_KEYS);
  for (const [from, to] of [
    ["/etc/prometheus/rules/*.yml", `${rulesDir}/*.yml`],
    ['"alertmanager:9093"', `"127.0.0.1:${amPort}"`],
    ["/etc/prometheus/kissbot/ca.crt", join(tls, "ca.crt")],
    ["/etc/prometheus/kissbot/prometheus-password", join(tls, "prometheus-password")],
    ["/etc/prometheus/targets/kissbot-bridges.yml", join(dir, "kissbot-bridges.yml")],
    ["http://longterm.example.internal:9090/api/v1/write", `http://127.0.0.1:${longTermPort}/api/v1/write`],
  ] as const) {
    if (!yml.includes(from)) throw new Error(`prometheus/fleet/prometheus.yml no longer has ${from}`);
    yml = yml.replaceAll(from, to);
  }
  const path = join(dir, "prometheus.yml");
  writeFileSync(path, yml);
  return path;
}

const NAME = "a fleet of three hosts: scraped over TLS with basic auth, one bot per host and channel, one host's outage pages once for that host only, dashboards per host, remote_write to a long-term store";

// The hosts are network namespaces: this file runs again inside a user namespace of its own,
// where a normal user may make them.
if (insideNamespace) test(NAME, { timeout: 300_000 }, fleet);
else insideNetworkNamespace(`${NAME} (in a user and network namespace, no root needed)`, fileURLToPath(import.meta.url), 400_000);

async function fleet(t: TestContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "kb-fleet-"));
  // Undone newest first: Prometheus stops before the store it writes to (else it waits a minute
  // to flush its remote_write queue), the bridges before their network goes.
  const undo: Array<() => unknown> = [];
  t.after(async () => {
    for (const f of undo.reverse()) await f();
  });
  const net = await makeHosts("kbf", 3);
  undo.push(() => net.remove());
  const hosts = net.hosts;
  // One CA, one certificate per host, the scrape password: the README's first-try script.
  const tls = join(dir, "tls");
  execFileSync(join(REPO_ROOT, "scripts", "first-tls.sh"), [tls, ...hosts.map((h) => h.address)], { stdio: ["ignore", "ignore", "inherit"] });
  const ca = readFileSync(join(tls, "ca.crt"));
  const password = readFileSync(join(tls, "prometheus-password"), "utf8");

  const webhook = new WebhookRecorder();
  await webhook.start();
  undo.push(() => webhook.stop());
  const amPort = await freePort();
  const amConfig = join(dir, "alertmanager.yml");
  writeFileSync(amConfig, scaleDurations(readFileSync(join(REPO_ROOT, "alertmanager", "alertmanager.yml"), "utf8"), FACTOR, ALERTMANAGER_KEYS).replaceAll("http://127.0.0.1:5001/", `http://127.0.0.1:${webhook.port}/`));
  const alertmanager = await startService("alertmanager", "prometheus-alertmanager", [`--config.file=${amConfig}`, `--storage.path=${join(dir, "am")}`, `--web.listen-address=127.0.0.1:${amPort}`, "--cluster.listen-address="], `http://127.0.0.1:${amPort}`);
  undo.push(() => alertmanager.stop());
  const longTermPort = await freePort();
  const longTerm = await startService("long-term store", "prometheus", [`--config.file=${join(REPO_ROOT, "test", "fixtures", "empty-prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "longterm")}`, `--web.listen-address=127.0.0.1:${longTermPort}`, "--web.enable-remote-write-receiver"], `http://127.0.0.1:${longTermPort}`);
  undo.push(() => longTerm.stop());

  // Each host: its bridge, secured, listening on the host's own address; its bots beside it.
  const bridges: BridgeProcess[] = [];
  const bots: PythonBot[] = [];
  undo.push(async () => {
    for (const b of bots) await b.kill();
    for (const b of bridges) await b.stop();
  });
  const channels = [["alpha", "shared"], ["beta", "shared"], ["gamma"]];
  const botsOf = new Map<string, PythonBot>();
  for (const [i, host] of hosts.entries()) {
    const hostDir = join(dir, host.name);
    mkdirSync(hostDir);
    const bridge = await startBridgeProcess(["--listen", `${host.address}:9877`, "--web.config.file", join(tls, host.address, "web.yml"), "--sample-interval", String(15 * FACTOR), "--stale-after", String(120 * FACTOR)], { dir: hostDir, wrap: host.exec });
    bridges.push(bridge);
    for (const channel of channels[i]!) {
      const bot = await PythonBot.start(channel, bridge.socket, host.exec);
      bots.push(bot);
      botsOf.set(`${host.name}/${channel}`, bot);
      await bot.send('register {"llm": true}');
      await bot.send(`start_heartbeat ${30 * FACTOR}`);
      await bot.send("llm gpt-4o-mini ask 120 40 300");
    }
  }
  const hostLabel = (h: NetHost) => h.name.replace("kbf", "host-");
  writeFileSync(join(dir, "kissbot-bridges.yml"), hosts.map((h) => `- targets: ["${h.address}:9877"]\n  labels:\n    host: ${hostLabel(h)}\n`).join(""));
  const promPort = await freePort();
  const prometheus = await startService("prometheus", "prometheus", [`--config.file=${fleetPrometheusConfig(dir, tls, amPort, longTermPort)}`, `--storage.tsdb.path=${join(dir, "prom")}`, `--web.listen-address=127.0.0.1:${promPort}`, `--rules.alert.resend-delay=${Math.round(60_000 * FACTOR)}ms`], `http://127.0.0.1:${promPort}`);
  undo.push(() => prometheus.stop());
  const query = queryOf(prometheus);

  // Scraping without credentials is refused; with them, over TLS, it works.
  assert.equal(await scrapeOnce(hosts[0]!.address, ca), 401);
  assert.equal(await scrapeOnce(hosts[0]!.address, ca, "prometheus:wrong"), 401);
  assert.equal(await scrapeOnce(hosts[0]!.address, ca, `prometheus:${password}`), 200);

  await waitFor("the central Prometheus to scrape three bridges and five bots", async () => ((await query('count(up{job="kissbot-bridge"} == 1)'))[0]?.value[1] === "3" && (await query("count(kissbot_bot_up == 1)"))[0]?.value[1] === "5" ? true : undefined), 60_000, 250);
  // Every bot's series carry their host; the same channel on two hosts is two bots.
  const shared = await query('kissbot_bot_up{channel="shared"}');
  assert.deepEqual(shared.map((r) => r.metric["host"]).sort(), ["host-1", "host-2"]);
  assert.deepEqual(shared.map((r) => r.metric["instance"]).sort(), [`${hosts[0]!.address}:9877`, `${hosts[1]!.address}:9877`]);

  // The fleet dashboard: its host variable lists the three, and every query has a row per host.
  const fleet = JSON.parse(readFileSync(join(REPO_ROOT, "grafana", "dashboards", "kissbot-fleet.json"), "utf8")) as Parameters<typeof dashboardQueries>[0] & { templating: { list: { name: string; query?: string }[] } };
  assert.equal(fleet.templating.list.find((v) => v.name === "host")?.query, 'label_values(up{job="kissbot-bridge"}, host)');
  const values = (await (await fetch(`${prometheus.url}/api/v1/label/host/values?match[]=${encodeURIComponent('up{job="kissbot-bridge"}')}`)).json()) as { data: string[] };
  assert.deepEqual(values.data, ["host-1", "host-2", "host-3"]);
  await waitFor("every fleet panel with a row per host", async () => {
    for (const q of dashboardQueries(fleet)) {
      const rows = await query(q.expr.replaceAll("$host", ".*").replaceAll("$__rate_interval", "15s"));
      const seen = new Set(rows.map((r) => r.metric["host"]));
      if (seen.size !== 3) return undefined;
    }
    return true;
  }, 30_000, 500);

  // The long-term store got the bots' series through remote_write, host label and all.
  await waitFor("a bot's series in the long-term store", async () => ((await queryOf(longTerm)('kissbot_bot_up{channel="gamma"}'))[0]?.metric["host"] === "host-3" ? true : undefined), 30_000, 500);

  // beta dies on host 2 and pages; then host 2's bridge dies: one KissBotBridgeDown for host 2,
  // which inhibits host 2's bot alerts; gamma dying on host 3 meanwhile still pages.
  await botsOf.get("kbf2/beta")!.kill();
  await waitFor("KissBotDown for beta", () => (webhook.firing("/page", { alertname: "KissBotDown", channel: "beta" }).length > 0 ? true : undefined), 30_000, 100);
  bridges[1]!.proc.kill("SIGKILL");
  await waitFor("KissBotBridgeDown for host 2", () => (webhook.firing("/page", { alertname: "KissBotBridgeDown" }).length > 0 ? true : undefined), 30_000, 100);
  await botsOf.get("kbf3/gamma")!.kill();
  await waitFor("KissBotDown for gamma", () => (webhook.firing("/page", { alertname: "KissBotDown", channel: "gamma" }).length > 0 ? true : undefined), 30_000, 100);
  const bridgeDown = webhook.firing("/page", { alertname: "KissBotBridgeDown" });
  assert.deepEqual([...new Set(bridgeDown.map((a) => `${a.labels["instance"]} ${a.labels["host"]}`))], [`${hosts[1]!.address}:9877 host-2`], "one host down, named");
  const am = (await (await fetch(`${alertmanager.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="KissBotDown"')}`)).json()) as { labels: Record<string, string>; status: { inhibitedBy: string[] } }[];
  const byChannel = new Map(am.map((a) => [a.labels["channel"], a.status.inhibitedBy.length > 0]));
  assert.equal(byChannel.get("beta"), true, "host 2's bot alert is inhibited by its bridge's outage");
  assert.equal(byChannel.get("gamma"), false, "host 3's is not");
  assert.equal(webhook.alerts("/page", { alertname: "KissBotDown", channel: "beta" }).filter((a) => a.status === "resolved").length, 0, "the outage never resolves beta");
}
