import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess, until, type BridgeProcess } from "../helpers/bridge-process.js";
import { holdWriteLock, kissbotDb, kissbotQuery, sqlite3Exec } from "../helpers/kissbot-db.js";
import type { Samples } from "../helpers/samples.js";
import { sendOnce } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";
import { requireUserNamespaces } from "../helpers/userns.js";
import { PYTHON } from "../helpers/python.js";

const tmp = () => mkdtempSync(join(tmpdir(), "kb-dbfaults-"));

const llm = (channel: string, n: number) => Array.from({ length: n }, (_, i) => `{"type": "llm_usage", "channel": "${channel}", "model": "gpt-4o", "feature": "f", "tokens_in": ${i + 1}, "tokens_out": 1}\n`).join("");

const count = (db: string, channel: string) => Number(kissbotQuery(db, `SELECT COUNT(*) AS n FROM llm_usage WHERE channel = '${channel}'`)[0]!["n"]);

/** A million recent llm_usage rows, written the way a busy fleet's bots would have left them. */
function fillDatabase(db: string, rows: number): void {
  const r = spawnSync(PYTHON, ["-c", `
import sqlite3, sys, datetime
c = sqlite3.connect(sys.argv[1])
ts = datetime.datetime.now(datetime.timezone.utc).isoformat()
c.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
  INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, latency_ms, cost_usd, source)
  SELECT ?, 'big' || (i % 100), 'gpt-4o', 'f' || (i % 7), i % 500, 20, i % 3000, 0.001, 'socket' FROM n""", (int(sys.argv[2]), ts))
c.commit()
`, db, String(rows)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

test("/api/usage over a million rows: ingest and /metrics carry on meanwhile, a read past --db-read-timeout is a 503 with a reason, and the next one answers", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const first = await startBridgeProcess([], { dir });
  await first.stop();
  // Marked as the bridge's own rows, so the follower does not count them as new calls.
  fillDatabase(db, 1_000_000);
  // Grouping a million rows by channel takes about 4 s here: well past the 1.5 s allowed.
  const bridge = await startBridgeProcess(["--db-read-timeout", "1.5"], { dir });
  t.after(() => bridge.stop());

  let answered = false;
  const usage = fetch(`${bridge.url}/api/usage?since=1h&by=channel`).then(async (r) => {
    answered = true;
    return { status: r.status, body: (await r.json()) as { error: string; reason: string } };
  });
  // While the read runs, the bridge reads the socket and serves scrapes. Two scrapes, not five:
  // everything here must fit in the read's 1.5 s, and on a loaded machine five did not once.
  for (let i = 0; i < 2; i++) assert.equal((await bridge.scrape()).status, 200);
  assert.equal(await sendOnce(bridge.socket, llm("during", 50)), true);
  await until(bridge, "50 lines counted during the read", (s) => s.get("kissbot_llm_requests_total", { channel: "during", model: "gpt-4o", feature: "f" }) === 50);
  assert.equal(answered, false, "everything above happened while the database read was still running");

  const refused = await usage;
  assert.equal(refused.status, 503);
  assert.equal(refused.body.reason, "timeout");
  assert.match(refused.body.error, /did not answer within 1.5 s/);
  // The status page's spend reads over the same table may time out too.
  assert.ok((await bridge.samples()).get("kissbot_bridge_db_reads_refused_total", { reason: "timeout" })! >= 1);

  sqlite3Exec(db, "PRAGMA busy_timeout = 5000; DELETE FROM llm_usage WHERE channel LIKE 'big%';");
  const ok = await waitFor("a read once the table is small again", async () => {
    const r = await fetch(`${bridge.url}/api/usage?since=1h&by=channel`);
    return r.status === 200 ? ((await r.json()) as { rows: { key: string; calls: number }[] }) : undefined;
  });
  assert.deepEqual(ok.rows.map((r) => [r.key, r.calls]), [["during", 50]], "a new reader thread answers, with the rows the bridge committed");
});

test("a database read-only at start, then fixed: the queued rows are written, and writable goes back to 1", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  assert.equal(kissbotDb("monitor-init", db).ok, true);
  // root ignores file modes: make the file immutable instead.
  const root = process.getuid?.() === 0;
  const lock = (on: boolean) => (root ? spawnSync("chattr", [on ? "+i" : "-i", db]).status === 0 : (chmodSync(db, on ? 0o444 : 0o644), true));
  if (!lock(true)) return t.skip("chattr +i is not supported on this filesystem (needed to make a file read-only for root)");
  t.after(() => lock(false));
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  assert.equal(await sendOnce(bridge.socket, llm("readonly", 1000)), true);
  const failing = await until(bridge, "1,000 rows queued and errors counted", (s) => s.get("kissbot_bridge_db_queued_rows") === 1000 && s.get("kissbot_bridge_db_errors_total", { op: "write" })! + s.get("kissbot_bridge_db_errors_total", { op: "open" })! >= 2);
  assert.equal(failing.get("kissbot_bridge_db_writable"), 0);
  assert.equal(count(db, "readonly"), 0);

  lock(false);
  const fixed = await until(bridge, "the queue written after the fix", (s) => s.get("kissbot_bridge_db_queued_rows") === 0 && s.get("kissbot_bridge_db_writable") === 1);
  assert.equal(fixed.get("kissbot_bridge_db_dropped_rows_total"), 0);
  assert.equal(count(db, "readonly"), 1000);
});

test("the database file deleted under the running bridge: counted as replaced, recreated, and both the socket's rows and the bots' own rows land in the new file", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  assert.equal(kissbotDb("log-calls", db, "bot_rows", "2").ok, true);
  await until(bridge, "the bots' rows followed", (s) => s.get("kissbot_llm_requests_total", { channel: "bot_rows", model: "gpt-4o", feature: "ask" }) === 2);

  for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
  assert.equal(await sendOnce(bridge.socket, llm("after_delete", 100)), true);
  await waitFor("the socket's rows in a new file", () => {
    try {
      return count(db, "after_delete") === 100 ? true : undefined;
    } catch {
      return undefined; // not created yet
    }
  });
  const s = await bridge.samples();
  assert.equal(s.get("kissbot_bridge_db_errors_total", { op: "replaced" }), 1);
  assert.equal(s.get("kissbot_bridge_db_dropped_rows_total"), 0);

  // A bot logging into the new file is followed from its first row.
  assert.equal(kissbotDb("log-calls", db, "bot_rows", "3").ok, true);
  await until(bridge, "the bots' rows in the new file followed", (x) => x.get("kissbot_llm_requests_total", { channel: "bot_rows", model: "gpt-4o", feature: "ask" }) === 5);
});

/** Rows written to llm_usage, read from the bridge's own count. */
const written = (s: Samples) => s.get("kissbot_bridge_db_rows_written_total", { table: "llm_usage" }) ?? 0;
/** Failed commits, and the reopenings that follow them until the cause is gone. */
const writeErrors = (s: Samples) => (s.get("kissbot_bridge_db_errors_total", { op: "write" }) ?? 0) + (s.get("kissbot_bridge_db_errors_total", { op: "open" }) ?? 0);

test("another process holds the write lock while the bridge runs (a backup, a long query): rows wait queued, and are written once it lets go", async (t) => {
  const dir = tmp();
  const db = join(dir, "kissbot_monitor.db");
  const bridge = await startBridgeProcess([], { dir });
  t.after(() => bridge.stop());
  const lock = await holdWriteLock(db);
  t.after(() => lock.release());
  assert.equal(await sendOnce(bridge.socket, llm("locked", 1000)), true);
  const held = await until(bridge, "commits refused while the lock is held", (s) => writeErrors(s) >= 2 && s.get("kissbot_bridge_db_queued_rows") === 1000);
  assert.equal(written(held), 0);
  await countsWhileItWaits(bridge);

  await lock.release();
  const releasedAt = Date.now();
  const s = await until(bridge, "the queued rows written", (x) => written(x) === 1003 && x.get("kissbot_bridge_db_queued_rows") === 0);
  t.diagnostic(`written ${Date.now() - releasedAt} ms after the lock was released`);
  assert.equal(s.get("kissbot_bridge_db_dropped_rows_total"), 0);
  assert.equal(count(db, "locked"), 1000);
});

test("a full disk while the bridge runs: commits fail and are counted, nothing is dropped, and writes resume once space is freed", async (t) => {
  // A file system of its own, small enough to fill: the database and its WAL live there. It is
  // mounted in a user and mount namespace of the bridge's own (no root needed); the test reaches
  // the bridge's view of it through /proc/PID/root. The socket stays outside, where bots see it.
  requireUserNamespaces();
  const dir = tmp();
  const fs = join(dir, "fs");
  mkdirSync(fs);
  const db = join(fs, "kissbot_monitor.db");
  const mountFirst = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", 'mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@"', fs];
  const bridge = await startBridgeProcess(["--db", db], { dir, wrap: mountFirst });
  t.after(() => bridge.stop());
  const seen = (path: string) => `/proc/${bridge.proc.pid}/root${path}`;
  assert.equal(await sendOnce(bridge.socket, llm("before", 10)), true);
  await until(bridge, "the first rows written", (s) => written(s) === 10);

  const filler = seen(join(fs, "filler"));
  fillDisk(filler);
  assert.equal(await sendOnce(bridge.socket, llm("full", 5000)), true);
  const failing = await until(bridge, "commits fail on the full disk", (s) => writeErrors(s) >= 2 && s.get("kissbot_bridge_db_queued_rows") === 5000);
  assert.equal(failing.get("kissbot_bridge_db_writable"), 0);
  await countsWhileItWaits(bridge);

  rmSync(filler);
  const freedAt = Date.now();
  const s = await until(bridge, "the queued rows written", (x) => written(x) === 5013 && x.get("kissbot_bridge_db_queued_rows") === 0 && x.get("kissbot_bridge_db_writable") === 1);
  t.diagnostic(`written ${Date.now() - freedAt} ms after space was freed`);
  assert.equal(s.get("kissbot_bridge_db_dropped_rows_total"), 0);
  // Read where the file system is: SQLite follows /proc/PID/root back to this namespace's "/".
  const inside = ["nsenter", `--target=${bridge.proc.pid}`, "--user", "--mount", "--preserve-credentials"];
  assert.deepEqual(kissbotQuery(db, "SELECT COUNT(*) AS n FROM llm_usage WHERE channel = 'full'", inside), [{ n: 5000 }]);
  assert.deepEqual(kissbotQuery(db, "PRAGMA integrity_check", inside), [{ integrity_check: "ok" }]);
});

/** Writes zeros to `path` until the file system has no block left. */
function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
  } finally {
    closeSync(fd);
  }
}

/** While the database refuses writes, the socket and /metrics carry on. */
async function countsWhileItWaits(bridge: BridgeProcess): Promise<void> {
  assert.equal(await sendOnce(bridge.socket, llm("meanwhile", 3)), true);
  await until(bridge, "lines counted while the database waits", (s) => s.get("kissbot_llm_requests_total", { channel: "meanwhile", model: "gpt-4o", feature: "f" }) === 3);
}
