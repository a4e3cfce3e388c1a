import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { AggregationTemporality, InstrumentType, PushMetricExporter, ResourceMetrics } from "@opentelemetry/sdk-metrics";

/**
 * Wraps an OTLP exporter to count (and report) failed exports, which the SDK otherwise only
 * hands to its global error handler.
 */
export class CountingExporter implements PushMetricExporter {
  #failures = 0;
  get failures(): number {
    return this.#failures;
  }
  #successes = 0;
  get successes(): number {
    return this.#successes;
  }
  #lastResult: "success" | "failure" | null = null;
  /** How the latest export ended; null before the first. */
  get lastResult(): "success" | "failure" | null {
    return this.#lastResult;
  }

  constructor(
    private readonly inner: PushMetricExporter,
    private readonly onFailure: (error: Error | undefined) => void,
  ) {}

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.#successes++;
        this.#lastResult = "success";
      } else {
        this.#failures++;
        this.#lastResult = "failure";
        this.onFailure(result.error);
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality!(instrumentType);
  }
}
