import { createServer, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import type { Config } from "../config/config.js";
import type { Part } from "../lifecycle/lifecycle.js";
import type { Exposition } from "../metrics/exposition.js";
import type { BridgeParts } from "./metrics.js";
import { createApp } from "../http/app.js";
import { ConnectionBudget } from "../http/connection-budget.js";
import { closePasswordThread } from "../http/basic-auth.js";
import type { RecordRead } from "../http/record-routes.js";
import type { HttpRefusal } from "../http/host-guard.js";
import { secureContext, tlsServerOptions, type ReloadableWebConfig } from "../http/web-security.js";
import type { WebConfig } from "../http/web-config.js";
import { StatusPage } from "../status/status-page.js";
import type { CounterMap } from "../util/counter-map.js";
import { delay, internalErrors } from "../util/guard.js";
import type { Clock } from "../util/clock.js";

/** HTTP connections at most: a flood there cannot starve the Monitor socket of descriptors. */
const HTTP_MAX_CONNECTIONS = 256;
/** A connection with no request in flight for this long is closed (one that never sent one too). */
const HTTP_IDLE_MS = 10_000;

export type WebParts = BridgeParts & { exposition: Exposition };

/** The status page (its view, live feed and snapshots) and the express app serving it, the API and /metrics. */
export function webApp(config: Config, clock: Clock, version: string, p: WebParts): { status: StatusPage; app: Express } {
  const { registry, ingest, usage, limitedLog } = p.core;
  const { reader, store, spend } = p.db;
  // Reads of the record answer with every change received so far, unless the database is stuck (1 s at most).
  const recordRead: RecordRead | undefined =
    reader === undefined || p.record.recorder === undefined
      ? undefined
      : async (name, args) => {
          await p.db.flushed();
          return reader.read(name, args);
        };
  const status = new StatusPage({
    clock,
    version,
    startedAt: clock.now(),
    socketPath: config.socket,
    bots: registry,
    ingest,
    usage,
    transport: p.transport,
    store,
    otlp: p.otel?.otlp,
    reader,
    spend,
    budgets: p.budgets,
    snoozes: p.notify.snoozes,
    notifications: p.notify.notifier,
    loggedEvents: p.channelLog === undefined ? undefined : (channel, limit) => p.channelLog!.recentEvents(channel, limit),
  });
  registry.observe(status.observer);
  const app = createApp({
    status: status.routes,
    metrics: p.exposition,
    ready: () => p.transport.listening,
    version,
    socketPath: config.socket,
    otelMetrics: p.otel?.prometheusHandler,
    logError: (err) => internalErrors.report("http", err),
    web:
      p.web === undefined
        ? undefined
        : {
            config: () => p.web!.current,
            refuse: (reason, user) => {
              p.httpRefused.inc(reason);
              limitedLog.warn(`http:${reason}`, { reason, user: user.slice(0, 64) }, "refused an HTTP request: credentials missing or wrong, or no valid client certificate (--web.config.file)");
            },
          },
    hosts: {
      listen: config.listen.host,
      allowed: config.allowedHosts,
      refused: p.httpRefused,
      logRefusal: (host) => limitedLog.warn("http:host", { host }, "refused an HTTP request for a host name the bridge does not serve (--allowed-hosts adds names)"),
    },
    api: {
      now: () => clock.now(),
      bots: registry,
      snoozes: p.notify.snoozes,
      // Usage answers hold every message received so far, unless the database is stuck (1 s at most).
      usage: async (sinceMs, by) => ((await p.db.flushed()) ? reader!.read("usage", { sinceMs, by }) : undefined),
      usageByDay: async (sinceMs, timeZone) => ((await p.db.flushed()) ? reader!.read("usageByDay", { sinceMs, nowMs: clock.now(), timeZone }) : undefined),
      timeZone: config.timezone,
    },
    record: { now: () => clock.now(), timeZone: config.timezone, live: p.record.live, read: recordRead },
    badges: {
      public: config.publicBadges,
      now: () => clock.now(),
      objective: config.availabilityObjective,
      status: (channel) => {
        const bot = registry.get(channel);
        if (p.notify.snoozes?.isSnoozed(channel) === true && (bot !== undefined || p.record.recorder?.stateOf(channel) !== undefined)) return "snoozed";
        if (bot !== undefined) return bot.status;
        if (p.record.recorder?.stateOf(channel) === "stopped" || registry.unregisteredLately(channel)) return "stopped";
        return "unknown";
      },
      availability: async (channel, fromMs, toMs) => {
        if (recordRead === undefined) return undefined;
        const view = await recordRead("availability", { fromMs, toMs, nowMs: clock.now(), live: p.record.live, channels: [channel] });
        return view.channels[0]?.availability ?? null;
      },
    },
  });
  return { status, app };
}

/** The HTTP server as a part: listens at start, closes every connection at stop. */
export function httpServer(app: Express, listen: { host: string; port: number }, refused: CounterMap<HttpRefusal>, web: ReloadableWebConfig | undefined): Part & { address(): { host: string; port: number }; secure(config: WebConfig): void } {
  // Idle or slow HTTP connections are checked every second (Node's default: 30 s).
  const tls = web?.current.tls;
  const http: Server = tls === undefined ? createServer({ connectionsCheckingInterval: 1000 }, app) : createTlsServer({ ...tlsServerOptions(tls), connectionsCheckingInterval: 1000 }, app);
  // Past the bound the idlest connection makes room, so held connections cannot lock a scraper out.
  new ConnectionBudget(HTTP_MAX_CONNECTIONS, HTTP_IDLE_MS, () => Date.now(), () => refused.inc("max_connections")).attach(http);
  http.headersTimeout = 5_000;
  http.requestTimeout = 30_000;
  return {
    name: "http",
    start: () =>
      new Promise<void>((resolve, reject) => {
        http.once("error", reject);
        http.listen(listen.port, listen.host, () => {
          http.off("error", reject);
          resolve();
        });
      }),
    async stop() {
      http.closeAllConnections();
      await Promise.race([new Promise<void>((resolve) => http.close(() => resolve())), delay(500)]);
      await closePasswordThread();
    },
    address() {
      const a = http.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    /** New certificates for the connections to come (SIGHUP). */
    secure(config: WebConfig) {
      if (config.tls !== undefined && "setSecureContext" in http) (http as unknown as { setSecureContext(o: object): void }).setSecureContext(secureContext(config.tls));
    },
  };
}
