import { createTransport } from "nodemailer";
import type { NotifyTarget } from "./targets.js";
import type { PostResult } from "./http-post.js";

/** A nodemailer error: the SMTP reply code when the server gave one, else a socket code. */
type MailError = Error & { responseCode?: number; response?: string; code?: string };

/** Errors of the message itself or of the login: sending again changes nothing. */
const PERMANENT = new Set(["EENVELOPE", "EMESSAGE"]);

/**
 * Sends a rendered e-mail (formats.ts: subject, text, html) over SMTP through nodemailer, one
 * connection a message (alerts are rare; a pool would hold a login open for nothing). The
 * result reads like an HTTP answer for delivery.ts: 200 when the server took it, 400 for a 5xx
 * reply (refused: a bad login or address, given up), 503 for a 4xx reply (try again later), 0
 * when no server answered.
 */
export async function sendEmail(target: NotifyTarget, body: string, timeoutMs: number): Promise<PostResult> {
  const f = target.fields;
  const url = new URL(target.url);
  let mail: { subject: string; text: string; html: string };
  try {
    mail = JSON.parse(body) as typeof mail;
  } catch {
    return { status: 400, text: "the message is not a rendered e-mail", retryAfterMs: null };
  }
  const transport = createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port),
    secure: f["tls"] === "implicit",
    requireTLS: f["tls"] === "starttls",
    ...(f["user"] === undefined ? {} : { auth: { user: f["user"], pass: f["pass"] ?? "" } }),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  const list = (s: string | undefined) => (s ?? "").split(",").map((a) => a.trim()).filter((a) => a !== "");
  try {
    const info = await transport.sendMail({ from: f["from"], to: list(f["to"]), cc: list(f["cc"]), bcc: list(f["bcc"]), subject: mail.subject, text: mail.text, html: mail.html });
    return { status: 200, text: String(info.response ?? "accepted"), retryAfterMs: null };
  } catch (err) {
    const e = err as MailError;
    const code = e.responseCode;
    const status = code !== undefined ? (code >= 500 ? 400 : 503) : e.code !== undefined && PERMANENT.has(e.code) ? 400 : 0;
    // nodemailer's messages name the server and the reply, never the password.
    const text = code !== undefined ? `SMTP ${(e.response ?? String(code)).slice(0, 300)}` : `${e.code ?? "error"}: ${e.message.slice(0, 300)}`;
    return { status, text, retryAfterMs: null };
  } finally {
    transport.close();
  }
}
