/// <reference lib="dom" />
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import Database from "better-sqlite3";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startBridgeProcess, until, type BridgeProcess } from "../helpers/bridge-process.js";
import { launch, screenshotPath, watchedPage } from "../helpers/browser.js";
import { PythonBot } from "../helpers/python-bot.js";
import { freePort } from "../helpers/services.js";
import { sendOnce } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";
import { runCli } from "../helpers/cli.js";

let browser: Browser;
test.before(async () => {
  browser = await launch();
});
test.after(async () => {
  await browser?.close();
});

/** The row of a channel in the bots table, as text per column. */
async function row(page: Page, channel: string): Promise<Record<string, string> | null> {
  return page.evaluate((c) => {
    const tr = document.querySelector(`#bots tbody tr[data-channel="${c}"]`) as HTMLTableRowElement | null;
    if (tr === null || tr.hidden) return null;
    const names = ["channel", "status", "pid", "uptime", "heartbeat", "cpu", "cpuSpark", "rss", "rssSpark", "features", "calls", "cost"];
    return Object.fromEntries(names.map((n, i) => [n, tr.children[i]!.textContent ?? ""]));
  }, channel);
}

/** Seconds in the table's duration format (7s, 1m 5s, 2h 3m). */
function seconds(text: string): number {
  let s = 0;
  for (const m of text.matchAll(/(\d+)([dhms])/g)) s += Number(m[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[m[2] as "d" | "h" | "m" | "s"];
  return s;
}

test("the fleet live: a bot appears within 2 s without reload, its heartbeat age ticks, a killed one turns dead, one that unregisters disappears; no console error, no failed request", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const { page, problems } = await watchedPage(browser);
  await page.goto(`${bridge.url}/`);
  await page.waitForSelector("#connection[data-state=live]");

  const steady = await PythonBot.start("steady_bot", bridge.socket);
  t.after(() => steady.exit());
  const doomed = await PythonBot.start("doomed_bot", bridge.socket);
  t.after(() => doomed.kill());
  const leaving = await PythonBot.start("leaving_bot", bridge.socket);
  t.after(() => leaving.exit());
  for (const b of [steady, doomed, leaving]) assert.equal(await b.send('register {"llm": true, "trivia": false}'), "True");
  // Within 2 s of registering, with no reload.
  for (const c of ["steady_bot", "doomed_bot", "leaving_bot"]) await page.waitForSelector(`#bots tbody tr[data-channel="${c}"]`, { timeout: 2000 });
  const first = (await row(page, "steady_bot"))!;
  assert.equal(first["status"], "online");
  assert.equal(first["pid"], String(steady.pid));
  assert.equal(first["features"], "llm");

  const age = seconds(first["heartbeat"]!);
  await waitFor("the heartbeat age to tick", async () => (seconds((await row(page, "steady_bot"))!["heartbeat"]!) >= age + 2 ? true : undefined), 5000);

  await doomed.kill();
  await waitFor("the killed bot shown dead", async () => ((await row(page, "doomed_bot"))?.["status"] === "dead" ? true : undefined), 5000);
  // Trouble first: the dead bot leads the table.
  assert.equal(await page.evaluate(() => (document.querySelector("#bots tbody tr:not([hidden])") as HTMLElement).dataset["channel"]), "doomed_bot");

  assert.equal(await leaving.send("unregister"), "True");
  await waitFor("the unregistered bot gone", async () => ((await row(page, "leaving_bot")) === null ? true : undefined), 5000);

  // The table filters by channel and by status.
  await page.fill("#filter", "steady");
  assert.deepEqual(await page.$$eval("#bots tbody tr:not([hidden])", (trs) => trs.map((tr) => (tr as HTMLElement).dataset["channel"])), ["steady_bot"]);
  await page.fill("#filter", "");
  await page.selectOption("#status-filter", "dead");
  assert.deepEqual(await page.$$eval("#bots tbody tr:not([hidden])", (trs) => trs.map((tr) => (tr as HTMLElement).dataset["channel"])), ["doomed_bot"]);
  await page.selectOption("#status-filter", "");

  await page.screenshot({ path: screenshotPath("overview.png"), fullPage: true });
  assert.deepEqual(problems, []);
});

test("one bot's view, at its own URL: CPU and memory from bot_metrics, LLM calls from llm_usage, its events; figures agree with kissbot-bridge status's source", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("viewed_bot", bridge.socket);
  t.after(() => bot.exit());
  await bot.send('register {"llm": true}');
  for (let i = 0; i < 6; i++) await bot.send(`llm gpt-4o ask ${100 + i} 40 ${300 + 100 * i}`);
  await bot.send("llm claude-3-haiku trivia 50 10 200");
  // Samples and calls committed to the database (one commit a second).
  await waitFor("rows in bot_metrics and llm_usage", async () => {
    const r = await fetch(`${bridge.url}/api/v1/bots/viewed_bot/history?range=1h`);
    const h = (await r.json()) as { resources: { t: number[] }; llm: { calls: number[] } };
    return h.resources.t.length >= 2 && h.llm.calls.reduce((a, b) => a + b, 0) === 7 ? true : undefined;
  });

  const { page, problems } = await watchedPage(browser);
  await page.goto(`${bridge.url}/bot/viewed_bot`);
  await page.waitForSelector("#bot-title:text('viewed_bot')");
  const points = async (id: string) => Number(await page.getAttribute(`#${id}`, "data-points"));
  await waitFor("the charts drawn", async () => ((await points("cpu-chart")) >= 2 && (await points("rss-chart")) >= 2 && (await points("llm-chart")) >= 1 ? true : undefined));
  assert.ok(await page.$("#cpu-chart canvas"), "a real chart (uPlot's canvas)");
  const models = await page.$$eval("#bot-models tbody tr", (trs) => trs.map((tr) => Array.from(tr.children).map((td) => td.textContent)));
  assert.deepEqual(models.map((r) => [r[0], r[1], r[2]]), [["gpt-4o", "6", "855"], ["claude-3-haiku", "1", "60"]]);
  assert.equal(models[0]![3], "500 ms", "p50 of 300…800 ms");
  const events = await page.$$eval("#bot-events li", (lis) => lis.map((li) => li.textContent));
  assert.ok(events.some((e) => /registered/.test(e ?? "")), JSON.stringify(events));

  // The page's figures for the bot are /api/bots's (what `kissbot-bridge status` prints).
  const api = ((await (await fetch(`${bridge.url}/api/bots`)).json()) as { bots: { channel: string; pid: number; status: string }[] }).bots.find((b) => b.channel === "viewed_bot")!;
  const facts = Object.fromEntries(await page.$$eval("#bot-facts dt", (dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling!.textContent])));
  assert.equal(facts["PID"], String(api.pid));
  assert.equal(await page.textContent("#bot-status"), api.status);

  for (const range of ["24h", "7d"]) {
    await page.click(`[data-range="${range}"]`);
    await waitFor(`the ${range} charts`, async () => ((await points("cpu-chart")) >= 1 ? true : undefined));
  }
  await page.click('[data-range="1h"]');
  await page.waitForTimeout(300);
  await page.screenshot({ path: screenshotPath("bot.png"), fullPage: true });
  assert.deepEqual(problems, []);
});

test("one bot's view stays live: opened right after the bot registers, its charts and tables fill in without a reload, and its registration is listed once", async (t) => {
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("fresh_bot", bridge.socket);
  t.after(() => bot.exit());
  await bot.send('register {"llm": true}');
  await waitFor("the bot known", async () => (((await (await fetch(`${bridge.url}/api/v1/bots/fresh_bot`)).json()) as { bot: unknown }).bot ? true : undefined));
  const { page, problems } = await watchedPage(browser);
  await page.goto(`${bridge.url}/bot/fresh_bot`);
  await page.waitForSelector("#bot-title:text('fresh_bot')");
  const points = async (id: string) => Number(await page.getAttribute(`#${id}`, "data-points"));
  assert.equal(await points("llm-chart"), 0, "no LLM call yet");
  // Calls made while the page is open reach its chart and tables with no reload.
  for (let i = 0; i < 3; i++) await bot.send(`llm gpt-4o ask ${100 + i} 40 ${300 + 100 * i}`);
  await waitFor("the LLM chart and the model table filled in", async () => ((await points("llm-chart")) >= 1 && (await page.$$("#bot-models tbody tr")).length === 1 ? true : undefined), 20_000);
  await waitFor("CPU and memory drawn", async () => ((await points("cpu-chart")) >= 2 ? true : undefined), 20_000);
  const events = await page.$$eval("#bot-events li", (lis) => lis.map((li) => li.textContent ?? ""));
  assert.equal(events.filter((e) => /registered/.test(e)).length, 1, JSON.stringify(events));
  assert.deepEqual(problems, []);
});

test("a snoozed bot wears its badge, live, in the table and on its page (with the reason); the bridge panel names the notification target by its host only (issue 27)", async (t) => {
  const secret = "api/webhooks/42/sEcReT";
  const bridge = await startBridgeProcess(["--notify", `discord=http://127.0.0.1:9/${secret}`]);
  t.after(() => bridge.stop());
  const bot = await PythonBot.start("resting_bot", bridge.socket);
  t.after(() => bot.exit());
  await bot.send('register {"llm": true}');
  const { page, problems } = await watchedPage(browser);
  await page.goto(`${bridge.url}/`);
  await page.waitForSelector('#bots tbody tr[data-channel="resting_bot"]');
  assert.equal(await page.$('#bots tbody tr[data-channel="resting_bot"] .snoozed'), null);
  const db = join(bridge.dir, "kissbot_monitor.db");
  assert.equal((await runCli(["snooze", "resting_bot", "2h", "--reason", "streamer on holiday", "--db", db])).code, 0);
  // Seen by the bridge within a second, pushed by the live feed the next.
  const badge = await page.waitForSelector('#bots tbody tr[data-channel="resting_bot"] .snoozed', { timeout: 3000 });
  assert.match((await badge.textContent()) ?? "", /^snoozed until \d{1,2}:\d{2}/);
  assert.match((await badge.getAttribute("title")) ?? "", /streamer on holiday/);
  const panel = (await page.textContent("#bridge")) ?? "";
  assert.match(panel, /Notifications0 firing\. discord http:\/\/127\.0\.0\.1:9\/…: nothing sent yet; 0 waiting; no error/);
  assert.ok(!panel.includes("sEcReT"));
  await page.goto(`${bridge.url}/bot/resting_bot`);
  await page.waitForSelector("#bot-status .snoozed");
  const facts = Object.fromEntries(await page.$$eval("#bot-facts dt", (dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling!.textContent])));
  assert.match(facts["Alerts"] ?? "", /^snoozed until .*\(streamer on holiday\)$/);
  assert.equal((await runCli(["unsnooze", "resting_bot", "--db", db])).code, 0);
  await page.waitForSelector("#bot-status .snoozed", { state: "detached", timeout: 8000 });
  assert.deepEqual(problems, []);
});

test("names a bot sends are text, never markup: an <img onerror> model and feature run nothing; such a channel is rejected", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  const hostile = "<img src=x onerror=window.__pwned=1>";
  const send = (o: object) => sendOnce(bridge.socket, `${JSON.stringify(o)}\n`);
  await send({ type: "register", channel: "plain_bot", pid: process.pid, features: { [hostile]: true } });
  await send({ type: "register", channel: hostile, pid: process.pid });
  for (let i = 0; i < 3; i++) await send({ type: "llm_usage", channel: "plain_bot", model: hostile, feature: hostile, tokens_in: 10, tokens_out: 5, latency_ms: 100 });
  await waitFor("committed", async () => ((await bridge.samples()).get("kissbot_bridge_db_rows_written_total", { table: "llm_usage" }) === 3 ? true : undefined));
  assert.equal((await bridge.samples()).get("kissbot_bridge_rejected_lines_total", { reason: "invalid_channel" }), 1);

  const { page, problems } = await watchedPage(browser);
  await page.goto(`${bridge.url}/`);
  await page.waitForSelector('#bots tbody tr[data-channel="plain_bot"]');
  await waitFor("the unpriced table", async () => ((await page.textContent("#unpriced")) ?? "").includes(hostile) || undefined);
  assert.equal((await row(page, "plain_bot"))!["features"], hostile, "shown as text");
  await page.goto(`${bridge.url}/bot/plain_bot`);
  await waitFor("the model table", async () => ((await page.textContent("#bot-models")) ?? "").includes(hostile) || undefined);
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, "no handler ran");
  assert.equal(await page.$$eval("img", (imgs) => imgs.length), 0, "no element was created from a name");
  // The policy forbids inline script outright.
  const res = await fetch(`${bridge.url}/`);
  assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  assert.doesNotMatch(res.headers.get("content-security-policy") ?? "", /unsafe-inline/);
  assert.deepEqual(problems, []);
});

test("a lost connection is shown, and the page recovers by itself when the bridge is back", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-page-"));
  const port = await freePort();
  const args = ["--listen", `127.0.0.1:${port}`];
  let bridge: BridgeProcess = await startBridgeProcess(args, { dir });
  t.after(() => bridge.stop());
  const { page } = await watchedPage(browser);
  await page.goto(`${bridge.url}/`);
  await page.waitForSelector("#connection[data-state=live]");
  await bridge.stop();
  await page.waitForSelector("#banner:not([hidden])", { timeout: 10_000 });
  bridge = await startBridgeProcess(args, { dir, socket: join(dir, "monitor.sock") });
  await sendOnce(bridge.socket, `{"type":"register","channel":"after_restart","pid":${process.pid}}\n`);
  await page.waitForSelector('#bots tbody tr[data-channel="after_restart"]', { timeout: 10_000 });
  assert.equal(await page.isHidden("#banner"), true);
});

test("readable on a phone, light and dark following the system", async (t) => {
  const bridge = await startBridgeProcess();
  t.after(() => bridge.stop());
  await sendOnce(bridge.socket, `{"type":"register","channel":"pocket_bot","pid":${process.pid},"features":{"llm":true}}\n`);
  const background = async (colorScheme: "light" | "dark") => {
    const { page, problems } = await watchedPage(browser, { width: 390, height: 844 });
    await page.emulateMedia({ colorScheme });
    await page.goto(`${bridge.url}/`);
    await page.waitForSelector('#bots tbody tr[data-channel="pocket_bot"]');
    // Nothing wider than the screen but the table, which scrolls inside its own box.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone`);
    assert.equal(await page.isVisible("#bots tbody tr[data-channel=pocket_bot] td.c-status"), true);
    if (colorScheme === "dark") await page.screenshot({ path: screenshotPath("phone-dark.png"), fullPage: true });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.deepEqual(problems, []);
    await page.close();
    return bg;
  };
  const light = await background("light");
  const dark = await background("dark");
  assert.notEqual(light, dark);
  const lum = (rgb: string) => rgb.match(/\d+/g)!.slice(0, 3).reduce((a, b) => a + Number(b), 0);
  assert.ok(lum(dark) < lum(light), `dark ${dark} is darker than light ${light}`);
});

/** 90 days of one bot's record, as a bridge would have written it: up, but 2 hours dead yesterday (10:00–12:00 UTC). */
function seedRecord(dbPath: string, channel: string, now: number): string {
  const db = new Database(dbPath);
  const day = 86_400_000;
  const yesterday = Math.floor(now / day) * day - day;
  db.prepare("INSERT INTO bridge_runs (started_ms, mark_ms, ended_ms) VALUES (?, ?, ?)").run(now - 92 * day, now - 1000, now - 1000);
  const row = db.prepare("INSERT INTO bot_record (channel, kind, at_ms, state, cause, changes, until_ms) VALUES (?, 'state', ?, ?, ?, 1, NULL)");
  row.run(channel, now - 92 * day, "up", null);
  row.run(channel, yesterday + 10 * 3_600_000, "down", "dead");
  row.run(channel, yesterday + 12 * 3_600_000, "up", null);
  db.close();
  return new Date(yesterday).toISOString().slice(0, 10);
}

/** Every table in a card fits it, every wrapped table scrolls only inside its box, and the page is no wider than the screen. */
async function nothingCut(page: Page, scrollingTables: boolean): Promise<string[]> {
  return page.evaluate((allowScroll) => {
    const cut: string[] = [];
    if (document.documentElement.scrollWidth > window.innerWidth) cut.push(`page ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
    for (const card of Array.from(document.querySelectorAll<HTMLElement>(".card"))) {
      if (card.offsetParent === null) continue;
      const over = card.scrollWidth - card.clientWidth;
      if (over > 0 && !allowScroll) cut.push(`${card.querySelector("h3, figcaption")?.textContent ?? "a card"}: ${over} px wider than its card`);
      if (over > 0 && allowScroll && getComputedStyle(card).overflowX !== "auto") cut.push(`${card.textContent?.slice(0, 30)}: cut, not scrollable`);
    }
    for (const wrap of Array.from(document.querySelectorAll<HTMLElement>(".table-wrap"))) {
      if (wrap.offsetParent !== null && wrap.scrollWidth > wrap.clientWidth && !allowScroll) cut.push(`the bots table: ${wrap.scrollWidth - wrap.clientWidth} px wider than its box`);
    }
    // Chart axes: drawn on a canvas, as wide as their widest label.
    for (const box of Array.from(document.querySelectorAll<HTMLElement & { uplot?: { axes: { _size: number; _values?: string[]; font: string[]; ticks: { size: number }; gap: number }[]; ctx: CanvasRenderingContext2D } }>(".chart"))) {
      const u = box.uplot;
      if (u === undefined || box.offsetParent === null) continue;
      const y = u.axes[1]!;
      u.ctx.font = y.font[0]!;
      const widest = Math.max(0, ...(y._values ?? []).map((v: string) => u.ctx.measureText(String(v)).width / devicePixelRatio));
      if (y._size < widest + y.ticks.size + y.gap) cut.push(`${box.id}: axis ${y._size} px for a ${Math.ceil(widest)} px label`);
    }
    return cut;
  }, scrollingTables);
}

test("availability on the page: a 90-day strip per bot (30 on a phone), each bar's day, availability and incidents on hover and on tap; the bot view's periods and incidents, live; nothing cut at 1280 and 390 px", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-strip-"));
  const first = await startBridgeProcess([], { dir });
  await first.stop();
  const yesterday = seedRecord(join(dir, "kissbot_monitor.db"), "strip_bot", Date.now());
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"], { dir, socket: join(dir, "monitor.sock") });
  t.after(() => bridge.stop());
  const bot = spawn("sleep", ["600"], { stdio: "ignore" });
  t.after(() => bot.kill());
  await sendOnce(bridge.socket, `{"type":"register","channel":"strip_bot","pid":${bot.pid}}\n`);
  // 200,000 tokens in a minute: the token chart's axis must show "200,000" whole.
  await sendOnce(bridge.socket, `{"type":"llm_usage","channel":"strip_bot","model":"gpt-4o-mini","feature":"ask","tokens_in":199000,"tokens_out":1000}\n`);

  const { page, problems } = await watchedPage(browser, { width: 1280, height: 900 });
  await page.goto(`${bridge.url}/`);
  const strip = '#bots tbody tr[data-channel="strip_bot"] .strip';
  await page.waitForFunction((sel) => document.querySelector(sel)?.lastElementChild?.getAttribute("data-level") === "full", strip);
  const bars = await page.$$eval(`${strip} > span`, (spans) => spans.map((s) => ({ level: s.getAttribute("data-level"), text: s.getAttribute("data-text"), visible: (s as HTMLElement).offsetWidth > 0 })));
  assert.equal(bars.length, 90);
  assert.equal(bars.filter((b) => b.visible).length, 90, "90 days on a laptop");
  const y = bars.findIndex((b) => b.text?.startsWith(yesterday));
  assert.equal(y, 88, "yesterday is the bar before today's");
  assert.equal(bars[y]!.level, "low", "22 of 24 hours up");
  await page.hover(`${strip} > span:nth-child(${y + 1})`);
  assert.equal(await page.textContent("#bar-tip"), `${yesterday}: 91.66% up (down 2h 0m), 1 incident`);
  assert.equal(await page.isVisible("#bar-tip"), true);
  await page.waitForFunction(() => Number(document.getElementById("tokens-chart")?.dataset.points ?? 0) > 0, undefined, { timeout: 30_000 });
  // One minute of calls: the axis still spans the last hour (uPlot alone made it years).
  const span = await page.evaluate(() => {
    const x = (document.getElementById("tokens-chart") as HTMLElement & { uplot: { scales: { x: { min: number; max: number } } } }).uplot.scales.x;
    return Math.round(x.max - x.min);
  });
  assert.equal(span, 3600, "the tokens chart shows the last hour");
  assert.deepEqual(await nothingCut(page, false), []);
  await page.screenshot({ path: screenshotPath("availability.png") });
  // Wider, the LLM cards are narrower (three to a row): the spend table still fits its card.
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.waitForTimeout(300);
  assert.deepEqual(await nothingCut(page, false), []);
  await page.setViewportSize({ width: 1280, height: 900 });

  // One bot's view: its periods, its incidents; live when it dies.
  await page.goto(`${bridge.url}/bot/strip_bot`);
  await page.waitForSelector("#bot-incidents tbody tr");
  const periods = await page.$$eval("#bot-availability tbody tr", (rows) => rows.map((r) => Array.from(r.children).map((c) => c.textContent)));
  assert.deepEqual(periods.map((p) => p[0]), ["Last 24 hours", "Last 7 days", "Last 30 days", "This month", "Last month"]);
  assert.deepEqual(periods[1]!.slice(2, 4), ["2h 0m", "1"], "7 days: 2 h down, one incident");
  assert.deepEqual(await page.$$eval("#bot-incidents tbody tr", (rows) => rows.map((r) => [r.children[2]!.textContent, r.children[3]!.textContent])), [["2h 0m", "dead"]]);
  bot.kill();
  await page.waitForFunction(() => Array.from(document.querySelectorAll("#bot-incidents tbody tr")).some((r) => r.children[1]?.textContent === "ongoing"), undefined, { timeout: 15_000 });
  assert.deepEqual(await nothingCut(page, false), []);
  assert.deepEqual(problems, []);
  await page.close();

  // A phone: the last 30 days, a tap shows a bar; tables too wide scroll inside their box.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const p2 = await phone.newPage();
  await p2.goto(`${bridge.url}/`);
  // `?? null`: before the strip exists the chain is undefined, which is not null, and the wait
  // passed at once (a fresh-clone run then counted 0 bars).
  await p2.waitForFunction((sel) => (document.querySelector(sel)?.lastElementChild?.getAttribute("data-level") ?? null) !== null, strip);
  assert.equal(await p2.$$eval(`${strip} > span`, (spans) => spans.filter((s) => (s as HTMLElement).offsetWidth > 0).length), 30, "30 days on a phone");
  await p2.locator(`${strip} > span`).nth(y).scrollIntoViewIfNeeded();
  await p2.locator(`${strip} > span`).nth(y).tap();
  assert.equal(await p2.textContent("#bar-tip"), `${yesterday}: 91.66% up (down 2h 0m), 1 incident`);
  assert.equal(new URL(p2.url()).pathname, "/", "a tap on a bar shows it, it does not open the bot");
  assert.deepEqual(await nothingCut(p2, true), []);
  await p2.goto(`${bridge.url}/bot/strip_bot`);
  await p2.waitForSelector("#bot-incidents tbody tr");
  assert.deepEqual(await nothingCut(p2, true), []);
  await p2.screenshot({ path: screenshotPath("availability-phone.png"), fullPage: true });
  await phone.close();
});

/** A quarter of a year of one bot's record: an incident every `every` days, `hours` long. */
function seedHistory(db: Database.Database, channel: string, now: number, every: number, hours: number): void {
  const day = 86_400_000;
  const row = db.prepare("INSERT INTO bot_record (channel, kind, at_ms, state, cause, changes, until_ms) VALUES (?, 'state', ?, ?, ?, 1, NULL)");
  row.run(channel, now - 92 * day, "up", null);
  for (let d = 88; d > 1; d -= every) {
    const at = Math.floor(now / day) * day - d * day + 14 * 3_600_000;
    row.run(channel, at, "down", "dead");
    row.run(channel, at + hours * 3_600_000, "up", null);
  }
}

test("the README's screenshot: a small fleet with a dead bot, 90 days of record and an hour of LLM calls (npm run docs copies it to docs/images)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kb-readme-"));
  const first = await startBridgeProcess([], { dir });
  await first.stop();
  const now = Date.now();
  const db = new Database(join(dir, "kissbot_monitor.db"));
  db.prepare("INSERT INTO bridge_runs (started_ms, mark_ms, ended_ms) VALUES (?, ?, ?)").run(now - 92 * 86_400_000, now - 1000, now - 1000);
  seedHistory(db, "lena_live", now, 40, 1);
  seedHistory(db, "retro_rafa", now, 9, 3);
  seedHistory(db, "speedrun_sam", now, 23, 9);
  db.close();
  const bridge = await startBridgeProcess(["--sample-interval", "0.2"], { dir, socket: join(dir, "monitor.sock") });
  t.after(() => bridge.stop());
  const processes = ["lena_live", "retro_rafa", "speedrun_sam"].map((channel) => ({ channel, proc: spawn("sleep", ["600"], { stdio: "ignore" }) }));
  t.after(() => processes.forEach((p) => p.proc.kill()));
  for (const { channel, proc } of processes) await sendOnce(bridge.socket, `{"type":"register","channel":"${channel}","pid":${proc.pid},"features":{"llm":true,"translator":${channel !== "speedrun_sam"}}}\n`);
  const calls: [string, string, string, number, number][] = [
    ["lena_live", "gpt-4o-mini", "ask", 1800, 400],
    ["lena_live", "gpt-4o", "translate", 900, 300],
    ["retro_rafa", "gpt-4o-mini", "trivia", 1200, 200],
    ["retro_rafa", "claude-3-5-haiku", "ask", 700, 250],
  ];
  for (let i = 0; i < 12; i++) {
    for (const [channel, model, feature, tin, tout] of calls) await sendOnce(bridge.socket, `{"type":"llm_usage","channel":"${channel}","model":"${model}","feature":"${feature}","tokens_in":${tin + 37 * i},"tokens_out":${tout},"latency_ms":${600 + 90 * i}}\n`);
  }
  processes[2]!.proc.kill();
  await until(bridge, "speedrun_sam dead", (s) => s.get("kissbot_bot_up", { channel: "speedrun_sam" }) === 0);

  const { page, problems } = await watchedPage(browser, { width: 1280, height: 720 });
  await page.goto(`${bridge.url}/`);
  await page.waitForFunction(() => document.querySelectorAll("#bots .strip > span").length === 270);
  await page.waitForFunction(() => Number(document.getElementById("tokens-chart")?.dataset.points ?? 0) > 0, undefined, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => (document.querySelector("#bots tbody tr") as HTMLElement).dataset["channel"]), "speedrun_sam", "the dead bot first");
  await page.waitForTimeout(300);
  await page.screenshot({ path: screenshotPath("readme.png") });
  assert.deepEqual(problems, []);
});

test("the screenshots are written for a person to look at", () => {
  for (const f of ["overview.png", "bot.png", "phone-dark.png", "readme.png"]) assert.ok(existsSync(screenshotPath(f)), f);
});
