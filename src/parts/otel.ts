import type { Config } from "../config/config.js";
import type { Core } from "./core.js";
import type { Part } from "../lifecycle/lifecycle.js";
import type { OtelSink } from "../otel/otel-sink.js";
import { otelEnabled } from "../otel/otel-config.js";
import { delay } from "../util/guard.js";
import type { Clock } from "../util/clock.js";

/**
 * The OpenTelemetry sink, built (and the SDK even loaded) only when asked for: with OTel off,
 * no provider, reader or timer exists. Its last interval is exported at stop.
 */
export async function otelFeature(config: Config, core: Core, clock: Clock, version: string): Promise<{ otel: OtelSink | undefined; parts: Part[] }> {
  if (!otelEnabled(config.otel)) return { otel: undefined, parts: [] };
  const { OtelSink } = await import("../otel/otel-sink.js");
  const otel = new OtelSink(config.otel, { clock, bots: core.registry, ingest: core.ingest }, core.limitedLog, version);
  core.ingest.observeLlmUsage(otel);
  return { otel, parts: [{ name: "otel", stop: () => Promise.race([otel.shutdown(), delay(2500)]) }] };
}
