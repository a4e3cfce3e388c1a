import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { openDatabase } from "../src/db/database.js";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { sendOnce } from "../test/helpers/raw-client.js";
import { CHROMIUM } from "../test/helpers/browser.js";

const DAY = 86_400_000;

/** A deterministic pseudo-random sequence (the same record every run). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
}

async function median(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

/**
 * `channels` bots with `days` days of record (an incident every other day on average, a snooze
 * a month, one bridge restart a week): how long /api/v1/availability?since=30d and the 90-day
 * strips take to answer, against a full scan of bot_record in the same run; and how long the
 * status page takes to draw every bot's strip, against the same page with the strips refused.
 */
export async function benchRecord(channels = 2000, days = 400) {
  const dir = mkdtempSync(join(tmpdir(), "kb-bench-record-"));
  const { db } = openDatabase(join(dir, "kissbot_monitor.db"));
  const now = Date.now();
  const start = now - days * DAY;
  const random = lcg(7);
  const row = db.prepare("INSERT OR REPLACE INTO bot_record (channel, kind, at_ms, state, cause, changes, until_ms) VALUES (?, ?, ?, ?, ?, 1, ?)");
  const run = db.prepare("INSERT INTO bridge_runs (started_ms, mark_ms, ended_ms) VALUES (?, ?, ?)");
  let rows = 0;
  db.transaction(() => {
    for (let w = start; w < now; w += 7 * DAY) run.run(w, Math.min(now - 60_000, w + 7 * DAY - 600_000), Math.min(now - 60_000, w + 7 * DAY - 600_000));
    for (let c = 0; c < channels; c++) {
      const channel = `bench_${c}`;
      row.run(channel, "state", start, "up", null, null);
      rows++;
      for (let d = 0; d < days; d++) {
        const day = start + d * DAY;
        if (random() < 0.5) {
          const at = day + Math.floor(random() * 20 * 3_600_000);
          row.run(channel, "state", at, "down", random() < 0.5 ? "dead" : "stale", null);
          row.run(channel, "state", at + 60_000 + Math.floor(random() * 3_600_000), "up", null, null);
          rows += 2;
        }
        if (random() < 1 / 30) {
          const at = day + 22 * 3_600_000;
          row.run(channel, "snooze", at, "snoozed", null, at + 3_600_000);
          rows++;
        }
      }
    }
  })();
  const scanMs = await median(5, async () => db.prepare("SELECT COUNT(*), SUM(at_ms) FROM bot_record").get());
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  const bridge = await startBridgeProcess(["--unseen-pids", "accept", "--max-bots", String(channels), "--db-read-timeout", "60"], { dir });
  try {
    const get = async (path: string) => {
      const res = await fetch(`${bridge.url}${path}`);
      if (!res.ok) throw new Error(`${path}: ${res.status}`);
      return res.json();
    };
    const availabilityMs = await median(5, () => get("/api/v1/availability?since=30d"));
    const stripsMs = await median(3, () => get("/api/v1/availability/days?days=90"));
    // Every channel registered (PIDs not visible here: followed by their heartbeats), so the page has a row each.
    for (let c = 0; c < channels; c += 200) await sendOnce(bridge.socket, Array.from({ length: Math.min(200, channels - c) }, (_, i) => `{"type":"register","channel":"bench_${c + i}","pid":${900_000 + c + i}}\n`).join(""));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    const page = async (strips: boolean) => {
      const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      if (!strips) await p.route("**/api/v1/availability/days*", (r) => r.fulfill({ status: 503, body: "{}" }));
      const t = performance.now();
      await p.goto(`${bridge.url}/`);
      await p.waitForFunction(
        ({ n, strips }) => document.querySelectorAll("#bots tbody tr").length === n && (!strips || Array.from(document.querySelectorAll("#bots tbody tr .strip")).every((s) => s.lastElementChild?.getAttribute("data-level") !== "none")),
        { n: channels, strips },
        { timeout: 120_000, polling: 50 },
      );
      const ms = performance.now() - t;
      await p.close();
      return ms;
    };
    const withoutStripsMs = await page(false);
    const withStripsMs = await page(true);
    await browser.close();
    return { channels, days, rows, scanMs, availabilityMs, stripsMs, withoutStripsMs, withStripsMs };
  } finally {
    await bridge.stop();
  }
}

export function printRecord(r: Awaited<ReturnType<typeof benchRecord>>): void {
  console.log(`\nThe record: ${r.channels} channels, ${r.days} days, ${r.rows.toLocaleString("en-US")} rows in bot_record`);
  console.log(`  full scan of bot_record (baseline)      ${r.scanMs.toFixed(0)} ms`);
  console.log(`  GET /api/v1/availability?since=30d     ${r.availabilityMs.toFixed(0)} ms  (${(r.availabilityMs / r.scanMs).toFixed(2)}x the scan)`);
  console.log(`  GET /api/v1/availability/days?days=90  ${r.stripsMs.toFixed(0)} ms  (${(r.stripsMs / r.scanMs).toFixed(2)}x the scan)`);
  console.log(`  status page, ${r.channels} rows, strips refused   ${r.withoutStripsMs.toFixed(0)} ms`);
  console.log(`  status page, ${r.channels} rows and strips        ${r.withStripsMs.toFixed(0)} ms  (${(r.withStripsMs / r.withoutStripsMs).toFixed(2)}x without)`);
}
