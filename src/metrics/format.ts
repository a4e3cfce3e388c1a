/** The two exposition formats /metrics speaks. */
export type ExpositionFormat = "prometheus" | "openmetrics";

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"') : v;
}

export function escapeHelp(v: string, format: ExpositionFormat): string {
  const s = v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return format === "openmetrics" ? s.replace(/"/g, '\\"') : s;
}

/** `a="x",b="y"` from label pairs, escaped; the caller keeps it for all lines of a series. */
export function labelString(pairs: Record<string, string>): string {
  let out = "";
  for (const k in pairs) out += `${out === "" ? "" : ","}${k}="${escapeLabelValue(pairs[k]!)}"`;
  return out;
}

/** `labelString`'s pairs encoded as UTF-8, for a series that keeps them across scrapes. */
export function encodeLabels(pairs: Record<string, string>): Uint8Array {
  return Buffer.from(labelString(pairs));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * Picks OpenMetrics when the Accept header prefers it over the text format, as Prometheus's
 * own scraper asks (openmetrics first, text/plain at a lower q).
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return "prometheus";
  let om = -1;
  let text = -1;
  for (const part of accept.split(",")) {
    const [type = "", ...params] = part.trim().split(";").map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2)) || 0;
    if (type === "application/openmetrics-text") om = Math.max(om, q);
    else if (type === "text/plain" || type === "*/*" || type === "text/*") text = Math.max(text, q);
  }
  return om > 0 && om >= text ? "openmetrics" : "prometheus";
}
