import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess, until, type BridgeProcess } from "../helpers/bridge-process.js";
import { holdWriteLock, kissbotDb, kissbotQuery } from "../helpers/kissbot-db.js";
import { FIXTURES } from "../helpers/paths.js";
import { finish, openStream, sendOnce, writeAll } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";
import { requireUserNamespaces } from "../helpers/userns.js";

/**
 * Issue 25's table, row by row, against the real bridge process: each was measured to stop the
 * bridge, lose accepted rows, leave files behind or grow memory without bound. Conditions are
 * waited for, never a fixed time, so the tests hold on a busy machine.
 */

const tmp = () => mkdtempSync(join(tmpdir(), "kb-robust-"));
const llmLine = (channel: string, model = "gpt-4o", feature = "chat") => `${JSON.stringify({ type: "llm_usage", channel, model, feature, tokens_in: 10, tokens_out: 5 })}\n`;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
const alive = (b: BridgeProcess) => b.proc.exitCode === null && b.proc.signalCode === null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stream(bridge: BridgeProcess, text: string): Promise<void> {
  const s = await openStream(bridge.socket);
  await writeAll(s, text);
  await finish(s);
}

async function countsAGoodLine(bridge: BridgeProcess, channel: string): Promise<void> {
  assert.ok(alive(bridge), "the bridge is up");
  await stream(bridge, llmLine(channel));
  await until(bridge, `${channel}'s line counted`, (s) => s.get("kissbot_llm_requests_total", { channel, model: "gpt-4o", feature: "chat" }) === 1);
}

test("a model named constructor, __proto__ or toString while the status page is open: the bridge stays up, the overview answers and names them", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  await stream(bridge, ["constructor", "__proto__", "toString"].map((m) => llmLine("proto", m)).join(""));
  await until(bridge, "three calls counted", (s) => s.sum("kissbot_llm_requests_total") === 3);
  assert.equal((await fetch(`${bridge.url}/api/v1/overview`)).status, 200, "before any viewer");
  const viewer = new AbortController();
  const feed = await fetch(`${bridge.url}/api/v1/live`, { signal: viewer.signal });
  t.after(() => viewer.abort());
  assert.equal(feed.status, 200);
  // The tokens-per-minute chart needs two snapshots (10 s apart): then every model is a series.
  const series = await waitFor(
    "tokens per minute by model",
    async () => {
      const o = (await (await fetch(`${bridge.url}/api/v1/overview`)).json()) as { llm: { tokens_per_minute: { series: Record<string, number[]> } } };
      const keys = Object.keys(o.llm.tokens_per_minute.series);
      return keys.length === 3 ? keys.sort() : undefined;
    },
    30_000,
  );
  assert.deepEqual(series, ["__proto__", "constructor", "toString"]);
  assert.ok(alive(bridge));
  await countsAGoodLine(bridge, "after_proto");
});

test("20,000 registers of PIDs not running: no folder, no file, no row, bounded log lines, memory flat, and a real bot is still counted", async (t) => {
  const dir = tmp();
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  const logsBefore = bridge.logs.length;
  const register = (i: number) => `${JSON.stringify({ type: "register", channel: `ghost${i}`, pid: 4_000_000 + (i % 190_000), features: { llm: true } })}\n`;
  const storm = async (from: number, to: number) => {
    for (let i = from; i < to; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => sendOnce(bridge.socket, register(i + j))));
    await until(bridge, `${to} refusals counted`, (s) => s.get("kissbot_bridge_ignored_messages_total", { reason: "pid_not_running" }) === to, 60_000);
  };
  await storm(0, 5_000);
  const afterFirst = rssMb(bridge.proc.pid!);
  await storm(5_000, 20_000);
  const afterAll = rssMb(bridge.proc.pid!);
  assert.equal(existsSync(join(dir, "logs")) ? readdirSync(join(dir, "logs")).length : 0, 0, "no per-bot log folder");
  assert.deepEqual(kissbotQuery(join(dir, "kissbot_monitor.db"), "SELECT COUNT(*) AS n FROM bot_status"), [{ n: 0 }], "no bot_status row");
  const logged = bridge.logs.length - logsBefore;
  assert.ok(logged <= 60, `${logged} log lines for 20,000 refusals (rate-limited)`);
  // The first burst sets the heaps' sizes; 15,000 more refusals must not grow them by much. Two
  // heaps since the socket got a thread of its own (its connections churn there): one fresh-clone
  // run grew 51 MB, so the bound is 60; a retained register of a few KB would grow it by 75 MB+.
  assert.ok(afterAll - afterFirst < 60, `RSS ${afterFirst.toFixed(0)} MB after 5,000 refusals, ${afterAll.toFixed(0)} MB after 20,000`);
  const s = await bridge.samples();
  assert.equal(s.get("kissbot_bot_up", { channel: "ghost1" }), undefined);
  // A real process registers and is shown.
  assert.equal(await sendOnce(bridge.socket, `${JSON.stringify({ type: "register", channel: "real", pid: process.pid })}\n`), true);
  await until(bridge, "the real bot is up", (x) => x.get("kissbot_bot_up", { channel: "real" }) === 1);
  await countsAGoodLine(bridge, "real");
});

test("SIGTERM while another process holds the database's write lock: the bridge ends by itself, sets the rows aside, and the next start commits each exactly once", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const first = await startBridgeProcess([], { dir });
  await stream(first, Array.from({ length: 2_000 }, () => llmLine("before_lock")).join(""));
  await until(first, "2,000 committed", (s) => s.get("kissbot_bridge_db_rows_written_total", { table: "llm_usage" }) === 2_000);
  // The bots' own rows, and the lock at once: they are read (a lock does not stop readers) and
  // counted, but the position past them cannot be committed, so it is set aside with the rows.
  assert.equal(kissbotDb("log-calls", db, "bot_rows", "300").ok, true);
  const lock = await holdWriteLock(db);
  t.after(() => lock.release());
  await until(first, "the bots' rows counted", (s) => s.get("kissbot_llm_requests_total", { channel: "bot_rows", model: "gpt-4o", feature: "ask" }) === 300);
  await stream(first, Array.from({ length: 20_000 }, () => llmLine("during_lock")).join(""));
  await until(first, "20,000 accepted", (s) => s.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 22_000);
  const code = await first.stop("SIGTERM");
  assert.equal(first.proc.signalCode, null, "ended by itself, not by a signal or an abort");
  assert.equal(code, 0, "nothing dropped");
  assert.ok(!first.logs.some((l) => l["msg"] === "shutdown took too long; exiting"), "not by its last-resort deadline");
  const stopped = first.logs.find((l) => l["msg"] === "kissbot-bridge stopped")!;
  assert.equal(stopped["dbSetAsideRows"], 20_000);
  assert.equal(stopped["dbDropped"], 0);
  assert.equal(stopped["llmUsageAccepted"], 22_000);
  assert.ok(existsSync(`${db}.journal`), "the journal beside the database");
  await lock.release();

  const second = await startBridgeProcess([], { dir });
  const s = await until(second, "the set-aside rows committed", (x) => x.get("kissbot_bridge_db_replayed_rows_total") === 20_000);
  assert.equal(s.get("kissbot_bridge_db_set_aside_rows_total"), 0);
  assert.deepEqual(kissbotQuery(db, "SELECT channel, COUNT(*) AS n FROM llm_usage GROUP BY channel ORDER BY channel"), [{ channel: "before_lock", n: 2_000 }, { channel: "bot_rows", n: 300 }, { channel: "during_lock", n: 20_000 }]);
  // A bot's row after the restart: once it is counted, every row before it has been read.
  assert.equal(kissbotDb("log-calls", db, "sentinel", "1").ok, true);
  const caughtUp = await until(second, "the follower caught up", (x) => x.get("kissbot_llm_requests_total", { channel: "sentinel", model: "gpt-4o", feature: "ask" }) === 1);
  assert.equal(caughtUp.get("kissbot_llm_requests_total", { channel: "bot_rows", model: "gpt-4o", feature: "ask" }), undefined, "the bots' rows are not counted again");
  assert.equal(existsSync(`${db}.journal`), false, "the journal is gone once committed");
  assert.equal(await second.stop(), 0);
  const third = await startBridgeProcess([], { dir });
  assert.equal((await third.samples()).get("kissbot_bridge_db_replayed_rows_total"), 0, "nothing replayed twice");
  await third.stop();
  assert.deepEqual(kissbotQuery(db, "SELECT COUNT(*) AS n FROM llm_usage"), [{ n: 22_301 }]);
});

test("a database read-only when the bridge starts (a restored backup): writes resume within two commit intervals of the permissions being fixed", async (t) => {
  // In a user namespace of its own the bridge has no power over a file beyond its mode, whether
  // the test runs as root (which ignores modes) or not: no owner is changed, no root needed.
  requireUserNamespaces();
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const first = await startBridgeProcess([], { dir });
  await first.stop();
  chmodSync(db, 0o444);
  const bridge = await startBridgeProcess([], { dir, wrap: ["unshare", "--user"] });
  t.after(() => bridge.stop());
  await stream(bridge, Array.from({ length: 1_000 }, () => llmLine("restored")).join(""));
  await until(bridge, "writes fail while read-only", (s) => (s.get("kissbot_bridge_db_errors_total", { op: "open" }) ?? 0) + (s.get("kissbot_bridge_db_errors_total", { op: "write" }) ?? 0) >= 3 && s.get("kissbot_bridge_db_queued_rows") === 1_000);
  chmodSync(db, 0o644);
  const fixedAt = Date.now();
  await until(bridge, "the queued rows written", (s) => s.get("kissbot_bridge_db_rows_written_total", { table: "llm_usage" }) === 1_000 && s.get("kissbot_bridge_db_writable") === 1, 10_000);
  t.diagnostic(`written ${Date.now() - fixedAt} ms after the permissions were fixed`);
  await countsAGoodLine(bridge, "after_fix");
  await until(bridge, "later rows written too", (s) => s.get("kissbot_bridge_db_rows_written_total", { table: "llm_usage" }) === 1_001);
});

test("four noisy channels fill the LLM series bound: a new, well-behaved bot's 100 calls are all counted, in its own overflow series", async (t) => {
  const bridge = await startBridgeProcess(["--max-label-values", "100"]);
  t.after(() => bridge.stop());
  const noisy: string[] = [];
  for (const c of ["noisy1", "noisy2", "noisy3", "noisy4"]) for (let m = 0; m < 100; m++) for (let f = 0; f < 100; f++) noisy.push(llmLine(c, `model${m}`, `feature${f}`));
  await stream(bridge, noisy.join(""));
  await until(bridge, "40,000 noisy calls", (s) => s.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 40_000, 30_000);
  await stream(bridge, Array.from({ length: 100 }, () => llmLine("newcomer")).join(""));
  const s = await until(bridge, "the newcomer's calls", (x) => x.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 40_100);
  assert.equal(s.get("kissbot_llm_requests_total", { channel: "newcomer", model: "__overflow__", feature: "__overflow__" }), 100);
  assert.equal(s.get("kissbot_llm_tokens_total", { channel: "newcomer", model: "__overflow__", feature: "__overflow__", token_type: "input" }), 1_000);
  assert.ok(s.get("kissbot_bridge_series_refused_total", { kind: "llm" })! > 0, "the refusals are still counted");
  assert.equal(s.series("kissbot_llm_requests_total").filter((l) => l["model"] !== "__overflow__").length, 3_000, "the total bound holds");
  assert.ok(s.series("kissbot_llm_requests_total").length <= 3_000 + 5, "one overflow series per channel at most");
});

test("thousands of /api/usage?by=day reads, each spelling the zone in another letter case: memory grows little during the reads and returns near its idle level after them, and every answer names the canonical zone", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  await countsAGoodLine(bridge, "usage");
  const zone = "America/Argentina/ComodRivadavia";
  const spell = (i: number) => [...zone].map((c, k) => ((i >> (k % 16)) & 1 ? c.toUpperCase() : c.toLowerCase())).join("");
  const read = async (i: number) => {
    const res = await fetch(`${bridge.url}/api/usage?by=day&since=1h&timezone=${encodeURIComponent(spell(i))}`);
    const body = (await res.json()) as { timezone?: string };
    return { status: res.status, zone: body.timezone };
  };
  const rounds = async (from: number, to: number) => {
    for (let i = from; i < to; i += 10) {
      for (const r of await Promise.all(Array.from({ length: 10 }, (_, j) => read(i + j)))) {
        assert.ok(r.status === 200 || r.status === 503, `answered ${r.status}`);
        if (r.status === 200) assert.equal(r.zone, "America/Catamarca");
      }
    }
  };
  const idle = rssMb(bridge.proc.pid!);
  await rounds(0, 1_000);
  const warm = rssMb(bridge.proc.pid!);
  await rounds(1_000, 5_000);
  const after = rssMb(bridge.proc.pid!);
  // Before the fix: about 35 MB more for every 1,000 reads (780 MB over 20,000), never given back:
  // 140 MB over these 4,000. Garbage V8 has not collected yet shows too, more on a loaded machine
  // (50 MB from 1,000 to 5,000 reads in a parallel fresh-clone run; 45 to 53 MB from idle to 5,000
  // alone here), so the bound is half the leak's.
  assert.ok(after - warm < 70, `RSS ${warm.toFixed(0)} MB after 1,000 reads, ${after.toFixed(0)} MB after 5,000`);
  // What the reads left is garbage: V8 collects it once the burst is over (10-20 s here).
  const settled = await waitFor("memory back near its idle level", () => {
    const now = rssMb(bridge.proc.pid!);
    return now < idle + 20 ? now : undefined;
  }, 90_000, 1000);
  t.diagnostic(`RSS ${idle.toFixed(0)} MB idle, ${after.toFixed(0)} MB after 5,000 reads, ${settled.toFixed(0)} MB once they stopped`);
  await countsAGoodLine(bridge, "after_reads");
});

/** A request with the given Host header, as a page reached through DNS rebinding would send it. */
function withHost(bridge: BridgeProcess, path: string, host: string): Promise<number> {
  const { hostname, port } = new URL(bridge.url);
  return new Promise((resolve, reject) => {
    // An empty `host` sends none at all (an HTTP/1.0 client, or a hand-made request).
    request({ host: hostname, port, path, ...(host === "" ? { setHost: false } : { headers: { host } }) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
}

test("HTTP answers only the names it serves: another Host is refused with 403 and counted, localhost, IP addresses and --allowed-hosts names are answered", async (t) => {
  const bridge = await startBridgeProcess(["--allowed-hosts", "bots.example.org"]);
  t.after(() => bridge.stop());
  const port = new URL(bridge.url).port;
  for (const path of ["/metrics", "/api/v1/overview", "/api/bots", "/"]) assert.equal(await withHost(bridge, path, `rebind.attacker.example:${port}`), 403, path);
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `[::1]:${port}`, `10.1.2.3:${port}`, "bots.example.org", `BOTS.example.org:${port}`]) {
    assert.equal(await withHost(bridge, "/api/v1/overview", host), 200, host);
  }
  assert.equal(await withHost(bridge, "/metrics", ""), 400, "no Host at all: Node's HTTP server refuses it before any route");
  const s = await bridge.samples();
  assert.equal(s.get("kissbot_bridge_http_refused_total", { reason: "host" }), 4);
});

test("past the HTTP connection limit the idlest connection makes room for the new one, counted; the new one is served", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  const { hostname, port } = new URL(bridge.url);
  const held: Array<Socket> = [];
  t.after(() => held.forEach((s) => s.destroy()));
  // 256 idle connections fill the limit, the first the idlest.
  for (let i = 0; i < 256; i++) {
    const s: Socket = connect({ host: hostname, port: Number(port) });
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    held.push(s);
  }
  await sleep(200); // accepting is asynchronous
  const r = await fetch(`${bridge.url}/metrics`, { headers: { connection: "close" } });
  assert.equal(r.status, 200, "the newcomer is served");
  await r.text();
  await waitFor("the idlest closed", () => (held[0]!.closed ? true : undefined));
  assert.ok(held.slice(-10).every((s) => !s.closed), "the most recent idle ones stay");
  const s = await bridge.samples();
  assert.ok(s.get("kissbot_bridge_http_refused_total", { reason: "max_connections" })! >= 1);
});

test("an error that escapes every handler: the bridge commits what it accepted, logs its stopped line and exits 1", async (t) => {
  const dir = tmp();
  const trigger = join(dir, "escape-now");
  const bridge = await startBridgeProcess([], { dir, env: { NODE_OPTIONS: `--require ${join(FIXTURES, "escaping-error.cjs")}`, KB_TEST_ESCAPE_WHEN: trigger } });
  t.after(() => bridge.stop());
  await stream(bridge, Array.from({ length: 500 }, () => llmLine("escape")).join(""));
  await until(bridge, "500 accepted", (s) => s.get("kissbot_bridge_messages_total", { message_type: "llm_usage" }) === 500);
  writeFileSync(trigger, "");
  const code = await bridge.exited;
  assert.equal(code, 1);
  assert.ok(bridge.logs.some((l) => l["msg"] === "an error escaped every handler; stopping" && l["kind"] === "uncaughtException"));
  const stopped = bridge.logs.find((l) => l["msg"] === "kissbot-bridge stopped")!;
  assert.equal(stopped["llmUsageAccepted"], 500);
  assert.equal(Number(stopped["dbWritten"]) + Number(stopped["dbSetAsideRows"]), 500, "committed or set aside, none lost");
  assert.deepEqual(kissbotQuery(join(dir, "kissbot_monitor.db"), "SELECT COUNT(*) AS n FROM llm_usage"), [{ n: Number(stopped["dbWritten"]) }]);
});
