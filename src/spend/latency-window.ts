import { LATENCY_BUCKETS_PER_E, type LatencyCell } from "./spend-cells.js";
import { MAX_LATENCY_CELLS } from "./spend-queries.js";

export interface LatencyView {
  key: string;
  calls: number;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
}

type Bucket = { calls: number; sumMs: number };
/** One model in one minute: calls that gave no latency, and the latency buckets. */
type ModelMinute = { untimed: number; buckets: Map<number, Bucket> };

/**
 * The last hour of LLM latency by model, as per-minute histograms added up from reads of the
 * rows added since the last read: a read costs the new rows, not the hour (reading the hour
 * whole every minute cost 2.4 s of CPU per million rows, within the reader's 5 s time limit).
 * Percentiles are nearest-rank over buckets 1% wide, each bucket standing for the mean of the
 * latencies in it: within half a percent of the value SQL gives over the rows, and equal to it
 * when the bucket holds one distinct value. The hour is counted in whole minutes: the minute the
 * hour began in is included.
 */
export class LatencyWindow {
  #refused = 0;
  /** Buckets not held because MAX_LATENCY_CELLS were held already. */
  get refused(): number {
    return this.#refused;
  }
  private minutes = new Map<number, Map<string, ModelMinute>>();
  /** The minutes added up by model, kept as they come and go: a view sorts buckets, never merges minutes. */
  private totals = new Map<string, ModelMinute>();
  private held = 0;

  constructor(private readonly spanMs = 3_600_000) {}

  /** Forgets everything, before a full read of the span. */
  clear(): void {
    this.minutes = new Map();
    this.totals = new Map();
    this.held = 0;
  }

  add(cells: readonly LatencyCell[]): void {
    // Cells come in runs of one minute (SQL sorts them; commits hold a minute or two): parsed once a run.
    let lastMinute = "";
    let start = NaN;
    for (const [minute, model, bucket, calls, sumMs] of cells) {
      if (minute !== lastMinute) {
        lastMinute = minute;
        start = Date.parse(`${minute}:00Z`);
      }
      if (Number.isNaN(start)) continue; // a timestamp no minute can be read from
      let models = this.minutes.get(start);
      if (models === undefined) this.minutes.set(start, (models = new Map()));
      const m = modelIn(models, model);
      if (bucket !== null && !m.buckets.has(bucket)) {
        if (this.held >= MAX_LATENCY_CELLS) {
          this.#refused++;
          continue;
        }
        this.held++;
      }
      addTo(m, bucket, calls, sumMs ?? 0);
      addTo(modelIn(this.totals, model), bucket, calls, sumMs ?? 0);
    }
  }

  /** By model, most calls first. Minutes that ended before the span are taken out first. */
  views(nowMs: number): LatencyView[] {
    const from = nowMs - this.spanMs;
    for (const [start, models] of this.minutes) {
      if (start + 60_000 > from) continue;
      for (const [model, m] of models) {
        this.held -= m.buckets.size;
        const t = this.totals.get(model)!;
        t.untimed -= m.untimed;
        for (const [k, b] of m.buckets) addTo(t, k, -b.calls, -b.sumMs);
        if (t.untimed === 0 && t.buckets.size === 0) this.totals.delete(model);
      }
      this.minutes.delete(start);
    }
    const out: LatencyView[] = [];
    for (const [key, t] of this.totals) {
      let calls = t.untimed;
      for (const b of t.buckets.values()) calls += b.calls;
      const sorted = [...t.buckets].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
      out.push({ key, calls, p50_latency_ms: nearestRank(sorted, 50), p95_latency_ms: nearestRank(sorted, 95) });
    }
    return out.sort((a, b) => b.calls - a.calls || a.key.localeCompare(b.key));
  }
}

function modelIn(models: Map<string, ModelMinute>, model: string): ModelMinute {
  let m = models.get(model);
  if (m === undefined) models.set(model, (m = { untimed: 0, buckets: new Map() }));
  return m;
}

/** Adds (or, negative, takes out) calls of one bucket; a bucket left with none goes. */
function addTo(m: ModelMinute, bucket: number | null, calls: number, sumMs: number): void {
  if (bucket === null) {
    m.untimed += calls;
    return;
  }
  const b = m.buckets.get(bucket);
  if (b === undefined) m.buckets.set(bucket, { calls, sumMs });
  else if (b.calls + calls === 0) m.buckets.delete(bucket);
  else {
    b.calls += calls;
    b.sumMs += sumMs;
  }
}

/** The bucket holding the first rank r with r × 100 ≥ p × n, as the mean of its latencies. */
function nearestRank(sorted: Bucket[], p: number): number | null {
  let n = 0;
  for (const b of sorted) n += b.calls;
  if (n === 0) return null;
  let rank = 0;
  for (const b of sorted) {
    rank += b.calls;
    if (rank * 100 >= p * n) return b.sumMs / b.calls;
  }
  return null;
}
