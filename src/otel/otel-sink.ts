import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Attributes, Counter, Histogram, Meter } from "@opentelemetry/api";
import { setGlobalErrorHandler } from "@opentelemetry/core";
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from "@opentelemetry/sdk-metrics";
import { detectResources, envDetector, hostDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPMetricExporter as OtlpJsonExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OtlpProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import type { PricedLlmUsage } from "../pricing/price-table.js";
import type { RateLimitedLog } from "../log/rate-limited-log.js";
import { CountingExporter } from "./counting-exporter.js";
import { OPERATION_DURATION_BUCKETS, providerResolver, TOKEN_USAGE_BUCKETS } from "./genai.js";
import type { GenAiGeneration, OtelConfig } from "./otel-config.js";
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
  private readonly instruments: GenAiInstruments;
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

    this.instruments = genAiInstruments(this.provider.getMeter("kissbot-bridge", version), config.genai);
  }

  /** Ingest observer: an llm_usage message the usage book accepted. */
  llmUsage(msg: PricedLlmUsage): void {
    const attrs: Attributes = {
      "gen_ai.operation.name": msg.operation ?? "chat",
      "gen_ai.request.model": msg.model,
      "kissbot.feature": msg.feature,
      "kissbot.channel": msg.channel,
    };
    const provider = this.providerOf(msg.model);
    if (provider !== undefined) attrs["gen_ai.provider.name"] = provider;
    const i = this.instruments;
    if (i.tokenUsage !== undefined) {
      i.tokenUsage.record(msg.tokensIn, { ...attrs, "gen_ai.token.type": "input" });
      i.tokenUsage.record(msg.tokensOut, { ...attrs, "gen_ai.token.type": "output" });
    }
    if (i.latest !== undefined) {
      // KissBot's calls are chat text.
      const counted = { ...attrs, "gen_ai.token.modality": "text" };
      i.latest.inputTokens.add(msg.tokensIn, counted);
      i.latest.outputTokens.add(msg.tokensOut, counted);
      i.latest.inputPerCall.record(msg.tokensIn, attrs);
      i.latest.outputPerCall.record(msg.tokensOut, attrs);
    }
    if (msg.latencyMs !== null) {
      i.operationDuration?.record(msg.latencyMs / 1000, attrs);
      i.latest?.inferenceDuration.record(msg.latencyMs / 1000, attrs);
    }
    if (msg.costUsd !== null && msg.costSource !== null) i.cost.add(msg.costUsd, { ...attrs, "kissbot.cost.source": msg.costSource });
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

/** The instruments of the GenAI generation asked for (genai.ts), and the cost under our own name. */
interface GenAiInstruments {
  tokenUsage: Histogram | undefined;
  operationDuration: Histogram | undefined;
  latest: { inputTokens: Counter; outputTokens: Counter; inputPerCall: Histogram; outputPerCall: Histogram; inferenceDuration: Histogram } | undefined;
  cost: Counter;
}

function genAiInstruments(meter: Meter, generation: GenAiGeneration): GenAiInstruments {
  const old = generation !== "latest";
  const perToken = { unit: "{token}", advice: { explicitBucketBoundaries: TOKEN_USAGE_BUCKETS } };
  const seconds = { unit: "s", advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS } };
  return {
    tokenUsage: old ? meter.createHistogram("gen_ai.client.token.usage", { ...perToken, description: "Tokens used by LLM calls that the bots reported." }) : undefined,
    operationDuration: old ? meter.createHistogram("gen_ai.client.operation.duration", { ...seconds, description: "Duration of LLM calls that the bots reported with a latency." }) : undefined,
    latest:
      generation === "v1.41"
        ? undefined
        : {
            inputTokens: meter.createCounter("gen_ai.client.inference.usage.input_tokens", { unit: "{token}", description: "Input (prompt) tokens of the LLM calls the bots reported." }),
            outputTokens: meter.createCounter("gen_ai.client.inference.usage.output_tokens", { unit: "{token}", description: "Output (completion) tokens of the LLM calls the bots reported." }),
            inputPerCall: meter.createHistogram("gen_ai.client.inference.operation.input_tokens", { ...perToken, description: "Input tokens per LLM call (for percentiles; the usage counters are for totals)." }),
            outputPerCall: meter.createHistogram("gen_ai.client.inference.operation.output_tokens", { ...perToken, description: "Output tokens per LLM call (for percentiles; the usage counters are for totals)." }),
            inferenceDuration: meter.createHistogram("gen_ai.client.inference.duration", { ...seconds, description: "Duration of LLM calls that the bots reported with a latency." }),
          },
    // No GenAI cost convention exists yet (a proposal names span attributes gen_ai.usage.cost.*): ours until one settles.
    cost: meter.createCounter("kissbot.llm.cost", { unit: "{USD}", description: "Cost of LLM calls in US dollars: reported by the bot, or computed from the bridge's price table (kissbot.cost.source)." }),
  };
}
