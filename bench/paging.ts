import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAlertingStack } from "../test/helpers/alerting-stack.js";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { PythonBot } from "../test/helpers/python-bot.js";
import { waitFor } from "../test/helpers/wait.js";

/**
 * From an incident to the page, with the shipped settings: prometheus.yml (15 s scrape and
 * evaluation), the shipped rules and routing, the bridge's defaults (--stale-after 120,
 * --sample-interval 15), and bots heartbeating every 30 s as KissBot's client does. Real
 * Prometheus and Alertmanager, a webhook recorder as the pager. Then the bridge is restarted after its outage and
 * watched for stale-after plus a minute. Takes about 9 minutes.
 */
export interface PagingResult {
  killToPageS: number;
  lastHeartbeatToStalePageS: number;
  bridgeKillToPageS: number;
  resolvedDuringOutage: number;
  /** After the bridge came back (its outage lasted `outageS`), for stale-after plus a minute. */
  afterRestart: { outageS: number; watchedS: number; pagesForHealthy: number; resolvedForDeadOrHung: number; deadStillDown: boolean };
  watchdogGapsS: number[];
}

export async function benchPaging(): Promise<PagingResult> {
  const dir = mkdtempSync(join(tmpdir(), "kb-bench-paging-"));
  const stack = await startAlertingStack(dir, 1);
  let bridge = await startBridgeProcess(["--listen", stack.bridgeAddress], { dir });
  const bots: PythonBot[] = [];
  try {
    for (const channel of ["victim", "hangs", "healthy"]) {
      const bot = await PythonBot.start(channel, bridge.socket);
      bots.push(bot);
      await bot.send("register {}");
      await bot.send("start_heartbeat 30");
    }
    await waitFor("three bots up in Prometheus", async () => ((await stack.query("count(kissbot_bot_up == 1)"))[0]?.value[1] === "3" ? true : undefined), 120_000, 1000);
    const [victim, hangs] = bots as [PythonBot, PythonBot];
    const killedAt = Date.now();
    await victim.kill();
    process.kill(hangs.proc.pid!, "SIGSTOP");
    const page = (alertname: string, channel?: string) =>
      waitFor(`${alertname} ${channel ?? ""}`, () => stack.webhook.firing("/page", channel === undefined ? { alertname } : { alertname, channel })[0], 600_000, 200);
    const down = await page("KissBotDown", "victim");
    const stale = await page("KissBotStale", "hangs");
    const lastHeartbeat = Number((await (await fetch(`${bridge.url}/metrics`)).text()).match(/^kissbot_bot_last_heartbeat_timestamp_seconds\{channel="hangs"\} (\S+)/m)![1]) * 1000;
    const bridgeKilledAt = Date.now();
    await bridge.stop("SIGKILL");
    const bridgeDown = await page("KissBotBridgeDown");
    await new Promise((r) => setTimeout(r, 60_000)); // one group_interval more, for a wrong "resolved" to show
    const resolvedDuringOutage = stack.webhook.alerts("/page").filter((a) => a.status === "resolved").length;
    // The bridge comes back after that outage: the healthy bot must not page, the dead and the
    // hung ones must not be told resolved.
    const restartedAt = Date.now();
    bridge = await startBridgeProcess(["--listen", stack.bridgeAddress], { dir, socket: bridge.socket });
    const watchMs = 180_000; // stale-after (120 s) and one more minute
    await new Promise((r) => setTimeout(r, watchMs));
    const after = stack.webhook.alerts("/page").filter((a) => a.receivedAt >= restartedAt);
    const deadStillDown = (await stack.query('kissbot_bot_status{channel="victim",status="dead"} == 1')).length === 1;
    const times = stack.webhook.alerts("/watchdog").map((a) => a.receivedAt);
    return {
      afterRestart: {
        outageS: (restartedAt - bridgeKilledAt) / 1000,
        watchedS: watchMs / 1000,
        pagesForHealthy: after.filter((a) => a.labels["channel"] === "healthy").length,
        resolvedForDeadOrHung: after.filter((a) => a.status === "resolved" && (a.labels["channel"] === "victim" || a.labels["channel"] === "hangs")).length,
        deadStillDown,
      },
      killToPageS: (down.receivedAt - killedAt) / 1000,
      lastHeartbeatToStalePageS: (stale.receivedAt - lastHeartbeat) / 1000,
      bridgeKillToPageS: (bridgeDown.receivedAt - bridgeKilledAt) / 1000,
      resolvedDuringOutage,
      watchdogGapsS: times.slice(1).map((x, i) => (x - times[i]!) / 1000),
    };
  } finally {
    for (const b of bots) {
      if (b.proc.exitCode === null && b.proc.signalCode === null) b.proc.kill("SIGKILL");
    }
    await bridge.stop();
    await stack.stop();
  }
}
