import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess, until } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { kissbotDb, kissbotQuery, sqlite3Exec, readRows } from "../helpers/kissbot-db.js";
import { finish, openStream, writeAll } from "../helpers/raw-client.js";
import { CLI } from "../helpers/paths.js";
import { waitFor } from "../helpers/wait.js";

const usage = (channel: string, model: string, extra = "") => `{"type":"llm_usage","channel":"${channel}","model":"${model}","feature":"f","tokens_in":1,"tokens_out":1${extra}}\n`;

async function stream(socket: string, text: string): Promise<void> {
  const s = await openStream(socket);
  await writeAll(s, text);
  await finish(s);
}

test("hostile text and numbers are rejected by reason; the good lines around them count; the database stays readable to Python", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  await stream(
    bridge.socket,
    usage("good", "m") +
      usage("good", "\\ud800") +
      usage("good", "m", ',"latency_ms":1e308') +
      usage("good", "m", ',"latency_ms":1e308') +
      usage("good", "m", ',"estimated_cost":1e308') +
      usage("good", "\\u001b[2J\\u001b[31mred") +
      usage("good", "m", ',"latency_ms":250'),
  );
  const s = await waitFor("the good lines", async () => {
    const m = await bridge.samples();
    return m.get("kissbot_llm_requests_total", { channel: "good", model: "m", feature: "f" }) === 2 ? m : undefined;
  });
  assert.equal(s.get("kissbot_bridge_rejected_lines_total", { reason: "invalid_text" }), 2);
  assert.equal(s.get("kissbot_bridge_rejected_lines_total", { reason: "out_of_range" }), 3);
  assert.equal(s.get("kissbot_llm_latency_seconds_sum", { channel: "good", model: "m", feature: "f" }), 0.25, "no sum became infinite");
  assert.doesNotMatch((await bridge.scrape()).body, /\+Inf\s*$/m);
  await waitFor("committed", () => (readRows(join(bridge.dir, "kissbot_monitor.db"), "SELECT COUNT(*) AS n FROM llm_usage")[0]!["n"] === 2 ? true : undefined));
  assert.deepEqual(kissbotQuery(join(bridge.dir, "kissbot_monitor.db"), "SELECT model FROM llm_usage"), [{ model: "m" }, { model: "m" }], "Python's sqlite3 reads every row");
});

test("usage from a channel after its unregister is ignored, not brought back", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("gone", bridge.socket);
  t.after(() => bot.exit());
  await bot.send("register {}");
  await bot.send("llm gpt-4o f 1 1");
  await bot.send("unregister");
  await bot.send("llm gpt-4o f 1 1");
  await bot.send('raw {"type": "custom_metric", "channel": "gone", "metric_name": "q", "value": 1}');
  const s = await waitFor("both ignored", async () => {
    const m = await bridge.samples();
    return m.get("kissbot_bridge_ignored_messages_total", { reason: "after_unregister" }) === 2 ? m : undefined;
  });
  assert.deepEqual(s.series("kissbot_llm_requests_total").filter((l) => l["channel"] === "gone"), []);
  assert.deepEqual(s.series("kissbot_custom_metric"), []);
});

test("files are private: the database and per-bot logs are created with mode 640", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("private", bridge.socket);
  t.after(() => bot.exit());
  await bot.send("register {}");
  const log = join(bridge.dir, "logs", "private", "instance.log");
  await waitFor("the per-bot log", () => (statSync(log, { throwIfNoEntry: false }) ? true : undefined));
  assert.equal(statSync(join(bridge.dir, "kissbot_monitor.db")).mode & 0o777, 0o640);
  assert.equal(statSync(log).mode & 0o777, 0o640);
  assert.equal(statSync(join(bridge.dir, "logs", "private")).mode & 0o777, 0o750);
});

test("HTTP errors carry no stack trace; a huge `since` is a 400", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  const res = await fetch(`${bridge.url}/api/usage?since=99999999999999999999d`);
  assert.equal(res.status, 400);
  const body = await res.text();
  assert.doesNotMatch(body, /at |\/work\/|node_modules/);
});

test("the CLI never prints control characters from the database raw", async (t) => {
  const bridge = await startBridgeProcess();
  const db = join(bridge.dir, "kissbot_monitor.db");
  await waitFor("tables", () => (readRows(db, "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'bridge_state'")[0]!["n"] === 1 ? true : undefined));
  assert.equal(await bridge.stop(), 0);
  // A row written straight into the file (as a bot's logger would), never checked by the bridge.
  kissbotDb("log-row", db, JSON.stringify({ ts: new Date().toISOString(), channel: "c", model: "\u001b[2J\u001b]0;pwned\u0007", feature: "f", tokens_in: 1, tokens_out: 1 }));
  const out = await new Promise<string>((resolve) => {
    const p = spawn(process.execPath, [CLI, "usage", "--db", db, "--url", "http://127.0.0.1:9"], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    p.stdout.on("data", (d: Buffer) => (text += d.toString()));
    p.on("exit", () => resolve(text));
  });
  assert.doesNotMatch(out, /\u001b|\u0007/);
  assert.match(out, /\\x1b\[2J\\x1b\]0;pwned\\x07/);
  t.diagnostic(out);
});

/** Child processes of `pid`, from /proc (every thread's children). */
function children(pid: number): number {
  let n = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      n += readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).length;
    } catch {
      // the thread ended
    }
  }
  return n;
}

test("a register storm starts no child process, keeps no descriptor, and the good lines beside it are served", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.5"]);
  t.after(() => bridge.stop());
  const fdsBefore = readdirSync(`/proc/${bridge.proc.pid}/fd`).length;
  let maxChildren = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      maxChildren = Math.max(maxChildren, children(bridge.proc.pid!));
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  // 2,000 registrations from 50 channels at once, with this test's own (visible) PID.
  let storm = "";
  for (let i = 0; i < 2000; i++) storm += `{"type":"register","channel":"storm_${i % 50}","pid":${process.pid}}\n`;
  await Promise.all([0, 1, 2, 3].map(() => stream(bridge.socket, storm)));
  await stream(bridge.socket, Array.from({ length: 100 }, () => usage("beside", "m")).join(""));
  const s = await waitFor("everything counted", async () => {
    const m = await bridge.samples();
    return m.get("kissbot_llm_requests_total", { channel: "beside", model: "m", feature: "f" }) === 100 && m.get("kissbot_bridge_messages_total", { message_type: "register" }) === 8000 ? m : undefined;
  });
  // Sampling rounds of the 50 bots: each has a CPU ratio once two looks at its process were taken.
  await until(bridge, "every bot sampled twice", (m) => m.series("kissbot_process_cpu_usage_ratio").length === 50, 15_000);
  watching = false;
  await watcher;
  assert.equal(maxChildren, 0, "no child process (pidusage ran getconf twice per pending call)");
  assert.equal(s.get("kissbot_bridge_bots", { status: "online" }), 50);
  // Waited for, not read after a fixed time: on a busy machine the storm's per-bot log writes and
  // the last commit may still hold a descriptor for a moment (37 → 71 once, read after 1.5 s).
  let fdsAfter = 0;
  await waitFor("descriptors back to their level", () => {
    fdsAfter = readdirSync(`/proc/${bridge.proc.pid}/fd`).length;
    return fdsAfter <= fdsBefore + 5 ? true : undefined;
  }, 15_000).catch(() => assert.fail(`descriptors stay flat: ${fdsBefore} → ${fdsAfter}`));
});

test("churn leaves nothing behind: channels that came and went free their slots, and their rows and log folders go after the retention", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-churn-"));
  const db = join(dir, "kissbot_monitor.db");
  const logs = join(dir, "logs");
  // What a bridge that ran for weeks left: channels gone 30 days ago, one gone yesterday, and a
  // bot that still runs but wrote nothing lately.
  assert.equal(kissbotDb("monitor-init", db).ok, true);
  const old = new Date(Date.now() - 30 * 86_400_000);
  const day = new Date(Date.now() - 86_400_000).toISOString();
  sqlite3Exec(db, `INSERT INTO bot_status (channel, pid, status, features_json, registered_at, last_seen) VALUES
    ('gone_long', 1, 'offline', '{}', '${old.toISOString()}', '${old.toISOString()}'),
    ('gone_lately', 1, 'offline', '{}', '${day}', '${day}'),
    ('alive_quiet', ${process.pid}, 'online', '{}', '${old.toISOString()}', '${new Date().toISOString()}');`);
  for (const channel of ["gone_long", "gone_lately", "alive_quiet", "not_ours"]) {
    mkdirSync(join(logs, channel), { recursive: true });
    const file = join(logs, channel, channel === "not_ours" ? "notes.txt" : "instance.log");
    writeFileSync(file, "x\n");
    if (channel !== "gone_lately") utimesSync(file, old, old);
  }

  const bridge = await startBridgeProcess(["--retention-days", "7", "--max-bots", "100"], { dir });
  t.after(() => bridge.stop());
  await waitFor("the old folder removed", () => (readdirSync(logs).includes("gone_long") ? undefined : true));
  await waitFor("the old row removed", () => (readRows(db, "SELECT channel FROM bot_status WHERE channel = 'gone_long'").length === 0 ? true : undefined));
  assert.deepEqual(readdirSync(logs).sort(), ["alive_quiet", "gone_lately", "not_ours"], "a live bot's folder, a recent one and a folder that is not a bot's log stay");
  assert.deepEqual(kissbotQuery(db, "SELECT channel FROM bot_status ORDER BY channel").map((r) => r["channel"]), ["alive_quiet", "gone_lately"]);

  // 500 channels come and go, five times the --max-bots bound, each with LLM usage and a custom
  // metric: every one is counted, none holds a slot once it left.
  let churn = "";
  for (let i = 0; i < 500; i++) {
    const c = `churn_${i}`;
    churn += `{"type":"register","channel":"${c}","pid":${process.pid}}\n${usage(c, "m")}{"type":"custom_metric","channel":"${c}","metric_name":"q","value":1}\n{"type":"unregister","channel":"${c}","pid":${process.pid}}\n`;
  }
  await stream(bridge.socket, churn);
  const s = await waitFor("every churned message counted", async () => {
    const m = await bridge.samples();
    return m.get("kissbot_bridge_messages_total", { message_type: "unregister" }) === 500 ? m : undefined;
  });
  assert.equal(s.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }), 500);
  assert.equal(s.get("kissbot_bridge_ignored_messages_total", { reason: "label_limit" }) ?? 0, 0, "no channel refused: slots were freed");
  assert.deepEqual(s.series("kissbot_llm_requests_total").filter((l) => l["channel"]!.startsWith("churn_")), [], "their series went with them");
  assert.equal(s.get("kissbot_bridge_bots", { status: "online" }), 1, "only the live bot");
});

test("a channels × models × features cross product within every label bound stops at --max-llm-series, the rest counted in each channel's overflow series; the scrape stays small and good lines count", async (t) => {
  const bridge = await startBridgeProcess(["--max-llm-series", "300", "--max-bots", "50", "--max-label-values", "50"]);
  t.after(() => bridge.stop());
  // 20 × 20 × 20 = 8,000 combinations, each label within its bound of 50.
  let text = "";
  for (let c = 0; c < 20; c++) for (let m = 0; m < 20; m++) for (let f = 0; f < 20; f++) text += `{"type":"llm_usage","channel":"x${c}","model":"m${m}","feature":"f${f}","tokens_in":1,"tokens_out":1}\n`;
  await stream(bridge.socket, text);
  // A known series beside the storm keeps counting.
  await stream(bridge.socket, Array.from({ length: 10 }, () => '{"type":"llm_usage","channel":"x0","model":"m0","feature":"f0","tokens_in":1,"tokens_out":1}\n').join(""));
  const s = await waitFor("everything counted", async () => {
    const m = await bridge.samples();
    return m.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 8010 ? m : undefined;
  });
  const series = s.series("kissbot_llm_requests_total");
  assert.equal(series.filter((l) => l["model"] !== "__overflow__").length, 300);
  assert.ok(series.length <= 300 + 20, "one overflow series per channel at most");
  assert.equal(s.sum("kissbot_llm_requests_total"), 8010, "every call counted, in its own series or its channel's overflow");
  assert.equal(s.get("kissbot_bridge_series_refused_total", { kind: "llm" }), 7700);
  assert.equal(s.get("kissbot_llm_requests_total", { channel: "x0", model: "m0", feature: "f0" }), 11);
  const body = (await bridge.scrape()).body;
  assert.ok(body.length < 1_000_000, `${body.length} bytes for 300 series`);
});

test("bots × feature flags: past --max-bots and --max-feature-series registrations are bounded and counted, heartbeats still served", async (t) => {
  const bridge = await startBridgeProcess(["--max-bots", "100", "--max-feature-series", "1000", "--max-label-values", "100"]);
  t.after(() => bridge.stop());
  // 150 bots × 64 flags: 9,600 flags asked for.
  const features = JSON.stringify(Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`flag_${i}`, i % 2 === 0])));
  let text = "";
  for (let b = 0; b < 150; b++) text += `{"type":"register","channel":"many_${b}","pid":${process.pid},"features":${features}}\n`;
  await stream(bridge.socket, text);
  await stream(bridge.socket, `{"type":"heartbeat","channel":"many_0","pid":${process.pid}}\n`);
  const s = await waitFor("every registration handled", async () => {
    const m = await bridge.samples();
    return m.get("kissbot_bridge_messages_total", { message_type: "heartbeat" }) === 1 ? m : undefined;
  });
  assert.equal(s.get("kissbot_bridge_bots", { status: "online" }), 100);
  assert.equal(s.get("kissbot_bridge_ignored_messages_total", { reason: "bot_limit" }), 50);
  assert.equal(s.series("kissbot_bot_feature_enabled").length, 1000);
  assert.equal(s.get("kissbot_bridge_series_refused_total", { kind: "feature" }), 100 * 64 - 1000);
  const bots = (await (await fetch(`${bridge.url}/api/bots`)).json()) as { bots: unknown[] };
  assert.equal(bots.bots.length, 100);
  // Refused registrations leave nothing behind: one log folder per tracked bot at most.
  await waitFor("the bots' logs written", () => (readdirSync(join(bridge.dir, "logs")).length === 100 ? true : undefined));
});

test("a registration storm of distinct channels past --max-bots: every scrape during it is served", async (t) => {
  const bridge = await startBridgeProcess(["--max-bots", "200"]);
  t.after(() => bridge.stop());
  let text = "";
  for (let b = 0; b < 5000; b++) text += `{"type":"register","channel":"storm_${b}","pid":${process.pid}}\n`;
  let storming = true;
  const scrapes: number[] = [];
  const scraper = (async () => {
    while (storming) scrapes.push((await fetch(`${bridge.url}/metrics`)).status);
  })();
  await Promise.all([0, 1, 2, 3].map(() => stream(bridge.socket, text)));
  const s = await waitFor("the storm handled", async () => {
    const m = await bridge.samples();
    return m.get("kissbot_bridge_messages_total", { message_type: "register" }) === 20_000 ? m : undefined;
  });
  storming = false;
  await scraper;
  assert.ok(scrapes.length > 0);
  assert.deepEqual(scrapes.filter((c) => c !== 200), [], "no scrape failed");
  assert.equal(s.get("kissbot_bridge_bots", { status: "online" }), 200);
  // Four senders × the 4,800 channels past the first 200 (known ones may register again).
  assert.equal(s.get("kissbot_bridge_ignored_messages_total", { reason: "bot_limit" }), 4 * 4800);
});

test("a restart restoring 1,000 bots: ready at once, each checked, and no descriptor kept", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-restore-"));
  const db = join(dir, "kissbot_monitor.db");
  const first = await startBridgeProcess([], { dir });
  await first.stop();
  // 1,000 bots last seen online, as the bridge wrote them (with their process's start time):
  // 999 of them are gone by now, one is this test's own process.
  const now = new Date().toISOString();
  const startTime = Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]);
  const rows = Array.from({ length: 1000 }, (_, i) => `('restored_${i}', ${i === 0 ? process.pid : 4_000_000 + i}, 'online', '{}', '${now}', '${now}', ${i === 0 ? startTime : 12345})`);
  sqlite3Exec(db, `INSERT INTO bot_status (channel, pid, status, features_json, registered_at, last_seen, pid_start_time) VALUES ${rows.join(",")};`);
  const bridge = await startBridgeProcess(["--sample-interval", "0.5"], { dir });
  t.after(() => bridge.stop());
  const s = await bridge.samples();
  assert.equal(s.get("kissbot_bridge_bots", { status: "online" }), 1, "the live one is up at the first scrape");
  assert.equal(s.get("kissbot_bridge_bots", { status: "dead" }), 999, "the others are dead at the first scrape");
  const fds = () => readdirSync(`/proc/${bridge.proc.pid}/fd`).length;
  const before = fds();
  await new Promise((r) => setTimeout(r, 1500)); // three sampling rounds over 1,000 bots
  assert.ok(fds() <= before + 5, `descriptors stay flat: ${before} → ${fds()}`);
  assert.equal((await bridge.samples()).get("kissbot_bridge_process_sample_errors_total"), 0);
});
