import { createRequire } from "node:module";
import { BodyServer } from "./body-server.js";

/** The OTLP protobuf schema, compiled by the OpenTelemetry project (otlp-transformer 0.52's generated root). */
const root = createRequire(import.meta.url)("otlp-proto-root/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: object): unknown } } } } } };
};
const Request = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

type AnyValue = { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value: AnyValue };
type RawPoint = { attributes?: KeyValue[]; count?: number | string; sum?: number; bucketCounts?: (number | string)[]; explicitBounds?: number[]; asDouble?: number; asInt?: number | string };
type RawMetric = { name: string; unit?: string; histogram?: { dataPoints: RawPoint[] }; sum?: { dataPoints: RawPoint[] }; gauge?: { dataPoints: RawPoint[] } };
type RawRequest = { resourceMetrics?: { resource?: { attributes?: KeyValue[] }; scopeMetrics?: { metrics?: RawMetric[] }[] }[] };

export interface Point {
  attributes: Record<string, string | number | boolean>;
  value?: number;
  count?: number;
  sum?: number;
  bounds?: number[];
}
export interface Export {
  contentType: string;
  headers: Record<string, string | string[] | undefined>;
  resource: Record<string, string | number | boolean>;
  metrics: Map<string, { unit: string; points: Point[] }>;
}

const value = (v: AnyValue): string | number | boolean => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ?? "";
const attrs = (kvs: KeyValue[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, value(kv.value)]));

/** An OTLP/HTTP metrics receiver (JSON and protobuf), as a collector would be. */
export class OtlpReceiver {
  readonly exports: Export[] = [];
  private readonly server = new BodyServer((req, body, res) => {
    const contentType = req.headers["content-type"] ?? "";
    const raw = (contentType.includes("json")
      ? JSON.parse(body.toString("utf8"))
      : Request.toObject(Request.decode(body), { longs: Number, defaults: false, arrays: true })) as RawRequest;
    const metrics = new Map<string, { unit: string; points: Point[] }>();
    let resource: Export["resource"] = {};
    for (const rm of raw.resourceMetrics ?? []) {
      resource = attrs(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const data = m.histogram ?? m.sum ?? m.gauge;
          metrics.set(m.name, {
            unit: m.unit ?? "",
            points: (data?.dataPoints ?? []).map((p) => ({
              attributes: attrs(p.attributes),
              ...(p.asDouble !== undefined || p.asInt !== undefined ? { value: Number(p.asDouble ?? p.asInt) } : {}),
              ...(m.histogram ? { count: Number(p.count ?? 0), sum: p.sum ?? 0, bounds: p.explicitBounds ?? [] } : {}),
            })),
          });
        }
      }
    }
    this.exports.push({ contentType, headers: req.headers, resource, metrics });
    res.writeHead(200, { "content-type": contentType.includes("json") ? "application/json" : "application/x-protobuf" }).end(contentType.includes("json") ? "{}" : "");
  });

  start(): Promise<void> {
    return this.server.start();
  }

  get port(): number {
    return this.server.port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The newest export that carries `metric`. */
  latest(metric: string): Export | undefined {
    return [...this.exports].reverse().find((e) => e.metrics.has(metric));
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
