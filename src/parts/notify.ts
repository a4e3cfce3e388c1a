import { hostname } from "node:os";
import type { Config } from "../config/config.js";
import type { Core } from "./core.js";
import type { DatabaseFeature } from "./database.js";
import { intervalPart, type Part } from "../lifecycle/lifecycle.js";
import { every } from "../util/guard.js";
import type { Clock } from "../util/clock.js";
import { channelLimits, type ReloadableBudgets } from "../spend/budget-file.js";
import { SnoozeBook } from "../notify/snoozes.js";
import { Notifier } from "../notify/notifier.js";
import { DEFAULT_DELIVERY } from "../notify/delivery.js";
import { allTargets, type NotifyConfig, type ReloadableNotifyConfig } from "../notify/notify-config.js";

/** Snoozes (with a database) and notifications (with --notify or --notify-config), or neither. */
export interface NotifyFeature {
  snoozes: SnoozeBook | undefined;
  notifier: Notifier | undefined;
  /** Started with the readers: snoozes are read before the first notification can be sent. */
  parts: Part[];
}

/** SIGHUP's new routing file, for the notifier: --notify's targets stay. */
export function rerouter(config: Config, notify: NotifyFeature): (file: NotifyConfig) => void {
  return (file) => notify.notifier?.retarget(allTargets(config.notify, file));
}

/** Snoozes are read this often: the `snooze` command's effect is seen within a second. */
const SNOOZE_POLL_MS = 1000;

/**
 * The bridge's own alerts (notify/). Built before the restored bots are looked at, so a bot found
 * dead then is reported like one that dies later; `settle()` is called once they have been.
 */
export function notifyFeature(config: Config, core: Core, db: DatabaseFeature, budgets: ReloadableBudgets | undefined, routes: ReloadableNotifyConfig | undefined, clock: Clock, version: string): NotifyFeature & { settle(http: { host: string; port: number }): void } {
  const reader = db.reader;
  const snoozes = reader === undefined ? undefined : new SnoozeBook(clock, (now) => reader.read("snoozes", { now }));
  const parts: Part[] = snoozes === undefined ? [] : [intervalPart("snoozes", "notify", SNOOZE_POLL_MS, () => snoozes.refresh(), "awaited")];
  // A routing file with no target yet still starts the notifier: SIGHUP may add some.
  if (config.notify.length === 0 && routes === undefined) return { snoozes, notifier: undefined, parts, settle: () => {} };
  // Until the HTTP server has its address (port 0 asks for any).
  let publicUrl = config.publicUrl;
  const spend = db.spend;
  const notifier = new Notifier(
    {
      targets: allTargets(config.notify, routes?.current),
      graceMs: config.notifyGraceMs,
      repeatMs: config.notifyRepeatMs,
      groupWaitMs: config.notifyGroupWaitMs,
      flapCount: config.notifyFlapCount,
      flapWindowMs: config.notifyFlapWindowMs,
      maxChannels: config.maxBots * 2,
      publicUrl: () => publicUrl,
      delivery: { ...DEFAULT_DELIVERY, userAgent: `kissbot-bridge/${version}` },
    },
    clock,
    (channel) => snoozes?.isSnoozed(channel) ?? false,
    {
      spend: () =>
        spend === undefined || spend.readAt === null
          ? undefined
          : { dayStartMs: spend.dayStartMs, monthStartMs: spend.monthStartMs, byChannel: spend.totals("channel").map((t) => ({ channel: t.key, costToday: t.cost_today_usd, costMonth: t.cost_month_usd })) },
      limits: (channel) => (budgets === undefined ? { daily: null, monthly: null } : channelLimits(budgets.current, channel)),
      calls: () => core.usage.llmSeries(),
    },
    db.store === undefined ? undefined : (json) => db.store!.saveNotifyState(json),
  );
  const problem = notifier.restore(db.notifyState);
  if (problem !== undefined) core.limitedLog.warn("notify:state", {}, problem);
  core.registry.observe(notifier.observer());
  const tickMs = Math.max(50, Math.min(250, config.notifyGroupWaitMs / 2));
  let timer: NodeJS.Timeout | undefined;
  parts.push({
    name: "notifier",
    start: () => {
      timer = every("notify", tickMs, () => notifier.tick());
    },
    stop: async () => {
      clearInterval(timer);
      await notifier.stop();
    },
  });
  const settle = (http: { host: string; port: number }) => {
    // Without --public-url, links use the address HTTP listens on (this host's name for a wildcard).
    const host = http.host === "0.0.0.0" || http.host === "::" ? hostname() : http.host.includes(":") ? `[${http.host}]` : http.host;
    if (publicUrl === "") publicUrl = `http://${host}:${http.port}`;
    notifier.sync(core.registry.all());
  };
  return { snoozes, notifier, parts, settle };
}
