/**
 * A tiny bot monitored by kissbot-bridge: registers, heartbeats, reports a fake LLM call every
 * few seconds, and unregisters on Ctrl-C. Run the bridge, then: node dist/examples/node-bot.js
 */
import { MonitorClient } from "kissbot-bridge/client";

const channel = process.argv[2] ?? "example_channel";
const client = new MonitorClient({ channel, pid: process.pid });

if (!(await client.register({ llm: true, translator: false }))) {
  console.warn("Monitor unavailable, continuing without monitoring");
}
await client.startHeartbeat(Number(process.env["HEARTBEAT_SECONDS"] ?? 30));

const work = setInterval(async () => {
  const started = Date.now();
  await new Promise((r) => setTimeout(r, 50 + Math.random() * 200)); // the "LLM call"
  await client.logLlmUsage({
    model: "gpt-4o-mini",
    feature: "jokes",
    tokensIn: 120,
    tokensOut: 40,
    latencyMs: Date.now() - started,
    estimatedCostUsd: 0.0001,
  });
}, 3000);

process.once("SIGINT", async () => {
  clearInterval(work);
  await client.stopHeartbeat();
  await client.unregister();
  console.log("unregistered, bye");
});
