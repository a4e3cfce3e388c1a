import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { FIXTURES } from "../helpers/paths.js";
import { startAlertingStack } from "../helpers/alerting-stack.js";
import { waitFor, sleep } from "../helpers/wait.js";
import { PYTHON } from "../helpers/python.js";

/**
 * The spend alerts in the real Prometheus and Alertmanager, against the real bridge and bot
 * processes: the shipped rules and routing with `for` and every Alertmanager interval scaled by
 * 1/15 (KissBotLlmRunaway's `for: 2m` → 8 s). The rate windows in the expressions (10 minutes,
 * one day back) are the shipped ones.
 */
const FACTOR = 1 / 15;

function loopingBot(channel: string, callsPerSecond: number, socket: string) {
  const proc = spawn(PYTHON, [join(FIXTURES, "looping_bot.py"), channel, String(callsPerSecond)], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, KISSBOT_MONITOR_SOCKET: socket } });
  const started = new Promise<number>((resolve) => createInterface({ input: proc.stdout! }).once("line", () => resolve(Date.now())));
  return { proc, started };
}

test("a bot stuck in a loop pages KissBotLlmRunaway and, past its budget, KissBotBudgetExceeded; a bot busy at a steady rate pages nothing", { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-spend-e2e-"));
  const stack = await startAlertingStack(dir, FACTOR);
  t.after(() => stack.stop());
  const budgets = join(dir, "budgets.yaml");
  // Each call costs 0.004 USD (gpt-4o: 800 × 2.5 + 200 × 10 per 1M tokens): 1 USD is 250 calls.
  writeFileSync(budgets, "default: { daily_usd: 1 }\nchannels:\n  steady_bot: { daily_usd: 1000 }\n");
  const bridge = await startBridgeProcess(["--listen", stack.bridgeAddress, "--budgets", budgets, "--sample-interval", "1"], { dir });
  t.after(() => bridge.stop());

  const steady = loopingBot("steady_bot", 2, bridge.socket);
  t.after(() => steady.proc.kill("SIGKILL"));
  await steady.started;
  const looping = loopingBot("looping_bot", 100, bridge.socket);
  t.after(() => looping.proc.kill("SIGKILL"));
  const loopAt = await looping.started;

  const runaway = await waitFor("KissBotLlmRunaway for the looping bot", () => stack.webhook.firing("/page", { alertname: "KissBotLlmRunaway", channel: "looping_bot" })[0], 150_000, 200);
  t.diagnostic(`loop start → KissBotLlmRunaway page: ${((runaway.receivedAt - loopAt) / 1000).toFixed(1)} s (for: 2m scaled to 8 s; the 10-minute rate window as shipped)`);
  assert.equal(runaway.annotations["runbook_url"], "http://127.0.0.1:9877/runbook#kissbotllmrunaway");
  const overBudget = await waitFor("KissBotBudgetExceeded for the looping bot", () => stack.webhook.firing("/page", { alertname: "KissBotBudgetExceeded", channel: "looping_bot" })[0], 60_000, 200);
  assert.equal(overBudget.labels["period"], "day");
  t.diagnostic(`loop start → KissBotBudgetExceeded page: ${((overBudget.receivedAt - loopAt) / 1000).toFixed(1)} s`);

  await sleep(2000);
  const steadyAlerts = [...stack.webhook.alerts("/page", { channel: "steady_bot" }), ...stack.webhook.alerts("/ticket", { channel: "steady_bot" })];
  assert.deepEqual(steadyAlerts.map((a) => a.labels["alertname"]), [], "the steady bot paged nothing");
});
