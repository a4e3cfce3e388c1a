import { createHash } from "node:crypto";
import { dict } from "../util/dict.js";
import type { Route } from "./routes.js";

export const NOTIFY_KINDS = ["discord", "slack", "webhook", "teams", "apprise", "telegram", "ntfy", "gotify", "pushover", "matrix", "email"] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** The kinds given as KIND=URL; the others are Apprise URLs (tgram://, ntfy://, …). */
const KIND_EQUALS_URL = ["discord", "slack", "webhook", "teams", "apprise"] as const;

/** Where notifications go. URL, headers and fields hold secrets (tokens, webhook keys). */
export interface NotifyTarget {
  kind: NotifyKind;
  /** The HTTP endpoint a message is POSTed to (Matrix: the homeserver; e-mail: smtp[s]://host:port). */
  url: string;
  /** Sent with each request (ntfy's, Gotify's and Matrix's credentials). */
  headers: Readonly<Record<string, string>>;
  /**
   * Merged into the JSON body at send time (Telegram's chat, Pushover's keys), so that the
   * messages kept in the database across restarts hold no secret. Matrix reads its room here,
   * e-mail its login, sender and recipients (send.ts).
   */
  fields: Readonly<Record<string, string>>;
  /** What logs, /metrics and the status page may show: the kind and host, never a path or a key. */
  name: string;
  /** Stable across restarts, without the secret: the key of its pending messages in the database. */
  id: string;
  /** Its name in the routing file (--notify-config), or null. */
  label: string | null;
  /** Which messages it gets (--notify-config); null: all of them. */
  route: Route | null;
}

/** `https://discord.com/api/webhooks/123/abc` → `discord https://discord.com/…`. */
export function redact(kind: NotifyKind, url: URL): string {
  return `${kind} ${url.protocol}//${url.host}/…`;
}

function target(kind: NotifyKind, url: URL, headers: Record<string, string> = dict(), fields: Record<string, string> = dict()): NotifyTarget {
  // A plain webhook's id is the hash of its URL alone, as before there were other kinds: messages
  // an earlier version left waiting still find their target.
  const plain = Object.keys(headers).length === 0 && Object.keys(fields).length === 0;
  const secret = plain ? url.href : JSON.stringify([url.href, Object.entries(headers).sort(), Object.entries(fields).sort()]);
  return { kind, url: url.href, headers, fields, name: redact(kind, url), id: `${kind}:${createHash("sha256").update(secret).digest("hex").slice(0, 16)}`, label: null, route: null };
}

function httpUrl(kind: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The value is not repeated: it may be a secret with a typo.
    throw new Error(`the URL for ${kind} is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`the URL for ${kind} must be http or https, not ${url.protocol}`);
  return url;
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** `tgram://BOT_TOKEN/CHAT_ID[/CHAT_ID…][?api=URL]`: one target per chat (Bot API sendMessage). */
function telegram(spec: string): NotifyTarget[] {
  const m = /^tgram:\/\/([^/?#]+)\/([^?#]+)(?:\?(.*))?$/.exec(spec);
  if (m === null) throw new Error("expected tgram://BOT_TOKEN/CHAT_ID[/CHAT_ID…][?api=URL]");
  const token = decode(m[1]!);
  const chats = m[2]!.split("/").filter((c) => c !== "").map(decode);
  if (chats.length === 0) throw new Error("tgram:// needs at least one CHAT_ID after the bot token");
  const api = new URLSearchParams(m[3] ?? "").get("api") ?? "https://api.telegram.org";
  const base = httpUrl("tgram ?api=", api);
  const url = new URL(`${base.href.replace(/\/$/, "")}/bot${token}/sendMessage`);
  return chats.map((chat) => target("telegram", url, {}, { chat_id: chat }));
}

/** `ntfy://topic` (ntfy.sh), `ntfy://[user:pass@|token@]host/topic` (http), `ntfys://…` (https). */
function ntfy(spec: string): NotifyTarget {
  const m = /^(ntfys?):\/\/(?:([^@/?#]*)@)?([^/?#]+)(?:\/([^?#]*))?$/.exec(spec);
  if (m === null) throw new Error("expected ntfy://topic or ntfy[s]://[user:pass@|token@]host/topic");
  const [, scheme, auth, host, path] = m;
  const own = path !== undefined && path !== "";
  const server = own ? `${scheme === "ntfys" ? "https" : "http"}://${host}/` : "https://ntfy.sh/";
  const topic = decode(own ? path! : host!);
  const headers = dict<string>();
  if (auth !== undefined && auth !== "") {
    const colon = auth.indexOf(":");
    headers["authorization"] = colon < 0 ? `Bearer ${decode(auth)}` : `Basic ${Buffer.from(`${decode(auth.slice(0, colon))}:${decode(auth.slice(colon + 1))}`).toString("base64")}`;
  }
  // The topic goes in the body (ntfy's JSON publishing), not in the URL the name shows.
  return target("ntfy", httpUrl("ntfy", server), headers, { topic });
}

/** `gotify://host[/path]/APP_TOKEN` (http), `gotifys://…` (https). */
function gotify(spec: string): NotifyTarget {
  const m = /^(gotifys?):\/\/([^?#]+)\/([^/?#]+)$/.exec(spec);
  if (m === null) throw new Error("expected gotify[s]://host/APP_TOKEN");
  const url = httpUrl("gotify", `${m[1] === "gotifys" ? "https" : "http"}://${m[2]}/message`);
  return target("gotify", url, { "x-gotify-key": decode(m[3]!) });
}

/**
 * `pover://USER_KEY@APP_TOKEN[?api=URL]`: Pushover's message API, both keys in the body. `?api=`
 * (ours, as tgram's) names another base URL: a relay, or a test's stand-in.
 */
function pushover(spec: string): NotifyTarget {
  const m = /^pover:\/\/([^@/?#]+)@([^/?#]+)\/?(?:\?(.*))?$/.exec(spec);
  if (m === null) throw new Error("expected pover://USER_KEY@APP_TOKEN");
  const api = new URLSearchParams(m[3] ?? "").get("api") ?? "https://api.pushover.net";
  const url = new URL(`${httpUrl("pover ?api=", api).href.replace(/\/$/, "")}/1/messages.json`);
  return target("pushover", url, {}, { user: decode(m[1]!), token: decode(m[2]!) });
}

/**
 * `matrix://TOKEN@host[:port]/#alias` (http), `matrixs://…` (https), or `/!room_id`: the
 * client-server API with an access token. A room without a server part is on `host`.
 */
function matrix(spec: string): NotifyTarget {
  // The room follows a "#", which a URL parser would take for a fragment: read by hand.
  const m = /^(matrixs?):\/\/([^@/?#]+)@([^/?#]+)\/([^?]+?)\/?(?:\?.*)?$/.exec(spec);
  if (m === null) throw new Error("expected matrix[s]://ACCESS_TOKEN@host/#room (or /!room_id)");
  const [, scheme, token, host, rawRoom] = m;
  let room = decode(rawRoom!);
  if (!room.startsWith("#") && !room.startsWith("!")) room = `#${room}`;
  const server = httpUrl("matrix", `${scheme === "matrixs" ? "https" : "http"}://${host}/`);
  if (!room.includes(":")) room = `${room}:${server.hostname}`;
  return target("matrix", server, { authorization: `Bearer ${decode(token!)}` }, { room });
}

const MAIL_PARAMS = ["to", "from", "name", "smtp", "mode", "cc", "bcc", "format"] as const;

/**
 * `mailto://[user:pass@]host[:port]?to=…&from=…` and `mailtos://…`: SMTP to `host` (or `?smtp=`).
 * mailtos is TLS: implicit on port 465 or with `mode=ssl`, else STARTTLS, required (port 587 by
 * default). mailto takes STARTTLS when the server offers it (port 25 by default).
 */
function email(spec: string): NotifyTarget {
  const m = /^(mailtos?):\/\/(?:([^:@/?#]*)(?::([^@/?#]*))?@)?([^/?#:]+|\[[^\]/?#]+\])(?::(\d{1,5}))?\/?(?:\?(.*))?$/.exec(spec);
  if (m === null) throw new Error("expected mailto[s]://[user:pass@]host[:port]?to=ADDRESS&from=ADDRESS");
  const [, scheme, user = "", pass = "", host, port, query = ""] = m;
  const params = new URLSearchParams(query);
  for (const key of params.keys()) if (!(MAIL_PARAMS as readonly string[]).includes(key)) throw new Error(`mailto: unknown parameter ${JSON.stringify(key)} (expected ${MAIL_PARAMS.join(", ")})`);
  const mode = params.get("mode")?.toLowerCase();
  if (mode !== undefined && mode !== "ssl" && mode !== "starttls") throw new Error(`mailto: mode must be ssl or starttls, not ${JSON.stringify(mode)}`);
  const login = decode(user);
  const smtpHost = params.get("smtp") ?? host!;
  const tls = scheme === "mailto" ? "opportunistic" : mode === "ssl" || (mode === undefined && port === "465") ? "implicit" : "starttls";
  const smtpPort = port ?? (tls === "implicit" ? "465" : tls === "starttls" ? "587" : "25");
  const address = login.includes("@") ? login : login !== "" ? `${login}@${host}` : "";
  const from = params.get("from") ?? address;
  if (from === "") throw new Error("mailto: give from=ADDRESS (or a user name that is an address)");
  const name = params.get("name");
  const fields = dict<string>();
  Object.assign(fields, { tls, from: name === null ? from : `"${name.replaceAll('"', "")}" <${from}>`, to: params.get("to") ?? from, cc: params.get("cc") ?? "", bcc: params.get("bcc") ?? "" });
  if (login !== "") Object.assign(fields, { user: login, pass: decode(pass) });
  return target("email", new URL(`${tls === "implicit" ? "smtps" : "smtp"}://${smtpHost}:${smtpPort}`), {}, fields);
}

const SCHEMES = new Map<string, (spec: string) => NotifyTarget[]>([
  ["tgram", telegram],
  ["ntfy", (s) => [ntfy(s)]],
  ["ntfys", (s) => [ntfy(s)]],
  ["gotify", (s) => [gotify(s)]],
  ["gotifys", (s) => [gotify(s)]],
  ["pover", (s) => [pushover(s)]],
  ["matrix", (s) => [matrix(s)]],
  ["matrixs", (s) => [matrix(s)]],
  ["mailto", (s) => [email(s)]],
  ["mailtos", (s) => [email(s)]],
]);

/**
 * One `KIND=URL` (discord, slack, webhook, teams, apprise) or Apprise URL (tgram://, ntfy://,
 * ntfys://, gotify://, gotifys://, pover://, matrix://, matrixs://, mailto://, mailtos://); throws
 * with words for the person who wrote it.
 */
export function parseTarget(spec: string): NotifyTarget[] {
  const scheme = /^([a-z]+):\/\//i.exec(spec)?.[1]?.toLowerCase();
  if (scheme !== undefined && SCHEMES.has(scheme)) return SCHEMES.get(scheme)!(spec);
  const eq = spec.indexOf("=");
  const kind = spec.slice(0, eq).trim().toLowerCase();
  if (eq < 0 || !(KIND_EQUALS_URL as readonly string[]).includes(kind)) {
    const shown = scheme !== undefined ? `${scheme}://` : spec.slice(0, Math.max(0, eq)) || "no KIND=";
    throw new Error(`expected KIND=URL with KIND one of ${KIND_EQUALS_URL.join(", ")}, or a URL ${[...SCHEMES.keys()].map((k) => `${k}://`).join(", ")}; got ${JSON.stringify(shown)}`);
  }
  return [target(kind as NotifyKind, httpUrl(kind, spec.slice(eq + 1).trim()))];
}

/**
 * Where a comma-separated list starts its next target: before a scheme or a KIND=, never inside a
 * URL (an e-mail's `to=a@x,b@y`).
 */
const NEXT_TARGET = new RegExp(`,(?=\\s*(?:[a-z][a-z0-9+.-]*://|(?:${KIND_EQUALS_URL.join("|")})\\s*=))`, "i");

/** `--notify` given several times, or KISSBOT_NOTIFY comma-separated: the same target twice is one. */
export function parseTargets(raw: string): NotifyTarget[] {
  const byId = new Map<string, NotifyTarget>();
  for (const spec of raw.split(NEXT_TARGET)) if (spec.trim() !== "") {
    for (const t of parseTarget(spec.trim())) byId.set(t.id, t);
  }
  return [...byId.values()];
}
