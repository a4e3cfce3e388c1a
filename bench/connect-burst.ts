import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { FIXTURES } from "../test/helpers/paths.js";
import { PYTHON } from "../test/helpers/python.js";

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

export function printConnectBurst(runs: Awaited<ReturnType<typeof benchConnectBurst>>): void {
  console.log(`connect bursts on the Monitor socket: ${TOTAL.toLocaleString("en")} stock-client sends, ${AT_ONCE} at a time, ${RUNS} runs (a fresh bridge each)`);
  for (const [i, r] of runs.entries()) console.log(`  run ${i + 1}: refused ${r.refused} (${((100 * r.refused) / TOTAL).toFixed(2)}%), sent ${r.sent}, ${(TOTAL / r.seconds).toFixed(0)} sends/s; backlog ${String(r.backlog)}`);
}
