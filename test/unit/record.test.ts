import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { ManualClock } from "../../src/util/clock.js";
import { Recorder } from "../../src/record/recorder.js";
import type { RecordRow } from "../../src/record/record-row.js";
import { dayBars, incidents, segments, summarise, type Change, type ChannelRecord } from "../../src/record/timeline.js";
import { availabilityColor, badgeSvg, percent, shieldsJson } from "../../src/badges/badge.js";
import type { Bot } from "../../src/registry/bot.js";
import { PYTHON } from "../helpers/python.js";

const H = 3_600_000;
const state = (atMs: number, s: string, cause: Change["cause"] = null): Change => ({ atMs, kind: "state", state: s, cause, untilMs: null });
const snooze = (atMs: number, untilMs: number | null): Change => ({ atMs, kind: "snooze", state: untilMs === null ? "unsnoozed" : "snoozed", cause: null, untilMs });
const record = (changes: Change[], prior: ChannelRecord["prior"] = null, priorSnoozedUntil: number | null = null): ChannelRecord => ({ prior, priorSnoozedUntil, changes });
const ALWAYS: [number, number][] = [[-Infinity, Infinity]];

test("timeline: each second counts once, in the category a person would give it", () => {
  const cases: Array<{ name: string; rec: ChannelRecord; coverage: [number, number][]; expect: Record<string, number> }> = [
    { name: "up all along", rec: record([], { state: "up", cause: null }), coverage: ALWAYS, expect: { up_seconds: 10 * 3600 } },
    { name: "never seen: nothing counted", rec: record([]), coverage: ALWAYS, expect: {} },
    { name: "seen at 2 h: before it, nothing", rec: record([state(2 * H, "up")]), coverage: ALWAYS, expect: { up_seconds: 8 * 3600 } },
    { name: "dead 1 h to 3 h", rec: record([state(H, "down", "dead"), state(3 * H, "up")], { state: "up", cause: null }), coverage: ALWAYS, expect: { up_seconds: 8 * 3600, down_seconds: 2 * 3600 } },
    { name: "no bridge 4 h to 6 h: unknown, never down", rec: record([state(H, "down", "dead")], { state: "up", cause: null }), coverage: [[0, 4 * H], [6 * H, 10 * H]], expect: { up_seconds: 3600, down_seconds: 7 * 3600, unknown_seconds: 2 * 3600 } },
    { name: "stopped from 5 h: neither up nor down", rec: record([state(5 * H, "stopped")], { state: "up", cause: null }), coverage: ALWAYS, expect: { up_seconds: 5 * 3600, stopped_seconds: 5 * 3600 } },
    { name: "snoozed 2 h to 4 h (its end in its row), dead inside it", rec: record([snooze(2 * H, 4 * H), state(3 * H, "down", "dead")], { state: "up", cause: null }), coverage: ALWAYS, expect: { up_seconds: 2 * 3600, snoozed_seconds: 2 * 3600, down_seconds: 6 * 3600 } },
    { name: "a snooze taken back early", rec: record([snooze(2 * H, 8 * H), snooze(3 * H, null)], { state: "up", cause: null }), coverage: ALWAYS, expect: { up_seconds: 9 * 3600, snoozed_seconds: 3600 } },
    { name: "a snooze in force at the start", rec: record([], { state: "up", cause: null }, 5 * H), coverage: ALWAYS, expect: { up_seconds: 5 * 3600, snoozed_seconds: 5 * 3600 } },
    { name: "no bridge while snoozed: unknown wins", rec: record([snooze(H, 5 * H)], { state: "up", cause: null }), coverage: [[0, 2 * H], [3 * H, 10 * H]], expect: { up_seconds: 6 * 3600, snoozed_seconds: 3 * 3600, unknown_seconds: 3600 } },
  ];
  for (const c of cases) {
    const s = summarise("c", segments(c.rec, c.coverage, 0, 10 * H), 0, 10 * H);
    const expected = { up_seconds: 0, down_seconds: 0, stopped_seconds: 0, snoozed_seconds: 0, unknown_seconds: 0, ...c.expect };
    assert.deepEqual({ up_seconds: s.up_seconds, down_seconds: s.down_seconds, stopped_seconds: s.stopped_seconds, snoozed_seconds: s.snoozed_seconds, unknown_seconds: s.unknown_seconds }, expected, c.name);
    const counted = expected.up_seconds + expected.down_seconds;
    assert.equal(s.availability, counted === 0 ? null : expected.up_seconds / counted, `${c.name}: availability`);
  }
});

test("timeline: a bridge restart or a snooze in the middle continues an incident; stale then dead is one, of the worse cause", () => {
  const rec = record([state(H, "down", "stale"), state(2 * H, "down", "dead"), state(6 * H, "up"), state(7 * H, "down", "dead"), state(8 * H, "stopped")], { state: "up", cause: null });
  const segs = segments(rec, [[0, 3 * H], [4 * H, 10 * H]], 0, 10 * H);
  assert.deepEqual(incidents(segs), [
    { startMs: H, endMs: 6 * H, downMs: 4 * H, cause: "dead" },
    { startMs: 7 * H, endMs: 8 * H, downMs: H, cause: "dead" },
  ]);
  const s = summarise("c", segs, 0, 10 * H);
  assert.equal(s.incidents, 2);
  assert.equal(s.longest_down_seconds, 4 * 3600);
  assert.equal(s.mean_time_to_recover_seconds, 2.5 * 3600);
  // An incident still going on is counted, not recovered.
  const open = summarise("c", segments(record([state(9 * H, "down", "dead")], { state: "up", cause: null }), ALWAYS, 0, 10 * H), 0, 10 * H);
  assert.deepEqual([open.incidents, open.mean_time_to_recover_seconds], [1, null]);
});

test("timeline: day bars cut at each day's start, a 25-hour day included", () => {
  const rec = record([state(20 * H, "down", "dead"), state(30 * H, "up")], { state: "up", cause: null });
  const bars = dayBars(segments(rec, ALWAYS, 0, 49 * H), [0, 24 * H], 49 * H);
  assert.deepEqual(bars, [
    { availability: 20 / 24, up_seconds: 20 * 3600, down_seconds: 4 * 3600, incidents: 1 },
    { availability: 19 / 25, up_seconds: 19 * 3600, down_seconds: 6 * 3600, incidents: 0 },
  ]);
});

function bot(channel: string, status: Bot["status"]): Bot {
  return { channel, status } as Bot;
}

test("recorder: one row per real change; past the day's bound the rest of the day is one flapping interval with its count", () => {
  const clock = new ManualClock(Date.UTC(2026, 9, 1, 12));
  const rows: RecordRow[] = [];
  const r = new Recorder(clock, (row) => rows.push(row), { maxChangesPerDay: 4, maxChannels: 10 });
  const o = r.observer();
  o.registered!(bot("a", "online"), null, false);
  o.heartbeat?.(bot("a", "online"));
  o.registered!(bot("a", "online"), null, false);
  assert.equal(rows.length, 1, "a second register of a running bot writes nothing");
  for (let i = 0; i < 5; i++) {
    clock.advance(60_000);
    o.statusChanged!(bot("a", "dead"), "online", "gone");
    clock.advance(60_000);
    o.registered!(bot("a", "online"), null, false);
  }
  // 1 register + 3 changes within the bound of 4, then one flapping row standing for the other 7.
  assert.deepEqual(rows.slice(0, 4).map((x) => x[3]), ["up", "down", "up", "down"]);
  const flapping = rows.filter((x) => x[4] === "flapping");
  assert.equal(new Set(flapping.map((x) => x[1])).size, 1, "one interval, written again as it grows");
  assert.equal(flapping.at(-1)![5], 7);
  // The next day starts with the bot's state as it is.
  clock.advance(24 * 3_600_000);
  r.tick();
  assert.deepEqual(rows.at(-1)!.slice(2, 5), ["state", "up", null]);
});

test("recorder: a snooze from when it was set, made longer from now, taken back now; one that runs out writes nothing more", () => {
  const clock = new ManualClock(10_000_000);
  const rows: RecordRow[] = [];
  const r = new Recorder(clock, (row) => rows.push(row), { maxChangesPerDay: 50, maxChannels: 10 });
  r.snoozes([{ channel: "a", setAtMs: 9_000_000, untilMs: 20_000_000 }]);
  r.snoozes([{ channel: "a", setAtMs: 9_000_000, untilMs: 20_000_000 }]);
  clock.advance(1000);
  r.snoozes([{ channel: "a", setAtMs: 10_001_000, untilMs: 30_000_000 }]);
  clock.advance(1000);
  r.snoozes([]);
  r.snoozes([{ channel: "b", setAtMs: 10_002_000, untilMs: 10_003_000 }]);
  clock.advance(5000);
  r.snoozes([]);
  assert.deepEqual(
    rows.map((x) => [x[0], x[1], x[3], x[6]]),
    [
      ["a", 9_000_000, "snoozed", 20_000_000],
      ["a", 10_001_000, "snoozed", 30_000_000],
      ["a", 10_002_000, "unsnoozed", null],
      ["b", 10_002_000, "snoozed", 10_003_000],
    ],
  );
});

test("recorder: a bound on channels; a channel stopped longest ago makes room, one still there never does; what is left out is counted", () => {
  const rows: RecordRow[] = [];
  const r = new Recorder(new ManualClock(), (row) => rows.push(row), { maxChangesPerDay: 50, maxChannels: 2 });
  const o = r.observer();
  for (const c of ["a", "b", "c"]) o.registered!(bot(c, "online"), null, false);
  assert.deepEqual(rows.map((x) => x[0]), ["a", "b"]);
  assert.equal(r.dropped, 1);
  o.unregistered!(bot("a", "online"));
  o.registered!(bot("c", "online"), null, false);
  assert.deepEqual(rows.map((x) => [x[0], x[3]]).slice(2), [["a", "stopped"], ["c", "up"]], "c takes the place of a, which left");
  assert.equal(r.stateOf("a"), undefined);
  assert.equal(r.stateOf("b"), "up");
});

test("badges: valid SVG with a title and escaped text; shields endpoint JSON; colours against the objective", () => {
  const svg = badgeSvg({ label: `a<b>&"c'`, message: "99.82%", color: "green" });
  // Parsed by Python's XML parser: the title as a reader (and a screen reader) gets it.
  const parsed = spawnSync(PYTHON, ["-c", "import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); ns = '{http://www.w3.org/2000/svg}'; print(r.get('role')); print(r.find(ns + 'title').text)"], { input: svg, encoding: "utf8" });
  assert.equal(parsed.status, 0, parsed.stderr);
  assert.equal(parsed.stdout, `img\na<b>&"c': 99.82%\n`);
  assert.deepEqual(shieldsJson({ label: "uptime 30d", message: "99.82%", color: "green" }), { schemaVersion: 1, label: "uptime 30d", message: "99.82%", color: "green" });
  assert.equal(percent(0.99999), "99.99%", "never rounded up to 100%");
  assert.deepEqual([0.9999, 0.995, 0.97, 0.92, 0.5, null].map((r) => availabilityColor(r, 0.99)), ["brightgreen", "green", "yellow", "orange", "red", "lightgrey"]);
});
