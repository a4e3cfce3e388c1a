/**
 * What the bridge notifies about, shaped like an Alertmanager alert (labels, annotations,
 * start and end), so the three formats (formats.ts) render the same facts and a receiver written
 * for Alertmanager's webhook understands them.
 */
export const ALERT_NAMES = ["KissBotDown", "KissBotStale", "KissBotFlapping", "KissBotBudgetExceeded", "KissBotLlmRunaway", "KissBotLlmUnpriced", "KissBotBridgeTest"] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export interface Alert {
  name: AlertName;
  channel: string;
  severity: "critical" | "warning" | "none";
  status: "firing" | "resolved";
  /** One line for a chat message's title. */
  summary: string;
  /** The facts, one sentence or two. */
  description: string;
  /** When the trouble began (Unix ms). */
  startsAt: number;
  /** When it ended, for a resolved alert. */
  endsAt: number | null;
  /** Extra labels (period, model); never a secret. */
  labels: Record<string, string>;
  /** A reminder of an alert still firing, not news. */
  reminder: boolean;
}

/** Messages are grouped: one notice lists every alert that came within the group wait. */
export interface Notice {
  alerts: Alert[];
  /** A digest (digest/) instead of alerts: a report, not news of trouble. */
  digest?: { title: string; table: string[]; note: string } | undefined;
  /** Where a person clicks to see more (--public-url). */
  publicUrl: string;
}

export const severityOf = (name: AlertName): Alert["severity"] =>
  name === "KissBotBridgeTest" ? "none" : name === "KissBotLlmUnpriced" || name === "KissBotFlapping" ? "warning" : "critical";
