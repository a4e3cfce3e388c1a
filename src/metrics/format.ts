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

/** Escaping schemes of Prometheus 3's content negotiation (the `escaping` parameter). */
const ESCAPING = new Set(["allow-utf-8", "underscores", "dots", "values"]);

/** What /metrics answers an Accept header: the body's format and the Content-Type that says it. */
export interface Negotiated {
  format: ExpositionFormat;
  contentType: string;
}

interface Offer {
  format: ExpositionFormat;
  version: string;
  escaping: string | undefined;
  q: number;
}

/** One media range of an Accept header as an offer we can serve, or null. */
function offerOf(part: string): Offer | null {
  const [type = "", ...params] = part.trim().split(";").map((x) => x.trim());
  const param = (name: string) => params.find((p) => p.toLowerCase().startsWith(`${name}=`))?.slice(name.length + 1).replace(/^"|"$/g, "");
  const q = param("q") === undefined ? 1 : Number(param("q"));
  if (!Number.isFinite(q) || q <= 0) return null;
  const escaping = param("escaping")?.toLowerCase();
  const known = escaping !== undefined && ESCAPING.has(escaping) ? escaping : undefined;
  const version = param("version");
  switch (type.toLowerCase()) {
    case "application/openmetrics-text":
      return version === undefined || version === "1.0.0" || version === "0.0.1" ? { format: "openmetrics", version: "1.0.0", escaping: known, q } : null;
    case "text/plain":
      return version === undefined || version === "0.0.4" || version === "1.0.0" ? { format: "prometheus", version: version ?? "0.0.4", escaping: known, q } : null;
    case "*/*":
    case "text/*":
      return { format: "prometheus", version: "0.0.4", escaping: undefined, q };
    default:
      return null;
  }
}

/**
 * The best offer of an Accept header we can serve: OpenMetrics 1.0.0 (asked as 1.0.0 or 0.0.1), or
 * the text format 1.0.0 or 0.0.4, by q, OpenMetrics first on a tie, as Prometheus's own scrapers
 * ask. Every name the bridge exports is a legacy-valid name, so every escaping scheme gives the
 * same body; the Content-Type repeats the scheme asked for (Prometheus 3 asks allow-utf-8), as the
 * negotiation's spec wants. Anything else, or nothing, gets the text format 0.0.4, which every
 * scraper reads.
 */
export function negotiate(accept: string | undefined): Negotiated {
  let best: Offer | null = null;
  for (const part of (accept ?? "").split(",")) {
    const o = offerOf(part);
    if (o !== null && (best === null || o.q > best.q || (o.q === best.q && o.format === "openmetrics" && best.format !== "openmetrics"))) best = o;
  }
  if (best === null) return { format: "prometheus", contentType: CONTENT_TYPES.prometheus };
  const type = best.format === "openmetrics" ? "application/openmetrics-text" : "text/plain";
  return { format: best.format, contentType: `${type}; version=${best.version}; charset=utf-8${best.escaping === undefined ? "" : `; escaping=${best.escaping}`}` };
}

/** The body's format alone (see `negotiate`). */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return negotiate(accept).format;
}
