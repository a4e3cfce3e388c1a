import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { holdConnections, sendOnce } from "../test/helpers/raw-client.js";

/**
 * Faults, measured against the real bridge process (database and per-bot logs on): a burst of
 * stock-client sends (connect, write one line, close) from 64 parallel senders; the same burst
 * with SIGTERM in its middle; a flood of idle connections with good senders beside it; 1,000
 * connections holding unfinished lines (memory per held byte); a million lines streamed.
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
const metric = (body: string, re: RegExp) => Number(re.exec(body)?.[1] ?? NaN);

/** Resident and peak resident memory of a process, in bytes. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

async function waitForBuffered(url: string, atLeast: number): Promise<number> {
  for (let i = 0; i < 300; i++) {
    const n = metric(await (await fetch(`${url}/metrics`)).text(), /^kissbot_bridge_buffered_line_bytes (\d+)/m);
    if (n >= atLeast) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the dripped bytes never all arrived");
}

async function waitForCount(url: string, n: number): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (counted(await (await fetch(`${url}/metrics`)).text()) >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${n} lines counted`);
}

/** `lines` llm_usage lines written on one connection, in 1,000-line writes that wait for drain. */
async function stream(path: string, lines: number, k: number): Promise<void> {
  const s = connect({ path });
  await new Promise((r) => s.once("connect", r));
  for (let i = 0; i < lines; i += 1000) {
    let chunk = "";
    for (let j = i; j < i + 1000; j++) chunk += line(k * lines + j);
    if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
  }
  await new Promise<void>((r) => s.end(() => r()));
}

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
  const idle = holdConnections({ path: bridge.socket }, 2000);
  await new Promise((r) => setTimeout(r, 200));
  const f = await burst(bridge.socket, 200, 8);
  await new Promise((r) => setTimeout(r, 500));
  const floodCounted = counted((await bridge.scrape()).body);
  for (const s of idle) s.destroy();
  await bridge.stop();

  // 4. 1,000 connections each holding 32 KiB of an unfinished line (31 MiB, under the 32 MiB bound).
  bridge = await startBridgeProcess(["--log-level", "info", "--line-timeout", "120", "--idle-timeout", "120"]);
  const pid = bridge.proc.pid!;
  await new Promise((r) => setTimeout(r, 500));
  const rssBefore = memory(pid).rss;
  const drips: Socket[] = [];
  const part = Buffer.from(`{"type":"llm_usage","channel":"${"d".repeat(32 * 1024)}`);
  await Promise.all(
    Array.from({ length: 1000 }, async () => {
      const s = connect({ path: bridge.socket });
      s.on("error", () => {});
      drips.push(s);
      await new Promise((r) => s.once("connect", r));
      // Dripped in 1 KiB pieces: the worst case for a buffer that grows.
      for (let o = 0; o < part.length; o += 1024) await new Promise((r) => s.write(part.subarray(o, o + 1024), r));
    }),
  );
  const held = await waitForBuffered(bridge.url, 1000 * part.length);
  const rssHeld = memory(pid).rss;
  const dripDropped = metric((await bridge.scrape()).body, /^kissbot_bridge_dropped_connections_total\{reason="buffer_limit"\} (\d+)/m);
  for (const s of drips) s.destroy();
  await bridge.stop();

  // 5. 1,000,000 lines streamed on 8 connections as fast as the bridge reads them.
  bridge = await startBridgeProcess(["--log-level", "info"]);
  const streamPid = bridge.proc.pid!;
  const streamStart = performance.now();
  await Promise.all(Array.from({ length: 8 }, (_, k) => stream(bridge.socket, 125_000, k)));
  await waitForCount(bridge.url, 1_000_000);
  const streamS = (performance.now() - streamStart) / 1000;
  const streamPeak = memory(streamPid).peak;
  const streamBody = (await bridge.scrape()).body;
  await bridge.stop();
  const streamStored = stored(join(bridge.dir, "kissbot_monitor.db"));

  return {
    burst: { ...b, counted: burstCounted, stored: burstStored },
    drip: { connections: 1000, bufferedBytes: held, rssGrowth: rssHeld - rssBefore, shed: dripDropped },
    stream: { lines: 1_000_000, seconds: streamS, peakRss: streamPeak, stored: streamStored, dropped: metric(streamBody, /^kissbot_bridge_db_dropped_rows_total (\d+)/m) },
    sigterm: { ...t, exitCode, accepted: Number(stopped["llmUsageAccepted"] ?? NaN), stored: termStored, dropped: Number(stopped["dbDropped"] ?? NaN) },
    flood: { ...f, counted: floodCounted },
  };
}
