import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { benchRender } from "./render.js";
import { benchFollower } from "./follower.js";
import { benchPaging } from "./paging.js";
import { benchNotify } from "./notify.js";
import { benchScrapes } from "./scrapes.js";
import { benchBounds } from "./bounds.js";
import { benchFaults } from "./faults.js";
import { benchChurn } from "./churn.js";
import { benchRestore } from "./restore.js";
import { benchPage } from "./page.js";
import { benchRunaway } from "./runaway.js";
import { benchBigMonth } from "./big-month.js";
import { benchRecord, printRecord } from "./record.js";
import { benchHandoff } from "./handoff.js";
import { benchSeriesBound, benchShutdownUnderLock } from "./robustness.js";
import { waitFor } from "../test/helpers/wait.js";
import { benchAuth, printAuth } from "./auth.js";
import { benchConnectBurst, benchConnectBurstBlocked, printConnectBurst } from "./connect-burst.js";

/**
 * npm run bench: ingest throughput of the bridge next to a bare line-splitting JSON server
 * measured in the same run, in both client styles, and the /metrics render time. Prints ratios;
 * asserts nothing (budgets live in docs/BENCHMARKS.md).
 */
const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, "..", "src", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "kb-bench-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  socket: string;
  /** The server's process, whose CPU time (all threads) a round costs. */
  pid: number;
  count(): Promise<number>;
  /** What the database did with the rows, for the bridge. */
  db?(): Promise<string>;
  /** llm_usage rows committed so far, for the bridge. */
  written?(): Promise<number>;
  stop(): void;
}

async function baseline(): Promise<Target> {
  const socket = join(dir, "baseline.sock");
  const child = fork(join(here, "baseline-server.js"), [socket], { stdio: "inherit" });
  await new Promise((r) => child.once("message", r));
  return {
    socket,
    pid: child.pid!,
    count: () => new Promise((r) => {
      child.once("message", (m: { count: number }) => r(m.count));
      child.send("count");
    }),
    stop: () => child.kill(),
  };
}

async function bridge(): Promise<Target> {
  const socket = join(dir, "bridge.sock");
  // As users run it: with the database and per-bot logs on (in a temp dir).
  const child: ChildProcess = spawn(process.execPath, [CLI, "--socket", socket, "--listen", "127.0.0.1:0", "--log-level", "info", "--db", join(dir, `bench-${Date.now()}.db`), "--channel-log-dir", join(dir, "logs")], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve) => {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      const j = JSON.parse(l) as { msg?: string; http?: string };
      if (j.msg === "kissbot-bridge ready") resolve(`http://${j.http}/metrics`);
    });
  });
  /** One scrape, and the value of each series asked for (0 when absent). */
  const scrape = async (...series: RegExp[]) => {
    const body = await (await fetch(url)).text();
    return series.map((re) => Number(re.exec(body)?.[1] ?? 0));
  };
  const COUNTED = /^kissbot_bridge_messages_total\{message_type="llm_usage"\} (\d+)/m;
  const WRITTEN = /^kissbot_bridge_db_rows_written_total\{table="llm_usage"\} (\d+)/m;
  return {
    socket,
    pid: child.pid!,
    count: async () => (await scrape(COUNTED))[0]!,
    written: async () => (await scrape(WRITTEN))[0]!,
    async db() {
      const [written, dropped, commits] = (await scrape(WRITTEN, /^kissbot_bridge_db_dropped_rows_total (\d+)/m, /^kissbot_bridge_db_commits_total (\d+)/m)).map((n) => n.toLocaleString("en-US"));
      return `${written} rows written, ${dropped} dropped, ${commits} commits`;
    },
    stop: () => child.kill("SIGTERM"),
  };
}

/** User + system CPU time of a process, all its threads, in milliseconds. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/**
 * Messages per second, and the server's CPU time per message (all its threads).
 *
 * The clock runs from the first connection until the client's last one is closed by the server.
 * Both servers handle a line synchronously as it arrives and close the connection only after
 * the sender's end of stream, so the client is done exactly when the server has handled every
 * message; nothing is polled meanwhile (a scrape of /metrics would take the bridge's CPU from
 * ingest). Only then are the server's counts checked, and the round does not end before the
 * bridge has committed its rows: the next round, of either server, never pays for this one's
 * commit, and the CPU column includes it.
 */
async function ingest(target: Target, style: Style, total: number, senders: number): Promise<{ rate: number; cpuUs: number }> {
  const before = await target.count();
  const writtenBefore = (await target.written?.()) ?? 0;
  const cpuBefore = cpuMs(target.pid);
  const start = performance.now();
  const mode = style === "stream" ? "stream" : "connections";
  const client = fork(join(here, "load-client.js"), [target.socket, mode, String(total), String(senders)], { stdio: "inherit" });
  const code = await new Promise((r) => client.once("exit", r));
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`${mode}: the load client exited with ${String(code)}`);
  // Each poll of the bridge is a scrape, whose CPU the round's figure includes: polled rarely.
  const counted = await waitFor(`${mode}: counting ${total} messages`, async () => {
    const n = (await target.count()) - before;
    return n >= total ? n : undefined;
  }, 10_000, 20);
  if (counted !== total) throw new Error(`${mode}: ${counted} of ${total} counted`);
  if (target.written !== undefined) {
    await sleep(1000); // the bridge commits once a second
    await waitFor(`${mode}: committing ${total} rows`, async () => ((await target.written!()) - writtenBefore >= total ? true : undefined), 30_000, 250);
  }
  const cpu = cpuMs(target.pid) - cpuBefore;
  return { rate: total / seconds, cpuUs: (cpu * 1000) / total };
}

/**
 * `sustained` is one connection per message like `connections`, in rounds five times as long:
 * rows the bridge commits after a round's clock stops (at most a second's worth) are then a small
 * part of the round, so a change that only moved database work past the end of a burst would not
 * show as a gain there.
 */
type Style = "connections" | "sustained" | "stream";
/**
 * Rounds per client style, alternating which server goes first. One connection per message is
 * paced by three processes sharing two cores and swings by ±15% a round here: it gets more and
 * longer rounds, so that the median reproduces from run to run.
 */
const ROUNDS = { connections: 15, sustained: 5, stream: 7 } as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * `npm run bench -- follower` runs that section alone; no argument runs the ingest, render and
 * follower sections. `npm run bench -- paging` (about 9 minutes, real Prometheus and
 * Alertmanager with the shipped settings), `npm run bench -- notify` (the bridge's own Discord
 * message with its shipped settings, about 2 minutes) and `npm run bench -- month` (a month of
 * 6 million rows, about a minute) run only when asked for.
 */
const only = process.argv[2];
if (only === "follower") {
  printFollower(await benchFollower());
  process.exit(0);
}
if (only === "ingest") {
  await ingestSection(process.argv[3]);
  process.exit(0);
}
if (only === "faults") {
  printFaults(await benchFaults());
  process.exit(0);
}

function printFaults(f: Awaited<ReturnType<typeof benchFaults>>): void {
  const pct = (a: number, b: number) => `${((100 * a) / Math.max(1, b)).toFixed(2)}%`;
  console.log("faults (stock-client sends: connect, write one line, close; 64 senders):");
  console.log(`  burst of 20,000: sent ${fmt(f.burst.sent)}, refused ${fmt(f.burst.refused)} (${pct(f.burst.refused, f.burst.sent + f.burst.refused)}); counted ${fmt(f.burst.counted)}, stored ${fmt(f.burst.stored)}`);
  console.log(`  SIGTERM after 5,000: sent ${fmt(f.sigterm.sent)}, refused at once after the socket went ${fmt(f.sigterm.refused)}; accepted ${fmt(f.sigterm.accepted)}, stored ${fmt(f.sigterm.stored)}, dropped ${f.sigterm.dropped}; exit ${f.sigterm.exitCode}`);
  console.log(`  2,000 idle connections, then 200 good sends: sent ${f.flood.sent}, refused ${f.flood.refused}, counted ${f.flood.counted}`);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(`  ${fmt(f.drip.connections)} connections holding unfinished lines (dripped in 1 KiB writes): ${mb(f.drip.bufferedBytes)} held, RSS grew ${mb(f.drip.rssGrowth)} (${(f.drip.rssGrowth / f.drip.bufferedBytes).toFixed(2)} bytes per held byte); shed ${f.drip.shed}`);
  console.log(`  ${fmt(f.stream.lines)} lines streamed on 8 connections: all counted in ${f.stream.seconds.toFixed(1)} s; peak RSS ${mb(f.stream.peakRss)}; stored ${fmt(f.stream.stored)}, dropped ${f.stream.dropped}`);
}

if (only === "scrapes") {
  const r = await benchScrapes();
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  console.log(`/metrics of 1,000 bots × 25 LLM series: ${mb(r.bytes.plain)} plain, ${mb(r.bytes.gzip)} gzip (${(r.bytes.plain / r.bytes.gzip).toFixed(1)}x less); one scrape alone (baseline) ${r.aloneMs.plain.toFixed(0)} ms plain, ${r.aloneMs.gzip.toFixed(0)} ms gzip`);
  console.log(`  ${r.concurrency} scrapers at once, 3 rounds: plain p50 ${r.concurrent.plain.p50.toFixed(0)} ms, p99 ${r.concurrent.plain.p99.toFixed(0)} ms (${(r.concurrent.plain.p99 / r.aloneMs.plain).toFixed(1)}x alone); gzip p50 ${r.concurrent.gzip.p50.toFixed(0)} ms, p99 ${r.concurrent.gzip.p99.toFixed(0)} ms (${(r.concurrent.gzip.p99 / r.aloneMs.gzip).toFixed(1)}x alone)`);
  process.exit(0);
}

if (only === "notify") {
  const n = await benchNotify();
  console.log(`shipped settings (--notify-grace 60, --sample-interval 15, --notify-group-wait 5): killed bot → Discord message in ${n.killToMessageS.toFixed(1)} s (${n.alertsInMessage} alert in it; at most 75 s: grace 60 + one sample 15); messages about a bot its supervisor restarted after 20 s: ${n.quickRestartMessages}`);
  process.exit(0);
}

if (only === "connect") {
  printConnectBurst(await benchConnectBurst());
  printConnectBurst(await benchConnectBurstBlocked(), true);
  process.exit(0);
}

if (only === "auth") {
  printAuth(await benchAuth());
  process.exit(0);
}

if (only === "runaway") {
  const r = await benchRunaway();
  console.log(`shipped settings: a bot looping at ${r.callsPerSecond} LLM calls a second → KissBotLlmRunaway page in ${r.seconds.toFixed(0)} s (fresh Prometheus: the 5 calls/s floor)`);
  process.exit(0);
}

if (only === "page") {
  printPage(await benchPage());
  process.exit(0);
}

function printPage(p: Awaited<ReturnType<typeof benchPage>>): void {
  const a = p[10]!;
  const b = p[1000]!;
  console.log(`status page, navigation to a full bots table in Chromium, median of ${a.ms.length}: 10 bots ${median(a.ms).toFixed(0)} ms; 1,000 bots ${median(b.ms).toFixed(0)} ms (${(median(b.ms) / median(a.ms)).toFixed(2)}x); first message ${(a.firstMessageBytes / 1000).toFixed(0)} kB vs ${(b.firstMessageBytes / 1000).toFixed(0)} kB`);
}

if (only === "restore") {
  printRestore(await benchRestore());
  process.exit(0);
}

function printRestore(r: Awaited<ReturnType<typeof benchRestore>>): void {
  console.log(`restart to ready, median of ${r.empty.length} alternating rounds: empty database ${median(r.empty)} ms; ${fmt(r.bots)} bots to restore ${median(r.restored)} ms (${(median(r.restored) / median(r.empty)).toFixed(2)}x); ${fmt(r.dead)} found dead at the first scrape; open descriptors ${r.fdsEmpty} vs ${r.fdsRestored}`);
}

if (only === "record") {
  printRecord(await benchRecord(Number(process.argv[3] ?? 2000), Number(process.argv[4] ?? 400)));
  process.exit(0);
}
if (only === "month") {
  const m = await benchBigMonth();
  console.log(`a month of ${fmt(m.rows)} LLM calls in the database, bridge started on it: this month's spend in /metrics after ${m.seconds.toFixed(1)} s, ${m.spentUsd.toFixed(2)} USD (SQL's sum ${m.expectedUsd.toFixed(2)}); reads refused for time meanwhile: ${m.timeouts}`);
  process.exit(0);
}

if (only === "handoff") {
  printHandoff(await benchHandoff());
  process.exit(0);
}

function printHandoff(h: Awaited<ReturnType<typeof benchHandoff>>): void {
  console.log(`llm_usage rows handed to the writer thread in batches of 5,000, CPU of both threads: an array per row ${h.rowsUs.toFixed(2)} µs a row; columns ${h.columnsUs.toFixed(2)} µs (${(h.rowsUs / h.columnsUs).toFixed(1)}x less)`);
}

if (only === "churn") {
  printChurn(await benchChurn());
  process.exit(0);
}

function printChurn(c: Awaited<ReturnType<typeof benchChurn>>): void {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.log("channels that register, use an LLM, set a custom metric and unregister, in turn (database and per-bot logs on):");
  for (const p of c.points) console.log(`  after ${fmt(p.channels)} channels: RSS ${mb(p.rss)}, V8 heap used ${mb(p.heap)}; after a full collection ${mb(p.rssAfterGc)} and ${mb(p.heapAfterGc)}; bots online ${p.bots}`);
}

if (only === "bounds") {
  printBounds(await benchBounds());
  process.exit(0);
}

function printBounds(b: Awaited<ReturnType<typeof benchBounds>>): void {
  console.log(`/metrics with every default bound full (${fmt(b.maxBots)} bots, ${fmt(b.maxFeatures)} feature flags, ${fmt(b.llmSeries)} LLM series, ${fmt(b.maxCustom)} custom metrics):`);
  console.log(`  ${(b.bytes / 1e6).toFixed(1)} MB per scrape; render ${b.steadyMs.toFixed(0)} ms when nothing changed, ${b.changedMs.toFixed(0)} ms when every LLM series changed`);
}

if (only === "robustness") {
  printRobustness(await benchSeriesBound(), await benchShutdownUnderLock());
  process.exit(0);
}

function printRobustness(b: Awaited<ReturnType<typeof benchSeriesBound>>, sh: Awaited<ReturnType<typeof benchShutdownUnderLock>>): void {
  console.log(`series bound (issue 25): 4 channels × 100 models × 100 features fill --max-llm-series ${fmt(b.maxLlmSeries)} (${fmt(b.series)} series held); a new channel's calls: ${b.newcomerCounted} of ${b.newcomerSent} counted`);
  console.log(`  a call in its channel's overflow series ${b.overflowNs.toFixed(0)} ns, in a series of its own ${b.ownNs.toFixed(0)} ns (${(b.overflowNs / b.ownNs).toFixed(2)}x), median of 7 rounds of 200,000`);
  const line = (what: string, r: typeof sh.free) =>
    `  ${what}: ended by itself in ${r.seconds.toFixed(2)} s, exit ${r.exitCode}${r.signal === null ? "" : ` (${r.signal})`}; committed ${fmt(r.committed)}, set aside ${fmt(r.setAside)}, dropped ${fmt(r.dropped)}; rows in the file after exit ${fmt(r.rowsAfterExit)}, after the next start ${fmt(r.rowsAfterRestart)} (${fmt(r.replayed)} replayed)`;
  console.log("shutdown with 22,000 accepted rows (2,000 committed before), SIGTERM:");
  console.log(line("database free (baseline)", sh.free));
  console.log(line("another process holding the write lock for 12 s", sh.locked));
  console.log(`  time ratio locked / free: ${(sh.locked.seconds / sh.free.seconds).toFixed(2)}x`);
}

if (only === "paging") {
  const p = await benchPaging();
  console.log("from an incident to the page, shipped settings (15 s scrape, --stale-after 120, 30 s heartbeats):");
  console.log(`  bot killed (SIGKILL) → KissBotDown: ${p.killToPageS.toFixed(1)} s`);
  console.log(`  bot hung (SIGSTOP), from its last heartbeat → KissBotStale: ${p.lastHeartbeatToStalePageS.toFixed(1)} s`);
  console.log(`  bridge killed → KissBotBridgeDown: ${p.bridgeKillToPageS.toFixed(1)} s; resolved notifications meanwhile: ${p.resolvedDuringOutage}`);
  const a = p.afterRestart;
  console.log(`  bridge restarted after a ${a.outageS.toFixed(0)} s outage, watched ${a.watchedS} s: pages for the healthy bot ${a.pagesForHealthy}; resolved for the dead or hung bot ${a.resolvedForDeadOrHung}; dead bot still dead: ${a.deadStillDown}`);
  console.log(`  Watchdog intervals: ${p.watchdogGapsS.map((g) => g.toFixed(1)).join(", ")} s`);
  process.exit(0);
}

function printFollower(f: Awaited<ReturnType<typeof benchFollower>>): void {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log(`follower of the bots' llm_usage rows: ${fmt(f.rows)}-row backlog caught up at ${fmt(f.rowsPerSecond)} rows/s`);
  console.log(`  /metrics while catching up (${f.catchingUp.scrapes} scrapes): p50 ${ms(f.catchingUp.p50)}, p99 ${ms(f.catchingUp.p99)}, max ${ms(f.catchingUp.max)}`);
  console.log(`  /metrics with nothing to catch up (baseline, 200 scrapes): p50 ${ms(f.idle.p50)}, p99 ${ms(f.idle.p99)}, max ${ms(f.idle.max)}; p50 ratio ${(f.catchingUp.p50 / f.idle.p50).toFixed(2)}`);
}

/** `npm run bench -- ingest connections` (or `sustained`, or `stream`) measures one client style only. */
async function ingestSection(chosen?: string): Promise<void> {
  const rows: string[][] = [];
  const dbNotes: string[] = [];
  const cases = ([["connections", 40_000, 8], ["connections", 40_000, 64], ["sustained", 200_000, 8], ["stream", 1_000_000, 1]] as const).filter(([m]) => chosen === undefined || m === chosen);
  for (const [mode, total, senders] of cases) {
    const base = await baseline();
    const br = await bridge();
    for (const t of [base, br]) await ingest(t, mode, total / 10, senders); // warm-up
    // Rounds alternate which server goes first, so a drift in the machine's speed (other load,
    // CPU frequency) falls on both; the medians are compared.
    const baseRuns: { rate: number; cpuUs: number }[] = [];
    const brRuns: { rate: number; cpuUs: number }[] = [];
    for (let round = 0; round < ROUNDS[mode]; round++) {
      const order = round % 2 === 0 ? ([[base, baseRuns], [br, brRuns]] as const) : ([[br, brRuns], [base, baseRuns]] as const);
      for (const [target, runs] of order) runs.push(await ingest(target, mode, total, senders));
    }
    const baseRates = baseRuns.map((r) => r.rate);
    const brRates = brRuns.map((r) => r.rate);
    const baseCpu = median(baseRuns.map((r) => r.cpuUs));
    const brCpu = median(brRuns.map((r) => r.cpuUs));
    await sleep(1500); // the last commit
    const style = mode === "stream" ? "streamed on one connection" : `one connection per message, ${senders} senders${mode === "sustained" ? `, rounds of ${fmt(total)}` : ""}`;
    dbNotes.push(`${style}: ${await br.db!()}`);
    base.stop();
    br.stop();
    const ratios = brRates.map((r, i) => r / baseRates[i]!);
    const pct = (x: number) => `${Math.round(x * 100)}%`;
    rows.push([
      style,
      `${fmt(median(baseRates))}/s`,
      `${fmt(median(brRates))}/s`,
      pct(median(brRates) / median(baseRates)),
      `${pct(Math.min(...ratios))}–${pct(Math.max(...ratios))}`,
      `${baseCpu.toFixed(1)} µs / ${brCpu.toFixed(1)} µs = ${pct(baseCpu / brCpu)}`,
    ]);
  }
  console.log(`ingest of llm_usage messages over the Unix socket (client in its own process), median of ${ROUNDS.connections} alternating rounds of 40,000 (one connection per message), ${ROUNDS.sustained} of 200,000 (sustained) and ${ROUNDS.stream} of 1,000,000 (streamed)`);
  console.log(["client style", "bare split+parse server", "bridge", "bridge / baseline", "per-round range", "server CPU per message: baseline / bridge"].join(" | "));
  for (const row of rows) console.log(row.join(" | "));
  console.log(`bridge database (on, as by default): ${dbNotes.join("; ")}`);
}

await ingestSection();
const r = await benchRender();
console.log();
console.log(`/metrics render, ${fmt(r.series)} LLM series (${(r.bytes / 1e6).toFixed(1)} MB), same data in prom-client ${r.baselineMs.toFixed(0)} ms:`);
console.log(`  bridge, no series changed since the last scrape: ${r.bridgeMs.toFixed(0)} ms (${(r.baselineMs / r.bridgeMs).toFixed(1)}x faster than prom-client)`);
console.log(`  bridge, every series changed since the last scrape: ${r.bridgeAllChangedMs.toFixed(0)} ms (${(r.baselineMs / r.bridgeAllChangedMs).toFixed(1)}x faster than prom-client)`);
console.log();
printBounds(await benchBounds());
console.log();
printFaults(await benchFaults());
console.log();
printRestore(await benchRestore());
console.log();
printPage(await benchPage());
console.log();
printChurn(await benchChurn());
console.log();
printFollower(await benchFollower());
console.log();
printHandoff(await benchHandoff());
console.log();
printRobustness(await benchSeriesBound(), await benchShutdownUnderLock());
process.exit(0);
