import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import BetterSqlite3 from "better-sqlite3";

/**
 * The follower of the bots' own llm_usage rows: how fast a bridge coming back catches up with a
 * 1,000,000-row backlog, and what that does to /metrics latency. The baseline is the same bridge
 * on the same file with nothing to catch up, measured in the same run.
 */
const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, "..", "src", "cli.js");
const ROWS = 1_000_000;

type Running = { child: ChildProcess; url: string };

async function start(db: string, dir: string): Promise<Running> {
  const child = spawn(process.execPath, [CLI, "--socket", join(dir, "b.sock"), "--listen", "127.0.0.1:0", "--log-level", "info", "--db", db, "--no-channel-logs"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      const j = JSON.parse(l) as { msg?: string; http?: string };
      if (j.msg === "kissbot-bridge ready") resolve({ child, url: `http://${j.http}/metrics` });
    });
  });
}

async function stop(r: Running): Promise<void> {
  const gone = new Promise((res) => r.child.once("exit", res));
  r.child.kill("SIGTERM");
  await gone;
}

async function scrapeMs(url: string): Promise<{ ms: number; body: string }> {
  const t = performance.now();
  const body = await (await fetch(url)).text();
  return { ms: performance.now() - t, body };
}

const followed = (body: string) => Number(/^kissbot_bridge_db_followed_rows_total (\d+)/m.exec(body)?.[1] ?? 0);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

export interface FollowerResult {
  rows: number;
  rowsPerSecond: number;
  idle: { p50: number; p99: number; max: number };
  catchingUp: { p50: number; p99: number; max: number; scrapes: number };
}

export async function benchFollower(): Promise<FollowerResult> {
  const dir = mkdtempSync(join(tmpdir(), "kb-bench-follow-"));
  const path = join(dir, "kissbot_monitor.db");
  // The bridge makes the file (schema 2, position 0), then the "bots" commit a million calls.
  await stop(await start(path, dir));
  const db = new BetterSqlite3(path);
  const insert = db.prepare("INSERT INTO llm_usage (ts, channel, model, feature, tokens_in, tokens_out, latency_ms, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  db.transaction(() => {
    const ts = new Date().toISOString().replace("Z", "000+00:00");
    for (let i = 0; i < ROWS; i++) insert.run(ts, `channel_${i % 50}`, `model_${i % 3}`, `feature_${i % 5}`, 100 + (i % 50), 20 + (i % 10), 200 + (i % 700), 0.0001);
  })();
  const savePosition = (value: number) => db.prepare("UPDATE bridge_state SET value = ? WHERE key = 'llm_usage_followed_id'").run(value);

  // Baseline: the same file, the position already at the end.
  savePosition(ROWS);
  const idleBridge = await start(path, dir);
  const idle: number[] = [];
  for (let i = 0; i < 200; i++) idle.push((await scrapeMs(idleBridge.url)).ms);
  await stop(idleBridge);

  // Catching up with the whole backlog, scraped continuously meanwhile.
  savePosition(0);
  db.close();
  const t0 = performance.now();
  const busy = await start(path, dir);
  const during: number[] = [];
  let done = 0;
  while (done < ROWS) {
    const s = await scrapeMs(busy.url);
    done = followed(s.body);
    if (done < ROWS) during.push(s.ms);
    if (performance.now() - t0 > 300_000) throw new Error(`only ${done} rows followed in 300 s`);
  }
  const seconds = (performance.now() - t0) / 1000;
  await stop(busy);
  const summary = (xs: number[]) => ({ p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) });
  return { rows: ROWS, rowsPerSecond: ROWS / seconds, idle: summary(idle), catchingUp: { ...summary(during), scrapes: during.length } };
}
