import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { startBridgeProcess, until } from "../helpers/bridge-process.js";
import { allOnline, liveBot, SCALED } from "../helpers/notify-settings.js";
import { ChatReceiver } from "../helpers/chat-receiver.js";
import { MatrixServer } from "../helpers/matrix-server.js";
import { SmtpReceiver, selfSigned } from "../helpers/smtp-receiver.js";
import { runCli } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the bridge wrote to its database, WAL included, as text to search. */
function savedBytes(dir: string): string {
  const db = join(dir, "kissbot_monitor.db");
  return readFileSync(db).toString("latin1") + (existsSync(`${db}-wal`) ? readFileSync(`${db}-wal`).toString("latin1") : "");
}

test("Matrix and e-mail (STARTTLS and implicit TLS, with a login) each get a killed bot's message once, and its return; a lost answer and a 429 are retried with the same transaction; no secret shows (issue 35)", async (t) => {
  const secrets = { matrix: "syt_mAtRiX-sEcReT", smtp: "sMtP-pAsS-sEcReT" };
  const matrix = await new MatrixServer(secrets.matrix, new Map([["#ops:127.0.0.1", "!OpsRoom:127.0.0.1"]])).start();
  t.after(() => matrix.stop());
  const tls = selfSigned();
  const login = { user: "kissbot@example.org", pass: secrets.smtp };
  const starttls = await new SmtpReceiver(tls, login).start();
  const implicit = await new SmtpReceiver(tls, login, true).start();
  t.after(() => Promise.all([starttls.stop(), implicit.stop()]));
  const user = encodeURIComponent(login.user);
  // The homeserver takes the first event but its answer is lost, then asks for a wait.
  matrix.answer("lose-answer", { status: 429, body: { errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests", retry_after_ms: 700 } });
  starttls.reject(451, "4.3.0 Try again later");
  const bridge = await startBridgeProcess(
    [
      ...SCALED,
      "--notify", `matrix://${secrets.matrix}@${matrix.host}/#ops`,
      "--notify", `mailtos://${user}:${secrets.smtp}@127.0.0.1:${starttls.port}?to=ops@example.org,oncall@example.org`,
      "--notify", `mailtos://${user}:${secrets.smtp}@127.0.0.1:${implicit.port}?mode=ssl&to=ops@example.org&name=KissBot`,
    ],
    // The test's own certificate authority, as an owner's would be a public one.
    { env: { NODE_EXTRA_CA_CERTS: tls.certFile } },
  );
  t.after(() => bridge.stop());
  const bot = await liveBot("victim", bridge.socket);
  t.after(() => bot.kill());
  await allOnline(bridge, ["victim"]);
  await bot.kill();

  const [down] = await matrix.waitTimeline(1);
  assert.equal(down!.roomId, "!OpsRoom:127.0.0.1", "the alias resolved");
  assert.match(down!.body.body, /^KissBot victim is down\.\n\n🔴 KissBot victim is down\.\nBot victim \(PID \d+\) is dead since /);
  assert.match(down!.body.formatted_body, /^<strong>KissBot victim is down\.<\/strong><br><br>/);
  assert.deepEqual([down!.body.msgtype, down!.body.format, down!.body["m.mentions"]], ["m.text", "org.matrix.custom.html", {}]);
  await waitFor("the retries after the lost answer and the 429", () => (matrix.puts.filter((p) => p.status === 200).length >= 1 ? true : undefined), 15_000, 20);
  const tries = matrix.puts.slice(0, 3);
  assert.deepEqual(tries.map((p) => p.status), [500, 429, 200]);
  assert.equal(new Set(tries.map((p) => p.txnId)).size, 1, "one transaction id for every try: the message is in the room once");
  assert.ok(tries[2]!.at - tries[1]!.at >= 650, `waited ${tries[2]!.at - tries[1]!.at} ms of the 700 asked`);
  assert.equal(matrix.timeline.length, 1);

  const [mail] = await starttls.waitMails(1);
  assert.equal(mail!.secure, true, "upgraded with STARTTLS before the login");
  assert.equal(mail!.user, login.user);
  assert.deepEqual([mail!.from, mail!.to], ["kissbot@example.org", ["ops@example.org", "oncall@example.org"]]);
  assert.match(mail!.raw, /^Subject: KissBot victim is down\.\r?$/m);
  assert.match(mail!.raw, /Content-Type: multipart\/alternative/);
  assert.match(mail!.raw, /Content-Type: text\/html/);
  const [sealed] = await implicit.waitMails(1);
  assert.equal(sealed!.secure, true);
  assert.match(sealed!.raw, /^From: KissBot <kissbot@example\.org>\r?$/m);

  const back = await liveBot("victim", bridge.socket);
  t.after(() => back.kill());
  const events = await matrix.waitTimeline(2);
  assert.match(events[1]!.body.body, /^KissBot victim is back\./);
  assert.match((await starttls.waitMails(2))[1]!.raw, /^Subject: KissBot victim is back\.\r?$/m);
  assert.match((await implicit.waitMails(2))[1]!.raw, /^Subject: KissBot victim is back\.\r?$/m);
  await sleep(1500);
  assert.deepEqual([matrix.timeline.length, starttls.mails.length, implicit.mails.length], [2, 2, 2], "each message once");

  const s = await until(bridge, "every attempt counted", (x) => x.get("kissbot_bridge_notifications_total", { kind: "email", outcome: "sent" }) === 4);
  assert.deepEqual(["sent", "failed", "rate_limited"].map((outcome) => s.get("kissbot_bridge_notifications_total", { kind: "matrix", outcome })), [2, 1, 1]);
  assert.equal(s.get("kissbot_bridge_notifications_total", { kind: "email", outcome: "failed" }), 1, "the 451 was tried again");
  assert.equal(matrix.lookups.length, 1, "the alias is looked up once");
  const overview = await (await fetch(`${bridge.url}/api/v1/overview`)).text();
  const metrics = (await bridge.scrape()).body;
  for (const [where, text] of [["logs", JSON.stringify(bridge.logs)], ["/metrics", metrics], ["the status page", overview], ["the database", savedBytes(bridge.dir)]] as const) {
    for (const secret of Object.values(secrets)) assert.ok(!text.includes(secret), `${secret} is not in ${where}`);
  }
  assert.match(overview, /email smtp:\/\/127\.0\.0\.1:\d+\/…/);
  assert.match(overview, /matrix http:\/\/127\.0\.0\.1:\d+\/…/);

  const cli = await runCli(["notify", "test", "--notify", `mailtos://${user}:${secrets.smtp}@127.0.0.1:${starttls.port}?to=ops@example.org`, "--notify", `matrix://${secrets.matrix}@${matrix.host}/#ops`], { ...process.env, NODE_EXTRA_CA_CERTS: tls.certFile });
  assert.equal(cli.code, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /^ok {3}email smtp:\/\/127\.0\.0\.1:\d+\/…: 250 .*\nok {3}matrix http:\/\/127\.0\.0\.1:\d+\/…: HTTP 200 \{"event_id":"\$event2"\}\n$/);
  for (const secret of Object.values(secrets)) assert.ok(!cli.stdout.includes(secret) && !cli.stderr.includes(secret), `${secret} is not in notify test's output`);
  const wrong = await runCli(["notify", "test", "--notify", `mailtos://${user}:wrong-${secrets.smtp}@127.0.0.1:${starttls.port}?to=ops@example.org`], { ...process.env, NODE_EXTRA_CA_CERTS: tls.certFile });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /^FAIL email smtp:\/\/127\.0\.0\.1:\d+\/…: SMTP 535 /);
  assert.ok(!wrong.stdout.includes(secrets.smtp));
});

test("a routing file sends each channel's news to its own people and spend where spend is listed; SIGHUP with a broken file keeps the routes, a good one changes them; notify test --target sends to one (issue 35)", async (t) => {
  const chat = await new ChatReceiver().start();
  t.after(() => chat.stop());
  const dir = mkdtempSync(join(tmpdir(), "kb-routing-"));
  const routes = join(dir, "notify.yaml");
  const budgets = join(dir, "budgets.yaml");
  writeFileSync(budgets, "default: { daily_usd: 0.50 }\n");
  const file = (alphaPath: string) => `
- name: alpha-owner
  url: webhook=${chat.url(alphaPath)}
  channels: [alpha]
- name: beta-team
  url: webhook=${chat.url("/beta")}
  channels: ["beta_*"]
  events: [down]
- name: accounts
  url: webhook=${chat.url("/spend")}
  events: [spend]
`;
  writeFileSync(routes, file("/alpha"));
  const bridge = await startBridgeProcess([...SCALED, "--budgets", budgets, "--notify-config", routes], { dir });
  t.after(() => bridge.stop());
  const alpha = await liveBot("alpha", bridge.socket);
  const beta = await liveBot("beta_1", bridge.socket);
  t.after(() => Promise.all([alpha.kill(), beta.kill()]));
  await allOnline(bridge, ["alpha", "beta_1"]);

  await alpha.kill();
  const [alphaDown] = await chat.waitDelivered("/alpha", 1);
  assert.deepEqual(alphaDown!.body.alerts.map((a: { labels: { alertname: string; channel: string } }) => [a.labels.alertname, a.labels.channel]), [["KissBotDown", "alpha"]]);
  await beta.send('raw {"type":"llm_usage","channel":"beta_1","model":"gpt-4o","feature":"ask","tokens_in":10,"tokens_out":5,"estimated_cost":0.65}');
  const [spend] = await chat.waitDelivered("/spend", 1, 20_000);
  assert.deepEqual(spend!.body.alerts.map((a: { labels: { alertname: string; channel: string } }) => [a.labels.alertname, a.labels.channel]), [["KissBotBudgetExceeded", "beta_1"]]);

  // A syntax error: the running routes stay, and the log names the line.
  writeFileSync(routes, "- name: alpha-owner\n  url: [unclosed\n");
  bridge.proc.kill("SIGHUP");
  const failed = await waitFor("the failed reload logged", () => bridge.logs.find((l) => l["msg"] === "notify config reload failed; keeping the running targets"), 10_000, 20);
  assert.match(String(failed["err"]), /notify\.yaml line \d+: /);
  await beta.kill();
  const [betaDown] = await chat.waitDelivered("/beta", 1);
  assert.equal(betaDown!.body.alerts[0].labels.channel, "beta_1");
  // An unknown key: refused by name, the routes stay.
  writeFileSync(routes, file("/alpha").replace("  channels: [alpha]", "  chanels: [alpha]"));
  bridge.proc.kill("SIGHUP");
  await waitFor("the refused key logged", () => bridge.logs.find((l) => /unknown key "chanels"/.test(String(l["err"]))), 10_000, 20);

  // A good file: alpha's owner moved; alpha's return goes to the new place only.
  writeFileSync(routes, file("/alpha-new"));
  bridge.proc.kill("SIGHUP");
  const reloaded = await waitFor("the reload logged", () => bridge.logs.find((l) => l["msg"] === "notify config reloaded"), 10_000, 20);
  assert.ok(!JSON.stringify(reloaded).includes("/alpha-new"), "no URL in the log");
  const alphaBack = await liveBot("alpha", bridge.socket);
  t.after(() => alphaBack.kill());
  const [resolved] = await chat.waitDelivered("/alpha-new", 1);
  assert.deepEqual([resolved!.body.status, resolved!.body.alerts[0].labels.channel], ["resolved", "alpha"]);
  await sleep(1500);
  // alpha-owner takes every event: its down, and reminders while alpha stayed down (every 4 s here).
  const toAlpha = chat.delivered("/alpha").flatMap((m) => m.body.alerts.map((a: { status: string; labels: { channel: string } }) => `${a.labels.channel} ${a.status}`));
  assert.deepEqual([...new Set(toAlpha)], ["alpha firing"], "only alpha's news, and its return only at the new place");
  assert.deepEqual(["/beta", "/spend", "/alpha-new"].map((p) => chat.delivered(p).length), [1, 1, 1], "beta's return is not in beta-team's events; nothing was spend but the one");

  const one = await runCli(["notify", "test", "--notify-config", routes, "--target", "beta-team"]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^ok {3}beta-team \(webhook http:\/\/127\.0\.0\.1:\d+\/…\): HTTP 204\n$/);
  assert.equal(chat.delivered("/beta").length, 2);
  const all = await runCli(["notify", "test"], { ...process.env, KISSBOT_BRIDGE_NOTIFY_CONFIG: routes });
  assert.match(all.stdout, /^ok {3}alpha-owner \(webhook http:\/\/127\.0\.0\.1:\d+\/…\): HTTP 204\n$/, "the others' events leave tests out");
  const nobody = await runCli(["notify", "test", "--notify-config", routes, "--target", "nobody"]);
  assert.equal(nobody.code, 2);
  assert.match(nobody.stderr, /no target named "nobody"; the targets are: alpha-owner, beta-team, accounts/);
});
