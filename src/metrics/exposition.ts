import { gzip } from "node:zlib";
import { promisify } from "node:util";
import type { Registry } from "prom-client";
import { collectRegistry } from "./collected-family.js";
import { CONTENT_TYPES, type ExpositionFormat } from "./format.js";
import { ByteWriter } from "./byte-writer.js";
import type { CounterMap } from "../util/counter-map.js";

/** What the exposition renders: a family of the catalog, or a collected one (collected-family.ts). */
interface Renderable {
  readonly spec: { readonly name: string };
  render(format: ExpositionFormat, out: ByteWriter): void;
}

export interface Rendered {
  contentType: string;
  body: Buffer;
  /** "gzip" when the body is compressed (asked for, and the render was compressed once for every scrape that asked). */
  encoding: "gzip" | undefined;
  /**
   * Says that `body` has been sent, so a later scrape may write into its memory. A body never
   * released is simply garbage-collected, so callers that keep it need not call this.
   */
  release(): void;
}

/** Buffers kept for later renders: two, for two Prometheus servers (an HA pair) scraping at once. */
const SPARE_BUFFERS = 2;

const gzipAsync = promisify(gzip);
/**
 * zlib level 1, the fastest: Prometheus's repetitive text still compresses 26-fold at it
 * (docs/BENCHMARKS.md, "Scrapes across a network").
 */
const GZIP_LEVEL = 1;

/**
 * One render, shared by the scrapes that joined it; compressed at most once, on zlib's threads.
 * Its memory is reused once no scrape holds it (`refs`) and none can join it any more (`open`):
 * a scrape may join after another one's response was sent.
 */
type Shared = { body: Buffer; buffer: Buffer; refs: number; open: boolean; gzipped?: Promise<Buffer> };

/**
 * Renders the bridge's families and the metrics of a prom-client registry (the default
 * process_* and nodejs_* collectors), collected as data and rendered by the same code
 * (collected-family.ts), in the format asked for. A family or metric whose collection fails is
 * left out and counted in `collectorErrors` (one count for both); the rest is served.
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
  private inflight: Partial<Record<ExpositionFormat, Promise<Shared>>> = {};
  private lastSize = 0;
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly families: readonly Renderable[],
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
  async render(format: ExpositionFormat, gzipped = false): Promise<Rendered> {
    let pending = this.inflight[format];
    if (pending === undefined) {
      this.#rendered++;
      // The render itself is synchronous and blocks the loop: it starts after the requests that
      // arrived in this same turn of the loop have joined it.
      pending = new Promise((r) => setImmediate(r))
        .then(() => this.renderOnce(format))
        .then((out): Shared => ({ body: out.toBuffer(), buffer: out.buffer, refs: 0, open: true }));
      this.inflight[format] = pending;
      // Kept one more turn of the loop after it is done: the scrapes that arrived while it ran
      // (the render blocks the loop) are read in that turn, and take its bytes too.
      const close = (shared?: Shared) =>
        setImmediate(() => {
          if (this.inflight[format] === pending) delete this.inflight[format];
          if (shared === undefined) return;
          shared.open = false;
          if (shared.refs === 0) this.recycle(shared.buffer);
        });
      pending.then(close, () => close());
    } else {
      this.#shared++;
    }
    const shared = await pending;
    // Held from here: the buffer is not recycled while it is being compressed.
    shared.refs++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--shared.refs === 0 && !shared.open) this.recycle(shared.buffer);
    };
    if (!gzipped) return { contentType: CONTENT_TYPES[format], body: shared.body, encoding: undefined, release };
    try {
      shared.gzipped ??= gzipAsync(shared.body, { level: GZIP_LEVEL });
      return { contentType: CONTENT_TYPES[format], body: await shared.gzipped, encoding: "gzip", release };
    } catch (err) {
      release();
      throw err;
    }
  }

  private async renderOnce(format: ExpositionFormat): Promise<ByteWriter> {
    this.prepare();
    // Collected first (some collectors are asynchronous), then rendered in one synchronous pass.
    const families: readonly Renderable[] = [...this.families, ...(await collectRegistry(this.promRegistry, this.collectorErrors))];
    const out = new ByteWriter(this.spare.pop() ?? this.lastSize + 4096);
    for (const f of families) {
      const start = out.mark();
      try {
        f.render(format, out);
      } catch {
        out.rewind(start);
        this.collectorErrors.inc(f.spec.name);
      }
    }
    if (format === "openmetrics") out.write("# EOF\n");
    this.lastSize = out.mark();
    return out;
  }

  private recycle(buffer: Buffer): void {
    // A buffer far larger than the scrape has become (many bots left) is let go.
    if (this.spare.length < SPARE_BUFFERS && buffer.length <= 4 * this.lastSize + 65536) this.spare.push(buffer);
  }
}
