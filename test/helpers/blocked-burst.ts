import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseCommandLine, type Config } from "../../src/config/config.js";
import { startBridge, type RunningBridge } from "../../src/main.js";
import { FIXTURES } from "./paths.js";
import { PYTHON } from "./python.js";

export type BlockedBurst = { bridge: RunningBridge; metrics: string; sent: number; refused: number; seconds: number };

/**
 * A bridge in this process (database and per-bot logs on), and `total` stock-client sends,
 * `atOnce` at a time (test/fixtures/stock_burst.py), made while this thread, the bridge's main
 * thread, busy-waits from the first connect to the last, as a long synchronous task would hold
 * it. The caller stops the bridge.
 */
export async function burstWhileBlocked(total: number, atOnce: number): Promise<BlockedBurst> {
  const dir = mkdtempSync(join(tmpdir(), "kb-burst-"));
  const parsed = parseCommandLine(["--socket", join(dir, "monitor.sock"), "--db", join(dir, "k.db"), "--channel-log-dir", join(dir, "logs"), "--listen", "127.0.0.1:0"], {});
  if (parsed.kind !== "run") throw new Error("the bridge's flags did not parse");
  const bridge = await startBridge((parsed as { config: Config }).config, pino({ level: "error" }));
  const done = join(dir, "done");
  const sender = spawn(PYTHON, [join(FIXTURES, "stock_burst.py"), join(dir, "monitor.sock"), String(total), String(atOnce), done], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  sender.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const closed = new Promise((resolve) => sender.once("close", resolve));
  // The sender can only tell a blocked thread it is done through a file.
  const deadline = Date.now() + 120_000;
  while (!existsSync(done) && Date.now() < deadline) {
    // busy: no accept, read or ingest on this thread meanwhile
  }
  await closed;
  const metrics = `http://127.0.0.1:${bridge.httpAddress.port}/metrics`;
  if (out === "") return { bridge, metrics, sent: 0, refused: total, seconds: 0 };
  return { bridge, metrics, ...(JSON.parse(out) as { sent: number; refused: number; seconds: number }) };
}
