import { Router, type Response } from "express";
import { availabilityColor, badgeSvg, percent, shieldsJson, STATUS_BADGE_COLORS, type Badge } from "../badges/badge.js";
import { queryValue } from "./query.js";

export const BADGE_STATES = ["online", "stale", "dead", "stopped", "snoozed", "unknown"] as const;
export type BadgeState = (typeof BADGE_STATES)[number];

export interface BadgeSources {
  now(): number;
  /** --availability-objective: where the availability badge turns from green. */
  objective: number;
  status(channel: string): BadgeState;
  /** The channel's availability over the window; undefined when there is no record (--no-db) or it cannot be read now. */
  availability(channel: string, fromMs: number, toMs: number): Promise<number | null | undefined>;
}

const PERIODS = new Map([["24h", 86_400_000], ["7d", 7 * 86_400_000], ["30d", 30 * 86_400_000]]);
/** How long a badge may be cached, here and by whoever embeds it. */
export const BADGE_MAX_AGE_S = 60;
/** Badges held at most (hot-linked badges for unknown names cannot grow it). */
const MAX_CACHED = 2000;

/**
 * GET /badge/CHANNEL/status.svg, /badge/CHANNEL/availability.svg?period=24h|7d|30d and
 * /badge/CHANNEL/shields.json (?period=… for availability): always a badge, never an error page;
 * a channel the bridge does not know reads "unknown", in grey.
 */
export function badgeRouter(s: BadgeSources): Router {
  const router = Router();
  const cache = new Map<string, { at: number; badge: Badge }>();

  const availabilityBadge = async (channel: string, period: string): Promise<Badge> => {
    const key = `${channel}\u0000${period}`;
    const hit = cache.get(key);
    if (hit !== undefined && s.now() - hit.at < BADGE_MAX_AGE_S * 1000) return hit.badge;
    const label = `uptime ${period}`;
    let badge: Badge;
    if (s.status(channel) === "unknown") badge = { label, message: "unknown", color: "lightgrey" };
    else {
      const now = s.now();
      const ratio = await s.availability(channel, now - PERIODS.get(period)!, now).catch(() => undefined);
      if (ratio === undefined) return { label, message: "unavailable", color: "lightgrey" };
      badge = { label, message: ratio === null ? "no data" : percent(ratio), color: availabilityColor(ratio, s.objective) };
    }
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, { at: s.now(), badge });
    return badge;
  };
  const statusBadge = (channel: string): Badge => {
    const state = s.status(channel);
    return { label: channel, message: state, color: STATUS_BADGE_COLORS.get(state)! };
  };
  const send = (res: Response, body: string, type: string) =>
    res.set({ "Cache-Control": `max-age=${BADGE_MAX_AGE_S}`, "Content-Type": type, "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'" }).send(body);
  const periodOf = (v: string | undefined) => (v !== undefined && PERIODS.has(v) ? v : undefined);

  router.get("/badge/:channel/status.svg", (req, res) => void send(res, badgeSvg(statusBadge(req.params.channel)), "image/svg+xml; charset=utf-8"));
  router.get("/badge/:channel/availability.svg", async (req, res) => {
    const period = periodOf(queryValue(req, "period", "30d"));
    if (period === undefined) return void send(res.status(400), badgeSvg({ label: "period", message: "24h, 7d or 30d", color: "red" }), "image/svg+xml; charset=utf-8");
    send(res, badgeSvg(await availabilityBadge(req.params.channel, period)), "image/svg+xml; charset=utf-8");
  });
  router.get("/badge/:channel/shields.json", async (req, res) => {
    const asked = Object.hasOwn(req.query, "period") ? queryValue(req, "period", "") : undefined;
    if (asked === undefined) return void send(res, JSON.stringify(shieldsJson(statusBadge(req.params.channel))), "application/json; charset=utf-8");
    const period = periodOf(asked);
    if (period === undefined) return void send(res.status(400), JSON.stringify({ ...shieldsJson({ label: "period", message: "24h, 7d or 30d", color: "red" }), isError: true }), "application/json; charset=utf-8");
    send(res, JSON.stringify(shieldsJson(await availabilityBadge(req.params.channel, period))), "application/json; charset=utf-8");
  });
  return router;
}
