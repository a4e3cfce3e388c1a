import express, { type Express } from "express";
import type { IncomingMessage, ServerResponse } from "node:http";
import { negotiate, type ExpositionFormat } from "../metrics/format.js";
import { apiRouter, type ApiSources } from "./api.js";
import { runbookPage } from "./runbook.js";
import { statusRouter, type StatusRouteSources } from "./status-routes.js";
import { hostGuard, type HttpRefusal } from "./host-guard.js";
import type { CounterMap } from "../util/counter-map.js";
import type { WebConfig } from "./web-config.js";
import { BasicAuth, type AuthRefusal } from "./basic-auth.js";
import { webConfigGuard } from "./web-security.js";
import { recordRouter, type RecordSources } from "./record-routes.js";
import { badgeRouter, type BadgeSources } from "./badge-routes.js";

/** What the HTTP layer needs from the rest of the bridge. */
export interface HttpSources {
  metrics: { render(format: ExpositionFormat, gzipped: boolean): Promise<{ contentType: string; body: Buffer; encoding: "gzip" | undefined; release(): void }> };
  /** Ready once the Monitor socket is accepting connections. */
  ready(): boolean;
  version: string;
  socketPath: string;
  /** /otel/metrics, served by the OpenTelemetry Prometheus exporter when --otel-prometheus is on. */
  otelMetrics?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  api: ApiSources;
  /** Availability and incidents (/api/v1/availability, /api/v1/bots/CHANNEL/incidents…). */
  record: RecordSources;
  /** /badge/…; with `public`, they answer without the web config's credentials (--public-badges). */
  badges: BadgeSources & { public: boolean };
  /** The status page at / and its API (/api/v1/...). */
  status: StatusRouteSources;
  /** Told of an error no route handled (the client only gets a 500 without details). */
  logError?: (err: unknown) => void;
  /** Which Host headers are answered (host-guard.ts); every name when absent. */
  hosts?: { listen: string; allowed: readonly string[]; refused: CounterMap<HttpRefusal>; logRefusal: (host: string) => void } | undefined;
  /** --web.config.file as in force now (it may be reloaded); absent: every endpoint open. */
  web?: { config: () => WebConfig; refuse: (reason: AuthRefusal, user: string) => void } | undefined;
}

/** Open even with basic auth, for a container's or a load balancer's health check: it says only "OK". */
const HEALTH_PATH = "/-/healthy";

export function createApp(s: HttpSources): Express {
  const app = express();
  app.disable("x-powered-by");
  // Express would hash every response body for an ETag: tens of MB per scrape for many bots.
  app.set("etag", false);
  if (s.hosts !== undefined) app.use(hostGuard(s.hosts.listen, s.hosts.allowed, s.hosts.refused, s.hosts.logRefusal));
  const web = s.web;
  if (web !== undefined) {
    app.use(webConfigGuard(web.config, (reason) => web.refuse(reason, "")));
    const publicBadges = s.badges.public;
    app.use(new BasicAuth(() => web.config().users, web.refuse).middleware((path) => path === HEALTH_PATH || (publicBadges && path.startsWith("/badge/"))));
  }

  app.get("/metrics", async (req, res) => {
    // Prometheus always asks for gzip: across a network that is a tenth of the bytes.
    const gzipped = req.acceptsEncodings("gzip", "identity") === "gzip";
    const { format, contentType } = negotiate(req.get("accept"));
    const { body, encoding, release } = await s.metrics.render(format, gzipped);
    // Only once every byte is with the OS may the next scrape reuse the body's memory; an
    // aborted response never gives it back, so nothing can overwrite bytes still being sent.
    res.once("finish", release);
    res.set("Content-Type", contentType).set("Cache-Control", "no-store").set("Vary", "Accept-Encoding");
    if (encoding !== undefined) res.set("Content-Encoding", encoding);
    res.send(body);
  });
  app.use(apiRouter(s.api));
  app.use(recordRouter(s.record));
  app.use(badgeRouter(s.badges));
  const otel = s.otelMetrics;
  if (otel !== undefined) app.get("/otel/metrics", (req, res) => otel(req, res));
  // What each alert's runbook_url points at (prometheus.yml: kissbot_runbook_url).
  let runbook: string | undefined;
  app.get("/runbook", (_req, res) => {
    runbook ??= runbookPage();
    res.type("html").send(runbook);
  });
  app.get("/-/healthy", (_req, res) => {
    res.type("text/plain").send("OK\n");
  });
  app.get("/-/ready", (_req, res) => {
    const ready = s.ready();
    res.status(ready ? 200 : 503).type("text/plain").send(ready ? "Ready\n" : "Not ready\n");
  });
  app.use(statusRouter(s.status));
  // Express's default error page shows the stack (and with it paths) outside production.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    // Express and its parsers mark the request's own faults (a malformed percent-encoding in the
    // path, say) with a 4xx status: that is the client's answer, not the bridge's error.
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      if (!res.headersSent) res.status(status).json({ error: "bad request" });
      return;
    }
    s.logError?.(err);
    if (!res.headersSent) res.status(500).json({ error: "internal error; see the bridge's log" });
  });
  return app;
}
