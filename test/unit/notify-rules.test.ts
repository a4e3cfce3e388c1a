import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../src/util/clock.js";
import { Pager, type Down } from "../../src/notify/pager.js";
import { SpendAlerts } from "../../src/notify/spend-alerts.js";
import type { Alert } from "../../src/notify/alert.js";
import { parseTargets } from "../../src/notify/targets.js";
import { render } from "../../src/notify/formats.js";
import { retryAfterMs } from "../../src/notify/http-post.js";

const S = 1000;
const OPTIONS = { graceMs: 60 * S, groupWaitMs: 5 * S, repeatMs: 4 * 3600 * S, flapCount: 3, flapWindowMs: 15 * 60 * S, maxChannels: 100 };
const dead = (channel: string): Down => ({ channel, name: "KissBotDown", state: "dead", why: "process exited without unregistering", pid: 42, lastHeartbeatAt: 1_700_000_000_000 });
const stale = (channel: string): Down => ({ ...dead(channel), name: "KissBotStale", state: "stale", why: "no heartbeat for 121 s" });

function pager(snoozed = new Set<string>()) {
  const clock = new ManualClock();
  const sent: Alert[] = [];
  const p = new Pager(OPTIONS, clock, (c) => snoozed.has(c), (a) => sent.push(a));
  const after = (ms: number) => {
    for (let t = 0; t < ms; t += S) {
      clock.advance(Math.min(S, ms - t));
      p.tick();
    }
  };
  const said = () => sent.map((a) => `${a.status === "resolved" ? "resolved" : a.reminder ? "reminder" : "firing"} ${a.name} ${a.channel}`);
  return { p, clock, after, said, sent };
}

test("a bot down past its grace is reported once (joining its group a group wait early), its return resolved; back within the grace, nothing", () => {
  const { p, after, said } = pager();
  p.down(dead("a"));
  after(54 * S);
  assert.deepEqual(said(), []);
  after(1 * S);
  assert.deepEqual(said(), ["firing KissBotDown a"], "enters the 5 s group at 55 s: the message leaves at 60 s");
  after(600 * S);
  assert.deepEqual(said(), ["firing KissBotDown a"], "once");
  p.up("a", "a new process registered");
  assert.deepEqual(said(), ["firing KissBotDown a", "resolved KissBotDown a"]);
  p.down(dead("b"));
  after(30 * S);
  p.up("b", "heartbeats again");
  after(120 * S);
  assert.equal(said().length, 2, "a quick return says nothing");
});

test("hung then dead is one incident; a graceful unregister says nothing, or resolves what was reported", () => {
  const { p, after, said } = pager();
  p.down(stale("h"));
  after(30 * S);
  p.down(dead("h"));
  after(40 * S);
  assert.deepEqual(said(), ["firing KissBotDown h"], "one message, as it is when the grace ends, timed from when it began");
  p.gone("h");
  assert.deepEqual(said(), ["firing KissBotDown h", "resolved KissBotDown h"]);
  p.down(stale("quiet"));
  after(10 * S);
  p.gone("quiet");
  after(120 * S);
  assert.equal(said().length, 2);
});

test("a bot still down is reminded every repeat; a snooze holds its alerts and a pending one fires when the snooze ends", () => {
  const snoozed = new Set(["s"]);
  const { p, after, said } = pager(snoozed);
  p.down(dead("r"));
  p.down(dead("s"));
  after(4 * 3600 * S + 60 * S);
  assert.deepEqual(said(), ["firing KissBotDown r", "reminder KissBotDown r"]);
  snoozed.delete("s");
  after(S);
  assert.deepEqual(said().slice(2), ["firing KissBotDown s"], "held, not lost: still dead when the snooze ended");
  snoozed.add("s");
  p.up("s", "back");
  assert.equal(said().length, 3, "a snoozed bot's return is not announced either");
});

test("flapping: the third fall within the window is one 'flapping' message; none for each fall; it settles after a window without a fall", () => {
  const { p, after, said } = pager();
  for (let i = 0; i < 5; i++) {
    p.down(dead("f"));
    after(10 * S);
    p.up("f", "restarted");
    after(50 * S);
  }
  assert.deepEqual(said(), ["firing KissBotFlapping f"]);
  after(15 * 60 * S);
  assert.deepEqual(said(), ["firing KissBotFlapping f", "resolved KissBotFlapping f"]);
});

test("a flapping bot that stays down when it settles is reported down at once", () => {
  const { p, after, said } = pager();
  for (let i = 0; i < 3; i++) {
    p.down(dead("f"));
    after(5 * S);
    if (i < 2) p.up("f", "restarted");
  }
  after(15 * 60 * S);
  assert.deepEqual(said(), ["firing KissBotFlapping f", "resolved KissBotFlapping f", "firing KissBotDown f"]);
});

test("a restart keeps what was reported: the same incident is not news again, a bot found up resolves it, one found down without an incident gets one", () => {
  const first = pager();
  first.p.down(dead("known"));
  first.after(70 * S);
  const state = JSON.parse(JSON.stringify(first.p.snapshot()));
  const second = pager();
  second.p.restore(state);
  second.p.sync(new Map([["known", dead("known")], ["healthy", null], ["died_in_outage", dead("died_in_outage")]]));
  second.after(70 * S);
  assert.deepEqual(second.said(), ["firing KissBotDown died_in_outage"]);
  second.p.sync(new Map([["died_in_outage", dead("died_in_outage")]]));
  assert.deepEqual(second.said().slice(1), ["resolved KissBotDown known"], "gone from the registry: resolved");
});

test("spend alerts: over budget once per channel and period, again next period; unpriced calls once a day; a loop once a day", () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 4, 10));
  const sent: Alert[] = [];
  let day = Date.UTC(2026, 11, 4);
  const spend = new Map([["big", 3], ["small", 0.5]]);
  const calls = [{ channel: "big", model: "mystery-1", requests: 0, unpriced: 0 }];
  const alerts = new SpendAlerts(
    {
      spend: () => ({ dayStartMs: day, monthStartMs: Date.UTC(2026, 11, 1), byChannel: [...spend].map(([channel, cost]) => ({ channel, costToday: cost, costMonth: cost })) }),
      limits: () => ({ daily: 1, monthly: 100 }),
      calls: () => calls,
    },
    clock,
    () => false,
    (a) => sent.push(a),
    { windowMs: 600 * S, perSecond: 5 },
  );
  alerts.check();
  alerts.check();
  assert.deepEqual(sent.map((a) => `${a.name} ${a.channel} ${a.labels["period"]}`), ["KissBotBudgetExceeded big day"]);
  day += 86_400 * S;
  alerts.check();
  assert.equal(sent.length, 2, "a new day, told again");
  calls[0]!.unpriced = 1;
  alerts.check();
  calls[0]!.unpriced = 2;
  alerts.check();
  assert.deepEqual(sent.slice(2).map((a) => a.name), ["KissBotLlmUnpriced"]);
  for (let t = 0; t <= 600; t += 10) {
    calls[0]!.requests += 10 * 10;
    clock.advance(10 * S);
    alerts.check();
  }
  assert.deepEqual(sent.slice(3).map((a) => a.name), ["KissBotLlmRunaway"], "10 calls a second for 10 minutes");
  const kept = alerts.snapshot();
  const again: Alert[] = [];
  const restarted = new SpendAlerts({ spend: () => ({ dayStartMs: day, monthStartMs: 0, byChannel: [{ channel: "big", costToday: 3, costMonth: 3 }] }), limits: () => ({ daily: 1, monthly: null }), calls: () => [] }, clock, () => false, (a) => again.push(a));
  restarted.restore(kept);
  restarted.check();
  assert.deepEqual(again, [], "a restart does not tell it again");
});

test("targets: KIND=URL, repeatable and comma-separated; errors never repeat the URL; the name shows the host only", () => {
  const [d, s] = parseTargets("discord=https://discord.com/api/webhooks/1/SECRET, slack=https://hooks.slack.com/services/T/B/SECRET2");
  assert.equal(d!.name, "discord https://discord.com/…");
  assert.equal(s!.kind, "slack");
  assert.doesNotMatch(d!.id, /SECRET/);
  assert.equal(parseTargets("discord=https://a.example/x,discord=https://a.example/x").length, 1);
  assert.throws(() => parseTargets("matrix=https://x.example/SECRET"), (e: Error) => /KIND one of discord, slack, webhook, teams, apprise/.test(e.message) && !e.message.includes("SECRET"));
  assert.throws(() => parseTargets("discord=ftp://x.example/SECRET"), (e: Error) => !e.message.includes("SECRET"));
  assert.throws(() => parseTargets("discord=not a url SECRET"), (e: Error) => !e.message.includes("SECRET"));
});

test("formats: ten bots in one Discord message stay within its 10 embeds; Retry-After read as seconds, a date, or Discord's retry_after", () => {
  const alerts: Alert[] = Array.from({ length: 12 }, (_, i) => ({ name: "KissBotDown", channel: `bot${i}`, severity: "critical", status: "firing", summary: `KissBot bot${i} is down.`, description: "x", startsAt: 0, endsAt: null, labels: { state: "dead" }, reminder: false }));
  const body = JSON.parse(render("discord", { alerts, publicUrl: "http://h:1" }));
  assert.equal(body.embeds.length, 10);
  assert.equal(body.embeds[9].title, "and 3 more");
  assert.match(body.embeds[9].description, /bot9[\s\S]*bot11/);
  const hook = JSON.parse(render("webhook", { alerts, publicUrl: "http://h:1" }));
  assert.equal(hook.alerts.length, 12);
  assert.equal(retryAfterMs("2", "", 0), 2000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), "", 4000), 6000);
  assert.equal(retryAfterMs(null, '{"retry_after": 0.25}', 0), 250);
  assert.equal(retryAfterMs(null, "<html>", 0), null);
});

test("delivery is bounded: past the queue bound the oldest message is dropped and counted; a message older than a day is dropped; order is kept", async () => {
  const { Delivery } = await import("../../src/notify/delivery.js");
  const clock = new ManualClock();
  const counted: string[] = [];
  const posted: string[] = [];
  let answer: (status: number) => void = () => {};
  const post = (_target: unknown, body: string) => {
    posted.push(JSON.parse(body).content);
    return new Promise<{ status: number; text: string; retryAfterMs: null }>((resolve) => (answer = (status) => resolve({ status, text: "", retryAfterMs: null })));
  };
  const [target] = parseTargets("discord=http://127.0.0.1:9/x");
  const d = new Delivery([target!], { maxQueued: 3, maxAgeMs: 86_400 * S, timeoutMs: 10 * S, firstBackoffMs: S, maxBackoffMs: 300 * S, userAgent: "t" }, clock, (_k, o) => counted.push(o), undefined, post);
  const notice = (n: number): Parameters<typeof d.enqueue>[0] => ({ publicUrl: "http://h", alerts: [{ name: "KissBotDown", channel: `b${n}`, severity: "critical", status: "firing", summary: `m${n}`, description: "", startsAt: 0, endsAt: null, labels: {}, reminder: false }] });
  for (let n = 1; n <= 5; n++) d.enqueue(notice(n));
  assert.deepEqual(counted, ["dropped", "dropped"]);
  assert.equal(d.queued, 3);
  answer(204);
  await new Promise((r) => setImmediate(r));
  answer(204);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(posted, ["m1", "m4", "m5"], "in order; the oldest waiting were dropped, not the one in flight");
  answer(500);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(counted, ["dropped", "dropped", "sent", "sent", "failed"]);
  clock.advance(86_400 * S + 1);
  d.tick();
  assert.deepEqual(counted.slice(5), ["dropped"], "still failing a day later: dropped, not sent as news");
  assert.equal(d.queued, 0);
});
