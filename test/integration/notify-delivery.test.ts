import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { startBridgeProcess, until } from "../helpers/bridge-process.js";
import { allOnline, liveBot, SCALED, SECRET, sleep, titles } from "../helpers/notify-settings.js";
import { ChatReceiver } from "../helpers/chat-receiver.js";
import { runCli } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";


test("a 429 delays a message without losing it, a 500 is retried; each counted, the last error on the status page", async (t) => {
  const chat = await new ChatReceiver().start();
  t.after(() => chat.stop());
  const bridge = await startBridgeProcess([...SCALED, "--notify", `discord=${chat.url("/d")}`]);
  t.after(() => bridge.stop());
  const bot = await liveBot("doomed", bridge.socket);
  t.after(() => bot.kill());
  await allOnline(bridge, ["doomed"]);
  // Discord's answer to a flood: 429 with retry_after in its JSON body (seconds).
  chat.answer({ status: 429, body: JSON.stringify({ message: "You are being rate limited.", retry_after: 1.5, global: false }) }, { status: 500, body: "upstream broke" });
  await bot.kill();
  const [message] = await chat.waitDelivered("/d", 1);
  const tries = chat.received.filter((r) => r.path === "/d");
  assert.deepEqual(tries.map((r) => r.status), [429, 500, 204]);
  assert.ok(tries[1]!.at - tries[0]!.at >= 1400, `waited as asked after the 429 (${tries[1]!.at - tries[0]!.at} ms)`);
  assert.deepEqual(titles(message!), ["🔴 KissBot doomed is down."]);
  const s = await until(bridge, "the attempts counted", (x) => x.get("kissbot_bridge_notifications_total", { kind: "discord", outcome: "sent" }) === 1);
  assert.equal(s.get("kissbot_bridge_notifications_total", { kind: "discord", outcome: "rate_limited" }), 1);
  assert.equal(s.get("kissbot_bridge_notifications_total", { kind: "discord", outcome: "failed" }), 1);
  assert.equal(s.get("kissbot_bridge_notifications_queued", {}), 0);
  const overview = (await (await fetch(`${bridge.url}/api/v1/overview`)).json()) as { bridge: { notifications: { targets: { last_error: { message: string } | null }[] } } };
  assert.match(overview.bridge.notifications.targets[0]!.last_error!.message, /^500 upstream broke/);
});

test("`notify test` sends one message to every target and prints what each answered; KISSBOT_NOTIFY works the same; a bad target is named without its URL", async (t) => {
  const chat = await new ChatReceiver().start();
  t.after(() => chat.stop());
  chat.answer({ status: 204 }, { status: 404, body: '{"message": "Unknown Webhook", "code": 10015}' });
  const r = await runCli(["notify", "test", "--notify", `discord=${chat.url(`/discord/${SECRET}`)}`, "--notify", `slack=${chat.url("/gone")}`]);
  assert.equal(r.code, 1, "one target failed");
  assert.match(r.stdout, /^ok {3}discord http:\/\/127\.0\.0\.1:\d+\/…: HTTP 204\nFAIL slack http:\/\/127\.0\.0\.1:\d+\/…: HTTP 404 \{"message": "Unknown Webhook", "code": 10015\}\n$/);
  assert.ok(!r.stdout.includes("sEcReT"));
  assert.equal(chat.received[0]!.body.embeds[0].title, "🔴 Test message from kissbot-bridge");
  const fromEnv = await runCli(["notify", "test"], { ...process.env, KISSBOT_NOTIFY: `webhook=${chat.url("/hook")}` });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assert.equal(chat.received.at(-1)!.body.version, "4");
  const none = await runCli(["notify", "test"], { ...process.env, KISSBOT_NOTIFY: "" });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no target/);
  const bad = await startBridgeProcess(["--notify", "matrix=https://example.org/sEcReT"]).catch((err: Error) => err);
  assert.ok(bad instanceof Error);
  assert.match(bad.message, /invalid --notify: expected KIND=URL with KIND one of discord, slack, webhook, teams, apprise, or a URL tgram:\/\//);
  assert.ok(!bad.message.includes("sEcReT"));
});

test("a target that never answers holds up nothing: ingest and /metrics go on while its request waits out its time limit", async (t) => {
  // Accepts connections and never answers: a hung chat server.
  const { createServer } = await import("node:net");
  const held: import("node:net").Socket[] = [];
  const silent = createServer((s) => held.push(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const s of held) s.destroy();
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const bridge = await startBridgeProcess([...SCALED, "--notify", `discord=http://127.0.0.1:${port}/hang`]);
  t.after(() => bridge.stop());
  const bot = await liveBot("victim", bridge.socket);
  const witness = await liveBot("witness", bridge.socket);
  t.after(async () => {
    await bot.kill();
    await witness.kill();
  });
  await allOnline(bridge, ["victim", "witness"]);
  await bot.kill();
  await waitFor("the request hanging", () => (held.length > 0 ? true : undefined), 10_000);
  for (let i = 0; i < 20; i++) await witness.send("llm gpt-4o ask 10 5 100");
  const s = await until(bridge, "the witness's calls counted while the request hangs", (x) => x.sum("kissbot_llm_requests_total") === 20, 3000);
  assert.equal(s.get("kissbot_bridge_notifications_queued", {}), 1, "the message waits, it is not lost");
  assert.equal(s.get("kissbot_bridge_notifications_total", { kind: "discord", outcome: "sent" }), 0);
});

test("spend alerts as messages: a channel over its daily budget is told once, with the figures; more spending the same day says nothing more", async (t) => {
  const chat = await new ChatReceiver().start();
  t.after(() => chat.stop());
  const dir = mkdtempSync(join(tmpdir(), "kb-spend-notify-"));
  const budgets = join(dir, "budgets.yaml");
  writeFileSync(budgets, "default: { daily_usd: 0.50 }\n");
  const bridge = await startBridgeProcess([...SCALED, "--budgets", budgets, "--notify", `discord=${chat.url("/d")}`], { dir });
  t.after(() => bridge.stop());
  const bot = await liveBot("spender", bridge.socket);
  t.after(() => bot.kill());
  await bot.send('raw {"type":"llm_usage","channel":"spender","model":"gpt-4o","feature":"ask","tokens_in":10,"tokens_out":5,"estimated_cost":0.40}');
  await bot.send('raw {"type":"llm_usage","channel":"spender","model":"gpt-4o","feature":"ask","tokens_in":10,"tokens_out":5,"estimated_cost":0.25}');
  const [message] = await chat.waitDelivered("/d", 1, 20_000);
  assert.deepEqual(titles(message!), ["🔴 KissBot spender has exceeded its LLM budget for the day."]);
  assert.match(message!.body.embeds[0].description, /has spent 0\.65 USD on LLM calls this day, more than its budget of 0\.50 USD/);
  await bot.send('raw {"type":"llm_usage","channel":"spender","model":"gpt-4o","feature":"ask","tokens_in":10,"tokens_out":5,"estimated_cost":1.00}');
  await sleep(7000); // past the next spend read (5 s) and check
  assert.equal(chat.delivered("/d").length, 1, "once per period");
});

test("Telegram, ntfy, Gotify, Teams, Apprise and Pushover each get a killed bot's message in their own form, and its return; Telegram's 429 waits as its parameters.retry_after says, Pushover's 429 and Gotify's 500 are retried; no token shows where a person or a scraper reads (issue 35)", async (t) => {
  const chat = await new ChatReceiver().start();
  t.after(() => chat.stop());
  const host = new URL(chat.url("/")).host;
  const secrets = { telegram: "999:tElEgRaM-sEcReT", ntfy: "nTfY-pAsS", gotify: "GoTiFy-ToKeN", teams: "TeAmS-sIg", topic: "kb-tOpIc", poverUser: "uPoVeRuSeR", poverToken: "aPoVeRtOkEn" };
  const tgPath = `/tg/bot${secrets.telegram}/sendMessage`;
  const targets = [
    "--notify", `tgram://${secrets.telegram}/-1001/-1002?api=http://${host}/tg`,
    "--notify", `ntfy://alice:${secrets.ntfy}@${host}/${secrets.topic}`,
    "--notify", `gotify://${host}/gotify/${secrets.gotify}`,
    "--notify", `teams=${chat.url(`/teams?sig=${secrets.teams}`)}`,
    "--notify", `apprise=${chat.url("/notify/kissbot")}`,
    "--notify", `pover://${secrets.poverUser}@${secrets.poverToken}?api=http://${host}/pushover`,
  ];
  const bridge = await startBridgeProcess([...SCALED, ...targets]);
  t.after(() => bridge.stop());
  const bot = await liveBot("victim", bridge.socket);
  t.after(() => bot.kill());
  await allOnline(bridge, ["victim"]);
  // Telegram's flood answer: no Retry-After header, the wait in the body.
  // Pushover's answer to an application over its limit: a 429 with no retry field; Gotify fails once.
  chat.answerOn("/pushover/1/messages.json", { status: 429, body: '{"status":0,"errors":["application has exceeded its message limit"]}' });
  chat.answerOn("/gotify/message", { status: 500, body: '{"error":"Internal Server Error","errorCode":500}' });
  chat.answerOn(tgPath, { status: 429, body: JSON.stringify({ ok: false, error_code: 429, description: "Too Many Requests: retry after 1", parameters: { retry_after: 1 } }) });
  await bot.kill();

  const telegram = await chat.waitDelivered(tgPath, 2);
  assert.deepEqual(telegram.map((r) => r.body.chat_id).sort(), ["-1001", "-1002"], "one message per chat");
  for (const r of telegram) {
    assert.equal(r.body.parse_mode, "HTML");
    assert.match(r.body.text, /^<b>KissBot victim is down\.<\/b>\n\n🔴 KissBot victim is down\.\nBot victim \(PID \d+\) is dead since .*\nhttp:\/\/127\.0\.0\.1:\d+\/bot\/victim$/);
  }
  const tries = chat.received.filter((r) => r.path === tgPath);
  const first429 = tries.find((r) => r.status === 429)!;
  const retried = tries.find((r) => r.status < 300 && r.body.chat_id === first429.body.chat_id)!;
  assert.ok(retried.at - first429.at >= 950, `waited ${retried.at - first429.at} ms of the 1 s asked`);

  const [ntfy] = await chat.waitDelivered("/", 1);
  assert.equal(ntfy!.body.topic, secrets.topic);
  assert.equal(ntfy!.headers["authorization"], `Basic ${Buffer.from(`alice:${secrets.ntfy}`).toString("base64")}`);
  assert.deepEqual([ntfy!.body.title, ntfy!.body.priority, ntfy!.body.tags], ["KissBot victim is down.", 4, ["rotating_light"]]);
  const [gotify] = await chat.waitDelivered("/gotify/message", 1);
  assert.equal(gotify!.headers["x-gotify-key"], secrets.gotify);
  assert.equal(gotify!.body.priority, 8);
  const [teams] = await chat.waitDelivered(`/teams?sig=${secrets.teams}`, 1);
  assert.equal(teams!.body.attachments[0].contentType, "application/vnd.microsoft.card.adaptive");
  assert.match(JSON.stringify(teams!.body), /KissBot victim is down\./);
  const [pushover] = await chat.waitDelivered("/pushover/1/messages.json", 1);
  assert.deepEqual([pushover!.body.user, pushover!.body.token, pushover!.body.priority, pushover!.body.html], [secrets.poverUser, secrets.poverToken, 1, 0]);
  const [apprise] = await chat.waitDelivered("/notify/kissbot", 1);
  assert.deepEqual([apprise!.body.title, apprise!.body.type, apprise!.body.format], ["KissBot victim is down.", "failure", "text"]);

  const s = await until(bridge, "every attempt counted", (x) => x.get("kissbot_bridge_notifications_total", { kind: "telegram", outcome: "sent" }) === 2);
  assert.equal(s.get("kissbot_bridge_notifications_total", { kind: "telegram", outcome: "rate_limited" }), 1);
  assert.equal(s.get("kissbot_bridge_notifications_total", { kind: "pushover", outcome: "rate_limited" }), 1);
  assert.equal(s.get("kissbot_bridge_notifications_total", { kind: "gotify", outcome: "failed" }), 1);
  for (const kind of ["ntfy", "gotify", "teams", "apprise", "pushover"]) assert.equal(s.get("kissbot_bridge_notifications_total", { kind, outcome: "sent" }), 1, kind);
  const overview = await (await fetch(`${bridge.url}/api/v1/overview`)).text();
  const metrics = (await bridge.scrape()).body;
  const saved = readFileSync(join(bridge.dir, "kissbot_monitor.db")).toString("latin1") + (existsSync(join(bridge.dir, "kissbot_monitor.db-wal")) ? readFileSync(join(bridge.dir, "kissbot_monitor.db-wal")).toString("latin1") : "");
  for (const [where, text] of [["logs", JSON.stringify(bridge.logs)], ["/metrics", metrics], ["the status page", overview], ["the database", saved]] as const) {
    for (const secret of Object.values(secrets)) assert.ok(!text.includes(secret), `${secret} is not in ${where}`);
  }
  assert.match(overview, /telegram http:\/\/127\.0\.0\.1:\d+\/…/);

  // Its return resolves it everywhere, once.
  const back = await liveBot("victim", bridge.socket);
  t.after(() => back.kill());
  const resolved = [
    [tgPath, 2, (b: any) => b.text],
    ["/", 1, (b: any) => b.title],
    ["/gotify/message", 1, (b: any) => b.title],
    [`/teams?sig=${secrets.teams}`, 1, (b: any) => JSON.stringify(b)],
    ["/notify/kissbot", 1, (b: any) => `${b.title} ${b.type}`],
    ["/pushover/1/messages.json", 1, (b: any) => b.message],
  ] as const;
  const backs = (path: string, text: (b: any) => string) => chat.delivered(path).filter((m) => /KissBot victim is back\./.test(text(m.body)));
  for (const [path, count, text] of resolved) await waitFor(`the return at ${path}`, () => (backs(path, text).length >= count ? true : undefined), 15_000, 20);
  await sleep(1000);
  for (const [path, count, text] of resolved) assert.equal(backs(path, text).length, count, `${path}: once (per chat)`);
  assert.equal(chat.delivered("/notify/kissbot").at(-1)!.body.type, "success");

  const tried = await runCli(["notify", "test", ...targets]);
  assert.equal(tried.code, 0, tried.stdout + tried.stderr);
  assert.equal(tried.stdout.split("\n").filter((l) => /^ok {3}\w+ http:\/\/127\.0\.0\.1:\d+\/…: HTTP 20\d/.test(l)).length, 7, tried.stdout);
  for (const secret of Object.values(secrets)) assert.ok(!tried.stdout.includes(secret) && !tried.stderr.includes(secret), `${secret} is not in notify test's output`);
});
