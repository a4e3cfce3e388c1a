import { spawnSync } from "node:child_process";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { sendOnce } from "../test/helpers/raw-client.js";

/**
 * Faults, measured against the real bridge process (database and per-bot logs on): a burst of
 * stock-client sends (connect, write one line, close) from 64 parallel senders; the same burst
 * with SIGTERM in its middle; and a flood of idle connections with good senders beside it.
 * Reports what the senders saw (sent, refused) and what the bridge counted and stored.
 */
const line = (i: number) => `{"type":"llm_usage","channel":"burst","model":"m","feature":"f","tokens_in":${i},"tokens_out":1}\n`;

const send = sendOnce;

async function burst(path: string, total: number, senders: number, during?: (i: number) => void) {
  let next = 0;
  let sent = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (next < total) {
        const i = next++;
        during?.(i);
        if (await send(path, line(i))) sent++;
        else refused++;
      }
    }),
  );
  return { sent, refused };
}

const stored = (db: string) => Number(spawnSync("sqlite3", [db, "SELECT COUNT(*) FROM llm_usage WHERE channel = 'burst'"], { encoding: "utf8" }).stdout.trim());
const counted = (body: string) => Number(/^kissbot_bridge_messages_total\{message_type="llm_usage"\} (\d+)/m.exec(body)?.[1] ?? 0);

export async function benchFaults() {
  // 1. A burst of 20,000 sends from 64 senders.
  let bridge = await startBridgeProcess(["--log-level", "info"]);
  const b = await burst(bridge.socket, 20_000, 64);
  await new Promise((r) => setTimeout(r, 1500));
  const burstCounted = counted((await bridge.scrape()).body);
  await bridge.stop();
  const burstStored = stored(join(bridge.dir, "kissbot_monitor.db"));

  // 2. The same burst, SIGTERM after 5,000 sends.
  bridge = await startBridgeProcess(["--log-level", "info"]);
  let stopping: Promise<number | null> | undefined;
  const t = await burst(bridge.socket, 20_000, 64, (i) => {
    if (i === 5000) stopping = bridge.stop("SIGTERM");
  });
  const exitCode = await stopping;
  const stopped = bridge.logs.find((l) => l["msg"] === "kissbot-bridge stopped") ?? {};
  const termStored = stored(join(bridge.dir, "kissbot_monitor.db"));

  // 3. 2,000 idle connections, then 200 good sends.
  bridge = await startBridgeProcess(["--log-level", "info"]);
  const idle: Socket[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = connect({ path: bridge.socket });
    s.on("error", () => {});
    idle.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  const f = await burst(bridge.socket, 200, 8);
  await new Promise((r) => setTimeout(r, 500));
  const floodCounted = counted((await bridge.scrape()).body);
  for (const s of idle) s.destroy();
  await bridge.stop();

  return {
    burst: { ...b, counted: burstCounted, stored: burstStored },
    sigterm: { ...t, exitCode, accepted: Number(stopped["llmUsageAccepted"] ?? NaN), stored: termStored, dropped: Number(stopped["dbDropped"] ?? NaN) },
    flood: { ...f, counted: floodCounted },
  };
}
