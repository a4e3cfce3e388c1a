import { CATALOG } from "./catalog.js";
import { Family, type FamilyWriter } from "./family.js";
import { encodeLabels, labelString } from "./format.js";
import { BOT_STATUSES, heartbeatAgeSeconds, isUp, lastSignOfLife, reportedCpuRatio, reportedRssBytes, type Bot, type BotStatus } from "../registry/bot.js";
import type { LlmSeries } from "../usage/usage-book.js";
import { SeriesRenderCache } from "./series-render-cache.js";
import { LATENCY_BUCKETS_SECONDS } from "../usage/latency-buckets.js";
import type { CounterMap } from "../util/counter-map.js";
import type { Clock } from "../util/clock.js";

/** What the metrics read at scrape time. Each stage exposes its own counters; nothing here writes. */
export interface MetricSources {
  clock: Clock;
  version: string;
  bots: { all(): Iterable<Bot> };
  usage: {
    llmSeries(): readonly LlmSeries[];
    customValues(): Iterable<[string, string, number]>;
    limiters: Record<string, { label: string; refused: number }>;
  };
  /** New series refused by a total bound, by kind. */
  seriesRefused?: { llm: number; custom: number; feature: number; spend: number } | undefined;
  transport: { connectionsAccepted: number; openConnections: number; bufferedBytes: number; dropped: CounterMap };
  ingest: { accepted: CounterMap; rejected: CounterMap; ignored: CounterMap; rowsFollowed: number; rowsRejected: CounterMap };
  /** Absent with --no-db. */
  follower?: { errors: number; totals: { tokensIn: number; tokensOut: number; calls: number } | null } | undefined;
  sampler: { errors: number; overruns: number };
  /** Absent while OTLP push is off. */
  otlp?: { successes: number; failures: number } | undefined;
  /** Absent with --no-db. */
  store?: { errors: CounterMap; written: CounterMap; dropped: number; queuedRows: number; commits: number; writable: boolean; setAside: number; replayed: number } | undefined;
  channelLog?: { errors: number } | undefined;
  /** Absent with --no-db. */
  reader?: { refused: CounterMap } | undefined;
  collectorErrors: CounterMap;
  /** Errors caught in callbacks nobody awaits, by component. */
  internalErrors: CounterMap;
  /** Absent where HTTP is not served by the bridge. */
  http?: { refused: CounterMap } | undefined;
  logDrops?: (() => number) | undefined;
  /** --availability-objective, exported per bot. */
  availabilityObjective?: number | undefined;
  /** Absent with --no-db. */
  recorder?: { dropped: number } | undefined;
  /** Read at scrape time (the exposition is built after the families). */
  scrapes?: { rendered: number; shared: number } | undefined;
  /** The price sources in use (a SIGHUP may change the file's). */
  prices?: { sources(): Iterable<{ source: string; version: string }> } | undefined;
}

const seconds = (ms: number) => ms / 1000;
const INPUT = encodeLabels({ token_type: "input" });
const OUTPUT = encodeLabels({ token_type: "output" });
const REPORTED = encodeLabels({ cost_source: "reported" });
const COMPUTED = encodeLabels({ cost_source: "computed" });

function byLabel(out: FamilyWriter, label: string, counts: CounterMap): void {
  for (const [key, n] of counts.entries()) out.sample(labelString({ [label]: key }), n);
}

export function bridgeFamilies(s: MetricSources): Family[] {
  return [...botFamilies(s), ...usageFamilies(s), ...selfFamilies(s)];
}

/** Each bot: up, heartbeat, status, features, its process's CPU and memory. */
function botFamilies(s: MetricSources): Family[] {
  const bot = (b: Bot) => labelString({ channel: b.channel });
  const proc = (b: Bot) => labelString({ channel: b.channel, pid: String(b.pid) });
  const perBot = (fn: (b: Bot, out: FamilyWriter) => void) => (out: FamilyWriter) => {
    for (const b of s.bots.all()) fn(b, out);
  };

  return [
    new Family(CATALOG.botUp, perBot((b, out) => out.sample(bot(b), isUp(b) ? 1 : 0))),
    new Family(CATALOG.botHeartbeatAge, perBot((b, out) => out.sample(bot(b), heartbeatAgeSeconds(b, s.clock.now())))),
    new Family(CATALOG.botLastHeartbeat, perBot((b, out) => out.sample(bot(b), seconds(lastSignOfLife(b))))),
    new Family(
      CATALOG.botStatus,
      perBot((b, out) => {
        for (const st of BOT_STATUSES) out.sample(labelString({ channel: b.channel, status: st }), b.status === st ? 1 : 0);
      }),
    ),
    new Family(CATALOG.botInfo, perBot((b, out) => out.sample(proc(b), 1))),
    new Family(
      CATALOG.botFeature,
      perBot((b, out) => {
        for (const [feature, on] of Object.entries(b.features ?? {})) {
          out.sample(labelString({ channel: b.channel, feature }), on ? 1 : 0);
        }
      }),
    ),
    new Family(CATALOG.botRegistered, perBot((b, out) => out.sample(bot(b), seconds(b.registeredAt)))),
    new Family(CATALOG.botAvailabilityObjective, perBot((b, out) => s.availabilityObjective !== undefined && out.sample(bot(b), s.availabilityObjective))),
    new Family(CATALOG.processCpu, perBot((b, out) => b.cpuSeconds !== null && out.sample(proc(b), b.cpuSeconds))),
    new Family(
      CATALOG.processCpuRatio,
      perBot((b, out) => {
        const r = reportedCpuRatio(b);
        if (r !== null) out.sample(proc(b), r);
      }),
    ),
    new Family(
      CATALOG.processRss,
      perBot((b, out) => {
        const r = reportedRssBytes(b);
        if (r !== null) out.sample(proc(b), r);
      }),
    ),
  ];
}

/** LLM usage and custom metrics, by channel (and model and feature). */
function usageFamilies(s: MetricSources): Family[] {
  // A usage series' labels are encoded once, and its lines rendered again only when it changed
  // since the last scrape.
  const usageCache = new SeriesRenderCache<LlmSeries>((x) => ({ channel: x.channel, model: x.model, feature: x.feature }));
  const llm = (fn: (labels: Uint8Array, x: LlmSeries, out: FamilyWriter) => void) => {
    const slot = usageCache.addFamily();
    return (out: FamilyWriter) => {
      const series = s.usage.llmSeries();
      const states = usageCache.align(series);
      let i = 0;
      // One closure per scrape, not one per series.
      const render = () => fn(states[i]!.labels, series[i]!, out);
      for (; i < series.length; i++) out.cached(states[i]!.slots[slot]!, series[i]!.version, render);
    };
  };

  return [
    new Family(CATALOG.llmRequests, llm((l, x, out) => out.sample(l, x.requests))),
    new Family(
      CATALOG.llmTokens,
      llm((l, x, out) => {
        out.sample(l, x.tokensIn, INPUT);
        out.sample(l, x.tokensOut, OUTPUT);
      }),
    ),
    new Family(
      CATALOG.llmLatency,
      llm((l, x, out) => x.latencyCount > 0 && out.histogram(l, LATENCY_BUCKETS_SECONDS, x.latencyCounts, x.latencySumMs / 1000, x.latencyCount)),
    ),
    new Family(
      CATALOG.llmCost,
      llm((l, x, out) => {
        if (x.costReportedUsd !== null) out.sample(l, x.costReportedUsd, REPORTED);
        if (x.costComputedUsd !== null) out.sample(l, x.costComputedUsd, COMPUTED);
      }),
    ),
    new Family(CATALOG.llmUnpriced, llm((l, x, out) => x.unpriced > 0 && out.sample(l, x.unpriced))),
    new Family(CATALOG.llmRecordedRequests, (out) => {
      const t = s.follower?.totals;
      if (t) out.sample("", t.calls);
    }),
    new Family(CATALOG.llmRecordedTokens, (out) => {
      const t = s.follower?.totals;
      if (t) {
        out.sample(labelString({ token_type: "input" }), t.tokensIn);
        out.sample(labelString({ token_type: "output" }), t.tokensOut);
      }
    }),
    new Family(CATALOG.customMetric, (out) => {
      for (const [channel, name, v] of s.usage.customValues()) out.sample(labelString({ channel, name }), v);
    }),
  ];
}

/** The bridge itself: what it accepted, rejected and dropped, its socket, database, threads and scrapes. */
function selfFamilies(s: MetricSources): Family[] {
  return [
    new Family(CATALOG.messages, (out) => byLabel(out, "message_type", s.ingest.accepted)),
    new Family(CATALOG.rejectedLines, (out) => byLabel(out, "reason", s.ingest.rejected)),
    new Family(CATALOG.ignoredMessages, (out) => byLabel(out, "reason", s.ingest.ignored)),
    new Family(CATALOG.seriesRefused, (out) => {
      for (const kind of ["llm", "custom", "feature", "spend"] as const) out.sample(labelString({ kind }), s.seriesRefused?.[kind] ?? 0);
    }),
    new Family(CATALOG.labelValuesRefused, (out) => {
      for (const l of Object.values(s.usage.limiters)) out.sample(labelString({ label: l.label }), l.refused);
    }),
    new Family(CATALOG.connections, (out) => out.sample("", s.transport.connectionsAccepted)),
    new Family(CATALOG.openConnections, (out) => out.sample("", s.transport.openConnections)),
    new Family(CATALOG.droppedConnections, (out) => byLabel(out, "reason", s.transport.dropped)),
    new Family(CATALOG.bufferedBytes, (out) => out.sample("", s.transport.bufferedBytes)),
    new Family(CATALOG.bots, (out) => {
      const counts: Record<BotStatus, number> = { online: 0, stale: 0, dead: 0 };
      for (const b of s.bots.all()) counts[b.status]++;
      for (const st of BOT_STATUSES) out.sample(labelString({ status: st }), counts[st]);
    }),
    new Family(CATALOG.sampleErrors, (out) => out.sample("", s.sampler.errors)),
    new Family(CATALOG.samplerOverruns, (out) => out.sample("", s.sampler.overruns)),
    new Family(CATALOG.otlpExports, (out) => {
      out.sample(labelString({ result: "success" }), s.otlp?.successes ?? 0);
      out.sample(labelString({ result: "failure" }), s.otlp?.failures ?? 0);
    }),
    new Family(CATALOG.dbErrors, (out) => {
      if (s.store) byLabel(out, "op", s.store.errors);
      if (s.follower) out.sample(labelString({ op: "follow" }), s.follower.errors);
    }),
    new Family(CATALOG.dbReadsRefused, (out) => s.reader && byLabel(out, "reason", s.reader.refused)),
    new Family(CATALOG.dbWritable, (out) => s.store && out.sample("", s.store.writable ? 1 : 0)),
    new Family(CATALOG.dbFollowedRows, (out) => s.follower && out.sample("", s.ingest.rowsFollowed)),
    new Family(CATALOG.dbRejectedRows, (out) => s.follower && byLabel(out, "reason", s.ingest.rowsRejected)),
    new Family(CATALOG.dbRows, (out) => s.store && byLabel(out, "table", s.store.written)),
    new Family(CATALOG.dbCommits, (out) => out.sample("", s.store?.commits ?? 0)),
    new Family(CATALOG.dbDropped, (out) => out.sample("", s.store?.dropped ?? 0)),
    new Family(CATALOG.dbQueued, (out) => out.sample("", s.store?.queuedRows ?? 0)),
    new Family(CATALOG.logDropped, (out) => out.sample("", s.logDrops?.() ?? 0)),
    new Family(CATALOG.channelLogErrors, (out) => out.sample("", s.channelLog?.errors ?? 0)),
    new Family(CATALOG.scrapes, (out) => {
      out.sample(labelString({ render: "own" }), s.scrapes?.rendered ?? 0);
      out.sample(labelString({ render: "shared" }), s.scrapes?.shared ?? 0);
    }),
    new Family(CATALOG.internalErrors, (out) => byLabel(out, "component", s.internalErrors)),
    new Family(CATALOG.httpRefused, (out) => s.http && byLabel(out, "reason", s.http.refused)),
    new Family(CATALOG.dbSetAside, (out) => s.store && out.sample("", s.store.setAside)),
    new Family(CATALOG.dbReplayed, (out) => s.store && out.sample("", s.store.replayed)),
    new Family(CATALOG.recordDropped, (out) => s.recorder && out.sample("", s.recorder.dropped)),
    new Family(CATALOG.collectorErrors, (out) => byLabel(out, "collector", s.collectorErrors)),
    new Family(CATALOG.buildInfo, (out) => out.sample(labelString({ version: s.version }), 1)),
    new Family(CATALOG.priceInfo, (out) => {
      for (const p of s.prices?.sources() ?? []) out.sample(labelString({ source: p.source, version: p.version }), 1);
    }),
  ];
}
