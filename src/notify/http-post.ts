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
    const v = (JSON.parse(body) as { retry_after?: unknown }).retry_after;
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v * 1000;
  } catch {
    // not JSON: no hint
  }
  return null;
}

/** POSTs a JSON body, bounded in time; never throws (a failure is a result with status 0). */
export async function postJson(url: string, body: string, timeoutMs: number, userAgent: string): Promise<PostResult> {
  try {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "user-agent": userAgent }, body, signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
    const text = (await res.text()).slice(0, BODY_CHARS);
    return { status: res.status, text, retryAfterMs: res.status === 429 ? retryAfterMs(res.headers.get("retry-after"), text, Date.now()) : null };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    // fetch hides the reason (ECONNREFUSED, ENOTFOUND) in its cause; never the URL, which is a secret.
    const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { status: 0, text: why, retryAfterMs: null };
  }
}
