import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { sendOnce } from "../helpers/raw-client.js";
import { sleep, waitFor } from "../helpers/wait.js";

type Row = { channel: string; availability: number | null; up_seconds: number; down_seconds: number; unknown_seconds: number; incidents: number };

/**
 * A bridge killed with SIGKILL (nothing of its shutdown runs): the time until the next bridge
 * starts is the bridge's absence, unknown, starting at its last mark (at most 2 s before the
 * kill), never the bot's downtime.
 */
test("kill -9 of the bridge: its absence is unknown from its last mark on, never a bot's downtime; the next bridge goes on with the record", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-crash-"));
  const bot = spawn("sleep", ["600"], { stdio: "ignore" });
  t.after(() => bot.kill());
  const first = await startBridgeProcess(["--sample-interval", "0.2"], { dir });
  t.after(() => first.stop("SIGKILL"));
  await sendOnce(first.socket, `{"type":"register","channel":"crash_bot","pid":${bot.pid}}\n`);
  await waitFor("the bot", async () => ((await (await fetch(`${first.url}/api/bots`)).text()).includes("crash_bot") ? true : undefined));
  await sleep(3000);
  const killedAt = Date.now();
  first.proc.kill("SIGKILL");
  await first.exited;
  await sleep(4000);
  const second = await startBridgeProcess(["--sample-interval", "0.2"], { dir, socket: first.socket });
  t.after(() => second.stop());

  // The new run is in bridge_runs from its first commit (within a second or two).
  const runs = await waitFor("the second run's mark", () => {
    const db = new Database(join(dir, "kissbot_monitor.db"), { readonly: true });
    const all = db.prepare("SELECT started_ms AS started, mark_ms AS mark, ended_ms AS ended FROM bridge_runs ORDER BY started_ms").all() as { started: number; mark: number; ended: number | null }[];
    db.close();
    return all.length === 2 ? all : undefined;
  });
  assert.equal(runs[0]!.ended, null, "a killed bridge writes no end");
  assert.ok(killedAt - runs[0]!.mark <= 2500, `its last mark ${killedAt - runs[0]!.mark} ms before the kill (marked every 2 s, committed every 1 s)`);

  const view = (await (await fetch(`${second.url}/api/v1/availability?since=1h&channel=crash_bot`)).json()) as { channels: Row[] };
  const r = view.channels[0]!;
  assert.equal(r.down_seconds, 0, "the bridge's absence is not the bot's downtime");
  assert.equal(r.incidents, 0);
  assert.equal(r.availability, 1);
  // From the first run's last mark to the second run's start, as both recorded them: the
  // second's "ready" comes later by its start-up, which a loaded machine stretched past a second.
  const gap = (runs[1]!.started - runs[0]!.mark) / 1000;
  assert.ok(runs[0]!.mark <= killedAt && runs[1]!.started >= killedAt, "the gap spans the kill");
  assert.ok(r.unknown_seconds >= gap - 0.5 && r.unknown_seconds <= gap + 3, `unknown ${r.unknown_seconds} s for a gap of ${gap.toFixed(1)} s`);
});
