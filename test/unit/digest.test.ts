import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChatReceiver } from "../helpers/chat-receiver.js";
import { Script } from "../helpers/scripted-bridge.js";
import { sleep, waitFor } from "../helpers/wait.js";

/**
 * --notify-digest weekly, checked as it arrives at a stand-in Discord server: once when due
 * (Monday 09:00 in Paris), never again after a restart, and late rather than never when the
 * bridge was down at the time. The figures are the week's, worked out by hand.
 */
/** The digests among the messages Discord received (an hour's outage is within the grace: no alert). */
const digests = (chat: ChatReceiver) => chat.delivered("/discord").filter((r) => String(r.body.embeds?.[0]?.title ?? "").startsWith("KissBot weekly digest"));

test("the weekly digest arrives once, with each bot's availability beside last week's, incidents, LLM calls, tokens and spend; a restart does not send it twice; one missed while down goes out at the next start", async (t) => {
  const chat = await new ChatReceiver().start();
  const s = new Script(mkdtempSync(join(tmpdir(), "kb-digest-")), ["--timezone", "Europe/Paris", "--stale-after", "86400", "--notify", `discord=${chat.url("/discord")}`, "--notify-digest", "weekly", "--notify-digest-at", "09:00", "--notify-grace", "2h"]);
  t.after(async () => {
    await s.stop();
    await chat.stop();
  });
  // Sunday 29 November, 13:00 in Paris: digests turned on start with the week to come.
  s.at("2026-11-29T12:00:00Z");
  await s.start();
  await s.register("alpha");
  // Monday 30 November 09:00 in Paris: the week of the 23rd (alpha was up its last 11 hours).
  await s.liveUntil("2026-11-30T07:59:00Z", ["alpha"]);
  await sleep(1500);
  assert.equal(digests(chat).length, 0, "nothing before Monday 09:00, and nothing for the week before digests were turned on");
  s.at("2026-11-30T08:00:00Z");
  const [first] = await waitFor("the first digest", () => (digests(chat).length > 0 ? digests(chat) : undefined));
  assert.equal(first!.body.embeds[0].title, "KissBot weekly digest: 2026-11-23 to 2026-11-29");
  assert.match(first!.body.embeds[0].description, /\nalpha\s+100\.00%\s+-\s+0\s+-\s+0\s+0\s+\$0\.00\s+-\s+0\n/);
  await s.liveUntil("2026-12-01T10:00:00Z", ["alpha"]);
  await s.send({ type: "llm_usage", channel: "alpha", model: "gpt-4o-mini", feature: "ask", tokens_in: 1000, tokens_out: 500, latency_ms: 300 });
  await s.send({ type: "llm_usage", channel: "alpha", model: "house-model", feature: "ask", tokens_in: 200, tokens_out: 100 });
  await s.liveUntil("2026-12-02T10:00:00Z", ["alpha"]);
  await s.kill("alpha");
  s.at("2026-12-02T11:00:00Z");
  await s.register("alpha");
  await s.liveUntil("2026-12-07T08:00:00Z", ["alpha"]);
  const digest = (await waitFor("the second digest", () => (digests(chat).length > 1 ? digests(chat) : undefined)))[1];
  const embed = digest!.body.embeds[0];
  assert.equal(embed.title, "KissBot weekly digest: 2026-11-30 to 2026-12-06");
  const lines = (embed.description as string).split("\n");
  assert.equal(lines[0], "```");
  assert.match(lines[1]!, /^CHANNEL\s+UPTIME\s+BEFORE\s+INCIDENTS\s+LONGEST\s+LLM CALLS\s+TOKENS\s+SPEND\s+BUDGET\/MONTH\s+UNPRICED$/);
  // 168 hours, one down: 167/168 = 99.404%; last week it was up all along; 1 call of 2 priced ($0.00045).
  assert.match(lines[2]!, /^alpha\s+99\.40%\s+100\.00%\s+1\s+1h00m\s+2\s+1800\s+\$0\.00\s+-\s+1$/);
  assert.deepEqual(digest!.body.allowed_mentions, { parse: [] });
  assert.match(embed.footer.text, /1 channel; LLM spend \$0\.00 and 1 call with no price/);

  // A restart within the hour: the digest is not sent again.
  await s.stop();
  s.at("2026-12-07T08:30:00Z");
  await s.start();
  await s.heartbeat("alpha");
  await sleep(1500);
  assert.equal(digests(chat).length, 2, "once, across a restart");

  // Down over the next Monday 09:00: sent when the bridge is back, once.
  await s.stop();
  s.at("2026-12-14T10:00:00Z");
  await s.start();
  const all = await waitFor("the late digest", () => (digests(chat).length > 2 ? digests(chat) : undefined));
  assert.equal(all[2]!.body.embeds[0].title, "KissBot weekly digest: 2026-12-07 to 2026-12-13");
  await sleep(1500);
  assert.equal(digests(chat).length, 3);
  // Besides the digests, only the spend alert for the call to a model with no price may come
  // (its check runs every 5 s): never a message about the hour-long outage, within the grace.
  const others = chat.delivered("/discord").filter((r) => !digests(chat).includes(r)).flatMap((r) => (r.body.embeds as { title: string }[]).map((e) => e.title));
  assert.deepEqual(others.filter((title) => !/no price/i.test(title)), [], "no message about the outage");
});
