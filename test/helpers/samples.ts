/**
 * Reads sample values out of a text exposition so tests can assert exact numbers. Format
 * validity is checked separately with real parsers (exposition-formats.test).
 */
export class Samples {
  private readonly values = new Map<string, number>();

  constructor(body: string) {
    for (const line of body.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const space = line.lastIndexOf(" ");
      const series = line.slice(0, space);
      const raw = line.slice(space + 1);
      this.values.set(normalise(series), raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw));
    }
  }

  /** The value of one series, or undefined when it is not exported. */
  get(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.values.get(key(name, labels));
  }

  /** The sum over every series of a metric name (0 when none is exported). */
  sum(name: string): number {
    let total = 0;
    for (const [k, v] of this.values) if (k === name || k.startsWith(`${name}{`)) total += v;
    return total;
  }

  /** Every series of a metric name, as label sets. */
  series(name: string): Record<string, string>[] {
    const out: Record<string, string>[] = [];
    for (const k of this.values.keys()) {
      if (k === name || k.startsWith(`${name}{`)) out.push(parseLabels(k.slice(name.length)));
    }
    return out;
  }
}

function key(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}

function parseLabels(s: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of s.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
  return labels;
}

function normalise(series: string): string {
  const brace = series.indexOf("{");
  if (brace === -1) return series;
  return key(series.slice(0, brace), parseLabels(series.slice(brace)));
}
