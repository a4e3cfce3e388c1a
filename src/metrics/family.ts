import type { MetricSpec } from "./catalog.js";
import { escapeHelp, formatValue, type ExpositionFormat } from "./format.js";
import type { ByteWriter } from "./byte-writer.js";

/** What a family's collect function writes to. Label strings come from `labelString`. */
export interface FamilyWriter {
  sample(labels: string, value: number): void;
  /** `counts` per bucket (not cumulative), with one more slot than `bounds` for +Inf. */
  histogram(labels: string, bounds: readonly number[], counts: readonly number[], sum: number, count: number): void;
  /**
   * The lines `render` writes for `key`, reused from an earlier scrape while `version` is
   * unchanged. Most series see no change between two scrapes, and copying their bytes is far
   * cheaper than formatting them again. Costs memory about the size of the idle series' lines.
   */
  cached(key: object, version: number, render: () => void): void;
}

export type Collect = (out: FamilyWriter) => void;

/** `0.01"} ` and the like: the constant middle of each bucket line, encoded once. */
const BUCKET_MIDDLES = new Map<number, Buffer>();
function bucketMiddle(bound: number): Buffer {
  let b = BUCKET_MIDDLES.get(bound);
  if (b === undefined) BUCKET_MIDDLES.set(bound, (b = Buffer.from(`${formatValue(bound)}"} `)));
  return b;
}
const NEWLINE = Buffer.from("\n");

/**
 * One metric family of the catalog, collected at scrape time from the bridge's state, so ages
 * are exact and a removed bot's series vanish. Renders itself in either exposition format.
 */
export class Family {
  private readonly cache = new WeakMap<object, { version: number; bytes: Buffer | undefined }>();

  constructor(
    readonly spec: MetricSpec,
    private readonly collect: Collect,
  ) {}

  /** Appends this family's lines to `out`. Throws if collection fails; the caller rewinds. */
  render(format: ExpositionFormat, out: ByteWriter): void {
    const { name, type, help } = this.spec;
    const cache = this.cache;
    const familyName = format === "openmetrics" && type === "counter" ? name.replace(/_total$/, "") : name;
    out.write(`# HELP ${familyName} ${escapeHelp(help, format)}\n# TYPE ${familyName} ${type}\n`);
    this.collect({
      sample(labels, value) {
        out.write(labels === "" ? `${name} ${formatValue(value)}\n` : `${name}{${labels}} ${formatValue(value)}\n`);
      },
      histogram(labels, bounds, counts, sum, count) {
        const braced = labels === "" ? "" : `{${labels}}`;
        // The long `name_bucket{labels,le="` prefix is encoded once, then copied byte for byte
        // for each further bucket: most of a large scrape is these lines.
        const start = out.mark();
        out.write(labels === "" ? `${name}_bucket{le="` : `${name}_bucket{${labels},le="`);
        const end = out.mark();
        // The rest of each line is a constant and an integer: nothing is allocated per line.
        let cumulative = 0;
        for (let i = 0; i <= bounds.length; i++) {
          if (i > 0) out.repeat(start, end);
          cumulative = i < bounds.length ? cumulative + counts[i]! : count;
          out.bytes(bucketMiddle(i < bounds.length ? bounds[i]! : Infinity));
          out.uint(cumulative);
          out.bytes(NEWLINE);
        }
        out.write(`${name}_sum${braced} ${formatValue(sum)}\n${name}_count${braced} ${count}\n`);
      },
      cached(key, version, render) {
        const seen = cache.get(key);
        if (seen?.version === version && seen.bytes !== undefined) return out.bytes(seen.bytes);
        const start = out.mark();
        render();
        // Keep the bytes only for a series that stayed the same across a scrape: one that changes
        // every time would pay for the copy and never use it.
        cache.set(key, { version, bytes: seen?.version === version ? out.copyFrom(start) : undefined });
      },
    });
  }
}
