import type { MetricSpec } from "./catalog.js";
import { escapeHelp, formatValue, type ExpositionFormat } from "./format.js";
import type { ByteWriter } from "./byte-writer.js";

/** What a family's collect function writes to. Label strings come from `labelString`. */
export interface FamilyWriter {
  sample(labels: string, value: number): void;
  /** `counts` per bucket (not cumulative), with one more slot than `bounds` for +Inf. */
  histogram(labels: string, bounds: readonly number[], counts: readonly number[], sum: number, count: number): void;
}

export type Collect = (out: FamilyWriter) => void;

const BOUND_STRINGS = new Map<number, string>();
function leValue(bound: number): string {
  let s = BOUND_STRINGS.get(bound);
  if (s === undefined) BOUND_STRINGS.set(bound, (s = formatValue(bound)));
  return s;
}

/**
 * One metric family of the catalog, collected at scrape time from the bridge's state, so ages
 * are exact and a removed bot's series vanish. Renders itself in either exposition format.
 */
export class Family {
  constructor(
    readonly spec: MetricSpec,
    private readonly collect: Collect,
  ) {}

  /** Appends this family's lines to `out`. Throws if collection fails; the caller rewinds. */
  render(format: ExpositionFormat, out: ByteWriter): void {
    const { name, type, help } = this.spec;
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
        let cumulative = 0;
        for (let i = 0; i <= bounds.length; i++) {
          if (i > 0) out.repeat(start, end);
          cumulative = i < bounds.length ? cumulative + counts[i]! : count;
          out.write(`${i < bounds.length ? leValue(bounds[i]!) : "+Inf"}"} ${cumulative}\n`);
        }
        out.write(`${name}_sum${braced} ${formatValue(sum)}\n${name}_count${braced} ${count}\n`);
      },
    });
  }
}
