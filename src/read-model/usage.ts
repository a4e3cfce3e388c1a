// The read model of LLM usage: the groupings and the `since` window that the HTTP API, the CLI
// and the status page accept, and the rows they show (read by store/queries.ts).

/** Groups a usage answer holds at most, the largest first (the label bounds keep live ones far fewer). */
export const MAX_USAGE_GROUPS = 10_000;

export const USAGE_GROUPS = ["channel", "model", "feature"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export function isUsageGroup(text: string): text is UsageGroup {
  return (USAGE_GROUPS as readonly string[]).includes(text);
}

export interface UsageView {
  key: string;
  calls: number;
  tokens_in: number;
  tokens_out: number;
  mean_latency_ms: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  cost_usd: number | null;
}

/** The furthest back `since` may reach: ten years. */
const MAX_SINCE_MS = 3650 * 86_400_000;

/** `24h`, `7d`, `30m`: how far back, in milliseconds (at most ten years). */
export function parseSince(text: string): number | undefined {
  const m = /^(\d{1,9})([mhd])$/.exec(text.trim());
  if (m === null || Number(m[1]) === 0) return undefined;
  const ms = Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "m" | "h" | "d"];
  return ms > MAX_SINCE_MS ? undefined : ms;
}
