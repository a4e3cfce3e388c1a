import { Worker } from "node:worker_threads";
import { toColumns } from "../src/store/write/usage-columns.js";
import type { UsageRow } from "../src/store/write/writer-protocol.js";

/**
 * Handing llm_usage rows to the writer thread: batches of 5,000 rows as the bridge queues them
 * (strings fresh from JSON.parse, one timestamp string a millisecond), posted to a worker that
 * reads every row. Baseline: an array per row, cloned by postMessage (the bridge until issue
 * 14's session 7); against it, columns (src/store/usage-columns.ts). CPU of the whole process,
 * both threads, per row. No database: only the hand-off.
 */
const ROWS = 5000;
const BATCHES = 200;

function batch(): UsageRow[] {
  const rows: UsageRow[] = [];
  let ts = "";
  for (let i = 0; i < ROWS; i++) {
    const t = `2026-11-26T14:40:01.${String(Math.floor(i / 20) % 1000).padStart(3, "0")}000+00:00`;
    if (t !== ts) ts = t;
    const m = JSON.parse(`{"channel":"bench_${i % 50}","model":"model_${i % 5}","feature":"feature_${i % 5}"}`) as { channel: string; model: string; feature: string };
    rows.push([ts, m.channel, m.model, m.feature, 100 + (i % 7), 50 + (i % 3), (i % 2000) + 10, 0.001, "computed"]);
  }
  return rows;
}

const reader = `
const { parentPort } = require("node:worker_threads");
let sink = 0;
parentPort.on("message", (m) => {
  if (m.columns) { const { strings, cells } = m.columns; for (let o = 0; o < cells.length; o += 9) sink += strings[cells[o + 1]].length + cells[o + 4]; }
  else for (const r of m.rows) sink += r[1].length + r[4];
  parentPort.postMessage(sink);
});`;

async function cpuPerRow(style: "rows" | "columns"): Promise<number> {
  const worker = new Worker(reader, { eval: true });
  const batches = Array.from({ length: BATCHES }, batch);
  const before = process.cpuUsage();
  for (const rows of batches) {
    const read = new Promise((r) => worker.once("message", r));
    if (style === "rows") worker.postMessage({ rows });
    else {
      // Cloned, as the bridge does (it keeps its copy to requeue a failed commit).
      const columns = toColumns(rows);
      worker.postMessage({ columns });
    }
    await read;
  }
  const cpu = process.cpuUsage(before);
  await worker.terminate();
  return (cpu.user + cpu.system) / (ROWS * BATCHES);
}

/** Medians of 5 alternating runs of each style. */
export async function benchHandoff(): Promise<{ rowsUs: number; columnsUs: number }> {
  const rows: number[] = [];
  const columns: number[] = [];
  for (let i = 0; i < 5; i++) {
    rows.push(await cpuPerRow("rows"));
    columns.push(await cpuPerRow("columns"));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { rowsUs: median(rows), columnsUs: median(columns) };
}
