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
 * Prometheus and Alertmanager, a webhook recorder as the pager. Takes about 5 minutes.
 */
export interface PagingResult {
  killToPageS: number;
  lastHeartbeatToStalePageS: number;
  bridgeKillToPageS: number;
  resolvedDuringOutage: number;
  watchdogGapsS: number[];
}

export async function benchPaging(): Promise<PagingResult> {
  const dir = mkdtempSync(join(tmpdir(), "kb-bench-paging-"));
  const stack = await startAlertingStack(dir, 1);
  const bridge = await startBridgeProcess(["--listen", stack.bridgeAddress], { dir });
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
    const times = stack.webhook.alerts("/watchdog").map((a) => a.receivedAt);
    return {
      killToPageS: (down.receivedAt - killedAt) / 1000,
      lastHeartbeatToStalePageS: (stale.receivedAt - lastHeartbeat) / 1000,
      bridgeKillToPageS: (bridgeDown.receivedAt - bridgeKilledAt) / 1000,
      resolvedDuringOutage: stack.webhook.alerts("/page").filter((a) => a.status === "resolved").length,
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
