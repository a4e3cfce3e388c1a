import type { Config } from "./config/config.js";
import type { Logger } from "./log/logger.js";
import { claimSocketPath } from "./transport/socket-path.js";
import { WANTED_BACKLOG } from "./transport/socket-server.js";
import { SocketTransport } from "./transport/socket-transport.js";
import type { ProcessSource } from "./sampler/process-source.js";
import type { OtelSink } from "./otel/otel-sink.js";
import { HTTP_REFUSALS, type HttpRefusal } from "./http/host-guard.js";
import { intervalPart, Lifecycle, part } from "./lifecycle/lifecycle.js";
import { corePipeline } from "./parts/core.js";
import { databaseFeature } from "./parts/database.js";
import { channelLogsFeature } from "./parts/channel-logs.js";
import { otelFeature } from "./parts/otel.js";
import { metricsExposition } from "./parts/metrics.js";
import { httpServer, webApp } from "./parts/web.js";
import { reloadableFiles, reloader } from "./parts/reload.js";
import { notifyFeature, rerouter } from "./parts/notify.js";
import { recordFeature } from "./parts/record.js";
import { digestFeature } from "./parts/digest.js";
import { warnIfExposed } from "./parts/exposure.js";
import { CounterMap } from "./util/counter-map.js";
import { internalErrors } from "./util/guard.js";
import { systemClock, type Clock } from "./util/clock.js";
import { VERSION } from "./version.js";

/** What tests may replace: time and the view of processes. */
export type BridgeDeps = {
  clock?: Clock;
  processSource?: ProcessSource;
  /** Log lines dropped because stdout was stalled (the CLI's log output). */
  logDrops?: () => number;
};

export interface StopReport {
  /** Accepted rows that are neither committed nor set aside: lost. */
  droppedRows: number;
}

export interface RunningBridge {
  /** The OpenTelemetry sink, when one was asked for. */
  otel: OtelSink | undefined;
  /** Where the HTTP server listens (the real port when 0 was asked for). */
  httpAddress: { host: string; port: number };
  /**
   * Stops every part, newest first (lifecycle/lifecycle.ts), each step bounded: about 5 s in
   * all. What the database does not take by then is set aside in its journal.
   */
  stop(): Promise<StopReport>;
  /** SIGHUP: reloads prices and budgets (parts/reload.ts); a file that fails keeps what was running. */
  reload(): void;
}

/** The composition root: the parts of the bridge, in the order they start and stop. */
export async function startBridge(config: Config, log: Logger, deps: BridgeDeps = {}): Promise<RunningBridge> {
  // Refuse a socket a live process serves before opening anything else.
  await claimSocketPath(config.socket);
  const clock = deps.clock ?? systemClock;
  const life = new Lifecycle(3000, (name, ms) => log.debug({ part: name, ms }, "stopped"));
  try {
    const core = corePipeline(config, log, clock, deps.processSource);
    const transport = new SocketTransport({ path: config.socket, mode: config.socketMode, maxLineBytes: config.maxLineBytes, idleTimeoutMs: config.idleTimeoutMs, lineTimeoutMs: config.lineTimeoutMs, maxBufferedBytes: config.maxBufferedBytes, maxConnections: config.maxConnections }, core.ingest);
    const db = await databaseFeature(config, core, clock, (full) => (full ? transport.pause() : transport.resume()));
    const logs = channelLogsFeature(config, core, clock);
    const { otel, parts: otelParts } = await otelFeature(config, core, clock, VERSION);
    await life.startAll([...db.files, ...logs.files, ...otelParts]);
    const files = reloadableFiles(config);
    const httpRefused = new CounterMap<HttpRefusal>(HTTP_REFUSALS);
    const notify = notifyFeature(config, core, db, files.budgets, files.notify, clock, VERSION);
    const record = recordFeature(config, core, db, notify.snoozes, clock);
    const sources = { core, db, transport, channelLog: logs.channelLog, otel, budgets: files.budgets, httpRefused, notify, record, web: files.web };
    const exposition = metricsExposition(config, clock, VERSION, { ...sources, logDrops: deps.logDrops });
    const { status, app } = webApp(config, clock, VERSION, { ...sources, exposition });
    // Restored bots are checked (alive? same process?) before anyone can scrape them.
    await core.sampler.inspectNow(db.restored);
    if (db.restored.length > 0) log.info({ bots: db.restored.length }, "restored bots from the database");
    const http = await life.start(httpServer(app, config.listen, httpRefused, files.web));
    warnIfExposed(log, config.listen.host, files.web);
    notify.settle(http.address());
    await life.startAll([part("sampler", () => core.sampler.stop(), () => core.sampler.start()), ...db.readers, ...notify.parts]);
    // Once the snoozes have been read: the record goes on from what the last run wrote.
    record.settle();
    await life.start(part("transport", () => transport.stop(1000), () => transport.start()));
    // Status changes are logged when they happen, not only when someone scrapes.
    const evaluate = intervalPart("evaluator", "evaluator", 1000, () => core.registry.evaluate());
    await life.startAll([part("status", () => status.stop(), () => status.start()), evaluate, ...record.parts, ...digestFeature(config, db, notify, record, files.budgets, clock, core.limitedLog), ...logs.timers]);
    const address = http.address();
    if (transport.backlog < WANTED_BACKLOG) log.warn({ socket: config.socket, backlog: transport.backlog }, `the kernel caps the socket's accept queue at ${transport.backlog} connections (net.core.somaxconn): a burst of sends past it is refused (EAGAIN); raise it with sysctl -w net.core.somaxconn=${WANTED_BACKLOG}`);
    log.info({ socket: config.socket, backlog: transport.backlog, http: `${address.host}:${address.port}`, version: VERSION, db: config.noDb ? "off" : config.db, prices: { models: core.prices.current.size, updated: core.prices.current.updated, file: config.prices }, otlp: config.otel.otlp?.protocol ?? "off", otelPrometheus: config.otel.prometheus }, "kissbot-bridge ready");
    return {
      httpAddress: address,
      otel,
      reload: reloader(log, core.prices, config.prices, files, http, rerouter(config, notify)),
      async stop() {
        await life.stop();
        // What this run took in and kept: committed, set aside for the next start, or lost.
        const { droppedRows, ...kept } = db.report();
        log.info({ connections: transport.connectionsAccepted, llmUsageAccepted: core.ingest.accepted.get("llm_usage"), ...kept, internalErrors: internalErrors.counts.total() }, "kissbot-bridge stopped");
        return { droppedRows };
      },
    };
  } catch (err) {
    await life.stop();
    throw err;
  }
}
