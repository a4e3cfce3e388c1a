import { CATALOG } from "./catalog.js";
import { Family } from "./family.js";
import { labelString } from "./format.js";
import type { CounterMap } from "../util/counter-map.js";

/** What the snooze and notification families read at scrape time. */
export interface NotifySources {
  /** Absent with --no-db (snoozes live in the database). */
  snoozes?: { active(): Iterable<{ channel: string; untilMs: number }> } | undefined;
  /** Absent without --notify. */
  notifier?: { counts: ReadonlyMap<string, CounterMap>; queued: number } | undefined;
}

export function notifyFamilies(s: NotifySources): Family[] {
  return [
    new Family(CATALOG.botSnoozedUntil, (out) => {
      for (const z of s.snoozes?.active() ?? []) out.sample(labelString({ channel: z.channel }), z.untilMs / 1000);
    }),
    new Family(CATALOG.notifications, (out) => {
      for (const [kind, counts] of s.notifier?.counts ?? []) for (const [outcome, n] of counts.entries()) out.sample(labelString({ kind, outcome }), n);
    }),
    new Family(CATALOG.notificationsQueued, (out) => s.notifier && out.sample("", s.notifier.queued)),
  ];
}
