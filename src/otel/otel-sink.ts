import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Attributes, Histogram } from "@opentelemetry/api";
import { setGlobalErrorHandler } from "@opentelemetry/core";
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from "@opentelemetry/sdk-metrics";
import { detectResources, envDetector, hostDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPMetricExporter as OtlpJsonExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OtlpProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import type { LlmUsageMessage } from "../protocol/messages.js";
import type { RateLimitedLog } from "../log/rate-limited-log.js";
import { CountingExporter } from "./counting-exporter.js";
import { OPERATION_DURATION_BUCKETS, providerResolver, TOKEN_USAGE_BUCKETS } from "./genai.js";
import type { OtelConfig } from "./otel-config.js";
import { RegistryMetricProducer, type RegistrySources } from "./registry-producer.js";

export type OtelSources = RegistrySources;

/**
 * Attribute sets per instrument the SDK keeps at most; beyond, it folds further sets into one
 * series marked otel.metric.overflow=true. The bridge's own bounds (--max-bots,
 * --max-label-values) come first.
 */
export const OTEL_CARDINALITY_LIMIT = 20_000;

/**
 * The OpenTelemetry sink: the same decoded messages and bot registry as the Prometheus sink,
 * in OpenTelemetry's vocabulary (GenAI and process semantic conventions), pushed over OTLP/HTTP
 * and/or served at /otel/metrics. Only built when one of those is asked for. LLM calls are
 * recorded in SDK histograms; bot and process figures come from the registry at collection.
 */
export class OtelSink {
  readonly otlp: CountingExporter | undefined;
  readonly prometheus: PrometheusExporter | undefined;
  private readonly provider: MeterProvider;
  private readonly tokenUsage: Histogram;
  private readonly duration: Histogram;
  private readonly providerOf: (model: string) => string | undefined;

  constructor(config: OtelConfig, sources: OtelSources, log: RateLimitedLog, version: string) {
    setGlobalErrorHandler((err) => log.warn("otel:error", { err: String(err) }, "OpenTelemetry error"));
    const readers: IMetricReader[] = [];
    const metricProducers = [new RegistryMetricProducer(sources, { name: "kissbot-bridge", version })];
    if (config.otlp !== null) {
      const inner = config.otlp.protocol === "http/json" ? new OtlpJsonExporter() : new OtlpProtoExporter();
      this.otlp = new CountingExporter(inner, (error) => log.warn("otel:export", { err: error?.message }, "OTLP export failed"));
      readers.push(new PeriodicExportingMetricReader({ exporter: this.otlp, exportIntervalMillis: config.otlp.intervalMs, exportTimeoutMillis: config.otlp.timeoutMs, metricProducers }));
    }
    if (config.prometheus) {
      this.prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers });
      readers.push(this.prometheus);
    }
    // Ours first; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) override them.
    const resource = resourceFromAttributes({
      "service.name": "kissbot-bridge",
      "service.version": version,
      "service.instance.id": randomUUID(),
    }).merge(detectResources({ detectors: [hostDetector, envDetector] }));
    this.provider = new MeterProvider({
      resource,
      readers,
      views: [{ instrumentName: "*", aggregationCardinalityLimit: OTEL_CARDINALITY_LIMIT }],
    });
    this.providerOf = providerResolver(config.providers);

    const meter = this.provider.getMeter("kissbot-bridge", version);
    this.tokenUsage = meter.createHistogram("gen_ai.client.token.usage", {
      unit: "{token}",
      description: "Tokens used by LLM calls that the bots reported.",
      advice: { explicitBucketBoundaries: TOKEN_USAGE_BUCKETS },
    });
    this.duration = meter.createHistogram("gen_ai.client.operation.duration", {
      unit: "s",
      description: "Duration of LLM calls that the bots reported with a latency.",
      advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS },
    });
  }

  /** Ingest observer: an llm_usage message the usage book accepted. */
  llmUsage(msg: LlmUsageMessage): void {
    const attrs: Attributes = {
      "gen_ai.operation.name": msg.operation ?? "chat",
      "gen_ai.request.model": msg.model,
      "kissbot.feature": msg.feature,
      "kissbot.channel": msg.channel,
    };
    const provider = this.providerOf(msg.model);
    if (provider !== undefined) attrs["gen_ai.provider.name"] = provider;
    this.tokenUsage.record(msg.tokensIn, { ...attrs, "gen_ai.token.type": "input" });
    this.tokenUsage.record(msg.tokensOut, { ...attrs, "gen_ai.token.type": "output" });
    if (msg.latencyMs !== null) this.duration.record(msg.latencyMs / 1000, attrs);
  }

  /** Serves /otel/metrics, when --otel-prometheus is on. */
  get prometheusHandler(): ((req: IncomingMessage, res: ServerResponse) => void) | undefined {
    const exporter = this.prometheus;
    return exporter === undefined ? undefined : (req, res) => exporter.getMetricsRequestHandler(req, res);
  }

  /** Exports what the last interval collected, then stops the readers and their timers. */
  async shutdown(): Promise<void> {
    // Bounded, so an unreachable collector cannot hold up the exit past its deadline.
    await this.provider.shutdown({ timeoutMillis: 3000 });
  }
}
