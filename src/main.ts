import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Config } from "./config/config.js";
import type { Logger } from "./log/logger.js";
import { lifecycleLog } from "./log/lifecycle-log.js";
import { RateLimitedLog } from "./log/rate-limited-log.js";
import { SocketServer } from "./transport/socket-server.js";
import { claimSocketPath } from "./transport/socket-path.js";
import { Ingest } from "./ingest/ingest.js";
import { BotRegistry } from "./registry/bot-registry.js";
import type { ProcessSource } from "./sampler/process-source.js";
import { ProcessSampler } from "./sampler/process-sampler.js";
import { ProcSource } from "./sampler/proc-source.js";
import { UsageBook } from "./usage/usage-book.js";
import { bridgeFamilies } from "./metrics/bridge-families.js";
import { Exposition } from "./metrics/exposition.js";
import { createApp } from "./http/app.js";
import type { OtelSink } from "./otel/otel-sink.js";
import { StoreWriter } from "./store/write/store-writer.js";
import { storeObserver } from "./store/write/store-observer.js";
import { restorableBots } from "./store/read/queries.js";
import { DAY_MS } from "./util/units.js";
import { DatabaseReader } from "./store/read/database-reader.js";
import { StatusPage } from "./status/status-page.js";
import { SpendWatch } from "./spend/spend-watch.js";
import { ReloadableBudgets } from "./spend/budget-file.js";
import { spendFamilies } from "./metrics/spend-families.js";
import { ChannelLog } from "./channel-log/channel-log.js";
import { LlmRowFollower } from "./follow/llm-row-follower.js";
import { loadPriceTable, ReloadablePrices } from "./pricing/price-table.js";
import { otelEnabled } from "./otel/otel-config.js";
import { CounterMap } from "./util/counter-map.js";
import { systemClock, type Clock } from "./util/clock.js";
import { delay, every, internalErrors } from "./util/guard.js";
import { HTTP_REFUSALS, type HttpRefusal } from "./http/host-guard.js";
import { VERSION } from "./version.js";

const HTTP_MAX_CONNECTIONS = 256;

/** What tests may replace: time and the view of processes. */
export type BridgeDeps = {
  clock?: Clock;
  processSource?: ProcessSource;
  /** Log lines dropped because stdout was stalled (the CLI's log output). */
  logDrops?: () => number;
};

export interface RunningBridge {
  /** The OpenTelemetry sink, when one was asked for. */
  otel: OtelSink | undefined;
  /** Where the HTTP server listens (the real port when 0 was asked for). */
  httpAddress: { host: string; port: number };
  /**
   * Stop accepting, commit what is queued (or set it aside in the journal), remove the socket
   * file, close HTTP; ends within about 5 s by itself. Resolves with the rows it had to drop.
   */
  stop(): Promise<StopReport>;
  /**
   * SIGHUP: reloads the price table (--prices). Per-bot logs need no reopening: each write
   * opens its file by name, so a rotated or deleted file is recreated at the next line.
   * A reload that fails keeps what was running, and says why.
   */
  reload(): void;
}

export interface StopReport {
  /** Accepted rows that are neither committed nor set aside: lost. */
  droppedRows: number;
}

/** Wires the pipeline: socket → framing → decode → registry / usage → metrics → HTTP. */
export async function startBridge(config: Config, log: Logger, deps: BridgeDeps = {}): Promise<RunningBridge> {
  // Refuse a socket a live process serves before opening anything else.
  await claimSocketPath(config.socket);
  const clock = deps.clock ?? systemClock;
  const prices = new ReloadablePrices(loadPriceTable(config.prices), config.prices);
  const registry = new BotRegistry(clock, { staleAfterMs: config.staleAfterMs, maxBots: config.maxBots, refuseUnseenPids: config.unseenPids === "refuse", maxFeatureSeries: config.maxFeatureSeries });
  const usage = new UsageBook({ maxLabelValues: config.maxLabelValues, maxChannels: config.maxBots, maxLlmSeries: config.maxLlmSeries, maxCustomSeries: config.maxCustomSeries });
  const limitedLog = new RateLimitedLog(log, clock);
  internalErrors.attach((key, fields, msg) => limitedLog.warn(key, fields, msg));
  const httpRefused = new CounterMap<HttpRefusal>(HTTP_REFUSALS);
  const ingest = new Ingest(registry, usage, usage.limiters.feature, prices, limitedLog);
  registry.observe({ refused: () => ingest.ignored.inc("pid_not_running") });
  const source = deps.processSource ?? new ProcSource();
  const sampler = new ProcessSampler(registry, source, log, { intervalMs: config.sampleIntervalMs });
  registry.observe(lifecycleLog(log, limitedLog));
  registry.observe(sampler);

  let transport: SocketServer | undefined;
  // Persistence: restore the bots the last run knew, then keep bot_status, llm_usage and
  // bot_metrics up to date, one commit a second.
  const store = config.noDb
    ? undefined
    : new StoreWriter(
        {
          path: config.db,
          retentionDays: config.retentionDays,
          usageRetentionDays: config.usageRetentionDays,
          fileMode: config.fileMode,
          // The socket server exists only further down; it is told once it does.
          onBackpressure: (full) => (full ? transport?.pause() : transport?.resume()),
        },
        limitedLog,
        clock,
      );
  const db = await store?.open();
  const restored = db === undefined ? [] : registry.restore(restorableBots(db, clock.now()));
  db?.close();
  // The API's reads run on their own thread, bounded in time: a slow database answers 503.
  const reader = store === undefined ? undefined : new DatabaseReader({ path: config.db, timeoutMs: config.dbReadTimeoutMs });
  // The bots' own llm_usage rows (real KissBot bots write them straight into the file).
  const follower = store === undefined ? undefined : new LlmRowFollower({ path: config.db }, ingest, limitedLog);
  if (store !== undefined) {
    registry.observe(storeObserver(store));
    ingest.observeSocketLlmUsage(store);
    store.start();
  }
  const channelLog = config.noChannelLogs ? undefined : new ChannelLog({ dir: config.channelLogDir, fileMode: config.fileMode }, clock, limitedLog);
  if (channelLog !== undefined) registry.observe(channelLog);

  // Built, and the OpenTelemetry SDK even loaded, only when asked for: with OTel off, no
  // provider, reader or timer exists.
  const otel = otelEnabled(config.otel)
    ? new (await import("./otel/otel-sink.js")).OtelSink(config.otel, { clock, bots: registry, ingest }, limitedLog, VERSION)
    : undefined;
  if (otel !== undefined) ingest.observeLlmUsage(otel);

  transport = new SocketServer(
    {
      path: config.socket,
      mode: config.socketMode,
      maxLineBytes: config.maxLineBytes,
      idleTimeoutMs: config.idleTimeoutMs,
      lineTimeoutMs: config.lineTimeoutMs,
      maxBufferedBytes: config.maxBufferedBytes,
      maxConnections: config.maxConnections,
    },
    ingest,
  );

  const promRegistry = new Registry();
  collectDefaultMetrics({ register: promRegistry });
  const collectorErrors = new CounterMap();
  let exposition: Exposition | undefined;
  // Spend of the day and month, from the database (so a restart resets nothing), and budgets.
  const spend = reader === undefined ? undefined : new SpendWatch({ spend: (a) => reader.read("spend", a), idRange: (a) => reader.read("idRange", a), latency: (a) => reader.read("latency", a) }, clock, config.timezone);
  // The bridge's own llm_usage rows reach spend as the writer commits them, not read back.
  if (spend !== undefined) store?.observeCommittedUsage(spend);
  const budgets = config.budgets === null ? undefined : new ReloadableBudgets(config.budgets);
  const families = [
    ...bridgeFamilies({
    scrapes: {
      get rendered() {
        return exposition?.rendered ?? 0;
      },
      get shared() {
        return exposition?.shared ?? 0;
      },
    },
    clock,
    version: VERSION,
    bots: registry,
    usage,
    seriesRefused: {
      get llm() {
        return usage.seriesRefused.llm;
      },
      get custom() {
        return usage.seriesRefused.custom;
      },
      get feature() {
        return registry.featuresRefused;
      },
      get spend() {
        return spend?.refused ?? 0;
      },
    },
    transport,
    ingest,
    sampler,
    otlp: otel?.otlp,
    store,
    follower,
    channelLog,
    reader,
    collectorErrors,
    internalErrors: internalErrors.counts,
    http: { refused: httpRefused },
    logDrops: deps.logDrops,
    }),
    ...spendFamilies({ clock, timeZone: config.timezone, spend, budgets, bots: registry, maxDetailSeries: config.maxLlmSeries }),
  ];
  exposition = new Exposition(families, promRegistry, collectorErrors, () => registry.evaluate());
  // Usage answers hold every message received so far, unless the database is stuck (1 s at most).
  const flushed = async (): Promise<boolean> => {
    if (store === undefined || reader === undefined) return false;
    await Promise.race([store.flush(), delay(1000)]);
    return true;
  };
  const status = new StatusPage({
    clock,
    version: VERSION,
    startedAt: clock.now(),
    socketPath: config.socket,
    bots: registry,
    ingest,
    usage,
    transport,
    store,
    otlp: otel?.otlp,
    reader,
    spend,
    budgets,
    loggedEvents: channelLog === undefined ? undefined : (channel, limit) => channelLog.recentEvents(channel, limit),
  });
  registry.observe(status.observer);
  const app = createApp({
    status: status.routes,
    metrics: exposition,
    ready: () => transport.listening,
    version: VERSION,
    socketPath: config.socket,
    otelMetrics: otel?.prometheusHandler,
    logError: (err) => internalErrors.report("http", err),
    hosts: {
      listen: config.listen.host,
      allowed: config.allowedHosts,
      refused: httpRefused,
      logRefusal: (host) => limitedLog.warn("http:host", { host }, "refused an HTTP request for a host name the bridge does not serve (--allowed-hosts adds names)"),
    },
    api: {
      now: () => clock.now(),
      bots: registry,
      async usage(sinceMs, by) {
        return (await flushed()) ? reader!.read("usage", { sinceMs, by }) : undefined;
      },
      async usageByDay(sinceMs, timeZone) {
        return (await flushed()) ? reader!.read("usageByDay", { sinceMs, nowMs: clock.now(), timeZone }) : undefined;
      },
      timeZone: config.timezone,
    },
  });

  // Restored bots are checked (alive? same process?) before anyone can scrape them.
  await sampler.inspectNow(restored);
  if (restored.length > 0) log.info({ bots: restored.length }, "restored bots from the database");

  // Idle or slow HTTP connections are checked every second (Node's default: 30 s).
  const http: Server = createServer({ connectionsCheckingInterval: 1000 }, app);
  // The HTTP port has its own budget, so a flood of idle connections there cannot starve the
  // Monitor socket of descriptors (or the other way round).
  http.maxConnections = HTTP_MAX_CONNECTIONS;
  // Past it Node closes each new connection at once (the README says so); counted here.
  http.on("drop", () => httpRefused.inc("max_connections"));
  http.headersTimeout = 5_000;
  http.requestTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(config.listen.port, config.listen.host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    await transport.start();
  } catch (err) {
    http.close();
    await store?.close();
    await otel?.shutdown();
    throw err;
  }
  sampler.start();
  follower?.start();
  status.start();
  spend?.start();
  // Status changes are logged when they happen, not only when someone scrapes.
  const evaluator = every("evaluator", 1000, () => registry.evaluate());
  // Daily, like the database's retention: log folders of channels gone longer than --retention-days.
  const pruneLogs = () => void channelLog?.prune(config.retentionDays * DAY_MS, (channel) => registry.get(channel) !== undefined);
  const pruner = channelLog === undefined ? undefined : every("channel_log", DAY_MS, pruneLogs);
  pruneLogs();

  const address = http.address() as AddressInfo;
  log.info(
    { socket: config.socket, http: `${address.address}:${address.port}`, version: VERSION, db: config.noDb ? "off" : config.db, prices: { models: prices.current.size, updated: prices.current.updated, file: config.prices }, otlp: config.otel.otlp?.protocol ?? "off", otelPrometheus: config.otel.prometheus },
    "kissbot-bridge ready",
  );

  return {
    httpAddress: { host: address.address, port: address.port },
    otel,
    reload() {
      // Each file on its own: a bad one keeps its running version and never blocks the other.
      try {
        const table = prices.reload();
        log.info({ signal: "SIGHUP", prices: { models: table.size, updated: table.updated, file: config.prices } }, "reloaded");
      } catch (err) {
        log.error({ signal: "SIGHUP", err: (err as Error).message }, "reload failed; keeping the running configuration");
      }
      if (budgets !== undefined) {
        try {
          const table = budgets.reload();
          log.info({ signal: "SIGHUP", budgets: { channels: table.channels.size, file: table.path } }, "budgets reloaded");
        } catch (err) {
          log.error({ signal: "SIGHUP", err: (err as Error).message }, "budgets reload failed; keeping the running budgets");
        }
      }
    },
    async stop() {
      clearInterval(evaluator);
      status.stop();
      spend?.stop();
      clearInterval(pruner);
      // Each step is bounded, so the whole ends by itself within about 5 s (the CLI's last-resort
      // deadline is later): 1 s for senders, 1 s for the follower, 2.5 s for the last commit.
      await transport.stop(1000);
      await Promise.all([sampler.stop(), follower?.stop(1000)]);
      // The last OTel interval, the last database rows and the last log lines go out together.
      await Promise.all([Promise.race([otel?.shutdown(), delay(2500)]), store?.close(2500), reader?.close(), Promise.race([channelLog?.drain(), delay(2500)])]);
      http.closeAllConnections();
      await Promise.race([new Promise<void>((resolve) => http.close(() => resolve())), delay(500)]);
      // What this run took in and kept: committed, set aside for the next start, or lost.
      const droppedRows = store?.dropped ?? 0;
      log.info(
        {
          connections: transport.connectionsAccepted,
          llmUsageAccepted: ingest.accepted.get("llm_usage"),
          dbWritten: store?.written.get("llm_usage") ?? null,
          dbCommittedRows: store?.written.total() ?? null,
          dbSetAsideRows: store?.setAside ?? null,
          dbDropped: store === undefined ? null : droppedRows,
          internalErrors: internalErrors.counts.total(),
        },
        "kissbot-bridge stopped",
      );
      return { droppedRows };
    },
  };
}
