import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { UsageBook, OVERFLOW_LABEL } from "../src/usage/usage-book.js";
import { FLAGS } from "../src/config/flags.js";
import { startBridgeProcess, type BridgeProcess } from "../test/helpers/bridge-process.js";
import { kissbotQuery } from "../test/helpers/kissbot-db.js";
import { waitFor } from "../test/helpers/wait.js";

/**
 * Issue 25's two measured cases. Series bound: four channels fill --max-llm-series (4 × 100
 * models × 100 features), then a new channel's calls; how many are counted, and what a call
 * costs in its overflow series against one in a series of its own (same run). Shutdown under
 * lock: 22,000 accepted rows, another process holding the write lock, SIGTERM; how long the
 * bridge takes to end by itself, what it committed, set aside and dropped, and what the next
 * start commits, next to the same shutdown without the lock.
 */
export async function benchSeriesBound() {
  const n = (flag: { default: string }) => Number(flag.default);
  const book = new UsageBook({ maxLabelValues: n(FLAGS.maxLabelValues), maxChannels: n(FLAGS.maxBots), maxLlmSeries: n(FLAGS.maxLlmSeries), maxCustomSeries: n(FLAGS.maxCustomSeries) });
  const call = (channel: string, model: string, feature: string) => ({ type: "llm_usage" as const, channel, model, feature, tokensIn: 100, tokensOut: 50, latencyMs: 400, estimatedCostUsd: null, operation: null, costUsd: 0.001, costSource: "reported" as const });
  for (const c of ["noisy1", "noisy2", "noisy3", "noisy4"]) for (let m = 0; m < 100; m++) for (let f = 0; f < 100; f++) book.recordLlm(call(c, `model${m}`, `feature${f}`));
  const newcomer = call("newcomer", "gpt-4o", "chat");
  for (let i = 0; i < 100; i++) book.recordLlm(newcomer);
  const counted = book.llmSeries().find((s) => s.channel === "newcomer" && s.model === OVERFLOW_LABEL)?.requests ?? 0;
  const known = call("noisy1", "model1", "feature1");
  const perCallNs = (msg: typeof known) => {
    const rounds: number[] = [];
    for (let r = 0; r < 7; r++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 200_000; i++) book.recordLlm(msg);
      rounds.push(Number(process.hrtime.bigint() - start) / 200_000);
    }
    return rounds.sort((a, b) => a - b)[3]!;
  };
  perCallNs(known); // warm-up
  const ownNs = perCallNs(known);
  const overflowNs = perCallNs(newcomer);
  return { series: book.llmSeries().length, maxLlmSeries: n(FLAGS.maxLlmSeries), newcomerSent: 100, newcomerCounted: counted, ownNs, overflowNs };
}

const line = (channel: string) => `${JSON.stringify({ type: "llm_usage", channel, model: "gpt-4o", feature: "chat", tokens_in: 10, tokens_out: 5 })}\n`;

async function send(bridge: BridgeProcess, channel: string, lines: number): Promise<void> {
  const s = connect({ path: bridge.socket });
  await new Promise((r) => s.once("connect", r));
  await new Promise<void>((r) => s.end(line(channel).repeat(lines), () => r()));
}

async function scraped(bridge: BridgeProcess, re: RegExp): Promise<number> {
  return Number(re.exec((await bridge.scrape()).body)?.[1] ?? NaN);
}

async function shutdownOnce(locked: boolean) {
  const bridge = await startBridgeProcess(["--log-level", "info"]);
  const db = join(bridge.dir, "kissbot_monitor.db");
  await send(bridge, "before", 2_000);
  await waitFor("2,000 committed", async () => ((await scraped(bridge, /^kissbot_bridge_db_rows_written_total\{table="llm_usage"\} (\d+)/m)) === 2_000 ? true : undefined));
  // Another process takes the write lock for 12 s (a KissBot query, a backup).
  const locker = locked ? spawn("python3", ["-c", "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\ntime.sleep(12)\nc.execute('COMMIT')", db], { stdio: ["ignore", "pipe", "inherit"] }) : undefined;
  if (locker !== undefined) await new Promise((r) => locker.stdout!.once("data", r));
  await send(bridge, "during", 20_000);
  await waitFor("22,000 accepted", async () => ((await scraped(bridge, /^kissbot_bridge_messages_total\{message_type="llm_usage"\} (\d+)/m)) === 22_000 ? true : undefined));
  const start = performance.now();
  const exitCode = await bridge.stop("SIGTERM");
  const seconds = (performance.now() - start) / 1000;
  const stopped = bridge.logs.find((l) => l["msg"] === "kissbot-bridge stopped") ?? {};
  if (locker !== undefined && locker.exitCode === null) await new Promise((r) => locker.once("exit", r));
  const rowsAfterExit = Number(kissbotQuery(db, "SELECT COUNT(*) AS n FROM llm_usage")[0]!["n"]);
  const next = await startBridgeProcess(["--log-level", "info"], { dir: bridge.dir });
  const replayed = await scraped(next, /^kissbot_bridge_db_replayed_rows_total (\d+)/m);
  await next.stop();
  const rowsAfterRestart = Number(kissbotQuery(db, "SELECT COUNT(*) AS n FROM llm_usage")[0]!["n"]);
  return {
    seconds,
    exitCode,
    signal: bridge.proc.signalCode,
    committed: Number(stopped["dbWritten"] ?? NaN),
    setAside: Number(stopped["dbSetAsideRows"] ?? NaN),
    dropped: Number(stopped["dbDropped"] ?? NaN),
    rowsAfterExit,
    replayed,
    rowsAfterRestart,
  };
}

export async function benchShutdownUnderLock() {
  const free = await shutdownOnce(false);
  const locked = await shutdownOnce(true);
  return { free, locked };
}
