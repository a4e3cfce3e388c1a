import { createHash } from "node:crypto";
import type { Alert, Notice } from "./alert.js";
import type { NotifyKind } from "./targets.js";

/** Discord's limits (a message: 10 embeds; an embed's description: 4096 characters). */
const DISCORD_EMBEDS = 10;
const DESCRIPTION_CHARS = 4096;

const COLOURS = { down: 0xe74c3c, stale: 0xe67e22, resolved: 0x2ecc71, flapping: 0x9b59b6, spend: 0xf1c40f, test: 0x95a5a6 } as const;

function colourOf(a: Alert): number {
  if (a.status === "resolved") return COLOURS.resolved;
  switch (a.name) {
    case "KissBotDown":
      return COLOURS.down;
    case "KissBotStale":
      return COLOURS.stale;
    case "KissBotFlapping":
      return COLOURS.flapping;
    case "KissBotBridgeTest":
      return COLOURS.test;
    default:
      return COLOURS.spend;
  }
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** `clip` for escaped text: never cuts an entity (`&amp;`) in two, which Telegram would refuse. */
function clipEscaped(s: string, n: number): string {
  if (s.length <= n) return s;
  let out = s.slice(0, Math.max(0, n - 1));
  const amp = out.lastIndexOf("&");
  if (amp > out.lastIndexOf(";")) out = out.slice(0, amp);
  return `${out}…`;
}

/** The page a person opens for a bot: its status page, or the overview for the test. */
export function linkOf(a: Alert, publicUrl: string): string {
  return a.name === "KissBotBridgeTest" ? `${publicUrl}/` : `${publicUrl}/bot/${encodeURIComponent(a.channel)}`;
}

/** "2 down, 1 back" — the line a phone shows in its notification. */
export function headline(n: Notice): string {
  const firing = n.alerts.filter((a) => a.status === "firing");
  const resolved = n.alerts.length - firing.length;
  if (n.alerts.length === 1) return n.alerts[0]!.summary;
  const parts = [];
  if (firing.length > 0) parts.push(`${firing.length} alert${firing.length === 1 ? "" : "s"} firing`);
  if (resolved > 0) parts.push(`${resolved} resolved`);
  return `KissBot: ${parts.join(", ")}`;
}

/**
 * A digest's table lines, escaped, within `budget` characters (a newline after each): whole lines
 * only, the rest counted in a last line.
 */
function wholeLines(table: readonly string[], budget: number, esc: (s: string) => string = (x) => x): string[] {
  const lines: string[] = [];
  let size = 0;
  for (const [i, raw] of table.entries()) {
    const l = esc(raw);
    const more = `… and ${table.length - i} more lines`;
    if (size + l.length + 1 + more.length + 1 > budget) {
      lines.push(more);
      break;
    }
    lines.push(l);
    size += l.length + 1;
  }
  return lines;
}

/** A digest's table in a code block, within `max` characters. */
function digestBlock(d: NonNullable<Notice["digest"]>, max: number): string {
  return `\`\`\`\n${wholeLines(d.table, max - 8).join("\n")}\n\`\`\``;
}

function discord(n: Notice): unknown {
  if (n.digest !== undefined) {
    return { content: clip(n.digest.title, 2000), embeds: [{ title: clip(n.digest.title, 256), description: digestBlock(n.digest, DESCRIPTION_CHARS), url: `${n.publicUrl}/`, color: COLOURS.test, footer: { text: clip(n.digest.note, 2048) } }], allowed_mentions: { parse: [] } };
  }
  const shown = n.alerts.length <= DISCORD_EMBEDS ? n.alerts : n.alerts.slice(0, DISCORD_EMBEDS - 1);
  const embeds: unknown[] = shown.map((a) => ({
    title: clip(`${a.status === "resolved" ? "✅" : "🔴"} ${a.summary}`, 256),
    description: clip(a.description, DESCRIPTION_CHARS),
    url: linkOf(a, n.publicUrl),
    color: colourOf(a),
    fields: [
      { name: "Channel", value: clip(a.channel, 1024), inline: true },
      { name: "State", value: a.status === "resolved" ? "resolved" : (a.labels["state"] ?? a.name), inline: true },
      { name: "Since", value: `<t:${Math.floor(a.startsAt / 1000)}:R>`, inline: true },
    ],
    timestamp: new Date(a.endsAt ?? a.startsAt).toISOString(),
  }));
  const rest = n.alerts.slice(shown.length);
  if (rest.length > 0) {
    embeds.push({
      title: `and ${rest.length} more`,
      description: clip(rest.map((a) => `${a.status === "resolved" ? "✅" : "🔴"} ${a.summary}`).join("\n"), DESCRIPTION_CHARS),
      url: `${n.publicUrl}/`,
      color: colourOf(rest[0]!),
    });
  }
  // No @everyone or role pings from a channel name: mentions are off.
  return { content: clip(headline(n), 2000), embeds, allowed_mentions: { parse: [] } };
}

function slack(n: Notice): unknown {
  if (n.digest !== undefined) return { text: `${n.digest.title}\n${digestBlock(n.digest, 39_000)}\n${n.digest.note}` };
  const hex = (c: number) => `#${c.toString(16).padStart(6, "0")}`;
  return {
    text: headline(n),
    attachments: n.alerts.map((a) => ({
      color: hex(colourOf(a)),
      title: a.summary,
      title_link: linkOf(a, n.publicUrl),
      text: a.description,
      fields: [
        { title: "Channel", value: a.channel, short: true },
        { title: "State", value: a.status === "resolved" ? "resolved" : (a.labels["state"] ?? a.name), short: true },
      ],
      ts: Math.floor((a.endsAt ?? a.startsAt) / 1000),
    })),
  };
}

/** Alertmanager's "zero" time, which it sends as endsAt of an alert still firing. */
const NEVER = "0001-01-01T00:00:00Z";

function labelsOf(a: Alert): Record<string, string> {
  return { alertname: a.name, channel: a.channel, severity: a.severity, ...a.labels };
}

function fingerprint(labels: Record<string, string>): string {
  const h = createHash("sha256");
  for (const k of Object.keys(labels).sort()) h.update(`${k}\u0000${labels[k]}\u0000`);
  return h.digest("hex").slice(0, 16);
}

/** The labels every alert of the notice shares. */
function common(all: Record<string, string>[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const first = all[0] ?? {};
  for (const [k, v] of Object.entries(first)) if (all.every((l) => l[k] === v)) out[k] = v;
  return out;
}

/** Alertmanager's webhook payload, version 4: any receiver written for Alertmanager reads it. */
function webhook(n: Notice): unknown {
  if (n.digest !== undefined) {
    // One informational alert, resolved at once, so that a receiver written for Alertmanager files it without paging.
    const at = new Date().toISOString();
    const labels = { alertname: "KissBotDigest", severity: "none" };
    return {
      version: "4",
      groupKey: `{}:{bridge="kissbot-bridge"}`,
      truncatedAlerts: 0,
      status: "resolved",
      receiver: "kissbot-bridge",
      groupLabels: {},
      commonLabels: labels,
      commonAnnotations: { summary: n.digest.title },
      externalURL: n.publicUrl,
      alerts: [{ status: "resolved", labels, annotations: { summary: n.digest.title, description: `${n.digest.table.join("\n")}\n\n${n.digest.note}` }, startsAt: at, endsAt: at, generatorURL: `${n.publicUrl}/`, fingerprint: fingerprint(labels) }],
    };
  }
  const labels = n.alerts.map(labelsOf);
  const firing = n.alerts.some((a) => a.status === "firing");
  return {
    version: "4",
    groupKey: `{}:{bridge="kissbot-bridge"}`,
    truncatedAlerts: 0,
    status: firing ? "firing" : "resolved",
    receiver: "kissbot-bridge",
    groupLabels: {},
    commonLabels: common(labels),
    commonAnnotations: {},
    externalURL: n.publicUrl,
    alerts: n.alerts.map((a, i) => ({
      status: a.status,
      labels: labels[i],
      annotations: { summary: a.summary, description: a.description, runbook_url: `${n.publicUrl}/runbook#${a.name.toLowerCase()}` },
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: a.endsAt === null ? NEVER : new Date(a.endsAt).toISOString(),
      generatorURL: linkOf(a, n.publicUrl),
      fingerprint: fingerprint(labels[i]!),
    })),
  };
}

const icon = (a: Alert) => (a.status === "resolved" ? "✅" : "🔴");

/**
 * A notice as plain text within `max` characters, for the kinds that take text: each alert's
 * summary, facts and link; alerts that do not fit are counted in a last line, "… and N more".
 * `esc` escapes text for the kind's markup (bot names are text, never markup).
 */
function textOf(n: Notice, max: number, esc: (s: string) => string = (x) => x): string {
  if (n.digest !== undefined) {
    const title = esc(n.digest.title);
    const note = esc(n.digest.note);
    return clipEscaped([title, ...wholeLines(n.digest.table, max - title.length - note.length - 2, esc), note].join("\n"), max);
  }
  const blocks: string[] = [];
  let size = 0;
  for (const [i, a] of n.alerts.entries()) {
    const block = `${icon(a)} ${esc(a.summary)}\n${esc(a.description)}\n${esc(linkOf(a, n.publicUrl))}`;
    const more = `… and ${n.alerts.length - i} more: ${n.publicUrl}/`;
    const last = i === n.alerts.length - 1;
    if (size + block.length + (last ? 0 : more.length + 2) > max && blocks.length > 0) {
      blocks.push(esc(more));
      break;
    }
    blocks.push(clipEscaped(block, max - size - (last ? 0 : more.length + 2)));
    size += block.length + 2;
  }
  return blocks.join("\n\n");
}

const titleOf = (n: Notice) => (n.digest !== undefined ? n.digest.title : headline(n));
const firing = (n: Notice) => n.digest === undefined && n.alerts.some((a) => a.status === "firing");

/** Telegram Bot API sendMessage (chat_id is added at send time): HTML, text escaped, 4,096 characters. */
const TELEGRAM_CHARS = 4096;
const html = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
function telegram(n: Notice): unknown {
  const title = `<b>${clipEscaped(html(titleOf(n)), 512)}</b>\n\n`;
  const body = n.digest !== undefined ? `<pre>${textOf({ ...n, digest: { ...n.digest, title: "", note: "" } }, TELEGRAM_CHARS - title.length - 200, html).trim()}</pre>\n${html(clip(n.digest.note, 150))}` : textOf(n, TELEGRAM_CHARS - title.length, html);
  return { text: title + body, parse_mode: "HTML", link_preview_options: { is_disabled: true } };
}

/** ntfy's JSON publishing (the topic is added at send time): a title, plain text, a priority, tags, a click. */
function ntfy(n: Notice): unknown {
  return {
    title: clip(titleOf(n), 250),
    message: textOf(n, 4000),
    priority: firing(n) ? 4 : 3,
    tags: [n.digest !== undefined ? "bar_chart" : firing(n) ? "rotating_light" : "white_check_mark"],
    click: n.digest !== undefined || n.alerts.length !== 1 ? `${n.publicUrl}/` : linkOf(n.alerts[0]!, n.publicUrl),
  };
}

/** Gotify's message API: plain text (its markdown display is not asked for), priority 8 for trouble. */
function gotify(n: Notice): unknown {
  return { title: clip(titleOf(n), 250), message: textOf(n, 4000), priority: firing(n) ? 8 : 4, extras: { "client::display": { contentType: "text/plain" } } };
}

/** Pushover (user and token are added at send time): a message is 1,024 characters at most, plain text. */
function pushover(n: Notice): unknown {
  return { title: clip(titleOf(n), 250), message: textOf(n, 1024), priority: firing(n) ? 1 : 0, url: `${n.publicUrl}/`, url_title: "Status page", html: 0 };
}

/** The TextRun properties used here (Adaptive Cards 1.4). */
interface TextRunStyle {
  weight?: "Bolder";
  size?: "Medium";
  color?: "Good" | "Attention";
  isSubtle?: boolean;
  fontType?: "Monospace";
}

/**
 * A Teams Workflows webhook: an Adaptive Card. Text from bots goes in TextRuns, which Teams never
 * reads as markdown; only our own titles are TextBlocks.
 */
function teams(n: Notice): unknown {
  const run = (text: string, style: TextRunStyle = {}) => ({ type: "RichTextBlock", inlines: [{ type: "TextRun", text: clip(text, 2000), ...style }] });
  const body: unknown[] = [{ type: "TextBlock", text: "KissBot", size: "Small", isSubtle: true }, run(titleOf(n), { weight: "Bolder", size: "Medium" })];
  if (n.digest !== undefined) {
    body.push(run(n.digest.table.slice(0, 200).join("\n"), { fontType: "Monospace" }), run(n.digest.note, { isSubtle: true }));
  } else {
    const shown = n.alerts.slice(0, 20);
    for (const a of shown) body.push(run(`${icon(a)} ${a.summary}`, { weight: "Bolder", color: a.status === "resolved" ? "Good" : "Attention" }), run(a.description));
    if (n.alerts.length > shown.length) body.push(run(`… and ${n.alerts.length - shown.length} more`));
  }
  const url = n.digest === undefined && n.alerts.length === 1 ? linkOf(n.alerts[0]!, n.publicUrl) : `${n.publicUrl}/`;
  return {
    type: "message",
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: { $schema: "http://adaptivecards.io/schemas/adaptive-card.json", type: "AdaptiveCard", version: "1.4", body, actions: [{ type: "Action.OpenUrl", title: "Open the status page", url }] } }],
  };
}

/** An Apprise API server's /notify/KEY: title, plain-text body, and a type its services map to colours. */
function apprise(n: Notice): unknown {
  return { title: titleOf(n), body: textOf(n, 8000), type: n.digest !== undefined ? "info" : firing(n) ? "failure" : "success", format: "text" };
}

/** Matrix allows 65,536 bytes an event; each of the two texts stays far below. */
const MATRIX_CHARS = 12_000;

/**
 * A Matrix m.room.message: plain text and the same escaped as HTML. An empty m.mentions says it
 * mentions nobody, so an "@room" in a bot's name is never a ping (clients after spec 1.7).
 */
function matrix(n: Notice): unknown {
  const common = { msgtype: "m.text", format: "org.matrix.custom.html", "m.mentions": {} };
  // A digest's text begins with its title; its table keeps its columns in <pre>.
  if (n.digest !== undefined) return { ...common, body: textOf(n, MATRIX_CHARS), formatted_body: `<pre>${textOf(n, MATRIX_CHARS, html)}</pre>` };
  const title = titleOf(n);
  const formatted = `<strong>${html(title)}</strong><br><br>${textOf(n, MATRIX_CHARS, html).replaceAll("\n", "<br>")}`;
  return { ...common, body: `${title}\n\n${textOf(n, MATRIX_CHARS)}`, formatted_body: formatted };
}

/** An e-mail: a subject, plain text and HTML (text from bots escaped); the addresses come from the target. */
function email(n: Notice): unknown {
  const text = textOf(n, 100_000);
  const escaped = textOf(n, 100_000, html);
  const htmlBody = n.digest !== undefined ? `<pre>${escaped}</pre>` : escaped.split("\n\n").map((p) => `<p>${p.replaceAll("\n", "<br>")}</p>`).join("\n");
  return { subject: clip(titleOf(n), 200), text, html: `<!doctype html><html><body>${htmlBody}</body></html>` };
}

const FORMATS = new Map<NotifyKind, (n: Notice) => unknown>([
  ["discord", discord],
  ["slack", slack],
  ["webhook", webhook],
  ["teams", teams],
  ["apprise", apprise],
  ["telegram", telegram],
  ["ntfy", ntfy],
  ["gotify", gotify],
  ["pushover", pushover],
  ["matrix", matrix],
  ["email", email],
]);

/** The JSON body a target of `kind` is sent for a notice (e-mail's is read by send.ts, not sent as it is). */
export function render(kind: NotifyKind, n: Notice): string {
  return JSON.stringify(FORMATS.get(kind)!(n));
}
