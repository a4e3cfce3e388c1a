import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import { openForBridgeTables } from "../../src/db/database.js";
import { setSnooze } from "../../src/notify/snoozes.js";
import { uptimeCommand } from "../../src/cli/uptime-command.js";
import type { Out } from "../../src/cli/common.js";
import { waitFor } from "../helpers/wait.js";
import { Script, T } from "../helpers/scripted-bridge.js";

/**
 * A month of two bots' lives, October 2026 in Europe/Paris (31 days and the 25-hour night of
 * the 25th: 745 hours), driven by an injected clock through the real socket, HTTP API and
 * database: kills, a hang, flapping, a snooze, a graceful stop, a clean bridge restart in the
 * middle of an incident and an unclean bridge end. Every expected figure below is worked out by
 * hand from the script, to the second.
 */

type Row = { channel: string; availability: number | null; up_seconds: number; down_seconds: number; stopped_seconds: number; snoozed_seconds: number; unknown_seconds: number; incidents: number; longest_down_seconds: number; mean_time_to_recover_seconds: number | null };

// October 2026 in Europe/Paris: 2026-10-01T00:00+02:00 to 2026-11-01T00:00+01:00.
const MONTH_SECONDS = 745 * 3600;
const UNKNOWN = 4 * 3600 + 7202; // the clean restart's 4 h, then the unclean end's 2 h 2 s
const ALPHA_DOWN = 1800 + 18_000 + 3 * 300 + 10_800;
const ALPHA: Row = {
  channel: "alpha",
  availability: (MONTH_SECONDS - UNKNOWN - ALPHA_DOWN) / (MONTH_SECONDS - UNKNOWN),
  up_seconds: MONTH_SECONDS - UNKNOWN - ALPHA_DOWN,
  down_seconds: ALPHA_DOWN,
  stopped_seconds: 0,
  snoozed_seconds: 0,
  unknown_seconds: UNKNOWN,
  incidents: 6,
  longest_down_seconds: 18_000,
  mean_time_to_recover_seconds: ALPHA_DOWN / 6,
};
const BETA_UP = MONTH_SECONDS - 43_200 - 86_400 - UNKNOWN - 3600;
const BETA: Row = {
  channel: "beta",
  availability: BETA_UP / (BETA_UP + 3600),
  up_seconds: BETA_UP,
  down_seconds: 3600,
  stopped_seconds: 86_400,
  snoozed_seconds: 43_200,
  unknown_seconds: UNKNOWN,
  incidents: 1,
  longest_down_seconds: 3600,
  mean_time_to_recover_seconds: 3600,
};

function capture(): { out: Out; text: () => string } {
  let text = "";
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => ((text += chunk.toString()), done()) });
  return { out: { stdout: sink as unknown as NodeJS.WriteStream, stderr: sink as unknown as NodeJS.WriteStream }, text: () => text };
}

test("a scripted month: uptime --month, the API and the status page's figures match the hand-worked ones to the second", async (t) => {
  const s = new Script(mkdtempSync(join(tmpdir(), "kb-month-")), ["--timezone", "Europe/Paris", "--stale-after", "86400"]);
  // A failed assertion must not leave a bridge running (the runner would wait for it).
  t.after(() => s.stop());
  const dbPath = join(s.dir, "kissbot_monitor.db");
  await s.start();
  s.at("2026-09-30T21:00:00Z");
  await s.register("alpha");
  await s.register("beta");

  // Oct 3: alpha killed at 10:00, restarted by its supervisor at 10:30 (incident 1: 30 min, dead).
  await s.liveUntil("2026-10-03T10:00:00Z", ["alpha", "beta"]);
  await s.kill("alpha");
  s.at("2026-10-03T10:30:00Z");
  await s.register("alpha");

  // Oct 10 12:00: alpha's last heartbeat; stale when next looked at (Oct 11 13:00) until it beats again at 18:00 (incident 2: 5 h).
  await s.liveUntil("2026-10-10T12:00:00Z", ["alpha", "beta"]);
  await s.liveUntil("2026-10-11T12:00:00Z", ["beta"]);
  s.at("2026-10-11T13:00:00Z");
  await s.until("alpha stale", (b) => b.some((x) => x.channel === "alpha" && x.status === "stale"));
  await s.heartbeat("beta");
  s.at("2026-10-11T18:00:00Z");
  await s.heartbeat("alpha", "beta");

  // Oct 15: beta snoozed 08:00–20:00; it dies at 09:00 (snoozed, not down), is down 20:00–21:00 (incident: 1 h).
  await s.liveUntil("2026-10-15T08:00:00Z", ["alpha", "beta"]);
  const cli = openForBridgeTables(dbPath);
  setSnooze(cli, { channel: "beta", untilMs: T("2026-10-15T20:00:00Z"), reason: "planned", setAtMs: s.clock.now() });
  cli.close();
  await waitFor("the snooze recorded", async () => ((await s.json<{ bots: { channel: string; snooze: unknown }[] }>("/api/bots")).bots.find((b) => b.channel === "beta")?.snooze != null ? true : undefined));
  await s.liveUntil("2026-10-15T09:00:00Z", ["alpha", "beta"]);
  await s.kill("beta");
  await s.liveUntil("2026-10-15T21:00:00Z", ["alpha"]);
  await s.register("beta");

  // Oct 20: alpha falls three times in 25 minutes (three incidents of 5 min).
  await s.liveUntil("2026-10-20T12:00:00Z", ["alpha", "beta"]);
  for (const minute of [0, 10, 20]) {
    s.at(`2026-10-20T12:${String(minute).padStart(2, "0")}:00Z`);
    await s.kill("alpha");
    s.at(`2026-10-20T12:${String(minute + 5).padStart(2, "0")}:00Z`);
    await s.register("alpha");
  }

  // Oct 22 10:00 – Oct 23 10:00: beta stopped on purpose (a day, neither up nor down).
  await s.liveUntil("2026-10-22T10:00:00Z", ["alpha", "beta"]);
  await s.unregister("beta");
  await s.liveUntil("2026-10-23T10:00:00Z", ["alpha"]);
  await s.register("beta");

  // Oct 24 22:00 alpha dies; the bridge stops cleanly at 23:00 and is back at 03:00 on the
  // 25th (the DST night), alpha still dead; it registers at 05:00: one incident, 3 h down.
  await s.liveUntil("2026-10-24T22:00:00Z", ["alpha", "beta"]);
  await s.kill("alpha");
  await s.liveUntil("2026-10-24T23:00:00Z", ["beta"]);
  await s.stop();
  s.at("2026-10-25T03:00:00Z");
  await s.start();
  await s.until("alpha restored dead", (b) => b.some((x) => x.channel === "alpha" && x.status === "dead"));
  await s.heartbeat("beta");
  s.at("2026-10-25T05:00:00Z");
  await s.register("alpha");

  // Oct 28: the bridge ends uncleanly at noon: its last mark 11:59:58, no end (what kill -9
  // leaves: the mark is moved on every 2 s); a new bridge starts at 14:00.
  await s.liveUntil("2026-10-28T11:59:58Z", ["alpha", "beta"]);
  await s.stop();
  const crashed = new Database(dbPath);
  assert.equal(crashed.prepare("UPDATE bridge_runs SET ended_ms = NULL, mark_ms = ? WHERE started_ms = ?").run(s.clock.now(), T("2026-10-25T03:00:00Z")).changes, 1);
  crashed.close();
  s.at("2026-10-28T14:00:00Z");
  await s.start();
  await s.heartbeat("alpha", "beta");
  await s.liveUntil("2026-11-02T09:00:00Z", ["alpha", "beta"]);

  // What a person computed by hand, from the running bridge:
  const approx = (r: Row) => ({ ...r, availability: r.availability === null ? null : Number(r.availability.toFixed(12)), mean_time_to_recover_seconds: r.mean_time_to_recover_seconds });
  const api = await s.json<{ from: string; to: string; channels: Row[] }>("/api/v1/availability?month=2026-10");
  assert.equal(api.from, "2026-09-30T22:00:00.000Z");
  assert.equal(api.to, "2026-10-31T23:00:00.000Z");
  assert.deepEqual(api.channels.map(approx), [approx(ALPHA), approx(BETA)]);
  for (const r of api.channels) assert.equal(r.up_seconds + r.down_seconds + r.stopped_seconds + r.snoozed_seconds + r.unknown_seconds, MONTH_SECONDS, `${r.channel}: every second of the month counted once`);

  // uptime --month, through the bridge:
  const viaBridge = capture();
  assert.equal(await uptimeCommand(["--month", "2026-10", "--timezone", "Europe/Paris", "--json", "--url", s.url], {}, viaBridge.out), 0);
  assert.deepEqual((JSON.parse(viaBridge.text()) as { channels: Row[] }).channels.map(approx), [approx(ALPHA), approx(BETA)]);
  const table = capture();
  assert.equal(await uptimeCommand(["alpha", "--month", "2026-10", "--timezone", "Europe/Paris", "--url", s.url], {}, table.out), 0);
  assert.match(table.text(), /alpha\s+98\.815%\s+8h45m\s+6\s+5h00m\s+1h27m\s/, table.text());

  // The bot view of the status page (last calendar month, in the bridge's zone) and its incidents.
  const view = await s.json<{ periods: (Row & { period: string })[]; incidents: { start: string; end: string | null; duration_seconds: number; cause: string }[] }>("/api/v1/bots/alpha/availability");
  assert.deepEqual(approx(view.periods.find((p) => p.period === "last_month")!), { ...approx(ALPHA), period: "last_month", from: "2026-09-30T22:00:00.000Z", to: "2026-10-31T23:00:00.000Z" });
  assert.deepEqual(
    view.incidents.map((i) => [i.start, i.end, i.duration_seconds, i.cause]),
    [
      ["2026-10-24T22:00:00.000Z", "2026-10-25T05:00:00.000Z", 10_800, "dead"],
      ["2026-10-20T12:20:00.000Z", "2026-10-20T12:25:00.000Z", 300, "dead"],
      ["2026-10-20T12:10:00.000Z", "2026-10-20T12:15:00.000Z", 300, "dead"],
      ["2026-10-20T12:00:00.000Z", "2026-10-20T12:05:00.000Z", 300, "dead"],
      ["2026-10-11T13:00:00.000Z", "2026-10-11T18:00:00.000Z", 18_000, "stale"],
      ["2026-10-03T10:00:00.000Z", "2026-10-03T10:30:00.000Z", 1800, "dead"],
    ],
  );
  const betaIncidents = await s.json<{ incidents: { start: string; duration_seconds: number }[] }>("/api/v1/bots/beta/incidents?since=60d");
  assert.deepEqual(betaIncidents.incidents.map((i) => [i.start, i.duration_seconds]), [["2026-10-15T20:00:00.000Z", 3600]]);

  // The strip: Oct 3 lost 30 min of 24 h; Oct 25 is 25 h long in Paris: 18 h up, 3 h down, 4 h unknown.
  const strips = await s.json<{ days: string[]; channels: { channel: string; bars: { availability: number | null; up_seconds: number; down_seconds: number; incidents: number }[] }[] }>("/api/v1/availability/days?days=40");
  const bar = (channel: string, day: string) => strips.channels.find((c) => c.channel === channel)!.bars[strips.days.indexOf(day)]!;
  assert.deepEqual(bar("alpha", "2026-10-03"), { availability: 84_600 / 86_400, up_seconds: 84_600, down_seconds: 1800, incidents: 1 });
  assert.deepEqual(bar("alpha", "2026-10-25"), { availability: 18 / 21, up_seconds: 18 * 3600, down_seconds: 3 * 3600, incidents: 1 });
  // It died at 22:00 UTC on the 24th: midnight in Paris, the first moment of the 25th.
  assert.deepEqual(bar("alpha", "2026-10-24"), { availability: 1, up_seconds: 86_400, down_seconds: 0, incidents: 0 });
  assert.equal(bar("beta", "2026-10-22").availability, 1, "a graceful stop costs nothing");
  assert.equal(strips.days.at(-1), "2026-11-02");

  // With no bridge running, the same figures from the database.
  await s.stop();
  const fromDb = capture();
  assert.equal(await uptimeCommand(["--month", "2026-10", "--timezone", "Europe/Paris", "--json", "--url", "http://127.0.0.1:1", "--db", dbPath], {}, fromDb.out), 0);
  assert.deepEqual((JSON.parse(fromDb.text()) as { channels: Row[] }).channels.map(approx), [approx(ALPHA), approx(BETA)]);
});

test("retention: the record older than --incident-retention-days goes, but each bot's last state (and snooze) before the cutoff stays, so the bot still counts as up", async (t) => {
  const s = new Script(mkdtempSync(join(tmpdir(), "kb-retention-")), ["--stale-after", "86400", "--incident-retention-days", "2"]);
  t.after(() => s.stop());
  const dbPath = join(s.dir, "kissbot_monitor.db");
  await s.start();
  s.at("2026-09-30T21:00:00Z");
  await s.register("old");
  await s.kill("old");
  s.at("2026-09-30T22:00:00Z");
  await s.register("old");
  // Retention runs at the first commit, then once a day: five days on, the day-one rows are past it.
  await s.liveUntil("2026-10-05T23:00:00Z", ["old"]);
  await s.stop();
  s.at("2026-10-06T00:00:00Z");
  await s.start();
  await s.heartbeat("old");
  await waitFor("retention", () => {
    const d = new Database(dbPath, { readonly: true });
    const rows = d.prepare("SELECT at_ms AS at, state FROM bot_record WHERE channel = 'old' ORDER BY at_ms").all() as { at: number; state: string }[];
    d.close();
    return rows.length === 1 ? rows : undefined;
  });
  const view = await s.json<{ channels: Row[] }>("/api/v1/availability?since=1d");
  assert.equal(view.channels[0]?.availability, 1, "the last state before the cutoff still holds");
  assert.equal(view.channels[0]?.up_seconds, 86_400 - 3600, "up all day but the hour the bridge was away");
});
