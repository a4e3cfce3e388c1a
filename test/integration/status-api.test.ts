import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { PythonBot } from "../helpers/python-bot.js";
import { waitFor } from "../helpers/wait.js";

type Events = { bot: { status: string } | null; events: { event: string; pid: number; detail: string }[] };

test("a bot's lifecycle events in /api/v1/bots/CHANNEL outlive a restart of the bridge (read back from its log)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-status-api-"));
  const args = ["--stale-after", "0.5", "--sample-interval", "0.2"];
  const first = await startBridgeProcess(args, { dir });
  const bot = await PythonBot.start("storied_bot", first.socket);
  t.after(() => bot.exit());
  await bot.send("register");
  const events = async (url: string) => ((await (await fetch(`${url}/api/v1/bots/storied_bot`)).json()) as Events).events.map((e) => e.event);
  await waitFor("stale", async () => ((await events(first.url)).includes("stale") ? true : undefined));
  await bot.send("heartbeat");
  await waitFor("back online", async () => ((await events(first.url))[0] === "online" ? true : undefined));
  await first.stop();

  const second = await startBridgeProcess(args, { dir, socket: first.socket });
  t.after(() => second.stop());
  const after = (await (await fetch(`${second.url}/api/v1/bots/storied_bot`)).json()) as Events;
  assert.deepEqual(after.events.map((e) => e.event).slice(-3), ["online", "stale", "registered"], "newest first, from before the restart");
  assert.equal(after.events.at(-1)!.pid, bot.pid);
  assert.match(after.events.find((e) => e.event === "stale")!.detail, /no heartbeat for .* \(was online\)/);
});

test("/api/v1 answers a name that is not a channel with 404, and a bad range with 400; nothing outside the log folder is read", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  for (const name of ["..%2F..%2Fetc", "a%20b", "x".repeat(65)]) assert.equal((await fetch(`${bridge.url}/api/v1/bots/${name}`)).status, 404, name);
  const bad = await fetch(`${bridge.url}/api/v1/bots/any_bot/history?range=1y`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /1h, 24h, 7d/);
  const overview = (await (await fetch(`${bridge.url}/api/v1/overview`)).json()) as { api_version: number; bridge: { version: string } };
  assert.equal(overview.api_version, 1);
});
