import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { createInterface } from "node:readline";
import { startBridgeProcess, until } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import type { Samples } from "../helpers/samples.js";
import { PYTHON } from "../helpers/python.js";
import { waitFor } from "../helpers/wait.js";
import { sendOnce } from "../helpers/raw-client.js";

const status = (s: Samples, channel: string) => ["online", "stale", "dead"].find((st) => s.get("kissbot_bot_status", { channel, status: st }) === 1);

test("a bot without heartbeats goes stale after --stale-after, and a heartbeat brings it back", async (t) => {
  const bridge = await startBridgeProcess(["--stale-after", "1", "--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("quiet_bot", bridge.socket);
  t.after(() => bot.exit());
  await bot.send("register");
  let s = await until(bridge, "online", (x) => status(x, "quiet_bot") === "online");
  s = await until(bridge, "stale", (x) => status(x, "quiet_bot") === "stale");
  assert.equal(s.get("kissbot_bot_up", { channel: "quiet_bot" }), 1, "stale but the process runs: still up");
  assert.ok(s.get("kissbot_bot_heartbeat_age_seconds", { channel: "quiet_bot" })! > 1);
  assert.equal(s.get("kissbot_bridge_bots", { status: "stale" }), 1);
  await bot.send("heartbeat");
  s = await until(bridge, "online again", (x) => status(x, "quiet_bot") === "online");
  assert.ok(s.get("kissbot_bot_heartbeat_age_seconds", { channel: "quiet_bot" })! < 1);
  const transitions = bridge.logs.filter((l) => l["channel"] === "quiet_bot" && typeof l["to"] === "string").map((l) => l["to"]);
  assert.deepEqual(transitions, ["stale", "online"], "each transition logged exactly once");
});

test("a bot killed with SIGKILL is dead at the next sample and stays exported with up 0", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("doomed", bridge.socket);
  await bot.send("register");
  await until(bridge, "visible process", (x) => x.get("kissbot_process_resident_memory_bytes", { channel: "doomed", pid: String(bot.pid) }) !== undefined);
  await bot.kill();
  const s = await until(bridge, "dead", (x) => status(x, "doomed") === "dead");
  assert.equal(s.get("kissbot_bot_up", { channel: "doomed" }), 0);
  assert.equal(s.get("kissbot_bot_info", { channel: "doomed", pid: String(bot.pid) }), 1);
  assert.equal(s.get("kissbot_process_resident_memory_bytes", { channel: "doomed", pid: String(bot.pid) }), undefined, "a gone process has no RSS");
  // Still there a while later: alerts keep firing until it registers again or unregisters.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal((await bridge.samples()).get("kissbot_bot_up", { channel: "doomed" }), 0);
});

test("a zombie (killed, never reaped by its parent) counts as dead", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  // A parent that starts a child and never waits for it.
  const parent = spawn(PYTHON, ["-c", "import subprocess,time,sys; p=subprocess.Popen(['sleep','300']); print(p.pid, flush=True); time.sleep(300)"], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => parent.kill("SIGKILL"));
  const pid = Number(await new Promise<string>((r) => createInterface({ input: parent.stdout! }).once("line", r)));
  const bot = await PythonBot.start("zombie_bot", bridge.socket);
  t.after(() => bot.exit());
  await bot.send(`raw {"type":"register","channel":"zombie_bot","pid":${pid}}`);
  await until(bridge, "visible process", (x) => x.get("kissbot_process_resident_memory_bytes", { channel: "zombie_bot", pid: String(pid) }) !== undefined);
  process.kill(pid, "SIGKILL");
  const s = await until(bridge, "dead", (x) => status(x, "zombie_bot") === "dead");
  assert.equal(s.get("kissbot_bot_up", { channel: "zombie_bot" }), 0);
});

test("a heartbeat from an unknown channel registers it implicitly, with its PID watched", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("kept_beating", bridge.socket);
  t.after(() => bot.exit());
  await bot.send("heartbeat");
  const s = await until(bridge, "implicit registration", (x) => x.get("kissbot_process_resident_memory_bytes", { channel: "kept_beating", pid: String(bot.pid) }) !== undefined);
  assert.equal(s.get("kissbot_bot_up", { channel: "kept_beating" }), 1);
  assert.equal(s.get("kissbot_bot_info", { channel: "kept_beating", pid: String(bot.pid) }), 1);
  assert.deepEqual(s.series("kissbot_bot_feature_enabled"), [], "features unknown");
  assert.ok(bridge.logs.some((l) => l["channel"] === "kept_beating" && l["implicit"] === true));
});

test("a heartbeat or unregister with another PID than registered is counted and ignored", async (t) => {
  const bridge = await startBridgeProcess(["--stale-after", "1", "--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("pid_check", bridge.socket);
  t.after(() => bot.exit());
  await bot.send("register");
  await until(bridge, "online", (x) => status(x, "pid_check") === "online");
  await bot.send(`raw {"type":"heartbeat","channel":"pid_check","pid":${bot.pid + 100000}}`);
  await bot.send(`raw {"type":"unregister","channel":"pid_check","pid":${bot.pid + 100000}}`);
  const s = await until(bridge, "stale despite the foreign heartbeat", (x) => status(x, "pid_check") === "stale");
  assert.equal(s.get("kissbot_bridge_ignored_messages_total", { reason: "pid_mismatch" }), 2);
  assert.equal(s.get("kissbot_bot_info", { channel: "pid_check", pid: String(bot.pid) }), 1, "the bot was not unregistered");
});

test("a quick restart (new PID, same channel) replaces the old PID's series and the old goodbye is ignored", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const first = await PythonBot.start("restarting", bridge.socket);
  const second = await PythonBot.start("restarting", bridge.socket);
  t.after(() => second.exit());
  await first.send("register");
  await until(bridge, "first visible", (x) => x.get("kissbot_process_resident_memory_bytes", { channel: "restarting", pid: String(first.pid) }) !== undefined);
  await second.send("register");
  await first.send("unregister"); // the old process's goodbye arrives after its successor registered
  await first.exit();
  const s = await until(bridge, "second visible", (x) => x.get("kissbot_process_resident_memory_bytes", { channel: "restarting", pid: String(second.pid) }) !== undefined);
  assert.deepEqual(s.series("kissbot_bot_info"), [{ channel: "restarting", pid: String(second.pid) }]);
  assert.deepEqual(s.series("kissbot_process_resident_memory_bytes").map((l) => l["pid"]), [String(second.pid)]);
  assert.equal(s.get("kissbot_bot_up", { channel: "restarting" }), 1);
  assert.equal(s.get("kissbot_bridge_ignored_messages_total", { reason: "pid_mismatch" }), 1);
  // And it stays up: the old PID is no longer watched, so its exit does not kill the new bot.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(status(await bridge.samples(), "restarting"), "online");
});

test("with --unseen-pids accept, a PID this host cannot see is accepted; its liveness then follows heartbeats and self-reports fill in", async (t) => {
  const bridge = await startBridgeProcess(["--stale-after", "1", "--sample-interval", "0.2", "--unseen-pids", "accept"]);
  t.after(() => bridge.stop());
  const hiddenPid = 4_000_000 + (process.pid % 100_000); // above any real pid_max default: not visible here
  // Sent from here, each send checked: the stock Python client gives up silently after 2 s, which
  // a loaded machine can take (the test failed twice in parallel runs, its sends unchecked).
  assert.ok(await sendOnce(bridge.socket, `{"type":"register","channel":"elsewhere","pid":${hiddenPid}}\n`), "register sent");
  // A heartbeat before each look: on a loaded machine a second (--stale-after) can pass between
  // one heartbeat and the scrape that would see it.
  let s = await waitFor("self-reported usage", async () => {
    assert.ok(await sendOnce(bridge.socket, `{"type":"heartbeat","channel":"elsewhere","pid":${hiddenPid},"rss_mb":64,"cpu_pct":12.5}\n`), "heartbeat sent");
    const x = await bridge.samples();
    return x.get("kissbot_process_resident_memory_bytes", { channel: "elsewhere", pid: String(hiddenPid) }) !== undefined ? x : undefined;
  }, 30_000).catch(async (err: Error) => {
    // It has timed out twice in fresh-clone runs (sessions 15 and 16) and never here: say what the bridge saw.
    const x = await bridge.samples();
    const seen = ["kissbot_bot_status", "kissbot_bot_info", "kissbot_process_resident_memory_bytes", "kissbot_bridge_ignored_messages_total", "kissbot_bridge_messages_total", "kissbot_bridge_rejected_lines_total"].map((name) => `${name} ${JSON.stringify(x.series(name))}`);
    throw new Error(`${err.message}\n${seen.join("\n")}\nlast logs: ${JSON.stringify(bridge.logs.slice(-15))}`);
  });
  assert.equal(s.get("kissbot_process_resident_memory_bytes", { channel: "elsewhere", pid: String(hiddenPid) }), 64 * 1024 * 1024);
  assert.equal(s.get("kissbot_process_cpu_usage_ratio", { channel: "elsewhere", pid: String(hiddenPid) }), 0.125);
  assert.equal(s.get("kissbot_bot_up", { channel: "elsewhere" }), 1);
  s = await until(bridge, "stale and down", (x) => status(x, "elsewhere") === "stale");
  assert.equal(s.get("kissbot_bot_up", { channel: "elsewhere" }), 0, "no process to see and no fresh heartbeat: not known to be up");
});

/** The bridge's open descriptors onto /proc/<pid>/stat. */
function procStatDescriptors(bridgePid: number, pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${bridgePid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${bridgePid}/fd/${fd}`) === `/proc/${pid}/stat`) n++;
    } catch {
      // closed between the listing and the read
    }
  }
  return n;
}

test("sampling keeps nothing open: each look at a bot's process reads /proc/<pid>/stat and closes it", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.1"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("sampled", bridge.socket);
  t.after(() => bot.exit());
  await bot.send("register");
  await until(bridge, "CPU and memory sampled", (x) => x.get("kissbot_process_cpu_usage_ratio", { channel: "sampled", pid: String(bot.pid) }) !== undefined);
  // A look holds the file for the few microseconds of its read; pidusage kept it open for good.
  let held = 0;
  for (let i = 0; i < 100; i++) {
    if (procStatDescriptors(bridge.proc.pid!, bot.pid) > 0) held++;
    await new Promise((r) => setTimeout(r, 5));
  }
  // Under a loaded machine a read's few microseconds stretch (10 of 100 seen in a parallel run):
  // what matters is that it is closed between reads, where pidusage's stayed open in every look.
  assert.ok(held < 50, `the stat file was open in ${held} of 100 looks from outside`);
  const s = await bridge.samples();
  assert.ok(s.get("kissbot_process_resident_memory_bytes", { channel: "sampled", pid: String(bot.pid) })! > 1_000_000);
});
