import type { NotifyTarget } from "./targets.js";
import { dict } from "../util/dict.js";

/** What a target's server answered to one POST. */
export interface PostResult {
  /** HTTP status; 0 when no answer came (refused, DNS, timeout). */
  status: number;
  /** The start of the answer's body, or the error. */
  text: string;
  /** How long the server asked us to wait (429 Retry-After or Discord's retry_after), in ms. */
  retryAfterMs: number | null;
}

const BODY_CHARS = 300;

/** Seconds or an HTTP date, as Retry-After may be; Discord's JSON retry_after is seconds too. */
export function retryAfterMs(header: string | null, body: string, now: number): number | null {
  if (header !== null && header.trim() !== "") {
    const s = Number(header);
    if (Number.isFinite(s) && s >= 0) return s * 1000;
    const at = Date.parse(header);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  try {
    // Discord's retry_after (seconds), Telegram's parameters.retry_after (seconds), Matrix's retry_after_ms.
    const j = JSON.parse(body) as { retry_after?: unknown; retry_after_ms?: unknown; parameters?: { retry_after?: unknown } };
    const ok = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
    if (ok(j.retry_after)) return j.retry_after * 1000;
    if (ok(j.parameters?.retry_after)) return j.parameters.retry_after * 1000;
    if (ok(j.retry_after_ms)) return j.retry_after_ms;
  } catch {
    // not JSON: no hint
  }
  return null;
}

/** A target's request for a rendered body: its fields merged in, its headers added. Never throws. */
export function sendTo(target: NotifyTarget, body: string, timeoutMs: number, userAgent: string): Promise<PostResult> {
  let merged = body;
  if (Object.keys(target.fields).length > 0) {
    try {
      merged = JSON.stringify({ ...(JSON.parse(body) as object), ...target.fields });
    } catch {
      // Not an object (never rendered so): sent as it is, and the server says what is wrong.
    }
  }
  return postJson(target.url, merged, timeoutMs, userAgent, target.headers);
}

/** POSTs a JSON body, bounded in time; never throws (a failure is a result with status 0). */
export function postJson(url: string, body: string, timeoutMs: number, userAgent: string, headers: Readonly<Record<string, string>> = dict()): Promise<PostResult> {
  return requestJson("POST", url, body, timeoutMs, userAgent, headers);
}

/** One HTTP request with a JSON body (none for GET), bounded in time; never throws. */
export async function requestJson(method: "POST" | "PUT" | "GET", url: string, body: string | undefined, timeoutMs: number, userAgent: string, headers: Readonly<Record<string, string>> = dict()): Promise<PostResult> {
  try {
    const res = await fetch(url, { method, headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }), "user-agent": userAgent }, body, signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
    const text = (await res.text()).slice(0, BODY_CHARS);
    return { status: res.status, text, retryAfterMs: res.status === 429 ? retryAfterMs(res.headers.get("retry-after"), text, Date.now()) : null };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    // fetch hides the reason (ECONNREFUSED, ENOTFOUND) in its cause; never the URL, which is a secret.
    const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { status: 0, text: why, retryAfterMs: null };
  }
}
