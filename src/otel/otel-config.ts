/** What the OpenTelemetry sink needs to know, from the standard OTEL_* variables and our flags. */
export type OtelConfig = {
  /** OTLP/HTTP push, on when an OTLP endpoint variable is set. */
  otlp: { protocol: "http/protobuf" | "http/json"; intervalMs: number; timeoutMs: number } | null;
  /** Serve OTel-named metrics at /otel/metrics. */
  prometheus: boolean;
  providers: [string, string][];
  /**
   * Which GenAI instruments (genai.ts): the v1.41 ones of the main semantic conventions
   * repository (the default), the GenAI repository's current ones
   * (OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental), or both (…/dup).
   */
  genai: GenAiGeneration;
};

export type GenAiGeneration = "v1.41" | "latest" | "both";

/** The stability opt-in as the conventions define it: a comma-separated list; `/dup` emits old and new. */
export function genAiGeneration(raw: string | undefined): GenAiGeneration {
  const values = (raw ?? "").split(",").map((v) => v.trim());
  if (values.includes("gen_ai_latest_experimental/dup")) return "both";
  return values.includes("gen_ai_latest_experimental") ? "latest" : "v1.41";
}

export type OtelConfigResult = { ok: true; config: OtelConfig } | { ok: false; message: string };

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number | string {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : `invalid ${name}: expected milliseconds, got ${JSON.stringify(raw)}`;
}

export function otelConfigFromEnv(env: NodeJS.ProcessEnv, flags: { otelPrometheus: boolean; genaiProviders: [string, string][] }): OtelConfigResult {
  let otlp: OtelConfig["otlp"] = null;
  if (env["OTEL_EXPORTER_OTLP_ENDPOINT"] || env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]) {
    const protocol = env["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"] || env["OTEL_EXPORTER_OTLP_PROTOCOL"] || "http/protobuf";
    if (protocol !== "http/protobuf" && protocol !== "http/json") {
      return { ok: false, message: `unsupported OTLP protocol ${JSON.stringify(protocol)}: use http/protobuf or http/json` };
    }
    const intervalMs = positiveInt(env, "OTEL_METRIC_EXPORT_INTERVAL", 60_000);
    const timeoutMs = positiveInt(env, "OTEL_METRIC_EXPORT_TIMEOUT", 30_000);
    if (typeof intervalMs === "string") return { ok: false, message: intervalMs };
    if (typeof timeoutMs === "string") return { ok: false, message: timeoutMs };
    // The SDK requires the timeout not to exceed the interval.
    otlp = { protocol, intervalMs, timeoutMs: Math.min(timeoutMs, intervalMs) };
  }
  return { ok: true, config: { otlp, prometheus: flags.otelPrometheus, providers: flags.genaiProviders, genai: genAiGeneration(env["OTEL_SEMCONV_STABILITY_OPT_IN"]) } };
}

export const otelEnabled = (c: OtelConfig) => c.otlp !== null || c.prometheus;
