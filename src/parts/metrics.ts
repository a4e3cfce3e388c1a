import { collectDefaultMetrics, Registry } from "prom-client";
import type { Config } from "../config/config.js";
import type { Core } from "./core.js";
import type { DatabaseFeature } from "./database.js";
import type { ChannelLog } from "../channel-log/channel-log.js";
import type { OtelSink } from "../otel/otel-sink.js";
import type { SocketTransport } from "../transport/socket-transport.js";
import type { ReloadableBudgets } from "../spend/budget-file.js";
import type { HttpRefusal } from "../http/host-guard.js";
import type { RecordFeature } from "./record.js";
import type { NotifyFeature } from "./notify.js";
import type { ReloadableWebConfig } from "../http/web-security.js";
import { notifyFamilies } from "../metrics/notify-families.js";
import { bridgeFamilies } from "../metrics/bridge-families.js";
import { spendFamilies } from "../metrics/spend-families.js";
import { Exposition } from "../metrics/exposition.js";
import { CounterMap } from "../util/counter-map.js";
import { internalErrors } from "../util/guard.js";
import type { Clock } from "../util/clock.js";

/** The parts that /metrics and the status page read, as the composition root built them. */
export type BridgeParts = {
  core: Core;
  db: DatabaseFeature;
  transport: SocketTransport;
  channelLog: ChannelLog | undefined;
  otel: OtelSink | undefined;
  budgets: ReloadableBudgets | undefined;
  httpRefused: CounterMap<HttpRefusal>;
  notify: NotifyFeature;
  record: RecordFeature;
  /** --web.config.file, reloadable; undefined without one. */
  web: ReloadableWebConfig | undefined;
};

/** prom-client's default gauges whose names end in _total (see CHANGELOG 0.2.0). */
export const LINTED_DEFAULTS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"] as const;

/** /metrics: every family of the catalog over the parts that feed it, with the process's own. */
export function metricsExposition(config: Config, clock: Clock, version: string, p: BridgeParts & { logDrops: (() => number) | undefined }): Exposition {
  const { registry, usage, ingest, sampler } = p.core;
  const promRegistry = new Registry();
  collectDefaultMetrics({ register: promRegistry });
  // Gauges named like counters, which promtool's lint reports: each is the sum over `type` of
  // nodejs_active_handles, nodejs_active_requests and nodejs_active_resources, still exported.
  for (const name of LINTED_DEFAULTS) promRegistry.removeSingleMetric(name);
  const collectorErrors = new CounterMap();
  let exposition: Exposition | undefined;
  const families = [
    ...bridgeFamilies({
      // Read at scrape time: the exposition exists by then.
      scrapes: {
        get rendered() {
          return exposition?.rendered ?? 0;
        },
        get shared() {
          return exposition?.shared ?? 0;
        },
      },
      clock,
      version,
      bots: registry,
      usage,
      seriesRefused: {
        get llm() {
          return usage.seriesRefused.llm;
        },
        get custom() {
          return usage.seriesRefused.custom;
        },
        get feature() {
          return registry.featuresRefused;
        },
        get spend() {
          return p.db.spend?.refused ?? 0;
        },
      },
      transport: p.transport,
      ingest,
      sampler,
      otlp: p.otel?.otlp,
      store: p.db.store,
      follower: p.db.follower,
      channelLog: p.channelLog,
      reader: p.db.reader,
      collectorErrors,
      internalErrors: internalErrors.counts,
      http: { refused: p.httpRefused },
      logDrops: p.logDrops,
      availabilityObjective: config.availabilityObjective,
      recorder: p.record.recorder,
      prices: { sources: () => p.core.prices.current.sources() },
    }),
    ...notifyFamilies({ snoozes: p.notify.snoozes, notifier: p.notify.notifier }),
    ...spendFamilies({ clock, timeZone: config.timezone, spend: p.db.spend, budgets: p.budgets, bots: registry, maxDetailSeries: config.maxLlmSeries }),
  ];
  exposition = new Exposition(families, promRegistry, collectorErrors, () => registry.evaluate());
  return exposition;
}
