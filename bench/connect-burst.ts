import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { burstWhileBlocked } from "../test/helpers/blocked-burst.js";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { FIXTURES } from "../test/helpers/paths.js";
import { PYTHON } from "../test/helpers/python.js";
import { waitFor } from "../test/helpers/wait.js";

/**
 * Connect bursts on the Monitor socket: 20,000 sends through a client that behaves like
 * KissBot's stock one (test/fixtures/stock_burst.py: asyncio, connect, write one line, drain,
 * close), 32 at a time, against a fresh bridge as users run it (database and per-bot logs on),
 * five runs. A Unix-socket connect whose accept queue is full fails at once (EAGAIN): the
 * refused share is what senders lose.
 */
const TOTAL = 20_000;
const AT_ONCE = 32;
const RUNS = 5;

export async function benchConnectBurst(): Promise<Array<{ sent: number; refused: number; seconds: number; backlog: unknown }>> {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const bridge = await startBridgeProcess(["--log-level", "info"]);
    const out = spawnSync(PYTHON, [join(FIXTURES, "stock_burst.py"), bridge.socket, String(TOTAL), String(AT_ONCE)], { encoding: "utf8" });
    const { sent, refused, seconds } = JSON.parse(out.stdout) as { sent: number; refused: number; seconds: number };
    const ready = bridge.logs.find((l) => l["msg"] === "kissbot-bridge ready") ?? {};
    await bridge.stop();
    runs.push({ sent, refused, seconds, backlog: ready["backlog"] });
  }
  return runs;
}

/**
 * The same bursts with the bridge's main thread blocked from the first connect to the last: the
 * bridge runs in this process, which busy-waits until the sender is done, as a long synchronous
 * task (a big render, a garbage collection) would hold it. Before the socket had a thread of its
 * own, everything past the kernel's accept queue was refused.
 */
export async function benchConnectBurstBlocked(): Promise<Array<{ sent: number; refused: number; seconds: number; backlog: unknown; counted: number; shed: number }>> {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const { bridge, metrics, sent, refused, seconds } = await burstWhileBlocked(TOTAL, AT_ONCE);
    // Every send the sender saw succeed is counted, or lost to a bound (and counted there).
    const value = (body: string, re: RegExp) => Number(re.exec(body)?.[1] ?? 0);
    let counted = 0;
    let shed = 0;
    await waitFor("the sends counted or shed", async () => {
      const body = await (await fetch(metrics)).text();
      counted = value(body, /^kissbot_bridge_messages_total\{message_type="llm_usage"\} (\d+)$/m);
      shed = value(body, /^kissbot_bridge_dropped_connections_total\{reason="max_connections"\} (\d+)$/m);
      return counted + shed >= sent ? true : undefined;
    }, 30_000).catch(() => {});
    await bridge.stop();
    runs.push({ sent, refused, seconds, backlog: Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8")), counted, shed });
  }
  return runs;
}

export function printConnectBurst(runs: Array<Awaited<ReturnType<typeof benchConnectBurst>>[number] & { counted?: number; shed?: number }>, blocked = false): void {
  console.log(`connect bursts on the Monitor socket${blocked ? ", the main thread blocked throughout each" : ""}: ${TOTAL.toLocaleString("en")} stock-client sends, ${AT_ONCE} at a time, ${RUNS} runs (a fresh bridge each)`);
  for (const [i, r] of runs.entries()) console.log(`  run ${i + 1}: refused ${r.refused} (${((100 * r.refused) / TOTAL).toFixed(2)}%), sent ${r.sent}, ${(TOTAL / r.seconds).toFixed(0)} sends/s; backlog ${String(r.backlog)}${r.counted === undefined ? "" : `; counted ${r.counted}, shed ${r.shed ?? 0}`}`);
}
