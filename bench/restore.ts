import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";

/**
 * A restart that restores 1,000 bots (one alive, 999 whose processes are gone) against one with
 * an empty database, measured in the same run: from spawning the process to its "ready" log
 * line (at which point every restored bot has been checked), and the descriptors it holds.
 */
export async function benchRestore(bots = 1000, rounds = 5) {
  const startTime = Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]);
  const prepare = (n: number) => {
    const dir = mkdtempSync(join(tmpdir(), "kb-bench-restore-"));
    return { dir, n };
  };
  const time = async (dir: string) => {
    const spawned = Date.now();
    const bridge = await startBridgeProcess(["--log-level", "info"], { dir });
    const ready = Number(bridge.logs.find((l) => l["msg"] === "kissbot-bridge ready")!["time"]);
    const body = (await bridge.scrape()).body;
    const dead = Number(/^kissbot_bridge_bots\{status="dead"\} (\d+)/m.exec(body)?.[1] ?? 0);
    const fds = Number(/^process_open_fds (\d+)/m.exec(body)?.[1] ?? NaN);
    await bridge.stop();
    return { ms: ready - spawned, dead, fds };
  };
  const cases = [prepare(0), prepare(bots)];
  for (const c of cases) {
    // The bridge creates its schema; the rows go in while it is stopped.
    const first = await startBridgeProcess(["--log-level", "info"], { dir: c.dir });
    await first.stop();
  }
  const fill = (c: { dir: string; n: number }) => {
    if (c.n === 0) return;
    const now = new Date().toISOString();
    const rows = Array.from({ length: c.n }, (_, i) => `('restored_${i}', ${i === 0 ? process.pid : 4_000_000 + i}, 'online', '{}', '${now}', '${now}', ${i === 0 ? startTime : 12345})`);
    const r = spawnSync("sqlite3", [join(c.dir, "kissbot_monitor.db")], { input: `DELETE FROM bot_status; INSERT INTO bot_status (channel, pid, status, features_json, registered_at, last_seen, pid_start_time) VALUES ${rows.join(",")};`, encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  const results: { empty: number[]; restored: number[]; dead: number; fdsEmpty: number; fdsRestored: number } = { empty: [], restored: [], dead: 0, fdsEmpty: 0, fdsRestored: 0 };
  for (let i = 0; i < rounds; i++) {
    for (const c of cases) {
      fill(c); // restored bots found dead are written back as dead: start each round the same
      const t = await time(c.dir);
      if (c.n === 0) {
        results.empty.push(t.ms);
        results.fdsEmpty = t.fds;
      } else {
        results.restored.push(t.ms);
        results.dead = t.dead;
        results.fdsRestored = t.fds;
      }
    }
  }
  return { bots, ...results };
}
