import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess, type BridgeProcess } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { finish, openStream, writeAll } from "../helpers/raw-client.js";
import { CLI } from "../helpers/paths.js";
import { runCli } from "../helpers/cli.js";
import { waitFor, sleep } from "../helpers/wait.js";

const tmp = () => mkdtempSync(join(tmpdir(), "kb-persist-"));

/** Runs SQL with Debian's sqlite3 command line, as a user of the original Monitor would. */
function sqlite(db: string, sql: string): Record<string, unknown>[] {
  const r = spawnSync("sqlite3", ["-json", db, sql], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim() === "" ? [] : (JSON.parse(r.stdout) as Record<string, unknown>[]);
}

async function stream(bridge: BridgeProcess, text: string): Promise<void> {
  const s = await openStream(bridge.socket);
  await writeAll(s, text);
  await finish(s);
}

const llm = (channel: string, i: number) => `{"type":"llm_usage","channel":"${channel}","model":"gpt-4","feature":"f${i % 3}","tokens_in":${i % 1000},"tokens_out":${(i * 7) % 500},"latency_ms":${100 + (i % 50)},"estimated_cost":0.001}\n`;

const cli = (args: string[]) => runCli(args);

test("the guide's two queries, verbatim through sqlite3, return what the bridge received", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("el_serda", bridge.socket);
  t.after(() => bot.exit());
  await bot.send('register {"llm": true, "music": false}');
  await bot.send("heartbeat");
  await bot.send("llm gpt-4 jokes 145 87 1850");
  await bot.send("llm claude-3-opus translator 10 20");
  const usage = await waitFor("rows committed", () => {
    const rows = sqlite(db, "SELECT * FROM llm_usage ORDER BY timestamp DESC;");
    return rows.length === 2 ? rows : undefined;
  });
  const status = sqlite(db, "SELECT * FROM bot_status;");
  assert.equal(status.length, 1);
  assert.equal(status[0]!["channel"], "el_serda");
  assert.equal(status[0]!["pid"], bot.pid);
  assert.equal(status[0]!["status"], "online");
  assert.deepEqual(JSON.parse(String(status[0]!["features"])), { llm: true, music: false });
  assert.match(String(status[0]!["registered_at"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/, "KissBot's own format");
  assert.ok(String(status[0]!["last_seen"]) >= String(status[0]!["registered_at"]));
  assert.match(String(status[0]!["last_heartbeat"]), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/, "the guide's name, in SQLite's format");
  assert.deepEqual(usage.map((r) => [r["model"], r["feature"], r["tokens_in"], r["tokens_out"], r["latency_ms"]]), [
    ["claude-3-opus", "translator", 10, 20, null],
    ["gpt-4", "jokes", 145, 87, 1850],
  ]);
  // SQLite's own date functions understand the timestamps.
  const recent = sqlite(db, "SELECT COUNT(*) AS n FROM llm_usage WHERE timestamp > datetime('now', '-5 minutes');");
  assert.equal(recent[0]!["n"], 2);
  await bot.send("unregister");
  await waitFor("offline", () => (sqlite(db, "SELECT status FROM bot_status;")[0]?.["status"] === "offline" ? true : undefined));
});

test("a burst of 20,000 llm_usage messages all lands, thousands of rows a commit", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  let text = "";
  let tokensIn = 0;
  let tokensOut = 0;
  for (let i = 0; i < 20_000; i++) {
    text += llm("burst", i);
    tokensIn += i % 1000;
    tokensOut += (i * 7) % 500;
  }
  await Promise.all([0, 1, 2, 3].map((k) => stream(bridge, text.split("\n").filter((_, i) => i % 4 === k).join("\n") + "\n")));
  const row = await waitFor("all rows", () => {
    const r = sqlite(db, "SELECT COUNT(*) AS n, SUM(tokens_in) AS tin, SUM(tokens_out) AS tout FROM llm_usage;")[0]!;
    return r["n"] === 20_000 ? r : undefined;
  }, 30_000, 200);
  assert.deepEqual(row, { n: 20_000, tin: tokensIn, tout: tokensOut });
  const m = await bridge.samples();
  assert.equal(m.get("kissbot_bridge_db_rows_written_total", { table: "llm_usage" }), 20_000);
  // One commit a second, or one per half queue (30,000 rows) in a larger burst: never one per message.
  assert.ok(m.get("kissbot_bridge_db_commits_total")! <= 20, `${m.get("kissbot_bridge_db_commits_total")} commits`);
  assert.equal(m.get("kissbot_bridge_db_dropped_rows_total"), 0);
});

test("after a restart, bots are right at the first scrape: the live one up, the one killed meanwhile dead", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const first = await startBridgeProcess(["--sample-interval", "0.3"], { dir });
  const alive = await PythonBot.start("survivor", first.socket);
  t.after(() => alive.exit());
  const doomed = await PythonBot.start("casualty", first.socket);
  for (const b of [alive, doomed]) {
    await b.send('register {"llm": true}');
    await b.send("heartbeat");
  }
  const lastHeartbeat = Date.now();
  await waitFor("both processes identified in the database", () => (sqlite(db, "SELECT COUNT(*) AS n FROM bot_status WHERE pid_start_time IS NOT NULL;")[0]!["n"] === 2 ? true : undefined));
  assert.equal(await first.stop(), 0);
  await doomed.kill();
  await sleep(1500);

  const second = await startBridgeProcess(["--sample-interval", "60"], { dir, socket: first.socket });
  t.after(() => second.stop());
  const m = await second.samples(); // the very first scrape, no message received
  assert.equal(m.get("kissbot_bridge_messages_total", { message_type: "heartbeat" }), 0);
  assert.equal(m.get("kissbot_bot_up", { channel: "survivor" }), 1);
  assert.equal(m.get("kissbot_bot_status", { channel: "survivor", status: "online" }), 1);
  assert.equal(m.get("kissbot_bot_info", { channel: "survivor", pid: String(alive.pid) }), 1);
  assert.equal(m.get("kissbot_bot_feature_enabled", { channel: "survivor", feature: "llm" }), 1);
  const age = m.get("kissbot_bot_heartbeat_age_seconds", { channel: "survivor" })!;
  assert.ok(age >= (Date.now() - lastHeartbeat) / 1000 - 1 && age < 30, `heartbeat age ${age} s counts from the heartbeat before the restart`);
  assert.equal(m.get("kissbot_bot_up", { channel: "casualty" }), 0);
  assert.equal(m.get("kissbot_bot_status", { channel: "casualty", status: "dead" }), 1);
  assert.ok(second.logs.some((l) => l["msg"] === "restored bots from the database" && l["bots"] === 2));
});

test("kill -9 in the middle of a burst: the database opens cleanly, no partial rows, the bridge runs again", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const first = await startBridgeProcess([], { dir });
  let text = "";
  for (let i = 0; i < 30_000; i++) text += llm("crash", i);
  const sending = stream(first, text).catch(() => {});
  await waitFor("some rows committed", () => ((sqlite(db, "SELECT COUNT(*) AS n FROM llm_usage;")[0]!["n"] as number) > 0 ? true : undefined), 20_000, 20);
  first.proc.kill("SIGKILL");
  await first.exited;
  await sending;
  assert.deepEqual(sqlite(db, "PRAGMA integrity_check;"), [{ integrity_check: "ok" }]);
  const r = sqlite(db, "SELECT COUNT(*) AS n, SUM(model IS NULL OR feature IS NULL OR tokens_in IS NULL OR tokens_out IS NULL OR latency_ms IS NULL OR timestamp IS NULL) AS partial FROM llm_usage;")[0]!;
  assert.ok((r["n"] as number) > 0 && (r["n"] as number) <= 30_000);
  assert.equal(r["partial"], 0);
  const second = await startBridgeProcess([], { dir, socket: first.socket });
  t.after(() => second.stop());
  await stream(second, llm("after_crash", 1));
  await waitFor("the restarted bridge writes", () => (sqlite(db, "SELECT COUNT(*) AS n FROM llm_usage WHERE channel = 'after_crash';")[0]!["n"] === 1 ? true : undefined));
});

for (const [what, makePath] of [
  ["a missing directory", (dir: string) => join(dir, "no", "such", "dir", "x.db")],
  ["a read-only filesystem", () => "/proc/kissbot_monitor.db"],
  ["a corrupt file", (dir: string) => {
    const p = join(dir, "corrupt.db");
    writeFileSync(p, "this is not a database ".repeat(200));
    return p;
  }],
] as const) {
  test(`a database on ${what}: metrics are served, ingest works, errors are counted`, async (t) => {
    const dir = tmp();
    const bridge = await startBridgeProcess(["--db", makePath(dir)], { dir });
    t.after(() => bridge.stop());
    await stream(bridge, llm("no_db", 5));
    const m = await waitFor("ingest and an open error", async () => {
      const s = await bridge.samples();
      return s.get("kissbot_llm_requests_total", { channel: "no_db", model: "gpt-4", feature: "f2" }) === 1 && s.get("kissbot_bridge_db_errors_total", { op: "open" })! >= 2 ? s : undefined;
    });
    assert.equal(m.get("kissbot_bridge_db_queued_rows"), 1, "the row waits for the database");
    assert.equal((await fetch(`${bridge.url}/-/ready`)).status, 200);
  });
}

test("a database the original Monitor wrote: the bridge opens it and keeps its rows", async (t) => {
  // Within the retention: a bot gone longer than --retention-days is deleted (hostile-input's churn test).
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 19).replace("T", " ");
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const r = spawnSync("sqlite3", [db], {
    input: `CREATE TABLE bot_status (channel TEXT PRIMARY KEY, pid INTEGER NOT NULL, status TEXT, features TEXT, registered_at TIMESTAMP, last_heartbeat TIMESTAMP);
CREATE TABLE llm_usage (id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, model TEXT NOT NULL, feature TEXT NOT NULL, tokens_in INTEGER, tokens_out INTEGER, latency_ms INTEGER, timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE bot_metrics (ts TIMESTAMP, channel TEXT, pid INTEGER, rss_mb REAL, cpu_pct REAL, features TEXT);
INSERT INTO bot_status VALUES ('veteran', 999999, 'offline', '{}', '${yesterday}', '${yesterday}');
INSERT INTO llm_usage (channel, model, feature, tokens_in, tokens_out, latency_ms) VALUES ('veteran', 'gpt-4', 'jokes', 1, 2, 3);`,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  await stream(bridge, llm("newcomer", 1));
  await waitFor("a new row beside the old one", () => (sqlite(db, "SELECT COUNT(*) AS n FROM llm_usage;")[0]!["n"] === 2 ? true : undefined));
  assert.equal(sqlite(db, "SELECT * FROM bot_status;")[0]!["channel"], "veteran");
  assert.equal((await bridge.samples()).get("kissbot_bridge_db_errors_total", { op: "open" }), 0);
});

test("kissbot-bridge status and usage give the known figures, with the bridge up and down", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const bridge = await startBridgeProcess(["--sample-interval", "0.3"], { dir });
  // Stopped in the middle; this also stops it when an assertion fails first.
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("cli_bot", bridge.socket);
  t.after(() => bot.exit());
  await bot.send('register {"llm": true, "music": false}');
  await bot.send("heartbeat");
  for (const [model, latency] of [["gpt-4", 100], ["gpt-4", 300], ["claude-3-opus", 2000]] as const) await bot.send(`llm ${model} jokes 100 40 ${latency}`);
  await waitFor("a process sample in the database", () => ((sqlite(db, "SELECT COUNT(*) AS n FROM bot_metrics;")[0]!["n"] as number) > 0 ? true : undefined));
  const where = ["--url", bridge.url, "--db", db];

  const check = async (source: string) => {
    const status = await cli(["status", "--json", ...where]);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as { source: string; bots: { channel: string; status: string; pid: number; features: object; rss_bytes: number | null; heartbeat_age_seconds: number }[] };
    assert.equal(s.source, source);
    assert.equal(s.bots.length, 1);
    assert.equal(s.bots[0]!.channel, "cli_bot");
    assert.equal(s.bots[0]!.pid, bot.pid);
    assert.deepEqual(s.bots[0]!.features, { llm: true, music: false });
    assert.ok(s.bots[0]!.rss_bytes! > 1_000_000);
    const usage = await cli(["usage", "--json", "--since", "1h", "--by", "model", ...where]);
    assert.equal(usage.code, 0, usage.stderr);
    assert.deepEqual(JSON.parse(usage.stdout), {
      since: "1h",
      by: "model",
      rows: [
        // Priced from the shipped table: the Python client sends no cost.
        { key: "gpt-4", calls: 2, tokens_in: 200, tokens_out: 80, mean_latency_ms: 200, p50_latency_ms: 100, p95_latency_ms: 300, cost_usd: 2 * ((100 * 30 + 40 * 60) / 1e6) },
        { key: "claude-3-opus", calls: 1, tokens_in: 100, tokens_out: 40, mean_latency_ms: 2000, p50_latency_ms: 2000, p95_latency_ms: 2000, cost_usd: (100 * 15 + 40 * 75) / 1e6 },
      ],
    });
    const table = await cli(["status", ...where]);
    assert.doesNotMatch(table.stdout, /\u001b\[/, "plain when piped");
    assert.match(table.stdout, new RegExp(`^cli_bot\\s+online\\s+${bot.pid}\\s+\\S+\\s+\\S+ ago\\s+\\S+%\\s+\\S+ MB\\s+llm$`, "m"));
    const usageTable = await cli(["usage", "--by", "channel", ...where]);
    assert.match(usageTable.stdout, /^CHANNEL\s+CALLS\s+TOKENS IN\s+TOKENS OUT\s+MEAN MS\s+P50 MS\s+P95 MS\s+COST USD\ncli_bot\s+3\s+300\s+120\s+800\s+300\s+2000\s+0\.0153\n$/);
  };
  await check("bridge");
  assert.equal(await bridge.stop(), 0);
  await check("database");
  const down = await cli(["status", ...where]);
  assert.match(down.stdout, /^The bridge is not answering at http:\/\/\S+; last known state from the database \S+kissbot_monitor\.db, last updated \d+s ago\. Uptime is shown only for bots that were running:/);
  // On a terminal (a pty from util-linux's script), statuses are coloured.
  const tty = spawnSync("script", ["-qec", [process.execPath, CLI, "status", ...where].map((a) => `'${a}'`).join(" "), "/dev/null"], { encoding: "utf8", env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NO_COLOR")) });
  assert.equal(tty.status, 0, tty.stderr);
  assert.match(tty.stdout, /\u001b\[32monline\s*\u001b\[0m/, "online in green on a terminal");
  const bad = await cli(["usage", "--since", "forever", ...where]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid --since/);
});

test("a bot's own log follows its life: registered, stale, back online, health lines, dead", async (t) => {
  const dir = tmp();
  const bridge = await startBridgeProcess(["--stale-after", "0.5", "--sample-interval", "0.3"], { dir });
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("logged", bridge.socket);
  await bot.send("register");
  await waitFor("stale", async () => ((await bridge.samples()).get("kissbot_bot_status", { channel: "logged", status: "stale" }) === 1 ? true : undefined));
  await bot.send("heartbeat");
  await sleep(700);
  await bot.kill();
  await waitFor("dead", async () => ((await bridge.samples()).get("kissbot_bot_up", { channel: "logged" }) === 0 ? true : undefined));
  const file = join(dir, "logs", "logged", "instance.log");
  const text = await waitFor("the log on disk", () => {
    try {
      const t = readFileSync(file, "utf8");
      return /ERROR dead/.test(t) ? t : undefined;
    } catch {
      return undefined;
    }
  });
  const lines = text.trim().split("\n").map((l) => l.replace(/^\S+ /, ""));
  assert.match(lines[0]!, new RegExp(`^INFO registered pid=${bot.pid} features=\\{\\}$`));
  assert.ok(lines.some((l) => /^WARNING stale \(was online\): no heartbeat for/.test(l)));
  assert.ok(lines.some((l) => /^INFO back online \(was stale\): heartbeat received/.test(l)));
  assert.ok(lines.some((l) => /^INFO health pid=\d+ cpu=[\d.]+% rss=[\d.]+ MB$/.test(l)));
  assert.match(lines.at(-1)!, /^ERROR dead \(was (online|stale)\): process exited/);
});
