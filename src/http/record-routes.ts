import { Router, type Request, type Response } from "express";
import { ReadRefused } from "../store/read/database-reader.js";
import type { ReadArgs, ReadResult } from "../store/read/read-queries.js";
import type { LiveRun } from "../record/record-queries.js";
import { checkTimeZone } from "../calendar/period.js";
import { resolvePeriod } from "../read-model/periods.js";
import { queryValue } from "./query.js";

type RecordReads = "availability" | "incidents" | "strips" | "botAvailability";
/** A read of the record on the reader thread, once every change received so far is committed. */
export type RecordRead = <K extends RecordReads>(name: K, args: ReadArgs<K>) => Promise<ReadResult<K>>;

export interface RecordSources {
  now(): number;
  /** The bridge's --timezone: calendar days and months, unless a request names another. */
  timeZone: string;
  /** This run, which reaches up to now. */
  live: LiveRun;
  /** undefined with --no-db: there is no record. */
  read: RecordRead | undefined;
}

/** Channels one availability request may name (channel=a&channel=b). */
const MAX_NAMED = 1000;
/** Days a strip may ask for: a year at most. */
const MAX_DAYS = 366;

function zoneOf(req: Request, res: Response, fallback: string): string | undefined {
  const asked = queryValue(req, "timezone", fallback);
  try {
    if (asked !== undefined) return checkTimeZone(asked);
  } catch {
    // answered below
  }
  res.status(400).json({ error: "timezone must be given once, as an IANA time zone such as UTC or Europe/Paris" });
  return undefined;
}

/**
 * GET /api/v1/availability?since=30d (or month=YYYY-MM; timezone=ZONE; channel=NAME, repeatable):
 * every channel's availability, down time and incidents over the period (`uptime --json`'s fields).
 * GET /api/v1/availability/days?days=90: one bar a day per channel (the status page's strips).
 * GET /api/v1/bots/CHANNEL/availability: 24 h, 7 d, 30 d, this and last month, and its incidents.
 * GET /api/v1/bots/CHANNEL/incidents?since=90d: its incidents, newest first (500 at most).
 */
export function recordRouter(s: RecordSources): Router {
  const router = Router();
  const answer = async (res: Response, read: (r: RecordRead) => Promise<unknown>) => {
    if (s.read === undefined) return void res.status(503).json({ error: "no database: the bridge runs with --no-db, so it keeps no record", reason: "error" });
    try {
      res.json(await read(s.read));
    } catch (err) {
      if (!(err instanceof ReadRefused)) throw err;
      res.status(503).set("Retry-After", "5").json({ error: err.message, reason: err.reason });
    }
  };
  const period = (req: Request, res: Response, timeZone: string, fallback: string) => {
    const since = Object.hasOwn(req.query, "since") ? queryValue(req, "since", "") : undefined;
    const month = Object.hasOwn(req.query, "month") ? queryValue(req, "month", "") : undefined;
    const p = resolvePeriod({ since, month }, s.now(), timeZone, fallback);
    if ("error" in p) return void res.status(400).json({ error: p.error });
    return p;
  };

  router.get("/api/v1/availability", async (req, res) => {
    const timeZone = zoneOf(req, res, s.timeZone);
    if (timeZone === undefined) return;
    const p = period(req, res, timeZone, "30d");
    if (p === undefined) return;
    const asked: unknown = Object.hasOwn(req.query, "channel") ? req.query["channel"] : undefined;
    const named = asked === undefined ? undefined : (Array.isArray(asked) ? asked : [asked]).filter((c): c is string => typeof c === "string").slice(0, MAX_NAMED);
    await answer(res, (read) => read("availability", { fromMs: p.fromMs, toMs: p.toMs, nowMs: s.now(), live: s.live, channels: named }));
  });
  router.get("/api/v1/availability/days", async (req, res) => {
    const timeZone = zoneOf(req, res, s.timeZone);
    if (timeZone === undefined) return;
    const days = Number(queryValue(req, "days", "90"));
    if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) return void res.status(400).json({ error: `days must be a whole number from 1 to ${MAX_DAYS}` });
    await answer(res, (read) => read("strips", { days, timeZone, nowMs: s.now(), live: s.live }));
  });
  router.get("/api/v1/bots/:channel/availability", async (req, res) => {
    const timeZone = zoneOf(req, res, s.timeZone);
    if (timeZone === undefined) return;
    await answer(res, (read) => read("botAvailability", { channel: req.params.channel!, timeZone, nowMs: s.now(), live: s.live }));
  });
  router.get("/api/v1/bots/:channel/incidents", async (req, res) => {
    const p = period(req, res, s.timeZone, "90d");
    if (p === undefined) return;
    await answer(res, async (read) => ({ incidents: await read("incidents", { channel: req.params.channel!, fromMs: p.fromMs, toMs: p.toMs, nowMs: s.now(), live: s.live }) }));
  });
  return router;
}
