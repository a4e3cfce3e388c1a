import type { MetricSpec } from "./catalog.js";
import { escapeHelp, formatValue, type ExpositionFormat } from "./format.js";

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

  /** Appends this family's lines to `out`. Throws if collection fails; nothing is appended then. */
  render(format: ExpositionFormat, out: string[]): void {
    const { name, type, help } = this.spec;
    const lines: string[] = [];
    const familyName = format === "openmetrics" && type === "counter" ? name.replace(/_total$/, "") : name;
    lines.push(`# HELP ${familyName} ${escapeHelp(help, format)}`, `# TYPE ${familyName} ${type}`);
    const brace = (labels: string) => (labels === "" ? "" : `{${labels}}`);
    this.collect({
      sample(labels, value) {
        lines.push(`${name}${brace(labels)} ${formatValue(value)}`);
      },
      histogram(labels, bounds, counts, sum, count) {
        const sep = labels === "" ? "" : ",";
        let cumulative = 0;
        for (let i = 0; i < bounds.length; i++) {
          cumulative += counts[i]!;
          lines.push(`${name}_bucket{${labels}${sep}le="${leValue(bounds[i]!)}"} ${cumulative}`);
        }
        lines.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${count}`);
        lines.push(`${name}_sum${brace(labels)} ${formatValue(sum)}`, `${name}_count${brace(labels)} ${count}`);
      },
    });
    out.push(lines.join("\n"));
  }
}
