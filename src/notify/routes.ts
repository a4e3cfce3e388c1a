import type { Alert, Notice } from "./alert.js";

/** What a routing file's `events` may list: each message the bridge sends is one of these. */
export const NOTIFY_EVENTS = ["down", "resolved", "flapping", "reminder", "spend", "digest", "test"] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** Which messages a target gets (--notify-config); a target without one gets every message. */
export interface Route {
  /** Channel names and glob patterns (`*`, `?`), as written; null: every channel. */
  channels: readonly string[] | null;
  /** null: every event. */
  events: ReadonlySet<NotifyEvent> | null;
}

/** The event an alert is news of. */
export function eventOf(a: Alert): NotifyEvent {
  if (a.name === "KissBotBridgeTest") return "test";
  if (a.reminder) return "reminder";
  if (a.name === "KissBotFlapping") return "flapping";
  if (a.name === "KissBotDown" || a.name === "KissBotStale") return a.status === "firing" ? "down" : "resolved";
  return "spend";
}

/** A glob of channel names as a whole-name, case-insensitive pattern (Twitch names have no case). */
export function globPattern(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
  return new RegExp(`^${body}$`, "i");
}

const compiled = new WeakMap<readonly string[], RegExp[]>();

function channelMatches(channels: readonly string[], channel: string): boolean {
  let patterns = compiled.get(channels);
  if (patterns === undefined) compiled.set(channels, (patterns = channels.map(globPattern)));
  return patterns.some((p) => p.test(channel));
}

/**
 * The part of a notice a route lets through, or null when nothing is left. A digest is about the
 * whole fleet and a test about the target itself: only their event decides.
 */
export function routeNotice(route: Route | null, n: Notice): Notice | null {
  if (route === null) return n;
  const wants = (e: NotifyEvent) => route.events === null || route.events.has(e);
  if (n.digest !== undefined) return wants("digest") ? n : null;
  const alerts = n.alerts.filter((a) => {
    const e = eventOf(a);
    return wants(e) && (e === "test" || route.channels === null || channelMatches(route.channels, a.channel));
  });
  return alerts.length === 0 ? null : alerts.length === n.alerts.length ? n : { ...n, alerts };
}
