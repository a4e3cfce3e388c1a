import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { loadNotifyConfig, allTargets } from "../../src/notify/notify-config.js";
import { eventOf, routeNotice } from "../../src/notify/routes.js";
import { parseTargets } from "../../src/notify/targets.js";
import type { Alert, Notice } from "../../src/notify/alert.js";

const dir = mkdtempSync(join(tmpdir(), "kb-routes-"));
let n = 0;
function file(text: string): string {
  const path = join(dir, `notify-${++n}.yaml`);
  writeFileSync(path, text);
  return path;
}

const alert = (channel: string, over: Partial<Alert> = {}): Alert => ({ name: "KissBotDown", channel, severity: "critical", status: "firing", summary: `${channel} down`, description: "", startsAt: 0, endsAt: null, labels: {}, reminder: false, ...over });
const notice = (...alerts: Alert[]): Notice => ({ alerts, publicUrl: "http://h" });

test("every message is one event: down, resolved, flapping, reminder, spend, test", () => {
  assert.equal(eventOf(alert("a")), "down");
  assert.equal(eventOf(alert("a", { name: "KissBotStale" })), "down");
  assert.equal(eventOf(alert("a", { status: "resolved" })), "resolved");
  assert.equal(eventOf(alert("a", { reminder: true })), "reminder");
  assert.equal(eventOf(alert("a", { name: "KissBotFlapping", status: "resolved" })), "flapping");
  for (const name of ["KissBotBudgetExceeded", "KissBotLlmRunaway", "KissBotLlmUnpriced"] as const) assert.equal(eventOf(alert("a", { name })), "spend");
  assert.equal(eventOf(alert("test", { name: "KissBotBridgeTest" })), "test");
});

test("a route lets through its channels (names and globs, any case) and its events; a digest and a test only by their event", () => {
  const route = { channels: ["alpha", "beta_*", "g?mma"], events: new Set(["down", "resolved"] as const) };
  const group = notice(alert("alpha"), alert("Beta_tv"), alert("gamma"), alert("gamma2"), alert("delta"), alert("alpha", { reminder: true }), alert("alpha", { name: "KissBotBudgetExceeded" }));
  assert.deepEqual(routeNotice(route, group)!.alerts.map((a) => a.channel), ["alpha", "Beta_tv", "gamma"]);
  assert.equal(routeNotice(route, notice(alert("delta"))), null, "nothing left: nothing sent");
  assert.equal(routeNotice(null, group), group);
  const digest: Notice = { alerts: [], digest: { title: "t", table: [], note: "" }, publicUrl: "h" };
  assert.equal(routeNotice(route, digest), null);
  assert.equal(routeNotice({ channels: ["alpha"], events: new Set(["digest"] as const) }, digest), digest, "a digest is the fleet's, whatever the channels");
  assert.equal(routeNotice({ channels: ["alpha"], events: null }, notice(alert("test", { name: "KissBotBridgeTest" })))!.alerts.length, 1, "a test reaches a target whatever its channels");
  assert.equal(routeNotice({ channels: ["a.b"], events: null }, notice(alert("aXb"))), null, "a dot is a dot");
});

test("a routing file: each target with its name, channels and events; a list or targets:; the same URL in --notify and the file is the file's", () => {
  const path = file(`# ops
- name: alice
  url: tgram://123:SeCrEt/-1001/-1002
  channels: [alice_tv, "alice_*"]
  events: [down, resolved]
- url: discord=https://discord.com/api/webhooks/1/abc
  events: spend
`);
  const c = loadNotifyConfig(path);
  assert.equal(c.targets.length, 3, "a Telegram URL with two chats is two targets with one route");
  assert.deepEqual(c.targets.map((t) => t.name), ["alice (telegram https://api.telegram.org/…)", "alice (telegram https://api.telegram.org/…)", "discord https://discord.com/…"]);
  assert.deepEqual(c.targets[0]!.route!.channels, ["alice_tv", "alice_*"]);
  assert.deepEqual([...c.targets[2]!.route!.events!], ["spend"]);
  assert.equal(c.targets[2]!.route!.channels, null);
  assert.equal(loadNotifyConfig(file("targets:\n  - url: ntfy://topic\n")).targets.length, 1);
  assert.equal(loadNotifyConfig(file("")).targets.length, 0);
  const merged = allTargets(parseTargets("discord=https://discord.com/api/webhooks/1/abc,slack=https://hooks.slack.com/x"), c);
  assert.equal(merged.length, 4);
  assert.deepEqual([...merged.find((t) => t.kind === "discord")!.route!.events!], ["spend"]);
});

test("a bad routing file is refused naming its line and what is wrong, never a secret", () => {
  const cases: Array<[string, RegExp]> = [
    ["- url: ntfy://t\n  chanels: [a]\n", /line 2: unknown key "chanels" in target 1 \(expected url, name, channels, events\)/],
    ["- url: ntfy://t\n  events: [down, dwon]\n", /line 2: unknown event "dwon" \(expected down, resolved, flapping, reminder, spend, digest, test\)/],
    ["- url: ntfy://t\n- name: x\n  channels: [a]\n", /line 2: target 2 has no url/],
    ["- url: ntfy://t\n  channels: [\"a b\"]\n", /line 2: "a b" is not a channel name or pattern/],
    ["- url: tgram://123:SeCrEt\n", /line 1: target 1's url: expected tgram:\/\/BOT_TOKEN/],
    ["- url: ntfy://t\n- url: ntfy://t\n  events: [down]\n", /line 2: the same target as at line 1/],
    ["- {url: ntfy://a, name: ops}\n- {url: ntfy://b, name: ops}\n", /line 2: name "ops" is already used at line 1/],
    ["- url: ntfy://t\n  events: [down\n", /line \d: /],
    ["routes:\n  - url: ntfy://t\n", /line 1: unknown key "routes"/],
    ["url: ntfy://t\n", /unknown key "url" \(expected a list of targets/],
  ];
  for (const [text, words] of cases) {
    const path = file(text);
    assert.throws(() => loadNotifyConfig(path), (e: Error) => words.test(e.message) && e.message.startsWith(path) && !e.message.includes("SeCrEt"), text);
  }
});
