import { Router } from "express";
import type { Bot } from "../registry/bot.js";
import { botView, type SnoozeLookup } from "../read-model/bots.js";
import { ReadRefused } from "../store/read/database-reader.js";
import { queryValue } from "./query.js";
import { checkTimeZone } from "../calendar/period.js";
import { isUsageGroup, parseSince, USAGE_GROUPS, type UsageGroup, type UsageView } from "../read-model/usage.js";

/** What the JSON API reads. */
export interface ApiSources {
  now(): number;
  bots: { all(): Iterable<Bot> };
  /** Absent with --no-db. */
  snoozes: SnoozeLookup;
  /** undefined when no database is kept or it cannot be opened. */
  usage(sinceMs: number, by: UsageGroup): Promise<UsageView[] | undefined>;
  /** By calendar day in the time zone; undefined as for usage. */
  usageByDay(sinceMs: number, timeZone: string): Promise<UsageView[] | undefined>;
  /** The bridge's --timezone, for by=day without a timezone parameter. */
  timeZone: string;
}


/**
 * GET /api/bots: every bot the running bridge knows, now.
 * GET /api/usage?since=24h&by=model: LLM usage from the database (since: Nm, Nh or Nd; by:
 * channel, model, feature, or day, cut at midnight in `timezone`, default the bridge's --timezone). Database reads are bounded: a slow or busy database answers 503
 * with {error, reason} (reason: timeout, busy or error) and Retry-After.
 */
export function apiRouter(s: ApiSources): Router {
  const router = Router();
  router.get("/api/bots", (_req, res) => {
    const now = s.now();
    const bots = [...s.bots.all()].map((b) => botView(b, now, s.snoozes)).sort((a, b) => a.channel.localeCompare(b.channel));
    res.json({ source: "bridge", generated_at: new Date(now).toISOString(), bots });
  });
  router.get("/api/usage", async (req, res) => {
    const since = queryValue(req, "since", "24h");
    const by = queryValue(req, "by", "model");
    const asked = queryValue(req, "timezone", s.timeZone);
    if (since === undefined || by === undefined || asked === undefined) return void res.status(400).json({ error: "since, by and timezone are each given once, as text" });
    const sinceMs = parseSince(since);
    if (sinceMs === undefined) return void res.status(400).json({ error: `since must look like 30m, 24h or 7d, not ${JSON.stringify(since)}` });
    if (!isUsageGroup(by) && by !== "day") return void res.status(400).json({ error: `by must be one of ${USAGE_GROUPS.join(", ")}, day` });
    let timeZone: string;
    try {
      // Every spelling of a zone reads as its one canonical name from here on.
      timeZone = checkTimeZone(asked);
    } catch {
      return void res.status(400).json({ error: `timezone must be an IANA time zone such as UTC or Europe/Paris, not ${JSON.stringify(asked)}` });
    }
    let rows: UsageView[] | undefined;
    try {
      rows = by === "day" ? await s.usageByDay(s.now() - sinceMs, timeZone) : await s.usage(s.now() - sinceMs, by);
    } catch (err) {
      if (!(err instanceof ReadRefused)) throw err;
      return void res.status(503).set("Retry-After", "5").json({ error: err.message, reason: err.reason });
    }
    if (rows === undefined) return void res.status(503).json({ error: "no database: the bridge runs with --no-db, or cannot open it" });
    res.json({ source: "bridge", since, by, ...(by === "day" ? { timezone: timeZone } : {}), rows });
  });
  return router;
}
