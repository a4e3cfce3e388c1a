import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { startBridgeProcess } from "../helpers/bridge-process.js";
import { sendOnce } from "../helpers/raw-client.js";
import { basicAuth, oneUserWebConfig } from "../helpers/basic-auth.js";
import { waitFor } from "../helpers/wait.js";
import { PYTHON } from "../helpers/python.js";

/** Parsed by Python's XML parser, as any consumer of an SVG would: its role, title and texts. */
function parseSvg(svg: string): { role: string; title: string; texts: string[] } {
  const r = spawnSync(PYTHON, ["-c", "import sys, json, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); ns = '{http://www.w3.org/2000/svg}'; print(json.dumps({'role': r.get('role'), 'title': r.find(ns + 'title').text, 'texts': [t.text for t in r.iter(ns + 'text')]}))"], { input: svg, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { role: string; title: string; texts: string[] };
}

test("badges: status and availability as SVG and shields.io JSON; an unknown channel is a grey 'unknown' badge, not an error; with a web config and --public-badges, badges answer without credentials and /metrics still 401", async (t) => {
  const { dir, web } = oneUserWebConfig("kb-badges-", "prometheus", "s3cret-scrape");
  const bridge = await startBridgeProcess(["--web.config.file", web, "--public-badges", "--sample-interval", "0.2"], { dir });
  t.after(() => bridge.stop());
  const bot = spawn("sleep", ["600"], { stdio: "ignore" });
  t.after(() => bot.kill());
  await sendOnce(bridge.socket, `{"type":"register","channel":"badge_bot","pid":${bot.pid}}\n`);
  const auth = basicAuth("prometheus", "s3cret-scrape");
  await waitFor("the bot", async () => ((await (await fetch(`${bridge.url}/api/bots`, { headers: auth })).text()).includes("badge_bot") ? true : undefined));

  const status = await fetch(`${bridge.url}/badge/badge_bot/status.svg`);
  assert.equal(status.status, 200, "no credentials needed for a badge");
  assert.match(status.headers.get("content-type") ?? "", /^image\/svg\+xml/);
  assert.match(status.headers.get("cache-control") ?? "", /max-age=\d+/);
  assert.deepEqual(parseSvg(await status.text()), { role: "img", title: "badge_bot: online", texts: ["badge_bot", "badge_bot", "online", "online"] });

  const avail = await fetch(`${bridge.url}/badge/badge_bot/availability.svg?period=24h`);
  assert.equal(avail.status, 200);
  assert.equal(parseSvg(await avail.text()).title, "uptime 24h: 100.00%");

  const shields = (await (await fetch(`${bridge.url}/badge/badge_bot/shields.json`)).json()) as Record<string, unknown>;
  assert.deepEqual(shields, { schemaVersion: 1, label: "badge_bot", message: "online", color: "brightgreen" });
  const shields7d = (await (await fetch(`${bridge.url}/badge/badge_bot/shields.json?period=7d`)).json()) as Record<string, unknown>;
  assert.deepEqual(shields7d, { schemaVersion: 1, label: "uptime 7d", message: "100.00%", color: "brightgreen" });

  const unknown = await fetch(`${bridge.url}/badge/no_such_bot/status.svg`);
  assert.equal(unknown.status, 200, "a badge, not an error page");
  assert.equal(parseSvg(await unknown.text()).title, "no_such_bot: unknown");
  assert.deepEqual(await (await fetch(`${bridge.url}/badge/no_such_bot/shields.json`)).json(), { schemaVersion: 1, label: "no_such_bot", message: "unknown", color: "lightgrey" });
  // A name that is markup stays text.
  assert.equal(parseSvg(await (await fetch(`${bridge.url}/badge/${encodeURIComponent("<b>x</b>")}/status.svg`)).text()).title, "<b>x</b>: unknown");

  // Only the badges are public.
  for (const path of ["/metrics", "/api/bots", "/api/v1/availability", "/"]) assert.equal((await fetch(`${bridge.url}${path}`)).status, 401, path);
  assert.equal((await fetch(`${bridge.url}/api/v1/availability`, { headers: auth })).status, 200);

  // The bot dies: its status badge says so.
  bot.kill();
  await waitFor("dead badge", async () => ((await (await fetch(`${bridge.url}/badge/badge_bot/shields.json`)).json()) as { message: string }).message === "dead" || undefined);
});

test("badges without --public-badges are protected like every other page", async (t) => {
  const { dir, web } = oneUserWebConfig("kb-badges-", "prometheus", "s3cret-scrape");
  const bridge = await startBridgeProcess(["--web.config.file", web], { dir });
  t.after(() => bridge.stop());
  assert.equal((await fetch(`${bridge.url}/badge/any/status.svg`)).status, 401);
  assert.equal((await fetch(`${bridge.url}/badge/any/status.svg`, { headers: basicAuth("prometheus", "s3cret-scrape") })).status, 200);
});
