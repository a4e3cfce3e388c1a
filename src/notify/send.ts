import type { NotifyTarget } from "./targets.js";
import { sendTo, type PostResult } from "./http-post.js";
import { sendMatrix } from "./matrix.js";

/** Delivers one rendered message to a target by its kind's protocol; never throws. */
export type Send = (target: NotifyTarget, body: string, messageId: string, timeoutMs: number, userAgent: string) => Promise<PostResult>;

export const send: Send = async (target, body, messageId, timeoutMs, userAgent) => {
  try {
    if (target.kind === "matrix") return await sendMatrix(target, body, messageId, timeoutMs, userAgent);
    // Loaded with the first e-mail: a bridge with no e-mail target never loads a mail library.
    if (target.kind === "email") return await (await import("./email.js")).sendEmail(target, body, timeoutMs);
    return await sendTo(target, body, timeoutMs, userAgent);
  } catch (err) {
    // Each sender answers failures as results; this is a last guard, never the URL.
    return { status: 0, text: (err as Error).name, retryAfterMs: null };
  }
};
