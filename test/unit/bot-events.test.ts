import { test } from "node:test";
import assert from "node:assert/strict";
import { mergeEvents } from "../../src/status/overview.js";
import type { LifecycleEvent } from "../../src/status/bot-history.js";

const ev = (at: number, event: string, pid = 42): LifecycleEvent => ({ at, channel: "c", pid, event, detail: event });

test("an event held in memory and in the log is listed once, even when the two clock readings are a millisecond apart (issue 27)", () => {
  const logged = [ev(1_000, "registered")];
  assert.deepEqual(mergeEvents([ev(1_001, "registered")], logged, 10), logged);
  assert.deepEqual(mergeEvents([ev(1_000, "registered")], logged, 10), logged);
});

test("events the log has not been written with yet are listed before the log's, newest first, within the limit", () => {
  const logged = [ev(1_000, "registered")];
  const held = [ev(5_000, "stale"), ev(1_001, "registered")];
  assert.deepEqual(mergeEvents(held, logged, 10), [ev(5_000, "stale"), ev(1_000, "registered")]);
  assert.deepEqual(mergeEvents(held, [], 10), held, "no log (per-bot logs off): memory alone");
  assert.deepEqual(mergeEvents(held, logged, 1), [ev(5_000, "stale")]);
  // Another process (a new PID) registering in the same second is another event.
  assert.deepEqual(mergeEvents([ev(1_200, "registered", 43)], logged, 10), [ev(1_200, "registered", 43), ev(1_000, "registered")]);
});
