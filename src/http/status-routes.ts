import express, { Router } from "express";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BotHistoryView } from "../store/read/history-queries.js";
import { ReadRefused } from "../store/read/database-reader.js";
import { queryValue } from "./query.js";
import type { LiveFeed } from "../status/live-feed.js";
import type { StatusView } from "../status/overview.js";

export interface StatusRouteSources {
  view: StatusView;
  live: LiveFeed;
  /** undefined with --no-db. */
  history?: ((channel: string, rangeMs: number) => Promise<BotHistoryView>) | undefined;
}

/** The page's files, shipped in the package (web/ at its root). */
const WEB = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "web");
const require = createRequire(import.meta.url);
const UPLOT = dirname(require.resolve("uplot/dist/uPlot.iife.min.js"));

const RANGES = new Map([["1h", 3_600_000], ["24h", 86_400_000], ["7d", 7 * 86_400_000]]);

/**
 * Everything a bot sends is text on the page: scripts come only from this server, nothing is
 * inlined, nothing is framed, and the page talks to nothing else.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function secured(res: express.Response): express.Response {
  return res.set({ "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY" });
}

/**
 * GET /: the status page (and /bot/CHANNEL, one bot's view), from files in the package.
 * GET /api/v1/overview, /api/v1/bots, /api/v1/bots/CHANNEL, /api/v1/bots/CHANNEL/history?range=1h|24h|7d,
 * and /api/v1/live (server-sent events): its data, versioned (fields are only added within v1).
 */
export function statusRouter(s: StatusRouteSources): Router {
  const router = Router();
  const page = (_req: express.Request, res: express.Response) => secured(res).set("Cache-Control", "no-cache").sendFile(join(WEB, "index.html"));
  router.get("/", page);
  router.get("/bot/:channel", page);
  const uplot = express.static(UPLOT, { index: false, maxAge: 0 });
  router.use("/web/vendor", (req, res, next) => uplot(req, secured(res), next));
  const files = express.static(WEB, { index: false, maxAge: 0 });
  router.use("/web", (req, res, next) => files(req, secured(res), next));

  router.get("/api/v1/overview", (_req, res) => void res.json(s.view.overview()));
  router.get("/api/v1/bots", (_req, res) => void res.json({ bots: s.view.bots() }));
  router.get("/api/v1/bots/:channel", async (req, res) => {
    const found = await s.view.bot(req.params.channel);
    if (found.bot === null && found.events.length === 0) return void res.status(404).json({ error: "no such bot" });
    res.json(found);
  });
  router.get("/api/v1/bots/:channel/history", async (req, res) => {
    const range = queryValue(req, "range", "1h");
    const rangeMs = range === undefined ? undefined : RANGES.get(range);
    if (range === undefined || rangeMs === undefined) return void res.status(400).json({ error: `range must be one of ${[...RANGES.keys()].join(", ")}` });
    if (s.history === undefined) return void res.status(503).json({ error: "no database: the bridge runs with --no-db", reason: "error" });
    try {
      res.json({ range, ...(await s.history(req.params.channel, rangeMs)) });
    } catch (err) {
      if (!(err instanceof ReadRefused)) throw err;
      res.status(503).set("Retry-After", "5").json({ error: err.message, reason: err.reason });
    }
  });
  router.get("/api/v1/live", (req, res) => {
    if (!s.live.join(res)) res.status(503).json({ error: "too many live viewers" });
  });
  return router;
}
