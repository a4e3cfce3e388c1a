import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startAlertingStack } from "../test/helpers/alerting-stack.js";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { FIXTURES } from "../test/helpers/paths.js";

/**
 * With the shipped settings (15 s scrape and evaluation, `for: 2m`, group_wait 10 s), the time
 * from a bot starting to loop at `callsPerSecond` to the KissBotLlmRunaway page, on a fresh
 * Prometheus (no record of yesterday: the 5 calls/s floor applies).
 */
export async function benchRunaway(callsPerSecond = 20) {
  const dir = mkdtempSync(join(tmpdir(), "kb-bench-runaway-"));
  const stack = await startAlertingStack(dir, 1);
  const bridge = await startBridgeProcess(["--listen", stack.bridgeAddress, "--log-level", "info"], { dir });
  const proc = spawn("python3", [join(FIXTURES, "looping_bot.py"), "looping_bot", String(callsPerSecond)], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, KISSBOT_MONITOR_SOCKET: bridge.socket } });
  try {
    const loopAt = await new Promise<number>((resolve) => createInterface({ input: proc.stdout! }).once("line", () => resolve(Date.now())));
    for (;;) {
      const page = stack.webhook.firing("/page", { alertname: "KissBotLlmRunaway", channel: "looping_bot" })[0];
      if (page !== undefined) return { callsPerSecond, seconds: (page.receivedAt - loopAt) / 1000 };
      if (Date.now() - loopAt > 900_000) throw new Error("no page within 15 minutes");
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    proc.kill("SIGKILL");
    await bridge.stop();
    await stack.stop();
  }
}
