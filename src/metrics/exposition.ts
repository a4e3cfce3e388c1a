import { Registry, type Metric, type RegistryContentType } from "prom-client";
import type { Family } from "./family.js";
import { CONTENT_TYPES, type ExpositionFormat } from "./format.js";
import { ByteWriter } from "./byte-writer.js";
import type { CounterMap } from "../util/counter-map.js";

/** prom-client's typings omit the runtime fields every metric object has. */
type PromMetric = Metric & { name: string; help: string; type: string; aggregator: string; get(): Promise<Record<string, unknown>> };

export interface Rendered {
  contentType: string;
  body: Buffer;
  /**
   * Says that `body` has been sent, so a later scrape may write into its memory. A body never
   * released is simply garbage-collected, so callers that keep it need not call this.
   */
  release(): void;
}

/** Buffers kept for later renders: two, for two Prometheus servers (an HA pair) scraping at once. */
const SPARE_BUFFERS = 2;

/**
 * Renders the bridge's families and prom-client's registry (default process_* and nodejs_*
 * metrics) in the format asked for. A family or metric whose collection fails is left out and
 * counted in `collectorErrors`; the rest of the scrape is served.
 *
 * prom-client fixes one content type per registry, and rendering OpenMetrics renames the
 * registered counters in place (it strips `_total`), so each format gets its own registry of
 * thin proxies over the same metric objects instead of sharing them.
 */
export class Exposition {
  #rendered = 0;
  /** Scrapes answered with a render of their own. */
  get rendered(): number {
    return this.#rendered;
  }
  #shared = 0;
  /** Scrapes that joined a render already running. */
  get shared(): number {
    return this.#shared;
  }
  private inflight: Partial<Record<ExpositionFormat, Promise<{ body: Buffer; buffer: Buffer; refs: number }>>> = {};
  private lastSize = 0;
  private readonly spare: Buffer[] = [];
  private views: Partial<Record<ExpositionFormat, { registry: Registry<RegistryContentType>; size: number }>> = {};

  constructor(
    private readonly families: readonly Family[],
    private readonly promRegistry: Registry,
    private readonly collectorErrors: CounterMap,
    /** Runs before each scrape, e.g. to bring bot statuses up to date. */
    private readonly prepare: () => void = () => {},
  ) {}

  /**
   * A scrape arriving while a render of the same format runs gets that render's bytes: 200
   * concurrent scrapes cost a few renders, not 200. Such a scrape may get figures a few
   * milliseconds older than its request, never older than the render it joined. The body's
   * memory is recycled once every response that shares it has been sent.
   */
  async render(format: ExpositionFormat): Promise<Rendered> {
    let pending = this.inflight[format];
    if (pending === undefined) {
      this.#rendered++;
      // The render itself is synchronous and blocks the loop: it starts after the requests that
      // arrived in this same turn of the loop have joined it.
      pending = new Promise((r) => setImmediate(r))
        .then(() => this.renderOnce(format))
        .then((out) => ({ body: out.toBuffer(), buffer: out.buffer, refs: 0 }));
      this.inflight[format] = pending;
      // Kept one more turn of the loop after it is done: the scrapes that arrived while it ran
      // (the render blocks the loop) are read in that turn, and take its bytes too.
      const clear = () =>
        setImmediate(() => {
          if (this.inflight[format] === pending) delete this.inflight[format];
        });
      pending.then(clear, clear);
    } else {
      this.#shared++;
    }
    const shared = await pending;
    shared.refs++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--shared.refs === 0) this.recycle(shared.buffer);
    };
    return { contentType: CONTENT_TYPES[format], body: shared.body, release };
  }

  private async renderOnce(format: ExpositionFormat): Promise<ByteWriter> {
    this.prepare();
    const out = new ByteWriter(this.spare.pop() ?? this.lastSize + 4096);
    for (const f of this.families) {
      const start = out.mark();
      try {
        f.render(format, out);
      } catch {
        out.rewind(start);
        this.collectorErrors.inc(f.spec.name);
      }
    }
    let prom = await this.view(format).metrics();
    // prom-client closes OpenMetrics with "# EOF", which stays last as it must. OpenMetrics
    // allows no blank line, and prom-client leaves one when it has nothing of its own to say.
    if (format === "openmetrics") prom = prom.replace(/^\n+/, "").replace(/\n{2,}/g, "\n");
    out.write(prom);
    this.lastSize = out.mark();
    return out;
  }

  private recycle(buffer: Buffer): void {
    // A buffer far larger than the scrape has become (many bots left) is let go.
    if (this.spare.length < SPARE_BUFFERS && buffer.length <= 4 * this.lastSize + 65536) this.spare.push(buffer);
  }

  private view(format: ExpositionFormat): Registry<RegistryContentType> {
    const metrics = this.promRegistry.getMetricsAsArray() as unknown as PromMetric[];
    const cached = this.views[format];
    if (cached !== undefined && cached.size === metrics.length) return cached.registry;
    const registry = new Registry<RegistryContentType>();
    registry.setContentType(format === "openmetrics" ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
    for (const m of metrics) registry.registerMetric(this.guarded(m, format) as Metric);
    this.views[format] = { registry, size: metrics.length };
    return registry;
  }

  private guarded(metric: PromMetric, format: ExpositionFormat): PromMetric {
    const name = format === "openmetrics" && metric.type === "counter" ? metric.name.replace(/_total$/, "") : metric.name;
    const errors = this.collectorErrors;
    const proxy = {
      name,
      help: metric.help,
      type: metric.type,
      aggregator: metric.aggregator,
      async get() {
        try {
          return { ...(await metric.get()), name };
        } catch {
          errors.inc(metric.name);
          return { name, help: metric.help, type: metric.type, aggregator: metric.aggregator, values: [] };
        }
      },
      reset() {},
    };
    return proxy as unknown as PromMetric;
  }
}
