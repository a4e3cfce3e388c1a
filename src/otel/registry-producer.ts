import { ValueType, type Attributes, type HrTime } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import { emptyResource } from "@opentelemetry/resources";
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricData, type MetricProducer } from "@opentelemetry/sdk-metrics";
import { heartbeatAgeSeconds, isUp, reportedRssBytes, type Bot } from "../registry/bot.js";
import type { Clock } from "../util/clock.js";
import type { CounterMap } from "../util/counter-map.js";

/** What the producer reads at each collection. */
export interface RegistrySources {
  clock: Clock;
  bots: { all(): Iterable<Bot> };
  ingest: { accepted: CounterMap; rejected: CounterMap };
}

type Point = { attributes: Attributes; value: number; start?: number };

/**
 * Bot, process and bridge figures built from the registry at each collection, as the Prometheus
 * families are. Observable instruments would not do: under cumulative temporality the SDK keeps
 * exporting an attribute set after its callback stops observing it, so a bot that unregistered
 * would be reported forever. Built here, a gone bot is simply absent.
 */
export class RegistryMetricProducer implements MetricProducer {
  private readonly startedAt: number;

  constructor(
    private readonly sources: RegistrySources,
    private readonly scope: { name: string; version: string },
  ) {
    this.startedAt = sources.clock.now();
  }

  async collect(): Promise<CollectionResult> {
    const now = this.sources.clock.now();
    const up: Point[] = [];
    const age: Point[] = [];
    const cpu: Point[] = [];
    const memory: Point[] = [];
    for (const b of this.sources.bots.all()) {
      const bot = { "kissbot.channel": b.channel };
      up.push({ attributes: bot, value: isUp(b) ? 1 : 0 });
      age.push({ attributes: bot, value: heartbeatAgeSeconds(b, now) });
      const proc = { "kissbot.channel": b.channel, "process.pid": b.pid };
      if (b.cpuSeconds !== null) cpu.push({ attributes: proc, value: b.cpuSeconds, start: b.registeredAt });
      const rss = reportedRssBytes(b);
      if (rss !== null) memory.push({ attributes: proc, value: rss });
    }
    const counts = (key: string, map: CounterMap): Point[] => [...map.entries()].map(([k, value]) => ({ attributes: { [key]: k }, value }));
    const end = millisToHrTime(now);
    const point = (p: Point, start: HrTime) => ({ startTime: p.start === undefined ? start : millisToHrTime(p.start), endTime: end, attributes: p.attributes, value: p.value });
    const gauge = (name: string, unit: string, description: string, points: Point[]): MetricData => ({
      descriptor: { name, unit, description, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.GAUGE,
      dataPoints: points.map((p) => point(p, end)),
    });
    const sum = (name: string, unit: string, description: string, monotonic: boolean, points: Point[]): MetricData => ({
      descriptor: { name, unit, description, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: monotonic,
      dataPoints: points.map((p) => point(p, millisToHrTime(this.startedAt))),
    });
    const metrics = [
      gauge("kissbot.bot.up", "1", "1 while the bot's process runs, 0 once it died without unregistering.", up),
      gauge("kissbot.bot.heartbeat.age", "s", "Seconds since the bot's last heartbeat.", age),
      sum("process.cpu.time", "s", "CPU time used by each bot's process.", true, cpu),
      sum("process.memory.usage", "By", "Resident memory of each bot's process.", false, memory),
      sum("kissbot.bridge.messages", "{message}", "Valid messages received by the bridge.", true, counts("kissbot.message.type", this.sources.ingest.accepted)),
      sum("kissbot.bridge.rejected_lines", "{line}", "Lines the bridge rejected.", true, counts("kissbot.reject.reason", this.sources.ingest.rejected)),
    ].filter((m) => m.dataPoints.length > 0);
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: this.scope, metrics }] }, errors: [] };
  }
}
