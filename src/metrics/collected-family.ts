import type { Registry } from "prom-client";
import type { ByteWriter } from "./byte-writer.js";
import { escapeHelp, escapeLabelValue, formatValue, type ExpositionFormat } from "./format.js";
import type { CounterMap } from "../util/counter-map.js";

/** A metric as a collector hands it over: prom-client's `get()` shape, data, never text. */
export interface CollectedMetric {
  name: string;
  help: string;
  type: string;
  values: { value: number; labels?: Readonly<Record<string, string | number | undefined>>; metricName?: string }[];
}

const NEWLINE = 10;

/**
 * One collected metric as a family of the bridge's renderer: the same HELP and TYPE lines, the
 * same escaping and number format, the same OpenMetrics naming of counters, as the catalog's
 * families. The process's own metrics (prom-client's default process_* and nodejs_*
 * collectors, which read /proc, event loop delay, the heap and GC) are rendered this way, so
 * /metrics has one engine and its text is never rewritten afterwards.
 */
export class CollectedFamily {
  readonly spec: { readonly name: string };

  constructor(private readonly metric: CollectedMetric) {
    this.spec = { name: metric.name };
  }

  render(format: ExpositionFormat, out: ByteWriter): void {
    const { name, help, type, values } = this.metric;
    const familyName = format === "openmetrics" && type === "counter" ? name.replace(/_total$/, "") : name;
    out.write(`# HELP ${familyName} ${escapeHelp(help, format)}\n# TYPE ${familyName} ${type}\n`);
    for (const v of values) {
      let labels = "";
      for (const [k, x] of Object.entries(v.labels ?? {})) {
        if (x === undefined) continue;
        labels += `${labels === "" ? "" : ","}${k}="${escapeLabelValue(typeof x === "number" ? formatValue(x) : x)}"`;
      }
      out.write(`${v.metricName ?? name}${labels === "" ? "" : `{${labels}}`} `);
      out.number(v.value);
      out.byte(NEWLINE);
    }
  }
}

/** Every metric of a prom-client registry, collected now; one whose collection fails is left out and counted by name. */
export async function collectRegistry(registry: Registry, errors: CounterMap): Promise<CollectedFamily[]> {
  const collected = await Promise.all(
    // prom-client's typings omit `get` from the metrics a registry lists; every metric has it.
    (registry.getMetricsAsArray() as unknown as { name: string; get(): Promise<CollectedMetric> }[]).map(async (m) => {
      const name = m.name;
      try {
        return new CollectedFamily(await m.get());
      } catch {
        errors.inc(name);
        return undefined;
      }
    }),
  );
  return collected.filter((f): f is CollectedFamily => f !== undefined);
}
