import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../src/db/database.js";
import { insertInto } from "../src/store/write/inserts.js";
import { toSqlTime } from "../src/db/timestamps.js";
import { startBridgeProcess } from "../test/helpers/bridge-process.js";
import { waitFor } from "../test/helpers/wait.js";
import type { Samples } from "../test/helpers/samples.js";

/**
 * A month of `rows` LLM calls (50 channels, from the 1st, UTC, to an hour ago) in the database,
 * then a bridge started on it: how long until this month's spend is in /metrics, whether it is
 * SQL's sum, and the reads of the database refused meanwhile (a read past --db-read-timeout).
 */
export async function benchBigMonth(rows = 6_000_000) {
  const dir = mkdtempSync(join(tmpdir(), "kb-bench-month-"));
  const { db } = openDatabase(join(dir, "kissbot_monitor.db"));
  const insert = insertInto(db, "llm_usage", ["ts", "channel", "model", "feature", "tokens_in", "tokens_out", "latency_ms", "cost_usd"], "", new Map([["source", "'socket'"]]));
  const now = Date.now();
  const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
  const span = Math.max(1, now - 3_700_000 - monthStart);
  for (let b = 0; b < rows; b += 500_000) {
    db.transaction(() => {
      for (let i = b; i < Math.min(rows, b + 500_000); i++) insert.run(toSqlTime(monthStart + Math.floor((i * span) / rows)), `ch_${i % 50}`, `model_${i % 5}`, `feature_${i % 5}`, 100, 50, 500, 0.001);
    })();
  }
  const expectedUsd = db.prepare("SELECT SUM(cost_usd) FROM llm_usage WHERE ts >= ?").pluck().get(toSqlTime(monthStart)) as number;
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  const started = Date.now();
  const bridge = await startBridgeProcess(["--log-level", "info", "--timezone", "UTC"], { dir });
  try {
    const monthSpend = (s: Samples) =>
      s.series("kissbot_llm_spend_usd").filter((l) => l["period"] === "month").reduce((sum, l) => sum + s.get("kissbot_llm_spend_usd", l)!, 0);
    const spentUsd = await waitFor("this month's spend in /metrics", async () => {
      const usd = monthSpend(await bridge.samples());
      return usd > 0 ? usd : undefined;
    }, 180_000, 250).catch(() => 0);
    const seconds = (Date.now() - started) / 1000;
    const timeouts = (await bridge.samples()).get("kissbot_bridge_db_reads_refused_total", { reason: "timeout" }) ?? NaN;
    return { rows, seconds, spentUsd, expectedUsd, timeouts };
  } finally {
    await bridge.stop();
  }
}
