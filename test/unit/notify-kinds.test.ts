import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTarget, parseTargets } from "../../src/notify/targets.js";
import { render } from "../../src/notify/formats.js";
import { retryAfterMs } from "../../src/notify/http-post.js";
import type { Alert, Notice } from "../../src/notify/alert.js";

const TOKEN = "123456789:AAsEcReT-bOt_ToKeN";

const alert = (channel: string, over: Partial<Alert> = {}): Alert => ({
  name: "KissBotDown",
  channel,
  severity: "critical",
  status: "firing",
  summary: `KissBot ${channel} is down.`,
  description: `${channel} is dead since 2026-12-07 10:00:00 UTC: process exited.`,
  startsAt: Date.UTC(2026, 11, 7, 10),
  endsAt: null,
  labels: { state: "dead" },
  reminder: false,
  ...over,
});
const notice = (...alerts: Alert[]): Notice => ({ alerts, publicUrl: "https://bots.example.org" });

test("Apprise URLs: each kind's endpoint, credentials where the provider reads them, and a name without any secret", () => {
  const [a, b] = parseTarget(`tgram://${TOKEN}/-100123/456`);
  assert.equal(a!.kind, "telegram");
  assert.equal(a!.url, `https://api.telegram.org/bot${TOKEN}/sendMessage`);
  assert.deepEqual([{ ...a!.fields }, { ...b!.fields }], [{ chat_id: "-100123" }, { chat_id: "456" }], "one target per chat");
  assert.notEqual(a!.id, b!.id);
  assert.equal(parseTarget(`tgram://${TOKEN}/42?api=http://127.0.0.1:8081`)[0]!.url, `http://127.0.0.1:8081/bot${TOKEN}/sendMessage`, "a self-hosted Bot API server");

  const sh = parseTarget("ntfy://kissbot-alerts-x7")[0]!;
  assert.deepEqual([sh.url, { ...sh.fields }, { ...sh.headers }], ["https://ntfy.sh/", { topic: "kissbot-alerts-x7" }, {}]);
  const own = parseTarget("ntfys://alice:s3cr%40t@ntfy.example.org/bots")[0]!;
  assert.deepEqual([own.url, { ...own.fields }, { ...own.headers }], ["https://ntfy.example.org/", { topic: "bots" }, { authorization: `Basic ${Buffer.from("alice:s3cr@t").toString("base64")}` }]);
  assert.deepEqual({ ...parseTarget("ntfy://tk_AbCdEf@10.0.0.5:8080/bots")[0]!.headers }, { authorization: "Bearer tk_AbCdEf" });
  assert.equal(parseTarget("ntfy://10.0.0.5:8080/bots")[0]!.url, "http://10.0.0.5:8080/");

  const g = parseTarget("gotifys://push.example.org/gotify/AppT0ken")[0]!;
  assert.deepEqual([g.url, { ...g.headers }], ["https://push.example.org/gotify/message", { "x-gotify-key": "AppT0ken" }]);
  const p = parseTarget("pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi")[0]!;
  assert.deepEqual([p.url, { ...p.fields }], ["https://api.pushover.net/1/messages.json", { user: "uQiRzpo4DXghDmr9QzzfQu27cmVRsG", token: "azGDORePK8gMaC0QOYAMyEEuzJnyUi" }]);
  assert.equal(parseTarget("teams=https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=SiG")[0]!.kind, "teams");
  assert.equal(parseTarget("apprise=http://apprise.lan:8000/notify/kissbot")[0]!.kind, "apprise");

  const all = parseTargets(`tgram://${TOKEN}/1,ntfys://alice:pw@ntfy.example.org/bots,gotify://h/AppT0ken,pover://uKey@aTok,teams=https://x.example/wf?sig=SiG`);
  for (const t of all) {
    for (const secret of [TOKEN, "AAsEcReT", "pw", "AppT0ken", "uKey", "aTok", "SiG", "bots"]) assert.ok(!t.name.includes(secret), `${t.name} shows no secret (${secret})`);
    assert.ok(!t.id.includes("AppT0ken") && !t.id.includes(TOKEN));
  }
  assert.deepEqual(all.map((t) => t.name), ["telegram https://api.telegram.org/…", "ntfy https://ntfy.example.org/…", "gotify http://h/…", "pushover https://api.pushover.net/…", "teams https://x.example/…"]);
});

test("Matrix and e-mail URLs: the homeserver and room, SMTP host, port and TLS as Apprise reads them; no secret in the name", () => {
  const m = parseTarget("matrixs://syt_SeCrEt@matrix.example.org/#ops")[0]!;
  assert.deepEqual([m.kind, m.url, { ...m.headers }, { ...m.fields }, m.name], ["matrix", "https://matrix.example.org/", { authorization: "Bearer syt_SeCrEt" }, { room: "#ops:matrix.example.org" }, "matrix https://matrix.example.org/…"]);
  assert.equal(parseTarget("matrix://t@10.0.0.5:8008/!AbC:example.org")[0]!.fields["room"], "!AbC:example.org", "a room id as given");
  assert.equal(parseTarget("matrixs://t@matrix.example.org/%23ops:example.org")[0]!.fields["room"], "#ops:example.org", "an alias on another server, the # encoded");

  const starttls = parseTarget("mailtos://bot%40example.org:pA55@smtp.example.org?to=ops@example.org,oncall@example.org")[0]!;
  assert.deepEqual([starttls.url, starttls.fields["tls"], starttls.fields["user"], starttls.fields["from"], starttls.fields["to"]], ["smtp://smtp.example.org:587", "starttls", "bot@example.org", "bot@example.org", "ops@example.org,oncall@example.org"]);
  assert.deepEqual([parseTarget("mailtos://u:p@smtp.example.org:465?to=a@b")[0]!.url, parseTarget("mailtos://u:p@smtp.example.org:465?to=a@b")[0]!.fields["tls"]], ["smtps://smtp.example.org:465", "implicit"]);
  assert.equal(parseTarget("mailtos://u:p@example.org?smtp=mail.example.org&mode=ssl&to=a@b")[0]!.url, "smtps://mail.example.org:465");
  const plain = parseTarget("mailto://relay.lan?from=bots@example.org&name=KissBot")[0]!;
  assert.deepEqual([plain.url, plain.fields["tls"], plain.fields["from"], plain.fields["to"], plain.fields["user"]], ["smtp://relay.lan:25", "opportunistic", '"KissBot" <bots@example.org>', "bots@example.org", undefined]);
  assert.equal(starttls.name, "email smtp://smtp.example.org:587/…");
  assert.throws(() => parseTarget("mailtos://u:pA55@h?too=x@y"), (e: Error) => /unknown parameter "too"/.test(e.message) && !e.message.includes("pA55"));
  assert.throws(() => parseTarget("mailto://relay.lan"), /from=ADDRESS/);
  assert.throws(() => parseTarget("matrixs://syt_SeCrEt@matrix.example.org"), (e: Error) => /matrix\[s\]:\/\/ACCESS_TOKEN@host\/#room/.test(e.message) && !e.message.includes("syt_SeCrEt"));
});

test("a bad Apprise URL is refused with the form expected, never echoing the secret", () => {
  for (const [spec, words] of [
    [`tgram://${TOKEN}`, /tgram:\/\/BOT_TOKEN\/CHAT_ID/],
    ["gotify://host-only", /gotify\[s\]:\/\/host\/APP_TOKEN/],
    ["pover://no-at-sign", /pover:\/\/USER_KEY@APP_TOKEN/],
    ["matrixx://tok@host/room", /KIND one of discord, slack, webhook, teams, apprise, or a URL tgram:\/\//],
    ["telegram=https://api.telegram.org/botX/sendMessage", /KIND one of/],
  ] as const) {
    assert.throws(() => parseTarget(spec), (err: Error) => words.test(err.message) && !err.message.includes(TOKEN) && !err.message.includes("host-only"), spec);
  }
});

test("a discord, slack or webhook target keeps the id it had before other kinds existed: messages a restart left waiting still find it", () => {
  assert.equal(parseTarget("discord=https://discord.com/api/webhooks/1/abc")[0]!.id, "discord:d456b56c5b352f78");
});

test("text from bots is text in every kind: escaped for Telegram's HTML, a TextRun (never markdown) in a Teams card, no mention anywhere", () => {
  const hostile = alert("<b>x</b>&co", { summary: "KissBot <b>x</b>&co is down.", description: "**bold** _it_ [link](http://evil) @everyone <script>" });
  const tg = JSON.parse(render("telegram", notice(hostile))) as { text: string; parse_mode: string };
  assert.equal(tg.parse_mode, "HTML");
  assert.ok(tg.text.includes("&lt;b&gt;x&lt;/b&gt;&amp;co"), tg.text);
  assert.ok(!tg.text.includes("<script>") && !/<b>x<\/b>/.test(tg.text));
  assert.ok(tg.text.startsWith("<b>KissBot &lt;b&gt;x&lt;/b&gt;&amp;co is down.</b>"), "our own title is the only markup");

  const card = JSON.parse(render("teams", notice(hostile))) as { attachments: { content: { body: { type: string; text?: string; inlines?: { type: string; text: string }[] }[] } }[] };
  const blocks = card.attachments[0]!.content.body;
  const bodyText = JSON.stringify(blocks);
  assert.ok(bodyText.includes("**bold**"), "kept as written");
  for (const b of blocks) if (b.type === "TextBlock") assert.ok(!/bold|evil|<b>/.test(b.text ?? ""), `bot text is never in a TextBlock (markdown): ${b.text}`);
  assert.ok(blocks.some((b) => b.inlines?.some((i) => i.type === "TextRun" && i.text.includes("[link](http://evil)"))));

  for (const kind of ["ntfy", "gotify", "pushover", "apprise"] as const) {
    const body = JSON.parse(render(kind, notice(hostile))) as Record<string, unknown>;
    assert.ok(JSON.stringify(body).includes("**bold** _it_ [link](http://evil) @everyone <script>"), `${kind}: plain text, as sent`);
  }
  assert.equal((JSON.parse(render("gotify", notice(hostile))) as { extras: Record<string, { contentType: string }> }).extras["client::display"]!.contentType, "text/plain");
  assert.equal((JSON.parse(render("apprise", notice(hostile))) as { format: string }).format, "text");
  assert.equal((JSON.parse(render("pushover", notice(hostile))) as { html: number }).html, 0);

  const mx = JSON.parse(render("matrix", notice(hostile))) as { body: string; formatted_body: string; "m.mentions": object };
  assert.ok(mx.body.includes("**bold** _it_ [link](http://evil) @everyone <script>"), "the plain body as sent");
  assert.ok(mx.formatted_body.includes("&lt;b&gt;x&lt;/b&gt;&amp;co") && !mx.formatted_body.includes("<script>") && !/<b>x<\/b>/.test(mx.formatted_body), mx.formatted_body);
  assert.deepEqual(mx["m.mentions"], {}, "mentions nobody: no @room ping from a bot's text");
  const mail = JSON.parse(render("email", notice(hostile))) as { subject: string; text: string; html: string };
  assert.equal(mail.subject, "KissBot <b>x</b>&co is down.", "a subject is text");
  assert.ok(mail.text.includes("@everyone <script>"));
  assert.ok(mail.html.includes("&lt;script&gt;") && !mail.html.includes("<script>") && !/<b>x<\/b>/.test(mail.html), mail.html);
});

test("each kind's size limit holds for a group of 300 alerts, which ends with how many more there were", () => {
  const many = notice(...Array.from({ length: 300 }, (_, i) => alert(`channel_${String(i).padStart(3, "0")}_${"x".repeat(20)}`)));
  const limits = [
    ["telegram", (b: { text: string }) => b.text, 4096],
    ["pushover", (b: { message: string }) => b.message, 1024],
    ["ntfy", (b: { message: string }) => b.message, 4096],
    ["gotify", (b: { message: string }) => b.message, 4096],
    ["matrix", (b: { formatted_body: string }) => b.formatted_body, 16_000],
  ] as const;
  for (const [kind, textOf, max] of limits) {
    const text = (textOf as (b: unknown) => string)(JSON.parse(render(kind, many)));
    assert.ok(text.length <= max, `${kind}: ${text.length} > ${max}`);
    const m = /… and (\d+) more/.exec(text);
    assert.ok(m !== null, `${kind} says how many more`);
    const shown = (text.match(/🔴/g) ?? []).length;
    assert.equal(shown + Number(m![1]), 300, `${kind}: ${shown} shown + ${m![1]} more`);
  }
  const card = JSON.parse(render("teams", many)) as { attachments: { content: { body: unknown[] } }[] };
  assert.ok(JSON.stringify(card).length < 28_000, "a Teams card stays under its 28 KB");
  assert.match(JSON.stringify(card), /… and 280 more/);
  // An entity is never cut in two, however the cut falls.
  for (let n = 1; n < 40; n++) {
    const tg = (JSON.parse(render("telegram", notice(alert("a".repeat(n) + "&".repeat(3000))))) as { text: string }).text;
    assert.ok(!/&[a-z]*…/.test(tg), `cut at ${n}: …${tg.slice(-12)}`);
    assert.ok(tg.length <= 4096, `${tg.length} characters`);
  }
});

test("priorities and types follow the news: trouble is high (ntfy 4, Gotify 8, Pushover 1, Apprise failure), a return is not", () => {
  const down = notice(alert("a"));
  const back = notice(alert("a", { status: "resolved", summary: "KissBot a is back.", endsAt: Date.UTC(2026, 11, 7, 11) }));
  const field = (kind: "ntfy" | "gotify" | "pushover" | "apprise", n: Notice, k: string) => (JSON.parse(render(kind, n)) as Record<string, unknown>)[k];
  assert.deepEqual([field("ntfy", down, "priority"), field("ntfy", back, "priority")], [4, 3]);
  assert.deepEqual([field("ntfy", down, "tags"), field("ntfy", back, "tags")], [["rotating_light"], ["white_check_mark"]]);
  assert.equal(field("ntfy", down, "click"), "https://bots.example.org/bot/a");
  assert.deepEqual([field("gotify", down, "priority"), field("gotify", back, "priority")], [8, 4]);
  assert.deepEqual([field("pushover", down, "priority"), field("pushover", back, "priority")], [1, 0]);
  assert.deepEqual([field("apprise", down, "type"), field("apprise", back, "type")], ["failure", "success"]);
});

test("rate-limit answers as each provider gives them: Retry-After, Discord's retry_after, Telegram's parameters.retry_after, Matrix's retry_after_ms", () => {
  assert.equal(retryAfterMs(null, '{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}', 0), 7000);
  assert.equal(retryAfterMs(null, '{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":2500}', 0), 2500);
  assert.equal(retryAfterMs("3", '{"parameters":{"retry_after":7}}', 0), 3000, "the header first");
  assert.equal(retryAfterMs(null, '{"parameters":{"retry_after":-1}}', 0), null);
});
