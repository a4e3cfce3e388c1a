import { Registry } from "prom-client";
import { bridgeFamilies, type MetricSources } from "../../src/metrics/bridge-families.js";
import { Exposition } from "../../src/metrics/exposition.js";
import { CounterMap } from "../../src/util/counter-map.js";
import type { Clock } from "../../src/util/clock.js";

/**
 * The bridge's own families (no prom-client defaults) over the given bots, usage book and, if
 * given, ingest counters; every other stage idle. For tests and benchmarks that render in process.
 */
export function expositionOver(s: { clock: Clock; bots: MetricSources["bots"]; usage: MetricSources["usage"]; ingest?: MetricSources["ingest"] }, version = "test"): Exposition {
  const families = bridgeFamilies({
    clock: s.clock,
    version,
    bots: s.bots,
    usage: s.usage,
    transport: { connectionsAccepted: 0, openConnections: 0, bufferedBytes: 0, dropped: new CounterMap() },
    ingest: s.ingest ?? { accepted: new CounterMap(), rejected: new CounterMap(), ignored: new CounterMap(), rowsFollowed: 0, rowsRejected: new CounterMap() },
    sampler: { errors: 0, overruns: 0 },
    collectorErrors: new CounterMap(),
    internalErrors: new CounterMap(),
  });
  return new Exposition(families, new Registry(), new CounterMap());
}
