import { createHash } from "node:crypto";

export const NOTIFY_KINDS = ["discord", "slack", "webhook"] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** Where notifications go. The URL is a secret (a Discord or Slack webhook URL is a write key). */
export interface NotifyTarget {
  kind: NotifyKind;
  url: string;
  /** What logs, /metrics and the status page may show: the kind and host, never the path. */
  name: string;
  /** Stable across restarts, without the secret: the key of its pending messages in the database. */
  id: string;
}

/** `https://discord.com/api/webhooks/123/abc` → `discord https://discord.com/…`. */
export function redact(kind: NotifyKind, url: URL): string {
  return `${kind} ${url.protocol}//${url.host}/…`;
}

/** One `KIND=URL`; throws with words for the person who wrote it. */
export function parseTarget(spec: string): NotifyTarget {
  const eq = spec.indexOf("=");
  const kind = spec.slice(0, eq).trim().toLowerCase();
  if (eq < 0 || !(NOTIFY_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`expected KIND=URL with KIND one of ${NOTIFY_KINDS.join(", ")}, got ${JSON.stringify(spec.slice(0, Math.max(0, eq)) || "no KIND=")}`);
  }
  let url: URL;
  try {
    url = new URL(spec.slice(eq + 1).trim());
  } catch {
    // The value is not repeated: it may be a secret with a typo.
    throw new Error(`the URL for ${kind} is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`the URL for ${kind} must be http or https, not ${url.protocol}`);
  const k = kind as NotifyKind;
  return { kind: k, url: url.href, name: redact(k, url), id: `${k}:${createHash("sha256").update(url.href).digest("hex").slice(0, 16)}` };
}

/** `--notify` given several times, or KISSBOT_NOTIFY comma-separated: the same target twice is one. */
export function parseTargets(raw: string): NotifyTarget[] {
  const byId = new Map<string, NotifyTarget>();
  for (const spec of raw.split(",")) if (spec.trim() !== "") {
    const t = parseTarget(spec.trim());
    byId.set(t.id, t);
  }
  return [...byId.values()];
}
